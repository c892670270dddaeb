"""Many small nonlinear systems F(x; p) = 0 at once: ``solve_batch``.

Each system is solved by :func:`jacsolve._newton.solve_dense`, the kernel
behind :func:`jacsolve.solve`, so a batch member and a single solve follow
the same algorithm, statuses and tolerances. For a numba ``fun`` a ``prange``
driver runs the kernel over all systems in parallel; for a plain Python
``fun`` the kernel's Python version runs them one after another (with a
:class:`~jacsolve.PerformanceWarning`).

Compile cost: the parallel driver does not depend on ``fun``. It calls the
per-system kernel through a first-class function pointer, so it is compiled
once, cached on disk and shared by every user function; what compiles per
function (and Jacobian method) is one serial kernel.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict

import numba
import numpy as np

from ._jit import _OPTIONS, cached_njit, kernel_njit, record_for, specialise, warn_if_python
from ._newton import (AUTO, BAD_F_SIZE, BROYDEN, NEWTON, NFEV, NIT, NOT_CS, TRUST_REGION,
                      jac_central, jac_complex, jac_forward, no_callback, no_jac, solve_dense)
from ._validate import FunctionError, call_kernel, evaluate_once, positive_int
from .derivatives import canonical_method
from .status import Status

__all__ = ["solve_batch", "BatchResult"]

METHODS = {"newton": NEWTON, "trust-region": TRUST_REGION, "broyden": BROYDEN, "auto": AUTO}
JAC_METHODS = ("complex", "central", "forward")
_NOT_RUN = -100  # sentinel status: the system's kernel did not finish (fun raised)


# ------------------------------------------------------------- per system
@cached_njit
def _store(k, x, f, status, stats, X, st, nit, fnorm, nfev):
    """Row k of the outputs from one solve_dense result; fnorm = max|f| (NaN-aware)."""
    for i in range(x.size):
        X[k, i] = x[i]
    m = 0.0 if f.size else np.nan
    for i in range(f.size):
        a = abs(f[i])
        if a > m:
            m = a
        elif a != a:
            m = a
            break
    fnorm[k] = m
    nit[k] = stats[NIT]
    nfev[k] = stats[NFEV]
    st[k] = status


# One entry point per Jacobian provider: specialise() binds fun and the
# provider as compile-time constants, and the parallel driver calls the
# result through a function pointer with exactly these argument types.
@kernel_njit
def _row_complex(fun, X0, P, k, method, tol, xtol, maxiter, X, st, nit, fnorm, nfev):
    x, f, status, stats, hist, used = solve_dense(fun, X0[k], (P[k],), jac_complex, no_jac,
                                                  no_callback, method, tol, xtol, maxiter)
    _store(k, x, f, status, stats, X, st, nit, fnorm, nfev)


@kernel_njit
def _row_central(fun, X0, P, k, method, tol, xtol, maxiter, X, st, nit, fnorm, nfev):
    x, f, status, stats, hist, used = solve_dense(fun, X0[k], (P[k],), jac_central, no_jac,
                                                  no_callback, method, tol, xtol, maxiter)
    _store(k, x, f, status, stats, X, st, nit, fnorm, nfev)


@kernel_njit
def _row_forward(fun, X0, P, k, method, tol, xtol, maxiter, X, st, nit, fnorm, nfev):
    x, f, status, stats, hist, used = solve_dense(fun, X0[k], (P[k],), jac_forward, no_jac,
                                                  no_callback, method, tol, xtol, maxiter)
    _store(k, x, f, status, stats, X, st, nit, fnorm, nfev)


_ROW = {"complex": _row_complex, "central": _row_central, "forward": _row_forward}


# ----------------------------------------------------------------- drivers
def _drive_parallel(row, X0, P, method, tol, xtol, maxiter, X, st, nit, fnorm, nfev):
    for k in numba.prange(X0.shape[0]):
        row(X0, P, np.int64(k), method, tol, xtol, maxiter, X, st, nit, fnorm, nfev)


def _drive_serial(row, X0, P, method, tol, xtol, maxiter, X, st, nit, fnorm, nfev):
    for k in range(X0.shape[0]):
        row(X0, P, k, method, tol, xtol, maxiter, X, st, nit, fnorm, nfev)


_PARALLEL: list = []


def _parallel_driver():
    """The prange loop, compiled once per process or loaded from the disk cache.

    ``row`` is typed as a first-class function, so the driver does not depend
    on the user function, and the kernel behind ``row`` is not compiled again
    inside the parallel region (which costs several seconds per function).
    """
    if not _PARALLEL:
        from numba import types
        f8, i8 = types.float64, types.int64
        f8_1, f8_2, i8_1 = f8[::1], f8[:, ::1], i8[::1]
        outputs = (f8_2, i8_1, i8_1, f8_1, i8_1)
        row = types.FunctionType(types.none(f8_2, f8_2, i8, i8, f8, f8, i8, *outputs))
        sig = types.none(row, f8_2, f8_2, i8, f8, f8, i8, *outputs)
        _PARALLEL.append(numba.njit(sig, parallel=True, cache=True, **_OPTIONS)(_drive_parallel))
    return _PARALLEL[0]


# ------------------------------------------------------------------ result
@dataclass(frozen=True)
class BatchResult:
    """Solutions of a batch of N systems with n unknowns each.

    Attributes
    ----------
    x : ndarray, shape (N, n)
        Final iterate of each system (its root where ``success``).
    success : ndarray of bool, shape (N,)
        True exactly where ``max|F(x[k])| <= tol``.
    status : ndarray of int, shape (N,)
        :class:`~jacsolve.Status` code of each system; ``Status(code).message``
        says what happened and what to try.
    nit : ndarray of int, shape (N,)
        Iterations of each system.
    fnorm : ndarray, shape (N,)
        ``max|F(x[k])|`` at the returned x (inf or NaN where fun was not finite).
    nfev : ndarray of int, shape (N,)
        Evaluations of fun per system, complex-step ones included.
    tol : float
        The residual tolerance used.
    """
    x: np.ndarray
    success: np.ndarray
    status: np.ndarray
    nit: np.ndarray
    fnorm: np.ndarray
    nfev: np.ndarray
    tol: float

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def counts(self) -> Dict[Status, int]:
        """Number of systems per status (only statuses that occur)."""
        codes, counts = np.unique(self.status, return_counts=True)
        return {Status(int(c)): int(k) for c, k in zip(codes, counts)}

    def __repr__(self) -> str:
        N, n = self.x.shape
        lines = [f"BatchResult: {int(self.success.sum())} of {N} systems (n={n}) solved, "
                 f"max|F| <= {self.tol:g}"]
        for s, k in self.counts.items():
            lines.append(f"  {s.name:<9} {k:>9}  {s.message.split(';')[0]}")
        if N:
            ok = self.success
            worst = f"{self.fnorm[ok].max():.1e}" if ok.any() else "-"
            lines.append(f"  nit median {np.median(self.nit):g}, max {self.nit.max()}; "
                         f"nfev total {int(self.nfev.sum())}; worst solved max|F| {worst}")
        return "\n".join(lines)


# ------------------------------------------------------------------ public
def solve_batch(fun: Callable, x0, params, *, method: str = "newton", jac: str = "complex",
                tol: float = 1e-10, xtol: float = 1e-12, maxiter: int = 50) -> BatchResult:
    """Solve N independent small systems ``fun(x, params[k]) = 0`` in parallel.

    Parameters
    ----------
    fun : callable
        ``fun(x, p) -> array of length n``: one system, with ``x`` a float
        1-D array of length n and ``p`` one row of ``params``. A numba
        function (``@jacsolve.jit``) runs compiled and in parallel across
        cores (``numba.set_num_threads`` sets how many); a plain Python
        function runs serially, with a :class:`~jacsolve.PerformanceWarning`.
        With ``jac="complex"`` fun is also called with complex ``x`` and must
        be complex-safe (no ``abs``, comparisons or branches on x; write
        ``z*z*z``, not ``z**3``).
    x0 : array_like, shape (N, n) or (n,)
        Starting points, one row per system, or one start for all; finite.
    params : array_like, shape (N, k)
        Parameters, one row per system (k may be 0). Rows with inf or NaN are
        allowed: such a system ends with its own status, not an exception.
    method : {"newton", "trust-region", "broyden", "auto"}, optional
        The methods of :func:`jacsolve.solve`. ``"newton"``: damped Newton,
        Armijo backtracking on ``|F|^2/2``, Levenberg-Marquardt steps when J
        is singular or the Newton step fails.
    jac : {"complex", "central", "forward"}, optional
        Jacobian by complex step (exact to rounding, default), or central or
        forward differences for functions that are not complex-safe.
        SciPy's ``"cs"``, ``"3-point"``, ``"2-point"`` are accepted.
    tol : float, optional
        Residual tolerance: system k succeeds iff ``max_i |F_i(x[k])| <= tol``.
    xtol : float, optional
        Step tolerance, as in :func:`jacsolve.solve`: a system whose steps
        shrink below ``xtol * |x|`` (2-norms) before meeting ``tol`` stops
        with ``STALLED`` (``SINGULAR`` at a singular Jacobian).
    maxiter : int, optional
        Most iterations per system.

    Returns
    -------
    BatchResult
        Arrays ``x``, ``success``, ``status``, ``nit``, ``fnorm``, ``nfev``;
        its repr counts the systems per status.

    Raises
    ------
    ValueError, TypeError
        For bad input (shapes, non-finite x0, fun's output length, unknown
        method), before any compiled solver code runs.
    FunctionError
        If ``fun`` raises at a starting point. A numerical failure of one
        system (inf/NaN, a singular Jacobian, no root, fun raising at a trial
        point) is never an exception: it is that system's status, and the
        other systems are unaffected.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> @jacsolve.jit
    ... def circle_line(x, p):      # x^2 + y^2 = R^2 and y = c
    ...     return np.array([x[0] * x[0] + x[1] * x[1] - p[0] * p[0], x[1] - p[1]])
    >>> params = np.array([[1.0, 0.6], [2.0, 0.0], [1.0, 3.0]])   # the last has no root
    >>> res = jacsolve.solve_batch(circle_line, [1.0, 1.0], params)
    >>> res.success
    array([ True,  True, False])
    >>> np.round(res.x[:2], 12)
    array([[0.8, 0.6],
           [2. , 0. ]])
    """
    method_code = _method_code(method)
    jac_name = canonical_method(jac, JAC_METHODS, name="jac")
    tol = _positive_float(tol, "tol")
    xtol = _positive_float(xtol, "xtol", allow_zero=True)
    maxiter = positive_int(maxiter, "maxiter")
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    X0, P = _batch_arrays(x0, params)
    N, n = X0.shape
    rec = record_for(fun)
    warn_if_python(fun)
    if N:
        _check_fun(fun, X0[0], P[0], jac_name)
    row = specialise(_ROW[jac_name], fun, rec)
    args = (X0, P, method_code, tol, xtol, maxiter)
    outputs = (np.empty((N, n)), np.full(N, _NOT_RUN, dtype=np.int64),
               np.zeros(N, dtype=np.int64), np.full(N, np.nan), np.zeros(N, dtype=np.int64))
    if rec.jitted and N:
        call_kernel(_parallel_driver(), row, *args, *outputs)
    else:
        call_kernel(_drive_serial, row, *args, *outputs)
    _check_faults(row, args, outputs)
    X, status, nit, fnorm, nfev = outputs
    return BatchResult(X, status == int(Status.SUCCESS), status, nit, fnorm, nfev, tol)


def _method_code(method) -> int:
    code = METHODS.get(method) if isinstance(method, str) else None
    if code is None:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, "
                         f"got {method!r}")
    return code


def _positive_float(value, name: str, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not (np.isfinite(v) and (v > 0 or (allow_zero and v == 0))):
        raise ValueError(f"{name} must be finite and {'>= 0' if allow_zero else '> 0'}, "
                         f"got {value!r}")
    return v


def _real_array(value, name: str) -> np.ndarray:
    try:
        a = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float64)


def _batch_arrays(x0, params):
    """x0 as (N, n) and params as (N, k), float64 C-contiguous, checked."""
    X0 = _real_array(x0, "x0")
    P = _real_array(params, "params")
    if P.ndim != 2:
        raise ValueError(f"params must have shape (N, k), one row per system, got shape "
                         f"{P.shape}; for one parameter per system pass params[:, None]")
    if X0.ndim == 1:
        if X0.size == 0:
            raise ValueError("x0 must have at least one unknown")
        X0 = np.ascontiguousarray(np.broadcast_to(X0, (P.shape[0], X0.size)))
    elif X0.ndim != 2 or X0.shape[1] == 0:
        raise ValueError(f"x0 must have shape (N, n) or (n,), got shape {X0.shape}")
    if X0.shape[0] != P.shape[0]:
        raise ValueError(f"params has {P.shape[0]} rows but x0 has {X0.shape[0]}: "
                         "params needs one row per system (row of x0)")
    bad = ~np.isfinite(X0)
    if bad.any():
        k, j = np.argwhere(bad)[0]
        more = f" ({int(bad.sum())} non-finite entries)" if bad.sum() > 1 else ""
        raise ValueError(f"x0 must be finite; x0[{k}, {j}] = {X0[k, j]}{more}")
    return X0, P


def _check_fun(fun, x, p, jac_name: str) -> None:
    """Call fun once from Python: its output length, and complex safety if needed."""
    f, _ = evaluate_once(fun, x, (p,))
    if f.size != x.size:
        raise ValueError(f"fun must return {x.size} values (one per unknown, like the rows "
                         f"of x0), got {f.size}")
    if jac_name != "complex":
        return
    try:
        safe = np.iscomplexobj(fun(x.astype(np.complex128), p))
    except Exception as exc:
        raise TypeError(f"fun cannot be evaluated at complex x, which jac='complex' needs "
                        f"({type(exc).__name__}); use jac='central', or write fun with "
                        "complex-safe operations") from None
    if not safe:
        raise TypeError("fun is not complex-safe: it returned real values for complex x, "
                        "so jac='complex' cannot differentiate it. Use jac='central', or "
                        "write fun with complex-safe operations (no abs, min/max, "
                        "comparisons or branches on x).")


def _check_faults(row, args, outputs) -> None:
    """Raise for the caller's faults, which the kernels report as negative codes."""
    status = outputs[1]
    if status.size == 0 or status.min() >= 0:
        return
    k = int(np.flatnonzero(status < 0)[0])
    code = status[k]
    if code == _NOT_RUN:
        # fun raised at x0 inside the parallel loop, where exceptions are
        # lost: solve this system again from Python to raise it.
        call_kernel(row, args[0], args[1], k, *args[2:], *outputs)
        raise FunctionError(f"fun raised an exception while solving system {k}")
    if code == BAD_F_SIZE:
        raise FunctionError(f"fun returned an array whose length is not {args[0].shape[1]} "
                            f"for system {k}; its output length must not depend on x or p")
    if code == NOT_CS:
        raise TypeError(f"fun is not complex-safe for system {k}: it returned real values "
                        "for complex x. Use jac='central'.")
    raise RuntimeError(f"internal error: status {code} for system {k}")
