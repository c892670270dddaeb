"""Compiled dense solvers for small systems F(x) = 0: one compiled call runs a whole solve.

Design (compile time drives it): numba re-optimises the whole call tree of
every function it compiles, so an algorithm specialised on each user function
costs seconds per function. Here the algorithms are compiled once (cached on
disk) and reach the user's function through *first-class function pointers*
(:mod:`jacsolve._numba.pointers`):

* :func:`solve_dense` (and the methods it calls) takes the small kernels that
  call fun (:func:`evaluate_into`, a Jacobian kernel such as
  :func:`jac_complex_into`) as first-class function values
  ``ev(x, args, out, stats)`` and ``jac(x, args, f, Jt, stats)``;
* for compiled user functions those kernels are the cached wrappers of
  :func:`jacsolve._numba.tiers.address_kernel`, which reach fun through the
  integer addresses in ``args = (p, rc, rj, cc, cj)``: the same kernels for
  every function. :func:`solve_dense_addressed`, one cached entry, takes
  their addresses as integers, so a solve from Python is one call of a few
  microseconds and nothing of the solver compiles per user function (see
  :mod:`jacsolve.nonlinear.root`);
* where that cannot go (an analytic ``jac``, args that do not pack into one
  float vector), the kernels are specialised on fun and an entry point is
  compiled per function (:func:`jacsolve._numba.pointers.entry_point`,
  :func:`solver_signature`).

For plain Python functions, or with a callback, the same algorithm runs as
Python (:func:`jacsolve._numba.options.python_version`). Newton's loop takes
its linear algebra through the module-level names ``linear_storage``,
``gradient``, ``gram_scale``, ``newton_direction`` and ``lm_direction``:
:mod:`jacsolve.nonlinear.sparse` rebinds them to sparse versions and runs the
same loop on large sparse systems.

Methods (integer codes, see ``NEWTON`` ...):

* Newton: damped Newton, Armijo backtracking on phi = |F|^2/2; when J is
  singular, or the Newton step fails, Levenberg-Marquardt directions
  -(J^T J + mu I)^-1 J^T F with growing mu. NSLOW accepted steps in a row
  that lower |F|^2 by less than 0.1 % end the solve (STALLED).
* trust region: Powell's dogleg (MINPACK hybrj without its scaling), exact
  Jacobian at every new point.
* Broyden: MINPACK hybrd: the dogleg in variables scaled by the column norms
  of J, rank-1 (Broyden) updates of J after every step, and a new Jacobian
  only after two failed steps in a row since the last success; the radius
  halves after a failed step. ``BROYDEN_UNSCALED`` is the same without the
  scaling (``auto`` only).
* Levenberg-Marquardt: Nielsen's damping update, exact Jacobian at every
  accepted point.
* auto: the stages of ``AUTO_STAGES`` until one meets the residual test:
  unscaled Broyden from x0, scaled Broyden from x0 (the two fail on
  different problems, cheaply), the exact-Jacobian trust region from the
  best point so far, then, as a last resort, the trust region,
  Levenberg-Marquardt and Newton each from x0. The best end point wins.

A solve that stops without progress reports NONFINITE when the last failed
trial point failed because fun gave inf/NaN (or raised) there, SINGULAR at a
singular Jacobian, and STALLED otherwise.

Numerical trouble is a status, never an exception: a trial point where fun
raises or returns inf/NaN is a failed step (the line search backs off, the
trust region shrinks).
"""
from __future__ import annotations

import numpy as np
from numba import types

from .._linalg import lu_factor, lu_solve
from .._numba.options import cached_njit, kernel_njit
from .._numba.pointers import (ADDRESSED_ARGS, CALLBACK_SIGNATURE, F1, I1, ev_signature,
                               jac_signature)
from .._numba.addresses import function_loader
from ..derivatives.kernels import (COMPLEX_STEP, all_finite, call_user, jacobian_central_t,
                                   jacobian_complex_into, jacobian_forward_t,
                                   jacobian_richardson_t, relative_steps)
