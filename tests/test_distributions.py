"""Input distributions: parameters, moments and sampling against scipy.stats.

Tolerances are derived from the Monte Carlo standard error of each statistic
(5 standard errors); the Kolmogorov-Smirnov tests use a fixed seed, so they
are deterministic.
"""
import hashlib
import math

import numpy as np
import pytest
from scipy import integrate, stats

from jacsolve import distributions as D

N = 40_000
SEED = 20240601

CASES = [
    D.Normal(1.5, 2.0),
    D.Rectangular(-1.0, 3.0),
    D.Triangular(0.0, 2.0),
    D.Triangular(-1.0, 4.0, mode=0.2),
    D.Trapezoidal(-2.0, 2.0, 0.4),
    D.Arcsine(-0.5, 0.5),
    D.StudentT(10.0, 2.0, 5.0),
    D.StudentT(0.0, 1.0, 2.5),
    D.StudentT(0.0, 1.0, 1.5),     # gamma shape 0.75 < 1: the boosted branch
    D.Exponential(2.0, loc=1.0),
    D.Gamma(0.6, 2.0),
    D.Gamma(4.0, 0.5, loc=-1.0),
    D.SciPy(stats.lognorm(0.5, scale=2.0)),
    D.SciPy(stats.beta(2.0, 5.0)),
]


@pytest.mark.parametrize("dist", CASES, ids=lambda d: type(d).__name__)
def test_moments_match_scipy(dist):
    ref = dist.scipy()
    assert dist.mean == pytest.approx(ref.mean(), rel=1e-12, abs=1e-14)
    assert dist.std == pytest.approx(ref.std(), rel=1e-12)


@pytest.mark.parametrize("dist", CASES, ids=lambda d: type(d).__name__)
def test_sampling_matches_scipy(dist):
    ref = dist.scipy()
    x = dist.sample(N, seed=SEED)
    assert x.shape == (N,) and np.all(np.isfinite(x))
    sigma = ref.std()
    if np.isfinite(sigma):
        assert abs(x.mean() - ref.mean()) < 5 * sigma / math.sqrt(N)
    else:   # infinite variance (StudentT, dof <= 2): the median, se sqrt(1/4 / N) / pdf(median)
        med = ref.median()
        assert abs(np.median(x) - med) < 5 * 0.5 / (math.sqrt(N) * ref.pdf(med))
    kurt = ref.stats(moments="k") + 3.0          # non-excess kurtosis
    if np.isfinite(kurt):
        se_std = sigma * math.sqrt((kurt - 1.0) / (4.0 * N))
        assert abs(x.std(ddof=1) - sigma) < 5 * se_std
    assert stats.kstest(x, ref.cdf).pvalue > 1e-3


def test_ziggurat_normal_in_its_tails_and_layers():
    # 2e6 draws: the tail beyond the ziggurat's base r = 3.654 (sampled apart), and a
    # chi-square test on 512 equiprobable bins (the layer boundaries are nowhere special)
    n = 2_000_000
    x = D.Normal(0.0, 1.0).sample(n, seed=SEED)
    for a in (1.0, 2.5, 3.6541528853610088, 4.5):
        expected = n * 2 * stats.norm.sf(a)
        assert abs(np.sum(np.abs(x) > a) - expected) < 5 * math.sqrt(expected)
    edges = stats.norm.ppf(np.linspace(0.0, 1.0, 513)[1:-1])
    counts = np.bincount(np.searchsorted(edges, x), minlength=512)
    chi2 = np.sum((counts - n / 512) ** 2 / (n / 512))
    assert stats.chi2(511).sf(chi2) > 1e-3


def _ctrap_pdf(xi, a, b, d):
    """JCGM 101 6.4.3.2: the density of a rectangular distribution with inexact limits."""
    mid, w = (a + b) / 2, (b - a) / 2
    s = abs(xi - mid)
    if s >= w + d:
        return 0.0
    return math.log((w + d) / max(s, w - d)) / (4 * d)


@pytest.mark.parametrize("d", [0.1, 0.5, 1.0])
def test_curvilinear_trapezoid_against_its_density(d):
    dist = D.CurvilinearTrapezoidal(-1.0, 1.0, d)
    var = integrate.quad(lambda t: t * t * _ctrap_pdf(t, -1, 1, d), -1 - d, 1 + d,
                         points=[-1 + d, 1 - d, 0.0])[0]
    assert dist.std == pytest.approx(math.sqrt(var), rel=1e-9)
    for t in (-1.05, -0.5, 0.0, 0.3, 0.95):
        ref = integrate.quad(lambda s: _ctrap_pdf(s, -1, 1, d), -1 - d, t, points=[-1 + d])[0]
        assert float(dist.cdf(t)) == pytest.approx(ref, abs=1e-9)
    x = dist.sample(N, seed=SEED)
    assert abs(x.std(ddof=1) - dist.std) < 5 * dist.std * math.sqrt(0.8 / (4 * N))
    assert stats.kstest(x, dist.cdf).pvalue > 1e-3


