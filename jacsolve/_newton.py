"""Compiled dense solvers for small systems F(x) = 0: one kernel runs a whole solve.

:func:`solve_dense` is specialised on the user function (see
:func:`jacsolve._jit.specialise`), so a solve from Python costs one compiled
call. The Jacobian comes from a *provider* kernel passed in as an argument
(complex step, differences, or the user's analytic ``jac``), so each
(function, provider) pair compiles once and every method shares it.

Methods (integer codes, see ``NEWTON`` ...):

* Newton: damped Newton, Armijo backtracking on phi = |F|^2/2; when J is
  singular, or the Newton step fails, Levenberg-Marquardt directions
  -(J^T J + mu I)^-1 J^T F with growing mu.
* trust region: Powell's dogleg (MINPACK hybrd without its scaling), exact
  Jacobian at every new point.
* Broyden: the same dogleg with rank-1 updates of J between evaluations and a
  refresh after two failed steps (hybrd proper).
* auto: Broyden, then trust region, then Newton, each from x0, until one
  meets the residual test; the best point wins.

Numerical trouble is a status, never an exception: a trial point where fun
raises or returns inf/NaN is a failed step (the line search backs off, the
trust region shrinks). The linear algebra lives in cached helpers so that
only the thin loops that call ``fun`` compile per function.
"""
from __future__ import annotations

import numpy as np

from ._jit import cached_njit, kernel_njit
from ._linalg import lu_factor, lu_solve
from .kernels import (BAD_OUTPUT_SIZE, NOT_COMPLEX_SAFE, OK, all_finite, as_1d, complex_steps,
                      jacobian_central_t, jacobian_complex_t, jacobian_forward_t,
                      jacobian_richardson_t, relative_steps)
from .status import Status

# methods
NEWTON, TRUST_REGION, BROYDEN, AUTO, KRYLOV = 0, 1, 2, 3, 4
METHOD_NAMES = ("newton", "trust-region", "broyden", "auto", "krylov")

# statuses (the values of jacsolve.status.Status; kernels cannot hold the enum)
SUCCESS = int(Status.SUCCESS)
MAXITER = int(Status.MAXITER)
STALLED = int(Status.STALLED)
SINGULAR = int(Status.SINGULAR)
NONFINITE = int(Status.NONFINITE)
CALLBACK = int(Status.CALLBACK)
DIVERGED = int(Status.DIVERGED)
# faults that are the caller's to fix: solve() raises for them
BAD_X = -1         # x0 is not finite
BAD_F_SIZE = -2    # fun's output length is not len(x0), or changed
BAD_JAC_SHAPE = -3  # the analytic jac returned another shape than (n, n)
NOT_CS = -4        # fun returned real values for complex input

# slots of the integer statistics array every kernel updates
NIT, NFEV, NJEV, NFAIL, NHIST, EXTRA = 0, 1, 2, 3, 4, 5
NSTATS = 6

# results of one evaluation
EVAL_OK, EVAL_FAILED, EVAL_SIZE = 0, 1, 2

EPS = np.finfo(np.float64).eps
SQRT_EPS = np.sqrt(EPS)
RCOND_MIN = 1e-13      # LU pivot ratio below which J counts as singular
BIG = 1e100            # |x| beyond this: DIVERGED
TR_FACTOR = 100.0      # initial trust radius factor (MINPACK's default)
MAX_STEP = 1e3         # a line-search step is capped at MAX_STEP * max(|x|, 1)
ARMIJO = 1e-4
MAX_BACKTRACKS = 60
HIST_MAX = 100_000     # at most this many history entries are kept


# ------------------------------------------------------- function-independent
@cached_njit
def norm2(v):
    s = 0.0
    for i in range(v.size):
        s += v[i] * v[i]
    return np.sqrt(s)


@cached_njit
def maxabs(v):
    s = 0.0
    for i in range(v.size):
        a = abs(v[i])
        if not a <= s:  # NaN propagates
            s = a
    return s


@cached_njit
def dot(a, b):
    s = 0.0
    for i in range(a.size):
        s += a[i] * b[i]
    return s