from ..status import (BAD_F_SIZE, BAD_JAC_SHAPE, BAD_X, CALLBACK, CONTINUE, DIVERGED, EVAL_FAILED,
                      EVAL_OK, EVAL_SIZE, MAXITER, NONFINITE, NOT_COMPLEX_SAFE, OK, SINGULAR,
                      STALLED, SUCCESS)

# methods
NEWTON, TRUST_REGION, BROYDEN, AUTO, KRYLOV, LEVMAR, BROYDEN_UNSCALED = 0, 1, 2, 3, 4, 5, 6
METHOD_NAMES = ("newton", "trust-region", "broyden", "auto", "krylov", "levenberg-marquardt",
                "broyden")

# slots of the integer statistics array every kernel updates
NIT, NFEV, NJEV, NFAIL, NHIST, EXTRA = 0, 1, 2, 3, 4, 5
NSTATS = 6

EPS = np.finfo(np.float64).eps
SQRT_EPS = np.sqrt(EPS)
RCOND_MIN = 1e-13      # LU pivot ratio below which J counts as singular
BIG = 1e100            # |x| beyond this: DIVERGED
TR_FACTOR = 100.0      # initial trust radius factor (MINPACK's default)
MAX_STEP = 1e3         # a line-search step is capped at MAX_STEP * max(|x|, 1)
ARMIJO = 1e-4
MAX_BACKTRACKS = 60
AUTO_STAGES = (BROYDEN_UNSCALED, BROYDEN, TRUST_REGION, TRUST_REGION, LEVMAR, NEWTON)
AUTO_FROM_X0 = (True, True, False, True, True, True)  # else from the best point so far
NSLOW = 20            # Newton: this many steps in a row without progress is a stall
HIST_MAX = 100_000     # at most this many history entries are kept


def algorithm(fun=None, *, inline: bool = False):
    """Decorator for the function-independent solver loops: compiled once per
    signature and cached; marked as a kernel so that
    :func:`~jacsolve._numba.options.python_version` swaps in their Python versions.

    ``inline=True`` (numba's ``inline="always"``) compiles the loop as part of
    its one caller: the methods are inlined into :func:`solve_dense`, so each
    is optimised once, not once alone and again where it is linked in.
    """
    def wrap(f):
        dispatcher = cached_njit(f, inline="always") if inline else cached_njit(f)
        dispatcher._jacsolve_kernel = True
        return dispatcher
    return wrap if fun is None else wrap(fun)


# ------------------------------------------------------- function-independent
@cached_njit
def maxabs(v):
    """max |v_i| (0 for an empty v); NaN if any v_i is NaN."""
    s = 0.0
    for i in range(v.size):
        a = abs(v[i])
        if a > s:
            s = a
        elif a != a:
            return a
    return s


@cached_njit
def norm2(v):
    """Euclidean norm, scaled so that squares of tiny entries do not underflow."""
    s = maxabs(v)
    if s == 0.0 or not s < np.inf:
        return s
    t = 0.0
    for i in range(v.size):
        a = v[i] / s
        t += a * a
    return s * np.sqrt(t)


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
def linear_storage(n):
    """Buffers of the dense linear algebra: J^T, an (n, n) work matrix for LU
    factors (of J, or of J^T J + mu I) and the pivots."""
    return np.empty((n, n)), np.empty((n, n)), np.empty(n, dtype=np.int64)


@cached_njit
def step_buffers(n):
    """Vectors of one step: the direction p, the gradient g, the trial point
    x1 and fun there, f1."""
    return np.empty(n), np.empty(n), np.empty(n), np.empty(n)


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
def scaled_norm(d, v):
    """|D v|_2 with D = diag(d), scaled so that squares do not under- or overflow."""
    s = 0.0
    for i in range(v.size):
        a = abs(d[i] * v[i])
        if a > s:
            s = a
        elif a != a:
            return a
    if s == 0.0 or not s < np.inf:
        return s
    t = 0.0
    for i in range(v.size):
        a = d[i] * v[i] / s
        t += a * a
    return s * np.sqrt(t)


