"""Small dense linear algebra compiled once and cached.

``np.linalg.solve`` inside njit costs several seconds of compilation; this
hand-written LU with partial pivoting costs well under one. For large
systems call SciPy/LAPACK from Python instead.
"""
from __future__ import annotations

import numpy as np

from ._numba.options import cached_njit

__all__ = ["lu_factor", "lu_solve"]


@cached_njit
def lu_factor(A, LU, piv):
    """LU factorisation with partial pivoting of square A into LU (in place ok).

    Returns the smallest |pivot| divided by the largest (0.0 when singular),
    a cheap indicator of near-singularity.
    """
    n = A.shape[0]
    if LU is not A:
        for i in range(n):  # loops: an array slice assignment costs ~2 s to compile
            for j in range(n):
                LU[i, j] = A[i, j]
    pmin = np.inf
    pmax = 0.0
    for k in range(n):
        p = k
        big = abs(LU[k, k])
        for i in range(k + 1, n):
            v = abs(LU[i, k])
            if v > big:
                big = v
                p = i
        piv[k] = p
        if p != k:
            for j in range(n):
                t = LU[k, j]
                LU[k, j] = LU[p, j]
                LU[p, j] = t
        pmin = min(pmin, big)
        pmax = max(pmax, big)
        if big == 0.0 or not np.isfinite(big):
            continue
        inv = 1.0 / LU[k, k]
        for i in range(k + 1, n):
            LU[i, k] *= inv
            lik = LU[i, k]
            if lik != 0.0:
                for j in range(k + 1, n):
                    LU[i, j] -= lik * LU[k, j]
    if pmax == 0.0 or not np.isfinite(pmax):
        return 0.0
    return pmin / pmax


@cached_njit
def lu_solve(LU, piv, b, out):
    """Solve A x = b from ``lu_factor``'s output into ``out``."""
    n = LU.shape[0]
    for i in range(n):
        out[i] = b[i]
    for k in range(n):
        p = piv[k]
        if p != k:
            t = out[k]
            out[k] = out[p]
            out[p] = t
    for i in range(n):
        s = out[i]
        for j in range(i):
            s -= LU[i, j] * out[j]
        out[i] = s
    for i in range(n - 1, -1, -1):
        s = out[i]
        for j in range(i + 1, n):
            s -= LU[i, j] * out[j]
        out[i] = s / LU[i, i]
