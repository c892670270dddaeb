"""The one place where jacsolve's numba options live.

* ``error_model="numpy"``: 1/0 gives inf instead of raising inside a residual.
* never ``fastmath``: it breaks ``(x + h) - x`` and ``isfinite``.
* ``cache=True`` only for helpers that do not take a user function: numba
  cannot cache a function specialised on a dispatcher argument (it re-compiles
  in every process and writes a new cache file each time).
"""
from __future__ import annotations

import sys
import types
import warnings

import numba
from numba.extending import is_jitted

__all__ = ["jit", "PerformanceWarning", "is_jitted"]

NUMBA_OPTIONS = dict(error_model="numpy", fastmath=False)


class PerformanceWarning(UserWarning):
    """A plain Python function was given where a numba function runs faster."""


def jit(fun=None, *, cache: bool = False, parallel: bool = False, inplace=False):
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
        A script run again then compiles nothing of the function.
    parallel : bool, optional
        Enable numba's ``prange`` in the function.
    inplace : bool or int, optional
        Declare the in-place form ``fun(x, *args, out)``, which writes its m
        values into ``out`` (allocated by jacsolve with x's dtype) instead of
        returning them: ``True`` when m = len(x) (square systems), or m itself.
        See :func:`inplace` for plain Python functions.

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
        dispatcher = numba.njit(cache=cache, parallel=parallel, **NUMBA_OPTIONS)(f)
        return inplace_declared(dispatcher, inplace) if inplace is not False else dispatcher

    return wrap if fun is None else wrap(fun)


INPLACE_ATTRIBUTE = "jacsolve_inplace"


def inplace_declared(fun, size=True):
    """Mark ``fun`` as the in-place form ``fun(x, *args, out)`` (see :func:`inplace`)."""
    if size is not True and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        raise ValueError(f"inplace must be True (out has len(x) entries) or a positive number "
                         f"of outputs, got {size!r}")
    setattr(fun, INPLACE_ATTRIBUTE, -1 if size is True else int(size))
    return fun


def inplace(size=True):
    """Decorator declaring the in-place form ``fun(x, *args, out)`` of a function.

    ``fun`` writes its values into ``out``, which jacsolve allocates (length
    len(x) for ``size=True``, else ``size``; dtype that of x) and reads after
    the call. Works for plain Python and numba functions alike; for numba,
    ``@jacsolve.jit(inplace=...)`` says the same.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> @jacsolve.inplace()
    ... def F(x, out):
    ...     out[0] = x[0] * x[0] - 2.0
    ...     out[1] = x[1] - x[0]
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", jacsolve.PerformanceWarning)  # plain Python
    ...     r = jacsolve.solve(F, [1.0, 1.0])
    >>> r.success, bool(np.allclose(r.x, np.sqrt(2.0)))
    (True, True)
    """
    return lambda fun: inplace_declared(fun, size)


def generated(src: str, name: str, namespace: dict, module: str, source_file: str,
              qualname: str, **options):
    """``numba.njit(cache=True)`` of the function ``name`` that ``src`` defines.

    numba caches only functions that come from a file: the source is compiled
    under ``source_file`` (whose changes then rebuild the cache) as a function
    of ``module`` named ``qualname``, which must be unique in that module.
    """
    namespace["__name__"] = module
    exec(compile(src, source_file, "exec"), namespace)
    function = namespace[name]
    function.__qualname__ = qualname
    return numba.njit(cache=True, **NUMBA_OPTIONS, **options)(function)


def cached_njit(fun=None, **kwargs):
    """Decorator for jacsolve's own function-independent helpers (cached)."""
    def wrap(f):
        return numba.njit(cache=True, **NUMBA_OPTIONS, **kwargs)(f)

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
        options = dict(NUMBA_OPTIONS, inline="always") if inline else dict(NUMBA_OPTIONS)
        dispatcher = numba.njit(nogil=nogil, **options)(f)
        dispatcher._jacsolve_kernel = True
        return dispatcher

    return wrap if fun is None else wrap(fun)


_python_namespaces: dict = {}


def _is_kernel(value) -> bool:
    return getattr(value, "_jacsolve_kernel", False) is True


def _python_namespace(module_name: str, overrides=None, pure: bool = False) -> dict:
    """A copy of a module's globals in which every kernel is plain Python (with
    ``pure``, every compiled function), and the names in ``overrides`` are bound
    to the values given there."""
    key = (module_name, tuple(sorted((overrides or {}).items())), pure)
    namespace = _python_namespaces.get(key)
    if namespace is None:
        namespace = _python_namespaces[key] = dict(vars(sys.modules[module_name]))
        for name, value in list(namespace.items()):
            if _is_kernel(value) or (pure and is_jitted(value)
                                     and hasattr(value, "py_func")):
                same = value.py_func.__module__ == module_name
                namespace[name] = python_version(value, overrides if same else None, pure)
        namespace.update(overrides or {})
    return namespace


def python_version(kernel, overrides=None, pure: bool = False):
    """The kernel as a Python function whose calls to other kernels are Python too.

    Compiled function-independent helpers stay compiled, so the Python path
    loops in Python only over variables, not over outputs. ``pure=True``
    makes them Python too: nothing compiles, for one-off small evaluations
    where compiling the helpers (with an empty cache) would cost more than
    looping in Python.

    ``overrides`` (a dict of global name -> value) runs the kernel, and the
    kernels of its module that it calls, with those names of the module
    rebound: an algorithm written once for dense arrays can run on other
    storage (sparse matrices, say) with its linear-algebra helpers swapped.
    Each distinct ``overrides`` gets its own copy of the module's globals.
    """
    f = kernel.py_func
    namespace = _python_namespace(f.__module__, overrides, pure)
    current = namespace.get(f.__name__)
    if isinstance(current, types.FunctionType) and current.__code__ is f.__code__:
        return current
    version = types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__,
                                 f.__closure__)
    if not (overrides and f.__name__ in overrides):
        namespace[f.__name__] = version
    return version


def warn_if_python(fun, stacklevel: int = 3) -> None:
    """Warn once per function that a plain Python function takes the slow path."""
    from .prepared import prepare  # prepared imports this module's options

    rec = prepare(fun)
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
