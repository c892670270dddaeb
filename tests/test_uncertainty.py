"""Law of propagation of uncertainty: tests against closed forms and exact moments.

Most models are plain Python functions (no compile time); the compiled path is
exercised with the shared models of jacsolve.problems.propagation_models.
"""
import warnings

import numpy as np
import pytest
from scipy import stats

import jacsolve
from jacsolve import propagate
from jacsolve.problems import propagation_models as P
from jacsolve.uncertainty import NonlinearityWarning, coverage_factor


def corr2(rho):
    return np.array([[1.0, rho], [rho, 1.0]])


# ------------------------------------------------------------ linear: closed forms
def test_sum_with_correlation_matches_aT_V_a():
    a = np.array([1.0, 2.0, -3.0])
    V = np.array([[0.04, 0.01, -0.02], [0.01, 0.09, 0.0], [-0.02, 0.0, 0.25]])
    r = propagate(lambda x: a @ x, [1.0, 2.0, 3.0], V)
    assert r.value == pytest.approx(a @ [1.0, 2.0, 3.0], rel=1e-15)
    assert r.std == pytest.approx(np.sqrt(a @ V @ a), rel=1e-14)
    np.testing.assert_allclose(r.jac, a, rtol=1e-15)


@pytest.mark.parametrize("rho", [0.0, 0.7, -0.4])
def test_product_and_ratio_closed_forms(rho):
    x0, x1, u0, u1 = 3.0, -2.0, 0.1, 0.05
    r = propagate(lambda x: x[0] * x[1], [x0, x1], u=[u0, u1], corr=corr2(rho))
    var = (x1 * u0) ** 2 + (x0 * u1) ** 2 + 2 * x0 * x1 * rho * u0 * u1
    assert r.std == pytest.approx(np.sqrt(var), rel=1e-14)
    q = propagate(lambda x: x[0] / x[1], [x0, x1], u=[u0, u1], corr=corr2(rho))
    c = np.array([1 / x1, -x0 / x1 ** 2])
    var = (c[0] * u0) ** 2 + (c[1] * u1) ** 2 + 2 * c[0] * c[1] * rho * u0 * u1
    assert q.std == pytest.approx(np.sqrt(var), rel=1e-14)


def test_vector_output_full_covariance_and_correlation_compiled():
    x = np.array([2.0, 5.0])
    V = np.array([[0.01, 0.003], [0.003, 0.04]])
    r = propagate(P.product_ratio_sum, x, V)
    J = np.array([[x[1], x[0]], [1 / x[1], -x[0] / x[1] ** 2], [1.0, 1.0]])
    np.testing.assert_allclose(r.jac, J, rtol=1e-15)
    np.testing.assert_allclose(r.cov, J @ V @ J.T, rtol=1e-14)
    np.testing.assert_allclose(r.std, np.sqrt(np.diag(J @ V @ J.T)), rtol=1e-14)
    s = np.sqrt(np.diag(r.cov))
    np.testing.assert_allclose(r.corr, r.cov / np.outer(s, s), rtol=1e-14)
    np.testing.assert_allclose(np.diag(r.corr), 1.0)
    # the same through u and corr, and through a plain Python model
    R = V / np.sqrt(np.outer(np.diag(V), np.diag(V)))
    r2 = propagate(P.product_ratio_sum, x, u=np.sqrt(np.diag(V)), corr=R)
    np.testing.assert_allclose(r2.cov, r.cov, rtol=1e-14)
    r3 = propagate(lambda z: np.array([z[0] * z[1], z[0] / z[1], z[0] + z[1]]), x, V)
    np.testing.assert_allclose(r3.cov, r.cov, rtol=1e-14)
    assert isinstance(r.value, np.ndarray) and r.value.shape == (3,)
    assert "Propagation(value=[" in repr(r)


