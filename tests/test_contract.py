"""The result contract, pinned for every public result type of jacsolve.

Every result that can fall short carries ``success`` (True only when what was
asked for was reached), ``status`` (a :class:`~jacsolve.status.Status`, or a
:class:`~jacsolve.status.StatusArray` for a batch), ``message`` and ``nfev``.
The checks (``check_complex_step``, ``validate``) say ``success``. Results are
frozen dataclasses: an attribute cannot be assigned.
"""
import dataclasses

import numpy as np
import pytest

import jacsolve
from jacsolve import distributions as D
from jacsolve.integration.regions import Disk
from jacsolve.problems.batch_systems import circle_line_batch
from jacsolve.problems.derivative_cases import PROBLEMS
from jacsolve.problems.propagation_models import root_pair
from jacsolve.status import ResultContract, Status, StatusArray

TRIG = PROBLEMS["trig_tall"]
X = np.array([2.0, 3.0])
U = np.array([0.02, 0.03])
INPUTS = [D.Normal(2.0, 0.02), D.Normal(3.0, 0.03)]


@jacsolve.jit
def product(x):
    return x[0] * x[1]


@jacsolve.jit
def circle(x):
    return np.array([x[0] * x[0] + x[1] * x[1] - 4.0, x[0] - x[1]])


@jacsolve.jit
def one(x):
    return 1.0


@jacsolve.jit
def total(x):
    return x[0] + x[1]


def _validation():
    # a linear model: the GUM interval is exact, so it validates to one digit
    linear = jacsolve.propagate(total, X, u=U)
    return jacsolve.validate(linear, jacsolve.propagate_mc(total, INPUTS, n=50_000, seed=1),
                             digits=1)


# type name -> what makes one (small problems: each compiles little)
MAKERS = {
    "RootResult": lambda: jacsolve.solve(circle, [1.0, 0.5]),
    "BatchResult": lambda: (lambda p: jacsolve.solve_batch(p.fun, p.x0, p.params))(
        circle_line_batch(16, seed=3)),
    "JacobianInfo": lambda: jacsolve.jacobian(TRIG.fun, TRIG.x0, full_output=True)[1],
    "IntegrationResult": lambda: jacsolve.integrate(one, Disk(), n=400),
    "Propagation": lambda: jacsolve.propagate(product, X, u=U),
    "MonteCarloResult": lambda: jacsolve.propagate_mc(product, INPUTS, n=20_000, seed=1),
    "ImplicitPropagation": lambda: jacsolve.propagate_implicit(root_pair, [1.0, 1.0],
                                                               [6.0, 1.5], u=U),
    "Validation": _validation,
    "ComplexStepCheck": lambda: jacsolve.check_complex_step(TRIG.fun, TRIG.x0),
}
CHECKS = {"Validation", "ComplexStepCheck"}   # they carry success (and message or not)
_made = {}


def made(name):
    if name not in _made:
        _made[name] = MAKERS[name]()
    return _made[name]


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_is_the_public_type(name):
    assert type(made(name)) is getattr(jacsolve, name)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_is_a_frozen_dataclass(name):
    result = made(name)
    assert dataclasses.is_dataclass(result)
    assert type(result).__dataclass_params__.frozen
    field = dataclasses.fields(result)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, None)
    # nothing beyond the declared fields was written into the instance
    names = {f.name for f in dataclasses.fields(result)}
    assert set(getattr(result, "__dict__", {})) <= names


@pytest.mark.parametrize("name", sorted(set(MAKERS) - CHECKS))
def test_results_carry_the_contract(name):
    result = made(name)
    assert isinstance(result, ResultContract)
    for attribute in ("success", "status", "message", "nfev"):
        assert hasattr(result, attribute), f"{name} has no {attribute}"
    assert isinstance(result.message, str) and result.message
    if name == "BatchResult":
        assert isinstance(result.status, StatusArray)
        assert all(isinstance(s, Status) for s in result.status)
        assert np.array_equal(result.success, result.status == Status.SUCCESS)
        assert np.all(np.asarray(result.nfev) > 0)
        assert "StatusArray([" in repr(result.status)
    else:
        assert isinstance(result.status, Status)
        assert isinstance(result.success, (bool, np.bool_))
        assert result.success == (result.status == Status.SUCCESS)
        assert int(result.nfev) > 0


def test_a_batch_reports_members_that_fall_short():
    result = made("BatchResult")
    assert result.success.any() and not result.success.all()   # some lines miss the circle
    assert all(s != Status.SUCCESS for s in result.status[~result.success])


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_checks_say_success(name):
    check = made(name)
    assert isinstance(check.success, (bool, np.bool_)) and check.success
    alias = "validated" if name == "Validation" else "ok"
    assert getattr(check, alias) == check.success


# ------------------------------------------ results that fall short, by status
@jacsolve.jit
def nan_beside_one(x):
    # finite at x0 = 1 only: sqrt of a negative number on both sides
    return np.array([np.sqrt(-(x[0] - 1.0) * (x[0] - 1.0)) + x[1], x[1] * x[1]])


@pytest.mark.parametrize("method", ["forward", "central", "richardson"])
def test_jacobian_with_nan_entries_is_not_a_success(method):
    with pytest.warns(RuntimeWarning, match=r"variables \[0\]"):
        J, info = jacsolve.jacobian(nan_beside_one, [1.0, 2.0], method=method,
                                    full_output=True)
    assert np.all(np.isnan(J[:, 0])) and np.all(np.isfinite(J[:, 1]))
    assert not info.success and info.status is Status.NONFINITE
    assert "variables [0]" in info.message and info.nfev > 0


def test_complete_jacobian_is_a_success():
    info = made("JacobianInfo")
    assert info.success and info.status is Status.SUCCESS
    # 2n stencil evaluations, plus fun(x) once the first time a function is seen (its shape)
    assert 2 * TRIG.x0.size <= info.nfev <= 2 * TRIG.x0.size + 1


@jacsolve.jit
def log_x(x):
    return np.log(x[0])   # NaN on the left half of the disk


def test_integral_of_a_nonfinite_integrand_is_not_a_success():
    result = jacsolve.integrate(log_x, Disk(), n=400)
    assert not result.success and result.status is Status.NONFINITE
    assert not np.isfinite(result.value) and "not finite" in result.message
    assert result.nfev > 0 and result.n_nonfinite > 0


def test_adaptive_integration_out_of_evaluations_is_maxfev():
    with pytest.warns(jacsolve.IntegrationWarning, match="evaluations used"):
        result = jacsolve.integrate(log_x, Disk(center=(2.0, 0.0)), method="adaptive", n=300,
                                    rtol=1e-15)
    assert not result.success and result.status is Status.MAXFEV
    assert result.nfev <= 300 and "evaluations used" in result.message


def test_complex_step_check_that_fails_is_not_a_success():
    @jacsolve.jit
    def uses_abs(x):
        return np.array([np.abs(x[0]) * x[1], x[1] * x[1]])

    check = jacsolve.check_complex_step(uses_abs, [-1.0, 2.0])
    assert not check.success and not check.ok
    assert list(check.bad_columns) == [0] and "not complex-safe" in check.message
