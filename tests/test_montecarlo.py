"""propagate_mc and validate against exact results.

Every tolerance is a multiple (5) of the Monte Carlo standard error of the
statistic: sigma/sqrt(n) for a mean, sigma*sqrt((kurtosis-1)/(4n)) for a
standard deviation, sqrt(q(1-q)/n)/pdf for a quantile, and a batch estimate
(20 batches, as in JCGM 101 7.9) for shortest-interval endpoints. Seeds are
fixed, so the tests are deterministic.
"""
import math

import numpy as np
import pytest
from scipy import optimize, stats

import jacsolve
from jacsolve import distributions as D
from jacsolve._numba.options import PerformanceWarning
from jacsolve.status import FunctionError, Status
from jacsolve.uncertainty.montecarlo import (MonteCarloResult, NonFiniteWarning,
                                             NotConvergedWarning, order_index,
                                             coverage_intervals, numerical_tolerance)
from jacsolve.problems.gum_examples import additive, comparison_loss

N = 100_000


@jacsolve.jit
def sum_and_difference(x):
    return np.array([x[0] + x[1], x[0] - x[1]])


@jacsolve.jit
def log_model(x):
    return np.log(x[0])


@jacsolve.jit
def offset_model(x):    # a large offset over a small spread: a one-pass variance would fail
    return 1.0e6 + x[0]


@jacsolve.jit
def ragged(x):
    return np.zeros(1 if x[0] > 0 else 2)


@jacsolve.jit
def raising(x):
    if x[0] > 3.0:
        raise ValueError("too large")
    return x[0]


def batch_se(samples, stat, h=20):
    """Standard error of stat(samples) from h batches (JCGM 101 7.9.4)."""
    vals = np.array([stat(b) for b in np.array_split(samples, h)])
    return vals.std(axis=0, ddof=1) / math.sqrt(h)


def shortest(y, p):
    r = MonteCarloResult(np.zeros(1), np.zeros(1), np.zeros((1, 1)), y.size, 0, p, "shortest",
                         y[:, None], True, None, None, True, "")
    return np.concatenate(r.interval())


def test_additive_normal_against_exact():
    r = jacsolve.propagate_mc(additive, [D.Normal(0.0, 1.0)] * 4, n=N, seed=11)
    assert r.samples.shape == (N, 1) and r.n_draws == N and r.success
    assert abs(r.mean) < 5 * 2 / math.sqrt(N)
    assert abs(r.std - 2.0) < 5 * 2 * math.sqrt(2 / (4 * N))
    z = 2 * stats.norm.ppf(0.975)
    se_q = math.sqrt(0.025 * 0.975 / N) / stats.norm(0, 2).pdf(z)
    low, high = r.interval(0.95)
    assert abs(low + z) < 5 * se_q and abs(high - z) < 5 * se_q
    slow, shigh = r.interval(0.95, kind="shortest")
    se = batch_se(r.samples[:, 0], lambda b: shortest(b, 0.95))
    assert abs(slow + z) < 5 * se[0] and abs(shigh - z) < 5 * se[1]
    assert shigh - slow <= high - low


def test_comparison_loss_against_noncentral_chi2():
    # X ~ N((0.01, 0), 0.005**2 I): dY / sigma^2 is noncentral chi2 with 2 dof (exact)
    sigma, x1 = 0.005, 0.010
    inp = D.MultivariateNormal([x1, 0.0], sigma ** 2 * np.eye(2))
    r = jacsolve.propagate_mc(comparison_loss, [inp], n=N, seed=5, kind="shortest")
    exact = stats.ncx2(2, (x1 / sigma) ** 2, scale=sigma ** 2)
    assert abs(r.mean - exact.mean()) < 5 * exact.std() / math.sqrt(N)
    kurt = exact.stats(moments="k") + 3
    assert abs(r.std - exact.std()) < 5 * exact.std() * math.sqrt((kurt - 1) / (4 * N))
    low, high = r.interval(kind="symmetric")
    for val, q in ((low, 0.025), (high, 0.975)):
        ref = exact.ppf(q)
        assert abs(val - ref) < 5 * math.sqrt(q * (1 - q) / N) / exact.pdf(ref)
    a = optimize.minimize_scalar(lambda a: exact.ppf(a + 0.95) - exact.ppf(a), bounds=(0, 0.05),
                                 method="bounded", options={"xatol": 1e-10}).x
    slow, shigh = r.interval()                      # the run's kind: shortest
    se = batch_se(r.samples[:, 0], lambda b: shortest(b, 0.95))
    assert abs(slow - exact.ppf(a)) < 5 * se[0]
    assert abs(shigh - exact.ppf(a + 0.95)) < 5 * se[1]


