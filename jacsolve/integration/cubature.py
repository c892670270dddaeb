"""Integration by substitution from the unit cube, against plain Monte Carlo.

For a region Ω = T([0, 1]^d) (see :mod:`jacsolve.integration.regions`),

    ∫_Ω f(x) dx = ∫_[0,1]^d f(T(u)) |det J_T(u)| du,

and the pulled-back integrand is smooth whenever f and T are, so Gauss–Legendre
and quasi-Monte Carlo converge fast on it. Plain hit-or-miss Monte Carlo
(sampling the bounding box and keeping the points inside) integrates a
discontinuous function instead and converges like n^-1/2 at best.

|det J_T| is the region's formula when it has one (``det="analytic"``), or
comes from jacsolve's complex-step Jacobian kernel (``det="complex"``, exact
to rounding) or its central differences (``det="central"``, for maps that are
not complex-safe). Map and integrand run in compiled code over chunks of
points on all cores.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from . import quadrature as q
from .._numba.options import is_jitted, warn_if_python
from .._numba.prepared import unpacked_args_source, pack_args, prepare, returning_form
from .._arguments import as_args, as_choice, as_seed, positive_float, positive_int
from .._numba.calls import call_kernel, evaluate_once
from .regions import Region
from ..status import Status

__all__ = ["integrate", "integrate_mc", "compare_integration", "IntegrationResult",
           "IntegrationComparison", "IntegrationWarning"]

METHODS = ("gauss", "qmc", "mc", "adaptive")
BATCH = 1 << 17                     # points per compiled call (bounds memory)
EPS = np.finfo(float).eps
DEFAULT_N = {"qmc": 1 << 16, "mc": 1 << 16, "adaptive": 200_000}
ADAPTIVE_ORDER = {1: 15, 2: 8, 3: 6}   # Gauss order per axis in each cell (4 beyond)
# Sampling methods need this many effective points (n_eff = (sum |g_i|)^2 /
# sum g_i^2 of the sampled values g_i) before their standard error is
# trusted: a standard error computed from fewer rests on a handful of points
# (with normal data its own relative error is sqrt(2 / n_eff), 14 % at 100; a
# heavy tail that no point reached is invisible to it).
MIN_EFFECTIVE_POINTS = 100


class IntegrationWarning(UserWarning):
    """An integral did not meet its tolerance (like SciPy's ``IntegrationWarning``).

    Issued by :func:`integrate` and :func:`integrate_mc` whenever their result
    has ``success=False`` because the error estimate missed ``rtol``/``atol``,
    the evaluation budget ran out, or the points could not resolve the
    integrand (``status`` NOT_CONVERGED or MAXFEV). The result says the same
    in its ``message``.
    """


@dataclass(frozen=True, slots=True)
class IntegrationResult:
    """Result of :func:`integrate` or :func:`integrate_mc`.

    Attributes
    ----------
    value : float
        The integral estimate.
    error : float
        Error estimate: one standard error for ``"mc"``, ``"qmc"`` and
        hit-or-miss (so the truth lies within it about 68 % of the time, 65 %
        for 8 QMC replicates); |Q_m - Q_m'| between two Gauss orders for
        ``"gauss"`` (an upper estimate once the rule resolves the integrand);
        the sum over cells of that difference for ``"adaptive"``.
    nfev : int
        Number of integrand evaluations.
    method : str
        ``"gauss"``, ``"qmc"``, ``"mc"``, ``"adaptive"`` or ``"hit-or-miss"``.
    success, status, message
        ``success`` is True only when ``error <= max(atol, rtol |value|)``
        and the method's own checks hold. Otherwise ``status`` says why:
        NONFINITE when the integrand (times |det J|) or the region's map was
        not finite at some points (the value is then NaN or inf, never
        silently repaired); NOT_CONVERGED when the error estimate missed the
        tolerance, when successive Gauss orders do not converge (a
        singularity or a divergent integral), or when too few sampled points
        carry the estimate; MAXFEV when ``"adaptive"`` ran out of
        evaluations. The message gives the estimate reached and what to try;
        an :class:`IntegrationWarning` is issued for NOT_CONVERGED and MAXFEV.
    det : str
        How |det J_T| was obtained: ``"analytic"``, ``"complex"``,
        ``"central"``, or ``"indicator"`` for hit-or-miss (also readable as
        ``jac_method``, the name the other results use).
    n_nonfinite : int
        Number of points where the integrand was inf or NaN.
    """
    value: float
    error: float
    nfev: int
    method: str
    success: bool = True
    status: Status = Status.SUCCESS
    message: str = "integral computed"
    det: str = ""
    n_nonfinite: int = 0

    @property
    def jac_method(self) -> str:
        """How |det J_T| was obtained (the same as ``det``)."""
        return self.det

    def __repr__(self) -> str:
        return (f"IntegrationResult(value={self.value!r}, error={self.error:.3g}, "
                f"nfev={self.nfev}, method={self.method!r}, det={self.det!r}, "
                f"success={self.success}, message={self.message!r})")


class _Problem:
    """The integrand on a region: validated once, then evaluated in batches."""

    # what evaluating points accumulates (a run on a cluster adds its chunks' counters)
    COUNTERS = ("nfev", "nonfinite", "map_nonfinite", "sum_abs", "sum_sq")

    def __init__(self, f, region, args, det):
        if not isinstance(region, Region):
            raise TypeError(f"region must be a jacsolve.integration.regions.Region, got "
                            f"{type(region).__name__}")
        if not callable(f):
            raise TypeError(f"f must be callable, got {type(f).__name__}")
        self.f, self.region, self.args = f, region, as_args(args)
        self.det = det if isinstance(det, str) and det == "indicator" else region.det_method(det)
        warn_if_python(f, stacklevel=4)
        point = region.midpoint(self.det if self.det != "indicator" else None)
        value, scalar = evaluate_once(f, point, self.args, "f")
        if not scalar:
            raise TypeError(f"f must return a scalar, got an array of shape {value.shape}")
        self.fun, self.fargs, self.tier = self._tier(f, self.args)
        self.alive = prepare(f) if self.tier == "cached" else None  # owns the adapter
        self.nfev = 0
        self.nonfinite = 0
        self.first_bad = None
        self.map_nonfinite = 0  # points where the region's map itself was not finite
        # sum |f(x_i) w_i| and sum (f(x_i) w_i)^2 over every point that passes through
        # weighted(): the effective sample size of the sampling methods (see _verdict)
        self.sum_abs = 0.0
        self.sum_sq = 0.0

    @staticmethod
    def _tier(f, args) -> tuple:
        """(fun, fargs, tier) for :data:`quadrature.integrand_points`.

        A numba ``f`` is reached through the address of its scalar adapter
        (:func:`quadrature.adapter`) by :func:`quadrature.integrand_addressed`
        (the cached tier), or bound into the kernel (the specialised tier)
        where ``args`` cannot travel as one float vector or the adapter does
        not compile; a plain Python ``f`` runs the kernel as Python.
        """
        if not is_jitted(f):
            return f, args, "python"
        layout, p = pack_args(args)
        if layout is None:
            return f, args, "specialised"
        try:
            rc, rj = q.adapter(f, "integrand", layout, f"_fun(x{unpacked_args_source(layout)})", False,
                               "f")
        except TypeError:      # e.g. f returns complex values: the kernel reports it
            return f, args, "specialised"
        return None, (p, rc, rj) + q.no_complex(), "cached"

    def weighted(self, X, W) -> np.ndarray:
        """f(X[i]) * W[i] (f not called where W[i] == 0); counts non-finite values."""
        out = np.empty(X.shape[0])
        X = np.ascontiguousarray(X)
        if self.tier == "cached":
            call_kernel(q.run_chunked, q.integrand_addressed, True, X.shape[0], self.fargs, X, W,
                        out, name="f")
        else:
            call_kernel(q.run_tier, q.integrand_points, (self.fun,), self.tier, X.shape[0],
                        self.fargs, X, W, out, name="f")
        self.nfev += int(np.count_nonzero(W))
        self.sum_abs += float(np.abs(out).sum())
        self.sum_sq += float(np.square(out).sum())
        bad = ~np.isfinite(out)
        if bad.any():
            if self.nonfinite == 0:
                self.first_bad = X[np.flatnonzero(bad)[0]].copy()
            self.nonfinite += int(bad.sum())
        return out

    def pulled_back(self, U, W) -> np.ndarray:
        """f(T(U)) |det J_T(U)| W (W is NaN where T(U) is not finite: see map_points)."""
        X = self.region.map_into(U, W, self.det)
        self.map_nonfinite += int(np.count_nonzero(np.isnan(W)))
        return self.weighted(X, W)

    def effective_points(self) -> float:
        """(sum |g_i|)^2 / sum g_i^2 over the values g_i = f(x_i) w_i so far."""
        return self.sum_abs ** 2 / self.sum_sq if self.sum_sq > 0 else 0.0

    def result(self, value, error, method, status=Status.SUCCESS, message=None):
        if self.nonfinite:
            status = Status.NONFINITE
            where = (f"; the region's map itself was not finite at {self.map_nonfinite} of "
                     "them (x = NaN there)" if self.map_nonfinite else "")
            message = (f"f(x) * |det J| was not finite at {self.nonfinite} of {self.nfev} "
                       f"points (first at x = {np.array2string(self.first_bad, precision=6)})"
                       f"{where}; the value is not finite: no point was dropped")
            value = value if not np.isfinite(value) else math.nan
        return IntegrationResult(float(value), float(error), self.nfev, method,
                                 status == Status.SUCCESS, status,
                                 message or "integral computed", self.det, self.nonfinite)


def _rng(seed):
    seed = as_seed(seed)
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _n(n, method, d) -> int:
    if n is None:
        return min(60 ** d, 100_000) if method == "gauss" else DEFAULT_N[method]
    return positive_int(n, "n")


# -------------------------------------------------------------------- rules
def _lower_order(m: int) -> int:
    return max(1, m - max(1, m // 3))


def gauss_orders(n: int, d: int):
    """Orders m > m2 > m3 (each about 2/3 of the one before) with m^d + m2^d + m3^d <= n.

    m is the rule reported; m2 gives its error estimate |Q_m - Q_m2|; m3
    checks that the rule converges (see :func:`_gauss`).
    """
    def cost(m):
        m2 = _lower_order(m)
        return m ** d + m2 ** d + _lower_order(m2) ** d

    m = max(3, int(n ** (1.0 / d)) + 1)
    while m >= 3 and cost(m) > n:
        m -= 1
    if m < 3:
        raise ValueError(f"n = {n} is too small for method='gauss' in {d} dimensions "
                         f"(three Gauss orders 3, 2, 1 need n >= {gauss_min_n(d)})")
    m = min(m, 2000)
    m2 = _lower_order(m)
    return m, m2, _lower_order(m2)


def gauss_min_n(d: int) -> int:
    """The smallest budget ``n`` for which ``method="gauss"`` runs in d dimensions."""
    return 3 ** d + 2 ** d + 1


def _tensor_sum(problem, order, d) -> tuple:
    total = 0.0
    size = 0.0
    N = order ** d
    for start in range(0, N, BATCH):
        U, W = q.tensor_rule([order] * d, start, min(N, start + BATCH))
        out = problem.pulled_back(U, W)
        total += out.sum()
        size += np.abs(out).sum()
    return total, size


def _gauss(problem, n, rtol, atol):
    """Tensor Gauss of orders m > m2 > m3: value Q_m, error |Q_m - Q_m2|.

    That difference bounds the error of Q_m once the rule converges at least
    like m^-p with (m / m2)^p >= 2. The third order checks it: under
    Q_k = Q + C k^-p, |Q_m - Q_m2| / |Q_m2 - Q_m3| is a decreasing function of
    p, so a ratio above its value at that p (about 0.44 for m2 = 2m/3) means
    slower convergence: a singularity, a peak the rule misses, or a divergent
    integral, and the result is NOT_CONVERGED whatever the tolerance.
    Differences within 100 eps of the sums' size (the integrand's own
    rounding, a few ulps per value), or below 1/1000 of the tolerance
    max(atol, rtol |Q_m|), count as converged: the ratio of two noise-level
    differences means nothing, and below tol/1000 even convergence as slow
    as m^-0.003 would keep the error of Q_m under tol.
    """
    d = problem.region.dim
    m, m2, m3 = gauss_orders(n, d)
    value, size = _tensor_sum(problem, m, d)
    q2, size2 = _tensor_sum(problem, m2, d)
    q3, size3 = _tensor_sum(problem, m3, d)
    rounding = 4 * EPS * max(size, size2, size3)
    d1, d2 = abs(value - q2), abs(q2 - q3)
    error = d1 + rounding
    noise = max(25 * rounding, 1e-3 * max(atol, rtol * abs(float(value))))
    if d1 <= noise or not np.isfinite(value + q2 + q3):
        return problem.result(value, error, "gauss")
    p = math.log(2.0) / math.log(m / m2)
    limit = (m2 ** -p - m ** -p) / (m3 ** -p - m2 ** -p)
    if d1 > limit * max(d2, noise):
        return problem.result(
            value, error, "gauss", Status.NOT_CONVERGED,
            f"Gauss orders {m3}, {m2}, {m} per axis gave {q3:.10g}, {q2:.10g}, {value:.10g}: "
            f"the differences shrink by a factor {d1 / max(d2, noise):.2g} (converged rules "
            f"shrink them below {limit:.2g}), so the error estimate {error:.3g} is not a bound; "
            "the integrand has a singularity or a peak the rule does not resolve, or the "
            "integral diverges. Try method='adaptive', a region whose map removes the "
            "singularity (Simplex for a corner, polar coordinates for a point), or a "
            "scale= matching the integrand's width for unbounded regions")
    return problem.result(value, error, "gauss")


def _qmc(problem, n, rng, replicates, client=None, progress=False):
    R = positive_int(replicates, "replicates")
    if R < 2:
        raise ValueError(f"replicates must be >= 2 for an error estimate, got {R}")
    d = problem.region.dim
    k = max(1, int(round(math.log2(max(n / R, 2)))))
    N = 1 << k
    seeds = [int(rng.integers(2 ** 63)) for _ in range(R)]
    bar = _progress(progress, R * N)
    if client is not None:    # the same chunks of BATCH points, summed in the same order
        from ..distributed.integration import qmc_on_cluster
        estimates = qmc_on_cluster(client, problem, seeds, N, bar)
    else:
        estimates = []
        for seed in seeds:
            engine = q.sobol_engine(d, np.random.default_rng(seed))
            total = 0.0
            for start in range(0, N, BATCH):
                b = min(N, start + BATCH) - start
                total += qmc_part(problem, engine, N, b)
                bar.add(b)
            estimates.append(total)
    bar.close()
    est = np.array(estimates)
    return problem.result(est.mean(), est.std(ddof=1) / math.sqrt(R), "qmc")


def _progress(how, total):
    """The :class:`~jacsolve.distributed.progress.Progress` of a sampling method's points."""
    from ..distributed.progress import Progress
    return Progress(how, total, "points", "integrate")


