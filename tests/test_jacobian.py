"""jacsolve.jacobian against analytic Jacobians and scipy.optimize.approx_derivative."""
import numpy as np
import pytest
from scipy.optimize._numdiff import approx_derivative

import jacsolve
from jacsolve import kernels
from jacsolve.problems.derivative_cases import PROBLEMS

SCIPY_NAME = {"forward": "2-point", "central": "3-point", "complex": "cs"}
DENSE = [p for p in PROBLEMS.values()]


def rel_err(J, Jref):
    return np.abs(J - Jref).max() / np.abs(Jref).max()


@pytest.mark.parametrize("prob", DENSE, ids=lambda p: p.name)
def test_accuracy_bars(prob):
    """Each method's own bar: complex <= 1e-13, central <= 1e-9, richardson <= 1e-12
    (a bar central differences cannot meet: central reaches 1e-10 here)."""
    Ja = prob.jac(prob.x0, *prob.args)
    kw = dict(args=prob.args, x_scale=prob.x_scale)
    assert rel_err(jacsolve.jacobian(prob.fun, prob.x0, method="complex", **kw), Ja) <= 1e-13
    assert rel_err(jacsolve.jacobian(prob.fun, prob.x0, method="central", **kw), Ja) <= 1e-9
    J, info = jacsolve.jacobian(prob.fun, prob.x0, method="richardson", full_output=True, **kw)
    assert rel_err(J, Ja) <= 1e-12
    # the per-entry estimate bounds the true error, and every entry converged
    assert np.all(np.abs(J - Ja) <= info.error)
    assert info.error.shape == J.shape == info.converged.shape and info.converged.all()


@pytest.mark.parametrize("method", ["forward", "central", "complex"])
@pytest.mark.parametrize("prob", [p for p in DENSE if p.name != "badly_scaled"],
                         ids=lambda p: p.name)
def test_never_worse_than_scipy(prob, method):
    """Same step rules as approx_derivative: our error is at most SciPy's (plus rounding)."""
    Ja = prob.jac(prob.x0, *prob.args)
    J = jacsolve.jacobian(prob.fun, prob.x0, args=prob.args, method=method)
    Js = approx_derivative(lambda v: prob.fun(v, *prob.args), prob.x0,
                           method=SCIPY_NAME[method])
    scale = np.abs(Ja).max()
    assert np.abs(J - Ja).max() <= 1.01 * np.abs(Js - Ja).max() + 1e-13 * scale
    assert J.shape == Js.shape


def test_shapes_follow_output_shape():
    p = PROBLEMS
    assert jacsolve.jacobian(p["trig_tall"].fun, p["trig_tall"].x0).shape == (5, 3)
    w = p["wide"]
    assert jacsolve.jacobian(w.fun, w.x0, args=w.args).shape == (2, 6)
    r = p["rosenbrock"]
    g = jacsolve.jacobian(r.fun, r.x0, method="complex")
    assert g.shape == (4,)
    assert rel_err(g, r.jac(r.x0)) <= 1e-13


def test_aliases_and_full_output():
    p = PROBLEMS["trig_tall"]
    for alias, name in SCIPY_NAME.items():
        J1 = jacsolve.jacobian(p.fun, p.x0, method=name)
        J2, info = jacsolve.jacobian(p.fun, p.x0, method=alias, full_output=True)
        np.testing.assert_array_equal(J1, J2)
        assert info.method == alias
    _, info = jacsolve.jacobian(p.fun, p.x0, method="forward", full_output=True)
    assert info.nfev == 4  # n + 1
    _, info = jacsolve.jacobian(p.fun, p.x0, method="complex", full_output=True)
    assert info.nfev == 3
    assert "nfev=3" in repr(info)


def test_badly_scaled_variables():
    """x = (3e8, 2e-8): complex step needs nothing; differences need x_scale."""
    p = PROBLEMS["badly_scaled"]
    Ja = p.jac(p.x0)
    col_err = lambda J: (np.abs(J - Ja) / np.abs(Ja).max(axis=0)).max()
    assert col_err(jacsolve.jacobian(p.fun, p.x0, method="complex")) <= 1e-13
    assert col_err(jacsolve.jacobian(p.fun, p.x0, method="central", x_scale=p.x_scale)) <= 1e-7
    J, info = jacsolve.jacobian(p.fun, p.x0, method="richardson", x_scale=p.x_scale,
                                full_output=True)
    assert col_err(J) <= 1e-10 and np.all(np.abs(J - Ja) <= info.error)