@cached_njit
def dogleg(pN, newton_ok, g, Jt, d, delta, p, work):
    """Powell's dogleg step inside the scaled radius |D p| <= delta, into p;
    returns |D p| (D = diag(d); all ones for the unscaled trust region).

    pN is the Newton (or least-squares) step; when ``newton_ok`` is False only
    the steepest-descent leg is used. Steepest descent is taken in the scaled
    variables D x, as MINPACK's dogleg does: along -D^-2 g in x.
    """
    nN = scaled_norm(d, pN) if newton_ok else np.inf
    if nN <= delta:
        copy_into(p, pN)
        return nN
    for i in range(p.size):  # the descent direction s = D^-2 g, |D s| = |D^-1 g|
        p[i] = g[i] / (d[i] * d[i])
    gnorm = scaled_norm(d, p)
    matvec_t(Jt, p, work)
    jg = norm2(work)
    # Cauchy point -t s: the minimiser of the linear model along -s
    t = (gnorm / jg) ** 2 if jg > 0.0 else np.inf
    if t * gnorm >= delta or not newton_ok:
        sc = delta / gnorm
        for i in range(p.size):
            p[i] *= -sc
        return delta
    # from the Cauchy point towards pN, up to the boundary
    a = 0.0
    b = 0.0
    c = 0.0
    for i in range(p.size):
        pc = -t * p[i]
        dd = d[i] * (pN[i] - pc)
        dc = d[i] * pc
        a += dd * dd
        b += dc * dd
        c += dc * dc
    c -= delta * delta
    sc = (-b + np.sqrt(max(b * b - a * c, 0.0))) / a if a > 0.0 else 0.0
    for i in range(p.size):
        pc = -t * p[i]
        p[i] = pc + sc * (pN[i] - pc)
    return delta


@cached_njit
def broyden_update(Jt, p, d, df, work):
    """Broyden's rank-1 update in the scaled variables (MINPACK hybrd's):
    J += (df - J p) (D^2 p)^T / |D p|^2, on Jt (D = diag(d))."""
    pp = scaled_norm(d, p) ** 2
    if pp == 0.0 or not all_finite(df):
        return
    matvec_t(Jt, p, work)
    for i in range(work.size):
        work[i] = (df[i] - work[i]) / pp
    for j in range(Jt.shape[0]):
        pj = d[j] * d[j] * p[j]
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
    """Status after an accepted step, or CONTINUE to go on."""
    if maxabs(f) <= tol:
        return SUCCESS
    if maxabs(x) > BIG:
        return DIVERGED
    return CONTINUE


@cached_njit
def no_progress(rcond, nonfinite):
    """The status of a solve that stopped progressing: NONFINITE when fun gave
    inf/NaN (or raised) at a trial point since the last accepted step (that
    is what blocked it), else SINGULAR at a singular Jacobian, else STALLED."""
    if nonfinite:
        return NONFINITE
    return SINGULAR if rcond <= RCOND_MIN else STALLED


@cached_njit
def copy_into(dst, src):
    for i in range(dst.size):
        dst[i] = src[i]


# -------------------------------------------- per-function kernels (small)
# Each takes the user function first: wrapped by tiers.address_kernel (cached,
# the same for every function) or specialised on fun; the algorithms
# call them as first-class function values. They are inlined into those
# wrappers (each is called from one place): a dispatcher passed as a value to
# a call that is not inlined is lowered as a run-time address, and numba
# cannot cache code holding one.
@kernel_njit(inline=True)
def call_fun(fun, x, args):
    return call_user(fun, x, args)