def test_multivariate_normal_sampling():
    cov = np.array([[4.0, 1.2, 0.0], [1.2, 1.0, -0.3], [0.0, -0.3, 0.25]])
    dist = D.MultivariateNormal([1.0, -2.0, 0.5], cov)
    X = dist.sample(N, seed=SEED)
    assert X.shape == (N, 3)
    s = np.sqrt(np.diag(cov))
    assert np.all(np.abs(X.mean(axis=0) - dist.mean) < 5 * s / math.sqrt(N))
    # se of a sample covariance of normals: sqrt((s_ii s_jj + s_ij^2) / N)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov ** 2) / N)
    assert np.all(np.abs(np.cov(X, rowvar=False) - cov) < 5 * se)
    for j in range(3):
        assert stats.kstest(X[:, j], stats.norm(dist.mean[j], s[j]).cdf).pvalue > 1e-3
    np.testing.assert_allclose(dist.std, s)


def test_multivariate_normal_singular_covariance():
    dist = D.MultivariateNormal.from_std([0.0, 0.0], [1.0, 2.0], [[1.0, 1.0], [1.0, 1.0]])
    X = dist.sample(1000, seed=1)
    np.testing.assert_allclose(X[:, 1], 2 * X[:, 0], rtol=1e-12, atol=1e-12)


def test_reproducible_and_independent_of_chunking():
    d = D.Normal(0.0, 1.0)
    a = d.sample(5000, seed=7)
    np.testing.assert_array_equal(a, d.sample(5000, seed=7))
    np.testing.assert_array_equal(a[:1500], d.sample(1500, seed=7))  # a prefix of one stream
    assert not np.array_equal(a, d.sample(5000, seed=8))
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(d.sample(100, seed=g1), d.sample(100, seed=g2))
    assert not np.array_equal(d.sample(100, seed=g1), d.sample(100, seed=np.random.default_rng(3)))


def test_constant_and_as_distribution():
    assert np.all(D.Constant(2.5).sample(10, seed=1) == 2.5)
    assert isinstance(D.as_distribution(3), D.Constant)
    assert isinstance(D.as_distribution(stats.norm(0, 1)), D.SciPy)
    assert D.StudentT(0, 1, 2).std == math.inf and math.isnan(D.StudentT(0, 1, 1).mean)


