"""Calls of user code from Python, and numba's errors translated for the caller.

A first call of ``fun`` from Python (:func:`evaluate_once`) finds a wrong
output shape or dtype, or an exception, with a message that names the
caller's argument; :func:`call_kernel` runs a specialised kernel and turns
compile and user errors into clear exceptions.
"""
from __future__ import annotations

import numpy as np

from ..status import FunctionError
from .prepared import prepare

__all__ = ["evaluate_once", "call_kernel", "is_typing_error", "typing_message"]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def evaluate_once(fun, x, args, name: str = "fun") -> np.ndarray:
    """Call ``fun(x, *args)`` from Python and check the result is a numeric 1-D array or scalar.

    Returns ``(value, is_scalar)``: the value as a float64 1-D array (length 1
    for a scalar) and whether ``fun`` returned a scalar.
    """
    try:
        y = prepare(fun).returning(x, *args)
    except Exception as exc:
        if is_typing_error(exc):
            raise TypeError(typing_message(exc, name)) from None
        hint = ""
        if isinstance(exc, TypeError) and "argument" in str(exc):
            hint = (f" (if {name} writes into an out argument, declare the in-place form with "
                    "@jacsolve.jit(inplace=...) or @jacsolve.inplace())")
        raise FunctionError(f"{name} raised {_describe(exc)} at the starting point{hint}") \
            from exc
    if y is None:
        raise TypeError(f"{name} returned None: return its values, or declare the in-place "
                        f"form {name}(x, *args, out) with @jacsolve.jit(inplace=...) or "
                        "@jacsolve.inplace()")
    try:
        a = np.asarray(y)
    except Exception:
        raise TypeError(f"{name} must return a 1-D array or a scalar, got {type(y).__name__}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must return real numbers, got {type(y).__name__} "
                        f"of dtype {a.dtype}")
    if a.ndim > 1:
        raise ValueError(f"{name} must return a 1-D array or a scalar, got shape {a.shape}")
    return np.ascontiguousarray(a.reshape(-1), dtype=np.float64), a.ndim == 0


def is_typing_error(exc) -> bool:
    return type(exc).__name__ in ("TypingError", "UnsupportedError", "NumbaError",
                                  "LoweringError")


def typing_message(exc, name: str) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    core = next((ln for ln in lines if "fun must return" in ln), None)
    if core is None:
        core = " ".join(lines[:4])
    import re
    core = re.sub(r"\x1b\[[0-9;]*m", "", core)
    return (f"{name} could not be compiled for the given x and args (x is passed as a "
            f"float64 1-D array, or complex128 for complex-step methods): {core}")


def call_kernel(call, *a, name: str = "fun"):
    """Run a specialised kernel, turning compile and user errors into clear exceptions."""
    try:
        return call(*a)
    except Exception as exc:
        if is_typing_error(exc):
            raise TypeError(typing_message(exc, name)) from None
        if isinstance(exc, TypeError) and ("must return" in str(exc)
                                           or "not complex-safe" in str(exc)):
            raise
        if isinstance(exc, np.exceptions.ComplexWarning):  # raised when warnings are errors
            raise TypeError(f"{name} discards the imaginary part of complex values") from None
        raise FunctionError(f"{name} raised {_describe(exc)} during evaluation") from exc
