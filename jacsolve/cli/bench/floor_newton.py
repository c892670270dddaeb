"""The floor for ``solve`` benchmarks: a plain hand-written numba Newton.

Damped Newton with a complex-step Jacobian, Gaussian elimination with partial
pivoting and backtracking on |F|^2, one allocation per evaluation, the user
function passed as a dispatcher argument (so numba specialises the loop on
it: the fastest a hand-written loop gets). It has none of jacsolve's
safeguards (no trust region, no Levenberg-Marquardt fallback, no stall or
divergence tests): it is what a user could write in an afternoon, and what
jacsolve's steady state is measured against.
"""
from __future__ import annotations

import numba
import numpy as np

__all__ = ["newton_floor", "newton_floor_batch"]


@numba.njit(cache=True, error_model="numpy")
def _gauss_solve(A, b):
    """x with A x = b (A, b overwritten); NaN where A is singular."""
    n = b.size
    for k in range(n):
        p = k
        for i in range(k + 1, n):
            if abs(A[i, k]) > abs(A[p, k]):
                p = i
        if A[p, k] == 0.0:
            return np.full(n, np.nan)
        if p != k:
            for j in range(n):
                A[k, j], A[p, j] = A[p, j], A[k, j]
            b[k], b[p] = b[p], b[k]
        for i in range(k + 1, n):
            r = A[i, k] / A[k, k]
            for j in range(k, n):
                A[i, j] -= r * A[k, j]
            b[i] -= r * b[k]
    x = np.empty(n)
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= A[i, j] * x[j]
        x[i] = s / A[i, i]
    return x


@numba.njit(error_model="numpy")
def newton_floor(F, x0, args, tol, maxiter):
    """Solve F(x, *args) = 0 from x0: (x, nfev, converged)."""
    n = x0.size
    x = x0.copy()
    f = F(x, *args)
    nfev = 1
    z = np.empty(n, dtype=np.complex128)
    for _ in range(maxiter):
        if np.max(np.abs(f)) <= tol:
            return x, nfev, True
        J = np.empty((n, n))
        for j in range(n):
            z[j] = x[j]
        for j in range(n):
            h = 1e-20 * max(abs(x[j]), 1.0)
            z[j] = complex(x[j], h)
            fc = F(z, *args)
            nfev += 1
            for i in range(n):
                J[i, j] = fc[i].imag / h
            z[j] = x[j]
        step = _gauss_solve(J, -f)
        if not np.all(np.isfinite(step)):
            return x, nfev, False
        phi = np.sum(f * f)
        t = 1.0
        for _ in range(40):
            xn = x + t * step
            fn = F(xn, *args)
            nfev += 1
            if np.sum(fn * fn) < phi:
                break
            t *= 0.5
        x = xn
        f = fn
    return x, nfev, np.max(np.abs(f)) <= tol


@numba.njit(parallel=True, error_model="numpy")
def newton_floor_batch(F, X0, P, tol, maxiter):
    """The same Newton for F(x, P[k]) = 0 from X0[k], over the rows in parallel: (X, converged)."""
    N = P.shape[0]
    X = np.empty((N, X0.shape[1]))
    ok = np.empty(N, dtype=np.bool_)
    for k in numba.prange(N):
        x, nfev, converged = newton_floor(F, X0[k], (P[k],), tol, maxiter)
        X[k] = x
        ok[k] = converged
    return X, ok
