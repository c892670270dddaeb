"""jac="auto": complex step only where a one-time check finds it right, else differences."""
import warnings

import numpy as np
import pytest

import jacsolve
from jacsolve._numba.prepared import prepare
from jacsolve.integration.regions import Mapped
from jacsolve.status import Status

# Richardson extrapolation of central differences is good to ~1e-12 relative on
# smooth functions (jacsolve.jacobian's docs, README); 1e-10 leaves two orders of
# margin and is far below any error a wrong method would make (O(1)).
RICHARDSON_RTOL = 1e-10


@jacsolve.jit
def magnitude_phase(x):          # JCGM 102 9.3: |Z| and arg Z from Re Z, Im Z
    out = np.empty(2, dtype=x.dtype)
    out[0] = np.sqrt(x[0] * x[0] + x[1] * x[1])
    out[1] = np.arctan2(x[1], x[0])
    return out


@jacsolve.jit
def with_abs(x):                 # compiles for complex x, but abs drops the imaginary part
    out = np.empty(2, dtype=x.dtype)
    out[0] = abs(x[0]) * x[1] - 2.0
    out[1] = x[1] - 1.0
    return out


@jacsolve.jit
def with_real(x):                # .real drops the imaginary part too
    out = np.empty(1, dtype=x.dtype)
    out[0] = x[0].real * x[0] - 4.0
    return out


@jacsolve.jit
def with_branch(x, p):           # a comparison on x: no complex version
    out = np.empty(1, dtype=x.dtype)
    if x[0] > 0.0:
        out[0] = x[0] * x[0] - p[0]
    else:
        out[0] = -x[0] - p[0]
    return out