def test_compiled_kernels_central_second_order_and_checks():
    # one compiled kernel per Jacobian method serves both methods
    x = np.array([2.0, 5.0])
    V = np.array([[0.01, 0.003], [0.003, 0.04]])
    J = np.array([[x[1], x[0]], [1 / x[1], -x[0] / x[1] ** 2], [1.0, 1.0]])
    c = propagate(P.product_ratio_sum, x, V, jac="central")
    # central differences with steps 1e-3 u: relative truncation error ~ 1e-7 u^2 f'''/f'
    np.testing.assert_allclose(c.jac, J, rtol=1e-8)
    np.testing.assert_allclose(c.cov, J @ V @ J.T, rtol=1e-8)
    s = propagate(P.product_ratio_sum, x, V, method="second-order")
    # exact for normal inputs: Var(x0 x1) = c^T V c + V00 V11 + V01^2; x0 + x1 is linear
    lin = J @ V @ J.T
    assert s.cov[0, 0] == pytest.approx(lin[0, 0] + V[0, 0] * V[1, 1] + V[0, 1] ** 2, rel=1e-12)
    assert s.cov[2, 2] == pytest.approx(lin[2, 2], rel=1e-12)
    np.testing.assert_allclose(s.bias[[0, 2]], [V[0, 1], 0.0], atol=1e-15)
    # u and x arrays that skip the Python checks are checked by the kernel
    for bad in (-0.2, np.nan, np.inf):
        with pytest.raises(ValueError, match=rf"u must be finite and >= 0; u\[1\] = {bad}"):
            propagate(P.product_ratio_sum, x, u=np.array([0.1, bad]))
    with pytest.raises(ValueError, match="x must be finite"):
        propagate(P.product_ratio_sum, np.array([2.0, np.nan]), u=np.array([0.1, 0.2]))
    # non-contiguous and integer arrays are converted, not misread
    wide = np.array([[2.0, 0.0], [5.0, 0.0]])[:, 0]
    r = propagate(P.product_ratio_sum, wide, u=np.sqrt(np.diag(V)))
    np.testing.assert_allclose(r.jac, J, rtol=1e-15)
    r = propagate(P.product_ratio_sum, np.array([2, 5]), u=np.array([1, 2]))
    np.testing.assert_allclose(r.cov, J @ np.diag([1.0, 4.0]) @ J.T, rtol=1e-14)


def test_central_steps_follow_u_not_x():
    # fun varies on the scale of u at an estimate of 0: a step relative to |x|
    # (or to 1) is far too coarse there; steps of 1e-3 u are not (FACTS.md)
    k = 1e4
    f = lambda x: np.exp(k * x[0]) + x[1]  # noqa: E731
    x, u = np.array([0.0, 1.0]), np.array([1e-4, 0.0])
    r = propagate(f, x, u=u, jac="central")
    # all that is left is the truncation error h^2 f'''/(6 f') with h = 1e-3 u
    assert r.std == pytest.approx(1.0 + 1e-6 / 6, rel=1e-9)
    coarse = jacsolve.jacobian(f, x, method="central")[0] * u[0]
    assert abs(coarse - 1.0) > 1e-5  # the test could fail with |x|-relative steps
    assert propagate(f, x, u=u).std == pytest.approx(1.0, rel=1e-14)  # complex step


def test_not_complex_safe_model_needs_central():
    f = lambda x: abs(x[0]) + 2.0 * abs(x[1])  # real for complex x  # noqa: E731
    with pytest.raises(TypeError, match="jac='central'"):
        propagate(f, [-2.0, 3.0], u=[0.1, 0.2], jac="complex")
    r = propagate(f, [-2.0, 3.0], u=[0.1, 0.2], jac="central")
    assert r.std == pytest.approx(np.hypot(0.1, 2 * 0.2), rel=1e-12)
    auto = propagate(f, [-2.0, 3.0], u=[0.1, 0.2])   # the default falls back
    assert auto.jac_method == "richardson"
    assert auto.std == pytest.approx(np.hypot(0.1, 2 * 0.2), rel=1e-12)


# ------------------------------------------------------------------- budget
def test_budget_sums_to_u2_uncorrelated_and_table():
    r = propagate(P.ten_inputs, P.TEN_X, u=P.TEN_U, names=[f"q{i}" for i in range(10)])
    b = r.budget
    np.testing.assert_allclose(b.contribution[0], np.abs(r.jac) * P.TEN_U, rtol=1e-15)
    assert (b.contribution[0] ** 2).sum() == pytest.approx(r.std ** 2, rel=1e-13)
    assert b.share.sum() == pytest.approx(1.0, rel=1e-13)
    assert b.correlation_share[0] == 0 and b.second_order_share[0] == 0
    text = str(b)
    assert "q7" in text and "share" in text and "correlations" not in text
    e = b.entries(0)[7]
    assert e.name == "q7" and e.sensitivity == r.jac[7] and e.share == b.share[0, 7]


