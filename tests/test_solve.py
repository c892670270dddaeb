"""jacsolve.solve: API, bad input, faults during iteration, sparse Bratu, callbacks."""
import re

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import newton_krylov

import jacsolve
from jacsolve import FunctionError, Status
from jacsolve.problems import bratu as B
from jacsolve.problems import mgh
from jacsolve.nonlinear import ConvergenceError, RootResult, solve


# Compiled test functions take no args: the compiled algorithms are built
# once per type of args (about 20 s cold), and the Bratu tests below cover
# compiled solves with args. circle_py covers args on the dense path.
@jacsolve.jit(cache=True)
def circle(x):
    """x0^2 + x1^2 = 4, x0 = x1: root (2, 2)/sqrt(2)."""
    out = np.empty(2, dtype=x.dtype)
    out[0] = x[0] * x[0] + x[1] * x[1] - 4.0
    out[1] = x[0] - x[1]
    return out


@jacsolve.jit(cache=True)
def circle_jac(x):
    return np.array([[2.0 * x[0], 2.0 * x[1]], [1.0, -1.0]])


def circle_py(x, r):
    return np.array([x[0] ** 2 + x[1] ** 2 - r * r, x[0] - x[1]])


@jacsolve.jit(cache=True)
def log_system(x):
    """log(x0) = 1: a full Newton step from x0 = 10 lands at x0 < 0 (NaN)."""
    out = np.empty(1, dtype=x.dtype)
    out[0] = np.log(x[0]) - 1.0
    return out


@jacsolve.jit(cache=True)
def raises_when_negative(x):
    if x[0].real < 0.0:
        raise ValueError("negative argument")
    out = np.empty(1, dtype=x.dtype)
    out[0] = np.log(x[0]) - 1.0
    return out


@jacsolve.jit(cache=True)
def nan_near_root(x):
    """x0^2 = 2, but NaN within 1e-3 of the roots +-sqrt(2): no iterate can reach them."""
    out = np.empty(1, dtype=x.dtype)
    out[0] = x[0] * x[0] - 2.0
    if abs(abs(x[0].real) - np.sqrt(2.0)) < 1e-3:
        out[0] = np.nan
    return out


@jacsolve.jit(cache=True)
def nan_jacobian_near_root(x):
    """x0^2 = 2, finite for real x, but NaN in complex evaluations within 1e-3
    of the root: complex-step Jacobians there are NaN."""
    out = np.empty(1, dtype=x.dtype)
    out[0] = x[0] * x[0] - 2.0
    if abs(x[0].real - np.sqrt(2.0)) < 1e-3 and x[0].imag != 0.0:
        out[0] = np.nan * x[0]
    return out


def rank_one(c):
    """x0 + x1 = 1 and 2 x0 + 2 x1 = c: J singular everywhere; roots only for c = 2."""
    @jacsolve.jit
    def f(x):
        out = np.empty(2, dtype=x.dtype)
        out[0] = x[0] + x[1] - 1.0
        out[1] = 2.0 * x[0] + 2.0 * x[1] - c
        return out
    return f


inconsistent = rank_one(5.0)
consistent_singular = rank_one(2.0)


@jacsolve.jit(cache=True)
def reciprocal(x):
    """1/x: |F| decreases forever as x grows; Newton doubles x every step."""
    out = np.empty(1, dtype=x.dtype)
    out[0] = 1.0 / x[0]
    return out


@jacsolve.jit(cache=True)
def wrong_length(x):
    return np.zeros(3, dtype=x.dtype) + x[0]


ROOT = np.full(2, 2.0 / np.sqrt(2.0))


# --------------------------------------------------------------- basics
def test_solves_with_args_and_reports_fields():
    r = solve(circle, [1.0, 0.5])
    assert isinstance(r, RootResult)
    assert r.success and r.status == Status.SUCCESS
    np.testing.assert_allclose(r.x, ROOT, rtol=1e-13)
    np.testing.assert_array_equal(r.fun, circle(r.x))
    assert r.fnorm == np.max(np.abs(r.fun)) <= 1e-10
    assert r.nit >= 1 and r.nfev > r.nit and r.njev >= 1
    assert r.history[0] == np.max(np.abs(circle(np.array([1.0, 0.5]))))
    assert len(r.history) == r.nit + 1
    text = repr(r)
    assert "success=True" in text and "status=SUCCESS" in text and "nfev=" in text


@pytest.mark.parametrize("method", ["newton", "trust-region", "broyden", "krylov", "auto"])
def test_every_method_finds_the_root(method):
    r = solve(circle, np.array([3.0, -1.0]), method=method)
    assert r.success, r.message
    np.testing.assert_allclose(r.x, ROOT, rtol=1e-10)


