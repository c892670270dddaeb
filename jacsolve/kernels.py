"""Compiled Jacobian kernels, callable from Python and from your own ``@njit`` code.

Every kernel takes the user function first, ``fun(x, *args)`` returning a 1-D
array or a scalar, then arrays only. Kernels never raise for numerical
trouble: they return a status code (see ``OK`` and the codes below) together
with the number of function evaluations. They return the *transposed*
Jacobian ``Jt`` of shape (n, m), filled one contiguous row per variable, so
``J = Jt.T`` (an F-ordered (m, n) view, no copy).

Calling a kernel from your own compiled code::

    from numba import njit
    from jacsolve import kernels

    @njit
    def newton_step(x):
        h = kernels.complex_steps(x, 1.0)
        Jt, status, nfev = kernels.jacobian_complex_t(my_fun, x, (), h)
        ...

Step sizes come from the helpers :func:`relative_steps` and
:func:`complex_steps`; bounds are arrays (``-inf``/``inf`` when unbounded).
"""
from __future__ import annotations

import numpy as np
from numba import types
from numba.core.errors import TypingError
from numba.extending import overload

from ._jit import cached_njit, kernel_njit

__all__ = [
    "OK", "BAD_OUTPUT_SIZE", "NONFINITE", "NOT_COMPLEX_SAFE",
    "relative_steps", "complex_steps",
    "jacobian_forward_t", "jacobian_central_t", "jacobian_complex_t",
    "jacobian_richardson_t", "jvp_forward", "jvp_central", "jvp_complex",
    "hessian_complex", "hessian_central",
    "sparse_forward", "sparse_central", "sparse_complex",
    "as_1d",
]

OK = 0
BAD_OUTPUT_SIZE = 1   # fun's output length changed between evaluations
NONFINITE = 2         # fun gave inf/NaN on both sides of x; entries are NaN
NOT_COMPLEX_SAFE = 3  # fun returned real values for complex input

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
def store_three_point(row, f0, f1, f2, d1, d2):
    """One-sided second-order formula through x, x+d1, x+d2 (d1, d2 signed)."""
    c0 = -(d1 + d2) / (d1 * d2)
    c1 = d2 / (d1 * (d2 - d1))
    c2 = -d1 / (d2 * (d2 - d1))
    for i in range(row.size):
        row[i] = c0 * f0[i] + c1 * f1[i] + c2 * f2[i]


@cached_njit
def store_imag(row, fc, h):
    for i in range(row.size):
        row[i] = fc[i].imag / h


@cached_njit
def fill_nan(row):
    row[:] = np.nan


@cached_njit
def side_with_room(xj, hj, lower, upper, need):
    """Direction (+1/-1) and step for a one-sided formula reaching x +- need*h.

    Prefers forward; shrinks the step when neither side has room.
    """
    room_up = upper - xj
    room_down = xj - lower
    if need * hj <= room_up:
        return 1.0, hj
    if need * hj <= room_down:
        return -1.0, hj
    if room_up >= room_down:
        return 1.0, room_up / need
    return -1.0, room_down / need


