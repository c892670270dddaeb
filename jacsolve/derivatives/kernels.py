"""Compiled Jacobian kernels, callable from Python and from your own ``@njit`` code.

Every kernel takes the user function first, ``fun(x, *args)`` returning a 1-D
array or a scalar, then arrays only. Kernels never raise for numerical
trouble: they return a status code (see ``OK`` and the codes below) together
with the number of function evaluations. They return the *transposed*
Jacobian ``Jt`` of shape (n, m), filled one contiguous row per variable, so
``J = Jt.T`` (an F-ordered (m, n) view, no copy).

Step sizes come from the helpers :func:`relative_steps` and
:func:`complex_steps`, which take the typical magnitude of each variable as an
array; bounds are arrays (``-inf``/``inf`` when unbounded).

Examples
--------
A kernel called from your own compiled code:

>>> import numpy as np, jacsolve
>>> from jacsolve.derivatives import kernels
>>> @jacsolve.jit
... def fun(x):
...     return np.array([x[0] * x[1], x[1] * x[1]])
>>> @jacsolve.jit
... def jacobian_at(x):
...     h = kernels.complex_steps(x, np.ones(x.size))
...     Jt, status, nfev = kernels.jacobian_complex_t(fun, x, (), h)
...     return Jt.T, status
>>> J, status = jacobian_at(np.array([2.0, 3.0]))
>>> J
array([[3., 2.],
       [0., 6.]])
>>> status == kernels.OK
True
"""
from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.core.errors import TypingError
from numba.extending import overload

from .._numba.options import cached_njit, kernel_njit
from ..status import BAD_F_SIZE, NONFINITE, NOT_COMPLEX_SAFE, OK

__all__ = [
    "OK", "BAD_OUTPUT_SIZE", "NONFINITE", "NOT_COMPLEX_SAFE",
    "relative_steps", "complex_steps",
    "jacobian_forward_t", "jacobian_central_t", "jacobian_complex_t",
    "jacobian_richardson_t", "jacobian_richardson_full_t", "jacobian_complex_into", "jvp_forward", "jvp_central", "jvp_complex",
    "hessian_complex", "hessian_central",
    "sparse_forward", "sparse_central", "sparse_complex",
    "as_1d",
]

# Status codes (the table is jacsolve.status): OK; BAD_OUTPUT_SIZE, fun's output
# length changed between evaluations; NONFINITE, fun gave inf/NaN on both sides of
# x (those entries are NaN); NOT_COMPLEX_SAFE, fun returned real values for complex x.
BAD_OUTPUT_SIZE = BAD_F_SIZE

EPS = np.finfo(np.float64).eps
COMPLEX_STEP = 1e-20
# Richardson: steps are powers of two that halve from the initial one, at most
# RICHARDSON_LEVELS times or down to 64 ulps of x_j (0.1 * 2**-56 ~ 1.4e-18 at x_j = 0); the tableau
# keeps RICHARDSON_WIDTH columns; an entry converged when its estimate is
# below RICHARDSON_RTOL of it.
RICHARDSON_RATIO = 2.0
RICHARDSON_LEVELS = 56
RICHARDSON_WIDTH = 6
RICHARDSON_RTOL = 1e-8
RICHARDSON_FLOOR = 2.0 ** -40  # ~9e-13: the smallest relative error estimate reported
RICHARDSON_CHECKS = 3          # checks of converged entries at an off-sequence step
RICHARDSON_CONTRADICTIONS = 3  # an output contradicted this often is done
# fun computed from x_j in floating point (sin(a x), exp(a x)) carries noise
# ~ eps |x_j| |f'|: counted RICHARDSON_COND times in the rounding estimate
RICHARDSON_COND = 2.0
RICHARDSON_CHECK_RATIO = 0.6180339887498949  # irrational: no alias shares it with 2**-k
# what limited a column's steps (jacobian_richardson_full_t)
LIMIT_NONE = 0
LIMIT_BOUND = 1
LIMIT_NONFINITE = 2


# ---------------------------------------------------------------- output shape
def as_1d(y):
    """``fun``'s result as a 1-D array (a scalar becomes length 1)."""
    a = np.asarray(y)
    if a.ndim > 1:
        raise TypeError(f"fun must return a 1-D array or a scalar, got shape {a.shape}")
    return a.reshape(-1)


@overload(as_1d)
def _as_1d_compiled(y):
    if isinstance(y, types.Array):
        if y.ndim != 1:
            raise TypingError(f"fun must return a 1-D array or a scalar, got a {y.ndim}-D array")
        return lambda y: y
    if isinstance(y, (types.Float, types.Integer, types.Complex, types.Boolean)):
        return lambda y: np.full(1, y)
    raise TypingError(f"fun must return a 1-D array or a scalar, got {y}")


def call_user(fun, x, args):
    """``fun(x, *args)`` as a 1-D array: how every kernel calls the user function.

    In compiled code ``fun`` is the user function itself (the specialised
    tier), or the pair (real, complex) of its adapters loaded from their
    addresses (:func:`jacsolve._numba.tiers.address_kernel`), which is then
    called with the adapter for x's dtype and ``args == (p,)``.
    """
    return as_1d(fun(x, *args))