@pytest.mark.parametrize("make, match", [
    (lambda: D.Rectangular(1.0, 1.0), "a must be < b"),
    (lambda: D.Rectangular(2.0, 1.0), "a must be < b"),
    (lambda: D.Normal(0.0, -1.0), "std must be >= 0"),
    (lambda: D.Normal(np.nan, 1.0), "mean must be finite"),
    (lambda: D.Normal("a", 1.0), "mean must be a real number"),
    (lambda: D.StudentT(0.0, 1.0, 0.0), "dof must be > 0"),
    (lambda: D.StudentT(0.0, -1.0, 3.0), "scale must be > 0"),
    (lambda: D.Triangular(0.0, 1.0, mode=2.0), "mode must lie in"),
    (lambda: D.Trapezoidal(0.0, 1.0, 1.5), "beta must lie in"),
    (lambda: D.CurvilinearTrapezoidal(0.0, 1.0, 0.6), "d must lie in"),
    (lambda: D.CurvilinearTrapezoidal(0.0, 1.0, -0.1), "d must lie in"),
    (lambda: D.Exponential(0.0), "scale must be > 0"),
    (lambda: D.Gamma(-1.0, 1.0), "shape must be > 0"),
    (lambda: D.Arcsine(1.0, 0.0), "a must be < b"),
    (lambda: D.MultivariateNormal([0, 0], [[1, 0.5], [0.4, 1]]), "cov must be symmetric"),
    (lambda: D.MultivariateNormal([0, 0], [[1, 2], [2, 1]]), "positive semi-definite"),
    (lambda: D.MultivariateNormal([0, 0], np.eye(3)), r"cov must have shape \(2, 2\)"),
    (lambda: D.MultivariateNormal.from_std([0, 0], [1, 1], [[1, 1.2], [1.2, 1]]),
     r"corr must have entries in \[-1, 1\]"),
    (lambda: D.MultivariateNormal.from_std([0, 0], [1, -1], np.eye(2)), "std must be >= 0"),
    (lambda: D.SciPy(stats.norm), "frozen scipy.stats"),
    (lambda: D.as_distribution("normal"), "input must be"),
    (lambda: D.Normal(0, 1).sample(0), "n must be a positive integer"),
    (lambda: D.Normal(0, 1).sample(5, seed=-1), "seed must be"),
])
def test_bad_parameters(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# The samplers' streams are pinned: the same seed gives bit-identical draws, whatever the
# samplers' code layout (Monte Carlo runs split into blocks on threads or workers rely on it).
# Values recorded from the samplers as first released; sha256 of the draws' bytes (16 hex).
PINNED = [  # (distribution, sha256 of sample(2100, seed=SEED), first draw)
    (D.Constant(2.5), "2124c62470474bae", "0x1.4000000000000p+1"),
    (D.Normal(1.5, 2.0), "26eb361e132532f9", "0x1.4520e30bb5a58p+1"),
    (D.Rectangular(-1.0, 3.0), "b85128aeecf6bc8a", "-0x1.875ccf778c1aep-1"),
    (D.Triangular(-1.0, 4.0, mode=0.2), "d7e55b33b239aacf", "-0x1.9f3b6f4528abap-2"),
    (D.Trapezoidal(-2.0, 2.0, 0.4), "9f858ba6cd57b83e", "-0x1.6be5b96eb813bp+0"),
    (D.CurvilinearTrapezoidal(-1.0, 1.0, 0.3), "ec026bdada71e264", "-0x1.99952f01a17fcp-1"),
    (D.Arcsine(-0.5, 0.5), "1838b209d86d6759", "0x1.8f036509daf32p-2"),
    (D.StudentT(10.0, 2.0, 5.0), "02babad8f8a17550", "0x1.64acaa801f9dep+3"),
    (D.StudentT(0.0, 1.0, 1.5), "c5c0147b7390d4b9", "0x1.0f81fe41fe737p+0"),
    (D.Exponential(2.0, loc=1.0), "e513b720fae52dda", "0x1.aa796098ee01ap+2"),
    (D.Gamma(0.6, 2.0), "65b8610b53dad9a9", "0x1.9091251af4c71p-1"),
    (D.Gamma(4.0, 0.5, loc=-1.0), "1afb287aebcb2373", "0x1.60ae4c05ec190p+0"),
    (D.MultivariateNormal([1.0, -2.0], [[4.0, 1.2], [1.2, 1.0]]), "79eac8ebf43b18cb",
     "0x1.0520e30bb5a58p+1"),
    (D.SciPy(stats.lognorm(0.5, scale=2.0)), "a564919b5462ec69", "0x1.4dc7a40063dc7p+2"),
]


def _digest(X) -> str:
    return hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("dist, digest, first", PINNED, ids=lambda v: type(v).__name__)
def test_draws_are_pinned_for_each_kind(dist, digest, first):
    X = dist.sample(2100, seed=SEED)            # three blocks, the last one partial
    assert float(X.ravel()[0]).hex() == first
    assert _digest(X) == digest


def test_draws_are_pinned_for_a_plan_of_every_kind():
    # one generator per block runs through the columns in order: the order is part of the stream
    plan = D.SamplingPlan([dist for dist, _, _ in PINNED])
    assert _digest(plan.draw(D.seed_key(7), 1024, 2100)) == "cc6b1e41e19b4bed"


def test_unloaded_samplers_fail_clearly_and_an_unpickled_plan_loads_its_own():
    import pickle
    from jacsolve.uncertainty import sampling

    plan = D.SamplingPlan([D.Normal(1.5, 2.0), D.Gamma(0.6, 2.0)])
    X = plan.draw(D.seed_key(SEED), 0, 100)
    saved = sampling._TABLE[2 * sampling.GAMMA]
    sampling._TABLE[2 * sampling.GAMMA] = 0          # as in a process where no plan loaded it
    try:
        with pytest.raises(RuntimeError, match="not loaded in this process"):
            D.sample_blocks(plan.codes, plan.params, plan.cols, plan.extra, np.zeros((0, 0)),
                            D.seed_key(SEED), 0, np.empty((10, 2)))
        copy = pickle.loads(pickle.dumps(plan))      # as sent to another process
        assert sampling._TABLE[2 * sampling.GAMMA] != 0
        np.testing.assert_array_equal(copy.draw(D.seed_key(SEED), 0, 100), X)
    finally:
        if sampling._TABLE[2 * sampling.GAMMA] == 0:
            sampling._TABLE[2 * sampling.GAMMA] = saved
