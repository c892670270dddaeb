"""Implicit models F(y, x) = 0 (GUM Supplement 2) against explicit closed forms."""
import numpy as np
import pytest

import jacsolve
from jacsolve import distributions as D
from jacsolve.uncertainty.implicit import propagate_implicit_mc
from jacsolve.uncertainty.montecarlo import NonFiniteWarning
from jacsolve.problems import propagation_models as P
from jacsolve.status import Status

X = np.array([2.0, 0.5])
V = np.array([[0.04, 0.01], [0.01, 0.0025]])
Y0 = np.array([1.0, 1.0])


# ------------------------------------------------------------ linear
def test_implicit_matches_explicit_closed_form():
    r = jacsolve.propagate_implicit(P.root_pair, Y0, X, V, dof=[10, 40])
    e = jacsolve.propagate(P.root_pair_explicit, X, V, dof=[10, 40])
    assert r.success and r.status == Status.SUCCESS
    np.testing.assert_allclose(r.value, [1.0, 2.0], rtol=1e-12)  # sqrt(x0 x1), sqrt(x0 / x1)
    np.testing.assert_allclose(r.jac, e.jac, rtol=1e-12)
    np.testing.assert_allclose(r.cov, e.cov, rtol=1e-11)
    np.testing.assert_allclose(r.dof, e.dof, rtol=1e-10)
    np.testing.assert_allclose(r.interval(0.95), e.interval(0.95), rtol=1e-11)
    assert r.budget.share.shape == (2, 2) and "ImplicitPropagation(" in repr(r)


def test_implicit_plain_python_with_args():
    def F(y, x, c):                 # y^3 + c y = x0: monotone, one real root
        return np.array([y[0] * y[0] * y[0] + c * y[0] - x[0]])
    x, u, c = np.array([10.0]), np.array([0.3]), 2.0
    r = jacsolve.propagate_implicit(F, [1.0], x, u=u, args=(c,))
    assert r.value[0] ** 3 + c * r.value[0] == pytest.approx(x[0], rel=1e-12)
    # dy/dx0 = 1 / (3 y^2 + c)
    assert r.std[0] == pytest.approx(u[0] / (3 * r.value[0] ** 2 + c), rel=1e-12)


def test_implicit_failures_are_a_status():
    no_root = jacsolve.propagate_implicit(lambda y, x: np.array([y[0] * y[0] + x[0]]),
                                          [1.0], [1.0], u=[0.1])
    assert not no_root.success and np.isnan(no_root.std).all()
    assert "not solved" in no_root.message

    def degenerate(y, x):           # a line of roots: dF/dy singular
        s = y[0] + y[1] - x[0]
        return np.array([s, 2.0 * s])
    r = jacsolve.propagate_implicit(degenerate, [0.0, 0.0], [1.0], u=[0.1])
    assert not r.success and r.status == Status.SINGULAR and np.isnan(r.cov).all()


def test_implicit_bad_input():
    with pytest.raises(ValueError, match=r"u must be finite and >= 0; u\[0\]"):
        jacsolve.propagate_implicit(P.root_pair, Y0, X, u=[-0.1, 0.1])
    with pytest.raises(ValueError, match="cov must be symmetric"):
        jacsolve.propagate_implicit(P.root_pair, Y0, X, [[1.0, 0.1], [0.0, 1.0]])
    with pytest.raises(ValueError, match="y0 must be finite"):
        jacsolve.propagate_implicit(P.root_pair, [np.nan, 1.0], X, V)


# -------------------------------------------------------------- Monte Carlo
def test_implicit_mc_reproduces_explicit_mc_draw_for_draw():
    inputs = [D.Normal(2.0, 0.2), D.Rectangular(0.4, 0.6)]
    # the Python version of the model: solve_batch compiles its parallel driver per
    # function (about a minute on 2 cores), which solve_batch's own tests pay for
    n, seed = 1000, 7
    imp = propagate_implicit_mc(P.root_pair.py_func, Y0, inputs, n=n, seed=seed)
    X = D.SamplingPlan(inputs).draw(D.seed_key(seed), 0, n)  # the same draws
    exact = np.column_stack([np.sqrt(X[:, 0] * X[:, 1]), np.sqrt(X[:, 0] / X[:, 1])])
    assert imp.n_nonfinite == 0 and imp.success and imp.n_draws == n
    # each solve ends with max|F| <= tol = 1e-10 and |J_y^-1| ~ 1 here, so y is
    # within ~1e-10 of the closed form
    np.testing.assert_allclose(imp.samples, exact, rtol=1e-9)
    np.testing.assert_allclose(imp.cov, np.cov(exact, rowvar=False), rtol=1e-8)


def test_implicit_mc_counts_failed_solves():
    def sqrt_model(y, x):           # y^2 = x0 has no real root for x0 < 0
        return np.array([y[0] * y[0] - x[0]])
    n, seed = 400, 3
    x0 = D.Normal(0.5, 1.0).sample(n, seed=seed)
    with pytest.warns(NonFiniteWarning, match=f"failed for {(x0 < 0).sum()} of {n} draws"):
        r = propagate_implicit_mc(sqrt_model, [1.0], [D.Normal(0.5, 1.0)], n=n, seed=seed)
    assert r.n_nonfinite == (x0 < 0).sum() and not r.success
    np.testing.assert_allclose(np.sort(r.samples[:, 0] ** 2), np.sort(x0[x0 >= 0]), rtol=1e-9)


def test_implicit_mc_bad_input():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        propagate_implicit_mc(P.root_pair, Y0, [D.Normal(2.0, 0.2), 0.5], n=0)
    with pytest.raises(ValueError, match="y0 must be finite"):
        propagate_implicit_mc(P.root_pair, [np.inf, 1.0], [D.Normal(2.0, 0.2), 0.5], n=10)
