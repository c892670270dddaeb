"""Column grouping (Curtis-Powell-Reid) and property tests of the difference kernels."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings, strategies as st
from scipy.optimize._numdiff import group_columns as scipy_group_columns

import jacsolve
from jacsolve.derivatives.coloring import group_columns


def banded(n, half_width):
    return sum(np.eye(n, k=k, dtype=bool) for k in range(-half_width, half_width + 1))


def assert_valid(groups, pattern):
    """No two columns of a group share a row."""
    P = sp.csc_array(pattern)
    for g in range(groups.ngroups):
        cols = np.flatnonzero(groups.group == g)
        rows = np.concatenate([P.indices[P.indptr[j]:P.indptr[j + 1]] for j in cols])
        assert rows.size == np.unique(rows).size


@pytest.mark.parametrize("half_width", [1, 2, 3])
def test_banded_patterns_reach_the_optimum(half_width):
    n = 1000
    pattern = banded(n, half_width)
    groups = group_columns(pattern)
    assert groups.ngroups == 2 * half_width + 1  # lower bound: a row holds that many columns
    assert_valid(groups, pattern)
    assert groups.ngroups <= scipy_group_columns(pattern).max() + 1


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 30), n=st.integers(1, 30), density=st.floats(0.0, 0.5),
       seed=st.integers(0, 2**16))
@example(m=12, n=16, density=0.28125, seed=371)   # needs SciPy's own column order
def test_random_patterns_are_valid_and_no_worse_than_scipy(m, n, density, seed):
    pattern = np.random.default_rng(seed).random((m, n)) < density
    groups = group_columns(pattern)
    assert_valid(groups, pattern)
    lower_bound = max(1, int(pattern.sum(axis=1).max(initial=0)))
    assert lower_bound <= groups.ngroups <= scipy_group_columns(pattern).max() + 1
    # the CSR positions of each group cover every nonzero exactly once
    assert np.array_equal(np.sort(groups.nz), np.arange(groups.nnz))


def test_accepts_sparse_input_and_reuse():
    pattern = sp.csr_array(banded(50, 1))
    groups = group_columns(pattern)
    assert group_columns(groups, shape=(50, 50)) is groups
    assert "ngroups=3" in repr(groups)


@jacsolve.jit
def _affine(x, A, b):
    out = np.empty(A.shape[0], dtype=x.dtype)
    for i in range(A.shape[0]):
        s = b[i] + 0.0 * x[0]
        for j in range(A.shape[1]):
            s += A[i, j] * x[j]
        out[i] = s
    return out


@settings(max_examples=20, deadline=None)
@given(m=st.integers(1, 6), n=st.integers(1, 6), seed=st.integers(0, 2**16),
       scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_affine_functions_are_differentiated_exactly(m, n, seed, scale):
    """For f = A x + b every method is exact up to rounding: error ~ eps |f| / h."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n))
    b = rng.normal(size=m)
    x = rng.normal(size=n) * scale
    fmax = np.abs(A).sum(axis=1).max() * max(1.0, np.abs(x).max()) + np.abs(b).max()
    eps = np.finfo(float).eps
    for method, rel in [("forward", eps ** 0.5), ("central", eps ** (1 / 3)), ("complex", None)]:
        J = jacsolve.jacobian(_affine, x, args=(A, b), method=method)
        J = J.reshape(m, n)
        bound = 4 * eps * fmax / (rel * max(1.0, np.abs(x).min())) if rel else 4 * eps * np.abs(A).max()
        assert np.abs(J - A).max() <= bound
