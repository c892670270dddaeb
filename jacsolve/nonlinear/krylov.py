"""Jacobian-free Newton-GMRES for large systems, J v by complex step.

Each Newton step solves J p = -F inexactly with restarted GMRES (relative
residual eta from Eisenstat and Walker's second choice), where every J v is
one complex evaluation Im F(x + i h v) / h: exact to rounding, so GMRES sees
the true Jacobian (for a function that is not complex-safe, ``jac="auto"``
takes central differences along v instead: :func:`jvp_central_into`). The
step is then damped by the Armijo line search of
:mod:`jacsolve.nonlinear.dense`. Like the dense solvers, the loop is compiled once
and reaches the user function through first-class function values (see
:mod:`jacsolve._numba.pointers`): :func:`solve_krylov` takes the arguments of
``solve_dense``, with the J v kernel (:func:`jvp_signature`) in place of the
Jacobian kernel, and :func:`solve_krylov_addressed` is its cached entry for
every compiled user function (as
:func:`jacsolve.nonlinear.dense.solve_dense_addressed`).
"""
from __future__ import annotations

import numpy as np
from numba import types

from .._numba.options import cached_njit, kernel_njit
from .._numba.addresses import function_loader
from .._numba.pointers import ADDRESSED_ARGS, F1, I1
from ..derivatives.kernels import COMPLEX_STEP, all_finite, jvp_central, jvp_complex
from ..status import (BAD_F_SIZE, EVAL_FAILED, EVAL_OK, EVAL_SIZE, MAXITER, NONFINITE,
                      NOT_COMPLEX_SAFE, OK, STALLED, SUCCESS)
from .dense import (EXTRA, KRYLOV, NFAIL, NFEV, NIT, NSLOW, algorithm, call_solver, copy_into,
                    dot, line_search, load_callback, load_ev, maxabs, norm2, record,
                    solver_signature, take_step)

CBRT_EPS = np.finfo(np.float64).eps ** (1.0 / 3.0)
RESTART = 40          # GMRES restart length
MAX_INNER = 1000      # J v products per Newton step at most
ETA_MAX = 0.9


def jvp_signature(argty):
    """``jvp(x, args, v, out, stats) -> int64``: out = J(x) v; a status code."""
    return types.int64(F1, argty, F1, F1, I1)


@cached_njit
def store_product(Jv, status, nfev, out, stats):
    """Copy a J v kernel's product into out; the solve status of it."""
    stats[NFEV] += nfev
    if Jv.size != out.size:
        return BAD_F_SIZE
    if status == NOT_COMPLEX_SAFE:
        return NOT_COMPLEX_SAFE
    for i in range(out.size):
        out[i] = Jv[i]
    return OK if all_finite(out) else NONFINITE


@kernel_njit(inline=True)
def jvp_complex_into(fun, x, args, v, out, stats):
    """out = J(x) v by one complex evaluation; a solve status."""
    h = COMPLEX_STEP * max(1.0, maxabs(x))
    try:
        Jv, status, nfev = jvp_complex(fun, x, args, v, h)
    except Exception:
        stats[NFAIL] += 1
        stats[NFEV] += 1
        return NONFINITE
    return store_product(Jv, status, nfev, out, stats)


@kernel_njit(inline=True)
def jvp_central_into(fun, x, args, v, out, stats):
    """out = J(x) v by central differences along v (step eps^(1/3) max(1, |x|) / |v|):
    the J v of ``jac="auto"`` for a function that is not complex-safe; a solve status."""
    vmax = maxabs(v)
    h = CBRT_EPS * max(1.0, maxabs(x)) / (vmax if vmax > 0.0 else 1.0)
    try:
        Jv, status, nfev = jvp_central(fun, x, args, v, h)
    except Exception:
        stats[NFAIL] += 1
        stats[NFEV] += 2
        return NONFINITE
    return store_product(Jv, status, nfev, out, stats)


# J v kernels by the name of the Jacobian method that gives them (see jvp_name)
JVP_KERNELS = {"jvp": jvp_complex_into, "jvp-central": jvp_central_into}


def jvp_name(jac_method: str) -> str:
    """The key of :data:`JVP_KERNELS` for a Jacobian method (complex step, else central)."""
    return "jvp" if jac_method == "complex" else "jvp-central"


@cached_njit
def givens(H, cs, sn, s, k):
    """Apply the previous rotations to column k of H, then zero H[k+1, k]."""
    for j in range(k):
        t = cs[j] * H[j, k] + sn[j] * H[j + 1, k]
        H[j + 1, k] = -sn[j] * H[j, k] + cs[j] * H[j + 1, k]
        H[j, k] = t
    r = np.hypot(H[k, k], H[k + 1, k])
    if r == 0.0:
        cs[k] = 1.0
        sn[k] = 0.0
    else:
        cs[k] = H[k, k] / r
        sn[k] = H[k + 1, k] / r
    H[k, k] = r
    H[k + 1, k] = 0.0
    s[k + 1] = -sn[k] * s[k]
    s[k] = cs[k] * s[k]


@cached_njit
def add_krylov_update(H, s, V, k, p):
    """p += V[:k]^T y with H[:k, :k] y = s[:k] (back substitution)."""
    y = np.empty(k)
    for i in range(k - 1, -1, -1):
        t = s[i]
        for j in range(i + 1, k):
            t -= H[i, j] * y[j]
        y[i] = t / H[i, i] if H[i, i] != 0.0 else 0.0
    for j in range(k):
        for i in range(p.size):
            p[i] += y[j] * V[j, i]