def test_vector_output_covariance():
    cov = np.array([[1.0, 0.6], [0.6, 4.0]])
    r = jacsolve.propagate_mc(sum_and_difference, [D.MultivariateNormal([1.0, 2.0], cov)],
                              n=N, seed=3)
    A = np.array([[1.0, 1.0], [1.0, -1.0]])
    exact = A @ cov @ A.T
    se = np.sqrt((np.outer(np.diag(exact), np.diag(exact)) + exact ** 2) / N)
    assert np.all(np.abs(r.cov - exact) < 5 * se)
    np.testing.assert_allclose(r.std, np.sqrt(np.diag(r.cov)))
    assert np.all(np.abs(r.mean - [3.0, -1.0]) < 5 * np.sqrt(np.diag(exact) / N))
    assert r.interval()[0].shape == (2,)


def test_reproducible_parallel_equals_serial_and_generators():
    ins = [D.Normal(0.0, 1.0), D.Rectangular(0, 1), D.StudentT(0, 1, 4), D.Arcsine(-1, 1)]
    a = jacsolve.propagate_mc(additive, ins, n=50_000, seed=9, parallel=False)
    b = jacsolve.propagate_mc(additive, ins, n=50_000, seed=9, parallel=True)
    np.testing.assert_array_equal(a.samples, b.samples)
    for name in ("mean", "std", "cov"):     # per-block sums: no dependence on threads
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    c = jacsolve.propagate_mc(additive, ins, n=5000, seed=np.random.default_rng(1))
    d = jacsolve.propagate_mc(additive, ins, n=5000, seed=np.random.default_rng(1))
    np.testing.assert_array_equal(c.samples, d.samples)
    assert not np.array_equal(a.samples, c.samples)


def test_python_functions_vectorised_and_serial():
    def vec(x):          # works on a (4, n) array too
        return x[0] + x[1] + x[2] + x[3]

    def serial_only(x):  # float() breaks on arrays: falls back to draw-by-draw calls
        return float(x[0]) + float(x[1]) + float(x[2]) + float(x[3])

    ins = [D.Normal(0.0, 1.0), D.Triangular(0, 1), D.Gamma(2.0, 1.0), 0.5]
    ref = jacsolve.propagate_mc(additive, ins, n=3000, seed=4)
    for fun in (vec, serial_only):
        with pytest.warns(PerformanceWarning):
            r = jacsolve.propagate_mc(fun, ins, n=3000, seed=4)
        np.testing.assert_allclose(r.samples, ref.samples, rtol=1e-15, atol=1e-15)
    with pytest.raises(ValueError, match="vectorized=True"):
        jacsolve.propagate_mc(serial_only, ins, n=3000, seed=4, vectorized=True)


def test_adaptive_stops_at_requested_digits():
    r = jacsolve.propagate_mc(additive, [D.Normal(0.0, 1.0)] * 4, digits=2, seed=21)
    assert r.converged and r.success and r.digits == 2
    assert r.tolerance == pytest.approx(0.05)   # u = 2.0: c = 20, l = -1 (JCGM 101 7.9.2)
    assert r.n_draws % 10240 == 0 and r.n_draws >= 2 * 10240
    z = 2 * stats.norm.ppf(0.975)
    low, high = r.interval()
    for val, ref in ((r.mean, 0.0), (r.std, 2.0), (low, -z), (high, z)):
        assert abs(val - ref) < 2.5 * r.tolerance   # 5 s: stopped at 2 s <= delta (7.9.4)
    with pytest.warns(NotConvergedWarning, match="not stable to 4 significant digits"):
        small = jacsolve.propagate_mc(additive, [D.Normal(0.0, 1.0)] * 4, digits=4, seed=21,
                                      max_draws=30_000)
    assert not small.converged and not small.success and "max_draws" in small.message
    assert small.status is Status.NOT_CONVERGED
    assert small.n_draws <= 30_000