@overload(call_user, inline="always")
def _call_user_compiled(fun, x, args):
    if (isinstance(fun, types.BaseTuple) and len(fun) == 2
            and all(isinstance(f, types.FunctionType) for f in fun)):
        if isinstance(x.dtype, types.Complex):
            return lambda fun, x, args: fun[1](x, args[0])
        return lambda fun, x, args: fun[0](x, args[0])
    return lambda fun, x, args: as_1d(fun(x, *args))


def is_complex_array(a):
    return np.iscomplexobj(a)


@overload(is_complex_array)
def _is_complex_compiled(a):
    flag = isinstance(a, types.Array) and isinstance(a.dtype, types.Complex)
    return lambda a: flag


# ------------------------------------------------------ function-independent
def rel_at(rel, j):
    """``rel[j]`` for an array of relative steps, ``rel`` for a scalar."""
    return rel if np.ndim(rel) == 0 else rel[j]


@overload(rel_at)
def _rel_at_compiled(rel, j):
    if isinstance(rel, types.Array):
        return lambda rel, j: rel[j]
    return lambda rel, j: rel


@cached_njit
def relative_steps(x, rel, scale):
    """Steps ``rel_j * max(|x_j|, scale_j)`` (``scale`` is a typical magnitude;
    ``rel`` a scalar or one relative step per variable)."""
    h = np.empty(x.size)
    for j in range(x.size):
        h[j] = rel_at(rel, j) * max(abs(x[j]), scale[j])
    return h


@cached_njit
def complex_steps(x, scale):
    """Complex steps ``1e-20 * max(|x_j|, scale_j)``: exact to rounding."""
    h = np.empty(x.size)
    for j in range(x.size):
        h[j] = COMPLEX_STEP * max(abs(x[j]), scale[j])
    return h


@cached_njit
def all_finite(a):
    for i in range(a.size):
        if not np.isfinite(a[i]):
            return False
    return True


@cached_njit
def store_quotient(row, fp, fm, denom):
    for i in range(row.size):
        row[i] = (fp[i] - fm[i]) / denom


@cached_njit
def three_point_weights(d1, d2):
    """Weights (c0, c1, c2) of the one-sided second-order formula
    f'(x) ~ c0 f(x) + c1 f(x+d1) + c2 f(x+d2) (d1, d2 signed)."""
    return -(d1 + d2) / (d1 * d2), d2 / (d1 * (d2 - d1)), -d1 / (d2 * (d2 - d1))


@cached_njit
def store_three_point(row, f0, f1, f2, d1, d2):
    """One-sided second-order formula through x, x+d1, x+d2 (d1, d2 signed)."""
    c0, c1, c2 = three_point_weights(d1, d2)
    for i in range(row.size):
        row[i] = c0 * f0[i] + c1 * f1[i] + c2 * f2[i]


@cached_njit(inline="always")
def imag_quotient(z, h):
    """Im z / h, the complex-step derivative; NaN where Re z is inf or NaN (fun
    not finite there: an imaginary part of 0 would read as a zero derivative)."""
    return z.imag / h if abs(z.real) < np.inf else np.nan


@cached_njit
def store_imag(row, fc, h):
    for i in range(row.size):
        row[i] = imag_quotient(fc[i], h)


@cached_njit
def fill_nan(row):
    row[:] = np.nan


@cached_njit
def overlaps(a, b):
    """Whether two arrays share memory (fun may return a view of its input)."""
    a0 = a.ctypes.data
    b0 = b.ctypes.data
    return a0 < b0 + b.size * b.itemsize and b0 < a0 + a.size * a.itemsize


@cached_njit
def own(y, x):
    """``y``, or a copy of it if it is a view of ``x`` (which the kernel is
    about to change): ``fun`` may return a slice of its input."""
    if overlaps(y, x):
        return y.copy()
    return y


@cached_njit
def stencil(attempt, xj, hj, lower, upper):
    """Offsets (ok, d1, d2) of a difference stencil around xj within bounds.

    attempt 0: central (+h, -h); 1: one-sided forward (+h, +2h); 2: one-sided
    backward (-h, -2h). ok is False when that attempt would cross a bound; when
    neither side has room for 2h, the roomier side's step shrinks to fit.
    """
    room_up = upper - xj
    room_down = xj - lower
    if attempt == 0:
        return hj <= room_down and hj <= room_up, hj, -hj
    if attempt == 1:
        h = min(hj, 0.5 * room_up)
        return h > 0.0 and (h == hj or room_up >= room_down), h, 2.0 * h
    h = min(hj, 0.5 * room_down)
    return h > 0.0, -h, -2.0 * h


@cached_njit
def store_stencil(row, f0, f1, f2, d1, d2, central):
    """Derivative from values at offsets d1, d2 (actual steps taken).

    Central: (f1 - f2) / (d1 - d2). One-sided: the second-order formula
    through x, x+d1, x+d2.
    """
    if central:
        store_quotient(row, f1, f2, d1 - d2)
    else:
        store_three_point(row, f0, f1, f2, d1, d2)


@cached_njit
def forward_step(attempt, xj, hj, lower, upper):
    """Signed one-sided step: forward first, backward on attempt 1 or at a bound."""
    room_up = upper - xj
    room_down = xj - lower
    forward = (attempt == 0) == (hj <= room_up or room_up >= room_down)
    if forward:
        return min(hj, room_up)
    return -min(hj, room_down)