@cached_njit
def ridders_tableau(D, levels, orders, ratio, value, error):
    """Richardson extrapolation of the quotients ``D[k]`` taken at steps h0/ratio**k.

    ``orders[l]`` is the power of h removed at stage l. For every output the
    tableau entry with the smallest error estimate wins (Ridders' method).
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
        # rounding in the result itself is a floor on any honest estimate
        error[i] = err + 8.0 * EPS * abs(best)


# --------------------------------------------------------------- dense kernels
@kernel_njit
def jacobian_forward_t(fun, x, args, f0, h, lower, upper):
    """Forward differences. ``f0 = fun(x)``; steps ``h``; returns (Jt, status, nfev)."""
    n = x.size
    m = f0.size
    Jt = np.empty((n, m))
    xw = x.copy()
    status = OK
    nfev = 0
    for j in range(n):
        xj = x[j]
        sign, hj = side_with_room(xj, h[j], lower[j], upper[j], 1.0)
        finite = False
        for attempt in range(2):
            xw[j] = xj + sign * hj
            if xw[j] < lower[j] or xw[j] > upper[j]:
                break
            fp = as_1d(fun(xw, *args))
            nfev += 1
            if fp.size != m:
                return Jt, BAD_OUTPUT_SIZE, nfev
            if all_finite(fp):
                store_quotient(Jt[j], fp, f0, xw[j] - xj)
                finite = True
                break
            sign = -sign  # inf/NaN on this side: try the other one
        xw[j] = xj
        if not finite:
            fill_nan(Jt[j])
            status = NONFINITE
    return Jt, status, nfev


@kernel_njit
def _one_sided_column(fun, x, args, xw, j, f0, hj, lower, upper, row):
    """Second-order one-sided column into ``row``; returns (ok, size, nfev).

    size is -1 when fun's output length changed."""
    xj = x[j]
    sign, hj = side_with_room(xj, hj, lower[j], upper[j], 2.0)
    nfev = 0
    for attempt in range(2):
        x2 = xj + 2.0 * sign * hj
        if x2 < lower[j] or x2 > upper[j]:
            break
        xw[j] = xj + sign * hj
        x1 = xw[j]
        f1 = as_1d(fun(xw, *args))
        xw[j] = x2
        f2 = as_1d(fun(xw, *args))
        xw[j] = xj
        nfev += 2
        if f1.size != row.size or f2.size != row.size:
            return False, -1, nfev
        if all_finite(f1) and all_finite(f2):
            store_three_point(row, f0, f1, f2, x1 - xj, x2 - xj)
            return True, row.size, nfev
        sign = -sign  # inf/NaN on this side: try the other one
    return False, row.size, nfev


@kernel_njit
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
        hj = h[j]
        central = xj - hj >= lower[j] and xj + hj <= upper[j]
        if central:
            xw[j] = xj + hj
            xp = xw[j]
            fp = as_1d(fun(xw, *args))
            xw[j] = xj - hj
            xm = xw[j]
            fm = as_1d(fun(xw, *args))
            xw[j] = xj
            nfev += 2
            if m < 0:
                m = fp.size
                Jt = np.empty((n, m))
            if fp.size != m or fm.size != m:
                return Jt, BAD_OUTPUT_SIZE, nfev
            if all_finite(fp) and all_finite(fm):
                store_quotient(Jt[j], fp, fm, (xp - xj) + (xj - xm))
                continue
        if f0.size == 0:
            f0 = as_1d(fun(x, *args)).copy()
            nfev += 1
        if m < 0:
            m = f0.size
            Jt = np.empty((n, m))
        if f0.size != m:
            return Jt, BAD_OUTPUT_SIZE, nfev
        ok, size, k = _one_sided_column(fun, x, args, xw, j, f0, hj, lower, upper, Jt[j])
        nfev += k
        if size < 0:
            return Jt, BAD_OUTPUT_SIZE, nfev
        if not ok:
            fill_nan(Jt[j])
            status = NONFINITE
    return Jt, status, nfev


@kernel_njit
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
        fc = as_1d(fun(xc, *args))
        xc[j] = complex(x[j], 0.0)
        if m < 0:
            m = fc.size
            Jt = np.empty((n, m))
        if fc.size != m:
            return Jt, BAD_OUTPUT_SIZE, j + 1
        if not is_complex_array(fc):
            return Jt, NOT_COMPLEX_SAFE, j + 1
        store_imag(Jt[j], fc, h[j])
    return Jt, OK, n