@cached_njit
def matvec_t(Jt, v, out):
    """out = J v with J = Jt.T."""
    out[:] = 0.0
    for j in range(Jt.shape[0]):
        vj = v[j]
        if vj != 0.0:
            for i in range(Jt.shape[1]):
                out[i] += Jt[j, i] * vj


@cached_njit
def gradient(Jt, f, g):
    """g = J^T f, the gradient of |F|^2 / 2."""
    for j in range(Jt.shape[0]):
        s = 0.0
        for i in range(Jt.shape[1]):
            s += Jt[j, i] * f[i]
        g[j] = s


@cached_njit
def gram_scale(Jt):
    """Largest diagonal entry of J^T J (squared largest column norm)."""
    s = 0.0
    for j in range(Jt.shape[0]):
        s = max(s, dot(Jt[j], Jt[j]))
    return s


@cached_njit
def newton_direction(Jt, f, LU, piv, p):
    """p = -J^-1 f. Returns the LU pivot ratio; p is valid only above RCOND_MIN."""
    n = f.size
    for i in range(n):
        for j in range(n):
            LU[i, j] = Jt[j, i]
    r = lu_factor(LU, LU, piv)
    if r <= RCOND_MIN:
        return r
    lu_solve(LU, piv, f, p)
    for i in range(n):
        p[i] = -p[i]
    return r if all_finite(p) else 0.0


@cached_njit
def lm_direction(Jt, g, mu, A, piv, p):
    """Levenberg-Marquardt direction p = -(J^T J + mu I)^-1 g; False if it failed.

    g = J^T f lies in the row space of J, so p stays bounded as mu -> 0 even
    when J is singular (it tends to the least-squares step -J^+ f).
    """
    n = g.size
    for a in range(n):
        for b in range(a, n):
            s = dot(Jt[a], Jt[b])
            A[a, b] = s
            A[b, a] = s
        A[a, a] += mu
    if lu_factor(A, A, piv) == 0.0:
        return False
    lu_solve(A, piv, g, p)
    for i in range(n):
        p[i] = -p[i]
    return all_finite(p)


@cached_njit
def dogleg(pN, newton_ok, g, Jt, delta, p, work):
    """Powell's dogleg step inside the radius delta, into p; returns |p|.

    pN is the Newton (or least-squares) step; when ``newton_ok`` is False only
    the steepest-descent leg is used.
    """
    nN = norm2(pN) if newton_ok else np.inf
    if nN <= delta:
        p[:] = pN
        return nN
    gnorm = norm2(g)
    matvec_t(Jt, g, work)
    jg = norm2(work)
    # Cauchy point: the minimiser of the linear model along -g
    t = (gnorm / jg) ** 2 if jg > 0.0 else np.inf
    if t * gnorm >= delta or not newton_ok:
        s = delta / gnorm
        for i in range(p.size):
            p[i] = -s * g[i]
        return delta
    # from the Cauchy point towards pN, up to the boundary
    a = 0.0
    b = 0.0
    c = 0.0
    for i in range(p.size):
        pc = -t * g[i]
        d = pN[i] - pc
        a += d * d
        b += pc * d
        c += pc * pc
    c -= delta * delta
    s = (-b + np.sqrt(max(b * b - a * c, 0.0))) / a if a > 0.0 else 0.0
    for i in range(p.size):
        pc = -t * g[i]
        p[i] = pc + s * (pN[i] - pc)
    return delta


@cached_njit
def broyden_update(Jt, p, df, work):
    """Good Broyden rank-1 update J += (df - J p) p^T / p^T p, on Jt."""
    pp = dot(p, p)
    if pp == 0.0 or not all_finite(df):
        return
    matvec_t(Jt, p, work)
    for i in range(work.size):
        work[i] = (df[i] - work[i]) / pp
    for j in range(Jt.shape[0]):
        pj = p[j]
        for i in range(Jt.shape[1]):
            Jt[j, i] += pj * work[i]