@kernel_njit(inline=True)
def evaluate_into(fun, x, args, out, stats):
    """out = fun(x). EVAL_FAILED if fun raised or gave inf/NaN (a failed trial
    point), EVAL_SIZE (with the length in stats[EXTRA]) if its length is wrong."""
    stats[NFEV] += 1
    try:
        y = call_fun(fun, x, args)
    except Exception:  # survived: the step fails, the count is reported
        stats[NFAIL] += 1
        return EVAL_FAILED
    if y.size != out.size:
        stats[EXTRA] = y.size
        return EVAL_SIZE
    for i in range(out.size):
        out[i] = y[i]
    if not all_finite(out):
        stats[NFAIL] += 1
        return EVAL_FAILED
    return EVAL_OK


@cached_njit
def store_jacobian(Jt_new, status, nfev, Jt, stats):
    """Copy a kernel's Jt into the solver's buffer; the solve status of it."""
    stats[NJEV] += 1
    stats[NFEV] += nfev
    if Jt_new.shape[0] != Jt.shape[0] or Jt_new.shape[1] != Jt.shape[1]:
        return BAD_F_SIZE
    if status == BAD_F_SIZE or status == NOT_COMPLEX_SAFE:
        return status
    for j in range(Jt.shape[0]):  # loops: an array slice assignment costs ~2 s to compile
        copy_into(Jt[j], Jt_new[j])
    if status != OK or not all_finite(Jt.ravel()):
        return NONFINITE
    return OK


@kernel_njit(inline=True)
def jac_complex_into(fun, x, args, f, Jt, stats):
    """Complex step straight into Jt (no Jacobian allocated and copied: this
    runs once per iteration, and batches run it millions of times)."""
    n = x.size
    h = np.empty(n)
    for j in range(n):  # kernels.complex_steps(x, 1): exact to rounding
        h[j] = COMPLEX_STEP * max(abs(x[j]), 1.0)
    try:
        status, nfev = jacobian_complex_into(fun, x, args, h, np.empty(n, np.complex128), Jt)
    except Exception:  # fun raised at x itself: no Jacobian here
        stats[NFAIL] += 1
        return NONFINITE
    stats[NJEV] += 1
    stats[NFEV] += nfev
    if status == BAD_F_SIZE or status == NOT_COMPLEX_SAFE:
        return status
    return OK if all_finite(Jt.ravel()) else NONFINITE


@kernel_njit(inline=True)
def differences_into(fun, differences, rel_step, x, args, f, Jt, stats):
    """A difference Jacobian (kernel ``differences``, relative steps
    ``rel_step``, no bounds) into Jt."""
    inf = np.full(x.size, np.inf)
    try:
        out = differences(fun, x, args, f, relative_steps(x, rel_step, np.ones(x.size)),
                          -inf, inf)
    except Exception:  # fun raised at x itself: no Jacobian here
        stats[NFAIL] += 1
        return NONFINITE
    return store_jacobian(out[0], out[-2], out[-1], Jt, stats)  # (Jt, [Et,] status, nfev)


@kernel_njit(inline=True)
def jac_forward_into(fun, x, args, f, Jt, stats):
    return differences_into(fun, jacobian_forward_t, SQRT_EPS, x, args, f, Jt, stats)


@kernel_njit(inline=True)
def jac_central_into(fun, x, args, f, Jt, stats):
    return differences_into(fun, jacobian_central_t, EPS ** (1.0 / 3.0), x, args, f, Jt, stats)


@kernel_njit(inline=True)
def jac_richardson_into(fun, x, args, f, Jt, stats):
    return differences_into(fun, jacobian_richardson_t, 0.1, x, args, f, Jt, stats)


@kernel_njit
def call_jac(jac, x, args):
    return np.asarray(jac(x, *args))


@kernel_njit
def jac_analytic_into(jac, x, args, f, Jt, stats):
    """The user's analytic ``jac(x, *args)`` (bound in place of fun)."""
    stats[NJEV] += 1
    try:
        J = call_jac(jac, x, args)
    except Exception:
        stats[NFAIL] += 1
        return NONFINITE
    n = x.size
    if J.ndim != 2 or J.shape[0] != n or J.shape[1] != n:
        stats[EXTRA] = -1
        return BAD_JAC_SHAPE
    for i in range(n):
        for j in range(n):
            Jt[j, i] = J[i, j]
    return OK if all_finite(Jt.ravel()) else NONFINITE


