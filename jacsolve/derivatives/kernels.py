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
    "jacobian_richardson_t", "jacobian_complex_into", "jvp_forward", "jvp_central", "jvp_complex",
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
RIDDERS_LEVELS = 8
RIDDERS_RATIO = 1.6


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
@cached_njit
def relative_steps(x, rel, scale):
    """Steps ``rel * max(|x_j|, scale_j)`` (``scale`` is a typical magnitude)."""
    h = np.empty(x.size)
    for j in range(x.size):
        h[j] = rel * max(abs(x[j]), scale[j])
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


@cached_njit
def store_imag(row, fc, h):
    for i in range(row.size):
        row[i] = fc[i].imag / h


@cached_njit
def track_max_abs(fmag, a, b):
    for i in range(fmag.size):
        fmag[i] = max(fmag[i], abs(a[i]), abs(b[i]))


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
def ridders_tableau(D, levels, orders, ratio, fmag, hmin, value, error):
    """Richardson extrapolation of the quotients ``D[k]`` taken at steps h0/ratio**k.

    ``orders[l]`` is the power of h removed at stage l. For every output the
    tableau entry with the smallest error estimate wins (Ridders' method).
    The estimate adds the rounding error of a quotient at the smallest step
    ``hmin`` (about eps*|f|/h, |f| <= ``fmag``), which the tableau
    differences cannot see.
    """
    m = D.shape[1]
    T = np.empty((levels, levels))
    for i in range(m):
        for k in range(levels):
            T[0, k] = D[k, i]
        best = T[0, 0]
        err = np.inf
        for k in range(1, levels):
            for l in range(1, k + 1):
                fac = ratio ** orders[l - 1]
                T[l, k] = (T[l - 1, k] * fac - T[l - 1, k - 1]) / (fac - 1.0)
                e = max(abs(T[l, k] - T[l - 1, k]), abs(T[l, k] - T[l - 1, k - 1]))
                if e <= err:
                    err = e
                    best = T[l, k]
            # Ridders: stop once higher levels get worse than the best by 2x
            if abs(T[k, k] - T[k - 1, k - 1]) >= 2.0 * err:
                break
        value[i] = best
        error[i] = err + 8.0 * EPS * abs(best) + 2.0 * EPS * fmag[i] / hmin


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
    ``fun`` that returns real values for complex input gives NOT_COMPLEX_SAFE.
    """
    n = x.size
    xc = x.astype(np.complex128)
    m = -1
    Jt = np.empty((n, 0))
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
    return Jt, OK, n


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
def jacobian_richardson_t(fun, x, args, f0, h, lower, upper):
    """Ridders-Richardson extrapolation of central differences.

    ``h`` are the initial (large) steps; each column uses up to 8 steps
    shrinking by 1.6 (the first shrinks further while fun overflows). Near a
    bound, or next to inf/NaN, the one-sided second-order formula is
    extrapolated instead. Returns (Jt, Et, status, nfev) with ``Et`` the
    per-entry error estimate.
    """
    n = x.size
    m = f0.size
    Jt = np.empty((n, m))
    Et = np.empty((n, m))
    D = np.empty((RIDDERS_LEVELS, m))
    fmag = np.empty(m)
    central_orders = np.arange(1, RIDDERS_LEVELS + 1) * 2.0
    onesided_orders = np.arange(2, RIDDERS_LEVELS + 2) * 1.0
    xw = x.copy()
    status = OK
    nfev = 0
    for j in range(n):
        xj = x[j]
        hj = h[j]
        attempt = 0
        levels = 0
        for i in range(m):
            fmag[i] = abs(f0[i])
        # level 0 searches for a stencil and a step where fun is finite; the
        # later levels shrink the step by the fixed ratio
        for trial in range(30 + RIDDERS_LEVELS):
            ok, d1, d2 = stencil(attempt, xj, hj, lower[j], upper[j])
            if not ok:
                if levels > 0 or attempt == 2:
                    break
                attempt += 1
                continue
            x1, f1, x2, f2 = _stencil_values(fun, x, args, xw, j, d1, d2)
            nfev += 2
            if f1.size != m or f2.size != m:
                return Jt, Et, BAD_F_SIZE, nfev
            if all_finite(f1) and all_finite(f2):
                store_stencil(D[levels], f0, f1, f2, x1 - xj, x2 - xj, attempt == 0)
                track_max_abs(fmag, f1, f2)
                levels += 1
                if levels == RIDDERS_LEVELS:
                    break
                hj /= RIDDERS_RATIO
            elif levels > 0:
                break
            elif attempt < 2:
                attempt += 1
            else:
                attempt = 0
                hj *= 0.25
        if levels == 0:
            fill_nan(Jt[j])
            fill_nan(Et[j])
            status = NONFINITE
            continue
        hmin = hj if levels == RIDDERS_LEVELS else hj * RIDDERS_RATIO
        orders = central_orders if attempt == 0 else onesided_orders
        ridders_tableau(D, levels, orders, RIDDERS_RATIO, fmag, hmin, Jt[j], Et[j])
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
        g[j] = fc[0].imag / hc[j]
    return OK


@kernel_njit(inline=True)
def hessian_complex(fun, x, args, hc, hd):
    """Hessian of scalar fun: central differences (steps hd) of complex-step gradients.

    Returns (H, status, nfev); H is symmetrised.
    """
    n = x.size
    H = np.empty((n, n))
    xc = x.astype(np.complex128)
    gp = np.empty(n)
    gm = np.empty(n)
    for k in range(n):
        xk = x[k]
        xp = xk + hd[k]
        xm = xk - hd[k]
        xc[k] = xp
        s1 = _complex_gradient(fun, xc, x, args, hc, gp)
        xc[k] = xm
        s2 = _complex_gradient(fun, xc, x, args, hc, gm)
        xc[k] = xk
        if s1 != OK:
            return H, s1, 2 * n * (k + 1)
        if s2 != OK:
            return H, s2, 2 * n * (k + 1)
        store_quotient(H[k], gp, gm, (xp - xk) + (xk - xm))
    _symmetrise(H)
    return H, (OK if all_finite(H.ravel()) else NONFINITE), 2 * n * n


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
    """Hessian of scalar fun by the four-point central formula (steps h ~ eps**0.25)."""
    n = x.size
    H = np.empty((n, n))
    xw = x.copy()
    f0, ok = _scalar_at(fun, xw, args)
    nfev = 1
    if not ok:
        return H, BAD_F_SIZE, nfev
    good = True
    for i in range(n):
        for j in range(i, n):
            s = 0.0
            for si in (1.0, -1.0):
                for sj in (1.0, -1.0):
                    xw[i] += si * h[i]
                    xw[j] += sj * h[j]
                    fv, ok = _scalar_at(fun, xw, args)
                    good = good and ok
                    s += si * sj * fv
                    xw[i] = x[i]
                    xw[j] = x[j]
            nfev += 4
            H[i, j] = s / (4.0 * h[i] * h[j])
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
            data[k] = fc[row_of[k]].imag / h[col_of[k]]
    return data, OK, ngroups