@cached_njit
def richardson_update(D, rnd, rfl, k, h, orders, prev, cur, best, err, hbest, rbest, spread,
                      last, contra, kept, kept_err, done):
    """Add the quotients ``D`` at step ``h`` (level ``k``) to every output's tableau.

    The tableau keeps a sliding window of ``prev.shape[1]`` columns (``prev``
    the last one, ``cur`` the new one); stage l removes the term in
    h**orders[l-1] (steps shrink by ``RICHARDSON_RATIO``). Per output not yet
    ``done``:

    * ``best``, ``err``: the entry with the smallest estimate so far, from the
      step ``hbest`` whose rounding error was ``rbest``. An entry's estimate
      is twice Ridders' (its distance to the two entries it was extrapolated
      from) plus ``rnd``, the rounding error of this level's quotients, which
      the tableau differences may not show.
    * A quotient farther from ``best`` than the level before (``last``)
      contradicts it: ``err`` becomes that distance. Contradictions of a best
      that looked converged (estimate below 1e-3 of it) count in ``contra``.
    * ``kept``, ``kept_err``: the replaced best with the smallest estimate,
      the fallback of an output that does not converge.
    * ``spread``: the largest distance from ``best`` of the quotients at its
      step and smaller ones, part of the estimate of such an output.

    An output is done when its estimate met :func:`richardson_converged` and
    two more levels did not improve it (or it reached rounding level); when
    the rounding error that is surely there (``rfl``) exceeds its estimate,
    so that smaller steps can only do worse; or after
    ``RICHARDSON_CONTRADICTIONS`` contradictions (fun is noisy at these
    steps: smaller ones only find noise that happens to agree). Returns the
    number of outputs not done.
    """
    m = D.size
    width = prev.shape[1]
    lmax = min(k, width - 1)
    left = 0
    for i in range(m):
        if done[i]:
            continue
        cur[i, 0] = D[i]
        colbest = D[i]
        colerr = np.inf
        for l in range(1, lmax + 1):
            fac = RICHARDSON_RATIO ** orders[l - 1]
            # overflow-safe form of (fac * T[l-1, k] - T[l-1, k-1]) / (fac - 1)
            cur[i, l] = cur[i, l - 1] + (cur[i, l - 1] - prev[i, l - 1]) / (fac - 1.0)
            e = max(abs(cur[i, l] - cur[i, l - 1]), abs(cur[i, l] - prev[i, l - 1]))
            if e <= colerr:
                colerr = e
                colbest = cur[i, l]
        # Ridders' estimate, doubled: it bounds the error where the tableau
        # converges (in the asymptotic range it is the error of the entry
        # before), and covers noise of fun's own that rnd does not see
        e = 2.0 * colerr + rnd[i]
        # past the best entry the quotients approach it (by r**2 a level,
        # until rounding): a quotient farther from it than the last one
        # contradicts it (an oscillation aliased with the step sequence looked
        # converged at larger steps; an early guess before the asymptotic
        # range), which is then no better known than that distance
        gap = abs(D[i] - best[i])
        if gap > last[i] + 16.0 * rnd[i] + err[i]:
            if err[i] < 1e-3 * abs(best[i]):
                contra[i] += 1  # of a best that looked converged (not one of the first guesses)
            err[i] = max(err[i], gap)
        if e < err[i]:
            if err[i] < kept_err[i]:
                kept[i] = best[i]
                kept_err[i] = err[i]
            err[i] = e
            best[i] = colbest
            hbest[i] = h
            rbest[i] = rnd[i]
            spread[i] = 0.0
        last[i] = abs(D[i] - best[i])
        spread[i] = max(spread[i], last[i])
        for l in range(lmax + 1):
            prev[i, l] = cur[i, l]
        if richardson_converged(best[i], err[i], rbest[i]):
            # two levels without improvement, or nothing left to gain
            if hbest[i] >= 3.9 * h or err[i] <= 8.0 * EPS * abs(best[i]) + 4.0 * rnd[i]:
                done[i] = True
        elif rfl[i] >= err[i] or not np.isfinite(D[i]) or contra[i] >= RICHARDSON_CONTRADICTIONS:
            done[i] = True
        if not done[i]:
            left += 1
    return left


@cached_njit
def power_of_two_below(h):
    """The largest power of two <= h (h > 0 finite; else h).

    Richardson's steps are powers of two: x +- h is then exact wherever h is
    at least 2 ulps of x, and the steps taken keep the exact ratio that the
    extrapolation assumes (a step off by an ulp of x leaves ~(ulp/h) of the
    h**2 term behind).
    """
    if not (h > 0.0 and np.isfinite(h)):
        return h
    m, e = math.frexp(h)
    return math.ldexp(0.5, e)