@jacsolve.jit
def smooth(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = x[0] * x[0] * x[1] - 2.0
    out[1] = np.exp(x[1]) - np.e
    return out


def magnitude_phase_jacobian(x):
    a, b = x
    r2 = a * a + b * b
    r = np.sqrt(r2)
    return np.array([[a / r, b / r], [-b / r2, a / r2]])


# ------------------------------------------------------------ the verdict
def test_arctan2_model_propagates_at_the_default():
    x = np.array([0.001, 0.0005])   # Re Z, Im Z
    u = np.array([1e-5, 2e-5])
    r = jacsolve.propagate(magnitude_phase, x, u=u)
    assert r.success and r.jac_method == "richardson"
    J = magnitude_phase_jacobian(x)
    np.testing.assert_allclose(r.jac, J, rtol=RICHARDSON_RTOL)
    np.testing.assert_allclose(r.cov, J @ np.diag(u * u) @ J.T, rtol=2 * RICHARDSON_RTOL)
    rec = prepare(magnitude_phase)
    assert rec.complex_safe is False and "arctan2" in rec.complex_reason
    r2 = jacsolve.propagate(magnitude_phase, x, u=u, method="second-order")
    assert r2.jac_method == "richardson" and np.all(np.isfinite(r2.std))


def test_explicit_complex_names_the_operation_and_the_alternatives():
    for call in (lambda: jacsolve.propagate(magnitude_phase, [1.0, 0.5], u=[0.1, 0.1],
                                            jac="complex"),
                 lambda: jacsolve.solve(magnitude_phase, [1.0, 0.5], jac="complex")):
        with pytest.raises(TypeError) as info:
            call()
        text = str(info.value)
        assert text.startswith("fun is not complex-safe (arctan2 has no complex version")
        assert "jac='auto'" in text and "jac='central'" in text
        assert "No implementation" not in text     # numba's traceback stays out


def test_abs_and_real_are_caught_and_fall_back():
    x = np.array([-2.0, 1.5])
    r = jacsolve.propagate(with_abs, x, u=[0.1, 0.2])
    assert r.jac_method == "richardson"
    J = np.array([[-x[1], abs(x[0])], [0.0, 1.0]])     # d|x0|/dx0 = -1 at x0 < 0
    np.testing.assert_allclose(r.jac, J, rtol=RICHARDSON_RTOL, atol=RICHARDSON_RTOL)
    assert prepare(with_abs).complex_safe is False
    assert "complex step gives" in prepare(with_abs).complex_reason
    res = jacsolve.solve(with_real, [3.0])
    assert res.success and res.jac_method == "central"
    assert abs(res.x[0] - 2.0) <= 1e-9
    assert prepare(with_real).complex_safe is False


def test_complex_safe_function_keeps_complex_step():
    res = jacsolve.solve(smooth, [1.5, 0.5])
    assert res.success and res.jac_method == "complex"
    np.testing.assert_allclose(res.x, [np.sqrt(2.0), 1.0], rtol=1e-10)
    r = jacsolve.propagate(smooth, [1.0, 2.0], u=[0.1, 0.1])
    assert r.jac_method == "complex"
    assert prepare(smooth).complex_safe is True


def test_the_verdict_is_found_once_per_function():
    @jacsolve.jit
    def g(x, p):
        out = np.empty(1, dtype=x.dtype)
        out[0] = abs(x[0]) - p[0]
        return out

    rec = prepare(g)
    assert rec.complex_checks == 0 and rec.complex_safe is None
    params = np.array([[1.0], [2.0], [3.0]])
    for _ in range(3):
        res = jacsolve.solve_batch(g, [-1.0], params)
        assert res.jac_method == "central" and res.success.all()
        np.testing.assert_allclose(res.x[:, 0], -params[:, 0], rtol=1e-10)
    one = jacsolve.solve(g, [-0.5], args=(params[0],))
    assert one.success and one.jac_method == "central"
    assert rec.complex_checks == 1


def test_steep_but_complex_safe_function_passes_the_check():
    # exp(4 x) at x = 1: third derivative 64 e^4, so central differences err by
    # ~h^2/6 * 64 e^4 = 4e-10 e^4; the check's bound, AUTO_CHECK_MARGIN eps^(2/3)
    # (|f| + |f'| s) = 1.9e-7 e^4, must not take that for a wrong partial, and
    # complex step then gives u(y) = 4 e^4 u exactly to rounding
    @jacsolve.jit
    def steep(x):
        return np.exp(4.0 * x)

    res = jacsolve.propagate(steep, [1.0], u=[0.01])
    assert res.jac_method == "complex" and prepare(steep).complex_safe is True
    assert res.std == pytest.approx(4.0 * np.exp(4.0) * 0.01, rel=1e-14)


# ------------------------------------------------------------ entry points
def test_solve_and_solve_batch_with_branch_models_at_the_default():
    res = jacsolve.solve(with_branch, [1.0], args=(np.array([4.0]),))
    assert res.success and res.jac_method == "central" and abs(res.x[0] - 2.0) <= 1e-9
    params = np.array([[4.0], [9.0]])
    batch = jacsolve.solve_batch(with_branch, [1.0], params)
    assert batch.success.all() and batch.jac_method == "central"
    np.testing.assert_allclose(batch.x[:, 0], [2.0, 3.0], rtol=1e-10)
    assert "gt has no complex version" in prepare(with_branch).complex_reason


def test_krylov_falls_back_to_central_products():
    res = jacsolve.solve(with_abs, [-1.0, 0.5], method="krylov")
    assert res.success and res.jac_method == "central"
    np.testing.assert_allclose(res.x, [-2.0, 1.0], rtol=1e-9)


def test_mapped_region_with_abs_in_its_map_integrates_at_the_default():
    @jacsolve.jit
    def polar(u):
        x = np.empty(2, dtype=u.dtype)
        r = abs(u[0])
        x[0] = r * np.cos(u[1])
        x[1] = r * np.sin(u[1])
        return x

    disk = Mapped(polar, 2, domain=([0, 0], [1, 2 * np.pi]))
    assert disk.det_method() == "central"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # the estimate may not reach the default rtol
        res = jacsolve.integrate(jacsolve.jit(lambda x: 1.0), disk, rtol=1e-8)
    assert res.det == "central"
    # central |det J| is right to 1e-7 relative at every point (test_regions), so the area is
    assert abs(res.value - np.pi) <= 1e-7 * np.pi


def test_implicit_auto_and_the_callers_names():
    @jacsolve.jit
    def F(y, x):                     # y = arctan2(x1, x0): the sensitivities need a fallback
        out = np.empty(1, dtype=y.dtype)
        out[0] = y[0] - np.arctan2(x[1], x[0])
        return out

    x = np.array([4.0, 3.0])
    r = jacsolve.propagate_implicit(F, [0.5], x, u=[0.04, 0.03])
    assert r.success and r.jac_method == "richardson" and r.root.jac_method == "complex"
    np.testing.assert_allclose(r.jac, [[-3.0 / 25.0, 4.0 / 25.0]], rtol=RICHARDSON_RTOL)
    with pytest.raises(ValueError, match=r"F must return len\(y0\) = 2 values") as info:
        jacsolve.propagate_implicit(F, [0.5, 0.5], x, u=[0.04, 0.03])
    assert "fun" not in str(info.value) and "x0" not in str(info.value)
    mc = jacsolve.propagate_implicit_mc(F, [0.5], [jacsolve.distributions.Normal(4.0, 0.04),
                                                   jacsolve.distributions.Normal(3.0, 0.03)],
                                        n=2000, seed=1)
    assert mc.n_nonfinite == 0 and "Jacobians: complex" in mc.message
    assert mc.status == Status.SUCCESS


def test_solve_reading_past_x0_is_an_error_not_garbage():
    @jacsolve.jit
    def reads_x2(x):
        out = np.empty(2, dtype=x.dtype)
        out[0] = x[0] * x[0] - x[2]
        out[1] = x[1] - 1.0
        return out

    with pytest.raises(IndexError, match=r"past the end of x0 \(2 entries\)"):
        jacsolve.solve(reads_x2, [1.0, 1.0])


def test_explicit_complex_in_solve_batch_names_the_operation():
    @jacsolve.jit
    def phase(x, p):
        out = np.empty(1, dtype=x.dtype)
        out[0] = x[0] - np.arctan2(p[0], x[0])
        return out

    with pytest.raises(TypeError, match=r"arctan2 has no complex version.*jac='auto'"):
        jacsolve.solve_batch(phase, [1.0], np.array([[1.0]]), jac="complex")
    res = jacsolve.solve_batch(phase, [1.0], np.array([[1.0]]))
    assert res.success[0] and res.jac_method == "central"
    assert abs(res.x[0, 0] - np.arctan2(1.0, res.x[0, 0])) <= 1e-10


def test_python_function_dropping_the_imaginary_part_falls_back():
    import math

    def F(x):                        # math.sqrt casts complex x to float, or raises
        return np.array([math.sqrt(x[0]) - 2.0, x[1] - x[0]])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jacsolve.PerformanceWarning)
        res = jacsolve.solve(F, [3.0, 1.0])
    assert res.success and res.jac_method == "central"
    np.testing.assert_allclose(res.x, [4.0, 4.0], rtol=1e-10)
    assert "imaginary part" in prepare(F).complex_reason


