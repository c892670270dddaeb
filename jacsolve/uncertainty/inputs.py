"""The input uncertainty of a measurement model: checks of u, cov, corr and dof.

:func:`input_uncertainty` turns what the caller gave (a covariance matrix, or
standard uncertainties with an optional correlation matrix) into checked
standard uncertainties ``u`` and a covariance ``V`` (None for independent
inputs). The matrix checks run in one compiled pass (about a microsecond)
and return codes that Python turns into messages naming the argument and
the offending entry.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .._arguments import as_vector, per_variable
from .._numba.options import cached_njit

__all__ = ["input_uncertainty", "as_covariance", "as_correlation", "as_dof", "as_names",
           "first_bad_u", "raise_bad_u", "PSD_TOL", "SYM_TOL"]

PSD_TOL = 1e-10          # smallest eigenvalue allowed for a correlation matrix
SYM_TOL = 1e-12          # relative asymmetry allowed in cov / corr
_EMPTY = np.empty(0)

# Codes of the compiled checks; Python turns them into messages naming the argument.
_OK, _NONFINITE, _NEG_DIAG, _ZERO_ROW, _ASYM, _RANGE, _DIAG, _NOT_PSD = range(8)


@cached_njit
def _cholesky_fails(r, tol):
    """True if r + tol I has a non-positive pivot, i.e. r has an eigenvalue below -tol."""
    n = r.shape[0]
    c = np.zeros((n, n))
    for j in range(n):
        s = r[j, j] + tol
        for k in range(j):
            s -= c[j, k] * c[j, k]
        if not s > 0.0:
            return True
        c[j, j] = np.sqrt(s)
        for i in range(j + 1, n):
            t = r[i, j]
            for k in range(j):
                t -= c[i, k] * c[j, k]
            c[i, j] = t / c[j, j]
    return False


@cached_njit
def _check_matrix(a, s, is_corr, sym_tol, psd_tol):
    """Check a covariance (is_corr False) or a correlation matrix in one pass.

    ``s`` are the standard uncertainties that go with a correlation matrix
    (unused for a covariance). Returns (code, i, j, u, V, independent): u the
    standard uncertainties, V the symmetrised covariance, independent whether
    V is diagonal. One compiled call, so checking costs about a microsecond.
    """
    n = a.shape[0]
    u = s.copy() if is_corr else np.empty(n)
    V = np.zeros((n, n))
    scale = 0.0
    for i in range(n):
        for j in range(n):
            if not np.isfinite(a[i, j]):
                return _NONFINITE, i, j, u, V, False
            scale = max(scale, abs(a[i, j]))
    for i in range(n):
        for j in range(i + 1, n):
            if abs(a[i, j] - a[j, i]) > sym_tol * scale:
                return _ASYM, i, j, u, V, False
    for i in range(n):
        d = a[i, i]
        if is_corr:
            if abs(d - 1.0) > sym_tol:
                return _DIAG, i, i, u, V, False
            V[i, i] = u[i] * u[i]
        elif d < 0.0:
            return _NEG_DIAG, i, i, u, V, False
        else:
            u[i] = np.sqrt(d)
            V[i, i] = d
    r = np.zeros((n, n))
    independent = True
    for i in range(n):
        r[i, i] = 1.0
        for j in range(i + 1, n):
            v = 0.5 * (a[i, j] + a[j, i])
            if is_corr:
                c = v
            elif u[i] == 0.0 or u[j] == 0.0:
                if v != 0.0:
                    return _ZERO_ROW, i if u[i] == 0.0 else j, j if u[i] == 0.0 else i, u, V, False
                c = 0.0
            else:
                c = v / (u[i] * u[j])
            if abs(c) > 1.0 + (0.0 if is_corr else 1e-12):
                return _RANGE, i, j, u, V, False
            c = min(1.0, max(-1.0, c))
            r[i, j] = c
            r[j, i] = c
            # a covariance keeps its own (symmetrised) entries unless clipped
            w = v if not is_corr and abs(v) <= u[i] * u[j] else c * u[i] * u[j]
            V[i, j] = w
            V[j, i] = w
            independent = independent and c == 0.0
    if _cholesky_fails(r, psd_tol):
        return _NOT_PSD, 0, 0, u, V, False
    return _OK, 0, 0, u, V, independent


def _correlation(V, u):
    """R = V / (u u^T): unit diagonal, zero rows and columns where u = 0."""
    uu = np.outer(u, u)
    R = np.zeros_like(V)
    np.divide(V, uu, out=R, where=uu > 0)
    np.fill_diagonal(R, 1.0)
    return R


def _matrix(a, n: int, name: str, is_corr: bool, s=None):
    """Checked (u, V, independent) from a covariance, or from a correlation and s."""
    if not (type(a) is np.ndarray and a.dtype.char == "d"):
        try:
            a = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a real ({n}, {n}) matrix: {exc}") from None
    if a.shape != (n, n):
        hint = " (give standard uncertainties as u=...)" if a.ndim == 1 and not is_corr else ""
        raise ValueError(f"{name} must have shape ({n}, {n}) for {n} inputs, got "
                         f"{a.shape}{hint}")
    code, i, j, u, V, independent = _check_matrix(
        a if a.flags.c_contiguous else np.ascontiguousarray(a), _EMPTY if s is None else s,
        is_corr, SYM_TOL, PSD_TOL)
    if code == _OK:
        return u, V, independent
    if code == _NONFINITE:
        raise ValueError(f"{name} must be finite; {name}[{i}, {j}] = {a[i, j]}")
    if code == _ASYM:
        raise ValueError(f"{name} must be symmetric: {name}[{i}, {j}] = {a[i, j]!r} but "
                         f"{name}[{j}, {i}] = {a[j, i]!r}")
    if code == _DIAG:
        raise ValueError(f"{name} must have a unit diagonal; {name}[{i}, {i}] = {a[i, i]}")
    if code == _NEG_DIAG:
        raise ValueError(f"{name} diagonal entries are variances and must be >= 0; "
                         f"{name}[{i}, {i}] = {a[i, i]}")
    if code == _ZERO_ROW:
        raise ValueError(f"{name} must be positive semi-definite: {name}[{i}, {i}] = 0 but "
                         f"{name}[{i}, {j}] = {a[i, j]}")
    if code == _RANGE:
        if is_corr:
            raise ValueError(f"{name} entries must lie in [-1, 1]; {name}[{i}, {j}] = {a[i, j]}")
        raise ValueError(f"{name} must be positive semi-definite: |{name}[{i}, {j}]| = "
                         f"{abs(a[i, j]):.6g} exceeds sqrt({name}[{i}, {i}] * {name}[{j}, {j}])"
                         f" = {u[i] * u[j]:.6g}")
    lam = np.linalg.eigvalsh(_correlation(V, u))[0]
    raise ValueError(f"{name} must be positive semi-definite: the smallest eigenvalue of "
                     f"{'it' if is_corr else 'its correlation matrix'} is {lam:.3g} (allowed "
                     f"down to -{PSD_TOL:g}); check for inconsistent correlations")


def as_correlation(corr, n: int, name: str = "corr") -> np.ndarray:
    """Check a correlation matrix: shape (n, n), finite, symmetric, entries in
    [-1, 1], unit diagonal, positive semi-definite (eigenvalues >= -1e-10).
    Returns it symmetrised, as a float array."""
    return _matrix(corr, n, name, True, np.ones(n))[1]


def as_covariance(cov, n: int, name: str = "cov") -> tuple:
    """Check a covariance matrix: shape (n, n), finite, symmetric, positive
    semi-definite (its correlation matrix has eigenvalues >= -1e-10). Returns
    ``(V, u, R)``: V symmetrised, ``u = sqrt(diag V)`` and the correlation
    matrix ``R`` (unit diagonal; zero rows and columns where u = 0)."""
    u, V, _ = _matrix(cov, n, name, False)
    return V, u, _correlation(V, u)


def as_dof(dof, n: int) -> Optional[np.ndarray]:
    """Input degrees of freedom (> 0, inf allowed), or None when all are infinite."""
    if dof is None:
        return None
    d = per_variable(dof, n, "dof", error=TypeError)
    if np.any(np.isnan(d)) or np.any(d <= 0):
        i = int(np.flatnonzero(np.isnan(d) | (d <= 0))[0])
        raise ValueError(f"dof must be > 0 (inf for exactly known variances); dof[{i}] = {d[i]}")
    return None if np.all(np.isinf(d)) else d


@cached_njit
def first_bad_u(u):
    """Index of the first u that is negative or not finite, else -1."""
    for i in range(u.size):
        if not (u[i] >= 0.0 and u[i] < np.inf):
            return i
    return -1


def raise_bad_u(u):
    """The ValueError for the first negative or non-finite u."""
    i = first_bad_u(u)
    raise ValueError(f"u must be finite and >= 0; u[{i}] = {u[i]}")


def input_uncertainty(n: int, cov, u, corr):
    """Validated ``(u, V)``: V is None for independent inputs (``diag(u**2)``)."""
    if cov is not None:
        if u is not None or corr is not None:
            raise ValueError("give the input uncertainty either as cov or as u (with "
                             "optional corr), not both")
        uu, V, independent = _matrix(cov, n, "cov", False)
        return uu, (None if independent else V)
    if u is None:
        if corr is not None:
            raise ValueError("corr needs the standard uncertainties u")
        raise ValueError("give the input uncertainty as cov (a covariance matrix) or as u "
                         "(standard uncertainties, with optional corr)")
    uu = u if (type(u) is np.ndarray and u.ndim == 1 and u.dtype.char == "d"
               and u.flags.c_contiguous) else as_vector(u, "u", finite=False)
    if uu.size != n:
        raise ValueError(f"u must have one entry per input, {n}, got {uu.size}")
    if first_bad_u(uu) >= 0:
        raise_bad_u(uu)
    if corr is None:
        return uu, None
    _, V, independent = _matrix(corr, n, "corr", True, uu)
    return uu, (None if independent else V)


def as_names(names, n: int, what: str) -> Optional[tuple]:
    """Labels as a tuple of n strings (None stays None)."""
    if names is None:
        return None
    names = tuple(str(s) for s in names)
    if len(names) != n:
        raise ValueError(f"{what} must have {n} entries, got {len(names)}")
    return names