@cached_njit
def richardson_check(D, rnd, best, err, spread, contra, done):
    """Check converged entries against quotients ``D`` at a step off the sequence.

    Steps halving from one start can alias with an oscillation of fun
    (sin(a x) with a h0 near a multiple of 2 pi looks converged at every
    level); a quotient at ``RICHARDSON_CHECK_RATIO`` times the last step,
    which no such alias shares, must lie as close to the best entry as the
    quotients since it. Where it does not, the estimate becomes that distance
    and, unless contradicted ``RICHARDSON_CONTRADICTIONS`` times (``contra``),
    the output is not done. Returns the number of outputs not done.
    """
    left = 0
    for i in range(D.size):
        gap = abs(D[i] - best[i])
        if gap > 2.0 * spread[i] + 16.0 * rnd[i] + err[i]:
            if err[i] < 1e-3 * abs(best[i]):
                contra[i] += 1
            err[i] = max(err[i], gap)
            done[i] = contra[i] >= RICHARDSON_CONTRADICTIONS
        if not done[i]:
            left += 1
    return left


@cached_njit
def richardson_converged(value, error, rounding):
    """Whether an extrapolated derivative counts as converged: its error
    estimate is within ``RICHARDSON_RTOL`` of its size, or at the level of
    the rounding error ``rounding`` of its quotients (a derivative near 0)."""
    return error <= RICHARDSON_RTOL * abs(value) + 16.0 * rounding


@cached_njit
def richardson_level(D, rnd, rfl, f0, f1, f2, d1, d2, central, xj):
    """The difference quotients of one level into D, and their rounding errors into rnd.

    The rounding error counts 4 eps |f| per value (that part alone into
    ``rfl``), and ``RICHARDSON_COND`` eps |x_j| |f'| for fun computed from
    x_j in floating point (exp(a x), sin(a x) at large a x: a relative error
    eps in its argument, amplified by the condition number), which may or may
    not be there.
    """
    if central:
        den = d1 - d2
        for i in range(D.size):
            q = (f1[i] - f2[i]) / den
            if not np.isfinite(q):
                q = f1[i] / den - f2[i] / den  # f1 - f2 overflowed
            D[i] = q
            rfl[i] = (4.0 * EPS * abs(f1[i]) + 4.0 * EPS * abs(f2[i])) / abs(den)
            rnd[i] = rfl[i] + RICHARDSON_COND * EPS * abs(xj) * abs(q) / abs(den)
    else:
        # weights times |d1| / 4 (of size 1), so that fun near overflow does not overflow
        c0, c1, c2 = three_point_weights(d1, d2)
        s = 0.25 * abs(d1)
        c0 *= s
        c1 *= s
        c2 *= s
        w = abs(c0) + abs(c1) + abs(c2)
        for i in range(D.size):
            D[i] = (c0 * f0[i] + c1 * f1[i] + c2 * f2[i]) / s
            rfl[i] = 4.0 * EPS * (abs(c0 * f0[i]) + abs(c1 * f1[i]) + abs(c2 * f2[i])) / s
            rnd[i] = rfl[i] + RICHARDSON_COND * EPS * w * abs(xj) * abs(D[i]) / s


# --------------------------------------------------------------- dense kernels
@kernel_njit(inline=True)
def _stencil_values(fun, x, args, xw, j, d1, d2):
    """fun at x + d1 e_j and x + d2 e_j: (x1, f1, x2, f2) with the points taken."""
    xj = x[j]
    xw[j] = xj + d1
    x1 = xw[j]
    f1 = own(call_user(fun, xw, args), xw)
    xw[j] = xj + d2
    x2 = xw[j]
    f2 = own(call_user(fun, xw, args), xw)
    xw[j] = xj
    return x1, f1, x2, f2


@kernel_njit(inline=True)
def jacobian_forward_t(fun, x, args, f0, h, lower, upper):
    """Forward differences. ``f0 = fun(x)``; steps ``h``; returns (Jt, status, nfev).

    Steps backward at an upper bound, or when fun is inf/NaN ahead."""
    n = x.size
    m = f0.size
    Jt = np.empty((n, m))
    xw = x.copy()
    status = OK
    nfev = 0
    for j in range(n):
        xj = x[j]
        finite = False
        for attempt in range(2):
            xw[j] = xj + forward_step(attempt, xj, h[j], lower[j], upper[j])
            fp = own(call_user(fun, xw, args), xw)
            nfev += 1
            if fp.size != m:
                return Jt, BAD_F_SIZE, nfev
            if all_finite(fp):
                store_quotient(Jt[j], fp, f0, xw[j] - xj)
                finite = True
                break
        xw[j] = xj
        if not finite:
            fill_nan(Jt[j])
            status = NONFINITE
    return Jt, status, nfev


@kernel_njit(inline=True)
def jacobian_central_t(fun, x, args, f0, h, lower, upper):
    """Central differences; one-sided second order at a bound or next to inf/NaN.

    ``f0`` may be empty (size 0): it is then evaluated only if a one-sided
    formula is needed. Returns (Jt, status, nfev).
    """
    n = x.size
    xw = x.copy()
    status = OK
    nfev = 0
    m = -1
    Jt = np.empty((n, 0))
    for j in range(n):
        xj = x[j]
        done = False
        for attempt in range(3):
            ok, d1, d2 = stencil(attempt, xj, h[j], lower[j], upper[j])
            if not ok:
                continue
            if attempt > 0 and f0.size == 0:
                f0 = own(call_user(fun, x, args), x)
                nfev += 1
            x1, f1, x2, f2 = _stencil_values(fun, x, args, xw, j, d1, d2)
            nfev += 2
            if m < 0:
                m = f1.size
                Jt = np.empty((n, m))
            if f1.size != m or f2.size != m or (attempt > 0 and f0.size != m):
                return Jt, BAD_F_SIZE, nfev
            if all_finite(f1) and all_finite(f2):
                store_stencil(Jt[j], f0, f1, f2, x1 - xj, x2 - xj, attempt == 0)
                done = True
                break
        if not done:
            fill_nan(Jt[j])
            status = NONFINITE
    return Jt, status, nfev