def test_second_order_by_richardson_agrees_with_complex_step():
    # Richardson's Jacobians (~1e-12 relative) differenced over h = 1e-2 (Hessian)
    # and h^2 = 1e-4 (third derivatives) give the second-order terms to ~1e-8
    @jacsolve.jit
    def f(x):
        return x[0] * x[0] * x[1] + np.exp(x[1]) + np.sin(x[0] * x[1])

    kw = dict(u=[0.1, 0.1], method="second-order")
    a = jacsolve.propagate(f, [1.0, 2.0], jac="complex", **kw)
    b = jacsolve.propagate(f, [1.0, 2.0], jac="richardson", **kw)
    assert b.jac_method == "richardson" and a.jac_method == "complex"
    assert b.std == pytest.approx(a.std, rel=1e-7)
    assert b.bias == pytest.approx(a.bias, rel=1e-7)


# ------------------------------------------------------------ the check's cost
def test_the_check_compiles_nothing_of_jacsolve():
    from numba.core import event

    @jacsolve.jit
    def fresh(x):
        out = np.empty(2, dtype=x.dtype)
        out[0] = x[0] * x[1] - 1.0
        out[1] = np.sin(x[1]) - 0.5
        return out

    compiled = []

    class Listener(event.Listener):
        def on_start(self, ev):
            pass

        def on_end(self, ev):
            compiled.append(ev.data["dispatcher"].py_func.__module__ or "")

    with event.install_listener("numba:compile", Listener()):
        assert prepare(fresh).complex_verdict(np.array([1.0, 0.5])) is True
    # only fun (float and complex), its adapters and numba's own helpers compiled
    assert not [m for m in compiled if m.startswith("jacsolve.")], compiled


def test_large_functions_are_checked_along_directions_with_the_same_verdicts():
    from jacsolve._numba.prepared import PURE_PYTHON_CHECK

    n = 65
    assert n * n > PURE_PYTHON_CHECK  # the check runs along random directions here
    A = np.random.default_rng(3).standard_normal((n, n)) + n * np.eye(n)

    @jacsolve.jit
    def linear(x, A):            # A x - 1 (a loop: numba's @ does not mix float and complex)
        out = np.zeros(A.shape[0], dtype=x.dtype)
        for i in range(A.shape[0]):
            for j in range(x.size):
                out[i] += A[i, j] * x[j]
            out[i] -= 1.0
        return out

    @jacsolve.jit
    def linear_abs(x, A):
        out = linear(x, A)
        out[n - 1] += abs(x[n - 1])
        return out

    x = np.linspace(0.5, 1.5, n)
    assert prepare(linear).complex_verdict(x, (A,)) is True
    assert prepare(linear_abs).complex_verdict(x, (A,)) is False
    assert f"(J v)[{n - 1}]" in prepare(linear_abs).complex_reason


# ------------------------------------------------ complex step where fun is NaN
@jacsolve.jit
def nan_for_complex(x):
    # real x: x0^2 - 2 (x.imag is 0); complex step: sqrt(-h) is NaN, so Re f is
    # NaN while Im f is a finite 2 x0 h: the partial must not be taken from it
    out = np.empty(1, dtype=x.dtype)
    out[0] = x[0] * x[0] - 2.0 + np.sqrt(-x[0].imag)
    return out


def test_complex_step_of_a_nan_value_is_nan_not_a_finite_partial():
    from jacsolve.derivatives.kernels import store_imag

    row = np.empty(3)
    store_imag(row, np.array([complex(np.nan, 0.0), complex(np.inf, 0.0), 2e-20j]), 1e-20)
    assert np.isnan(row[0]) and np.isnan(row[1]) and row[2] == 2.0
    with pytest.warns(RuntimeWarning, match="inf or NaN"):
        info = jacsolve.jacobian(nan_for_complex, np.array([1.5]), method="complex",
                                 full_output=True)[1]
    assert info.status == Status.NONFINITE


def test_solve_with_nan_complex_steps_ends_nonfinite_not_singular():
    res = jacsolve.solve(nan_for_complex, [1.5], jac="complex")
    assert not res.success and res.status == Status.NONFINITE
