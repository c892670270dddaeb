"""solve_batch: known roots, SciPy agreement, faulty members, bad input.

Two compiled problem functions (equilibrium, circle_line) are shared by all
tests, so each compiles once per test run; other paths run plain Python.
"""
import warnings

import numba
import numpy as np
import pytest
from scipy.optimize import root

import jacsolve
from jacsolve import FunctionError, PerformanceWarning, Status, solve_batch
from jacsolve.nonlinear.dense import maxabs
from jacsolve.problems.batch_systems import (circle_line, circle_line_batch, equilibrium,
                                     equilibrium_batch)

TOL = 1e-10


def equilibrium_jac(x, p):
    """Analytic Jacobians of problems.batch_systems.equilibrium, shape (N, 4, 4)."""
    c = np.exp(x)
    N = len(x)
    J = np.zeros((N, 4, 4))
    J[:, 0, 0], J[:, 0, 2], J[:, 0, 3] = (c[:, 0] / p[:, 0], c[:, 2] / p[:, 0],
                                          c[:, 3] / p[:, 0])
    J[:, 1, 1], J[:, 1, 2], J[:, 1, 3] = (c[:, 1] / p[:, 1], c[:, 2] / p[:, 1],
                                          2 * c[:, 3] / p[:, 1])
    J[:, 2, :] = [-1.0, -1.0, 1.0, 0.0]
    J[:, 3, :] = [0.0, -1.0, -1.0, 1.0]
    return J


def error_bound(J, fnorm, x):
    """First-order bound on |x - x*|_inf from residuals: |J^-1|_inf |F|_inf,
    doubled for the second-order term (|F| <= 1e-10 makes it tiny), plus the
    rounding of x itself. ``fnorm`` must include the floating-point residual
    of the reference root, which is not exactly 0 either."""
    Jinv = np.linalg.inv(J)
    eps = np.finfo(float).eps
    return 2.0 * np.abs(Jinv).sum(axis=2).max(axis=1) * fnorm + 4 * eps * np.abs(x).max(axis=1)


def residual(fun, x, params):
    """max|F(x_k)| in floating point, plus a bound on its rounding error: a
    float residual of 0 still allows a true residual of a few ulps of the
    terms of F (sums of |x|, |x|^2, |p|, |p|^2 bound them in these problems)."""
    eps = np.finfo(float).eps
    f = np.array([np.max(np.abs(fun(xk, pk))) for xk, pk in zip(x, params)])
    ax, ap = np.abs(x), np.abs(params)
    terms = 2 + (ax + ax * ax).sum(axis=1) + (ap + ap * ap).max(axis=1)
    return f + 4 * eps * terms


@pytest.fixture(scope="module")
def equil():
    prob = equilibrium_batch(3000, seed=7)
    return prob, solve_batch(prob.fun, prob.x0, prob.params, tol=TOL)


@pytest.fixture(scope="module")
def mixed():
    """Circle/line members (30 % without root) plus a NaN row and a start on
    the singular axis x=0, where J = [[2x, 2y], [0, 1]] is singular."""
    prob = circle_line_batch(400, seed=3)
    x0 = np.vstack([prob.x0, [[1.0, 1.0], [0.0, 1.0]]])
    params = np.vstack([prob.params, [[np.nan, 0.5], [1.0, 0.5]]])
    return prob, x0, params, solve_batch(circle_line, x0, params, tol=TOL)


# ------------------------------------------------------------ known roots
def test_every_member_matches_its_analytic_root(equil):
    prob, res = equil
    assert res.success.all(), res
    assert np.all(res.status == Status.SUCCESS)
    assert np.all(res.fnorm <= TOL)
    root_ = prob.roots[:, 0]
    fnorm = residual(equilibrium, res.x, prob.params) + residual(equilibrium, root_, prob.params)
    bound = error_bound(equilibrium_jac(root_, prob.params), fnorm, root_)
    err = np.abs(res.x - root_).max(axis=1)
    assert np.all(err <= bound), (err / bound).max()