@pytest.mark.parametrize("jac", ["central", "forward", "3-point"])
def test_difference_jacobians(jac):
    r = solve(circle, [1.0, 0.5], jac=jac, method="newton")
    assert r.success
    np.testing.assert_allclose(r.x, ROOT, rtol=1e-10)


def test_analytic_jacobian_compiled_and_python():
    a = solve(circle, [1.0, 0.5], jac=circle_jac, method="newton")
    b = solve(circle, [1.0, 0.5],
                       jac=lambda x: np.array([[2 * x[0], 2 * x[1]], [1.0, -1.0]]),
                       method="newton")
    for r in (a, b):
        assert r.success
        np.testing.assert_allclose(r.x, ROOT, rtol=1e-13)
    assert a.nit == b.nit and a.nfev == b.nfev


def test_plain_python_function_matches_compiled():
    with pytest.warns(jacsolve.PerformanceWarning):
        p = solve(circle_py, [1.0, 0.5], args=(2.0,), jac="central")
    c = solve(circle, [1.0, 0.5], jac="central")
    assert p.success and c.success
    np.testing.assert_allclose(p.x, c.x, rtol=1e-14)
    assert p.nfev == c.nfev and p.method == c.method


def test_success_only_with_the_residual_test():
    # a tolerance below the rounding floor cannot be met: an honest failure
    r = solve(circle, [1.0, 0.5], tol=1e-300)
    assert not r.success and r.status != Status.SUCCESS
    assert r.fnorm > 1e-300
    with pytest.raises(ConvergenceError) as info:
        solve(circle, [1.0, 0.5], tol=1e-300, raise_on_failure=True)
    assert info.value.result.fnorm == r.fnorm


def test_callback_sees_iterates_and_can_stop():
    seen = []
    r = solve(circle, [3.0, -1.0], method="newton",
                       callback=lambda x, f: seen.append(np.max(np.abs(f))) or False)
    assert r.success
    assert seen == list(r.history[1:])
    r = solve(circle, [3.0, -1.0], method="newton",
                       callback=lambda x, f: True)
    assert r.status == Status.CALLBACK and r.nit == 1 and not r.success


# -------------------------------------------------------------- bad input
def test_bad_x0():
    with pytest.raises(ValueError, match=r"x0 must be finite; x0\[1\] = nan"):
        solve(circle, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="x0 must be finite"):
        solve(circle, [1.0, np.inf])
    with pytest.raises(ValueError, match="x0 must be 1-D"):
        solve(circle, np.ones((2, 2)))
    with pytest.raises(TypeError, match="x0 must be a 1-D array of real numbers"):
        solve(circle, ["a", "b"])


def test_fun_returning_the_wrong_length():
    with pytest.raises(ValueError, match="fun must return an array of length 2.*3 values"):
        solve(wrong_length, [1.0, 2.0])
    with pytest.raises(ValueError, match="fun must return an array of length 2"):
        solve(lambda x: x[:1], [1.0, 2.0])


def test_analytic_jac_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"jac must return the \(2, 2\) Jacobian.*\(2, 3\)"):
        solve(circle, [1.0, 0.5], jac=lambda x: np.ones((2, 3)))


def test_unknown_method_and_options():
    with pytest.raises(ValueError, match="method must be one of"):
        solve(circle, [1.0, 0.5], method="hybr")
    with pytest.raises(ValueError, match="jac must be one of"):
        solve(circle, [1.0, 0.5], jac="exact")
    with pytest.raises(TypeError, match="unexpected keyword argument 'ftol'"):
        solve(circle, [1.0, 0.5], ftol=1e-3)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        solve(circle, [1.0, 0.5], tol=-1.0)
    with pytest.raises(ValueError, match="maxiter must be a positive integer"):
        solve(circle, [1.0, 0.5], maxiter=0)
    with pytest.raises(ValueError, match="does not use sparsity"):
        solve(circle, [1.0, 0.5], method="broyden",
                       sparsity=np.ones((2, 2)))
    with pytest.raises(ValueError, match="method='krylov' is Jacobian-free"):
        solve(circle, [1.0, 0.5], method="krylov", jac="central")
    with pytest.raises(TypeError, match="fun must be callable"):
        solve(3.0, [1.0])


# ------------------------------------------------- faults during iteration
def test_nan_partway_makes_the_line_search_back_off():
    r = solve(log_system, [10.0], method="newton")
    assert r.success
    # |F| <= 1e-10 and F' = 1/e at the root: |x - e| <= e * 1e-10 (to first order)
    np.testing.assert_allclose(r.x, [np.e], rtol=1.1e-10)
    assert "inf/NaN at" in r.message  # the full step to x < 0 was survived


