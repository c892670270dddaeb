"""Bad input gets a clear exception naming the argument, before compiled code runs."""
import numpy as np
import pytest

import jacsolve
from jacsolve import FunctionError
from jacsolve.problems.derivative_cases import PROBLEMS

TRIG = PROBLEMS["trig_tall"]


@pytest.mark.parametrize("x,match", [
    ([1.0, np.nan, 2.0], r"x must be finite; x\[1\]"),
    ([1.0, np.inf, 2.0], r"x must be finite"),
    (np.ones((3, 1)), r"x must be 1-D"),
    ([], r"x must have at least one element"),
    (["a", "b", "c"], r"x must be a 1-D array of real numbers"),
    (np.ones(3) + 1j, r"x must be a 1-D array of real numbers, got dtype complex"),
])
@pytest.mark.parametrize("compiled", [True, False])
def test_bad_x(x, match, compiled):
    fun = TRIG.fun if compiled else TRIG.fun.py_func
    with pytest.raises((ValueError, TypeError), match=match):
        jacsolve.jacobian(fun, x)


@jacsolve.jit
def returns_matrix(x):
    return np.outer(x, x)


@jacsolve.jit
def varying_length(x):
    # the output length depends on x: forbidden
    return np.ones(3) if x[0] > 1.0 else np.ones(2)


@jacsolve.jit
def returns_string(x):
    return "oops"


@jacsolve.jit
def raises(x):
    if x[0] > 0.5:
        raise ValueError("negative concentration")
    return x * 2.0


@pytest.mark.parametrize("compiled", [True, False])
def test_fun_wrong_shape(compiled):
    fun = returns_matrix if compiled else returns_matrix.py_func
    with pytest.raises((TypeError, ValueError), match="fun must return a 1-D array or a scalar"):
        jacsolve.jacobian(fun, [1.0, 2.0])


@pytest.mark.parametrize("compiled", [True, False])
def test_fun_varying_shape(compiled):
    fun = varying_length if compiled else varying_length.py_func
    with pytest.raises(FunctionError, match="different lengths"):
        jacsolve.jacobian(fun, [1.0 - 1e-9, 2.0], method="central")


@jacsolve.jit
def length_at_one(x):
    # 3 outputs exactly at x[0] = 1, 2 everywhere else (every perturbed point)
    return np.ones(3) * x[0] if x[0] == 1.0 else np.ones(2) * x[0]


@pytest.mark.parametrize("method", ["forward", "central", "complex", "richardson"])
@pytest.mark.parametrize("compiled", [True, False])
def test_fun_length_differs_at_every_step(compiled, method):
    fun = length_at_one if compiled else length_at_one.py_func
    with pytest.raises(FunctionError, match="fun must return"):
        jacsolve.jacobian(fun, [1.0, 2.0], method=method)


@pytest.mark.parametrize("compiled", [True, False])
def test_fun_non_numeric(compiled):
    fun = returns_string if compiled else returns_string.py_func
    with pytest.raises(TypeError, match="fun"):
        jacsolve.jacobian(fun, [1.0])


@pytest.mark.parametrize("compiled", [True, False])
def test_fun_raising(compiled):
    fun = raises if compiled else raises.py_func
    # raises at the starting point
    with pytest.raises(FunctionError, match="fun raised ValueError: negative concentration"):
        jacsolve.jacobian(fun, [1.0, 0.0])
    # raises during the differences only
    with pytest.raises(FunctionError, match="negative concentration"):
        jacsolve.jacobian(fun, [0.5 - 1e-9, 0.0], method="forward")


def test_fun_not_callable():
    with pytest.raises(TypeError, match="fun must be callable"):
        jacsolve.jacobian(42, [1.0])


def test_bad_sparsity_shape():
    p = PROBLEMS["boundary_value"]
    with pytest.raises(ValueError, match=r"sparsity has shape \(49, 49\), expected \(50, 50\)"):
        jacsolve.jacobian(p.fun, p.x0, sparsity=p.sparsity(49))
    with pytest.raises(ValueError, match="sparsity must be a 2-D pattern"):
        jacsolve.jacobian(p.fun, p.x0, sparsity=np.ones(50, dtype=bool))


