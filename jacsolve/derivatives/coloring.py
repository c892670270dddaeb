"""Column grouping for sparse Jacobians (Curtis, Powell and Reid, 1974).

Columns that share no row can be perturbed together, so a Jacobian with a
banded or otherwise sparse pattern costs one evaluation per *group* instead of
one per column. Greedy grouping depends on the order in which columns are
visited; :func:`group_columns` tries several orders and keeps the best
(natural order is optimal on banded patterns: 3 groups for tridiagonal).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._numba.options import cached_njit

__all__ = ["ColumnGroups", "group_columns"]


@cached_njit
def greedy_groups(n, row_ptr, row_cols, col_ptr, col_rows, order):
    """Smallest-available-group greedy colouring of the column intersection graph."""
    group = np.full(n, -1, dtype=np.int64)
    seen_by = np.full(n + 1, -1, dtype=np.int64)  # seen_by[g] == j: g is taken for j
    ngroups = 0
    for j in order:
        for p in range(col_ptr[j], col_ptr[j + 1]):
            i = col_rows[p]
            for q in range(row_ptr[i], row_ptr[i + 1]):
                g = group[row_cols[q]]
                if g >= 0:
                    seen_by[g] = j
        g = 0
        while seen_by[g] == j:
            g += 1
        group[j] = g
        ngroups = max(ngroups, g + 1)
    return group, ngroups


@cached_njit
def bucket_by_group(keys, ngroups):
    """Stable counting sort: positions of ``keys`` grouped by key, and pointers."""
    ptr = np.zeros(ngroups + 1, dtype=np.int64)
    for k in keys:
        ptr[k + 1] += 1
    for g in range(ngroups):
        ptr[g + 1] += ptr[g]
    fill = ptr[:-1].copy()
    out = np.empty(keys.size, dtype=np.int64)
    for p in range(keys.size):
        out[fill[keys[p]]] = p
        fill[keys[p]] += 1
    return out, ptr


@dataclass(frozen=True, eq=False)
class ColumnGroups:
    """A sparsity pattern with its column grouping, ready for the sparse kernels.

    Build it once with :func:`group_columns` and pass it as ``sparsity=`` to
    reuse it across calls (the solvers do).

    Attributes
    ----------
    shape : tuple
        (m, n) of the Jacobian.
    indptr, indices : ndarray
        The pattern in CSR form (sorted indices).
    group : ndarray
        Group of each column; ``ngroups`` groups in all.
    """
    shape: tuple
    indptr: np.ndarray
    indices: np.ndarray
    group: np.ndarray
    ngroups: int
    cols: np.ndarray
    cptr: np.ndarray
    nz: np.ndarray
    gptr: np.ndarray
    row_of: np.ndarray
    col_of: np.ndarray

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    def __repr__(self) -> str:
        m, n = self.shape
        return f"ColumnGroups(shape=({m}, {n}), nnz={self.nnz}, ngroups={self.ngroups})"


def group_columns(sparsity, shape=None, *, seed=0) -> ColumnGroups:
    """Group the columns of a sparsity pattern so that no two in a group share a row.

    Parameters
    ----------
    sparsity : array_like of bool, scipy sparse matrix/array, ColumnGroups, or tuple
        Nonzero entries mark where the Jacobian may be nonzero. SciPy's form
        ``(pattern, groups)`` gives the group of each column as well: they
        are used as given, after a check that no two columns of a group
        share a row.
    shape : tuple, optional
        Expected (m, n); a pattern of another shape raises ``ValueError``.
    seed : int, optional
        Seed of the one random order tried besides the deterministic ones.

    Returns
    -------
    ColumnGroups

    Examples
    --------
    >>> import numpy as np
    >>> from jacsolve.derivatives.coloring import group_columns
    >>> n = 1000
    >>> pattern = np.eye(n, dtype=bool) | np.eye(n, k=1, dtype=bool) | np.eye(n, k=-1, dtype=bool)
    >>> group_columns(pattern).ngroups
    3
    """
    if isinstance(sparsity, ColumnGroups):
        if shape is not None and tuple(sparsity.shape) != tuple(shape):
            raise ValueError(f"sparsity has shape {sparsity.shape}, expected {tuple(shape)}")
        return sparsity
    given = None
    if isinstance(sparsity, tuple):
        if len(sparsity) != 2:
            raise ValueError("sparsity given as a tuple must be (pattern, groups), as in "
                             f"SciPy's approx_derivative; got a tuple of {len(sparsity)}")
        sparsity, given = sparsity
    import scipy.sparse as sp  # here: importing it costs ~0.1 s, dense work needs none of it

    if sp.issparse(sparsity):
        pattern = sp.csr_array(sparsity, dtype=bool)
    else:
        dense = np.asarray(sparsity)
        if dense.ndim != 2:
            raise ValueError(f"sparsity must be a 2-D pattern, got {dense.ndim} dimension(s)")
        pattern = sp.csr_array(dense != 0)
    if shape is not None and tuple(pattern.shape) != tuple(shape):
        raise ValueError(f"sparsity has shape {pattern.shape}, expected {tuple(shape)} "
                         "(outputs x inputs)")
    pattern.eliminate_zeros()
    pattern.sum_duplicates()
    pattern.sort_indices()
    m, n = pattern.shape
    row_ptr = pattern.indptr.astype(np.int64)
    row_cols = pattern.indices.astype(np.int64)
    csc = pattern.tocsc()
    csc.sort_indices()
    col_ptr = csc.indptr.astype(np.int64)
    col_rows = csc.indices.astype(np.int64)

    if given is not None:
        group, ngroups = _given_groups(given, n, row_ptr, row_cols)
    else:
        group, ngroups = _greedy(n, row_ptr, row_cols, col_ptr, col_rows, seed)
    cols, cptr = bucket_by_group(group, ngroups)
    row_of = np.repeat(np.arange(m, dtype=np.int64), np.diff(row_ptr))
    col_of = row_cols
    nz, gptr = bucket_by_group(group[col_of], ngroups)
    return ColumnGroups((m, n), row_ptr, row_cols, group, ngroups, cols, cptr,
                        nz, gptr, row_of, col_of)


def _given_groups(groups, n, row_ptr, row_cols):
    """The caller's column groups (SciPy's form), checked and numbered 0, 1, ..."""
    g = np.asarray(groups)
    if g.shape != (n,) or not (np.issubdtype(g.dtype, np.integer) or g.size == 0):
        raise ValueError(f"sparsity groups must be integers, one per column: shape ({n},), "
                         f"got {g.dtype} of shape {g.shape}")
    labels, group = np.unique(g, return_inverse=True)
    group = group.astype(np.int64)
    ngroups = max(int(labels.size), 1) if n else 0
    rows = np.repeat(np.arange(row_ptr.size - 1, dtype=np.int64), np.diff(row_ptr))
    keys = rows * max(ngroups, 1) + group[row_cols]
    if np.unique(keys).size != keys.size:
        k = keys[np.flatnonzero(np.diff(np.sort(keys)) == 0)[0]]
        row, grp = divmod(int(k), max(ngroups, 1))
        raise ValueError(f"sparsity groups: columns of group {labels[grp]} share row {row}; "
                         "columns perturbed together must not share a row")
    return group, ngroups


def _greedy(n, row_ptr, row_cols, col_ptr, col_rows, seed):
    """The fewest groups found by greedy colouring over a few column orders."""
    degree = np.diff(col_ptr)
    orders = [
        np.arange(n, dtype=np.int64),
        np.arange(n - 1, -1, -1, dtype=np.int64),
        np.argsort(-degree, kind="stable").astype(np.int64),
        np.random.default_rng(seed).permutation(n).astype(np.int64),
        # SciPy's order (approx_derivative's group_columns): never worse than SciPy
        np.random.RandomState(0).permutation(n).astype(np.int64),
    ]
    best = None
    for order in orders:
        group, ngroups = greedy_groups(n, row_ptr, row_cols, col_ptr, col_rows, order)
        if best is None or ngroups < best[1]:
            best = (group, ngroups)
    group, ngroups = best
    return group, (max(int(ngroups), 1) if n else 0)


def __getattr__(name):
    """``sp``: scipy.sparse, imported on first use (it costs ~0.1 s at import)."""
    if name == "sp":
        import scipy.sparse
        return scipy.sparse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