@kernel_njit(inline=True)
def jacobian_complex_t(fun, x, args, h):
    """Complex-step derivatives Im f(x + i h e_j) / h: no cancellation.

    ``fun`` must be complex-safe (no abs, comparisons or branches on x); a
    ``fun`` that returns real values for complex input gives NOT_COMPLEX_SAFE,
    one whose values are inf or NaN (real part included) NaN entries and NONFINITE.
    """
    n = x.size
    xc = x.astype(np.complex128)
    m = -1
    Jt = np.empty((n, 0))
    status = OK
    for j in range(n):
        xc[j] = complex(x[j], h[j])
        fc = own(call_user(fun, xc, args), xc)
        xc[j] = complex(x[j], 0.0)
        if m < 0:
            m = fc.size
            Jt = np.empty((n, m))
        if fc.size != m:
            return Jt, BAD_F_SIZE, j + 1
        if not is_complex_array(fc):
            return Jt, NOT_COMPLEX_SAFE, j + 1
        store_imag(Jt[j], fc, h[j])
        if not all_finite(Jt[j]):  # (a row: all_finite(Jt.ravel()) compiles ravel too)
            status = NONFINITE
    return Jt, status, n


@kernel_njit(inline=True)
def jacobian_complex_into(fun, x, args, h, xc, Jt):
    """Complex step into caller-owned buffers: no allocation by the kernel.

    ``xc`` is complex work space of size n; ``Jt`` (n, m) receives the
    transposed Jacobian. For loops over many points (integration maps, batched
    solves). Returns (status, nfev).
    """
    n = x.size
    for j in range(n):
        xc[j] = complex(x[j], 0.0)
    for j in range(n):
        xc[j] = complex(x[j], h[j])
        fc = call_user(fun, xc, args)
        if fc.size != Jt.shape[1]:
            xc[j] = complex(x[j], 0.0)
            return BAD_F_SIZE, j + 1
        if not is_complex_array(fc):
            xc[j] = complex(x[j], 0.0)
            return NOT_COMPLEX_SAFE, j + 1
        store_imag(Jt[j], fc, h[j])  # before xc changes: fc may be a view of it
        xc[j] = complex(x[j], 0.0)
    return OK, n