@pytest.mark.parametrize("bounds,match", [
    (([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]), r"x\[0\] = 0.7 lies outside bounds|x\[1\] = -1.3 lies outside"),
    (([1.0, -2.0, 0.0], [0.0, 1.0, 1.0]), r"lower must be < upper, but lower\[0\] = 1.0"),
    (([0.0, 0.0], [1.0, 1.0]), r"bounds: lower and upper must be scalars or have shape \(3,\)"),
    ((0.0,), r"bounds must be a pair"),
])
def test_bad_bounds(bounds, match):
    with pytest.raises(ValueError, match=match):
        jacsolve.jacobian(TRIG.fun, TRIG.x0, bounds=bounds)


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be one of 'forward', 'central'"):
        jacsolve.jacobian(TRIG.fun, TRIG.x0, method="5-point")
    with pytest.raises(ValueError, match="method must be one of 'complex', 'central'"):
        jacsolve.hessian(PROBLEMS["rosenbrock"].fun, PROBLEMS["rosenbrock"].x0, method="forward")


def test_bad_rel_step_and_scale():
    with pytest.raises(ValueError, match="rel_step must be finite and positive"):
        jacsolve.jacobian(TRIG.fun, TRIG.x0, rel_step=-1.0)
    with pytest.raises(ValueError, match="x_scale must be finite and positive"):
        jacsolve.jacobian(TRIG.fun, TRIG.x0, x_scale=[1.0, 0.0, 1.0])


def test_jvp_vjp_shape_errors():
    with pytest.raises(ValueError, match=r"v must have the shape of x, \(3,\)"):
        jacsolve.jvp(TRIG.fun, TRIG.x0, [1.0, 2.0])
    with pytest.raises(ValueError, match="w must have the length of fun's output, 5"):
        jacsolve.vjp(TRIG.fun, TRIG.x0, [1.0, 2.0])


def test_hessian_needs_scalar():
    with pytest.raises(ValueError, match="scalar-valued fun"):
        jacsolve.hessian(TRIG.fun, TRIG.x0)


# ---------------------------------------------------------- complex safety
@jacsolve.jit
def uses_abs(x):
    out = np.empty(1)
    out[0] = np.abs(x[0]) * x[1]
    return out


@jacsolve.jit
def abs_times(x):
    # complex in, complex out, but abs() drops the imaginary part of x[0]
    return np.array([np.abs(x[0]) * x[1], x[1] * x[1]])


@jacsolve.jit
def cube_by_power(x):
    # numba's complex z**3 goes through exp/log: not complex-step safe
    return x ** 3


@pytest.mark.parametrize("compiled", [True, False])
def test_not_complex_safe_is_detected(compiled):
    fun = uses_abs if compiled else uses_abs.py_func
    with pytest.raises(TypeError, match="not complex-safe"):
        jacsolve.jacobian(fun, [-1.0, 2.0], method="complex")
    assert not jacsolve.check_complex_step(fun, [-1.0, 2.0]).ok


def test_check_complex_step_finds_abs():
    check = jacsolve.check_complex_step(abs_times, [-1.0, 2.0])
    assert not check.ok and list(check.bad_columns) == [0]


def test_check_complex_step_finds_wrong_columns():
    x = np.array([-0.7, 2.0, -1.5])
    check = jacsolve.check_complex_step(cube_by_power, x)
    assert not check.ok
    # rows 0 and 2 (negative bases) get noise of ~1e-16/h in every column
    assert set(check.bad_columns.tolist()) == {0, 1, 2}
    assert "not complex-safe" in check.message
    ok = jacsolve.check_complex_step(TRIG.fun, TRIG.x0)
    assert ok.ok and ok.max_rel_diff < 1e-6


# ---------------------------------------------------------- aliasing
@jacsolve.jit
def returns_view(x):
    # returns a view of its input: the kernels must not be fooled when they
    # change x in place between evaluations
    return x[1:]


@pytest.mark.parametrize("method", ["forward", "central", "complex", "richardson"])
def test_fun_returning_a_view_of_x(method):
    J = jacsolve.jacobian(returns_view, np.array([1.0, 2.0, 3.0]), method=method)
    np.testing.assert_allclose(J, np.eye(3)[1:], atol=1e-9)