@cached_njit
def record(hist, stats, f):
    k = stats[NHIST]
    if k < hist.size:
        hist[k] = maxabs(f)
        stats[NHIST] = k + 1


@cached_njit
def stop_after_step(x, f, tol):
    """Status after an accepted step, or -100 to go on."""
    if maxabs(f) <= tol:
        return SUCCESS
    if maxabs(x) > BIG:
        return DIVERGED
    return -100


@cached_njit
def no_progress(rcond):
    """A stall at a singular Jacobian is SINGULAR, otherwise STALLED."""
    return SINGULAR if rcond <= RCOND_MIN else STALLED


@cached_njit
def copy_into(dst, src):
    for i in range(dst.size):
        dst[i] = src[i]


@cached_njit
def no_callback(x, f):
    return False


@cached_njit
def no_jac(x):
    return np.empty((0, 0))


# ------------------------------------------------------------ calling fun
@kernel_njit
def call(fun, x, args):
    return as_1d(fun(x, *args))


@kernel_njit
def evaluate(fun, x, args, out, stats):
    """out = fun(x). EVAL_FAILED if fun raised or gave inf/NaN (a failed trial
    point), EVAL_SIZE if its output length changed."""
    stats[NFEV] += 1
    try:
        y = call(fun, x, args)
    except Exception:  # a fault at a trial point is survived: the step fails
        stats[NFAIL] += 1
        return EVAL_FAILED
    if y.size != out.size:
        return EVAL_SIZE
    for i in range(out.size):
        out[i] = y[i]
    if not all_finite(out):
        stats[NFAIL] += 1
        return EVAL_FAILED
    return EVAL_OK


# ------------------------------------------------------- Jacobian providers
# Each is provider(fun, x, args, f, ujac) -> (Jt, status, nfev), Jt C-ordered (n, n).
@kernel_njit
def jac_complex(fun, x, args, f, ujac):
    return jacobian_complex_t(fun, x, args, complex_steps(x, np.ones(x.size)))


@kernel_njit
def jac_forward(fun, x, args, f, ujac):
    h = relative_steps(x, SQRT_EPS, np.ones(x.size))
    inf = np.full(x.size, np.inf)
    return jacobian_forward_t(fun, x, args, f, h, -inf, inf)


@kernel_njit
def jac_central(fun, x, args, f, ujac):
    h = relative_steps(x, EPS ** (1.0 / 3.0), np.ones(x.size))
    inf = np.full(x.size, np.inf)
    return jacobian_central_t(fun, x, args, f, h, -inf, inf)


@kernel_njit
def jac_richardson(fun, x, args, f, ujac):
    h = relative_steps(x, 0.1, np.ones(x.size))
    inf = np.full(x.size, np.inf)
    Jt, Et, status, nfev = jacobian_richardson_t(fun, x, args, f, h, -inf, inf)
    return Jt, status, nfev


@kernel_njit
def call_jac(ujac, x, args):
    return np.asarray(ujac(x, *args))


@kernel_njit
def jac_analytic(fun, x, args, f, ujac):
    n = x.size
    J = call_jac(ujac, x, args)
    Jt = np.empty((n, n))
    if J.shape[0] != n or J.shape[1] != n:
        return Jt, BAD_JAC_SHAPE, 0
    for i in range(n):
        for j in range(n):
            Jt[j, i] = J[i, j]
    return Jt, OK, 0


@kernel_njit
def jacobian_at(fun, jac, ujac, x, args, f, stats):
    """(Jt, status) from the provider; status is a solve status, OK or a fault."""
    stats[NJEV] += 1
    try:
        Jt, status, nfev = jac(fun, x, args, f, ujac)
    except Exception:  # fun (or jac) raised at x itself: no Jacobian here
        stats[NFAIL] += 1
        return np.empty((0, 0)), NONFINITE
    stats[NFEV] += nfev
    if status == BAD_OUTPUT_SIZE:
        return Jt, BAD_F_SIZE
    if status == NOT_COMPLEX_SAFE:
        return Jt, NOT_CS
    if status == BAD_JAC_SHAPE:
        stats[EXTRA] = -1
        return Jt, BAD_JAC_SHAPE
    if status != OK or not all_finite(Jt.ravel()):
        return Jt, NONFINITE
    return Jt, OK