def qmc_part(problem, engine, N, b) -> float:
    """The sum of f(T(u)) |det J_T(u)| / N over the engine's next b points."""
    return problem.pulled_back(engine.random(b), np.full(b, 1.0 / N)).sum()


def mc_shift(g) -> float:
    """The shift of the Monte Carlo sums: the mean of the first chunk (if finite)."""
    return float(np.mean(g)) if np.all(np.isfinite(g)) else 0.0


def mc_sums(g, shift) -> tuple:
    """sum(g - shift) and sum((g - shift)^2) of one chunk."""
    return np.sum(g - shift), np.sum((g - shift) ** 2)


def _monte_carlo(problem, n, batch, method, client=None, points=None, progress=False):
    """Mean and standard error of n samples (each an estimate of the integral) from ``batch(b)``.

    ``client``: the chunks of BATCH samples run on a Dask cluster, where
    ``points`` (a :class:`jacsolve.distributed.integration.Points`) draws them
    from the same random stream; the sums are added in the same order.
    """
    s1 = s2 = 0.0
    shift = None
    bar = _progress(progress, n)
    if client is not None:
        from ..distributed.integration import mc_on_cluster
        shift, parts = mc_on_cluster(client, problem, points, n, bar)
        for a, b in parts:
            s1 += a
            s2 += b
    else:
        for start in range(0, n, BATCH):
            g = batch(min(n, start + BATCH) - start)
            if shift is None:
                shift = mc_shift(g)
            a, b = mc_sums(g, shift)
            s1 += a
            s2 += b
            bar.add(g.size)
    bar.close()
    mean = shift + s1 / n
    var = max(s2 - s1 * s1 / n, 0.0) / (n - 1) if n > 1 else math.inf
    return problem.result(mean, math.sqrt(var / n), method)