@kernel_njit(inline=True)
def jacobian_richardson_full_t(fun, x, args, f0, h, lower, upper):
    """Richardson extrapolation of difference quotients over steps that adapt to fun.

    Column j starts from the step ``h[j]`` and halves it, up to
    ``RICHARDSON_LEVELS`` times, extrapolating central differences (the
    one-sided second-order formula at a bound, or where fun is inf/NaN on one
    side) in a sliding tableau (:func:`richardson_update`). It stops once
    every output converged and two more levels did not improve it, or once
    rounding error exceeds the best estimate, and a quotient at a step off
    the sequence agrees (:func:`richardson_check`; else the walk goes on). The step walk spans fun's own
    scales: a variable tiny against ``h``, a pole or a bound close by, an
    oscillation faster than ``h``. When a bound clips the first step, the
    walk starts from the step taken.

    Returns (Jt, Et, Ct, limit, status, nfev): ``Et`` the per-entry error
    estimates (at least ``RICHARDSON_FLOOR`` relative; for entries that did
    not converge, at least the spread of the quotients at smaller steps),
    ``Ct`` whether each entry converged (see
    :func:`richardson_converged`), ``limit[j]`` what limited column j's steps
    (``LIMIT_NONE``, ``LIMIT_BOUND``, ``LIMIT_NONFINITE`` -- fun was inf or
    NaN at some step: a pole, overflow or the edge of its domain).
    """
    n = x.size
    m = f0.size
    Jt = np.empty((n, m))
    Et = np.empty((n, m))
    Ct = np.zeros((n, m), dtype=np.bool_)
    limit = np.zeros(n, dtype=np.int64)
    prev = np.empty((m, RICHARDSON_WIDTH))
    cur = np.empty((m, RICHARDSON_WIDTH))
    D = np.empty(m)
    rnd = np.empty(m)
    rfl = np.empty(m)
    hbest = np.empty(m)
    rbest = np.empty(m)
    spread = np.empty(m)
    last = np.empty(m)
    contra = np.empty(m, dtype=np.int64)
    kept = np.empty(m)
    kept_err = np.empty(m)
    done = np.empty(m, dtype=np.bool_)
    central_orders = np.arange(1, RICHARDSON_WIDTH + 1) * 2.0
    onesided_orders = np.arange(2, RICHARDSON_WIDTH + 2) * 1.0
    xw = x.copy()
    status = OK
    nfev = 0
    for j in range(n):
        xj = x[j]
        hj = power_of_two_below(h[j])
        attempt = 0
        levels = 0
        best = Jt[j]
        err = Et[j]
        err[:] = np.inf
        best[:] = np.nan
        spread[:] = 0.0
        last[:] = np.inf
        contra[:] = 0
        kept_err[:] = np.inf
        done[:] = False
        checks = 0
        checking = False  # this evaluation checks the converged entries at an off-sequence step
        for trial in range(30 + RICHARDSON_LEVELS + RICHARDSON_CHECKS):
            step = RICHARDSON_CHECK_RATIO * hj if checking else hj
            ok, d1, d2 = stencil(attempt, xj, step, lower[j], upper[j])
            if not ok:
                if levels > 0 or attempt == 2:
                    break
                attempt += 1
                continue
            if levels == 0 and attempt > 0 and abs(d1) < hj:
                # a bound clipped the step: the walk starts from the step that fits
                hj = power_of_two_below(abs(d1))
                ok, d1, d2 = stencil(attempt, xj, hj, lower[j], upper[j])
                limit[j] = LIMIT_BOUND
            elif attempt > 0 and limit[j] == LIMIT_NONE:
                limit[j] = LIMIT_BOUND if (upper[j] - xj < hj or xj - lower[j] < hj) \
                    else LIMIT_NONFINITE
            x1, f1, x2, f2 = _stencil_values(fun, x, args, xw, j, d1, d2)
            nfev += 2
            if f1.size != m or f2.size != m:
                return Jt, Et, Ct, limit, BAD_F_SIZE, nfev
            if all_finite(f1) and all_finite(f2):
                richardson_level(D, rnd, rfl, f0, f1, f2, x1 - xj, x2 - xj, attempt == 0, xj)
                if checking:
                    checking = False
                    if richardson_check(D, rnd, best, err, spread, contra, done) == 0:
                        break
                    hj /= RICHARDSON_RATIO  # contradicted: the walk goes on
                    continue
                orders = central_orders if attempt == 0 else onesided_orders
                left = richardson_update(D, rnd, rfl, levels, hj, orders, prev, cur, best, err,
                                         hbest, rbest, spread, last, contra, kept, kept_err,
                                         done)
                levels += 1
                if levels == RICHARDSON_LEVELS or hj < 64.0 * EPS * abs(xj):
                    break  # steps below 64 ulps of x_j resolve nothing
                if left == 0:
                    if checks == RICHARDSON_CHECKS:
                        break
                    checks += 1
                    checking = True
                    continue
                hj /= RICHARDSON_RATIO
                continue
            if checking:
                break  # fun is not finite at the check's step: keep what converged
            limit[j] = LIMIT_NONFINITE
            if levels > 0:
                break
            elif attempt < 2:
                attempt += 1
            else:
                attempt = 0
                hj *= 0.25
                if hj < 64.0 * EPS * abs(xj):
                    break  # fun is inf or NaN at every step x_j resolves
        if levels == 0:
            fill_nan(Jt[j])
            fill_nan(Et[j])
            status = NONFINITE
            continue
        for i in range(m):
            Ct[j, i] = richardson_converged(best[i], err[i], rbest[i])
            if not Ct[j, i]:
                err[i] = max(err[i], spread[i])
                if kept_err[i] < err[i]:  # an earlier best, before noise took over
                    best[i] = kept[i]
                    err[i] = kept_err[i]
            # fun's own rounding (|x| times its condition number, eps apart)
            # is beyond what the steps see: no entry is claimed better than this
            err[i] = max(err[i], RICHARDSON_FLOOR * abs(best[i]))
    return Jt, Et, Ct, limit, status, nfev


@kernel_njit(inline=True)
def jacobian_richardson_t(fun, x, args, f0, h, lower, upper):
    """:func:`jacobian_richardson_full_t` returning (Jt, Et, status, nfev) only."""
    Jt, Et, Ct, limit, status, nfev = jacobian_richardson_full_t(fun, x, args, f0, h,
                                                                 lower, upper)
    return Jt, Et, status, nfev


# ------------------------------------------------- Jacobian-vector products
@kernel_njit(inline=True)
def jvp_forward(fun, x, args, v, h, f0):
    """J v ~ (f(x + h v) - f(x)) / h. Returns (Jv, status, nfev)."""
    fp = call_user(fun, x + h * v, args)
    if fp.size != f0.size:
        return np.empty(0), BAD_F_SIZE, 1
    out = np.empty(f0.size)
    store_quotient(out, fp, f0, h)
    return out, (OK if all_finite(out) else NONFINITE), 1


@kernel_njit(inline=True)
def jvp_central(fun, x, args, v, h):
    """J v ~ (f(x + h v) - f(x - h v)) / 2h. Returns (Jv, status, nfev)."""
    fp = call_user(fun, x + h * v, args)
    fm = call_user(fun, x - h * v, args)
    if fp.size != fm.size:
        return np.empty(0), BAD_F_SIZE, 2
    out = np.empty(fp.size)
    store_quotient(out, fp, fm, 2.0 * h)
    return out, (OK if all_finite(out) else NONFINITE), 2


@kernel_njit(inline=True)
def jvp_complex(fun, x, args, v, h):
    """J v = Im f(x + i h v) / h: one complex evaluation. Returns (Jv, status, nfev)."""
    xc = np.empty(x.size, dtype=np.complex128)
    for j in range(x.size):
        xc[j] = complex(x[j], h * v[j])
    fc = own(call_user(fun, xc, args), xc)
    out = np.empty(fc.size)
    if not is_complex_array(fc):
        return out, NOT_COMPLEX_SAFE, 1
    store_imag(out, fc, h)
    return out, (OK if all_finite(out) else NONFINITE), 1


