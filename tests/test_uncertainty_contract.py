"""The result contract of the uncertainty results, pinned.

Propagation, MonteCarloResult and ImplicitPropagation share ``value``, ``std``,
``cov``, ``interval(p)`` and ``success``, ``status``, ``message``, ``nfev``, and
one shape rule: a scalar model gives floats (``cov`` the variance), a vector
model arrays. They are frozen, slotted dataclasses: no ``__dict__`` to write to.
"""
import dataclasses
import math
import warnings

import numpy as np
import pytest

import jacsolve
from jacsolve import distributions as D
from jacsolve._numba.options import PerformanceWarning
from jacsolve.status import ResultContract, Status
from jacsolve.uncertainty import (ImplicitPropagation, MonteCarloResult, NonFiniteWarning,
                                  Propagation)

X = np.array([2.0, 3.0])
U = np.array([0.02, 0.03])
INPUTS = [D.Normal(2.0, 0.02), D.Normal(3.0, 0.03)]


@jacsolve.jit
def product(x):                 # a scalar model
    return x[0] * x[1]


@jacsolve.jit
def product_and_sum(x):         # a vector model, m = 2
    return np.array([x[0] * x[1], x[0] + x[1]])


@jacsolve.jit
def product_as_array(x):        # a vector model with m = 1: arrays all the same
    return np.array([x[0] * x[1]])


def root_of_product(y, x):      # y^2 = x0 x1 (Python: solve_batch compiles nothing)
    return np.array([y[0] * y[0] - x[0] * x[1]])


def roots(y, x):                # y = (sqrt(x0 x1), sqrt(x0 / x1))
    return np.array([y[0] * y[1] - x[0], y[0] / y[1] - x[1]])


def _quiet(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerformanceWarning)
        return make()


# kind -> (scalar result, vector result, m of the vector one)
MAKERS = {
    "propagate": lambda scalar: jacsolve.propagate(product if scalar else product_and_sum, X,
                                                   u=U, dof=[10, 20]),
    "propagate_mc": lambda scalar: jacsolve.propagate_mc(
        product if scalar else product_and_sum, INPUTS, n=20_000, seed=1),
    "propagate_mc_adaptive": lambda scalar: jacsolve.propagate_mc(
        product if scalar else product_and_sum, INPUTS, digits=1, seed=1),
    "propagate_implicit": lambda scalar: _quiet(lambda: jacsolve.propagate_implicit(
        root_of_product, 1.0, X, u=U) if scalar else jacsolve.propagate_implicit(
        roots, [1.0, 1.0], [6.0, 1.5], u=U)),
    "propagate_implicit_mc": lambda scalar: _quiet(lambda: jacsolve.propagate_implicit_mc(
        root_of_product, 1.0, INPUTS, n=300, seed=2) if scalar else
        jacsolve.propagate_implicit_mc(roots, [1.0, 1.0], [D.Normal(6.0, 0.06),
                                                           D.Normal(1.5, 0.015)], n=300, seed=2)),
}
TYPES = {"propagate": Propagation, "propagate_mc": MonteCarloResult,
         "propagate_mc_adaptive": MonteCarloResult, "propagate_implicit": ImplicitPropagation,
         "propagate_implicit_mc": MonteCarloResult}
_cache = {}


def result(kind, scalar):
    if (kind, scalar) not in _cache:
        _cache[kind, scalar] = MAKERS[kind](scalar)
    return _cache[kind, scalar]


@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "vector"])
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_every_result_carries_the_contract(kind, scalar):
    r = result(kind, scalar)
    assert type(r) is TYPES[kind] and isinstance(r, ResultContract)
    assert r.success is True and r.status is Status.SUCCESS
    assert isinstance(r.message, str) and r.message
    assert isinstance(r.nfev, int) and r.nfev > 0
    for name in ("value", "std", "cov", "interval"):
        assert hasattr(r, name)
    assert "success=True" in repr(r)


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_scalar_model_gives_floats(kind):
    r = result(kind, True)
    low, high = r.interval(0.95)
    for v in (r.value, r.std, r.cov, low, high):
        assert type(v) is float, (kind, type(v))
    assert r.cov == pytest.approx(r.std ** 2, rel=1e-12)
    assert low < r.value < high


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_vector_model_gives_arrays(kind):
    r = result(kind, False)
    low, high = r.interval(0.95)
    for v in (r.value, r.std, low, high):
        assert isinstance(v, np.ndarray) and v.shape == (2,), (kind, np.shape(v))
    assert isinstance(r.cov, np.ndarray) and r.cov.shape == (2, 2)
    np.testing.assert_allclose(np.diag(r.cov), r.std ** 2, rtol=1e-12)
    assert np.all(low < r.value) and np.all(r.value < high)


