"""How a user function becomes compiled code (private): the binding layer.

Every ``numba.njit`` call of jacsolve, its options, the per-function
adapters, specialisations and pointers, the Python fallback and the thread
pool live here; the solvers import them.

Policy: what is compiled when, what is cached, and why
------------------------------------------------------
numba re-optimises the whole call tree of every function it compiles, and it
cannot cache a function specialised on a user function (a closure with the
function as a constant, or a dispatcher argument): such code is compiled
again in every process, seconds per function. So jacsolve compiles almost
nothing per user function:

* **Once, cached on disk** (``cache=True``, :mod:`.options`): everything that
  does not depend on the user function (step rules, stencils, the Richardson
  tableau, column grouping, small LU, samplers, quadrature rules), *and* every
  algorithm that calls the user function: each kernel is compiled with the
  user function reached through two integer addresses
  (:mod:`.addresses`, :func:`.tiers.address_kernel`), so its signature holds
  only integers and arrays and the same machine code serves every user
  function, in every process.
* **Per user function, per process** (:mod:`.prepared`): the user's function
  itself, for float64 and, where complex step is used, complex128 (the floor
  nobody can avoid), plus two tiny adapters of a fixed signature (tens of
  milliseconds) that unpack ``args`` from one float vector and return a 1-D
  array. A ``@jacsolve.jit(cache=True)`` function loads from numba's cache, so a
  re-run of a script compiles only the adapters.
* **Per user function, on demand** (:func:`.tiers.specialised`): a kernel with
  the user function inlined as a constant, compiled per process. It is used
  only where the address tier cannot go: ``args`` that do not fit in one float
  vector (integers, tuples, objects) and analytic Jacobian callables.
* **Plain Python functions** run the very same kernels as Python
  (:func:`.options.python_version`), with one
  :class:`~jacsolve.PerformanceWarning`.

Every solver receives one :class:`.prepared.PreparedFunction` per user
function: its compiled adapters, the complex-step verdict (found once and
kept: a function that does not compile for complex input is marked unsafe,
with the reason) and its evaluation counter.

A call through an address costs about 25 ns per evaluation more than an
inlined call (measured: 65 ns against 42 ns for a 3-output function that
allocates its result), and about 1 us of dispatch from Python. Threads come from one pool
(:mod:`.threads`).

numba's cache does not notice changes in other modules a cached function
calls: after editing jacsolve's compiled code, clear ``NUMBA_CACHE_DIR`` (or
the ``__pycache__`` folders).
"""
import warnings as _warnings

from numba.core.errors import NumbaExperimentalFeatureWarning as _Experimental

# First-class functions (how cached kernels reach user functions) are marked
# experimental in numba; the warning would reach users on every first compile.
_warnings.filterwarnings("ignore", category=_Experimental, module=r".*jacsolve")