def test_budget_with_correlation_and_second_order_adds_to_one():
    R = P.ten_corr(0.3)
    r = propagate(P.ten_inputs, P.TEN_X, u=P.TEN_U, corr=R, method="second-order")
    b = r.budget
    total = b.share.sum() + b.correlation_share[0] + b.second_order_share[0]
    assert total == pytest.approx(1.0, rel=1e-12)
    c = r.jac * P.TEN_U
    assert b.correlation_share[0] * r.std ** 2 == pytest.approx(c @ R @ c - c @ c, rel=1e-10)
    assert "correlations" in b.table(0) and "second order" in b.table("y")


# ------------------------------------------------- second order vs exact moments
def test_square_of_normal_exact_variance_and_bias():
    mu, s = 1.5, 0.4
    r = propagate(lambda x: x[0] * x[0], [mu], u=[s], method="second-order")
    assert r.std ** 2 == pytest.approx(4 * mu ** 2 * s ** 2 + 2 * s ** 4, rel=1e-12)
    assert r.bias == pytest.approx(s ** 2, rel=1e-12)
    assert r.std_linear == pytest.approx(2 * mu * s, rel=1e-14)
    assert not r.nonlinear


@pytest.mark.parametrize("rho", [0.0, 0.6])
def test_product_of_normals_exact_variance(rho):
    m1, m2, s1, s2 = 1.2, -0.7, 0.3, 0.5
    r = propagate(lambda x: x[0] * x[1], [m1, m2], u=[s1, s2], corr=corr2(rho),
                  method="second-order")
    exact = (m1 ** 2 * s2 ** 2 + m2 ** 2 * s1 ** 2 + 2 * m1 * m2 * rho * s1 * s2
             + s1 ** 2 * s2 ** 2 * (1 + rho ** 2))
    assert r.std ** 2 == pytest.approx(exact, rel=1e-12)
    assert r.bias == pytest.approx(rho * s1 * s2, rel=1e-12, abs=1e-15)
    c = propagate(lambda x: x[0] * x[1], [m1, m2], u=[s1, s2], corr=corr2(rho),
                  method="second-order", jac="central")
    assert c.std ** 2 == pytest.approx(exact, rel=1e-7)


def test_third_derivative_term_cube_and_exp():
    # Var(x^3) = 9 mu^4 s^2 + 36 mu^2 s^4 + 15 s^6: fourth order is all but 15 s^6;
    # half of the 36 comes from the Hessian, half from f' f'''
    mu, s = 2.0, 0.3
    r = propagate(lambda x: x[0] * x[0] * x[0], [mu], u=[s], method="second-order")
    assert r.std ** 2 == pytest.approx(9 * mu ** 4 * s ** 2 + 36 * mu ** 2 * s ** 4, rel=1e-10)
    assert r.bias == pytest.approx(3 * mu * s ** 2, rel=1e-10)
    # lognormal: Var(e^x) = e^{2 mu} (s^2 + 3/2 s^4 + 7/6 s^6 + ...)
    mu, s = 0.5, 0.05
    r = propagate(lambda x: np.exp(x[0]), [mu], u=[s], method="second-order")
    exact = np.exp(2 * mu) * (np.exp(2 * s ** 2) - np.exp(s ** 2))
    assert r.std ** 2 == pytest.approx(np.exp(2 * mu) * (s ** 2 + 1.5 * s ** 4), rel=1e-9)
    assert abs(r.std ** 2 / exact - 1) < 2 * s ** 4  # only the s^6 term is missing


def test_correlated_third_derivative_term():
    # y = (a.x)^3 with x ~ N(mu, V): a.x ~ N(a.mu, a V a), so the cubic formula applies
    a = np.array([1.0, -2.0, 0.5])
    mu = np.array([1.0, 0.3, 2.0])
    V = np.array([[0.04, 0.01, 0.0], [0.01, 0.02, -0.005], [0.0, -0.005, 0.09]])
    m, s2 = a @ mu, a @ V @ a

    def f(x):
        t = a[0] * x[0] + a[1] * x[1] + a[2] * x[2]
        return t * t * t
    r = propagate(f, mu, V, method="second-order")
    assert r.std ** 2 == pytest.approx(9 * m ** 4 * s2 + 36 * m ** 2 * s2 ** 2, rel=1e-10)
    assert r.bias == pytest.approx(3 * m * s2, rel=1e-10)