@algorithm
def gmres(jvp, x, args, b, rtol, p, stats, V, H, w):
    """Solve J(x) p = b to |b - J p| <= rtol |b| (p starts at 0).

    Returns (status, relative residual): OK, or the fault of a product.
    """
    n = b.size
    m = V.shape[0] - 1
    cs = np.zeros(m)
    sn = np.zeros(m)
    s = np.zeros(m + 1)
    r = b.copy()
    p[:] = 0.0
    bnorm = norm2(b)
    beta = bnorm
    products = 0
    while beta > rtol * bnorm and products < MAX_INNER:
        for i in range(n):
            V[0, i] = r[i] / beta
        s[:] = 0.0
        s[0] = beta
        k = 0
        while k < m and products < MAX_INNER:
            status = jvp(x, args, V[k], w, stats)
            products += 1
            if status != OK:
                return status, 1.0
            for j in range(k + 1):  # modified Gram-Schmidt
                H[j, k] = dot(w, V[j])
                for i in range(n):
                    w[i] -= H[j, k] * V[j, i]
            hnext = norm2(w)
            H[k + 1, k] = hnext
            if hnext > 0.0:
                for i in range(n):
                    V[k + 1, i] = w[i] / hnext
            givens(H, cs, sn, s, k)
            k += 1
            if abs(s[k]) <= rtol * bnorm or hnext == 0.0:  # converged, or lucky breakdown
                break
        add_krylov_update(H, s, V, k, p)
        # the true residual, for the restart and the exit test
        status = jvp(x, args, p, w, stats)
        products += 1
        if status != OK:
            return status, 1.0
        for i in range(n):
            r[i] = b[i] - w[i]
        beta = norm2(r)
        if k == 0:
            break
    return OK, beta / bnorm if bnorm > 0.0 else 0.0


@algorithm
def solve_krylov(ev, jvp, callback, x0, args, method, tol, xtol, maxiter, x, f, stats, hist):
    """Inexact Newton-GMRES with line search, from x0 into (x, f); the status."""
    copy_into(x, x0)
    n = x.size
    stats[EXTRA] = KRYLOV
    code = ev(x, args, f, stats)
    record(hist, stats, f)
    if code == EVAL_SIZE:
        return BAD_F_SIZE
    if code != EVAL_OK:
        return NONFINITE
    if maxabs(f) <= tol:
        return SUCCESS
    m = min(RESTART, n)
    V = np.empty((m + 1, n))
    H = np.zeros((m + 1, m))
    w = np.empty(n)
    b = np.empty(n)
    p = np.empty(n)
    x1 = np.empty(n)
    f1 = np.empty(n)
    eta = 0.5
    fnorm_old = norm2(f)
    nslow = 0
    while True:
        if stats[NIT] >= maxiter:
            return MAXITER
        stats[NIT] += 1
        fnorm = norm2(f)
        # no need to solve more accurately than the residual test needs
        rtol = max(eta, 0.1 * tol / fnorm if fnorm > 0.0 else 0.0)
        for i in range(n):
            b[i] = -f[i]
        status, relres = gmres(jvp, x, args, b, min(rtol, ETA_MAX), p, stats, V, H, w)
        if status != OK:
            return status
        # phi'(0) = F^T J p = -|F|^2 + F^T r, with |r| <= relres |F|
        slope = -(1.0 - relres) * fnorm * fnorm
        code = line_search(ev, x, args, f, p, slope, xtol, stats, x1, f1)
        if code == EVAL_SIZE:
            return BAD_F_SIZE
        if code == EVAL_FAILED:
            record(hist, stats, f)
            return STALLED
        nslow = nslow + 1 if dot(f1, f1) > 0.999 * dot(f, f) else 0
        status = take_step(callback, x, f, x1, f1, tol, stats, hist)
        if status >= 0:
            return status
        if nslow >= NSLOW:
            return STALLED
        # Eisenstat-Walker choice 2, safeguarded
        fnorm_new = norm2(f)
        eta_new = 0.9 * (fnorm_new / fnorm_old) ** 2
        if 0.9 * eta * eta > 0.1:
            eta_new = max(eta_new, 0.9 * eta * eta)
        eta = min(eta_new, ETA_MAX)
        fnorm_old = fnorm_new


ADDRESSED_JVP = types.FunctionType(jvp_signature(ADDRESSED_ARGS))
ADDRESSED_SOLVER_SIGNATURE = solver_signature(ADDRESSED_ARGS, ADDRESSED_JVP)
load_jvp = function_loader(ADDRESSED_JVP)
load_solver = function_loader(types.FunctionType(ADDRESSED_SOLVER_SIGNATURE))


@cached_njit
def solve_krylov_addressed(kernels, x0, p, rc, rj, cc, cj, method, tol, xtol, maxiter):
    """:func:`solve_krylov` from Python, for every compiled user function: cached.

    As :func:`jacsolve.nonlinear.dense.solve_dense_addressed`, with the J v
    kernel in place of the Jacobian kernel and ``solve_krylov`` as the solver.
    """
    return call_solver(load_solver(kernels[6], kernels[7]), load_ev(kernels[0], kernels[1]),
                       load_jvp(kernels[2], kernels[3]), load_callback(kernels[4], kernels[5]),
                       x0, (p, rc, rj, cc, cj), method, tol, xtol, maxiter)