JACOBIAN_KERNELS = {"complex": jac_complex_into, "forward": jac_forward_into,
                    "central": jac_central_into, "richardson": jac_richardson_into,
                    "analytic": jac_analytic_into}


# ------------------------------------------------------------- line search
@algorithm
def line_search(ev, x, args, f, p, slope, xtol, stats, x1, f1):
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
        code = ev(x1, args, f1, stats)
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


@cached_njit
def cap_step(p, x):
    """Scale p down to at most MAX_STEP * max(|x|, 1): a far step from a nearly
    singular J would only leave the region where fun is meaningful."""
    cap = MAX_STEP * max(norm2(x), 1.0)
    pn = norm2(p)
    if pn > cap:
        for i in range(p.size):
            p[i] *= cap / pn


# ------------------------------------------------------------------ methods
@algorithm
def take_step(callback, x, f, x1, f1, tol, stats, hist):
    """Move to (x1, f1) and record it; the status that ends the solve there
    (the residual test, divergence, the callback), or a negative value."""
    copy_into(x, x1)
    copy_into(f, f1)
    record(hist, stats, f)
    status = stop_after_step(x, f, tol)
    if callback(x, f) and status < 0:
        return CALLBACK
    return status


@algorithm(inline=True)
def newton(ev, jac, callback, x, f, args, tol, xtol, maxiter, stats, hist):
    """Damped Newton with Levenberg-Marquardt fallback; x, f updated in place."""
    n = x.size
    Jt, LU, piv = linear_storage(n)
    p, g, x1, f1 = step_buffers(n)
    nslow = 0
    nfail = stats[NFAIL]
    while True:
        if stats[NIT] >= maxiter:
            return MAXITER
        status = jac(x, args, f, Jt, stats)
        if status != OK:
            return status
        gradient(Jt, f, g)
        rcond = newton_direction(Jt, f, LU, piv, p)
        if norm2(g) == 0.0:  # a stationary point of |F|^2 that is not a root
            return no_progress(rcond, stats[NFAIL] > nfail)
        scale = gram_scale(Jt)
        # Newton first; LM when J is singular or the Newton step fails
        mu = 0.0 if rcond > RCOND_MIN else SQRT_EPS * scale
        stats[NIT] += 1
        code = EVAL_FAILED
        nfail = stats[NFAIL]  # did a non-finite trial point cut this step short?
        for attempt in range(4):
            if mu > 0.0 and not lm_direction(Jt, g, mu, LU, piv, p):
                mu *= 1e3
                continue
            cap_step(p, x)
            code = line_search(ev, x, args, f, p, dot(g, p), xtol, stats, x1, f1)
            if code != EVAL_FAILED:
                break
            mu = max(mu * 1e3, 1e-6 * scale)
        if code == EVAL_SIZE:
            return BAD_F_SIZE
        if code == EVAL_FAILED:
            record(hist, stats, f)
            return no_progress(rcond, stats[NFAIL] > nfail)
        # crawling (|F|^2 down by < 0.1% per step, NSLOW steps running) is a stall
        nslow = nslow + 1 if dot(f1, f1) > 0.999 * dot(f, f) else 0
        status = take_step(callback, x, f, x1, f1, tol, stats, hist)
        if status >= 0:
            return status
        if nslow >= NSLOW:
            return no_progress(rcond, stats[NFAIL] > nfail)


