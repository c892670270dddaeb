"""integrate / integrate_mc / compare_integration against closed forms and SciPy."""
import math

import numpy as np
import pytest
from scipy import integrate as si
from scipy import stats

import jacsolve
from jacsolve import regions as R
from jacsolve.integration.cubature import gauss_min_n, gauss_orders
from jacsolve.problems import integral_cases as P
from jacsolve.status import Status

CASES = P.cases()


def rel_err(value, exact):
    return abs(value - exact) / max(1.0, abs(exact))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_gauss_reaches_1e_10_with_honest_error(case):
    res = jacsolve.integrate(case.f, case.region, n=case.n_gauss, args=case.args)
    assert res.success and res.method == "gauss" and res.det == "analytic"
    assert res.nfev <= case.n_gauss
    assert rel_err(res.value, case.exact) <= 1e-10
    # the two-order estimate bounds the true error (closed forms carry ~1e-15 rounding)
    assert abs(res.value - case.exact) <= res.error + 1e-14 * max(1.0, abs(case.exact))


@pytest.mark.parametrize("name", ["3-ball exp(c.x)", "torus exp(z)", "triangle exp(c.x)"])
def test_gauss_with_complex_step_determinant(name):
    case = P.case(name)
    res = jacsolve.integrate(case.f, case.region, n=case.n_gauss, args=case.args, det="complex")
    assert res.det == "complex"
    assert rel_err(res.value, case.exact) <= 1e-10


@pytest.mark.parametrize("method", ["mc", "qmc"])
@pytest.mark.parametrize("name", ["ellipse exp(c.x)", "torus exp(z)", "gaussian over R^2"])
def test_mc_and_qmc_within_a_few_standard_errors(method, name):
    case = P.case(name)
    res = jacsolve.integrate(case.f, case.region, method=method, n=4096, seed=7, args=case.args,
                             rtol=0.1)
    assert res.success and res.method == method and 0 < res.error < 0.1 * abs(case.exact)
    assert abs(res.value - case.exact) <= 4 * res.error
    assert res.nfev == 4096


def test_hit_or_miss_within_a_few_standard_errors():
    case = P.case("torus exp(z)")
    res = jacsolve.integrate_mc(case.f, case.region, n=20_000, seed=3, args=case.args, rtol=0.1)
    assert res.success and res.method == "hit-or-miss" and res.det == "indicator"
    assert abs(res.value - case.exact) <= 4 * res.error
    # only the points inside are evaluated: about vol(torus) / vol(box) of them
    frac = case.region.volume / np.prod(np.subtract(*case.region.bounds[::-1]))
    assert abs(res.nfev / 20_000 - frac) < 5 * math.sqrt(frac * (1 - frac) / 20_000)


def test_qmc_beats_hit_or_miss_at_equal_evaluations():
    case = P.case("disk exp(c.x)")
    qmc = jacsolve.integrate(case.f, case.region, method="qmc", n=1 << 14, seed=1, args=case.args,
                             rtol=0.1)
    hit = jacsolve.integrate_mc(case.f, case.region, n=1 << 14, seed=1, args=case.args, rtol=0.1)
    assert qmc.error < 0.1 * hit.error      # n^-1 (log n) against n^-1/2
    assert abs(qmc.value - case.exact) <= 4 * qmc.error


@pytest.mark.parametrize("method, coverage", [
    ("mc", 0.6827), ("qmc", None), ("hit-or-miss", 0.6827)])
def test_error_estimates_are_calibrated(method, coverage):
    """Over independent seeds the truth lies within one error estimate at the
    nominal rate (normal for MC, Student t with 7 dof for 8 QMC replicates)."""
    case = P.case("annulus gaussian")
    seeds = 60
    if coverage is None:
        coverage = 2 * stats.t.cdf(1.0, 7) - 1
    hits = 0
    for seed in range(seeds):
        if method == "hit-or-miss":
            res = jacsolve.integrate_mc(case.f, case.region, n=2000, seed=seed, args=case.args,
                                        rtol=0.2)
        else:
            res = jacsolve.integrate(case.f, case.region, method=method, n=2048, seed=seed,
                                     args=case.args, rtol=0.2)
        assert res.success
        hits += abs(res.value - case.exact) <= res.error
    lo, hi = stats.binom.ppf([0.0005, 0.9995], seeds, coverage)
    assert lo <= hits <= hi, (hits, lo, hi)


