"""Checks of the caller's arguments, shared by every public function.

Everything that reaches compiled code passes through here first: numba does
no bounds checking, so a wrong shape, dtype or value must be caught in Python,
with a message that names the argument.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_vector", "as_args", "as_bounds", "as_scale", "positive_int", "positive_float",
           "real_number", "real_array", "as_seed"]


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
    if not a.flags.writeable:  # read-only arrays have their own numba type
        a = a.copy()
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


def per_variable(value, n: int, name: str, *, error=ValueError) -> np.ndarray:
    """``value`` as n float64 values (one for all, or one each), or an error naming ``name``.

    ``error`` is the exception class for a value that is not numbers at all.
    """
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise error(f"{name} must be a positive number or {n} of them, got "
                    f"{type(value).__name__} {value!r:.60}") from None
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {a.shape}")
    return a


def as_scale(x_scale, n: int, name: str = "x_scale") -> np.ndarray:
    """``x_scale`` (a positive number, or n of them) as n float64 values, or an error naming it."""
    s = per_variable(x_scale, n, name)
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


def real_number(value, name: str) -> float:
    """``value`` as a finite float, or a TypeError/ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (>= 0 with ``allow_zero``), or an error naming it."""
    v = real_number(value, name)
    if not (v > 0.0 or (allow_zero and v == 0.0)):
        raise ValueError(f"{name} must be finite and {'>= 0' if allow_zero else '> 0'}, "
                         f"got {value!r}")
    return v


def real_array(value, name: str) -> np.ndarray:
    """``value`` as a C-contiguous, writable float64 array of any shape, or an error naming it.

    Always a fresh or owned array: read-only inputs (``np.broadcast_to``,
    memmaps, ``setflags(write=False)``) have their own numba type and would be
    rejected by compiled code.
    """
    try:
        a = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    return a if a.flags.writeable else a.copy()


def as_choice(value, name: str, choices, note: str = "") -> str:
    """``value`` when it is one of the strings ``choices``, else a ValueError naming ``name``
    (``note`` follows the list of choices in the message)."""
    if not isinstance(value, str) or value not in choices:
        shown = repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}{note}, "
                         f"got {shown}")
    return value


def as_seed(seed, name: str = "seed"):
    """``seed`` checked: None, a non-negative integer, or a numpy Generator (returned as is).

    The one check of a seed for every random method (a float, a string or a
    negative integer is an error that names ``name``).
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise ValueError(f"{name} must be a non-negative int, a numpy.random.Generator or None, "
                     f"got {seed!r}")
