"""Propagation of uncertainty by the law of propagation (GUM, JCGM 100 and 102).

For a model ``y = f(x)`` with input estimates ``x`` and input covariance
``V_x``, the first-order (linear) law gives ``V_y = J V_x J^T`` with ``J`` the
Jacobian of ``f`` at ``x`` (complex step by default: exact to rounding). The
second-order method adds the terms of the note to GUM 5.1.2, generalised to
correlated inputs and several outputs, and reports the second-order bias of
the mean. Every result carries an uncertainty budget, Welch--Satterthwaite
effective degrees of freedom and coverage factors.

Second-order terms are computed in whitened coordinates ``x = x0 + L z`` with
``L L^T = V_x`` (``z`` standard normal): ``L`` is built from the correlation
matrix, so each step is a fraction of the inputs' uncertainties (never of
``|x|``, which fails for estimates at 0), and inputs with zero uncertainty
cost nothing. Complex-step Jacobians at ``x +- h L_r`` give, per output, the
whitened Hessian ``L^T H L`` (first differences) and the gradient of
``tr(H V_x)`` (second differences): the Hessian and third-derivative terms
together for all outputs, at ``2 r n`` evaluations for ``r`` uncertain
directions.

Speed: a propagation is one compiled call, which evaluates f(x), the
Jacobians at x (and at the second-order points) and ``J V_x J^T``; a model
compiles one such kernel per Jacobian method, shared by both methods. Input
checks are compiled helpers, cached on disk.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Optional, Sequence

import numpy as np

from .._numba.options import cached_njit, kernel_njit, record_for, specialise, warn_if_python
from .._arguments import as_args, as_vector
from .._numba.calls import call_kernel, evaluate_once
from ..status import FunctionError
from ..status import BAD_F0, BAD_U, BAD_X
from ..derivatives.kernels import (BAD_OUTPUT_SIZE, NONFINITE, NOT_COMPLEX_SAFE, OK, all_finite, as_1d,
                      jacobian_central_t, jacobian_complex_into)

__all__ = ["propagate", "Propagation", "Budget", "BudgetEntry", "NonlinearityWarning",
           "as_covariance", "as_correlation", "coverage_factor"]

EPS = np.finfo(np.float64).eps
CBRT_EPS = EPS ** (1 / 3)
COMPLEX_STEP = 1e-20
CENTRAL_STEP = 1e-3      # central-difference step, in units of each input's u
SECOND_ORDER_STEP = {"complex": 1e-2, "central": 1e-1}  # along whitened directions
PSD_TOL = 1e-10          # smallest eigenvalue allowed for a correlation matrix
SYM_TOL = 1e-12          # relative asymmetry allowed in cov / corr
NEAR_ZERO = 1e-11        # first-order u(y) this small relative to the scale: check nonlinearity
_JAC = {"complex": "complex", "cs": "complex", "central": "central", "3-point": "central"}


class NonlinearityWarning(RuntimeWarning):
    """The first-order u(y) misses most of the second-order variance."""


# ------------------------------------------------------------ input checks
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


def _as_dof(dof, n: int) -> Optional[np.ndarray]:
    """Input degrees of freedom (> 0, inf allowed), or None when all are infinite."""
    if dof is None:
        return None
    try:
        d = np.asarray(dof, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"dof must be a positive number or a sequence of {n}, "
                        f"got {type(dof).__name__}") from None
    if d.ndim == 0:
        d = np.full(n, float(d))
    if d.shape != (n,):
        raise ValueError(f"dof must be a scalar or have shape ({n},), got {d.shape}")
    if np.any(np.isnan(d)) or np.any(d <= 0):
        i = int(np.flatnonzero(np.isnan(d) | (d <= 0))[0])
        raise ValueError(f"dof must be > 0 (inf for exactly known variances); dof[{i}] = {d[i]}")
    return None if np.all(np.isinf(d)) else d


@cached_njit
def _first_bad_u(u):
    """Index of the first u that is negative or not finite, else -1."""
    for i in range(u.size):
        if not (u[i] >= 0.0 and u[i] < np.inf):
            return i
    return -1


def _raise_bad_u(u):
    i = _first_bad_u(u)
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
    if _first_bad_u(uu) >= 0:
        _raise_bad_u(uu)
    if corr is None:
        return uu, None
    _, V, independent = _matrix(corr, n, "corr", True, uu)
    return uu, (None if independent else V)


# ------------------------------------------------------------------ kernels
# One kernel per Jacobian method serves the linear method (no extra points)
# and the second-order one (the points x +- h L_r): a model compiles one kernel
# whatever the method. Everything that does not call the model lives in cached
# helpers, and the kernel is inlined into its one caller (the specialised
# closure), like jacsolve.jacobian's drivers, so its code is optimised once.
#
# The kernels return everything in one (2 + m + n (1 + k), m) array, so that
# a call from Python boxes one array: row 0 is f(x), row 1 u(y), rows 2 .. m + 1
# V_y, then n rows per point hold the transposed Jacobian Jt (n, m) at x and
# at each row of P.
@cached_njit
def _sandwich(Jt, u, V, Vy):
    """Vy = J V J^T from Jt (n, m); V is diag(u**2) when V is empty."""
    n, m = Jt.shape
    Vy[:, :] = 0.0
    if V.shape[0] == 0:
        for j in range(n):
            w = u[j] * u[j]
            if w == 0.0:
                continue
            for a in range(m):
                ca = Jt[j, a] * w
                for b in range(m):
                    Vy[a, b] += ca * Jt[j, b]
        return
    for j in range(n):
        for k in range(n):
            v = V[j, k]
            if v != 0.0:
                for a in range(m):
                    ca = Jt[j, a] * v
                    for b in range(m):
                        Vy[a, b] += ca * Jt[k, b]


@cached_njit
def _finish(out, n, u, V):
    """V_y and u(y) into out; whether some u(y) is (near) zero relative to its scale."""
    m = out.shape[1]
    Jt = out[2 + m:2 + m + n]
    _sandwich(Jt, u, V, out[2:2 + m])
    small = False
    for a in range(m):
        s = 0.0
        for j in range(n):
            s += abs(Jt[j, a]) * u[j]
        v = out[2 + a, a]
        out[1, a] = 0.0 if v < 0.0 else np.sqrt(v)  # NaN stays NaN
        if out[1, a] <= NEAR_ZERO * max(abs(out[0, a]), s):
            small = True
    return small


@cached_njit
def _steps(x, P, u, complex_step):
    """Steps for x and every row of P.

    Complex: 1e-20 max(|x|, |P| over its rows, u or 1). Central: 1e-3 u
    (u = 0: eps^(1/3) max(|x|, 1)).
    """
    h = np.empty(x.size)
    for j in range(x.size):
        if complex_step:
            big = max(abs(x[j]), u[j] if u[j] > 0 else 1.0)
            for s in range(P.shape[0]):
                big = max(big, abs(P[s, j]))
            h[j] = COMPLEX_STEP * big
        elif u[j] > 0:
            h[j] = CENTRAL_STEP * u[j]
        else:
            h[j] = CBRT_EPS * max(abs(x[j]), 1.0)
    return h


@cached_njit
def _start(y, n, k):
    """The output array for n inputs and k extra points, f(x) = y in row 0; status."""
    m = y.size
    out = np.empty((2 + m + n * (1 + k), m))
    for i in range(m):
        out[0, i] = y[i]
    return out, (OK if all_finite(out[0]) else BAD_F0)


@cached_njit
def _check_point(out, s, n, status):
    """The status of the Jacobian at point s (NONFINITE: inf/NaN entries at x)."""
    if status != OK or s > 0:
        return status
    m = out.shape[1]
    for j in range(2 + m, 2 + m + n):
        for i in range(m):
            if not np.isfinite(out[j, i]):
                return NONFINITE
    return OK


@cached_njit
def _copy_rows(out, r0, Jt, status):
    """Jt into out[r0:]; BAD_OUTPUT_SIZE if fun's output length changed."""
    if status != OK and status != NONFINITE:
        return status
    if Jt.shape[1] != out.shape[1]:
        return BAD_OUTPUT_SIZE
    for j in range(Jt.shape[0]):
        for i in range(Jt.shape[1]):
            out[r0 + j, i] = Jt[j, i]
    return status


