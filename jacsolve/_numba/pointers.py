"""Compiled functions as first-class function values (private).

The nonlinear solvers are compiled once, with ``cache=True``, for argument
types that do not depend on the user's function: they take the per-function
kernels (an evaluation of fun, a Jacobian or J v kernel, a callback) as
first-class function values of fixed signatures.

* **Address tier** (compiled user functions whose ``args`` pack into one
  float vector): the kernels are the cached wrappers of
  :func:`jacsolve._numba.tiers.address_kernel`, called with ``args =
  (p, rc, rj, cc, cj)`` of type :data:`ADDRESSED_ARGS`, so the same kernels
  serve every user function. A cached entry takes them as ``int64`` address
  pairs (:func:`kernel_addresses`) and turns them back into function values
  with :func:`~jacsolve._numba.addresses.function_loader` intrinsics: a solve
  from Python is one call of a cached function with integer and array arguments.
* **Specialised tier** (analytic Jacobians, args that do not pack): each
  kernel is specialised on the user function and becomes a :class:`Pointer`;
  :func:`entry_point` then builds a compiled closure holding the pointers as
  constants (compiled per function and per process).

The calling conventions (``argty`` is the numba type of the ``args`` tuple):

* ``ev(x, args, out, stats) -> int64`` (:func:`ev_signature`): ``out =
  fun(x, *args)``; an ``EVAL_*`` code of :mod:`jacsolve.status`;
* ``jac(x, args, f, Jt, stats) -> int64`` (:func:`jac_signature`): the
  transposed Jacobian at x, where fun is f, into Jt; a status code;
* ``callback(x, f) -> bool`` (:data:`CALLBACK_SIGNATURE`): True stops.

``stats`` is the solver's int64 statistics array, which every kernel updates.
"""
from __future__ import annotations

import warnings

import numpy as np
from numba import types
from numba.core.errors import NumbaExperimentalFeatureWarning
from numba.core.types.function_type import WrapperAddressProtocol
from numba.experimental.function_type import _get_wrapper_address
from numba.extending import intrinsic

from .addresses import addresses_of
from .options import cached_njit, jit

__all__ = ["F1", "F2", "I1", "ADDRESSED_ARGS", "Pointer", "ev_signature", "jac_signature",
           "CALLBACK_SIGNATURE", "no_callback", "no_callback_pointer", "algorithm_pointer",
           "entry_point", "kernel_addresses", "borrowed"]

F1 = types.float64[::1]
F2 = types.float64[:, ::1]
I1 = types.int64[::1]
# the args of a tiers.address_kernel wrapper: (p, rc, rj, cc, cj)
ADDRESSED_ARGS = types.Tuple((F1, types.int64, types.int64, types.int64, types.int64))


def ev_signature(argty):
    """``ev(x, args, out, stats) -> int64``."""
    return types.int64(F1, argty, F1, I1)


def jac_signature(argty):
    """``jac(x, args, f, Jt, stats) -> int64``."""
    return types.int64(F1, argty, F1, F2, I1)


CALLBACK_SIGNATURE = types.boolean(F1, F1)


class Pointer(WrapperAddressProtocol):
    """A compiled function as a first-class function value: its address for
    one signature (numba calls through it without re-compiling the callee).

    Calling the pointer from Python calls the compiled function, so an
    algorithm run as Python can take the same pointers as compiled code.
    """

    def __init__(self, dispatcher, sig):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
            dispatcher.compile(sig.args)
            self._addr = _get_wrapper_address(dispatcher, sig)
        self._sig = sig
        self._dispatcher = dispatcher  # keeps the code alive

    def __wrapper_address__(self):
        return self._addr

    def signature(self):
        return self._sig

    def __call__(self, *args):
        return self._dispatcher(*args)


@cached_njit
def no_callback(x, f):
    """The callback of a solve without one: never stops."""
    return False


_NO_CALLBACK: list = []


def no_callback_pointer() -> Pointer:
    if not _NO_CALLBACK:
        _NO_CALLBACK.append(Pointer(no_callback, CALLBACK_SIGNATURE))
    return _NO_CALLBACK[0]


_ALGORITHMS: dict = {}


def algorithm_pointer(algorithm, sig) -> Pointer:
    """``algorithm`` (a cached dispatcher) compiled for the signature ``sig``,
    or loaded from numba's disk cache; one pointer per (algorithm, sig)."""
    key = (algorithm, sig)
    ptr = _ALGORITHMS.get(key)
    if ptr is None:
        ptr = _ALGORITHMS[key] = Pointer(algorithm, sig)
    return ptr


def entry_point(algorithm: Pointer, pointers, *, params, outputs, alloc, alloc_params):
    """A compiled closure for one call of ``algorithm`` from Python.

    The closure is ``entry(*params)``: it allocates ``outputs = alloc(*alloc_params)``,
    calls ``status = algorithm(*pointers, *params, *outputs)`` with the
    pointers as constants, and returns ``(status, *outputs)``. ``params``,
    ``outputs`` and ``alloc_params`` are tuples of argument names.
    """
    namespace = {"_algorithm": algorithm, "_alloc": alloc}
    names = []
    for k, ptr in enumerate(pointers):
        namespace[f"_p{k}"] = ptr
        names.append(f"_p{k}")
    p, o = ", ".join(params), ", ".join(outputs)
    src = (f"def entry({p}):\n"
           f"    {o} = _alloc({', '.join(alloc_params)})\n"
           f"    status = _algorithm({', '.join(names)}, {p}, {o})\n"
           f"    return status, {o}\n")
    exec(src, namespace)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
        return jit(namespace["entry"])






_KERNEL_ADDRESSES: dict = {}


def kernel_addresses(*kernels) -> np.ndarray:
    """``[c_addr, jit_addr, ...]`` of ``(dispatcher, signature)`` pairs, as an
    int64 array for a cached entry; made once per process for each set (each
    dispatcher is compiled for its signature now, or loaded from numba's cache)."""
    found = _KERNEL_ADDRESSES.get(kernels)
    if found is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
            pairs = [addresses_of(dispatcher, sig) for dispatcher, sig in kernels]
        found = _KERNEL_ADDRESSES[kernels] = np.array([a for pair in pairs for a in pair],
                                                      dtype=np.int64)
    return found


@intrinsic
def borrowed(typingctx, arr):
    """``arr`` without its reference count (a view numba does not track).

    Every call inside a compiled solver increments and decrements the
    reference counts of its array arguments with atomic instructions: more
    than half of a small system's solve time, and a row view ``X0[k]`` shares
    the count of the whole batch, on which threads then serialise. Only for
    arrays whose owner outlives the view (arguments held by Python, say).
    """
    def codegen(context, builder, sig, args):
        view = context.make_array(sig.args[0])(context, builder, value=args[0])
        view.meminfo = context.get_constant_null(types.MemInfoPointer(types.voidptr))
        return view._getvalue()
    return arr(arr), codegen
