"""The 2-D Bratu problem: -Laplace(u) - lambda exp(u) = 0 on the unit square, u = 0 on the edge.

Discretised with the 5-point stencil on an m x m grid of interior points
(h = 1/(m+1)), unknown u[i*m + j] at (x, y) = ((j+1)h, (i+1)h):

    F_ij = (4 u_ij - u_{i-1,j} - u_{i+1,j} - u_{i,j-1} - u_{i,j+1}) / h^2 - lambda exp(u_ij).

For lambda = 6 (below the turning point 6.808) Newton from u = 0 reaches the
lower solution branch (max u about 1.4). The residual is complex-safe.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._numba.options import jit

__all__ = ["bratu", "bratu_sparsity", "bratu_start", "LAMBDA"]

LAMBDA = 6.0


@jit(cache=True)
def bratu(u, m, lam):
    h2 = 1.0 / ((m + 1.0) * (m + 1.0))
    out = np.empty(m * m, dtype=u.dtype)
    for i in range(m):
        for j in range(m):
            k = i * m + j
            s = 4.0 * u[k]
            if i > 0:
                s -= u[k - m]
            if i < m - 1:
                s -= u[k + m]
            if j > 0:
                s -= u[k - 1]
            if j < m - 1:
                s -= u[k + 1]
            out[k] = s / h2 - lam * np.exp(u[k])
    return out


def bratu_sparsity(m: int) -> sp.csr_array:
    """The 5-point pattern of the Jacobian, (m*m, m*m)."""
    n = m * m
    k = np.arange(n)
    j = k % m
    rows = [k, k[j > 0], k[j < m - 1], k[k >= m], k[k < n - m]]
    cols = [k, k[j > 0] - 1, k[j < m - 1] + 1, k[k >= m] - m, k[k < n - m] + m]
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    return sp.csr_array((np.ones(r.size, dtype=bool), (r, c)), shape=(n, n))


def bratu_start(m: int) -> np.ndarray:
    return np.zeros(m * m)