@kernel_njit(inline=True)
def _begin(fun, x, args, P, u):
    """The output array with f(x) in row 0, and a status: x and u are checked first."""
    if not all_finite(x):
        return np.empty((0, 0)), BAD_X
    if _first_bad_u(u) >= 0:
        return np.empty((0, 0)), BAD_U
    return _start(as_1d(fun(x, *args)), x.size, P.shape[0])


@kernel_njit(inline=True)
def propagation_complex(fun, x, args, P, u, V):
    """f(x), complex-step Jacobians at x and at each row of P, and J V J^T at x.

    Returns (out, status, nfev, small): out as described above; V empty
    means diag(u**2); small: some u(y) is (near) zero. status is the one at
    x, or BAD_OUTPUT_SIZE / NOT_COMPLEX_SAFE from any point.
    """
    out, status = _begin(fun, x, args, P, u)
    if status != OK:
        return out, status, 1, False
    n = x.size
    m = out.shape[1]
    h = _steps(x, P, u, True)
    xc = np.empty(n, np.complex128)
    nfev = 1
    for s in range(P.shape[0] + 1):
        r0 = 2 + m + s * n
        st, nf = jacobian_complex_into(fun, x if s == 0 else P[s - 1], args, h, xc,
                                       out[r0:r0 + n])
        nfev += nf
        st = _check_point(out, s, n, st)
        if st != OK and st != NONFINITE:
            return out, st, nfev, False
        if s == 0:
            status = st
    return out, status, nfev, _finish(out, n, u, V)