# -------------------------------------------------------------- against SciPy
def test_between_against_dblquad():
    case = P.case("between cos and x^2-1: y")
    ref, _ = si.dblquad(lambda y, x: y, -0.8, 0.9, lambda x: x * x - 1, np.cos,
                        epsabs=1e-13, epsrel=1e-13)
    res = jacsolve.integrate(case.f, case.region, n=case.n_gauss, args=case.args)
    assert abs(res.value - ref) < 1e-12 and abs(ref - case.exact) < 1e-12


def test_surfaces_against_tplquad():
    case = P.case("between surfaces over disk: exp(z)")
    ref, _ = si.tplquad(lambda z, y, x: math.exp(z), -1, 1,
                        lambda x: -math.sqrt(1 - x * x), lambda x: math.sqrt(1 - x * x),
                        lambda x, y: x * x + y * y - 1, lambda x, y: 1 + x,
                        epsabs=1e-10, epsrel=1e-10)
    res = jacsolve.integrate(case.f, case.region, n=case.n_gauss, args=case.args)
    assert abs(res.value - ref) < 1e-8 and abs(res.value - case.exact) < 1e-10


def test_box_against_cubature_and_qmc_quad():
    c = np.array([0.3, -0.7, 1.1])
    box = R.Box([0, 0, 0], [1, 2, 0.5])
    exact = np.prod([(math.exp(ci * b) - 1) / ci for ci, b in zip(c, [1, 2, 0.5])])
    cub = si.cubature(lambda x: np.exp(x @ c), [0, 0, 0], [1, 2, 0.5], rtol=1e-12)
    res = jacsolve.integrate(P.exp_linear, box, n=2000, args=(c,))
    assert abs(res.value - exact) < 1e-12 and abs(cub.estimate - exact) < 1e-10
    qq = si.qmc_quad(lambda x: np.exp(c @ x), [0, 0, 0], [1, 2, 0.5], n_points=1024,
                     n_estimates=8, qrng=stats.qmc.Sobol(3, rng=np.random.default_rng(0)))
    ours = jacsolve.integrate(P.exp_linear, box, method="qmc", n=8192, seed=0, args=(c,),
                              rtol=1e-3)
    for value, err in ((qq.integral, qq.standard_error), (ours.value, ours.error)):
        assert abs(value - exact) <= 4 * err


# ---------------------------------------------------------- singular corners
def test_corner_singularity_removed_by_duffy_coordinates():
    square = R.Box([0.0, 0.0], [1.0, 1.0])
    with pytest.warns(jacsolve.IntegrationWarning, match="does not meet rtol"):
        plain = jacsolve.integrate(P.inv_norm, square, n=4000)
    # plain Gauss converges like m^-2 here: its estimate still bounds the error, far above rtol
    assert not plain.success and plain.status == Status.NOT_CONVERGED
    assert abs(plain.value - P.CORNER_SQUARE) <= plain.error
    duffy = sum(jacsolve.integrate(P.inv_norm, t, n=400).value for t in P.corner_triangles())
    assert abs(duffy - P.CORNER_SQUARE) < 1e-13
    assert abs(plain.value - P.CORNER_SQUARE) > 1e-5          # plain tensor Gauss stalls
    adaptive = jacsolve.integrate(P.inv_norm, square, method="adaptive", rtol=1e-9)
    assert adaptive.success and abs(adaptive.value - P.CORNER_SQUARE) < 1e-8
    assert abs(adaptive.value - P.CORNER_SQUARE) <= adaptive.error


def test_adaptive_resolves_a_peak_and_reports_maxfev():
    a = 400.0
    disk = R.Disk(radius=1.0)
    exact = math.pi * (1 - math.exp(-a)) / a
    res = jacsolve.integrate(P.gauss_nd, R.Box([-1, -1], [1, 1]), method="adaptive",
                             args=(a,), rtol=1e-10)
    assert res.success and abs(res.value - math.pi / a) < 1e-10 * math.pi / a
    assert abs(res.value - math.pi / a) <= res.error
    with pytest.warns(jacsolve.IntegrationWarning, match="evaluations used"):
        short = jacsolve.integrate(P.gauss_nd, disk, method="adaptive", args=(a,), n=300,
                                   rtol=1e-14)
    assert not short.success and short.status == Status.MAXFEV and short.nfev <= 300
    assert abs(short.value - exact) < 0.5 * exact