def test_fnorm_is_the_residual_at_x(equil):
    prob, res = equil
    for k in range(0, 3000, 97):
        f = equilibrium(res.x[k], prob.params[k])
        assert np.max(np.abs(f)) == res.fnorm[k]


def test_agrees_with_scipy_root(equil):
    prob, res = equil
    rng = np.random.default_rng(0)
    compared = 0
    for k in rng.choice(len(res), size=25, replace=False):
        p = prob.params[k]
        sol = root(lambda x: equilibrium(x, p), prob.x0[k], method="hybr",
                   options={"xtol": 1e-13})
        if not (sol.success and np.max(np.abs(equilibrium(sol.x, p))) <= 1e-8):
            continue  # SciPy failed from this start; our root is checked above
        ours, theirs, pk = res.x[k:k + 1], sol.x[None], prob.params[k:k + 1]
        fnorm = residual(equilibrium, ours, pk) + residual(equilibrium, theirs, pk)
        bound = error_bound(equilibrium_jac(ours, pk), fnorm, theirs)
        assert np.abs(res.x[k] - sol.x).max() <= bound[0]
        compared += 1
    assert compared > 0, "SciPy solved none of the sampled systems: nothing was compared"


# ------------------------------------------------------- faulty members
def test_solvable_members_succeed_next_to_faulty_ones(mixed):
    prob, x0, params, res = mixed
    N = len(prob.x0)
    has = prob.has_root
    assert res.success[:N][has].all()
    near = prob.nearest_root(res.x[:N])[has]
    J = np.zeros((len(near), 2, 2))  # the analytic Jacobian at the analytic root
    J[:, 0, 0], J[:, 0, 1], J[:, 1, 1] = 2 * near[:, 0], 2 * near[:, 1], 1.0
    fnorm = (residual(circle_line, res.x[:N][has], params[:N][has])
             + residual(circle_line, near, params[:N][has]))
    bound = error_bound(J, fnorm, near)
    assert np.all(np.abs(res.x[:N][has] - near).max(axis=1) <= bound)


def test_members_without_root_fail_honestly(mixed):
    prob, x0, params, res = mixed
    N = len(prob.x0)
    miss = ~prob.has_root
    assert miss.sum() > 50
    assert not res.success[:N][miss].any()
    assert np.all(res.fnorm[:N][miss] > TOL)
    failure = {Status.MAXITER, Status.STALLED, Status.SINGULAR, Status.DIVERGED}
    assert {Status(int(s)) for s in res.status[:N][miss]} <= failure
    # |c| > R: |F| cannot vanish; its residual must be the true one
    for k in np.flatnonzero(miss)[:20]:
        assert np.max(np.abs(circle_line(res.x[k], params[k]))) == res.fnorm[k]


def test_nan_parameters_and_singular_start_get_their_status(mixed):
    prob, x0, params, res = mixed
    assert res.status[-2] == Status.NONFINITE and res.nit[-2] == 0
    assert np.isnan(res.fnorm[-2]) and not res.success[-2]
    # from x=0 every step keeps x=0 (J^T F has no x-part): a singular stationary point
    assert res.status[-1] == Status.SINGULAR and not res.success[-1]


def test_faulty_members_do_not_change_the_others(mixed):
    prob, x0, params, res = mixed
    good = np.flatnonzero(prob.has_root)[:50]
    alone = solve_batch(circle_line, x0[good], params[good], tol=TOL)
    np.testing.assert_array_equal(alone.x, res.x[good])
    np.testing.assert_array_equal(alone.nit, res.nit[good])


def test_summary_counts_statuses(mixed):
    prob, x0, params, res = mixed
    counts = res.counts
    assert sum(counts.values()) == len(res) == len(x0)
    assert counts[Status.SUCCESS] == res.success.sum()
    text = repr(res)
    assert f"{res.success.sum()} of {len(res)}" in text
    assert "NONFINITE" in text and "SINGULAR" in text


def test_threads_do_not_change_results(mixed):
    prob, x0, params, res = mixed
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = solve_batch(circle_line, x0, params, tol=TOL)
    finally:
        numba.set_num_threads(threads)
    for name in ("x", "status", "nit", "fnorm", "nfev"):
        np.testing.assert_array_equal(getattr(one, name), getattr(res, name))