@algorithm(inline=True)
def trust_region(ev, jac, callback, x, f, args, broyden, scaled, tol, xtol, maxiter, stats,
                 hist):
    """Powell's dogleg (MINPACK hybrj, unit scaling), exact Jacobian at every
    new point; with ``broyden``, MINPACK hybrd: variables scaled by the
    column norms of J, rank-1 (Broyden) updates of J after every step, and a
    new Jacobian only after two failed steps in a row since the last
    success (``ncfail``)."""
    n = x.size
    Jt, LU, piv = linear_storage(n)
    p, g, x1, f1 = step_buffers(n)
    pN = np.empty(n)
    work = np.empty(n)
    df = np.empty(n)
    d = np.ones(n)  # the scaling D = diag(d)
    fnorm = norm2(f)
    xnorm = 0.0
    delta = 0.0
    need_jac = True
    first = True
    ncsuc = 0
    ncfail = 0
    nslow1 = 0
    nslow2 = 0
    nonfinite = False  # whether the last failed trial point failed by inf/NaN
    while True:
        jeval = need_jac
        if need_jac:
            status = jac(x, args, f, Jt, stats)
            if status != OK:
                return status
            need_jac = False
            if scaled:  # hybrd's scaling: column norms of J, never decreasing
                for j in range(n):
                    c = norm2(Jt[j])
                    d[j] = max(d[j] if not first else 0.0, c)
                    if d[j] == 0.0 or not d[j] < np.inf:
                        d[j] = 1.0
            if first:
                xnorm = scaled_norm(d, x)
                delta = TR_FACTOR * xnorm if xnorm > 0.0 else TR_FACTOR
        if stats[NIT] >= maxiter:
            return MAXITER
        gradient(Jt, f, g)
        rcond = newton_direction(Jt, f, LU, piv, pN)
        if norm2(g) == 0.0:
            return no_progress(rcond, nonfinite)
        newton_ok = rcond > RCOND_MIN
        if not newton_ok:
            newton_ok = lm_direction(Jt, g, SQRT_EPS * gram_scale(Jt), LU, piv, pN)
        pnorm = dogleg(pN, newton_ok, g, Jt, d, delta, p, work)
        if first:
            delta = min(delta, pnorm)
            first = False
        for i in range(n):
            x1[i] = x[i] + p[i]
        stats[NIT] += 1
        code = ev(x1, args, f1, stats)
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
            nonfinite = code != EVAL_OK
            ncsuc = 0
            ncfail += 1
            if code != EVAL_OK:
                delta = 0.1 * pnorm
            else:  # hybrd halves the radius; the exact-Jacobian method the step
                delta = 0.5 * (delta if broyden else pnorm)
        else:
            ncfail = 0
            ncsuc += 1
            if ratio >= 0.5 or ncsuc > 1:
                delta = max(delta, 2.0 * pnorm)
            if abs(ratio - 1.0) <= 0.1:
                delta = 2.0 * pnorm
        for i in range(n):
            df[i] = f1[i] - f[i]
        accepted = ratio >= 1e-4
        if accepted:
            status = take_step(callback, x, f, x1, f1, tol, stats, hist)
            if status >= 0:
                return status
            xnorm = scaled_norm(d, x)
            fnorm = norm2(f)
        else:
            record(hist, stats, f)
        # progress tests (hybrd's nslow1, nslow2) and the step floor
        nslow1 = 0 if actred >= 0.001 else nslow1 + 1
        if actred >= 0.1:
            nslow2 = 0
        elif jeval:
            nslow2 += 1
        if delta <= xtol * (xnorm if xnorm > 0.0 else 1.0) or nslow2 >= 5 or nslow1 >= 10:
            return no_progress(rcond, nonfinite)
        if broyden:
            if ncfail == 2:
                need_jac = True
            elif code == EVAL_OK:
                broyden_update(Jt, p, d, df, work)
        else:
            need_jac = accepted