@kernel_njit(inline=True)
def propagation_central(fun, x, args, P, u, V):
    """As :func:`propagation_complex`, with central differences of steps 1e-3 u.

    Jacobians with inf/NaN on both sides of a point have NaN rows (status
    NONFINITE at x; look for NaN at the other points).
    """
    out, status = _begin(fun, x, args, P, u)
    if status != OK:
        return out, status, 1, False
    n = x.size
    m = out.shape[1]
    h = _steps(x, P, u, False)
    upper = np.full(n, np.inf)
    lower = -upper
    nfev = 1
    for s in range(P.shape[0] + 1):
        Jt, st, nf = jacobian_central_t(fun, x if s == 0 else P[s - 1], args,
                                        out[0] if s == 0 else np.empty(0), h, lower,
                                        upper)
        nfev += nf
        st = _copy_rows(out, 2 + m + s * n, Jt, st)
        if st != OK and st != NONFINITE:
            return out, st, nfev, False
        if s == 0:
            status = st
    return out, status, nfev, _finish(out, n, u, V)


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class BudgetEntry:
    """One input's line in the budget of one output.

    Attributes
    ----------
    name : str
    estimate : float
        The input estimate x_i.
    std : float
        Its standard uncertainty u(x_i).
    dof : float
        Its degrees of freedom (inf when its variance is known exactly).
    sensitivity : float
        c_i = df/dx_i.
    contribution : float
        |c_i| u(x_i), the first-order uncertainty contribution.
    share : float
        (c_i u(x_i))^2 / u(y)^2.
    """
    name: str
    estimate: float
    std: float
    dof: float
    sensitivity: float
    contribution: float
    share: float


@dataclass(frozen=True)
class Budget:
    """Uncertainty budget: per output, each input's sensitivity, contribution and share.

    For each output the shares, plus ``correlation_share`` (the cross terms
    ``sum_{i != j} c_i c_j V_ij``) and ``second_order_share`` (the second-order
    variance terms, zero for the linear method), add up to 1.

    Attributes
    ----------
    names, output_names : tuple of str
    estimate, std, input_dof : ndarray, shape (n,)
        Input estimates, standard uncertainties, degrees of freedom.
    value, output_std, dof : ndarray, shape (m,)
        Output estimates, u(y), effective degrees of freedom.
    sensitivity, contribution, share : ndarray, shape (m, n)
    correlation_share, second_order_share : ndarray, shape (m,)
    """
    names: tuple
    output_names: tuple
    estimate: np.ndarray
    std: np.ndarray
    input_dof: np.ndarray
    value: np.ndarray
    output_std: np.ndarray
    dof: np.ndarray
    sensitivity: np.ndarray
    contribution: np.ndarray
    share: np.ndarray
    correlation_share: np.ndarray
    second_order_share: np.ndarray

    def entries(self, output: int = 0) -> list:
        """The budget of one output as a list of :class:`BudgetEntry`."""
        i = self._output(output)
        return [BudgetEntry(self.names[j], float(self.estimate[j]), float(self.std[j]),
                            float(self.input_dof[j]), float(self.sensitivity[i, j]),
                            float(self.contribution[i, j]), float(self.share[i, j]))
                for j in range(len(self.names))]

    def _output(self, output) -> int:
        if isinstance(output, str):
            if output not in self.output_names:
                raise ValueError(f"unknown output {output!r}; outputs are {self.output_names}")
            return self.output_names.index(output)
        m = len(self.output_names)
        if not (-m <= int(output) < m):
            raise IndexError(f"output {output} out of range for {m} outputs")
        return int(output) % m

    def table(self, output=None) -> str:
        """The budget as a text table (all outputs when ``output`` is None)."""
        outs = range(len(self.output_names)) if output is None else [self._output(output)]
        return "\n\n".join(self._table(i) for i in outs)

    def _table(self, i: int) -> str:
        def g(v):
            return f"{v:.6g}"
        dof = self.dof[i]
        head = (f"{self.output_names[i]} = {g(self.value[i])}, u = {g(self.output_std[i])}, "
                f"nu_eff = {'inf' if np.isinf(dof) else f'{dof:.3g}'}")
        rows = [("input", "estimate", "u(x_i)", "dof", "c_i", "|c_i| u(x_i)", "share")]
        for e in self.entries(i):
            rows.append((e.name, g(e.estimate), g(e.std),
                         "inf" if np.isinf(e.dof) else f"{e.dof:.3g}",
                         g(e.sensitivity), g(e.contribution), f"{100 * e.share:.2f} %"))
        if self.correlation_share[i] != 0:
            rows.append(("correlations", "", "", "", "", "",
                         f"{100 * self.correlation_share[i]:.2f} %"))
        if self.second_order_share[i] != 0:
            rows.append(("second order", "", "", "", "", "",
                         f"{100 * self.second_order_share[i]:.2f} %"))
        rows.append(("total", "", "", "", "", g(self.output_std[i]), "100.00 %"))
        widths = [max(len(r[c]) for r in rows) for c in range(7)]
        lines = [head] + ["  ".join(r[c].ljust(widths[c]) if c == 0 else r[c].rjust(widths[c])
                                    for c in range(7)) for r in rows]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (f"Budget({len(self.names)} inputs, {len(self.output_names)} outputs; "
                "print it or call .table() for the table)")