@kernel_njit
def _ridders_quotient(fun, x, args, xw, j, f0, hj, sign, central, Drow):
    """One difference quotient at step hj; returns (finite, size, nfev)."""
    xj = x[j]
    if central:
        xw[j] = xj + hj
        xp = xw[j]
        fp = as_1d(fun(xw, *args))
        xw[j] = xj - hj
        xm = xw[j]
        fm = as_1d(fun(xw, *args))
        xw[j] = xj
        if fp.size != Drow.size or fm.size != Drow.size:
            return False, -1, 2
        if not (all_finite(fp) and all_finite(fm)):
            return False, Drow.size, 2
        store_quotient(Drow, fp, fm, (xp - xj) + (xj - xm))
        return True, Drow.size, 2
    xw[j] = xj + sign * hj
    x1 = xw[j]
    f1 = as_1d(fun(xw, *args))
    xw[j] = xj + 2.0 * sign * hj
    x2 = xw[j]
    f2 = as_1d(fun(xw, *args))
    xw[j] = xj
    if f1.size != Drow.size or f2.size != Drow.size:
        return False, -1, 2
    if not (all_finite(f1) and all_finite(f2)):
        return False, Drow.size, 2
    store_three_point(Drow, f0, f1, f2, x1 - xj, x2 - xj)
    return True, Drow.size, 2


@kernel_njit
def jacobian_richardson_t(fun, x, args, f0, h, lower, upper):
    """Ridders-Richardson extrapolation of central differences.

    ``h`` are the initial (large) steps; each column uses up to 8 steps
    shrinking by 1.6. Near a bound the one-sided second-order formula is
    extrapolated instead. Returns (Jt, Et, status, nfev) with ``Et`` the
    per-entry error estimate.
    """
    n = x.size
    m = f0.size
    Jt = np.empty((n, m))
    Et = np.empty((n, m))
    D = np.empty((RIDDERS_LEVELS, m))
    central_orders = np.arange(1, RIDDERS_LEVELS + 1) * 2.0
    onesided_orders = np.arange(2, RIDDERS_LEVELS + 2) * 1.0
    xw = x.copy()
    status = OK
    nfev = 0
    for j in range(n):
        xj = x[j]
        hj = h[j]
        sign = 1.0
        central = xj - hj >= lower[j] and xj + hj <= upper[j]
        if not central:
            sign, hj = side_with_room(xj, hj, lower[j], upper[j], 2.0)
        # the first step may overflow fun (exp at large x): shrink until finite
        levels = 0
        for attempt in range(30):
            ok, size, k = _ridders_quotient(fun, x, args, xw, j, f0, hj, sign, central, D[0])
            nfev += k
            if size < 0:
                return Jt, Et, BAD_OUTPUT_SIZE, nfev
            if ok:
                levels = 1
                break
            hj *= 0.25
        if levels == 0:
            fill_nan(Jt[j])
            fill_nan(Et[j])
            status = NONFINITE
            continue
        for lev in range(1, RIDDERS_LEVELS):
            hj /= RIDDERS_RATIO
            ok, size, k = _ridders_quotient(fun, x, args, xw, j, f0, hj, sign, central, D[lev])
            nfev += k
            if size < 0:
                return Jt, Et, BAD_OUTPUT_SIZE, nfev
            if not ok:
                break
            levels += 1
        orders = central_orders if central else onesided_orders
        ridders_tableau(D, levels, orders, RIDDERS_RATIO, Jt[j], Et[j])
    return Jt, Et, status, nfev


# ------------------------------------------------- Jacobian-vector products
@kernel_njit
def jvp_forward(fun, x, args, v, h, f0):
    """J v ~ (f(x + h v) - f(x)) / h. Returns (Jv, status, nfev)."""
    fp = as_1d(fun(x + h * v, *args))
    if fp.size != f0.size:
        return np.empty(0), BAD_OUTPUT_SIZE, 1
    out = np.empty(f0.size)
    store_quotient(out, fp, f0, h)
    return out, (OK if all_finite(out) else NONFINITE), 1