def _mc(problem, n, rng, client=None, progress=False):
    d = problem.region.dim
    if client is not None:
        from ..distributed.integration import Points
        return _monte_carlo(problem, n, None, "mc", client, Points.cube(rng, d), progress)
    return _monte_carlo(problem, n, lambda b: problem.pulled_back(rng.random((b, d)),
                                                                  np.ones(b)), "mc",
                        progress=progress)


def adaptive_orders(d: int) -> tuple:
    """(m, m2): the Gauss orders per axis of one cell of ``method="adaptive"``."""
    m = ADAPTIVE_ORDER.get(d, 4)
    return m, max(1, m - 2)


def adaptive_cell_points(d: int) -> int:
    """Points of one cell of ``method="adaptive"``: m^d + m2^d."""
    m, m2 = adaptive_orders(d)
    return m ** d + m2 ** d


def _adaptive_budget(n: int, d: int) -> None:
    """Refuse (before any work) a budget ``n`` below one cell's points."""
    m, m2 = adaptive_orders(d)
    per_cell = adaptive_cell_points(d)
    if per_cell > n:
        raise ValueError(f"n = {n} is too small for method='adaptive' in {d} dimensions: one "
                         f"cell takes {m}^{d} + {m2}^{d} = {per_cell} points (need n >= "
                         f"{per_cell}); in high dimension use method='qmc' or 'mc'")