@algorithm(inline=True)
def levenberg_marquardt(ev, jac, callback, x, f, args, tol, xtol, maxiter, stats, hist):
    """Levenberg-Marquardt on |F|^2/2 with Nielsen's damping update: steps
    -(J^T J + mu I)^-1 J^T F, exact Jacobian at every accepted point."""
    n = x.size
    Jt, A, piv = linear_storage(n)
    p, g, x1, f1 = step_buffers(n)
    mu = -1.0
    nu = 2.0
    nslow = 0
    need_jac = True
    nonfinite = False  # whether the last failed trial point failed by inf/NaN
    while True:
        if need_jac:
            status = jac(x, args, f, Jt, stats)
            if status != OK:
                return status
            gradient(Jt, f, g)
            if norm2(g) == 0.0:
                break
            if mu < 0.0:
                mu = 1e-3 * gram_scale(Jt)
            need_jac = False
        if stats[NIT] >= maxiter:
            return MAXITER
        stats[NIT] += 1
        code = EVAL_FAILED
        lm_ok = lm_direction(Jt, g, mu, A, piv, p)
        if lm_ok:
            for i in range(n):
                x1[i] = x[i] + p[i]
            code = ev(x1, args, f1, stats)
        if code == EVAL_SIZE:
            return BAD_F_SIZE
        phi = 0.5 * dot(f, f)
        rho = -1.0
        if code == EVAL_OK:
            pred = 0.5 * (mu * dot(p, p) - dot(p, g))
            if pred > 0.0:
                rho = (phi - 0.5 * dot(f1, f1)) / pred
        if rho > 0.0:
            nslow = nslow + 1 if dot(f1, f1) > 0.999 * dot(f, f) else 0
            mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            nu = 2.0
            need_jac = True
            status = take_step(callback, x, f, x1, f1, tol, stats, hist)
            if status >= 0:
                return status
        else:
            nonfinite = code == EVAL_FAILED and lm_ok
            mu *= nu
            nu *= 2.0
            record(hist, stats, f)
        xnorm = norm2(x)
        if nslow >= NSLOW or not mu < BIG or (
                code == EVAL_OK and norm2(p) <= xtol * (xnorm if xnorm > 0.0 else 1.0)):
            break
    # stopped: SINGULAR only where J is (its LU pivot ratio, into the spare buffers)
    return no_progress(newton_direction(Jt, f, A, piv, p), nonfinite)


@algorithm(inline=True)
def run_method(ev, jac, callback, method, x, f, args, tol, xtol, maxiter, stats, hist):
    if method == NEWTON:
        return newton(ev, jac, callback, x, f, args, tol, xtol, maxiter, stats, hist)
    if method == LEVMAR:
        return levenberg_marquardt(ev, jac, callback, x, f, args, tol, xtol, maxiter, stats,
                                   hist)
    return trust_region(ev, jac, callback, x, f, args, method != TRUST_REGION,
                        method == BROYDEN, tol, xtol, maxiter, stats, hist)


@algorithm
def solve_dense(ev, jac, callback, x0, args, method, tol, xtol, maxiter, x, f, stats, hist):
    """The whole solve, from x0 into (x, f); returns the status.

    stats[EXTRA] receives the method that produced x (for ``auto``), or the
    length fun returned when that is wrong.
    """
    copy_into(x, x0)
    stats[EXTRA] = method
    if not all_finite(x0):
        return BAD_X
    code = ev(x, args, f, stats)
    record(hist, stats, f)
    if code == EVAL_SIZE:
        return BAD_F_SIZE
    if code != EVAL_OK:  # inf/NaN at x0, or fun raised there (solve() tells which)
        return NONFINITE
    if maxabs(f) <= tol:
        return SUCCESS
    # auto: the stages of AUTO_STAGES until one meets the residual test; each
    # starts from the best point so far, or from x0 (AUTO_FROM_X0); the best
    # end point wins. One call site of run_method (it is inlined).
    auto = method == AUTO
    f0 = f.copy() if auto else f[:0]
    best_x = x.copy() if auto else x[:0]
    best_f = f.copy() if auto else f[:0]
    best_status = STALLED
    best_method = BROYDEN
    for stage in range(len(AUTO_STAGES) if auto else 1):
        m = AUTO_STAGES[stage] if auto else method
        if auto and stage > 0:
            if AUTO_FROM_X0[stage]:
                copy_into(x, x0)
                copy_into(f, f0)
            else:
                copy_into(x, best_x)
                copy_into(f, best_f)
        status = run_method(ev, jac, callback, m, x, f, args, tol, xtol, maxiter, stats, hist)
        if not auto or status < 0:
            return status
        stats[EXTRA] = m
        if status == SUCCESS or status == CALLBACK:
            return status
        if status == MAXITER and (stage == 0 or maxabs(f) < maxabs(best_f)):
            return status
        if status == MAXITER:  # out of iterations, and no better than the best point
            break
        if stage == 0 or maxabs(f) < maxabs(best_f):
            copy_into(best_x, x)
            copy_into(best_f, f)
            best_status = status
            best_method = m
    copy_into(x, best_x)
    copy_into(f, best_f)
    stats[EXTRA] = best_method
    return best_status


