"""Kernels bound to a user function: the cached address tier, the specialised tier, Python.

A *kernel* (``kernel_njit``) takes the user function first, ``k(fun, x,
args, ...)``, and calls it as ``fun(x, *args)``. It is written once and
reached in three ways:

1. **Address tier** (the default for compiled user functions). Every kernel's
   wrapper (:func:`address_kernel`) takes ``args = (p, rc, rj, cc, cj)``: the
   user's args packed into one float vector ``p`` and the integer addresses
   of the function's real and complex adapters (:mod:`jacsolve._numba.prepared`).
   It loads the two adapters and runs the kernel with the pair as ``fun``;
   the kernel calls the one for x's dtype through
   :func:`jacsolve.derivatives.kernels.call_user`. The wrapper is compiled
   once, with ``cache=True``, for integer and array arguments only, and loads
   from numba's on-disk cache in later processes; per user function only the
   function itself and its two tiny adapters compile. A call through an
   address costs ~30 ns per evaluation more than an inlined call.
   Compiled code that holds only the addresses calls :func:`address_call`.
2. **Specialised tier**: a compiled closure with the user function bound as a
   constant, so numba can inline it into the kernel (:func:`specialised`).
   Compiled per function and per process (seconds). Used where ``args`` cannot
   travel as one float vector (integers, tuples, objects).
3. **Python tier** for plain Python functions: the kernel's own code run as
   Python (:func:`~jacsolve._numba.options.python_version`).

The generated wrappers are compiled from source whose file name is the
kernel's own module (:func:`~jacsolve._numba.options.generated`), so numba keys their cache on that file
and rebuilds them when it changes. Like every numba cache, it does not notice changes in other
modules the kernel calls: clear ``NUMBA_CACHE_DIR`` (or the ``__pycache__``
folders) after editing jacsolve's compiled code.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import sys

import numba
from numba import types
from numba.core.errors import TypingError
from numba.extending import overload

from .addresses import (COMPLEX_SIGNATURE, REAL_SIGNATURE, addresses_of, load_complex,
                        load_real)
from .options import NUMBA_OPTIONS, generated, python_version
from .prepared import pack_args, prepare

__all__ = ["address_call", "address_kernel", "addressed_args", "bind", "specialised",
           "stand_in"]


def _adapter_call(x, p, rc, rj, cc, cj):
    raise NotImplementedError  # compiled only: see the overload


@overload(_adapter_call)
def _adapter_call_compiled(x, p, rc, rj, cc, cj):
    if not isinstance(x, types.Array):
        raise TypingError(f"x must be an array, got {x}")
    if isinstance(x.dtype, types.Complex):
        return lambda x, p, rc, rj, cc, cj: load_complex(cc, cj)(x, p)
    return lambda x, p, rc, rj, cc, cj: load_real(rc, rj)(x, p)


@numba.njit(cache=True, **NUMBA_OPTIONS)
def address_call(x, p, rc, rj, cc, cj):
    """The user function at x, through the adapter for x's dtype (see the module docstring)."""
    return _adapter_call(x, p, rc, rj, cc, cj)


_STAND_INS: dict = {}


def stand_in(signature) -> tuple:
    """Addresses of a function of ``signature`` that raises: the adapter slot a
    kernel never uses (its real or its complex one). Compiled once, cached."""
    found = _STAND_INS.get(signature)
    if found is None:
        value = "x" if signature.return_type == signature.args[0] else "x[0]"
        tag = hashlib.sha1(str(signature).encode()).hexdigest()[:12]
        src = ("def unused(x, p):\n"
               "    if p.size >= 0:  # always: the branch only gives numba a return type\n"
               "        raise TypeError('this kernel does not evaluate fun at such points')\n"
               f"    return {value}\n")
        function = generated(src, "unused", {}, __name__, __file__, f"unused_{tag}")
        found = _STAND_INS[signature] = addresses_of(function, signature)
    return found


