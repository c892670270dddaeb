"""The result contract of the nonlinear solvers, and one Newton for dense and sparse systems.

* RootResult and BatchResult carry ``success``, ``status``, ``message`` and
  ``nfev`` (RootResult with SciPy's names x, fun, nit, njev) and are frozen.
* BatchResult.status is a StatusArray: Status items, a repr that names them.
* The sparse path (``sparsity=``) runs the dense Newton loop with sparse
  linear algebra: the same steps, statuses and stall rule on a system solved
  both ways.
* Read-only inputs are copied at the boundary.
"""
import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

import jacsolve
from jacsolve import Status
from jacsolve.nonlinear import BatchResult, RootResult, solve, solve_batch
from jacsolve.nonlinear.dense import NSLOW
from jacsolve.problems import mgh
from jacsolve.problems.batch_systems import circle_line
from jacsolve.status import ResultContract, StatusArray

N = 10
TRIDIAGONAL = sp.diags_array([np.ones(N - 1), np.ones(N), np.ones(N - 1)], offsets=[-1, 0, 1])


@jacsolve.jit(cache=True)
def crawl(x):
    """1 + 1/x_i: no root; Newton's capped steps lower |F| ever more slowly."""
    out = np.empty(x.size, dtype=x.dtype)
    for i in range(x.size):
        out[i] = 1.0 + 1.0 / x[i]
    return out


# ------------------------------------------------------------ result contract
def test_root_result_contract():
    r = solve(mgh.broyden_tridiagonal, np.full(N, -1.0))
    assert isinstance(r, RootResult) and isinstance(r, ResultContract)
    for name in ("x", "fun", "success", "status", "message", "nfev", "njev", "nit"):
        assert hasattr(r, name), name
    assert r.success is True and r.status is Status.SUCCESS
    assert isinstance(r.message, str) and r.message.startswith("converged")
    assert isinstance(r.nfev, int) and r.nfev > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.success = False
    assert set(vars(r)) == {f.name for f in dataclasses.fields(r)}  # nothing cached on it


def test_batch_result_contract():
    params = np.array([[1.0, 0.6], [2.0, 0.0], [1.0, 3.0]])  # the last has no root
    res = solve_batch(circle_line, [1.0, 1.0], params)
    assert isinstance(res, BatchResult) and isinstance(res, ResultContract)
    assert isinstance(res.status, StatusArray)
    assert all(isinstance(s, Status) for s in res.status)
    assert res.status[0] is Status.SUCCESS and res.status[2] is not Status.SUCCESS
    ok = res.status == Status.SUCCESS
    assert ok.dtype == bool and type(ok) is np.ndarray
    np.testing.assert_array_equal(ok, res.success)
    assert "SUCCESS" in repr(res.status) and res.status[2].name in repr(res.status)
    assert res.nfev.shape == (3,) and np.all(res.nfev > 0)
    assert res.message.startswith("2 of 3 systems solved")
    assert "SUCCESS: 2" in res.message and f"{res.status[2].name}: 1" in res.message
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.message = ""


def test_status_array_works_as_an_index_and_with_numpy():
    res = solve_batch(circle_line, [1.0, 1.0], np.array([[1.0, 3.0], [1.0, 0.6], [1.0, 3.0]]))
    failed = res.status[~res.success]
    assert isinstance(failed, StatusArray) and len(failed) == 2
    codes, counts = np.unique(res.status, return_counts=True)
    assert {Status(int(c)): int(k) for c, k in zip(codes, counts)} == res.counts


# -------------------------------------------------- one Newton, dense or sparse
@pytest.mark.parametrize("maxiter", [None, 2])
def test_sparse_and_dense_newton_take_the_same_steps(maxiter):
    x0 = np.full(N, -1.0)
    dense = solve(mgh.broyden_tridiagonal, x0, method="newton", maxiter=maxiter)
    sparse = solve(mgh.broyden_tridiagonal, x0, method="newton", maxiter=maxiter,
                   sparsity=TRIDIAGONAL)
    assert sparse.status == dense.status == (Status.SUCCESS if maxiter is None
                                             else Status.MAXITER)
    assert sparse.nit == dense.nit and sparse.njev == dense.njev
    np.testing.assert_allclose(sparse.history, dense.history, rtol=1e-10)
    np.testing.assert_allclose(sparse.x, dense.x, rtol=1e-12, atol=1e-14)
    assert sparse.method == dense.method == "newton"
    assert sparse.nfev < dense.nfev  # 3 evaluations per Jacobian instead of N


def test_sparse_and_dense_newton_stall_by_the_same_rule():
    """From x = 1000 every step is capped at 1000 |x| and |F|^2 = (1 + 1/x)^2
    falls by far less than 0.1 %: NSLOW such steps in a row end the solve,
    long before |x| > 1e100 (DIVERGED)."""
    x0 = np.full(3, 1e3)
    dense = solve(crawl, x0, method="newton")
    sparse = solve(crawl, x0, method="newton", sparsity=sp.eye_array(3))
    for r in (dense, sparse):
        assert r.status == Status.STALLED and not r.success
        assert r.nit == NSLOW + 1  # the first step still lowers |F|^2 by 0.2 %
        assert np.abs(r.x).max() < 1e100
    np.testing.assert_allclose(sparse.x, dense.x, rtol=1e-12)


def test_sparse_and_dense_agree_on_nonfinite_start():
    x0 = np.zeros(3)  # 1/0 = inf with error_model="numpy"
    dense = solve(crawl, x0, method="newton")
    sparse = solve(crawl, x0, method="newton", sparsity=sp.eye_array(3))
    assert dense.status == sparse.status == Status.NONFINITE
    assert dense.nit == sparse.nit == 0


def test_sparse_path_allocates_no_dense_jacobian(monkeypatch):
    from jacsolve.nonlinear import dense
    calls = []
    monkeypatch.setattr(dense, "linear_storage", lambda n: calls.append(n))
    r = solve(mgh.broyden_tridiagonal, np.full(N, -1.0), sparsity=TRIDIAGONAL)
    assert r.success and calls == []  # the sparse loop binds its own storage


# --------------------------------------------------------- read-only inputs
def test_read_only_inputs_are_copied_at_the_boundary():
    x0 = np.broadcast_to(np.array(-1.0), (N,))
    assert not x0.flags.writeable
    r = solve(mgh.broyden_tridiagonal, x0)
    assert r.success
    frozen = np.full(N, -1.0)
    frozen.setflags(write=False)
    assert solve(mgh.broyden_tridiagonal, frozen).success
    assert solve(mgh.broyden_tridiagonal, frozen, sparsity=TRIDIAGONAL).success

    params = np.array([[1.0, 0.6], [2.0, 0.0]])
    params.setflags(write=False)
    X0 = np.ones((2, 2))
    X0.setflags(write=False)
    a = solve_batch(circle_line, X0, params)
    b = solve_batch(circle_line, np.broadcast_to([1.0, 1.0], (2, 2)),
                    np.broadcast_to([1.0, 0.6], (2, 2)))
    assert a.success.all() and b.success.all()


def test_read_only_array_in_args():
    # args of type (float64 1-D array,): the type solve_batch compiles the solver for
    @jacsolve.jit
    def shifted(x, c):
        return x * x - c
    c = np.array([4.0, 9.0])
    c.setflags(write=False)
    r = solve(shifted, [1.0, 1.0], args=(c,))
    assert r.success
    np.testing.assert_allclose(r.x, [2.0, 3.0], rtol=1e-12)
