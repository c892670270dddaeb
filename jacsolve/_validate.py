"""Input checks shared by every public function.

Everything that reaches compiled code passes through here first: numba does
no bounds checking, so a wrong shape must be caught in Python.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._jit import is_jitted

__all__ = ["FunctionError", "as_vector", "as_args", "as_bounds", "as_scale",
           "evaluate_once", "call_kernel", "positive_int"]


class FunctionError(RuntimeError):
    """The user's function raised, or returned something unusable."""


def as_vector(value, name: str, *, allow_empty: bool = False, finite: bool = True) -> np.ndarray:
    """``value`` as a float64, C-contiguous 1-D array, or a ValueError/TypeError naming it."""
    try:
        a = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a 1-D array of real numbers: {exc}") from None
    if a.dtype.kind not in "biuf":
        kind = "complex" if a.dtype.kind == "c" else str(a.dtype)
        raise TypeError(f"{name} must be a 1-D array of real numbers, got dtype {kind}")
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.size == 0 and not allow_empty:
        raise ValueError(f"{name} must have at least one element")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if finite and not np.all(np.isfinite(a)):
        bad = np.flatnonzero(~np.isfinite(a))
        raise ValueError(f"{name} must be finite; {name}[{bad[0]}] = {a[bad[0]]}"
                         + (f" ({bad.size} non-finite entries)" if bad.size > 1 else ""))
    return a


def as_args(args) -> tuple:
    if not isinstance(args, tuple):
        if isinstance(args, list):
            return tuple(args)
        return (args,)
    return args


def as_scale(x_scale, n: int, name: str = "x_scale") -> np.ndarray:
    s = np.asarray(x_scale, dtype=np.float64)
    if s.ndim == 0:
        s = np.full(n, float(s))
    if s.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"{name} must be finite and positive")
    return np.ascontiguousarray(s)


def as_bounds(bounds, x: np.ndarray, name: str = "bounds"):
    """(lower, upper) float arrays; inf where unbounded. Checks x lies inside."""
    n = x.size
    if bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    try:
        lower, upper = bounds
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lower, upper)") from None
    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(upper, dtype=np.float64)
    lo = np.full(n, float(lo)) if lo.ndim == 0 else lo
    hi = np.full(n, float(hi)) if hi.ndim == 0 else hi
    if lo.shape != (n,) or hi.shape != (n,):
        raise ValueError(f"{name}: lower and upper must be scalars or have shape ({n},), "
                         f"got {lo.shape} and {hi.shape}")
    if np.any(np.isnan(lo)) or np.any(np.isnan(hi)):
        raise ValueError(f"{name} must not contain NaN")
    if np.any(lo >= hi):
        j = int(np.flatnonzero(lo >= hi)[0])
        raise ValueError(f"{name}: lower must be < upper, but lower[{j}] = {lo[j]} "
                         f">= upper[{j}] = {hi[j]}")
    if np.any(x < lo) or np.any(x > hi):
        j = int(np.flatnonzero((x < lo) | (x > hi))[0])
        raise ValueError(f"x[{j}] = {x[j]} lies outside {name} [{lo[j]}, {hi[j]}]")
    return np.ascontiguousarray(lo), np.ascontiguousarray(hi)


def positive_int(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def evaluate_once(fun, x, args, name: str = "fun") -> np.ndarray:
    """Call ``fun(x, *args)`` from Python and check the result is a numeric 1-D array or scalar.

    Returns ``(value, is_scalar)``: the value as a float64 1-D array (length 1
    for a scalar) and whether ``fun`` returned a scalar.
    """
    try:
        y = fun(x, *args)
    except Exception as exc:
        if _is_typing_error(exc):
            raise TypeError(_typing_message(exc, name)) from None
        raise FunctionError(f"{name} raised {_describe(exc)} at the starting point") from exc
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


def _is_typing_error(exc) -> bool:
    return type(exc).__name__ in ("TypingError", "UnsupportedError", "NumbaError",
                                  "LoweringError")


def _typing_message(exc, name: str) -> str:
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
        if _is_typing_error(exc):
            raise TypeError(_typing_message(exc, name)) from None
        if isinstance(exc, TypeError) and "fun must return" in str(exc):
            raise
        if isinstance(exc, np.exceptions.ComplexWarning):  # raised when warnings are errors
            raise TypeError(f"{name} discards the imaginary part of complex values") from None
        raise FunctionError(f"{name} raised {_describe(exc)} during evaluation") from exc
