"""User functions as integer addresses, so that cached kernels can call them.

A numba kernel that takes a user function as a *dispatcher* argument is
specialised on it: fast, but re-compiled in every process. Here a kernel is
compiled once, with ``cache=True``, for two plain ``int64`` arguments: the
addresses of a compiled function of a fixed signature. :func:`load_real` and
:func:`load_complex` turn those integers back into a first-class function
value inside compiled code. The value has both its C wrapper address and its
numba entry point (``jit_addr``) set: calls go through the numba calling
convention, so an exception raised in the user's function propagates as it
should.

The fixed signatures are those of the *adapters* that
:mod:`jacsolve._numba.prepared` builds per user function:

* ``REAL_SIGNATURE``: ``y = f(x, p)`` with x and y float64, C-contiguous 1-D;
* ``COMPLEX_SIGNATURE``: ``y = f(z, p)`` with z and y complex128.

``p`` is a float64 vector that carries the user's ``args`` (see
:func:`pack_args`).

The addresses come from private numba functions
(``numba.experimental.function_type._get_wrapper_address`` and
``_get_jit_address``); ``pyproject.toml`` pins numba's range, and
``tests/test_binding.py`` fails loudly if they move.
"""
from __future__ import annotations

import numpy as np
from numba import types
from numba.core import cgutils
from numba.experimental.function_type import _get_jit_address, _get_wrapper_address
from numba.extending import intrinsic

__all__ = ["REAL_SIGNATURE", "COMPLEX_SIGNATURE", "REAL", "COMPLEX", "load_real",
           "load_complex", "addresses_of", "function_loader"]

F1 = types.float64[::1]
C1 = types.complex128[::1]
REAL_SIGNATURE = F1(F1, F1)
COMPLEX_SIGNATURE = C1(C1, F1)
REAL = types.FunctionType(REAL_SIGNATURE)
COMPLEX = types.FunctionType(COMPLEX_SIGNATURE)


_LOADERS: dict = {}


def function_loader(function_type):
    """An intrinsic ``load(c_addr, jit_addr)``: the first-class function value
    of type ``function_type`` at those two int64 addresses (one intrinsic per type).

    ``jit_addr`` is set, so calls take numba's calling convention and an
    exception raised in the callee propagates (through ``c_addr`` alone it
    would be printed and swallowed). The addresses come from
    :func:`addresses_of` and must stay valid: the
    dispatchers they belong to are kept for the process.
    """
    load = _LOADERS.get(function_type)
    if load is not None:
        return load

    @intrinsic
    def load(typingctx, c_addr, jit_addr):
        if not (isinstance(c_addr, types.Integer) and isinstance(jit_addr, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            value = cgutils.create_struct_proxy(function_type)(context, builder)
            value.c_addr = builder.inttoptr(args[0], cgutils.voidptr_t)
            value.jit_addr = builder.inttoptr(args[1], cgutils.voidptr_t)
            value.py_addr = cgutils.get_null_value(cgutils.voidptr_t)
            return value._getvalue()
        return function_type(c_addr, jit_addr), codegen

    _LOADERS[function_type] = load
    return load


load_real = function_loader(REAL)
load_complex = function_loader(COMPLEX)


def addresses_of(dispatcher, signature) -> tuple:
    """(c_addr, jit_addr) of ``dispatcher`` compiled for ``signature`` (compiled now if needed)."""
    dispatcher.compile(signature.args)
    return (_get_wrapper_address(dispatcher, signature),
            _get_jit_address(dispatcher, signature))


EMPTY = np.empty(0)