@kernel_njit
def jvp_central(fun, x, args, v, h):
    """J v ~ (f(x + h v) - f(x - h v)) / 2h. Returns (Jv, status, nfev)."""
    fp = as_1d(fun(x + h * v, *args))
    fm = as_1d(fun(x - h * v, *args))
    if fp.size != fm.size:
        return np.empty(0), BAD_OUTPUT_SIZE, 2
    out = np.empty(fp.size)
    store_quotient(out, fp, fm, 2.0 * h)
    return out, (OK if all_finite(out) else NONFINITE), 2


@kernel_njit
def jvp_complex(fun, x, args, v, h):
    """J v = Im f(x + i h v) / h: one complex evaluation. Returns (Jv, status, nfev)."""
    xc = np.empty(x.size, dtype=np.complex128)
    for j in range(x.size):
        xc[j] = complex(x[j], h * v[j])
    fc = as_1d(fun(xc, *args))
    out = np.empty(fc.size)
    if not is_complex_array(fc):
        return out, NOT_COMPLEX_SAFE, 1
    store_imag(out, fc, h)
    return out, (OK if all_finite(out) else NONFINITE), 1


# --------------------------------------------------------------------- Hessians
@kernel_njit
def _complex_gradient(fun, xc, x, args, hc, g):
    """Gradient of scalar fun at Re(xc) by complex steps, into g."""
    for j in range(x.size):
        re = xc[j].real
        xc[j] = complex(re, hc[j])
        fc = as_1d(fun(xc, *args))
        xc[j] = complex(re, 0.0)
        if fc.size != 1:
            return BAD_OUTPUT_SIZE
        if not is_complex_array(fc):
            return NOT_COMPLEX_SAFE
        g[j] = fc[0].imag / hc[j]
    return OK


@kernel_njit
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


@kernel_njit
def _scalar_at(fun, xw, args):
    y = as_1d(fun(xw, *args))
    if y.size != 1:
        return np.nan, False
    return y[0], True


@kernel_njit
def hessian_central(fun, x, args, h):
    """Hessian of scalar fun by the four-point central formula (steps h ~ eps**0.25)."""
    n = x.size
    H = np.empty((n, n))
    xw = x.copy()
    f0, ok = _scalar_at(fun, xw, args)
    nfev = 1
    if not ok:
        return H, BAD_OUTPUT_SIZE, nfev
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
        return H, BAD_OUTPUT_SIZE, nfev
    return H, (OK if all_finite(H.ravel()) else NONFINITE), nfev


# ------------------------------------------------------------- sparse kernels
# A grouping (see jacsolve.coloring) gives, per group g, its columns
# cols[cptr[g]:cptr[g+1]] and the CSR positions nz[gptr[g]:gptr[g+1]] that
# belong to those columns; row_of[p] and col_of[p] give each position's entry.

@kernel_njit
def sparse_forward(fun, x, args, f0, h, lower, upper, cols, cptr, nz, gptr, row_of, col_of, nnz):
    """Forward differences, one evaluation per group. Returns (data, status, nfev)."""
    data = np.empty(nnz)
    xw = x.copy()
    dx = np.empty(x.size)
    status = OK
    nfev = 0
    m = f0.size
    fp = f0
    for g in range(cptr.size - 1):
        sign = 1.0
        finite = False
        for attempt in range(2):
            inside = True
            for c in range(cptr[g], cptr[g + 1]):
                j = cols[c]
                s, hj = side_with_room(x[j], h[j], lower[j], upper[j], 1.0)
                xw[j] = x[j] + sign * s * hj
                inside = inside and lower[j] <= xw[j] <= upper[j]
                dx[j] = xw[j] - x[j]
            if not inside:
                break
            fp = as_1d(fun(xw, *args))
            nfev += 1
            if fp.size != m:
                return data, BAD_OUTPUT_SIZE, nfev
            if all_finite(fp):
                finite = True
                break
            sign = -sign
        for c in range(cptr[g], cptr[g + 1]):
            xw[cols[c]] = x[cols[c]]
        for p in range(gptr[g], gptr[g + 1]):
            k = nz[p]
            data[k] = (fp[row_of[k]] - f0[row_of[k]]) / dx[col_of[k]] if finite else np.nan
        if not finite:
            status = NONFINITE
    return data, status, nfev