def addressed_args(fun, args, *, real: bool = True, complex_: bool = False,
                   jac: str = "jac"):
    """``(p, rc, rj, cc, cj)``: the args of an :func:`address_kernel` wrapper.

    None when ``args`` cannot travel as one float vector (the caller then
    takes the specialised tier). ``real`` / ``complex_`` say at which points
    the kernel evaluates fun, so only the adapters it needs are compiled;
    asking for complex raises the not-complex-safe TypeError (naming ``jac``)
    when fun cannot take complex input.
    """
    layout, p = pack_args(args)
    if layout is None:
        return None
    rec = prepare(fun)
    rc, rj = rec.real(layout)[:2] if real else stand_in(REAL_SIGNATURE)
    cc, cj = rec.complex(layout, jac=jac)[:2] if complex_ else stand_in(COMPLEX_SIGNATURE)
    return (p, rc, rj, cc, cj)


_WRAPPERS: dict = {}


def address_kernel(kernel):
    """The cached wrapper of ``kernel`` for the address tier: same parameters, less fun.

    Its ``args`` is ``(p, rc, rj, cc, cj)`` (:func:`addressed_args`); the
    wrapper loads the two adapters once and runs the kernel with the pair as
    ``fun`` and ``(p,)`` as ``args``: kernels call the user function through
    :func:`jacsolve.derivatives.kernels.call_user`, which picks the adapter by
    x's dtype (one indirect call per evaluation).
    """
    wrapper = _WRAPPERS.get(kernel)
    if wrapper is None:
        f = kernel.py_func
        params = list(inspect.signature(f).parameters)[1:]
        call = ", ".join("(args[0],)" if a == "args" else a for a in params)
        name = f"{f.__name__}__addressed"
        src = (f"def {name}({', '.join(params)}):\n"
               "    pair = (_load_real(args[1], args[2]), _load_complex(args[3], args[4]))\n"
               f"    return _kernel(pair, {call})\n")
        namespace = {"_kernel": kernel, "_load_real": load_real, "_load_complex": load_complex}
        wrapper = _WRAPPERS[kernel] = generated(src, name, namespace, f.__module__,
                                                sys.modules[f.__module__].__file__, name)
    return wrapper


def specialised(kernel, fun):
    """The specialised tier: ``kernel`` compiled with ``fun`` bound as a constant.

    A call from Python then types only arrays and tuples (about 1 us) instead
    of a dispatcher argument (about 10 us). For a plain Python function it is
    the kernel's Python version, so the same algorithm runs either way.
    """
    rec = prepare(fun)
    call = rec.specialised.get(kernel)
    if call is None and not rec.jitted:
        call = rec.specialised[kernel] = functools.partial(python_version(kernel), rec.returning)
    if call is None:
        nargs = len(inspect.signature(kernel.py_func).parameters) - 1
        arglist = ", ".join(f"a{i}" for i in range(nargs))
        namespace = {"_kernel": kernel, "_user_fun": rec.returning}
        exec(f"def call({arglist}):\n    return _kernel(_user_fun, {arglist})\n", namespace)
        call = rec.specialised[kernel] = numba.njit(**NUMBA_OPTIONS)(namespace["call"])
    return call


def bind(kernel, fun, *, real: bool = True, complex_: bool = False, jac: str = "jac"):
    """``kernel`` with its first argument bound to ``fun``: a callable taking the rest.

    Compiled functions take the address tier (the specialised tier for args
    that cannot be packed); plain Python functions run the kernel as Python.
    See :func:`addressed_args` for ``real``, ``complex_`` and ``jac``.
    """
    rec = prepare(fun)
    key = ("bound", kernel, real, complex_)
    call = rec.specialised.get(key)
    if call is not None:
        return call
    if not rec.jitted:
        call = specialised(kernel, fun)  # the Python tier
    else:
        where = list(inspect.signature(kernel.py_func).parameters)[1:].index("args")
        wrapper = address_kernel(kernel)

        def call(*a):
            packed = addressed_args(fun, a[where], real=real, complex_=complex_, jac=jac)
            if packed is None:
                return specialised(kernel, fun)(*a)
            return wrapper(*a[:where], packed, *a[where + 1:])
    rec.specialised[key] = call
    return call