# --------------------------------------------------------------------- Hessians
@kernel_njit(inline=True)
def _complex_gradient(fun, xc, x, args, hc, g):
    """Gradient of scalar fun at Re(xc) by complex steps, into g."""
    for j in range(x.size):
        re = xc[j].real
        xc[j] = complex(re, hc[j])
        fc = own(call_user(fun, xc, args), xc)
        xc[j] = complex(re, 0.0)
        if fc.size != 1:
            return BAD_F_SIZE
        if not is_complex_array(fc):
            return NOT_COMPLEX_SAFE
        g[j] = imag_quotient(fc[0], hc[j])
    return OK


@kernel_njit(inline=True)
def hessian_complex(fun, x, args, hc, hd):
    """Hessian of scalar fun: central differences of complex-step gradients at
    steps hd and hd/2, Richardson-extrapolated ((4 D(h/2) - D(h)) / 3, error
    O(h**4); the gradients are exact to rounding, so steps h ~ eps**(1/5)
    balance truncation against rounding).

    Returns (H, status, nfev); H is symmetrised.
    """
    n = x.size
    H = np.zeros((n, n))
    xc = x.astype(np.complex128)
    gp = np.empty(n)
    gm = np.empty(n)
    row = np.empty(n)
    for k in range(n):
        xk = x[k]
        for level in range(2):
            weight = -1.0 / 3.0 if level == 0 else 4.0 / 3.0
            h = hd[k] if level == 0 else 0.5 * hd[k]
            xp = xk + h
            xm = xk - h
            xc[k] = xp
            s1 = _complex_gradient(fun, xc, x, args, hc, gp)
            xc[k] = xm
            s2 = _complex_gradient(fun, xc, x, args, hc, gm)
            xc[k] = xk
            if s1 != OK:
                return H, s1, 2 * n * (2 * k + level + 1)
            if s2 != OK:
                return H, s2, 2 * n * (2 * k + level + 1)
            store_quotient(row, gp, gm, (xp - xk) + (xk - xm))
            for j in range(n):
                H[k, j] += weight * row[j]
    _symmetrise(H)
    return H, (OK if all_finite(H.ravel()) else NONFINITE), 4 * n * n


@cached_njit
def _symmetrise(H):
    n = H.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            s = 0.5 * (H[i, j] + H[j, i])
            H[i, j] = s
            H[j, i] = s


@kernel_njit(inline=True)
def _scalar_at(fun, xw, args):
    y = own(call_user(fun, xw, args), xw)
    if y.size != 1:
        return np.nan, False
    return y[0], True


@kernel_njit(inline=True)
def hessian_central(fun, x, args, h):
    """Hessian of scalar fun: the four-point central formula at steps h and h/2,
    Richardson-extrapolated (error O(h**4); steps h ~ eps**(1/6) balance it
    against rounding). Returns (H, status, nfev)."""
    n = x.size
    H = np.zeros((n, n))
    xw = x.copy()
    f0, ok = _scalar_at(fun, xw, args)
    nfev = 1
    if not ok:
        return H, BAD_F_SIZE, nfev
    good = True
    # weights of the levels h and h/2 in (4 H(h/2) - H(h)) / 3
    for level in range(2):
        frac = 1.0 if level == 0 else 0.5
        weight = -1.0 / 3.0 if level == 0 else 4.0 / 3.0
        for i in range(n):
            hi = frac * h[i]
            for j in range(i, n):
                hj = frac * h[j]
                s = 0.0
                for si in (1.0, -1.0):
                    for sj in (1.0, -1.0):
                        xw[i] += si * hi
                        xw[j] += sj * hj
                        fv, ok = _scalar_at(fun, xw, args)
                        good = good and ok
                        s += si * sj * fv
                        xw[i] = x[i]
                        xw[j] = x[j]
                nfev += 4
                H[i, j] += weight * (s / (4.0 * hi * hj))
    for i in range(n):
        for j in range(i + 1, n):
            H[j, i] = H[i, j]
    if not good:
        return H, BAD_F_SIZE, nfev
    return H, (OK if all_finite(H.ravel()) else NONFINITE), nfev


# ------------------------------------------------------------- sparse kernels
# A grouping (see jacsolve.derivatives.coloring) gives, per group g, its columns
# cols[cptr[g]:cptr[g+1]] and the CSR positions nz[gptr[g]:gptr[g+1]] that
# belong to those columns; row_of[p] and col_of[p] give each position's entry.

@cached_njit
def group_stencil(attempt, xj, hj, lower, upper):
    """Stencil of one column of a group: 0 central; 1 the preferred one-sided
    side; 2 the other side (when the first met inf/NaN)."""
    if attempt == 0:
        return stencil(0, xj, hj, lower, upper)
    ok, d1, d2 = stencil(1, xj, hj, lower, upper)
    if attempt == 1:
        if ok:
            return ok, d1, d2
        return stencil(2, xj, hj, lower, upper)
    if ok:
        return stencil(2, xj, hj, lower, upper)
    return False, 0.0, 0.0


