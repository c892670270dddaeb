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

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from . import quadrature as q
from .._numba.options import is_jitted, warn_if_python
from .._numba.prepared import unpacked_args_source, pack_args, prepare, returning_form
from .._arguments import as_args, positive_float, positive_int
from .._numba.calls import call_kernel, evaluate_once
from .regions import Region
from ..status import Status

__all__ = ["integrate", "integrate_mc", "compare_integration", "IntegrationResult",
           "IntegrationComparison"]

METHODS = ("gauss", "qmc", "mc", "adaptive")
BATCH = 1 << 17                     # points per compiled call (bounds memory)
EPS = np.finfo(float).eps
DEFAULT_N = {"qmc": 1 << 16, "mc": 1 << 16, "adaptive": 200_000}
ADAPTIVE_ORDER = {1: 15, 2: 8, 3: 6}   # Gauss order per axis in each cell (4 beyond)


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
        ``success`` is False when the integrand (times |det J|) was not
        finite at some points (``status`` NONFINITE: the value is then NaN or
        inf, never silently repaired) or when ``"adaptive"`` ran out of
        evaluations before reaching its tolerance (MAXFEV).
    det : str
        How |det J_T| was obtained: ``"analytic"``, ``"complex"``,
        ``"central"``, or ``"indicator"`` for hit-or-miss.
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

    def __repr__(self) -> str:
        return (f"IntegrationResult(value={self.value!r}, error={self.error:.3g}, "
                f"nfev={self.nfev}, method={self.method!r}, det={self.det!r}, "
                f"success={self.success}, message={self.message!r})")


class _Problem:
    """The integrand on a region: validated once, then evaluated in batches."""

    def __init__(self, f, region, args, det):
        if not isinstance(region, Region):
            raise TypeError(f"region must be a jacsolve.integration.regions.Region, got "
                            f"{type(region).__name__}")
        if not callable(f):
            raise TypeError(f"f must be callable, got {type(f).__name__}")
        self.f, self.region, self.args = f, region, as_args(args)
        self.det = region.det_method(det) if det != "indicator" else det
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
        bad = ~np.isfinite(out)
        if bad.any():
            if self.nonfinite == 0:
                self.first_bad = X[np.flatnonzero(bad)[0]].copy()
            self.nonfinite += int(bad.sum())
        return out

    def pulled_back(self, U, W) -> np.ndarray:
        """f(T(U)) |det J_T(U)| W."""
        return self.weighted(self.region.map_into(U, W, self.det), W)

    def result(self, value, error, method, status=Status.SUCCESS, message=None):
        if self.nonfinite:
            status = Status.NONFINITE
            message = (f"f(x) * |det J| was not finite at {self.nonfinite} of {self.nfev} "
                       f"points (first at x = {np.array2string(self.first_bad, precision=6)}); "
                       "the value is not finite: no point was dropped")
            value = value if not np.isfinite(value) else math.nan
        return IntegrationResult(float(value), float(error), self.nfev, method,
                                 status == Status.SUCCESS, status,
                                 message or "integral computed", self.det, self.nonfinite)


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _n(n, method, d) -> int:
    if n is None:
        return min(60 ** d, 100_000) if method == "gauss" else DEFAULT_N[method]
    return positive_int(n, "n")