def test_at_zero():
    p = PROBLEMS["at_zero"]
    for method, bar in [("complex", 1e-15), ("central", 1e-9), ("forward", 1e-7)]:
        assert rel_err(jacsolve.jacobian(p.fun, p.x0, method=method), p.jac(p.x0)) <= bar


# ---------------------------------------------------------------- bounds
class Recorder:
    """A plain Python function that records where it was evaluated."""

    def __init__(self):
        self.points = []

    def __call__(self, x):
        self.points.append(np.array(x, dtype=float).real.copy())
        return np.array([x[0] * x[0] * x[1], np.exp(x[1]) + x[0]])


@pytest.mark.parametrize("method", ["forward", "central", "richardson"])
def test_bounds_are_never_crossed(method):
    x = np.array([1.0, 2.0])
    lower, upper = np.array([1.0, -np.inf]), np.array([1.0 + 1e-3, 2.0])
    f = Recorder()
    J = jacsolve.jacobian(f, x, method=method, bounds=(lower, upper))
    pts = np.array(f.points)
    assert np.all(pts >= lower) and np.all(pts <= upper)
    Ja = np.array([[2 * x[0] * x[1], x[0] ** 2], [1.0, np.exp(x[1])]])
    bar = {"forward": 1e-6, "central": 1e-8, "richardson": 1e-10}[method]
    assert rel_err(J, Ja) <= bar


@jacsolve.jit
def quadratic_above_one(x):
    # undefined (NaN) below x = 1, smooth above
    y = np.empty(1)
    y[0] = x[0] * x[0] if x[0] >= 1.0 else np.nan
    return y


@pytest.mark.parametrize("method", ["forward", "central", "richardson"])
def test_nan_on_one_side_uses_the_other(method):
    x = np.array([1.0 + 1e-9])
    J = jacsolve.jacobian(quadratic_above_one, x, method=method)
    assert abs(J[0, 0] - 2 * x[0]) <= 1e-6


def test_sparse_with_bounds_matches_dense():
    p = PROBLEMS["boundary_value"]
    n = p.x0.size
    lower = p.x0 - np.where(np.arange(n) % 2 == 0, 0.0, 1.0)  # half the variables at a bound
    Ja = p.jac(p.x0)
    for method in ["forward", "central"]:
        J = jacsolve.jacobian(p.fun, p.x0, method=method, sparsity=p.sparsity(n),
                              bounds=(lower, np.inf))
        assert rel_err(J.toarray(), Ja) <= (1e-6 if method == "forward" else 1e-8)


# ---------------------------------------------------------------- sparse
@pytest.mark.parametrize("method", ["forward", "central", "complex"])
def test_sparse_banded(method):
    p = PROBLEMS["boundary_value"]
    n = p.x0.size
    J, info = jacsolve.jacobian(p.fun, p.x0, method=method, sparsity=p.sparsity(n),
                                full_output=True)
    assert isinstance(J, jacsolve.coloring.sp.csr_array)
    assert info.ngroups == 3
    Jd = jacsolve.jacobian(p.fun, p.x0, method=method)
    Js = approx_derivative(p.fun, p.x0, method=SCIPY_NAME[method], sparsity=p.sparsity(n))
    Ja = p.jac(p.x0)
    assert np.abs(J.toarray() - Ja).max() <= 1.01 * np.abs(Js.toarray() - Ja).max() + 1e-14
    np.testing.assert_allclose(J.toarray(), Jd, rtol=0, atol=1e-7 if method == "forward" else 1e-9)


@jacsolve.jit
def random_sparse_fun(x, rows, cols, vals):
    # f_i = sum over pattern entries (i, j) of vals * sin(x_j) * (1 + x_j)
    out = np.zeros(rows.max() + 1, dtype=x.dtype)
    for k in range(rows.size):
        out[rows[k]] += vals[k] * np.sin(x[cols[k]]) * (1.0 + x[cols[k]])
    return out


def test_sparse_random_pattern():
    rng = np.random.default_rng(3)
    m, n = 40, 30
    P = rng.random((m, n)) < 0.08
    P[np.arange(m), np.arange(m) % n] = True
    rows, cols = np.nonzero(P)
    vals = rng.normal(size=rows.size)
    x = rng.normal(size=n)
    args = (rows, cols, vals)
    J = jacsolve.jacobian(random_sparse_fun, x, args=args, method="complex", sparsity=P)
    Ja = np.zeros((m, n))
    np.add.at(Ja, (rows, cols), vals * (np.cos(x[cols]) * (1 + x[cols]) + np.sin(x[cols])))
    assert rel_err(J.toarray(), Ja) <= 1e-14


