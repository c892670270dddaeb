"""The in-place form fun(x, *args, out), declared with jit(inplace=...) or inplace(), in
every entry point: the same answers as the returning form."""
import warnings

import numpy as np
import pytest

import jacsolve
from jacsolve import distributions as D
from jacsolve.regions import Disk


@jacsolve.jit(inplace=True)
def circle_inplace(x, out):
    out[0] = x[0] * x[0] + x[1] * x[1] - 4.0
    out[1] = x[0] - x[1]


@jacsolve.inplace()
def circle_python(x, out):
    out[0] = x[0] * x[0] + x[1] * x[1] - 4.0
    out[1] = x[0] - x[1]


@jacsolve.jit(inplace=True)
def circle_line(x, p, out):
    out[0] = x[0] * x[0] + x[1] * x[1] - p[0] * p[0]
    out[1] = x[1] - p[1]


@jacsolve.jit(inplace=1)
def product(x, out):
    out[0] = x[0] * x[1]


@jacsolve.jit(inplace=1)
def gaussian(x, out):
    out[0] = np.exp(-x[0] * x[0] - x[1] * x[1])


X = np.array([1.0, 0.5])


@pytest.mark.parametrize("method, tol", [("forward", 1e-7), ("central", 1e-9),
                                         ("complex", 1e-15), ("richardson", 1e-12)])
def test_jacobian_of_inplace_function(method, tol):
    J = jacsolve.jacobian(circle_inplace, X, method=method)
    np.testing.assert_allclose(J, [[2.0, 1.0], [1.0, -1.0]], rtol=tol, atol=tol)


def test_plain_python_inplace_function():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jacsolve.PerformanceWarning)
        J = jacsolve.jacobian(circle_python, X, method="complex")
        r = jacsolve.solve(circle_python, [1.0, 0.5])
    np.testing.assert_allclose(J, [[2.0, 1.0], [1.0, -1.0]], rtol=1e-14)
    assert r.success and np.allclose(r.x, np.sqrt(2.0), rtol=1e-12)


def test_solve_inplace():
    r = jacsolve.solve(circle_inplace, [1.0, 0.5])
    assert r.success and np.allclose(r.x, np.sqrt(2.0), rtol=1e-12)


def test_solve_batch_inplace():
    params = np.array([[1.0, 0.6], [2.0, 0.0], [1.0, 3.0]])
    r = jacsolve.solve_batch(circle_line, [1.0, 1.0], params)
    assert r.success.tolist() == [True, True, False]
    np.testing.assert_allclose(r.x[0], [0.8, 0.6], rtol=1e-12)


def test_propagate_inplace():
    r = jacsolve.propagate(product, [2.0, 3.0], u=[0.1, 0.2])
    assert r.success and r.value == pytest.approx(6.0)
    assert r.std == pytest.approx(np.hypot(3.0 * 0.1, 2.0 * 0.2), rel=1e-12)


def test_propagate_mc_inplace():
    mc = jacsolve.propagate_mc(product, [D.Normal(2.0, 0.1), D.Normal(3.0, 0.2)], n=20_000,
                               seed=1)
    assert abs(mc.value - 6.0) < 5 * 0.5 / np.sqrt(20_000)


def test_integrate_inplace():
    r = jacsolve.integrate(gaussian, Disk())
    assert r.success and r.value == pytest.approx(np.pi * (1.0 - np.exp(-1.0)), rel=1e-10)


def test_inplace_declaration_is_checked():
    with pytest.raises(ValueError, match="inplace"):
        jacsolve.jit(lambda x, out: None, inplace=0)


def test_undeclared_inplace_function_gets_a_hint():
    @jacsolve.jit
    def writes(x, out):
        out[0] = x[0]
    with pytest.raises(Exception, match="inplace"):
        jacsolve.jacobian(writes, X)
