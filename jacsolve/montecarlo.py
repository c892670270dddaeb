"""Monte Carlo propagation of distributions (GUM Supplement 1, JCGM 101:2008).

:func:`propagate_mc` draws the inputs with the compiled, block-seeded
samplers of :mod:`jacsolve.distributions` and evaluates the model over the
draws in one parallel compiled loop (numba ``prange``) that calls the user's
``@jacsolve.jit`` function once per draw. A plain Python function works too:
it is called on all draws at once when it vectorises correctly (checked on a
few draws), and draw by draw otherwise.

:func:`validate` is the check of JCGM 101 clause 8: does the GUM (linear)
coverage interval agree with the Monte Carlo one to a numerical tolerance?
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import numba
import numpy as np

from . import distributions as D
from ._jit import _OPTIONS, warn_if_python
from ._validate import as_args, call_kernel, evaluate_once, positive_int
from .distributions import _fill_block
from .kernels import as_1d

__all__ = ["propagate_mc", "MonteCarloResult", "validate", "Validation",
           "numerical_tolerance", "NonFiniteWarning"]

CHUNK = 32 * D.BLOCK  # draws per NumPy call of a plain Python model (bounded memory)
HIST_BINS = 200
PARALLEL_MIN = 200_000  # draws from which the parallel loop pays for its compile time


class NonFiniteWarning(RuntimeWarning):
    """The model returned NaN or inf for some Monte Carlo draws."""


# ------------------------------------------------------------------ kernels
@numba.njit(**_OPTIONS)
def _run_block(fun, args, codes, params, cols, extra, pre, key, first_block, b, width, Y):
    """Draw block b into a block-local X and evaluate fun on its rows into Y.

    Block-local buffers: row views of a shared array would cost an atomic
    reference count per draw, contended between threads.
    """
    n = Y.shape[0]
    start = b * D.BLOCK
    count = min(n, start + D.BLOCK) - start
    X = np.empty((count, width))
    _fill_block(codes, params, cols, extra, pre, key, first_block + b, X, 0, count, start)
    x = np.empty(width)
    bad = 0
    for i in range(count):
        for j in range(width):
            x[j] = X[i, j]
        y = as_1d(fun(x, *args))
        if y.size != Y.shape[1]:
            bad += 1
            for q in range(Y.shape[1]):
                Y[start + i, q] = np.nan
        else:
            for q in range(Y.shape[1]):
                Y[start + i, q] = y[q]
    return bad


@numba.njit(parallel=True, **_OPTIONS)
def _mc_parallel(fun, args, codes, params, cols, extra, pre, key, first_block, width, Y, bad):
    """The one parallel driver: blocks of draws sampled and evaluated in parallel."""
    for b in numba.prange(bad.size):
        bad[b] = _run_block(fun, args, codes, params, cols, extra, pre, key, first_block, b,
                            width, Y)


@numba.njit(**_OPTIONS)
def _mc_serial(fun, args, codes, params, cols, extra, pre, key, first_block, width, Y, bad):
    for b in range(bad.size):
        bad[b] = _run_block(fun, args, codes, params, cols, extra, pre, key, first_block, b,
                            width, Y)


# ----------------------------------------------------------------- numerics
def numerical_tolerance(value, digits: int):
    """JCGM 101 7.9.2: write |value| as c * 10**l with c a ``digits``-digit integer; delta = 10**l / 2."""
    v = np.abs(np.asarray(value, dtype=float))
    with np.errstate(divide="ignore"):
        ell = np.floor(np.log10(np.where(v > 0, v, np.nan))) - digits + 1
    return np.where(v > 0, 0.5 * 10.0 ** ell, 0.0)


def _order_index(M: int, p: float):
    """q and the 0-based start r of the probabilistically symmetric interval (JCGM 101 7.7)."""
    pm = p * M
    q = int(pm) if pm == int(pm) else int(math.floor(pm + 0.5))
    if q >= M:
        raise ValueError(f"{M} finite draws are too few for a coverage interval with p = {p}")
    r = (M - q) // 2 if (M - q) % 2 == 0 else (M - q + 1) // 2
    return q, max(r - 1, 0)


def _interval_sorted(ys: np.ndarray, p: float, kind: str):
    """Coverage interval(s) from sorted values ys (M, m) -> (low (m,), high (m,))."""
    M = ys.shape[0]
    q, r = _order_index(M, p)
    if kind == "symmetric":
        return ys[r].copy(), ys[r + q].copy()
    widths = ys[q:] - ys[:M - q]
    rstar = np.argmin(widths, axis=0)
    cols = np.arange(ys.shape[1])
    return ys[rstar, cols], ys[rstar + q, cols]


def _check_kind(kind):
    if kind not in ("symmetric", "shortest"):
        raise ValueError(f"kind must be 'symmetric' or 'shortest', got {kind!r}")
    return kind


def _check_p(p):
    p = float(p)
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie in (0, 1), got {p}")
    return p


# ------------------------------------------------------------------ results
@dataclass(frozen=True, repr=False)
class MonteCarloResult:
    """The outcome of :func:`propagate_mc`.

    Attributes
    ----------
    mean, std : ndarray, shape (m,)
        Estimate and standard uncertainty of each output (JCGM 101 7.6).
    cov : ndarray, shape (m, m)
        Covariance of the outputs.
    n_draws : int
        Draws made (non-finite ones included).
    n_nonfinite : int
        Draws for which the model returned NaN or inf in any output. They are
        reported, never dropped silently: a :class:`NonFiniteWarning` is
        issued, ``success`` is False, and every statistic describes the
        ``n_draws - n_nonfinite`` finite draws, i.e. the output distribution
        conditional on the model being defined.
    p : float
        Coverage probability of the run (default of :meth:`interval`).
    kind : str
        Default interval kind, "symmetric" or "shortest".
    samples : ndarray, shape (n_draws - n_nonfinite, m), or None
        The finite model values, in draw order; None when not kept (then the
        intervals at ``p`` and a histogram were computed before dropping them).
    converged : bool
        Adaptive runs: whether the results became stable to ``digits``
        significant digits before ``max_draws``. True for fixed ``n``.
    digits : int or None
        Significant digits requested (adaptive runs).
    tolerance : ndarray or None
        Numerical tolerance delta of each u(y) (adaptive runs, JCGM 101 7.9.2).
    success : bool
        True when converged and every draw was finite.
    message : str
    """
    mean: np.ndarray
    std: np.ndarray
    cov: np.ndarray
    n_draws: int
    n_nonfinite: int
    p: float
    kind: str
    samples: Optional[np.ndarray]
    converged: bool
    digits: Optional[int]
    tolerance: Optional[np.ndarray]
    success: bool
    message: str
    _cache: dict = field(default_factory=dict, compare=False)

    @property
    def n_finite(self) -> int:
        return self.n_draws - self.n_nonfinite

    def _sorted(self):
        ys = self._cache.get("sorted")
        if ys is None:
            ys = self._cache["sorted"] = np.sort(self.samples, axis=0)
        return ys

    def interval(self, p: Optional[float] = None, kind: Optional[str] = None):
        """Coverage interval (low, high), arrays of shape (m,) (JCGM 101 7.7).

        ``kind="symmetric"``: the probabilistically symmetric interval (equal
        tail probabilities); ``"shortest"``: the shortest interval of
        coverage ``p``.
        """
        p = self.p if p is None else _check_p(p)
        kind = _check_kind(self.kind if kind is None else kind)
        key = (p, kind)
        if key not in self._cache:
            if self.samples is None:
                raise ValueError(f"samples were not kept: only intervals at p = {self.p} are "
                                 "available; rerun with keep_samples=True")
            self._cache[key] = _interval_sorted(self._sorted(), p, kind)
        low, high = self._cache[key]
        return low.copy(), high.copy()

    def histogram(self, bins: int = HIST_BINS):
        """(counts (m, bins), edges (m, bins + 1)) of the model values."""
        if self.samples is None:
            return self._cache["histogram"]
        counts, edges = [], []
        for col in self.samples.T:
            c, e = np.histogram(col, bins=bins)
            counts.append(c)
            edges.append(e)
        return np.array(counts), np.array(edges)

    def __repr__(self):
        low, high = self.interval() if (self.samples is not None or
                                         (self.p, self.kind) in self._cache) else (None, None)
        fields = [f"mean={np.array2string(self.mean, precision=6)}",
                  f"std={np.array2string(self.std, precision=4)}",
                  f"interval({self.p}, {self.kind})=({low}, {high})",
                  f"n_draws={self.n_draws}", f"n_nonfinite={self.n_nonfinite}",
                  f"converged={self.converged}", f"success={self.success}",
                  f"message={self.message!r}"]
        return "MonteCarloResult(" + ", ".join(fields) + ")"


# ------------------------------------------------------------------ driver
class _Model:
    """The user's model applied to blocks of draws: compiled, vectorised or serial."""

    def __init__(self, fun, args, X0, parallel):
        self.fun, self.args, self.parallel = fun, args, parallel
        y0, _ = evaluate_once(fun, X0[0], args)
        self.m = y0.size
        self.jitted = hasattr(fun, "py_func") and hasattr(fun, "compile")
        self.vectorized = False
        if not self.jitted:
            warn_if_python(fun, stacklevel=4)

    def decide_vectorized(self, X, vectorized):
        """Use one call on all draws if fun gives the draw-by-draw values on a probe."""
        if self.jitted or vectorized is False:
            return
        probe = X[:min(4, X.shape[0])]
        serial = self._serial(probe)
        try:
            with np.errstate(all="ignore"):
                vec = self._vector(probe)
            ok = vec.shape == serial.shape and np.allclose(vec, serial, rtol=1e-12, atol=0,
                                                           equal_nan=True)
        except Exception:
            ok = False
        if vectorized and not ok:
            raise ValueError("vectorized=True, but fun(X.T, *args) on a (k, n) array does not "
                             "return the draw-by-draw values (shape (m, n) or (n,))")
        self.vectorized = ok

    def _vector(self, X):
        y = np.asarray(self.fun(np.ascontiguousarray(X.T), *self.args), dtype=float)
        return y.reshape(self.m, X.shape[0]).T if y.size == self.m * X.shape[0] else y

    def _serial(self, X):
        Y = np.empty((X.shape[0], self.m))
        with np.errstate(all="ignore"):
            for i in range(X.shape[0]):
                y = np.asarray(self.fun(X[i].copy(), *self.args), dtype=float).reshape(-1)
                Y[i] = y if y.size == self.m else np.nan
        return Y

    def compiled(self, plan, key, start, count):
        """Draws start .. start + count - 1 sampled and evaluated in one compiled call."""
        Y = np.empty((count, self.m))
        bad = np.zeros((count + D.BLOCK - 1) // D.BLOCK, dtype=np.int64)
        driver = _mc_parallel if self.parallel else _mc_serial
        call_kernel(driver, self.fun, self.args, plan.codes, plan.params, plan.cols, plan.extra,
                    plan.pre(key, start, count), np.uint64(key), start // D.BLOCK, plan.width,
                    Y, bad)
        if bad.any():
            raise ValueError(f"fun returned a value of a size other than {self.m} (its size "
                             f"at the first draw) for {int(bad.sum())} draws")
        return Y

    def __call__(self, X):
        try:
            return self._vector(X) if self.vectorized else self._serial(X)
        except Exception as exc:
            from ._validate import FunctionError
            raise FunctionError(f"fun raised {type(exc).__name__}: {exc} during evaluation") \
                from exc


def _batch_stats(Y, p, kind):
    fin = np.all(np.isfinite(Y), axis=1)
    Yf = Y[fin] if not fin.all() else Y
    low, high = _interval_sorted(np.sort(Yf, axis=0), p, kind)
    return Yf.mean(axis=0), Yf.std(axis=0, ddof=1), low, high


def propagate_mc(fun: Callable, inputs, *, args=(), n: Optional[int] = None,
                 digits: Optional[int] = None, p: float = 0.95, kind: str = "symmetric",
                 seed=None, keep_samples: Optional[bool] = None, max_draws: int = 10_000_000,
                 vectorized: Optional[bool] = None,
                 parallel: Optional[bool] = None) -> MonteCarloResult:
    """Propagate input distributions through ``fun`` by Monte Carlo (JCGM 101).

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` with ``x`` a 1-D array of all inputs (the
        components of a multivariate input in order), returning a scalar or a
        1-D array of m outputs. A numba function (``@jacsolve.jit``) runs in
        a compiled parallel loop over the draws; a plain Python one works with
        a :class:`~jacsolve.PerformanceWarning` (vectorised if possible).
    inputs : sequence
        One entry per input quantity: a :mod:`jacsolve.distributions` object
        (a multivariate one supplies several inputs), a frozen
        ``scipy.stats`` distribution, or a number (a constant).
    args : tuple, optional
        Extra arguments of ``fun``.
    n : int, optional
        Number of draws (default 10**6 when ``digits`` is not given).
    digits : int, optional
        Adaptive Monte Carlo (JCGM 101 7.9): draw batches of
        ``max(100 / (1 - p), 10**4)`` until twice the standard deviations of
        the batch means, standard uncertainties and interval endpoints are
        all below the numerical tolerance of u(y) to ``digits`` significant
        digits. Give ``n`` or ``digits``, not both.
    p : float, optional
        Coverage probability (default 0.95).
    kind : {"symmetric", "shortest"}, optional
        Interval used for adaptive stopping and by default in ``interval``.
    seed : int, numpy.random.Generator or None, optional
        The draws are a deterministic function of the seed (and do not depend
        on the number of threads).
    keep_samples : bool, optional
        Keep the model values (default: when n_draws * m <= 2e7). Otherwise
        the intervals at ``p`` and a histogram are computed and the values
        dropped.
    max_draws : int, optional
        Upper bound of adaptive runs (default 10**7).
    vectorized : bool, optional
        Plain Python ``fun`` only: None (default) tries ``fun(X.T, *args)``
        on all draws at once and checks it against draw-by-draw calls on a
        few draws; False always calls draw by draw.
    parallel : bool, optional
        Numba functions only: evaluate the draws in parallel (``prange``).
        The parallel loop costs a few seconds of compilation per function and
        process, so the default (None) uses it for runs of at least
        :data:`PARALLEL_MIN` draws (and adaptive runs) and a serial compiled
        loop below. Both give identical results.

    Returns
    -------
    MonteCarloResult

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> from jacsolve import distributions as D
    >>> @jacsolve.jit
    ... def f(x):
    ...     return x[0] + x[1]
    >>> r = jacsolve.propagate_mc(f, [D.Normal(0, 1), D.Rectangular(-1, 1)],
    ...                           n=20_000, seed=1)
    >>> bool(abs(r.std[0] - np.sqrt(1 + 1 / 3)) < 0.03), r.n_nonfinite
    (True, 0)
    >>> low, high = r.interval(0.95, kind="shortest")
    """
    dists = [D.as_distribution(d, f"inputs[{i}]") for i, d in enumerate(_as_list(inputs))]
    if not dists:
        raise ValueError("inputs must contain at least one distribution")
    args = as_args(args)
    p = _check_p(p)
    kind = _check_kind(kind)
    if n is not None and digits is not None:
        raise ValueError("give either n (a fixed number of draws) or digits (adaptive), not both")
    if digits is not None:
        digits = positive_int(digits, "digits")
    max_draws = positive_int(max_draws, "max_draws")
    n = 10 ** 6 if n is None and digits is None else n
    if n is not None:
        n = positive_int(n, "n")
        if n < 2:
            raise ValueError(f"n must be >= 2, got {n}")
    key = D.seed_key(seed)
    plan = D.SamplingPlan(dists)
    first = plan.draw(key, 0, min(D.BLOCK, n if n is not None else D.BLOCK))
    if parallel is None:
        parallel = digits is not None or n >= PARALLEL_MIN
    model = _Model(fun, args, first, bool(parallel))
    model.decide_vectorized(first, vectorized)

    def run(start, count):
        if model.jitted:
            return model.compiled(plan, key, start, count)
        Y = np.empty((count, model.m))
        for c0 in range(0, count, CHUNK):
            c1 = min(count, c0 + CHUNK)
            Y[c0:c1] = model(plan.draw(key, start + c0, c1 - c0))
        return Y

    tolerance = None
    converged = True
    if digits is None:
        Y = run(0, n)
    else:
        Y, converged, tolerance = _adaptive(run, model.m, p, kind, digits, max_draws)

    finite = np.all(np.isfinite(Y), axis=1)
    n_draws, n_bad = Y.shape[0], int(Y.shape[0] - finite.sum())
    if n_bad:
        Y = Y[finite]
        warnings.warn(f"fun returned NaN or inf for {n_bad} of {n_draws} draws "
                      f"({100 * n_bad / n_draws:.3g} %); the statistics use the "
                      f"{n_draws - n_bad} finite draws", NonFiniteWarning, stacklevel=2)
    if Y.shape[0] < 2:
        raise ValueError(f"only {Y.shape[0]} of {n_draws} draws gave finite model values")
    mean = Y.mean(axis=0)
    cov = np.atleast_2d(np.cov(Y, rowvar=False))
    std = np.sqrt(np.diag(cov))
    messages = []
    if not converged:
        messages.append(f"not stable to {digits} significant digits after max_draws = "
                        f"{max_draws} draws")
    if n_bad:
        messages.append(f"{n_bad} of {n_draws} draws gave non-finite model values (excluded "
                        "from the statistics)")
    message = "; ".join(messages) or (f"stable to {digits} significant digits" if digits
                                      else f"{n_draws} draws")
    if keep_samples is None:
        keep_samples = Y.size <= 20_000_000
    result = MonteCarloResult(mean, std, cov, n_draws, n_bad, p, kind, Y, converged, digits,
                              tolerance, converged and not n_bad, message)
    if not keep_samples:
        for k in ("symmetric", "shortest"):
            result.interval(p, k)
        result._cache["histogram"] = result.histogram()
        result._cache.pop("sorted", None)
        object.__setattr__(result, "samples", None)
    return result


def _as_list(inputs):
    if isinstance(inputs, (D.Distribution,)) or hasattr(inputs, "ppf"):
        return [inputs]
    try:
        return list(inputs)
    except TypeError:
        raise TypeError("inputs must be a sequence of distributions") from None


def _adaptive(run, m, p, kind, digits, max_draws):
    """JCGM 101 7.9.4: batches until 2 s(.) <= delta for y, u(y), y_low and y_high."""
    batch = max(int(math.ceil(100.0 / (1.0 - p))), 10_000)
    batch = -(-batch // D.BLOCK) * D.BLOCK  # whole blocks: batches are slices of one stream
    stats, parts = [], []
    count, total_sum, total_sq = 0, np.zeros(m), np.zeros(m)
    while True:
        Y = run(batch * len(parts), batch)
        parts.append(Y)
        stats.append(np.stack(_batch_stats(Y, p, kind)))  # (4, m)
        Yf = Y[np.all(np.isfinite(Y), axis=1)]
        count += Yf.shape[0]
        total_sum += Yf.sum(axis=0)
        total_sq += ((Yf - stats[0][0]) ** 2).sum(axis=0)  # shifted: no cancellation
        h = len(stats)
        if h < 2:
            continue
        S = np.array(stats)                              # (h, 4, m)
        s = np.sqrt(S.var(axis=0, ddof=1) / h)          # std of the averages
        shift = total_sum / count - stats[0][0]
        u = np.sqrt(np.maximum(total_sq / count - shift ** 2, 0.0) * count / (count - 1))
        delta = numerical_tolerance(u, digits)
        if np.all(2 * s <= delta):
            return np.concatenate(parts), True, delta
        if batch * (h + 1) > max_draws:
            return np.concatenate(parts), False, delta


# --------------------------------------------------------------- validation
@dataclass(frozen=True)
class Validation:
    """JCGM 101 clause 8: the GUM interval compared with the Monte Carlo interval.

    Attributes
    ----------
    validated : bool
        True when d_low <= delta and d_high <= delta for every output.
    d_low, d_high : ndarray, shape (m,)
        |y - U_p - y_low| and |y + U_p - y_high|.
    tolerance : ndarray, shape (m,)
        The numerical tolerance delta of the Monte Carlo u(y) to ``digits``
        significant digits (JCGM 101 7.9.2).
    gum_interval, mc_interval : tuple of ndarray
        (low, high) of both methods.
    p : float
    digits : int
    kind : str
        Monte Carlo interval used ("shortest" as in the examples of clause 9).
    """
    validated: bool
    d_low: np.ndarray
    d_high: np.ndarray
    tolerance: np.ndarray
    gum_interval: tuple
    mc_interval: tuple
    p: float
    digits: int
    kind: str


def _gum_interval(linear, p):
    if hasattr(linear, "interval"):
        low, high = linear.interval(p)
    else:
        try:
            y, U = linear
        except (TypeError, ValueError):
            raise TypeError("linear_result must have an interval(p) method (a "
                            "jacsolve.Propagation) or be a pair (y, U_p)") from None
        y, U = np.atleast_1d(np.asarray(y, float)), np.atleast_1d(np.asarray(U, float))
        if np.any(U < 0):
            raise ValueError(f"U_p must be >= 0, got {U}")
        low, high = y - U, y + U
    return np.atleast_1d(np.asarray(low, float)), np.atleast_1d(np.asarray(high, float))


def validate(linear_result, mc_result: MonteCarloResult, p: float = 0.95, digits: int = 2,
             kind: str = "shortest") -> Validation:
    """Validate the GUM (linear) result by Monte Carlo (JCGM 101 clause 8).

    Parameters
    ----------
    linear_result : Propagation or (y, U_p)
        The GUM uncertainty framework result: anything with ``interval(p)``
        returning (low, high) (a :class:`jacsolve.Propagation`), or a pair of
        the estimate and the expanded uncertainty U_p.
    mc_result : MonteCarloResult
        Monte Carlo result for the same model and inputs, ideally adaptive
        with the same ``digits`` (JCGM 101 8.2).
    p : float, optional
        Coverage probability (default 0.95).
    digits : int, optional
        Significant digits of u(y) that define delta (default 2).
    kind : {"shortest", "symmetric"}, optional
        Monte Carlo interval compared with the GUM interval.

    Returns
    -------
    Validation

    Examples
    --------
    >>> import jacsolve
    >>> from jacsolve import distributions as D
    >>> @jacsolve.jit
    ... def f(x):
    ...     return x[0] + x[1]
    >>> mc = jacsolve.propagate_mc(f, [D.Normal(0, 1), D.Normal(0, 1)], n=200_000, seed=2)
    >>> v = jacsolve.validate((0.0, 1.96 * 2 ** 0.5), mc, digits=1)
    >>> v.validated
    True
    """
    p = _check_p(p)
    kind = _check_kind(kind)
    digits = positive_int(digits, "digits")
    if not isinstance(mc_result, MonteCarloResult):
        raise TypeError(f"mc_result must be a MonteCarloResult, got {type(mc_result).__name__}")
    glow, ghigh = _gum_interval(linear_result, p)
    mlow, mhigh = mc_result.interval(p, kind)
    if glow.shape != mlow.shape:
        raise ValueError(f"linear_result has {glow.size} outputs, mc_result {mlow.size}")
    d_low, d_high = np.abs(glow - mlow), np.abs(ghigh - mhigh)
    delta = numerical_tolerance(mc_result.std, digits)
    ok = bool(np.all(d_low <= delta) and np.all(d_high <= delta))
    return Validation(ok, d_low, d_high, delta, (glow, ghigh), (mlow, mhigh), p, digits, kind)