@pytest.mark.parametrize("method", ["trust-region", "broyden", "auto"])
def test_other_methods_of_solve(mixed, method):
    """The other dense methods of jacsolve.solve: success exactly where the
    residual test holds, at an analytic root; auto solves every member with a root."""
    prob, x0, params, _ = mixed
    res = solve_batch(circle_line, x0, params, method=method, tol=TOL)
    np.testing.assert_array_equal(res.success, res.fnorm <= TOL)
    assert np.all((res.status == Status.SUCCESS) == res.success)
    N = len(prob.x0)
    ok = res.success[:N]
    assert not ok[~prob.has_root].any()
    near = prob.nearest_root(res.x[:N])[ok]
    assert np.abs(res.x[:N][ok] - near).max() <= 1e-9
    assert ok[prob.has_root].mean() >= (1.0 if method == "auto" else 0.9)


def test_fnorm_propagates_nan():
    assert np.isnan(maxabs(np.array([np.nan, 1.0])))
    assert np.isnan(maxabs(np.array([1.0, np.nan, 2.0])))
    assert maxabs(np.array([-3.0, 2.0])) == 3.0 and maxabs(np.empty(0)) == 0.0


# -------------------------------------------- plain Python, other options
def test_plain_python_fun_runs_the_same_kernel_with_a_warning():
    prob = circle_line_batch(12, seed=5)
    with pytest.warns(PerformanceWarning):
        res = solve_batch(circle_line.py_func, prob.x0, prob.params, jac="central", tol=TOL)
    has = prob.has_root
    assert res.success[has].all() and not res.success[~has].any()
    near = prob.nearest_root(res.x)
    assert np.abs(res.x[has] - near[has]).max() <= 1e-9


def test_python_fun_with_forward_differences():
    def f(x, p):
        return np.array([x[0] * x[1] - p[0], x[0] + x[1] - p[1]])
    params = np.array([[2.0, 3.0], [6.0, 5.0]])  # roots {1, 2} and {2, 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerformanceWarning)
        res = solve_batch(f, [0.5, 4.0], params, jac="2-point", tol=1e-12)
    assert res.success.all()
    np.testing.assert_allclose(res.x, [[1.0, 2.0], [2.0, 3.0]], rtol=0, atol=1e-11)


def test_one_start_broadcasts_and_empty_batch():
    params = np.array([[1.0, 0.6], [2.0, 0.0]])
    res = solve_batch(circle_line, [1.0, 1.0], params, tol=TOL)
    assert res.x.shape == (2, 2) and res.success.all()
    empty = solve_batch(circle_line, np.empty((0, 2)), np.empty((0, 2)))
    assert len(empty) == 0 and empty.x.shape == (0, 2)


def test_fun_raising_is_a_function_error():
    def f(x, p):
        if p[0] > 1:
            raise ZeroDivisionError("bad parameter")
        return x - p[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerformanceWarning)
        with pytest.raises(FunctionError, match="ZeroDivisionError"):
            solve_batch(f, [0.0], np.array([[0.5], [2.0]]))