def coverage_factor(p: float, dof) -> np.ndarray | float:
    """k = t_p(dof): the two-sided Student t quantile ((1 + p) / 2); normal for dof = inf."""
    if not (isinstance(p, (int, float, np.floating)) and 0 < p < 1):
        raise ValueError(f"p must be a probability strictly between 0 and 1, got {p!r}")
    from scipy import stats  # imported here: it takes about a second to import

    q = 0.5 * (1.0 + float(p))
    d = np.asarray(dof, dtype=float)
    k = np.where(np.isinf(d), stats.norm.ppf(q), stats.t.ppf(q, np.where(np.isinf(d), 1.0, d)))
    return float(k) if k.ndim == 0 else k


def _fmt(a) -> str:
    if np.ndim(a) == 0:
        return f"{float(a):.6g}"
    a = np.asarray(a)
    s = np.array2string(a[:6], precision=6, separator=", ")
    return s if a.size <= 6 else s[:-1] + ", ...]"


@dataclass(frozen=True, repr=False)
class Propagation:
    """Result of :func:`propagate`.

    Scalar models give floats for ``value``, ``std``, ``dof`` (and ``jac``
    of shape (n,)); models returning arrays give arrays. ``cov`` and ``corr``
    are always (m, m).

    Attributes
    ----------
    value : float or ndarray
        The output estimate ``f(x)`` (GUM 4.1.4).
    std : float or ndarray
        Standard uncertainty u(y) of each output.
    cov : ndarray, shape (m, m)
        Output covariance matrix.
    jac : ndarray, shape (n,) or (m, n)
        Sensitivity coefficients c = df/dx.
    dof : float or ndarray
        Welch--Satterthwaite effective degrees of freedom (inf when all
        input variances are known exactly).
    method : str
        ``"linear"`` or ``"second-order"``.
    bias : float, ndarray or None
        Second-order bias of the mean, ``E[f(X)] - f(x) ~ tr(H V_x) / 2``
        (None when not computed).
    std_linear : float or ndarray
        First-order u(y); equal to ``std`` for the linear method.
    nonlinear : bool or ndarray
        True where the first-order variance is smaller than the second-order
        variance terms (the linear method misses most of u(y)^2); a
        :class:`NonlinearityWarning` is issued as well.
    x, u : ndarray, shape (n,)
        Input estimates and standard uncertainties.
    input_dof : ndarray, shape (n,), or None
        Input degrees of freedom (None: all infinite).
    nfev : int
        Evaluations of ``fun`` (complex ones included).
    names, output_names : tuple of str or None
        Labels of the inputs and outputs for the budget.
    input_cov : ndarray, shape (n, n), or None
        Input covariance (None for independent inputs: ``diag(u**2)``).
    """
    value: object
    std: object
    cov: np.ndarray
    jac: np.ndarray
    dof: object
    method: str
    bias: object
    std_linear: object
    nonlinear: object
    x: np.ndarray
    u: np.ndarray
    input_dof: Optional[np.ndarray]
    nfev: int
    names: Optional[tuple] = None
    output_names: Optional[tuple] = None
    input_cov: Optional[np.ndarray] = None

    @property
    def corr(self) -> np.ndarray:
        """Output correlation matrix (NaN rows where u(y) = 0)."""
        s = np.sqrt(np.diag(self.cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = self.cov / np.outer(s, s)
        np.fill_diagonal(r, np.where(s > 0, 1.0, np.nan))
        return r

    def coverage_factor(self, p: float = 0.95):
        """k = t_p(nu_eff) for coverage probability ``p`` (normal when nu_eff is inf)."""
        return coverage_factor(p, self.dof)

    def expanded(self, p: float = 0.95):
        """Expanded uncertainty U = k u(y)."""
        return self.coverage_factor(p) * self.std

    def interval(self, p: float = 0.95):
        """Coverage interval ``(y - U, y + U)`` for coverage probability ``p``."""
        U = self.expanded(p)
        return self.value - U, self.value + U

    @cached_property
    def budget(self) -> Budget:
        """The :class:`Budget` of every output."""
        J = np.atleast_2d(self.jac)
        m, n = J.shape
        var = np.diag(self.cov)
        contrib = np.abs(J) * self.u
        var1 = np.atleast_1d(self.std_linear) ** 2
        cross = np.zeros(m) if self.input_cov is None else var1 - (contrib ** 2).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = contrib ** 2 / var[:, None]
            corr_share = cross / var
            second_share = ((var - var1) / var if self.method == "second-order"
                            else np.zeros(m))
        dof = np.full(n, np.inf) if self.input_dof is None else self.input_dof
        names = self.names or tuple(f"x[{j}]" for j in range(n))
        outs = self.output_names or (("y",) if m == 1 else tuple(f"y[{i}]" for i in range(m)))
        return Budget(tuple(names), tuple(outs), self.x, self.u, dof,
                      np.atleast_1d(self.value), np.atleast_1d(self.std),
                      np.atleast_1d(self.dof), J, contrib, share, corr_share, second_share)

    def __repr__(self) -> str:
        extra = "" if self.bias is None else f", bias={_fmt(self.bias)}"
        return (f"Propagation(value={_fmt(self.value)}, std={_fmt(self.std)}, "
                f"dof={_fmt(self.dof)}, method={self.method!r}{extra}, nfev={self.nfev})")


_LINEAR = dict.fromkeys(Propagation.__dataclass_fields__)
_LINEAR["method"] = "linear"


def _new() -> Propagation:
    """A linear-method Propagation whose fields the fast path fills into its __dict__:
    the frozen-dataclass __init__'s 16 guarded setattrs would cost a fifth of a small
    propagation. The __dict__ starts as a copy of a template."""
    obj = object.__new__(Propagation)
    obj.__dict__.update(_LINEAR)
    return obj


# ------------------------------------------------------------------ driver
def _check_status(status: int) -> None:
    if status == BAD_X:
        raise ValueError("x must be finite")
    if status == BAD_F0:
        raise ValueError("fun(x) is not finite at the input estimates x")
    if status == BAD_OUTPUT_SIZE:
        raise FunctionError("fun returned arrays of different lengths at different x; "
                            "its output length must not depend on x")
    if status == NOT_COMPLEX_SAFE:
        raise TypeError("fun is not complex-safe: it returned real values for complex input, "
                        "so jac='complex' cannot differentiate it. Use jac='central', or write "
                        "fun with complex-safe operations (no abs, min/max, comparisons or "
                        "branches on x).")
    if status == NONFINITE:
        warnings.warn("some sensitivity coefficients are not finite (fun is not "
                      "differentiable at x?); u(y) is NaN or inf", RuntimeWarning, stacklevel=3)


def _reraise(exc):
    raise exc


def _names(names, n: int, what: str):
    if names is None:
        return None
    names = tuple(str(s) for s in names)
    if len(names) != n:
        raise ValueError(f"{what} must have {n} entries, got {len(names)}")
    return names


def propagate(fun: Callable, x, cov=None, *, u=None, corr=None, dof=None, args=(),
              method: str = "linear", jac: str = "complex", names: Sequence[str] = None,
              output_names: Sequence[str] = None) -> Propagation:
    """Propagate input uncertainties through ``y = fun(x)`` by the GUM law of propagation.

    Parameters
    ----------
    fun : callable
        The measurement model ``fun(x, *args)`` returning a scalar or a 1-D
        array of m outputs. A numba function (``@jacsolve.jit``) runs
        compiled; a plain Python function works too (with a
        :class:`~jacsolve.PerformanceWarning`).
    x : array_like, shape (n,)
        Input estimates.
    cov : array_like, shape (n, n), optional
        Input covariance matrix: symmetric and positive semi-definite.
    u : array_like, shape (n,), optional
        Standard uncertainties (>= 0), instead of ``cov``.
    corr : array_like, shape (n, n), optional
        Correlation matrix to go with ``u`` (symmetric, entries in [-1, 1],
        unit diagonal, positive semi-definite); independent inputs if omitted.
    dof : float or array_like, shape (n,), optional
        Degrees of freedom of each input's variance (> 0; inf when known
        exactly, the default).
    args : tuple, optional
        Extra arguments of ``fun``.
    method : {"linear", "second-order"}, optional
        ``"linear"``: ``V_y = J V_x J^T`` (GUM 5.1.2, 5.2.2; JCGM 102 6.2).
        ``"second-order"``: adds the second-order variance terms and the
        bias of the mean (see Notes).
    jac : {"complex", "central"}, optional
        Sensitivities by complex step (exact to rounding; ``fun`` must be
        complex-safe) or by central differences with steps ``1e-3 u_i``
        scaled to each input's uncertainty (for functions that are not).
    names, output_names : sequence of str, optional
        Labels for the budget table.

    Returns
    -------
    Propagation
        ``value``, ``std``, ``cov``, ``corr``, ``jac``, ``budget``, ``dof``,
        ``coverage_factor(p)``, ``expanded(p)``, ``interval(p)``.

    Notes
    -----
    *Second order.* For normal inputs the variance to fourth order in the
    input uncertainties is (GUM 5.1.2 note; Gaussian moments for the
    correlated and multi-output form)::

        Cov(y_a, y_b) = c_a^T V c_b + tr(H_a V H_b V) / 2
                        + [(V c_a) . grad tr(H_b V) + (V c_b) . grad tr(H_a V)] / 2

    which for independent inputs and a = b is the GUM note's
    ``sum_ij (f_ij^2 / 2 + f_i f_ijj) u_i^2 u_j^2``. Both the Hessian and
    the third-derivative terms are included. The bias of the mean is
    ``tr(H V) / 2``; ``value`` stays ``f(x)``. The terms are exact for
    normal inputs and polynomials of degree <= 3; other input
    distributions have other fourth moments.

    *Degrees of freedom.* ``nu_eff = u(y)^4 / sum_i a_i^2 / nu_i`` with
    ``a_i = u_i^2 d u(y)^2 / d u_i^2`` (correlations held fixed): the delta
    method for the variance of ``u(y)^2`` when each input variance is an
    independent estimate with ``nu_i`` degrees of freedom. For independent
    inputs and the linear method ``a_i = (c_i u_i)^2``, the
    Welch--Satterthwaite formula (GUM G.4.1). For correlated inputs
    ``a_i = c_i (V c)_i``, which keeps the correlation coefficients fixed and
    assumes the variance estimates of different inputs are independent; it
    is a policy, not part of the GUM, which gives WS for independent inputs
    only. In second-order mode ``a_i`` also includes the Hessian term
    ``(H V H V)_ii`` and, for independent inputs, the third-derivative term;
    for correlated inputs the third-derivative term's dependence on the
    input variances is neglected.

    *Nonlinearity flag.* With the linear method, outputs whose first-order
    u(y) is (near) zero get the second-order terms computed as a check; if
    the first-order variance is smaller than those terms, ``nonlinear`` is
    set and a :class:`NonlinearityWarning` tells you to use
    ``method="second-order"``.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> @jacsolve.jit
    ... def power(x):                       # P = V^2 / R
    ...     return x[0] * x[0] / x[1]
    >>> r = jacsolve.propagate(power, [10.0, 50.0], u=[0.1, 0.5], dof=[9, 20])
    >>> print(round(r.value, 6), round(r.std, 6), round(r.dof, 2))
    2.0 0.044721 13.68
    >>> lo, hi = r.interval(0.95)
    >>> print(round(lo, 4), round(hi, 4))
    1.9039 2.0961
    """
    if method != "linear" and method != "second-order":
        raise ValueError(f"method must be 'linear' or 'second-order', got {method!r}")
    jac_mode = _JAC.get(jac) if type(jac) is str else None
    if jac_mode is None:
        raise ValueError(f"jac must be 'complex' or 'central', got {jac!r}")
    xv = x if (type(x) is _NDARRAY and x.dtype is _F64 and x.ndim == 1
               and x.flags.c_contiguous and x.size) else as_vector(x, "x", finite=False)
    n = xv.size
    args = args if type(args) is tuple else as_args(args)
    if (cov is None and corr is None and method == "linear" and type(u) is _NDARRAY
            and u.dtype is _F64 and u.ndim == 1 and u.flags.c_contiguous and u.size == n):
        uu, V = u, None  # the kernel checks u >= 0 before it evaluates fun
    else:
        uu, V = input_uncertainty(n, cov, u, corr)
    nu = None if dof is None else _as_dof(dof, n)
    if names is not None:
        names = _names(names, n, "names")
    rec = record_for(fun)
    if not rec.jitted:
        if not callable(fun):
            raise TypeError(f"fun must be callable, got {type(fun).__name__}")
        warn_if_python(fun, stacklevel=3)
    key = tuple(map(type, args)) if args else ()
    scalar = rec.returns_scalar.get(key)
    if scalar is None:
        if not np.all(np.isfinite(xv)):
            raise ValueError("x must be finite")
        scalar = rec.returns_scalar[key] = evaluate_once(fun, xv, args)[1]

    call = rec.specialised.get(_KERNELS[jac_mode]) or specialise(_KERNELS[jac_mode], fun, rec)
    Vx = _EMPTY2 if V is None else V
    L = P = None
    if method == "second-order":  # the points of the second-order terms, in the same call
        L, P = _points(xv, uu, V, jac_mode)
    try:
        out, status, nfev, small = call(xv, args, _EMPTY2 if P is None else P, uu, Vx)
    except Exception as exc:  # made clear (typing errors, fun's own) as everywhere
        call_kernel(_reraise, exc)
    if status != OK:
        if status == BAD_U:
            _raise_bad_u(uu)
        _check_status(status)
    m = out.shape[1]
    if output_names is not None:
        output_names = _names(output_names, m, "output_names")
    if L is None and not small:  # the linear method's fast path: views of out
        if scalar:
            value, std, cov, J, nonlinear = out.item(0), out.item(1), out[2:3], out[3:, 0], False
            dof_eff = math.inf if nu is None else float(
                _effective_dof(J[None, :], uu, V, nu, std * std, None)[0])
        else:
            value, std, cov, J = out[0], out[1], out[2:2 + m], out[2 + m:].T
            nonlinear = np.zeros(m, bool)
            dof_eff = (np.full(m, np.inf) if nu is None
                       else _effective_dof(J, uu, V, nu, std * std, None))
        r = _new()
        d = r.__dict__
        d["value"] = value
        d["std"] = d["std_linear"] = std
        d["cov"] = cov
        d["jac"] = J
        d["dof"] = dof_eff
        d["nonlinear"] = nonlinear
        d["x"] = xv
        d["u"] = uu
        d["input_dof"] = nu
        d["nfev"] = nfev
        d["names"] = names
        d["output_names"] = output_names
        d["input_cov"] = V
        return r
    if L is None:  # the linear method's check of outputs whose u(y) is (near) zero
        L, P = _points(xv, uu, V, jac_mode)
        if P.shape[0]:
            out, status, nf2, _ = call_kernel(call, xv, args, P, uu, Vx)
            nfev += nf2
            if status != OK:
                _check_status(status)
    Vy = out[2:2 + m].copy()
    Jt = out[2 + m:].reshape(-1, xv.size, m)
    J = Jt[0].T
    bias_, C2, C3, a2, a3 = _second_order(Jt, L, uu, V, SECOND_ORDER_STEP[jac_mode])
    var1 = np.diag(Vy).copy()
    extra = np.diag(C2) + np.diag(C3)
    nonlinear = var1 < extra
    bias, Vtot, a_extra = None, Vy, None
    if method == "second-order":
        bias, Vtot, a_extra = bias_, Vy + C2 + C3, a2 + a3
    if np.any(nonlinear):
        i = int(np.flatnonzero(nonlinear)[0])
        warnings.warn(
            f"output {i}: the first-order u(y) = {math.sqrt(max(var1[i], 0)):.3g} misses "
            f"most of the second-order variance ({extra[i]:.3g} vs {var1[i]:.3g} for "
            "u(y)^2)" + ("; use method='second-order'" if method == "linear" else
                         ": the linear method is inadequate here"),
            NonlinearityWarning, stacklevel=2)
    var = np.diag(Vtot)
    if np.any(var < 0):
        warnings.warn("the second-order variance is negative for some outputs (the Taylor "
                      "series does not converge at these uncertainties); their u(y) is NaN",
                      RuntimeWarning, stacklevel=2)
    with np.errstate(invalid="ignore"):
        std = np.sqrt(var)
    dof_eff = (np.full(m, np.inf) if nu is None
               else _effective_dof(J, uu, V, nu, var, a_extra))
    std1 = np.sqrt(np.maximum(var1, 0.0))
    f0 = out[0].copy()
    if scalar:
        return Propagation(float(f0[0]), float(std[0]), Vtot, J[0], float(dof_eff[0]), method,
                           None if bias is None else float(bias[0]), float(std1[0]),
                           bool(nonlinear[0]), xv, uu, nu, nfev, names, output_names, V)
    return Propagation(f0, std, Vtot, J, dof_eff, method, bias, std1, nonlinear, xv, uu, nu,
                       nfev, names, output_names, V)


_EMPTY = np.empty(0)
_EMPTY2 = np.empty((0, 0))
_F64 = np.dtype(np.float64)
_NDARRAY = np.ndarray
_KERNELS = {"complex": propagation_complex, "central": propagation_central}


def _effective_dof(J, u, V, nu, var, a_extra):
    """nu_eff = u(y)^4 / sum_i a_i^2 / nu_i (see propagate's Notes)."""
    m = J.shape[0]
    if nu is None:
        return np.full(m, np.inf)
    a = J * (J @ V) if V is not None else J * J * (u * u)
    if a_extra is not None:
        a = a + a_extra
    finite = np.isfinite(nu)
    den = (a[:, finite] ** 2 / nu[finite]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, var * var / np.where(den > 0, den, 1.0), np.inf)
    return out


def _points(x, u, V, jac_mode):
    """Whitening L (n, r) with L L^T = V, columns scaled by u (steps along them are
    fractions of u), and the points x +- h L_r (rows 2r and 2r + 1) of the second-order
    terms."""
    pos = np.flatnonzero(u > 0)
    n = u.size
    if V is None:
        L = np.zeros((n, pos.size))
        L[pos, np.arange(pos.size)] = u[pos]
    else:
        up = u[pos]
        lam, Q = np.linalg.eigh(V[np.ix_(pos, pos)] / np.outer(up, up))
        keep = lam > PSD_TOL * max(lam[-1], 1.0)
        L = np.zeros((n, int(keep.sum())))
        L[pos] = up[:, None] * Q[:, keep] * np.sqrt(lam[keep])
    h = SECOND_ORDER_STEP[jac_mode]
    P = np.empty((2 * L.shape[1], n))
    P[0::2] = x + h * L.T
    P[1::2] = x - h * L.T
    return L, P


def _second_order(Jt, L, u, V, h):
    """Second-order terms for all outputs from the Jacobians Jt[0] at x and
    Jt[2r + 1], Jt[2r + 2] at x +- h L_r (see propagate's Notes).

    Returns (bias (m,), C2 (m, m), C3 (m, m), a2 (m, n), a3 (m, n)); a2, a3 are
    the Hessian and third-derivative parts of a_i.
    """
    J = Jt[0].T
    m, n = J.shape
    r = L.shape[1]
    if r == 0:
        z = np.zeros((m, m))
        return np.zeros(m), z, z, np.zeros((m, n)), np.zeros((m, n))
    Jp = Jt[1::2].transpose(0, 2, 1)     # (r, m, n)
    Jm = Jt[2::2].transpose(0, 2, 1)
    if not (np.all(np.isfinite(Jp)) and np.all(np.isfinite(Jm))):
        warnings.warn("fun is not finite within a fraction of u of x; the second-order terms "
                      "are NaN", RuntimeWarning, stacklevel=3)
    A = (Jp - Jm) / (2 * h)              # A[r, i] = (H_i L_r)^T
    B = (Jp - 2 * J + Jm) / (h * h)      # B[r, i] = grad (L_r^T H_i L_r)
    Ht = np.einsum("js,rij->isr", L, A)  # whitened Hessians L^T H_i L
    Ht = 0.5 * (Ht + Ht.transpose(0, 2, 1))
    bias = 0.5 * np.trace(Ht, axis1=1, axis2=2)
    C2 = 0.5 * np.einsum("asr,brs->ab", Ht, Ht)
    d = B.sum(axis=0)                    # grad tr(H_i V), (m, n)
    Vc = J @ V if V is not None else J * (u * u)
    C3 = 0.5 * (Vc @ d.T + d @ Vc.T)
    # a_k = u_k^2 d(var)/d(u_k^2): Hessian part (H V H V)_kk ...
    VH = np.einsum("rij,kr->ikj", A, L)      # (m, n, n): V H_i
    a2 = np.einsum("ikq,iqk->ik", VH, VH)
    # ... and, for independent inputs, the third-derivative part c_k u_k^2 d_k + (V c).B_k
    a3 = np.zeros((m, n))
    if V is None:
        pos = np.flatnonzero(u > 0)
        a3 = J * (u * u) * d
        a3[:, pos] += np.einsum("in,rin->ir", Vc, B)
    return bias, C2, C3, a2, a3