# ------------------------------------------------------------- line search
@kernel_njit
def line_search(fun, x, args, f, p, slope, xtol, stats, x1, f1):
    """Backtracking (Armijo) along p on phi = |F|^2/2 with phi'(0) = slope < 0.

    Interpolates quadratically, within [0.1, 0.5] of the previous step; a
    trial point where fun fails cuts the step tenfold. Returns EVAL_OK with
    the new point in (x1, f1), EVAL_FAILED when the step shrank below xtol,
    or EVAL_SIZE.
    """
    if not slope < 0.0:
        return EVAL_FAILED
    phi0 = 0.5 * dot(f, f)
    pnorm = norm2(p)
    xnorm = norm2(x)
    floor = xtol * (xnorm if xnorm > 0.0 else 1.0)
    alpha = 1.0
    for k in range(MAX_BACKTRACKS):
        if alpha * pnorm <= floor:
            return EVAL_FAILED
        for i in range(x.size):
            x1[i] = x[i] + alpha * p[i]
        code = evaluate(fun, x1, args, f1, stats)
        if code == EVAL_SIZE:
            return EVAL_SIZE
        if code == EVAL_OK:
            phi1 = 0.5 * dot(f1, f1)
            if phi1 <= phi0 + ARMIJO * alpha * slope:
                return EVAL_OK
            curv = phi1 - phi0 - slope * alpha
            trial = -slope * alpha * alpha / (2.0 * curv) if curv > 0.0 else 0.1 * alpha
            alpha = min(max(trial, 0.1 * alpha), 0.5 * alpha)
        else:
            alpha *= 0.1
    return EVAL_FAILED


# ------------------------------------------------------------------ methods
@kernel_njit
def newton(fun, jac, ujac, callback, x, f, args, tol, xtol, maxiter, stats, hist):
    """Damped Newton with Levenberg-Marquardt fallback; x, f updated in place."""
    n = x.size
    LU = np.empty((n, n))
    piv = np.empty(n, dtype=np.int64)
    p = np.empty(n)
    g = np.empty(n)
    x1 = np.empty(n)
    f1 = np.empty(n)
    while True:
        if stats[NIT] >= maxiter:
            return MAXITER
        Jt, status = jacobian_at(fun, jac, ujac, x, args, f, stats)
        if status != OK:
            return status
        gradient(Jt, f, g)
        rcond = newton_direction(Jt, f, LU, piv, p)
        if norm2(g) == 0.0:  # a stationary point of |F|^2 that is not a root
            return no_progress(rcond)
        scale = gram_scale(Jt)
        # Newton first; LM when J is singular or the Newton step fails
        mu = 0.0 if rcond > RCOND_MIN else SQRT_EPS * scale
        stats[NIT] += 1
        code = EVAL_FAILED
        for attempt in range(4):
            if mu > 0.0 and not lm_direction(Jt, g, mu, LU, piv, p):
                mu *= 1e3
                continue
            cap = MAX_STEP * max(norm2(x), 1.0)
            pn = norm2(p)
            if pn > cap:
                for i in range(n):
                    p[i] *= cap / pn
            code = line_search(fun, x, args, f, p, dot(g, p), xtol, stats, x1, f1)
            if code != EVAL_FAILED:
                break
            mu = max(mu * 1e3, 1e-6 * scale)
        if code == EVAL_SIZE:
            return BAD_F_SIZE
        if code == EVAL_FAILED:
            record(hist, stats, f)
            return no_progress(rcond)
        copy_into(x, x1)
        copy_into(f, f1)
        record(hist, stats, f)
        status = stop_after_step(x, f, tol)
        if status >= 0:
            return status
        if callback(x, f):
            return CALLBACK