def test_second_order_output_covariance():
    # Cov(x0^2, x0 x1) = 2 mu0 mu1 s0^2 exactly for independent normals
    m0, m1, s0, s1 = 0.8, 1.5, 0.3, 0.2
    f = lambda x: np.array([x[0] * x[0], x[0] * x[1]])  # noqa: E731
    r = propagate(f, [m0, m1], u=[s0, s1], method="second-order")
    assert r.cov[0, 1] == pytest.approx(2 * m0 * m1 * s0 ** 2, rel=1e-12)
    assert r.cov[1, 1] == pytest.approx(m0 ** 2 * s1 ** 2 + m1 ** 2 * s0 ** 2
                                        + s0 ** 2 * s1 ** 2, rel=1e-12)
    np.testing.assert_allclose(r.bias, [s0 ** 2, 0.0], atol=1e-15)


def test_zero_first_order_is_flagged():
    f = lambda x: x[0] * x[0]  # noqa: E731
    with pytest.warns(NonlinearityWarning, match="second-order"):
        r = propagate(f, [0.0], u=[0.5])
    assert r.std == 0 and r.nonlinear
    with pytest.warns(NonlinearityWarning):
        r2 = propagate(f, [0.0], u=[0.5], method="second-order")
    assert r2.std == pytest.approx(np.sqrt(2) * 0.25, rel=1e-12) and r2.nonlinear
    # u(y) = 0 by a perfect correlation in a linear model: checked, and no flag
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonlinearityWarning)
        r3 = propagate(lambda x: x[0] - x[1], [1.0, 2.0], u=[0.1, 0.1], corr=corr2(1.0))
    assert r3.std == pytest.approx(0.0, abs=1e-16) and not r3.nonlinear


# ---------------------------------------------------------- degrees of freedom
def test_welch_satterthwaite_and_coverage_vs_scipy():
    x, u, nu = np.array([10.0, 50.0, 3.0]), np.array([0.1, 0.5, 0.02]), np.array([9, 20, np.inf])
    f = lambda z: z[0] * z[0] / z[1] + z[2]  # noqa: E731
    r = propagate(f, x, u=u, dof=nu)
    c = np.array([2 * x[0] / x[1], -x[0] ** 2 / x[1] ** 2, 1.0]) * u
    ws = (c @ c) ** 2 / np.sum(c[:2] ** 4 / nu[:2])
    assert r.dof == pytest.approx(ws, rel=1e-12) and ws != int(ws)   # kept untruncated
    for p in (0.6827, 0.95, 0.99):
        k = stats.t.ppf((1 + p) / 2, np.floor(ws))      # GUM G.6.4: nu_eff truncated
        assert r.coverage_factor(p) == pytest.approx(k, rel=1e-12)
        lo, hi = r.interval(p)
        assert (lo, hi) == pytest.approx((r.value - k * r.std, r.value + k * r.std), rel=1e-14)
        k_frac = stats.t.ppf((1 + p) / 2, ws)
        assert r.coverage_factor(p, truncate_dof=False) == pytest.approx(k_frac, rel=1e-12)
        assert r.expanded(p, truncate_dof=False) == pytest.approx(k_frac * r.std, rel=1e-12)
        assert r.interval(p, truncate_dof=False)[1] == pytest.approx(r.value + k_frac * r.std,
                                                                     rel=1e-14)
    inf = propagate(f, x, u=u)
    assert inf.dof == np.inf
    assert inf.coverage_factor(0.95) == pytest.approx(stats.norm.ppf(0.975), rel=1e-14)
    np.testing.assert_allclose(coverage_factor(0.95, [4.0, np.inf]),
                               [stats.t.ppf(0.975, 4), stats.norm.ppf(0.975)], rtol=1e-14)


def test_coverage_factor_truncates_nu_eff_as_gum_h1():
    """GUM H.1.6 (end gauge): nu_eff = 16.7 is truncated to 16, k_99 = t_0.995(16) = 2.92."""
    k = coverage_factor(0.99, 16.7)
    assert k == pytest.approx(stats.t.ppf(0.995, 16), rel=1e-14) and round(k, 2) == 2.92
    assert round(coverage_factor(0.99, 16.7, truncate_dof=False), 2) == 2.90
    # integers and inf are unchanged; below 1 there is no lower integer to take
    np.testing.assert_allclose(coverage_factor(0.95, [3.0, 3.9, 0.5, np.inf]),
                               [stats.t.ppf(0.975, 3), stats.t.ppf(0.975, 3),
                                stats.t.ppf(0.975, 0.5), stats.norm.ppf(0.975)], rtol=1e-14)