@kernel_njit(inline=True)
def _group_values(fun, x, args, xw, cols, start, stop, d):
    """fun at x + d on the columns ``cols[start:stop]`` of one group.

    ``d`` becomes the steps actually taken, ``(x + d) - x``; ``xw`` (a copy
    of x) is restored before returning.
    """
    for c in range(start, stop):
        j = cols[c]
        xw[j] = x[j] + d[j]
        d[j] = xw[j] - x[j]
    f = own(call_user(fun, xw, args), xw)
    for c in range(start, stop):
        xw[cols[c]] = x[cols[c]]
    return f


@kernel_njit(inline=True)
def value_at(fun, x, args, f0):
    """f0 if given (size > 0), else fun(x) as a 1-D array; and the evaluations spent."""
    if f0.size > 0:
        return f0, 0
    return call_user(fun, x, args).copy(), 1


@kernel_njit(inline=True)
def sparse_forward(fun, x, args, f0, h, lower, upper, cols, cptr, nz, gptr, row_of, col_of, nnz):
    """Forward differences, one evaluation per group (``f0`` empty: evaluated
    here). Returns (data, status, nfev)."""
    f0, nfev0 = value_at(fun, x, args, f0)
    data = np.empty(nnz)
    xw = x.copy()
    dx = np.empty(x.size)
    status = OK
    nfev = nfev0
    m = f0.size
    for g in range(cptr.size - 1):
        finite = False
        fp = f0
        for attempt in range(2):
            for c in range(cptr[g], cptr[g + 1]):
                j = cols[c]
                xw[j] = x[j] + forward_step(attempt, x[j], h[j], lower[j], upper[j])
                dx[j] = xw[j] - x[j]
            fp = own(call_user(fun, xw, args), xw)
            nfev += 1
            if fp.size != m:
                return data, BAD_F_SIZE, nfev
            if all_finite(fp):
                finite = True
                break
        for c in range(cptr[g], cptr[g + 1]):
            xw[cols[c]] = x[cols[c]]
        for p in range(gptr[g], gptr[g + 1]):
            k = nz[p]
            data[k] = (fp[row_of[k]] - f0[row_of[k]]) / dx[col_of[k]] if finite else np.nan
        if not finite:
            status = NONFINITE
    return data, status, nfev


@kernel_njit(inline=True)
def sparse_central(fun, x, args, f0, h, lower, upper, cols, cptr, nz, gptr, row_of, col_of, nnz):
    """Central differences per group; one-sided second order (each column
    towards its side with room) for a group that touches a bound or meets
    inf/NaN. ``f0`` empty: evaluated here. Returns (data, status, nfev)."""
    f0, nfev0 = value_at(fun, x, args, f0)
    data = np.empty(nnz)
    xw = x.copy()
    d1 = np.empty(x.size)
    d2 = np.empty(x.size)
    status = OK
    nfev = nfev0
    for g in range(cptr.size - 1):
        used = -1  # the attempt (see group_stencil) whose values are finite; -1: none
        f1 = f0
        f2 = f0
        for attempt in range(3):
            usable = True
            for c in range(cptr[g], cptr[g + 1]):
                j = cols[c]
                ok, a, b = group_stencil(attempt, x[j], h[j], lower[j], upper[j])
                usable = usable and ok
                d1[j] = a
                d2[j] = b
            if not usable:
                continue
            f1 = _group_values(fun, x, args, xw, cols, cptr[g], cptr[g + 1], d1)
            f2 = _group_values(fun, x, args, xw, cols, cptr[g], cptr[g + 1], d2)
            nfev += 2
            if f1.size != f0.size or f2.size != f0.size:
                return data, BAD_F_SIZE, nfev
            if all_finite(f1) and all_finite(f2):
                used = attempt
                break
        for p in range(gptr[g], gptr[g + 1]):
            k = nz[p]
            i = row_of[k]
            a = d1[col_of[k]]
            b = d2[col_of[k]]
            if used < 0:
                data[k] = np.nan
            elif used == 0:
                data[k] = (f1[i] - f2[i]) / (a - b)
            else:
                c0, c1, c2 = three_point_weights(a, b)
                data[k] = c0 * f0[i] + c1 * f1[i] + c2 * f2[i]
        if used < 0:
            status = NONFINITE
    return data, status, nfev


@kernel_njit(inline=True)
def sparse_complex(fun, x, args, h, m, cols, cptr, nz, gptr, row_of, col_of, nnz):
    """Complex step, one complex evaluation per group; ``m`` is the output
    length the pattern expects. Returns (data, status, nfev)."""
    data = np.empty(nnz)
    xc = x.astype(np.complex128)
    ngroups = cptr.size - 1
    for g in range(ngroups):
        for c in range(cptr[g], cptr[g + 1]):
            j = cols[c]
            xc[j] = complex(x[j], h[j])
        fc = own(call_user(fun, xc, args), xc)
        for c in range(cptr[g], cptr[g + 1]):
            j = cols[c]
            xc[j] = complex(x[j], 0.0)
        if fc.size != m:
            return data, BAD_F_SIZE, g + 1
        if not is_complex_array(fc):
            return data, NOT_COMPLEX_SAFE, g + 1
        for p in range(gptr[g], gptr[g + 1]):
            k = nz[p]
            data[k] = imag_quotient(fc[row_of[k]], h[col_of[k]])
    return data, OK, ngroups