@kernel_njit
def sparse_central(fun, x, args, f0, h, lower, upper, cols, cptr, nz, gptr, row_of, col_of, nnz):
    """Central differences per group; one-sided second order for a group that
    touches a bound or meets inf/NaN (``f0`` is then needed). Returns (data, status, nfev)."""
    data = np.empty(nnz)
    xw = x.copy()
    d1 = np.empty(x.size)
    d2 = np.empty(x.size)
    status = OK
    nfev = 0
    m = f0.size
    for g in range(cptr.size - 1):
        central = True
        for c in range(cptr[g], cptr[g + 1]):
            j = cols[c]
            central = central and x[j] - h[j] >= lower[j] and x[j] + h[j] <= upper[j]
        if central:
            for c in range(cptr[g], cptr[g + 1]):
                j = cols[c]
                xw[j] = x[j] + h[j]
                d1[j] = xw[j] - x[j]
            fp = as_1d(fun(xw, *args))
            for c in range(cptr[g], cptr[g + 1]):
                j = cols[c]
                xw[j] = x[j] - h[j]
                d2[j] = x[j] - xw[j]
            fm = as_1d(fun(xw, *args))
            nfev += 2
            for c in range(cptr[g], cptr[g + 1]):
                xw[cols[c]] = x[cols[c]]
            if fp.size != m or fm.size != m:
                return data, BAD_OUTPUT_SIZE, nfev
            if all_finite(fp) and all_finite(fm):
                for p in range(gptr[g], gptr[g + 1]):
                    k = nz[p]
                    i = row_of[k]
                    j = col_of[k]
                    data[k] = (fp[i] - fm[i]) / (d1[j] + d2[j])
                continue
        # one-sided, each column towards its side with room; flip once on inf/NaN
        finite = False
        f1 = f0
        f2 = f0
        for attempt in range(2):
            for c in range(cptr[g], cptr[g + 1]):
                j = cols[c]
                s, hj = side_with_room(x[j], h[j], lower[j], upper[j], 2.0)
                if attempt == 1:
                    s = -s
                xw[j] = x[j] + s * hj
                d1[j] = xw[j] - x[j]
            f1 = as_1d(fun(xw, *args))
            for c in range(cptr[g], cptr[g + 1]):
                j = cols[c]
                xw[j] = x[j] + 2.0 * d1[j]
                d2[j] = xw[j] - x[j]
            f2 = as_1d(fun(xw, *args))
            nfev += 2
            for c in range(cptr[g], cptr[g + 1]):
                xw[cols[c]] = x[cols[c]]
            if f1.size != m or f2.size != m:
                return data, BAD_OUTPUT_SIZE, nfev
            if all_finite(f1) and all_finite(f2):
                finite = True
                break
        for p in range(gptr[g], gptr[g + 1]):
            k = nz[p]
            i = row_of[k]
            j = col_of[k]
            a, b = d1[j], d2[j]
            if finite:
                data[k] = (-(a + b) / (a * b) * f0[i] + b / (a * (b - a)) * f1[i]
                           - a / (b * (b - a)) * f2[i])
            else:
                data[k] = np.nan
        if not finite:
            status = NONFINITE
    return data, status, nfev


@kernel_njit
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
        fc = as_1d(fun(xc, *args))
        for c in range(cptr[g], cptr[g + 1]):
            j = cols[c]
            xc[j] = complex(x[j], 0.0)
        if fc.size != m:
            return data, BAD_OUTPUT_SIZE, g + 1
        if not is_complex_array(fc):
            return data, NOT_COMPLEX_SAFE, g + 1
        for p in range(gptr[g], gptr[g + 1]):
            k = nz[p]
            data[k] = fc[row_of[k]].imag / h[col_of[k]]
    return data, OK, ngroups