@kernel_njit
def trust_region(fun, jac, ujac, callback, x, f, args, broyden, tol, xtol, maxiter,
                 stats, hist):
    """Powell's dogleg (MINPACK hybrd, unit scaling); with ``broyden`` the
    Jacobian is updated by rank-1 formulas and re-evaluated after two failed
    steps, otherwise it is evaluated at every new point."""
    n = x.size
    LU = np.empty((n, n))
    piv = np.empty(n, dtype=np.int64)
    pN = np.empty(n)
    p = np.empty(n)
    g = np.empty(n)
    work = np.empty(n)
    x1 = np.empty(n)
    f1 = np.empty(n)
    df = np.empty(n)
    xnorm = norm2(x)
    fnorm = norm2(f)
    delta = TR_FACTOR * xnorm if xnorm > 0.0 else TR_FACTOR
    Jt = np.empty((n, n))
    need_jac = True
    first = True
    ncsuc = 0
    ncfail = 0
    nslow1 = 0
    nslow2 = 0
    rcond = 1.0
    while True:
        jeval = need_jac
        if need_jac:
            Jt, status = jacobian_at(fun, jac, ujac, x, args, f, stats)
            if status != OK:
                return status
            need_jac = False
            ncfail = 0
        if stats[NIT] >= maxiter:
            return MAXITER
        gradient(Jt, f, g)
        rcond = newton_direction(Jt, f, LU, piv, pN)
        if norm2(g) == 0.0:
            return no_progress(rcond)
        newton_ok = rcond > RCOND_MIN
        if not newton_ok:
            newton_ok = lm_direction(Jt, g, SQRT_EPS * gram_scale(Jt), LU, piv, pN)
        pnorm = dogleg(pN, newton_ok, g, Jt, delta, p, work)
        if first:
            delta = min(delta, pnorm)
            first = False
        for i in range(n):
            x1[i] = x[i] + p[i]
        stats[NIT] += 1
        code = evaluate(fun, x1, args, f1, stats)
        if code == EVAL_SIZE:
            return BAD_F_SIZE
        # reductions of |F|^2 relative to |F|^2: actual and predicted by J
        matvec_t(Jt, p, work)
        for i in range(n):
            work[i] += f[i]
        fpred = norm2(work)
        prered = 1.0 - (fpred / fnorm) ** 2 if fpred < fnorm else 0.0
        actred = -1.0
        if code == EVAL_OK:
            fnorm1 = norm2(f1)
            if fnorm1 < fnorm:
                actred = 1.0 - (fnorm1 / fnorm) ** 2
        ratio = actred / prered if prered > 0.0 else 0.0
        if ratio < 0.1:
            ncsuc = 0
            ncfail += 1
            delta = 0.5 * pnorm if code == EVAL_OK else 0.1 * pnorm
        else:
            ncfail = 0
            ncsuc += 1
            if ratio >= 0.5 or ncsuc > 1:
                delta = max(delta, 2.0 * pnorm)
            if abs(ratio - 1.0) <= 0.1:
                delta = 2.0 * pnorm
        for i in range(n):
            df[i] = f1[i] - f[i]
        if ratio >= 1e-4:
            copy_into(x, x1)
            copy_into(f, f1)
            xnorm = norm2(x)
            fnorm = norm2(f)
        record(hist, stats, f)
        if ratio >= 1e-4:
            status = stop_after_step(x, f, tol)
            if status >= 0:
                return status
            if callback(x, f):
                return CALLBACK
        # progress tests (hybrd's nslow1, nslow2) and the step floor
        nslow1 = 0 if actred >= 0.001 else nslow1 + 1
        if jeval:
            nslow2 = 0 if actred >= 0.1 else nslow2 + 1
        if delta <= xtol * (xnorm if xnorm > 0.0 else 1.0) or nslow2 >= 5 or nslow1 >= 10:
            return no_progress(rcond)
        if broyden:
            if ncfail >= 2:
                need_jac = True
            elif code == EVAL_OK:
                broyden_update(Jt, p, df, work)
        else:
            need_jac = ratio >= 1e-4