# ---------------------------------------------------------------- products
def test_jvp_and_vjp_against_J():
    rng = np.random.default_rng(0)
    for name in ["chemistry", "trig_tall", "wide"]:
        p = PROBLEMS[name]
        Ja = p.jac(p.x0, *p.args)
        v = rng.normal(size=Ja.shape[1])
        w = rng.normal(size=Ja.shape[0])
        scale = np.abs(Ja).max() * np.abs(v).max() * Ja.shape[1]
        for method, bar in [("complex", 1e-14), ("central", 1e-8), ("forward", 1e-5)]:
            Jv = jacsolve.jvp(p.fun, p.x0, v, args=p.args, method=method)
            assert np.abs(Jv - Ja @ v).max() <= bar * scale
        wJ = jacsolve.vjp(p.fun, p.x0, w, args=p.args)
        assert np.abs(wJ - Ja.T @ w).max() <= 1e-14 * np.abs(Ja).max() * np.abs(w).sum()


def test_jvp_scalar_function():
    p = PROBLEMS["rosenbrock"]
    v = np.array([1.0, -2.0, 0.5, 0.25])
    d = jacsolve.jvp(p.fun, p.x0, v)
    assert isinstance(d, float)
    assert d == pytest.approx(p.jac(p.x0) @ v, rel=1e-14)


@pytest.mark.parametrize("method,bar", [("complex", 1e-10), ("central", 1e-10)])
def test_hessian(method, bar):
    p = PROBLEMS["rosenbrock"]
    H = jacsolve.hessian(p.fun, p.x0, method=method)
    Ha = p.hess(p.x0)
    assert rel_err(H, Ha) <= bar
    np.testing.assert_array_equal(H, H.T)


# ---------------------------------------------------------------- compiled use
@jacsolve.jit
def newton_step_in_user_code(x):
    # a user's own compiled code calling the public kernels
    h = kernels.complex_steps(x, np.ones(x.size))
    Jt, status, nfev = kernels.jacobian_complex_t(PROBLEMS_TRIG, x, (), h)
    return Jt.T.copy(), status, nfev


PROBLEMS_TRIG = PROBLEMS["trig_tall"].fun


def test_kernels_callable_from_njit():
    p = PROBLEMS["trig_tall"]
    J, status, nfev = newton_step_in_user_code(p.x0)
    assert status == kernels.OK and nfev == 3
    assert rel_err(J, p.jac(p.x0)) <= 1e-14


# ---------------------------------------------------------------- Python path
def test_plain_python_function_same_algorithm():
    p = PROBLEMS["trig_tall"]
    py = p.fun.py_func
    # numba's and numpy's libm may differ by an ulp; a difference quotient
    # amplifies that by |f|/h: eps/h is 1.5e-8 (forward), 3.7e-11 (central)
    for method, rtol in [("forward", 1e-7), ("central", 1e-9), ("complex", 1e-14),
                         ("richardson", 1e-9)]:
        Jc = jacsolve.jacobian(p.fun, p.x0, method=method)
        Jp = jacsolve.jacobian(py, p.x0, method=method)
        np.testing.assert_allclose(Jp, Jc, rtol=rtol, atol=rtol * np.abs(Jc).max())
    Jsp = jacsolve.jacobian(PROBLEMS["boundary_value"].fun.py_func, PROBLEMS["boundary_value"].x0,
                            sparsity=PROBLEMS["boundary_value"].sparsity(50), method="complex")
    assert rel_err(Jsp.toarray(), PROBLEMS["boundary_value"].jac(PROBLEMS["boundary_value"].x0)) < 1e-14
    H = jacsolve.hessian(PROBLEMS["rosenbrock"].fun.py_func, PROBLEMS["rosenbrock"].x0)
    assert rel_err(H, PROBLEMS["rosenbrock"].hess(PROBLEMS["rosenbrock"].x0)) <= 1e-9


def test_python_function_warns_once():
    def f(x):
        return np.array([x[0] ** 2])

    with pytest.warns(jacsolve.PerformanceWarning, match="@jacsolve.jit"):
        jacsolve.jacobian(f, [1.0])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jacsolve.jacobian(f, [2.0])