def _adaptive(problem, n, rtol, atol):
    """h-adaptive Gauss on the cube: split the worst cells in two along the axis
    whose Legendre tail (of the cell's marginal along that axis) is largest.

    Never evaluates more than ``n`` points (checked by :func:`_adaptive_budget`
    before the first cell), and cells are evaluated in groups of at most
    ``BATCH`` points (at least one cell) to bound memory.
    """
    d = problem.region.dim
    m, m2 = adaptive_orders(d)
    Ua, Wa = q.tensor_rule([m] * d, 0, m ** d)
    Ub, Wb = q.tensor_rule([m2] * d, 0, m2 ** d)
    Uref, Wref = np.concatenate([Ua, Ub]), np.concatenate([Wa, Wb])
    pa, per_cell = m ** d, Uref.shape[0]
    tail = q.legendre_tail(m)                       # (2, m)

    group = max(1, BATCH // per_cell)

    def evaluate(lo, hi):
        if len(lo) > group:
            parts = [evaluate(lo[k:k + group], hi[k:k + group]) for k in range(0, len(lo), group)]
            return tuple(np.concatenate(c) for c in zip(*parts))
        span = hi - lo
        U = (lo[:, None, :] + span[:, None, :] * Uref[None]).reshape(-1, d)
        W = (np.prod(span, 1)[:, None] * Wref[None]).reshape(-1)
        out = problem.pulled_back(U, W).reshape(len(lo), per_cell)
        Q, Q2 = out[:, :pa].sum(1), out[:, pa:].sum(1)
        err = np.abs(Q - Q2) + 4 * EPS * np.abs(out).sum(1)
        grid = out[:, :pa].reshape((len(lo),) + (m,) * d)
        score = np.empty((len(lo), d))
        for k in range(d):
            marginal = grid.sum(axis=tuple(a + 1 for a in range(d) if a != k))
            score[:, k] = np.abs(marginal @ tail.T).sum(1)
        return Q, err, np.argmax(score, 1)

    lo, hi = np.zeros((1, d)), np.ones((1, d))
    Q, E, axis = evaluate(lo, hi)
    while True:
        value, error = Q.sum(), E.sum()
        if problem.nonfinite or error <= max(atol, rtol * abs(float(value))):
            return problem.result(value, error, "adaptive")
        affordable = (n - problem.nfev) // (2 * per_cell)
        if affordable < 1:
            return problem.result(value, error, "adaptive", Status.MAXFEV,
                                  f"n = {n} evaluations used before reaching rtol = {rtol:g}, "
                                  f"atol = {atol:g}: error estimate {error:.3g}; raise n, "
                                  "or loosen rtol/atol")
        # split the largest cells that make up half the error (at least one)
        order = np.argsort(-E)
        count = int(np.searchsorted(np.cumsum(E[order]), 0.5 * error)) + 1
        pick = order[:min(count, affordable, 4096)]
        keep = np.setdiff1d(np.arange(len(Q)), pick)
        rows = np.arange(len(pick))
        mid = 0.5 * (lo[pick, axis[pick]] + hi[pick, axis[pick]])
        lo1, hi1 = lo[pick].copy(), hi[pick].copy()
        hi1[rows, axis[pick]] = mid
        lo2, hi2 = lo[pick].copy(), hi[pick].copy()
        lo2[rows, axis[pick]] = mid
        nlo, nhi = np.concatenate([lo1, lo2]), np.concatenate([hi1, hi2])
        nQ, nE, naxis = evaluate(nlo, nhi)
        lo, hi = np.concatenate([lo[keep], nlo]), np.concatenate([hi[keep], nhi])
        Q, E, axis = (np.concatenate([Q[keep], nQ]), np.concatenate([E[keep], nE]),
                      np.concatenate([axis[keep], naxis]))


# ------------------------------------------------------------------ verdict
ADVICE = {
    "gauss": "raise n, or try method='adaptive' (peaks, singular corners and edges)",
    "adaptive": "raise n, or loosen rtol/atol",
    "qmc": "raise n (the error falls about like 1/n), use method='gauss' or 'adaptive' for a "
           "smooth integrand in few dimensions, or pass an rtol/atol that sampling can meet",
    "mc": "raise n (the error falls like 1/sqrt(n)), use method='qmc', 'gauss' or "
          "'adaptive', or pass an rtol/atol that sampling can meet",
    "hit-or-miss": "raise n (the error falls like 1/sqrt(n)), use jacsolve.integrate "
                   "(substitution), or pass an rtol/atol that sampling can meet",
}
SAMPLED = ("qmc", "mc", "hit-or-miss")


def _tolerances(rtol, atol) -> tuple:
    rtol = positive_float(rtol, "rtol", allow_zero=True)
    atol = positive_float(atol, "atol", allow_zero=True)
    if rtol == 0.0 and atol == 0.0:
        raise ValueError("rtol and atol must not both be 0")
    return rtol, atol


def _verdict(problem, res: IntegrationResult, rtol: float, atol: float) -> IntegrationResult:
    """``res`` with success only where its error estimate meets the tolerance
    and (sampling methods) at least MIN_EFFECTIVE_POINTS points carry it;
    issues an :class:`IntegrationWarning` for NOT_CONVERGED and MAXFEV."""
    status, message = res.status, res.message
    advice = ADVICE[res.method]
    if status == Status.SUCCESS and res.method in SAMPLED:
        n_eff = problem.effective_points()
        if n_eff < MIN_EFFECTIVE_POINTS:
            status = Status.NOT_CONVERGED
            message = (f"the points do not resolve the integrand: the estimate {res.value:.6g} "
                       f"rests on about {n_eff:.3g} effective points of {res.nfev} evaluated "
                       f"(n_eff = (sum |g|)^2 / sum g^2 of the weighted values; at least "
                       f"{MIN_EFFECTIVE_POINTS} are needed to trust the error estimate "
                       f"{res.error:.3g}), so both may be far off. The integrand (times "
                       "|det J|) is concentrated where few points land: use a region or map "
                       "that spreads it, method='gauss' or 'adaptive' in few dimensions, or "
                       "raise n")
    tol = max(atol, rtol * abs(float(res.value)))   # Python floats overflow to inf silently
    if status == Status.SUCCESS and not res.error <= tol:
        status = Status.NOT_CONVERGED
        rel = res.error / abs(res.value) if res.value != 0 else math.inf
        message = (f"the error estimate {res.error:.3g} ({rel:.2g} relative) does not meet "
                   f"rtol = {rtol:g}, atol = {atol:g} after {res.nfev} evaluations: {advice}")
    if status == Status.SUCCESS:
        message = (f"integral computed: error estimate {res.error:.3g} <= "
                   f"max(atol, rtol |value|) = {tol:.3g}")
    if status in (Status.NOT_CONVERGED, Status.MAXFEV):
        warnings.warn(message, IntegrationWarning, stacklevel=3)
    return dataclasses.replace(res, success=status == Status.SUCCESS, status=status,
                               message=message)


# -------------------------------------------------------------------- public
def integrate(f: Callable, region: Region, *, method: str = "gauss", n: Optional[int] = None,
              seed=None, args=(), det: str = "auto", replicates: int = 8,
              rtol: float = 1e-10, atol: float = 0.0, client=None,
              progress=False) -> IntegrationResult:
    """Integrate ``f`` over ``region`` by substitution from the unit cube.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> float`` with x a 1-D array of length ``region.dim``.
        A numba function (``@jacsolve.jit``) runs compiled on all cores; a
        plain Python function works too (slower, one PerformanceWarning).
    region : jacsolve.integration.regions.Region
        The domain, e.g. ``Disk()``, ``Torus(2, 1)``, ``Mapped(T, d)``.
    method : {"gauss", "qmc", "mc", "adaptive"}
        * ``"gauss"``: tensor Gauss–Legendre of the largest order m with
          m^d + m2^d + m3^d <= n (m2 ≈ 2m/3, m3 ≈ 2m2/3); error
          |Q_m - Q_m2|, trusted only where Q_m3, Q_m2, Q_m converge at
          least like m^-p with (m/m2)^p >= 2 (else NOT_CONVERGED: a
          singularity, an unresolved peak or a divergent integral).
        * ``"qmc"``: ``replicates`` independently scrambled Sobol sequences
          (64-bit) of 2^k points, n in total; error = standard error of the
          replicate means.
        * ``"mc"``: plain Monte Carlo on the substituted integrand; error =
          standard error.

        "qmc" and "mc" also need at least 100 effective points,
        (sum |g_i|)^2 / sum g_i^2 over the sampled values g_i: where a
        handful of points carry the estimate (an integrand concentrated in a
        corner of the cube, as Simplex's Duffy map makes in high dimension),
        neither the value nor its standard error can be trusted.
        * ``"adaptive"``: h-adaptive Gauss on the cube, splitting the worst
          cells in two along their worst axis until the error estimate is
          <= max(atol, rtol |value|) or n evaluations are used; for peaks and
          singular corners.
    n : int, optional
        Number of integrand evaluations (about; a budget never exceeded for
        "adaptive", which refuses an n below one cell's m^d + m2^d points).
        Defaults: gauss min(60^d, 10^5), qmc and mc 2^16, adaptive 2 * 10^5.
    seed : int or numpy.random.Generator, optional
        For "qmc" and "mc": a non-negative integer, a Generator or None.
    args : tuple
        Extra arguments of ``f``.
    det : {"auto", "analytic", "complex", "central"}
        How to get |det J_T|: "auto" uses the region's formula when it has
        one, else jacsolve's complex-step Jacobian.
    replicates : int
        Number of scrambled replicates for "qmc".
    rtol, atol : float
        The tolerance: ``success`` only where the error estimate is
        <= max(atol, rtol |value|) (for every method; "adaptive" refines
        until it holds). Sampling methods rarely reach the default rtol:
        pass the accuracy you need.
    client : dask.distributed.Client, str or None
        "qmc" and "mc" only: evaluate the chunks of points on a Dask cluster
        (see :mod:`jacsolve.distributed`); the same result, bit for bit.
    progress : bool or callable
        "qmc" and "mc": ``True`` prints the points evaluated on stderr; a
        callable is called as ``progress(done, total)``. Silent by default
        (and for the other methods).

    Returns
    -------
    IntegrationResult
        With ``success=False`` (and an :class:`IntegrationWarning`) where
        the tolerance was not met; ``message`` gives the estimate reached.

    Raises
    ------
    ValueError
        For a budget ``n`` too small for the method in ``region.dim``
        dimensions (before any evaluation), or a bad ``seed``, ``rtol``,
        ``atol``.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> from jacsolve.integration.regions import Torus
    >>> z2 = jacsolve.jit(lambda x: x[2] * x[2])
    >>> res = jacsolve.integrate(z2, Torus(R=2.0, r=1.0), n=20000)
    >>> res.success, bool(abs(res.value - np.pi ** 2) < 1e-12)    # 2 pi^2 R r^2 * r^2 / 4
    (True, True)
    >>> sampled = jacsolve.integrate(z2, Torus(R=2.0, r=1.0), method="qmc", n=4096, seed=0,
    ...                              rtol=1e-3)
    >>> sampled.success, bool(abs(sampled.value - np.pi ** 2) < 4 * sampled.error)
    (True, True)
    """
    f = returning_form(f, scalar=True)  # the in-place form, as y = f(x, *args)
    method = as_choice(method, "method", METHODS)
    rtol, atol = _tolerances(rtol, atol)
    rng = _rng(seed) if method in ("qmc", "mc") else as_seed(seed)
    n = _n(n, method, getattr(region, "dim", 1))
    if isinstance(region, Region):        # budgets refused before any evaluation
        if method == "gauss":
            gauss_orders(n, region.dim)
        elif method == "adaptive":
            _adaptive_budget(n, region.dim)
    if client is not None and method not in ("qmc", "mc"):
        raise ValueError(f"client= runs method='qmc' or 'mc' on a cluster, not {method!r}")
    problem = _Problem(f, region, args, det)
    if method == "gauss":
        res = _gauss(problem, n, rtol, atol)
    elif method == "qmc":
        res = _qmc(problem, n, rng, replicates, client, progress)
    elif method == "mc":
        res = _mc(problem, n, rng, client, progress)
    else:
        res = _adaptive(problem, n, rtol, atol)
    return _verdict(problem, res, rtol, atol)


def integrate_mc(f: Callable, region: Region, *, n: int = 1 << 16, seed=None,
                 args=(), rtol: float = 1e-10, atol: float = 0.0,
                 client=None, progress=False) -> IntegrationResult:
    """Hit-or-miss Monte Carlo: sample the bounding box, keep the points inside.

    The estimate is vol(box) * mean(f(x) 1_Ω(x)) over n uniform points of
    the box, with its standard error. This is the baseline that substitution
    (:func:`integrate`) is measured against. As there, ``success`` needs the
    standard error <= max(atol, rtol |value|) and at least 100 effective
    points (too few points inside the region make the estimate worthless);
    otherwise NOT_CONVERGED and an :class:`IntegrationWarning`. ``seed`` is
    a non-negative integer, a Generator or None. ``client``: run on a Dask
    cluster, as in :func:`integrate` (the same result, bit for bit).
    ``progress``: report the points evaluated, as in :func:`integrate`.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> from jacsolve.integration.regions import Disk
    >>> res = jacsolve.integrate_mc(jacsolve.jit(lambda x: 1.0), Disk(), n=100_000, seed=1,
    ...                             rtol=0.01)
    >>> res.success, bool(abs(res.value - np.pi) < 4 * res.error)
    (True, True)
    """
    f = returning_form(f, scalar=True)  # the in-place form, as y = f(x, *args)
    n = positive_int(n, "n")
    rtol, atol = _tolerances(rtol, atol)
    as_seed(seed)
    problem = _Problem(f, region, args, "indicator")
    if not region.has_indicator:
        raise ValueError(f"region {type(region).__name__} has no indicator (contains=) for "
                         "hit-or-miss Monte Carlo")
    lo, hi = region.bounds
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("region has an unbounded bounding box: hit-or-miss Monte Carlo "
                         "needs a finite one")
    rng = _rng(seed)
    span = hi - lo
    vol = float(np.prod(span))

    def batch(b):
        return hit_or_miss_part(problem, rng.random((b, region.dim)), lo, span, vol)

    points = None
    if client is not None:
        from ..distributed.integration import Points
        points = Points.box_of(rng, region.dim, lo, span, vol)
    return _verdict(problem, _monte_carlo(problem, n, batch, "hit-or-miss", client, points,
                                          progress), rtol, atol)


def hit_or_miss_part(problem, U, lo, span, vol):
    """f(x) 1_Ω(x) vol(box) at the points x = lo + span * U of the bounding box."""
    X = lo + span * U
    W = np.empty(U.shape[0])
    problem.region.indicator_into(X, W, vol)
    return problem.weighted(X, W)


# ----------------------------------------------------------------- comparison
COMPARED = ("hit-or-miss", "mc", "qmc", "gauss")


@dataclass(frozen=True)
class IntegrationComparison:
    """Convergence study from :func:`compare_integration`.

    ``rows`` holds one dict per (method, n): method, n, nfev, value,
    error_estimate, error (|value - exact| when ``exact`` was given, else the
    error estimate) and success.
    """
    rows: list
    exact: Optional[float]
    region: str

    def series(self):
        """{method: (nfev array, error array)} for plotting."""
        out = {}
        for method in dict.fromkeys(r["method"] for r in self.rows):
            rs = [r for r in self.rows if r["method"] == method]
            out[method] = (np.array([r["nfev"] for r in rs]), np.array([r["error"] for r in rs]))
        return out

    def markdown(self) -> str:
        kind = "|value - exact|" if self.exact is not None else "error estimate"
        lines = [f"Integration over {self.region}; error = {kind}", "",
                 "| method | n | nfev | value | error estimate | error |",
                 "|---|---|---|---|---|---|"]
        for r in self.rows:
            lines.append(f"| {r['method']} | {r['n']} | {r['nfev']} | {r['value']:.15g} | "
                         f"{r['error_estimate']:.2e} | {r['error']:.2e} |")
        return "\n".join(lines)

    def plot(self, path=None, ax=None):
        """Log-log plot of error against evaluations (needs matplotlib: jacsolve[plot])."""
        try:
            import matplotlib
            if ax is None and path is not None:
                matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("plotting needs matplotlib: pip install 'jacsolve[plot]'") from None
        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4.5))
        floor = 1e-17
        for method, (nfev, err) in self.series().items():
            ax.loglog(nfev, np.maximum(err, floor), "o-", label=method)
        ax.set_xlabel("integrand evaluations")
        ax.set_ylabel("|error|" if self.exact is not None else "error estimate")
        ax.set_title(f"Integration over {self.region}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        if path is not None:
            ax.figure.savefig(path, dpi=120, bbox_inches="tight")
        return ax

    def __repr__(self) -> str:
        return self.markdown()


def compare_integration(f: Callable, region: Region, *, ns: Sequence[int] = (100, 1000, 10_000,
                                                                            100_000),
                        exact: Optional[float] = None, args=(), seed=0, det: str = "auto",
                        methods: Sequence[str] = COMPARED) -> IntegrationComparison:
    """Error against evaluations for hit-or-miss MC and substituted MC, QMC, Gauss.

    Parameters
    ----------
    f, region, args, det
        As for :func:`integrate`.
    ns : sequence of int
        Evaluation budgets. Gauss skips budgets too small for its three
        orders, adaptive those below one cell. Each row records ``success``;
        no :class:`IntegrationWarning` is issued (the study expects small
        budgets to fall short).
    exact : float, optional
        The true value; the table's ``error`` is then |value - exact|, else
        each method's own error estimate.
    seed : int
        Seed of the random methods (the same for every n).
    methods : sequence of str
        Any of "hit-or-miss", "mc", "qmc", "gauss", "adaptive".

    Returns
    -------
    IntegrationComparison
        ``.rows``, ``.markdown()``, ``.series()`` and ``.plot(path)``.

    Examples
    --------
    >>> import jacsolve
    >>> from jacsolve.integration.regions import Disk
    >>> one = jacsolve.jit(lambda x: 1.0)
    >>> cmp = jacsolve.compare_integration(one, Disk(), ns=[100, 10_000], exact=3.141592653589793)
    >>> [r["method"] for r in cmp.rows][:3]
    ['hit-or-miss', 'hit-or-miss', 'mc']
    >>> cmp.rows[-1]["error"] < 1e-12        # Gauss at 10^4 evaluations
    True
    """
    f = returning_form(f, scalar=True)  # the in-place form, as y = f(x, *args)
    bad = [m for m in methods if m not in COMPARED + ("adaptive",)]
    if bad:
        raise ValueError(f"methods must be among {COMPARED + ('adaptive',)}, got {bad[0]!r}")
    budgets = [positive_int(int(v), "ns") if float(v) == int(v) else positive_int(v, "ns")
               for v in ns]
    rows = []
    for method in methods:
        for n in budgets:
            if method == "gauss" and n < gauss_min_n(region.dim):
                continue
            if method == "adaptive" and n < adaptive_cell_points(region.dim):
                continue
            with warnings.catch_warnings():   # a study of convergence: rows record success
                warnings.simplefilter("ignore", IntegrationWarning)
                if method == "hit-or-miss":
                    res = integrate_mc(f, region, n=n, seed=seed, args=args)
                elif method == "adaptive":
                    res = integrate(f, region, method=method, n=n, args=args, det=det,
                                    rtol=1e-14)
                else:
                    res = integrate(f, region, method=method, n=n, seed=seed, args=args,
                                    det=det)
            err = abs(res.value - exact) if exact is not None else res.error
            rows.append(dict(method=method, n=n, nfev=res.nfev, value=res.value,
                             error_estimate=res.error, error=err, success=res.success))
    return IntegrationComparison(rows, exact, repr(region))