# ------------------------------------------------------------- entry points
def solver_signature(argty, derivative):
    """The signature of :func:`solve_dense` for ``args`` of type argty, with
    ``derivative`` the type of its second pointer (the Jacobian kernel; the
    J v kernel for :func:`jacsolve.nonlinear.krylov.solve_krylov`, which
    shares it)."""
    return types.int64(types.FunctionType(ev_signature(argty)), derivative,
                       types.FunctionType(CALLBACK_SIGNATURE), F1, argty, types.int64,
                       types.float64, types.float64, types.int64, F1, F1, I1, F1)


SOLVE_PARAMS = ("x0", "args", "method", "tol", "xtol", "maxiter")
SOLVE_OUTPUTS = ("x", "f", "stats", "hist")


@cached_njit
def allocate(x0, maxiter):
    """The outputs of one solve: x, f, stats and the residual history."""
    n = x0.size
    return (np.empty(n), np.empty(n), np.zeros(NSTATS, dtype=np.int64),
            np.empty(min(maxiter, HIST_MAX) + 1))


# the address tier: kernels and the solver as first-class function values
ADDRESSED_JAC = types.FunctionType(jac_signature(ADDRESSED_ARGS))
ADDRESSED_SOLVER_SIGNATURE = solver_signature(ADDRESSED_ARGS, ADDRESSED_JAC)
load_ev = function_loader(types.FunctionType(ev_signature(ADDRESSED_ARGS)))
load_jac = function_loader(ADDRESSED_JAC)
load_callback = function_loader(types.FunctionType(CALLBACK_SIGNATURE))
load_solver = function_loader(types.FunctionType(ADDRESSED_SOLVER_SIGNATURE))


@cached_njit
def call_solver(solve, ev, derivative, callback, x0, args, method, tol, xtol, maxiter):
    """Allocate the outputs and run ``solve`` (a first-class function value):
    ``(status, x, f, stats, hist)``."""
    x, f, stats, hist = allocate(x0, maxiter)
    status = solve(ev, derivative, callback, x0, args, method, tol, xtol, maxiter, x, f, stats,
                   hist)
    return status, x, f, stats, hist


@cached_njit
def solve_dense_addressed(kernels, x0, p, rc, rj, cc, cj, method, tol, xtol, maxiter):
    """One whole solve from Python, for every compiled user function: cached.

    ``kernels`` holds the address pairs of the evaluation, Jacobian and
    callback kernels and of :func:`solve_dense` itself, all compiled for
    ``args = (p, rc, rj, cc, cj)`` (see
    :func:`jacsolve.nonlinear.root.addressed_kernels`); ``p`` holds the
    packed args of fun and ``rc, rj, cc, cj`` the addresses of its real and
    complex adapters. Returns ``(status, x, f, stats, hist)``.

    The solver is called through its address, not linked in: numba
    re-optimises and re-emits every function linked into the one it
    compiles, so each level of direct calls over the solver would cost
    about a second more of compilation with an empty cache.
    """
    return call_solver(load_solver(kernels[6], kernels[7]), load_ev(kernels[0], kernels[1]),
                       load_jac(kernels[2], kernels[3]), load_callback(kernels[4], kernels[5]),
                       x0, (p, rc, rj, cc, cj), method, tol, xtol, maxiter)