def test_vector_model_of_one_output_gives_arrays():
    g = jacsolve.propagate(product_as_array, X, u=U)
    mc = jacsolve.propagate_mc(product_as_array, INPUTS, n=20_000, seed=1)
    for r in (g, mc):
        assert r.value.shape == r.std.shape == r.interval()[0].shape == (1,)
        assert r.cov.shape == (1, 1)
    s = jacsolve.propagate(product, X, u=U)
    assert s.value == g.value[0] and s.std == g.std[0] and s.cov == g.cov[0, 0]


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_results_are_frozen_and_hold_only_their_fields(kind):
    r = result(kind, False)
    r.interval(0.9)
    if hasattr(r, "budget"):
        r.budget.table()
        r.corr
    assert not hasattr(r, "__dict__")    # slotted: nothing can be cached or patched in
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.value = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.success = False


def test_monte_carlo_mean_is_value():
    for scalar in (True, False):
        r = result("propagate_mc", scalar)
        assert r.mean is r.value


def test_monte_carlo_statuses():
    with pytest.warns(NonFiniteWarning):
        r = jacsolve.propagate_mc(_log, [D.Normal(0.5, 1.0)], n=5000, seed=1)
    assert not r.success and r.status is Status.NONFINITE and r.n_nonfinite > 0
    with pytest.warns(RuntimeWarning, match="max_draws"):
        short = jacsolve.propagate_mc(product, INPUTS, digits=4, seed=1, max_draws=30_000)
    assert not short.success and short.status is Status.NOT_CONVERGED
    assert not short.converged and "max_draws" in short.message


@jacsolve.jit
def _log(x):
    return np.log(x[0])


@jacsolve.jit
def _nan_around_zero(x):        # finite at 0, NaN on both sides: no central difference
    return np.sqrt(-x[0] * x[0])


def test_propagation_status_for_non_finite_sensitivities():
    with pytest.warns(RuntimeWarning, match="not finite"):
        r = jacsolve.propagate(_nan_around_zero, [0.0], u=[0.1], jac="central")
    assert not r.success and r.status is Status.NONFINITE and "not finite" in r.message
    assert math.isnan(r.std)


def test_validation_says_success():
    g = result("propagate", True)
    mc = result("propagate_mc", True)
    v = jacsolve.validate(g, mc, digits=1)
    assert v.success is v.validated and isinstance(v.success, bool)
    assert v.d_low.shape == v.tolerance.shape == (1,)   # per output, for every model


def test_model_reading_past_its_inputs_is_an_error_not_garbage():
    # a 3-input model given 2 inputs: numba reads past the end of x without a check
    @jacsolve.jit
    def three_inputs(x):
        return x[0] * x[1] + x[2]

    for jac in ("auto", "complex", "central"):
        with pytest.raises(IndexError, match=r"past the end of x \(2 entries\)"):
            jacsolve.propagate(three_inputs, [1.0, 2.0], u=[0.1, 0.1], jac=jac)
    r = jacsolve.propagate(three_inputs, [1.0, 2.0, 3.0], u=[0.1, 0.1, 0.1])
    assert r.value == 5.0 and r.std == pytest.approx(0.1 * math.sqrt(4 + 1 + 1), rel=1e-14)


def test_implicit_names_F_and_y0_and_x():
    @jacsolve.jit
    def F(y, x):
        return np.array([y[0] - x[0] * x[2]])

    with pytest.raises(IndexError, match=r"F reads past the end of x \(2 entries\)"):
        jacsolve.propagate_implicit(F, [1.0], [1.0, 2.0], u=[0.1, 0.1])
    with pytest.raises(ValueError, match=r"F must return len\(y0\) = 2") as info:
        jacsolve.propagate_implicit(F, [1.0, 1.0], [1.0, 2.0, 3.0], u=[0.1, 0.1, 0.1])
    assert "fun" not in str(info.value) and "x0" not in str(info.value)
