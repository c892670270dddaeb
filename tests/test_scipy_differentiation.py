"""SciPy's own differentiation tests as a yardstick.

Functions and points ported from scipy/optimize/tests/test__numdiff.py
(approx_derivative) and, for the distribution cdfs that
scipy/differentiate/tests/test_differentiate.py loops over, the cdfs of
scipy.stats (shapes from scipy.stats._distr_params.distcont, the same table)
with their pdfs as the analytic derivative. Each jacsolve method must be no
worse than SciPy's matching method, computed here, up to its rounding level;
richardson and complex within 1e-10 where SciPy's tests expect that.
"""
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.differentiate import derivative as scipy_derivative
from scipy.optimize._numdiff import approx_derivative
from scipy.stats._distr_params import distcont

import jacsolve

EPS = np.finfo(float).eps
NOISE = {"forward": EPS ** 0.5, "central": EPS ** (2 / 3)}
SCIPY = {"forward": "2-point", "central": "3-point", "complex": "cs"}


@jacsolve.jit
def vector_vector(x):  # test__numdiff.py: fun_vector_vector at [-100, 0.2]
    return np.array([x[0] * np.sin(x[1]), x[1] * np.cos(x[0]),
                     x[0] * x[0] * x[0] / np.sqrt(x[1])])


def vector_vector_jac(x):
    return np.array([[np.sin(x[1]), x[0] * np.cos(x[1])],
                     [-x[1] * np.sin(x[0]), np.cos(x[0])],
                     [3 * x[0] ** 2 * x[1] ** -0.5, -0.5 * x[0] ** 3 * x[1] ** -1.5]])


@jacsolve.jit
def vector_scalar(x):  # fun_vector_scalar at [100, -0.5]
    return np.sin(x[0] * x[1]) * np.log(x[0])


def vector_scalar_jac(x):
    return np.array([x[1] * np.cos(x[0] * x[1]) * np.log(x[0]) + np.sin(x[0] * x[1]) / x[0],
                     x[0] * np.cos(x[0] * x[1]) * np.log(x[0])])


@jacsolve.jit
def scalar_scalar(x):  # fun_scalar_scalar at 1
    return np.sinh(x[0])


def scalar_scalar_jac(x):
    return np.array([np.cosh(x[0])])


@jacsolve.jit
def exp_sum(x):  # the exponential-family checks of test__numdiff at [1, 2]
    return np.array([np.exp(x[0] + 2 * x[1]), np.exp(-x[0]) * x[1]])


def exp_sum_jac(x):
    return np.array([[np.exp(x[0] + 2 * x[1]), 2 * np.exp(x[0] + 2 * x[1])],
                     [-np.exp(-x[0]) * x[1], np.exp(-x[0])]])


FUNCS = [(vector_vector, vector_vector_jac, [-100.0, 0.2]),
         (vector_vector, vector_vector_jac, [100.0, 0.2]),
         (vector_scalar, vector_scalar_jac, [100.0, -0.5]),
         (scalar_scalar, scalar_scalar_jac, [1.0]),
         (exp_sum, exp_sum_jac, [1.0, 2.0])]


@pytest.mark.parametrize("method", ["forward", "central", "complex", "richardson"])
@pytest.mark.parametrize("case", FUNCS, ids=lambda c: f"{c[0].__name__}{c[2]}")
def test_numdiff_functions(case, method):
    fun, jac, x = case
    x = np.array(x)
    Ja = jac(x)
    J = jacsolve.jacobian(fun, x, method=method)
    assert J.shape == Ja.shape
    if method in ("complex", "richardson"):
        assert np.all(np.abs(J - Ja) <= 1e-10 * np.abs(Ja) + 1e-13 * np.abs(Ja).max())
        return
    Js = approx_derivative(fun.py_func, x, method=SCIPY[method])
    assert np.all(np.abs(J - Ja) <= 1.01 * np.abs(Js - Ja) + NOISE[method] * np.abs(Ja))


# the cdfs on which the former fixed-step Richardson failed, and two plain ones
DISTS = ["beta", "dgamma", "loglaplace", "rel_breitwigner", "ksone", "kstwo", "norm", "gamma"]
SHAPES = {name: shapes for name, shapes in distcont}


@pytest.mark.parametrize("name", DISTS)
def test_distribution_cdfs(name):
    dist = getattr(stats, name)(*SHAPES.get(name, ()))
    x = np.array([dist.ppf(0.3), dist.ppf(0.75)])
    pdf = dist.pdf(x)

    def cdf(z):
        return dist.cdf(z)  # elementwise: the Jacobian is diagonal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jacsolve.PerformanceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        J = {m: np.diag(jacsolve.jacobian(cdf, x, method=m)) for m in ("forward", "central")}
        Jr, info = jacsolve.jacobian(cdf, x, method="richardson", full_output=True)
    for m in ("forward", "central"):
        Js = np.diag(approx_derivative(cdf, x, method=SCIPY[m]))
        assert np.all(np.abs(J[m] - pdf) <= 1.01 * np.abs(Js - pdf) + NOISE[m] * pdf), m
    # richardson: within 1e-10 where it converged (as scipy.differentiate's
    # tests expect of derivative()), else an honest estimate; and no worse than
    # scipy.differentiate.derivative up to 1e-10
    # The reference pdf agrees with the cdf's derivative only to ~1e-10 for
    # some (kstwo: 6e-11, which scipy.differentiate.derivative shows too), so
    # the estimate is checked against the error up to that.
    err = np.abs(np.diag(Jr) - pdf)
    conv = np.diag(info.converged)
    assert np.all(err[conv] <= 1e-10 * pdf[conv]), err
    assert np.all(err <= np.diag(info.error) + 1e-10 * pdf)
    d = scipy_derivative(dist.cdf, x)
    assert np.all(err <= np.abs(d.df - pdf) + 1e-10 * pdf)