def test_hessian_central_no_worse_than_scipy():
    """The extrapolated four-point formula on Rosenbrock (n = 4): 3.1e-12 measured,
    rounding-limited (eps |f| / h**2); scipy.differentiate.hessian's adaptive
    iteration reaches 6.2e-13 here with many more evaluations. Bar: 1e-11, and
    within 10x of SciPy."""
    from scipy.differentiate import hessian as scipy_hessian
    p = PROBLEMS["rosenbrock"]
    Ha = p.hess(p.x0)
    def rosen(x):  # vectorised over trailing axes, as scipy.differentiate calls it
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, axis=0)

    assert rosen(p.x0) == pytest.approx(float(np.atleast_1d(p.fun(p.x0))[0]), rel=1e-15)
    Hs = scipy_hessian(rosen, p.x0).ddf
    H = jacsolve.hessian(p.fun, p.x0, method="central")
    assert rel_err(H, Ha) <= min(1e-11, 10.0 * rel_err(Hs, Ha) + 1e-13)


@jacsolve.jit
def two_scales(x):
    return np.array([np.sin(x[0]) * x[1] * x[1], np.exp(x[1]) * x[0]])


def two_scales_jac(x):
    return np.array([[np.cos(x[0]) * x[1] ** 2, 2 * np.sin(x[0]) * x[1]],
                     [np.exp(x[1]), np.exp(x[1]) * x[0]]])


@pytest.mark.parametrize("x", [[100.0, -0.5], [-100.0, 0.2]])
@pytest.mark.parametrize("method", ["forward", "central"])
def test_jvp_steps_per_direction(x, method):
    """A variable of size 1 next to one of size 100 gets a step fit for size 1.

    SciPy's LinearOperator steps rel_step / |v|_2 along v. Median errors over
    these 24 directions, jacsolve vs SciPy: forward 1.1e-7 vs 1.7e-7 and
    8.2e-7 vs 1.2e-6; central 8.2e-10 vs 4.1e-10 and 2.9e-10 vs 1.0e-9 (both
    dominated by the rounding of x + t v). A step relative to max(1, |x|_inf)
    gave 5e-5 to 1e-4 (forward) and 5e-6 to 1e-5 (central). Bar: within 2.5x.
    """
    x = np.array(x)
    Ja = two_scales_jac(x)
    L = approx_derivative(two_scales.py_func, x, method=SCIPY_NAME[method],
                          as_linear_operator=True)
    rng = np.random.default_rng(5)
    ours, theirs = [], []
    for _ in range(24):
        v = rng.normal(size=2)
        ours.append(np.abs(jacsolve.jvp(two_scales, x, v, method=method) - Ja @ v).max())
        theirs.append(np.abs(L.matvec(v) - Ja @ v).max())
    assert np.median(ours) <= 2.5 * np.median(theirs)


def test_rel_step_per_variable():
    p = PROBLEMS["trig_tall"]
    rel = np.array([1e-6, 1e-5, 1e-4])
    J, info = jacsolve.jacobian(p.fun, p.x0, method="central", rel_step=rel, full_output=True)
    np.testing.assert_allclose(info.step, rel * np.maximum(np.abs(p.x0), 1.0))
    assert rel_err(J, p.jac(p.x0)) <= 1e-7
    # the same as three scalar calls, column by column
    for j in range(3):
        Jj = jacsolve.jacobian(p.fun, p.x0, method="central", rel_step=rel[j])
        np.testing.assert_array_equal(J[:, j], Jj[:, j])
    with pytest.raises(ValueError, match=r"rel_step must be a scalar or have shape \(3,\)"):
        jacsolve.jacobian(p.fun, p.x0, rel_step=[1e-6, 1e-6])
    with pytest.raises(ValueError, match="rel_step must be a scalar here"):
        jacsolve.jvp(p.fun, p.x0, np.ones(3), rel_step=[1e-6, 1e-6, 1e-6])


def test_sparsity_with_scipy_groups():
    """SciPy's (pattern, groups) form: groups used as given, and checked."""
    from scipy.optimize._numdiff import group_columns as scipy_groups
    p = PROBLEMS["boundary_value"]
    n = p.x0.size
    pattern = p.sparsity(n)
    groups = scipy_groups(pattern)
    J, info = jacsolve.jacobian(p.fun, p.x0, method="central", sparsity=(pattern, groups),
                                full_output=True)
    assert info.ngroups == np.unique(groups).size
    Js = approx_derivative(p.fun, p.x0, method="3-point", sparsity=(pattern, groups))
    np.testing.assert_allclose(J.toarray(), Js.toarray(), rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="columns of group 0 share row"):
        jacsolve.jacobian(p.fun, p.x0, sparsity=(pattern, np.zeros(n, dtype=int)))
    with pytest.raises(ValueError, match=r"sparsity groups must be integers, one per column"):
        jacsolve.jacobian(p.fun, p.x0, sparsity=(pattern, groups[:-1]))