def test_fun_raising_at_trial_points_is_survived():
    """x^3 = p from x=0.1: the first Newton step lands near p/0.03, where fun
    raises; the line search backs off and the solve converges."""
    def f(x, p):
        if abs(x[0]) > 20.0:
            raise OverflowError("too far")
        return np.array([x[0] * x[0] * x[0] - p[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerformanceWarning)
        res = solve_batch(f, [0.1], np.array([[8.0], [27.0]]), jac="central", tol=TOL)
    assert res.success.all(), res
    # |x - root| <= tol / f'(root), f' = 3 root^2 >= 12
    np.testing.assert_allclose(res.x[:, 0], [2.0, 3.0], rtol=0, atol=TOL / 12)


@jacsolve.jit
def _raises_for_large_p(x, p):
    if p[0] > 1.0:
        raise ValueError("bad parameter")
    return x - p[0]


def test_compiled_fun_raising_at_x0_is_a_function_error():
    with pytest.raises(FunctionError, match="ValueError: bad parameter.*system 2"):
        solve_batch(_raises_for_large_p, [0.0], np.array([[0.5], [0.2], [2.0]]),
                    jac="forward")


# --------------------------------------------------------------- bad input
def _py(x, p):
    return x - p


@pytest.mark.parametrize("x0, params, match", [
    (np.zeros((3, 2)), np.zeros((4, 2)), "params has 4 rows but x0 has 3"),
    (np.zeros((3, 2)), np.zeros(3), r"params must have shape \(N, k\)"),
    (np.zeros((3, 2, 1)), np.zeros((3, 2)), r"x0 must have shape \(N, n\)"),
    (np.array([[0.0, np.nan], [0.0, 0.0]]), np.zeros((2, 2)), r"x0 must be finite; x0\[0, 1\]"),
    (np.zeros((2, 0)), np.zeros((2, 2)), "x0 must have shape"),
])
def test_bad_shapes_and_values(x0, params, match):
    with pytest.raises(ValueError, match=match):
        solve_batch(_py, x0, params)


def test_bad_options():
    x0, p = np.zeros((2, 2)), np.zeros((2, 2))
    with pytest.raises(ValueError, match="method must be one of 'newton'"):
        solve_batch(_py, x0, p, method="hybr")
    with pytest.raises(ValueError, match="jac must be one of"):
        solve_batch(_py, x0, p, jac="richardson")
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        solve_batch(_py, x0, p, tol=-1.0)
    with pytest.raises(ValueError, match="maxiter must be a positive integer"):
        solve_batch(_py, x0, p, maxiter=0)
    with pytest.raises(TypeError, match="x0 must be an array of real numbers"):
        solve_batch(_py, x0 + 1j, p)
    with pytest.raises(TypeError, match="fun must be callable"):
        solve_batch(None, x0, p)


def test_fun_returning_the_wrong_length():
    with pytest.raises(ValueError, match="fun must return 2 values"):
        solve_batch(lambda x, p: np.array([x[0]]), np.zeros((2, 2)), np.zeros((2, 1)))


def test_fun_not_complex_safe_needs_another_jac():
    def f(x, p):
        return np.abs(x) - p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerformanceWarning)
        with pytest.raises(TypeError, match="not complex-safe.*jac='auto'.*jac='central'"):
            solve_batch(f, np.ones((2, 1)), np.ones((2, 1)), jac="complex")
        res = solve_batch(f, np.full((1, 1), 3.0), np.ones((1, 1)), jac="central")
        auto = solve_batch(f, np.full((1, 1), 3.0), np.ones((1, 1)))  # the default falls back
    assert res.success[0] and abs(res.x[0, 0] - 1.0) <= 1e-10
    assert res.jac_method == "central" and auto.jac_method == "central"
    assert auto.success[0] and abs(auto.x[0, 0] - 1.0) <= 1e-10


def test_public_names():
    assert jacsolve.solve_batch is solve_batch
    assert jacsolve.BatchResult.__name__ == "BatchResult"


def test_params_with_too_few_columns_is_an_error_not_garbage():
    # numba does not check bounds: p[1] of a one-column row would read the next row
    @jacsolve.jit
    def two_params(x, p):
        out = np.empty(1, dtype=x.dtype)
        out[0] = x[0] * x[0] - p[0] * p[1]
        return out

    with pytest.raises(IndexError, match=r"past the end of a row of params \(1 entries\)"):
        solve_batch(two_params, [1.0], np.array([[4.0], [9.0]]))
    res = solve_batch(two_params, [1.0], np.array([[4.0, 1.0], [9.0, 1.0]]))
    assert res.success.all() and np.allclose(res.x[:, 0], [2.0, 3.0], rtol=1e-12)


def test_one_system_with_a_shared_start():
    # a (1, n) broadcast of x0 is a read-only view: solve_batch must copy it
    res = solve_batch(circle_line, [1.0, 1.0], np.array([[1.0, 0.6]]))
    assert res.success[0] and np.allclose(res.x[0], [0.8, 0.6], rtol=1e-12)