# ---------------------------------------------------------- paths and errors
def test_plain_python_integrand_and_map_give_same_result():
    def f(x):
        return math.exp(0.7 * x[0] - 0.4 * x[1])

    def polar(u):
        r, t = 1.5 * u[0], 2 * np.pi * u[1]
        return np.array([r * np.cos(t), r * np.sin(t)])

    with pytest.warns(jacsolve.PerformanceWarning):
        res = jacsolve.integrate(f, R.Disk(radius=1.5), n=1600)
    with pytest.warns(jacsolve.PerformanceWarning):
        region = R.Mapped(polar, 2)
    res2 = jacsolve.integrate(P.exp_linear, region, n=1600, args=(np.array([0.7, -0.4]),))
    exact = P.case("disk exp(c.x)").exact
    assert rel_err(res.value, exact) < 1e-12 and rel_err(res2.value, exact) < 1e-12
    assert res2.det == "complex"


def test_nan_integrand_is_reported_not_dropped():
    @jacsolve.jit
    def sqrt_x(x):
        return np.sqrt(x[0])             # NaN on the left half of the disk

    res = jacsolve.integrate(sqrt_x, R.Disk(), n=400)
    assert not res.success and res.status == Status.NONFINITE
    assert math.isnan(res.value) and res.n_nonfinite > 0
    assert f"at {res.n_nonfinite} of" in res.message
    mc = jacsolve.integrate(sqrt_x, R.Disk(), method="mc", n=1000, seed=0)
    assert mc.status == Status.NONFINITE and math.isnan(mc.value)


def test_bad_arguments_name_themselves():
    disk = R.Disk()
    for bad in (0, -5, 2.5):
        with pytest.raises(ValueError, match=r"\bn must be a positive integer"):
            jacsolve.integrate(P.gauss_nd, disk, n=bad, args=(1.0,))
        with pytest.raises(ValueError, match=r"\bn must be a positive integer"):
            jacsolve.integrate_mc(P.gauss_nd, disk, n=bad, args=(1.0,))
    with pytest.raises(ValueError, match="n = 3 is too small"):
        jacsolve.integrate(P.gauss_nd, disk, n=3, args=(1.0,))
    with pytest.raises(ValueError, match="method"):
        jacsolve.integrate(P.gauss_nd, disk, method="simpson", args=(1.0,))
    with pytest.raises(TypeError, match="region"):
        jacsolve.integrate(P.gauss_nd, [0, 1], args=(1.0,))
    with pytest.raises(TypeError, match="f must return a scalar"):
        jacsolve.integrate(jacsolve.jit(lambda x: x * 2.0), disk)
    with pytest.raises(ValueError, match="unbounded"):
        jacsolve.integrate_mc(P.gauss_nd, R.RealSpace(2), n=10, args=(1.0,))
    with pytest.raises(ValueError, match="det='analytic'"):
        jacsolve.integrate(P.gauss_nd, R.Mapped(R._box_map, 2, args=(np.array([0, 0, 1, 1.]),)),
                           det="analytic", args=(1.0,))
    with pytest.raises(ValueError, match="replicates"):
        jacsolve.integrate(P.gauss_nd, disk, method="qmc", replicates=1, args=(1.0,))


def test_gauss_orders_respect_the_budget():
    def cost(m):
        m2 = m - max(1, m // 3)
        return m ** d + m2 ** d + max(1, m2 - max(1, m2 // 3)) ** d

    for n, d in [(36, 3), (100, 2), (4000, 3), (10 ** 5, 5)]:
        m, m2, m3 = gauss_orders(n, d)
        assert 1 <= m3 < m2 < m and cost(m) <= n < cost(m + 1)
    assert gauss_min_n(3) == 36
    with pytest.raises(ValueError, match="n = 35 is too small"):
        gauss_orders(35, 3)


def test_compare_integration_table_and_plot(tmp_path):
    case = P.case("disk exp(c.x)")
    cmp = jacsolve.compare_integration(case.f, case.region, ns=[64, 4096], exact=case.exact,
                                       args=case.args, seed=1)
    methods = [r["method"] for r in cmp.rows]
    assert methods == ["hit-or-miss"] * 2 + ["mc"] * 2 + ["qmc"] * 2 + ["gauss"] * 2
    errors = {m: e for m, (_, e) in cmp.series().items()}
    assert errors["gauss"][-1] < 1e-12 < errors["hit-or-miss"][-1]
    assert "| gauss | 4096 |" in cmp.markdown()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"jacsolve\[plot\]"):
            cmp.plot(tmp_path / "conv.png")
    else:
        cmp.plot(tmp_path / "conv.png")
        assert (tmp_path / "conv.png").stat().st_size > 0