def _a_numeric(fun, x, u, R, method, k, rel=1e-4):
    """u_k^2 d u(y)^2 / d u_k^2 by central differences, correlations fixed."""
    out = []
    for sgn in (1, -1):
        uk = u.copy()
        uk[k] = u[k] * np.sqrt(1 + sgn * rel)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonlinearityWarning)
            out.append(propagate(fun, x, u=uk, corr=R, method=method).std ** 2)
    return (out[0] - out[1]) / (2 * rel)


@pytest.mark.parametrize("method, rho", [("linear", 0.5), ("second-order", 0.0)])
def test_effective_dof_policy_is_the_delta_method(method, rho):
    # nu_eff = u^4 / sum a_k^2 / nu_k with a_k = u_k^2 d u^2 / d u_k^2 (see propagate)
    f = lambda z: z[0] * z[0] * z[0] * z[1] + np.exp(z[1]) * z[2]  # noqa: E731
    x, u = np.array([1.3, 0.4, 2.0]), np.array([0.2, 0.1, 0.3])
    R = np.array([[1.0, rho, 0.0], [rho, 1.0, -rho / 2], [0.0, -rho / 2, 1.0]])
    nu = np.array([4.0, 12.0, 30.0])
    r = propagate(f, x, u=u, corr=R, dof=nu, method=method)
    a = np.array([_a_numeric(f, x, u, R, method, k) for k in range(3)])
    assert r.dof == pytest.approx(r.std ** 4 / np.sum(a ** 2 / nu), rel=1e-6)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(cov=[[1.0, 0.1], [0.2, 1.0]]), r"cov must be symmetric: cov\[0, 1\]"),
    (dict(cov=[[1.0, 2.0], [2.0, 1.0]]), "cov must be positive semi-definite"),
    (dict(cov=[[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]], x=[1.0, 2.0, 3.0]),
     "cov must be positive semi-definite: the smallest eigenvalue"),
    (dict(cov=np.eye(3)), r"cov must have shape \(2, 2\) for 2 inputs"),
    (dict(cov=[0.1, 0.2]), r"give standard uncertainties as u"),
    (dict(cov=[[-1.0, 0.0], [0.0, 1.0]]), r"cov\[0, 0\] = -1"),
    (dict(cov=[[np.nan, 0.0], [0.0, 1.0]]), "cov must be finite"),
    (dict(u=[0.1, -0.2]), r"u must be finite and >= 0; u\[1\] = -0.2"),
    (dict(u=[0.1, 0.2, 0.3]), "u must have one entry per input, 2"),
    (dict(u=[0.1, 0.2], corr=corr2(1.2)), r"corr entries must lie in \[-1, 1\]"),
    (dict(u=[0.1, 0.2], corr=[[1.0, 0.2], [0.2, 0.9]]), "corr must have a unit diagonal"),
    (dict(u=[0.1, 0.2, 0.3], x=[1.0, 2.0, 3.0],
          corr=[[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]]),
     "corr must be positive semi-definite"),
    (dict(u=[0.1, 0.2], dof=[3.0, 0.0]), r"dof must be > 0 .*dof\[1\] = 0"),
    (dict(u=[0.1, 0.2], dof=-1), "dof must be > 0"),
    (dict(u=[0.1, 0.2], cov=np.eye(2)), "either as cov or as u"),
    (dict(), "give the input uncertainty"),
    (dict(corr=np.eye(2)), "corr needs the standard uncertainties u"),
    (dict(u=[0.1, 0.2], method="cubic"), "method must be"),
    (dict(u=[0.1, 0.2], jac="forward"), "jac must be"),
    (dict(u=[0.1, 0.2], x=[1.0, np.inf]), "x must be finite"),
])
def test_bad_input_names_the_argument(kwargs, match):
    x = kwargs.pop("x", [1.0, 2.0])
    with pytest.raises(ValueError, match=match):
        propagate(lambda z: z[0] * z[-1], x, **kwargs)


def test_bad_model_and_p():
    with pytest.raises(ValueError, match="not finite"):
        with np.errstate(divide="ignore"):
            propagate(lambda z: np.log(z[0]), [0.0], u=[0.1])
    r = propagate(lambda z: z[0], [1.0], u=[0.1])
    for p in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="p must be a probability"):
            r.interval(p)
