"""The one place where jacsolve's numba options live.

* ``error_model="numpy"``: 1/0 gives inf instead of raising inside a residual.
* never ``fastmath``: it breaks ``(x + h) - x`` and ``isfinite``.
* ``cache=True`` only for helpers that do not take a user function: numba
  cannot cache a function specialised on a dispatcher argument (it re-compiles
  in every process and writes a new cache file each time).
"""
from __future__ import annotations

import functools
import inspect
import sys
import types
import warnings

import numba
from numba.extending import is_jitted

__all__ = ["jit", "PerformanceWarning", "is_jitted"]

_OPTIONS = dict(error_model="numpy", fastmath=False)


class PerformanceWarning(UserWarning):
    """A plain Python function was given where a numba function runs faster."""


def jit(fun=None, *, cache: bool = False, parallel: bool = False):
    """Compile a user function with the numba options jacsolve relies on.

    Equivalent to ``numba.njit(error_model="numpy", fastmath=False)``: a
    division by zero gives ``inf`` (which the solvers handle) rather than
    raising, and floating-point semantics stay exact so that finite-difference
    steps and ``isfinite`` checks work.

    Parameters
    ----------
    fun : callable, optional
        The function to compile. ``@jit`` and ``@jit(cache=True)`` both work.
    cache : bool, optional
        Cache the compiled function on disk (numba's ``cache=True``).
    parallel : bool, optional
        Enable numba's ``prange`` in the function.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> @jacsolve.jit
    ... def f(x):
    ...     return np.array([x[0] ** 2 - 2.0, 1.0 / x[1]])
    >>> float(f(np.array([1.0, 0.0]))[1])
    inf
    """
    def wrap(f):
        return numba.njit(cache=cache, parallel=parallel, **_OPTIONS)(f)

    return wrap if fun is None else wrap(fun)


def cached_njit(fun=None, **kwargs):
    """Decorator for jacsolve's own function-independent helpers (cached)."""
    def wrap(f):
        return numba.njit(cache=True, **_OPTIONS, **kwargs)(f)

    return wrap if fun is None else wrap(fun)


def kernel_njit(fun=None, *, inline: bool = False, nogil: bool = False):
    """Decorator for kernels that take a user function (cannot be cached).

    Kernels may call other kernels; :func:`python_version` rebuilds such a
    call graph in plain Python for plain Python user functions.

    ``inline=True`` (numba's ``inline="always"``) compiles the kernel as part
    of its caller: about a third less compile time for a leaf kernel called
    from one place (the Jacobian kernels), but the IR is copied into every
    call site, so never use it for kernels that call inlined kernels from
    several places: compile time then grows multiplicatively. ``nogil=True``
    lets threads run the kernel concurrently.
    """
    def wrap(f):
        options = dict(_OPTIONS, inline="always") if inline else dict(_OPTIONS)
        dispatcher = numba.njit(nogil=nogil, **options)(f)
        dispatcher._jacsolve_kernel = True
        return dispatcher

    return wrap if fun is None else wrap(fun)


_python_namespaces: dict = {}


def _is_kernel(value) -> bool:
    return getattr(value, "_jacsolve_kernel", False) is True


def _python_namespace(module_name: str, overrides=None) -> dict:
    """A copy of a module's globals in which every kernel is plain Python, and
    the names in ``overrides`` are bound to the values given there."""
    key = module_name if not overrides else (module_name, tuple(sorted(overrides.items())))
    namespace = _python_namespaces.get(key)
    if namespace is None:
        namespace = _python_namespaces[key] = dict(vars(sys.modules[module_name]))
        for name, value in list(namespace.items()):
            if _is_kernel(value):
                same = value.py_func.__module__ == module_name
                namespace[name] = python_version(value, overrides if same else None)
        namespace.update(overrides or {})
    return namespace


def python_version(kernel, overrides=None):
    """The kernel as a Python function whose calls to other kernels are Python too.

    Compiled function-independent helpers stay compiled, so the Python path
    loops in Python only over variables, not over outputs.

    ``overrides`` (a dict of global name -> value) runs the kernel, and the
    kernels of its module that it calls, with those names of the module
    rebound: an algorithm written once for dense arrays can run on other
    storage (sparse matrices, say) with its linear-algebra helpers swapped.
    Each distinct ``overrides`` gets its own copy of the module's globals.
    """
    f = kernel.py_func
    namespace = _python_namespace(f.__module__, overrides)
    current = namespace.get(f.__name__)
    if isinstance(current, types.FunctionType) and current.__code__ is f.__code__:
        return current
    version = types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__,
                                 f.__closure__)
    if not (overrides and f.__name__ in overrides):
        namespace[f.__name__] = version
    return version


class FunctionRecord:
    """What jacsolve keeps per user function: whether it is compiled, its
    specialised kernels, and facts learned from evaluating it once."""
    __slots__ = ("jitted", "specialised", "returns_scalar", "warned")

    def __init__(self, fun):
        self.jitted = is_jitted(fun)
        self.specialised = {}
        self.returns_scalar = {}
        self.warned = False


# A plain dict (not weak): a lookup costs ~50 ns instead of ~300 ns, and
# jitted user functions normally live as long as the process anyway. It is
# cleared when it grows large, so functions created in a loop cannot leak.
_records: dict = {}
_MAX_RECORDS = 512


def record_for(fun) -> FunctionRecord:
    try:
        rec = _records.get(fun)
    except TypeError:  # unhashable callable
        return FunctionRecord(fun)
    if rec is None:
        if len(_records) >= _MAX_RECORDS:
            _records.clear()
        rec = _records[fun] = FunctionRecord(fun)
    return rec


def specialise(kernel, fun, record=None):
    """Return ``kernel`` with its first argument bound to ``fun``.

    For a numba function this is a compiled closure (compiled on first call),
    which binds the user function as a constant: a call from Python then
    types only arrays and tuples (about 1 us) instead of a dispatcher
    argument (about 10 us). For a plain Python function it is the kernel's
    Python version, so the same algorithm runs either way.
    """
    rec = record if record is not None else record_for(fun)
    call = rec.specialised.get(kernel)
    if call is None:
        if rec.jitted:
            nargs = len(inspect.signature(kernel.py_func).parameters) - 1
            arglist = ", ".join(f"a{i}" for i in range(nargs))
            namespace = {"_kernel": kernel, "_user_fun": fun}
            exec(f"def call({arglist}):\n    return _kernel(_user_fun, {arglist})\n", namespace)
            call = numba.njit(**_OPTIONS)(namespace["call"])
        else:
            call = functools.partial(python_version(kernel), fun)
        rec.specialised[kernel] = call
    return call


def warn_if_python(fun, stacklevel: int = 3) -> None:
    """Warn once per function that a plain Python function takes the slow path."""
    rec = record_for(fun)
    if rec.jitted or rec.warned:
        return
    rec.warned = True
    name = getattr(fun, "__name__", repr(fun))
    warnings.warn(
        f"fun {name!r} is a plain Python function, so jacsolve runs its NumPy "
        "path. Decorate it with @jacsolve.jit (numba.njit) for the compiled "
        "path, typically 10-100x faster.",
        PerformanceWarning,
        stacklevel=stacklevel,
    )