# -------------------------------------------------------------------- rules
def gauss_orders(n: int, d: int):
    """The largest order m (and m2 < m for the error estimate) with m^d + m2^d <= n."""
    def lower(m):
        return max(1, m - max(1, m // 3))

    m = max(2, int(n ** (1.0 / d)) + 1)
    while m >= 2 and m ** d + lower(m) ** d > n:
        m -= 1
    if m < 2:
        raise ValueError(f"n = {n} is too small for method='gauss' in {d} dimensions "
                         f"(need n >= {2 ** d + 1})")
    return min(m, 2000), lower(min(m, 2000))


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


def _gauss(problem, n):
    d = problem.region.dim
    m, m2 = gauss_orders(n, d)
    value, size = _tensor_sum(problem, m, d)
    low, _ = _tensor_sum(problem, m2, d)
    # the lower order's error bounds the higher's once resolved; plus summation rounding
    return problem.result(value, abs(value - low) + 4 * EPS * size, "gauss")


def _qmc(problem, n, rng, replicates):
    R = positive_int(replicates, "replicates")
    if R < 2:
        raise ValueError(f"replicates must be >= 2 for an error estimate, got {R}")
    d = problem.region.dim
    k = max(1, int(round(math.log2(max(n / R, 2)))))
    N = 1 << k
    estimates = []
    for _ in range(R):
        engine = q.sobol_engine(d, np.random.default_rng(rng.integers(2 ** 63)))
        total = 0.0
        for start in range(0, N, BATCH):
            b = min(N, start + BATCH) - start
            total += problem.pulled_back(engine.random(b), np.full(b, 1.0 / N)).sum()
        estimates.append(total)
    est = np.array(estimates)
    return problem.result(est.mean(), est.std(ddof=1) / math.sqrt(R), "qmc")


def _monte_carlo(problem, n, batch, method):
    """Mean and standard error of n samples (each an estimate of the integral) from ``batch(b)``."""
    s1 = s2 = 0.0
    shift = None
    for start in range(0, n, BATCH):
        g = batch(min(n, start + BATCH) - start)
        if shift is None:
            shift = float(np.mean(g)) if np.all(np.isfinite(g)) else 0.0
        s1 += np.sum(g - shift)
        s2 += np.sum((g - shift) ** 2)
    mean = shift + s1 / n
    var = max(s2 - s1 * s1 / n, 0.0) / (n - 1) if n > 1 else math.inf
    return problem.result(mean, math.sqrt(var / n), method)


def _mc(problem, n, rng):
    d = problem.region.dim
    return _monte_carlo(problem, n, lambda b: problem.pulled_back(rng.random((b, d)),
                                                                  np.ones(b)), "mc")


def _adaptive(problem, n, rtol, atol):
    """h-adaptive Gauss on the cube: split the worst cells in two along the axis
    whose Legendre tail (of the cell's marginal along that axis) is largest."""
    d = problem.region.dim
    m = ADAPTIVE_ORDER.get(d, 4)
    m2 = max(1, m - 2)
    Ua, Wa = q.tensor_rule([m] * d, 0, m ** d)
    Ub, Wb = q.tensor_rule([m2] * d, 0, m2 ** d)
    Uref, Wref = np.concatenate([Ua, Ub]), np.concatenate([Wa, Wb])
    pa, per_cell = m ** d, Uref.shape[0]
    tail = q.legendre_tail(m)                       # (2, m)

    def evaluate(lo, hi):
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
        if problem.nonfinite or error <= max(atol, rtol * abs(value)):
            return problem.result(value, error, "adaptive")
        affordable = (n - problem.nfev) // (2 * per_cell)
        if affordable < 1:
            return problem.result(value, error, "adaptive", Status.MAXFEV,
                                  f"n = {n} evaluations used before reaching rtol = {rtol:g}, "
                                  f"atol = {atol:g}: error estimate {error:.3g}")
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


# -------------------------------------------------------------------- public
def integrate(f: Callable, region: Region, *, method: str = "gauss", n: Optional[int] = None,
              seed=None, args=(), det: str = "auto", replicates: int = 8,
              rtol: float = 1e-10, atol: float = 0.0) -> IntegrationResult:
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
          m^d + m2^d <= n (m2 ≈ 2m/3); error |Q_m - Q_m2|.
        * ``"qmc"``: ``replicates`` independently scrambled Sobol sequences
          (64-bit) of 2^k points, n in total; error = standard error of the
          replicate means.
        * ``"mc"``: plain Monte Carlo on the substituted integrand; error =
          standard error.
        * ``"adaptive"``: h-adaptive Gauss on the cube, splitting the worst
          cells in two along their worst axis until the error estimate is
          <= max(atol, rtol |value|) or n evaluations are used; for peaks and
          singular corners.
    n : int, optional
        Number of integrand evaluations (about; a budget for "adaptive").
        Defaults: gauss min(60^d, 10^5), qmc and mc 2^16, adaptive 2 * 10^5.
    seed : int or numpy.random.Generator, optional
        For "qmc" and "mc".
    args : tuple
        Extra arguments of ``f``.
    det : {"auto", "analytic", "complex", "central"}
        How to get |det J_T|: "auto" uses the region's formula when it has
        one, else jacsolve's complex-step Jacobian.
    replicates : int
        Number of scrambled replicates for "qmc".
    rtol, atol : float
        Tolerances of "adaptive".

    Returns
    -------
    IntegrationResult

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> from jacsolve.integration.regions import Torus
    >>> z2 = jacsolve.jit(lambda x: x[2] * x[2])
    >>> res = jacsolve.integrate(z2, Torus(R=2.0, r=1.0), n=20000)
    >>> res.success, bool(abs(res.value - np.pi ** 2) < 1e-12)    # 2 pi^2 R r^2 * r^2 / 4
    (True, True)
    """
    f = returning_form(f, scalar=True)  # the in-place form, as y = f(x, *args)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    problem = _Problem(f, region, args, det)
    n = _n(n, method, region.dim)
    if method == "gauss":
        return _gauss(problem, n)
    if method == "qmc":
        return _qmc(problem, n, _rng(seed), replicates)
    if method == "mc":
        return _mc(problem, n, _rng(seed))
    rtol = positive_float(rtol, "rtol", allow_zero=True)
    atol = positive_float(atol, "atol", allow_zero=True)
    if rtol == 0.0 and atol == 0.0:
        raise ValueError("rtol and atol must not both be 0")
    return _adaptive(problem, n, rtol, atol)


def integrate_mc(f: Callable, region: Region, *, n: int = 1 << 16, seed=None,
                 args=()) -> IntegrationResult:
    """Hit-or-miss Monte Carlo: sample the bounding box, keep the points inside.

    The estimate is vol(box) * mean(f(x) 1_Ω(x)) over n uniform points of
    the box, with its standard error. This is the baseline that substitution
    (:func:`integrate`) is measured against.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> from jacsolve.integration.regions import Disk
    >>> res = jacsolve.integrate_mc(jacsolve.jit(lambda x: 1.0), Disk(), n=100_000, seed=1)
    >>> abs(res.value - np.pi) < 4 * res.error
    True
    """
    f = returning_form(f, scalar=True)  # the in-place form, as y = f(x, *args)
    n = positive_int(n, "n")
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
        X = lo + span * rng.random((b, region.dim))
        W = np.empty(b)
        region.indicator_into(X, W, vol)
        return problem.weighted(X, W)

    return _monte_carlo(problem, n, batch, "hit-or-miss")


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
        Evaluation budgets. Gauss skips budgets too small for two orders.
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
            if method == "hit-or-miss":
                res = integrate_mc(f, region, n=n, seed=seed, args=args)
            elif method == "gauss" and n < 2 ** region.dim + 1:
                continue
            elif method == "adaptive":
                res = integrate(f, region, method=method, n=n, args=args, det=det, rtol=1e-14)
            else:
                res = integrate(f, region, method=method, n=n, seed=seed, args=args, det=det)
            err = abs(res.value - exact) if exact is not None else res.error
            rows.append(dict(method=method, n=n, nfev=res.nfev, value=res.value,
                             error_estimate=res.error, error=err, success=res.success))
    return IntegrationComparison(rows, exact, repr(region))
