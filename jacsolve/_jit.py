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
import weakref

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
    >>> f(np.array([1.0, 0.0]))[1]
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


def kernel_njit(fun):
    """Decorator for kernels that take a user function (cannot be cached).

    Kernels may call other kernels; :func:`python_version` rebuilds such a
    call graph in plain Python for plain Python user functions.
    """
    dispatcher = numba.njit(**_OPTIONS)(fun)
    dispatcher._jacsolve_kernel = True
    return dispatcher


_python_globals: dict = {}


def python_version(kernel):
    """The kernel as a Python function whose calls to other kernels are Python too.

    Compiled function-independent helpers stay compiled, so the Python path
    loops in Python only over variables, not over outputs.
    """
    module = sys.modules[kernel.py_func.__module__]
    namespace = _python_globals.get(module.__name__)
    if namespace is None:
        namespace = dict(vars(module))
        for name, value in vars(module).items():
            if getattr(value, "_jacsolve_kernel", False) is True:
                f = value.py_func
                namespace[name] = types.FunctionType(f.__code__, namespace, f.__name__,
                                                     f.__defaults__, f.__closure__)
        _python_globals[module.__name__] = namespace
    return namespace[kernel.py_func.__name__]


# One compiled entry point per (kernel, user function): a closure that binds the
# user function as a constant, so a call from Python types only arrays and
# tuples (about 1 us) instead of a dispatcher argument (about 10 us).
_specialised: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_warned: "weakref.WeakSet" = weakref.WeakSet()


def specialise(kernel, fun):
    """Return ``kernel`` with its first argument bound to ``fun``.

    For a numba function this is a compiled closure (compiled on first call);
    for a plain Python function it is the kernel's Python implementation, so
    the same algorithm runs either way.
    """
    try:
        per_fun = _specialised.setdefault(fun, {})
    except TypeError:  # not weak-referenceable (a builtin, a bound method)
        per_fun = {}
    call = per_fun.get(kernel)
    if call is None:
        if is_jitted(fun):
            params = list(inspect.signature(kernel.py_func).parameters)[1:]
            arglist = ", ".join(params)
            namespace = {"kernel": kernel, "fun": fun}
            exec(f"def call({arglist}):\n    return kernel(fun, {arglist})\n", namespace)
            call = numba.njit(**_OPTIONS)(namespace["call"])
        else:
            call = functools.partial(python_version(kernel), fun)
        per_fun[kernel] = call
    return call


def warn_if_python(fun, stacklevel: int = 3) -> None:
    """Warn once per function that a plain Python function takes the slow path."""
    if is_jitted(fun):
        return
    try:
        if fun in _warned:
            return
        _warned.add(fun)
    except TypeError:
        pass
    name = getattr(fun, "__name__", repr(fun))
    warnings.warn(
        f"fun {name!r} is a plain Python function, so jacsolve runs its NumPy "
        "path. Decorate it with @jacsolve.jit (numba.njit) for the compiled "
        "path, typically 10-100x faster.",
        PerformanceWarning,
        stacklevel=stacklevel,
    )