def test_nonfinite_draws_are_counted_and_reported():
    n = 20_000
    x = D.Normal(1.0, 1.0).sample(n, seed=2)   # the same stream propagate_mc draws
    with pytest.warns(NonFiniteWarning, match=f"{np.sum(x <= 0)} of {n} draws"):
        r = jacsolve.propagate_mc(log_model, [D.Normal(1.0, 1.0)], n=n, seed=2)
    assert r.n_nonfinite == np.sum(x <= 0) > 0 and r.n_draws == n
    assert r.samples.shape[0] == r.n_finite == n - r.n_nonfinite
    assert not r.success and "non-finite" in r.message
    assert r.mean == pytest.approx(np.log(x[x > 0]).mean(), rel=1e-12)


def test_keep_samples_false_keeps_intervals_and_histogram():
    r = jacsolve.propagate_mc(additive, [D.Rectangular(-1, 1)] * 4, n=20_000, seed=1,
                              keep_samples=False, p=0.9)
    full = jacsolve.propagate_mc(additive, [D.Rectangular(-1, 1)] * 4, n=20_000, seed=1, p=0.9)
    assert r.samples is None
    for kind in ("symmetric", "shortest"):
        np.testing.assert_array_equal(r.interval(kind=kind), full.interval(kind=kind))
    counts, edges = r.histogram()
    assert counts.sum() == 20_000 and edges.shape == (1, 201)
    with pytest.raises(ValueError, match="samples were not kept"):
        r.interval(0.95)
    assert "MonteCarloResult(" in repr(r)


def test_moments_are_exact_sums_over_the_samples():
    # per-block means and squared deviations, merged: two-pass accuracy on the kept samples
    r = jacsolve.propagate_mc(offset_model, [D.Normal(0.0, 1e-3)], n=300_000, seed=8)
    y = r.samples[:, 0]
    assert r.mean == pytest.approx(y.mean(), rel=1e-15)
    d = y - y.mean()
    assert r.std == pytest.approx(math.sqrt(d @ d / (y.size - 1)), rel=1e-12)
    assert abs(r.std - 1e-3) < 5 * 1e-3 * math.sqrt(2 / (4 * y.size)) + 1e-7


def _sorted_intervals(y, p):
    """The JCGM 101 7.7 intervals from a full sort (the reference)."""
    ys, M = np.sort(y), y.size
    q, r = order_index(M, p)
    k = int(np.argmin(ys[q:] - ys[:M - q]))
    return {"symmetric": (ys[r], ys[r + q]), "shortest": (ys[k], ys[k + q])}