def test_fun_raising_partway_is_survived_and_reported():
    for fun in (raises_when_negative, raises_when_negative.py_func):
        r = solve(fun, [10.0], method="newton")
        assert r.success
        np.testing.assert_allclose(r.x, [np.e], rtol=1.1e-10)
        assert re.search(r"raised or returned inf/NaN at [1-9]\d* trial point", r.message)


def test_fun_raising_at_x0_is_an_error():
    with pytest.raises(FunctionError, match="negative argument"):
        solve(raises_when_negative, [-1.0])


def test_nonfinite_at_x0_is_a_status():
    r = solve(log_system, [-1.0])
    assert not r.success and r.status == Status.NONFINITE and r.nit == 0


@pytest.mark.parametrize("method", ["auto", "newton", "trust-region", "broyden"])
def test_nonfinite_near_the_root_is_reported_as_nonfinite(method):
    r = solve(nan_near_root, [3.0], method=method)
    assert not r.success and r.status == Status.NONFINITE  # not SINGULAR or STALLED
    assert r.message.startswith(Status.NONFINITE.message)
    assert re.search(r"inf/NaN at [1-9]\d* trial point", r.message)
    # it stopped at the edge of the NaN region, not somewhere else
    assert 1e-3 <= abs(r.x[0] - np.sqrt(2.0)) < 1e-2


@pytest.mark.parametrize("method", ["newton", "trust-region"])
def test_nonfinite_jacobian_is_reported_as_nonfinite(method):
    r = solve(nan_jacobian_near_root, [3.0], method=method, jac="complex")
    assert not r.success and r.status == Status.NONFINITE
    assert abs(r.x[0] - np.sqrt(2.0)) < 1e-3  # where the Jacobian turned NaN
    # central differences only see real evaluations, which stay finite
    assert solve(nan_jacobian_near_root, [3.0], method=method, jac="central").success


def test_singular_jacobian_everywhere():
    r = solve(inconsistent, [0.3, 0.1])
    assert not r.success and r.status == Status.SINGULAR
    # the least-squares point: x0 + x1 = (1 + 2*5) / 5 = 2.2
    np.testing.assert_allclose(r.x.sum(), 2.2, rtol=1e-8)
    # regularised steps still find roots of a consistent singular system
    r = solve(consistent_singular, [0.3, 0.1], method="newton")
    assert r.success
    np.testing.assert_allclose(r.x.sum(), 1.0, rtol=1e-10)


def test_unbounded_descent_diverges():
    # 1/x meets any tol > 0 far enough out (a legitimate success); below 1e-100
    # it cannot before |x| > 1e100
    r = solve(reciprocal, [1.0], method="newton", maxiter=1000, tol=1e-300)
    assert not r.success and r.status == Status.DIVERGED
    assert np.abs(r.x).max() > 1e100


# ------------------------------------------------------------ sparse Bratu
def test_bratu_sparse_newton_at_n_10000():
    m = 100
    r = solve(B.bratu, B.bratu_start(m), args=(m, B.LAMBDA),
                       sparsity=B.bratu_sparsity(m), tol=1e-9)
    assert r.success and r.njev <= 8
    assert np.max(np.abs(B.bratu(r.x, m, B.LAMBDA))) <= 1e-9
    u = r.x.reshape(m, m)  # the solution has the symmetries of the square
    assert u.min() > 0.0
    np.testing.assert_allclose(u, u.T, atol=1e-10)
    np.testing.assert_allclose(u, u[::-1], atol=1e-10)


def test_bratu_agrees_with_krylov_and_scipy():
    m = 32
    args = (m, B.LAMBDA)
    groups = jacsolve.group_columns(B.bratu_sparsity(m))
    a = solve(B.bratu, B.bratu_start(m), args=args, sparsity=groups, tol=1e-10)
    b = solve(B.bratu, B.bratu_start(m), args=args, method="krylov", tol=1e-10)
    ref = newton_krylov(lambda u: B.bratu(u, m, B.LAMBDA), B.bratu_start(m), f_tol=1e-10)
    assert a.success and b.success
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.x, ref, rtol=0, atol=1e-8)


def test_sparse_with_analytic_sparse_jacobian():
    n = 50
    pattern = sp.csr_array(np.eye(n, k=-1) + np.eye(n) + np.eye(n, k=1))
    fun = mgh.broyden_tridiagonal
    jac = lambda x: sp.csr_array(mgh.broyden_tridiagonal_jac(x))  # noqa: E731
    x0 = np.full(n, -1.0)
    a = solve(fun, x0, sparsity=pattern, jac=jac)
    b = solve(fun, x0, sparsity=pattern)
    assert a.success and b.success
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10)