@kernel_njit
def run_method(fun, jac, ujac, callback, method, x, f, args, tol, xtol, maxiter, stats, hist):
    if method == NEWTON:
        return newton(fun, jac, ujac, callback, x, f, args, tol, xtol, maxiter, stats, hist)
    return trust_region(fun, jac, ujac, callback, x, f, args, method == BROYDEN, tol, xtol,
                        maxiter, stats, hist)


@kernel_njit
def solve_dense(fun, x0, args, jac, ujac, callback, method, tol, xtol, maxiter):
    """The whole solve. Returns (x, f, status, stats, hist, method_used)."""
    n = x0.size
    stats = np.zeros(NSTATS, dtype=np.int64)
    hist = np.empty(min(maxiter, HIST_MAX) + 1)
    x = x0.copy()
    if not all_finite(x0):
        return x, np.empty(0), BAD_X, stats, hist, method
    y = call(fun, x, args)  # fun raising at x0 is the caller's problem: it propagates
    stats[NFEV] = 1
    f = np.empty(y.size)
    for i in range(y.size):
        f[i] = y[i]
    record(hist, stats, f)
    if y.size != n:
        stats[EXTRA] = y.size
        return x, f, BAD_F_SIZE, stats, hist, method
    if not all_finite(f):
        return x, f, NONFINITE, stats, hist, method
    if maxabs(f) <= tol:
        return x, f, SUCCESS, stats, hist, method
    if method != AUTO:
        status = run_method(fun, jac, ujac, callback, method, x, f, args, tol, xtol, maxiter,
                            stats, hist)
        return x, f, status, stats, hist, method
    # auto: cheap Broyden first (hybrd), then exact-Jacobian trust region, then
    # line-search Newton; each restarts from x0 and the best end point wins
    f0 = f.copy()
    best_x = x.copy()
    best_f = f.copy()
    best_status = STALLED
    best_method = BROYDEN
    for stage in range(3):
        m = BROYDEN if stage == 0 else (TRUST_REGION if stage == 1 else NEWTON)
        copy_into(x, x0)
        copy_into(f, f0)
        status = run_method(fun, jac, ujac, callback, m, x, f, args, tol, xtol, maxiter,
                            stats, hist)
        if status < 0:
            return x, f, status, stats, hist, m
        if stage == 0 or maxabs(f) < maxabs(best_f):
            copy_into(best_x, x)
            copy_into(best_f, f)
            best_status = status
            best_method = m
        if status == SUCCESS or status == CALLBACK or status == MAXITER:
            return x, f, status, stats, hist, m
    return best_x, best_f, best_status, stats, hist, best_method


# One entry point per Jacobian provider, so that specialise() binds fun and the
# provider as compile-time constants (a dispatcher argument costs ~10 us per call).
@kernel_njit
def dense_complex(fun, x0, args, method, tol, xtol, maxiter):
    return solve_dense(fun, x0, args, jac_complex, no_jac, no_callback, method, tol, xtol,
                       maxiter)


@kernel_njit
def dense_forward(fun, x0, args, method, tol, xtol, maxiter):
    return solve_dense(fun, x0, args, jac_forward, no_jac, no_callback, method, tol, xtol,
                       maxiter)


@kernel_njit
def dense_central(fun, x0, args, method, tol, xtol, maxiter):
    return solve_dense(fun, x0, args, jac_central, no_jac, no_callback, method, tol, xtol,
                       maxiter)


@kernel_njit
def dense_richardson(fun, x0, args, method, tol, xtol, maxiter):
    return solve_dense(fun, x0, args, jac_richardson, no_jac, no_callback, method, tol, xtol,
                       maxiter)


@kernel_njit
def dense_analytic(fun, x0, args, ujac, method, tol, xtol, maxiter):
    return solve_dense(fun, x0, args, jac_analytic, ujac, no_callback, method, tol, xtol,
                       maxiter)


ENTRY = {"complex": dense_complex, "forward": dense_forward, "central": dense_central,
         "richardson": dense_richardson}
PROVIDER = {"complex": jac_complex, "forward": jac_forward, "central": jac_central,
            "richardson": jac_richardson, "analytic": jac_analytic}