@pytest.mark.parametrize("p", [0.95, 0.99, 0.6])
def test_tail_selection_equals_full_sort(p):
    rng = np.random.default_rng(3)
    M = 150_001
    skewed = rng.gamma(2.0, size=M)
    ties = np.round(rng.normal(size=M), 1)              # many equal values
    adversarial = np.arange(M, dtype=float)
    adversarial[::M // 8192] = -1.0 - np.arange(adversarial[::M // 8192].size)
    # the strided subsample sees only the lowest values: its thresholds fall short,
    # so the selection widens them and finally sorts everything
    Y = np.column_stack([skewed, ties, adversarial, -skewed])
    got = coverage_intervals(Y, p)
    for j in range(Y.shape[1]):
        ref = _sorted_intervals(Y[:, j], p)
        for kind in ("symmetric", "shortest"):
            assert (got[kind][0][j], got[kind][1][j]) == ref[kind], (j, kind)


def test_intervals_follow_jcgm101_order_statistics():
    y = np.arange(1.0, 101.0)[::-1].copy()            # M = 100, values 1..100
    r = MonteCarloResult(np.zeros(1), np.zeros(1), np.zeros((1, 1)), 100, 0, 0.9, "symmetric",
                         y[:, None], True, None, None, True, "")
    # q = pM = 90, r = (M - q)/2 = 5: [y_(5), y_(95)]
    assert [v[0] for v in r.interval(0.9)] == [5.0, 95.0]
    # q = floor(0.955 * 100 + 1/2) = 96, r = (100 - 96)/2 = 2
    assert [v[0] for v in r.interval(0.955)] == [2.0, 98.0]


def test_bad_input():
    ins = [D.Normal(0, 1)] * 4
    cases = [
        (dict(n=10, digits=2), ValueError, "either n"),
        (dict(n=10, p=1.5), ValueError, "p must lie in"),
        (dict(n=10, kind="widest"), ValueError, "kind must be"),
        (dict(n=1), ValueError, "n must be >= 2"),
        (dict(n=10, seed="x"), ValueError, "seed must be"),
        (dict(digits=0), ValueError, "digits must be a positive integer"),
    ]
    for kw, exc, match in cases:
        with pytest.raises(exc, match=match):
            jacsolve.propagate_mc(additive, ins, **kw)
    with pytest.raises(ValueError, match="at least one"):
        jacsolve.propagate_mc(additive, [], n=10)
    with pytest.raises(TypeError, match=r"inputs\[1\] must be"):
        jacsolve.propagate_mc(additive, [D.Normal(0, 1), "x"], n=10)
    with pytest.raises(ValueError, match="a value of a size other than 1"):
        jacsolve.propagate_mc(ragged, [D.Normal(1.0, 1.0)], n=2000, seed=1)
    with pytest.raises(FunctionError, match="too large"):
        jacsolve.propagate_mc(raising, [D.Normal(0.0, 1.0)], n=20_000, seed=1)


def test_numerical_tolerance():
    # JCGM 101 7.9.2: u = c 10**l with c of n_dig digits, delta = 10**l / 2
    assert numerical_tolerance(0.0754, 2) == pytest.approx(0.0005)
    assert numerical_tolerance(2.00, 3) == pytest.approx(0.005)
    assert numerical_tolerance(36.0, 2) == pytest.approx(0.5)
    assert numerical_tolerance(10.15, 2) == pytest.approx(0.5)
    assert numerical_tolerance(10.15, 3) == pytest.approx(0.05)


class _Linear:  # the documented interface of jacsolve.Propagation that validate uses
    def __init__(self, y, U):
        self.y, self.U = y, U

    def interval(self, p):
        return self.y - self.U, self.y + self.U


def test_validate():
    mc = jacsolve.propagate_mc(additive, [D.Normal(0.0, 1.0)] * 4, n=N, seed=13)
    z = 2 * stats.norm.ppf(0.975)
    v = jacsolve.validate((0.0, z), mc, digits=1)
    low, high = mc.interval(kind="shortest")
    assert v.validated and v.d_low[0] == pytest.approx(abs(-z - low))
    assert v.d_high[0] == pytest.approx(abs(z - high))
    assert v.tolerance[0] == pytest.approx(0.5)
    v2 = jacsolve.validate(_Linear(np.array([0.0]), np.array([1.2 * z])), mc, digits=1)
    assert not v2.validated and v2.d_low[0] > 0.5
    with pytest.raises(ValueError, match="U_p must be >= 0"):
        jacsolve.validate((0.0, -1.0), mc)
    with pytest.raises(TypeError, match="linear_result"):
        jacsolve.validate(3.0, mc)
    with pytest.raises(ValueError, match="outputs"):
        jacsolve.validate(([0.0, 1.0], [1.0, 1.0]), mc)
    with pytest.raises(TypeError, match="mc_result"):
        jacsolve.validate((0.0, 1.0), (0.0, 1.0))


def test_progress_reports_draws_and_changes_nothing(capsys, monkeypatch):
    from jacsolve.uncertainty import montecarlo
    monkeypatch.setattr(montecarlo, "PROGRESS_DRAWS", 1 << 14)
    seen = []
    r = jacsolve.propagate_mc(sum_and_difference, [D.Normal(0, 1), D.Normal(0, 1)], n=40_000,
                              seed=4, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(16_384, 40_000), (32_768, 40_000), (40_000, 40_000)]
    plain = jacsolve.propagate_mc(sum_and_difference, [D.Normal(0, 1), D.Normal(0, 1)],
                                  n=40_000, seed=4)
    assert np.array_equal(r.value, plain.value) and np.array_equal(r.cov, plain.cov)
    assert np.array_equal(r.interval(kind="shortest"), plain.interval(kind="shortest"))
    jacsolve.propagate_mc(sum_and_difference, [D.Normal(0, 1), D.Normal(0, 1)], n=10_000,
                          seed=4, progress=True)
    assert "propagate_mc: 10000 of 10000 draws done" in capsys.readouterr().err
