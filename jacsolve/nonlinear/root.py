"""Newton-type solvers for nonlinear systems F(x) = 0: :func:`solve` (``jacsolve.solve``).

The module is not called ``solve`` so that importing it cannot shadow the
function ``jacsolve.solve``.

Small dense systems run the whole iteration in one compiled call (see
:mod:`jacsolve.nonlinear.dense`); large ones use sparse LU steps with coloured sparse
Jacobians (``sparsity=``) or Jacobian-free Newton-GMRES (``method="krylov"``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import krylov as KR
from . import dense as NW
from .._numba.options import is_jitted, python_version, record_for, specialise, warn_if_python
from .._arguments import as_args, as_vector, positive_int
from .._numba.calls import call_kernel, evaluate_once, is_typing_error, typing_message
from ..status import FunctionError
from ..derivatives.coloring import group_columns
from ..derivatives.differences import DEFAULT_REL_STEP, canonical_method
from ..derivatives.kernels import OK, relative_steps, sparse_central, sparse_complex, sparse_forward
from ..status import Status

__all__ = ["solve", "RootResult", "ConvergenceError"]

METHODS = {"auto": NW.AUTO, "newton": NW.NEWTON, "trust-region": NW.TRUST_REGION,
           "broyden": NW.BROYDEN, "krylov": NW.KRYLOV}
DENSE_MAX = 1000  # "auto" without sparsity switches to "krylov" above this many unknowns


@dataclass(frozen=True, repr=False)
class RootResult:
    """The outcome of :func:`solve`.

    Attributes
    ----------
    x : ndarray, shape (n,)
        The final point: the one with the smallest max|F| that the method
        (for ``"auto"``, the methods tried) reached.
    fun : ndarray, shape (n,)
        The residual F(x) at that point, as evaluated there.
    success : bool
        True exactly when ``fnorm <= tol``: x passes the residual test.
    status : Status
        Why the solver stopped (``Status.SUCCESS`` only with ``success``).
    message : str
        The reason in words, with what to try when it failed.
    nit : int
        Iterations: Newton steps, or trial steps of the trust region.
    nfev : int
        Evaluations of fun, complex ones (Jacobians, J v products) included.
    njev : int
        Jacobians computed (or analytic ``jac`` calls).
    fnorm : float
        max_i |F_i(x)|.
    history : ndarray
        max|F| at the start and after every iteration (a restart of
        ``"auto"`` with another method shows as a jump up).
    method : str
        The method that produced x (``"auto (trust-region)"`` for example).
    """
    x: np.ndarray
    fun: np.ndarray
    success: bool
    status: Status
    message: str
    nit: int
    nfev: int
    njev: int
    fnorm: float
    history: np.ndarray
    method: str

    def __repr__(self) -> str:
        with np.printoptions(precision=6, threshold=8, edgeitems=3):
            x = repr(self.x)
        return (f"RootResult(success={self.success}, status={self.status.name}, "
                f"fnorm={self.fnorm:.3e}, method={self.method!r},\n"
                f"           nit={self.nit}, nfev={self.nfev}, njev={self.njev},\n"
                f"           x={x},\n"
                f"           message={self.message!r})")


class ConvergenceError(RuntimeError):
    """Raised by ``solve(..., raise_on_failure=True)``; ``.result`` holds the RootResult."""

    def __init__(self, result: RootResult):
        super().__init__(result.message)
        self.result = result


def solve(fun: Callable, x0, *, args=(), method: str = "auto", jac="complex",
          tol: float = 1e-10, xtol: float = 1e-12, maxiter: Optional[int] = None,
          sparsity=None, callback: Optional[Callable] = None,
          raise_on_failure: bool = False) -> RootResult:
    """Solve the square system ``fun(x, *args) = 0`` from ``x0``.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` returning a 1-D array of length n = len(x0). A
        numba function (``@jacsolve.jit``) runs compiled: the whole iteration
        is one compiled call. A plain Python function works too, more slowly
        (with a :class:`~jacsolve.PerformanceWarning`).
    x0 : array_like, shape (n,)
        Starting point; must be finite.
    args : tuple, optional
        Extra arguments of ``fun`` (and of a callable ``jac``).
    method : {"auto", "newton", "trust-region", "broyden", "krylov"}, optional
        ``"newton"``: damped Newton (Armijo backtracking on |F|^2/2), with
        Levenberg-Marquardt steps where J is singular or Newton's step fails.
        ``"trust-region"``: Powell's dogleg, as MINPACK's hybrid method.
        ``"broyden"``: the same dogleg with rank-1 Jacobian updates and a new
        Jacobian after two failed steps: fewest evaluations.
        ``"krylov"``: Jacobian-free Newton-GMRES, J v by complex step, for
        large systems. ``"auto"`` (default): Broyden, then trust region, then
        Levenberg-Marquardt, then Newton, each from x0, until the residual
        test holds; with ``sparsity``, sparse Newton; above 1000 unknowns
        without ``sparsity``, Krylov.
    jac : str or callable, optional
        How to get Jacobians: ``"complex"`` (default; exact, needs a
        complex-safe fun), ``"central"``, ``"forward"``, ``"richardson"``
        (see :func:`jacsolve.jacobian`), or a callable ``jac(x, *args)``
        returning the (n, n) Jacobian (a scipy sparse matrix is accepted with
        ``sparsity``).
    tol : float, optional
        Residual tolerance: success means ``max_i |F_i(x)| <= tol`` at the
        returned x, and the iteration stops as soon as that holds.
    xtol : float, optional
        Step floor: the solver gives up (``STALLED`` or ``SINGULAR``) when the
        steps it could still take, a backtracked line-search step or the trust
        radius, are shorter than ``xtol * |x|_2`` (``xtol`` when x = 0). It
        never declares success.
    maxiter : int, optional
        Iterations allowed in all (for ``"auto"``, over all methods tried).
        Default ``100 * (n + 1)``, at most 1000.
    sparsity : array_like of bool, scipy sparse, or ColumnGroups, optional
        Pattern (n, n) of the Jacobian. Columns are grouped once
        (:func:`jacsolve.group_columns`; pass the ``ColumnGroups`` to reuse),
        Jacobians cost one evaluation per group, and steps come from a sparse
        LU (``scipy.sparse.linalg.splu``). Methods ``"auto"`` and ``"newton"``.
    callback : callable, optional
        ``callback(x, f)`` after every accepted step (the last one included); a
        true return stops the solve with ``Status.CALLBACK`` (unless the
        residual test holds). The iteration then runs as Python.
    raise_on_failure : bool, optional
        Raise :class:`ConvergenceError` instead of returning a failed result.

    Returns
    -------
    RootResult

    Raises
    ------
    ValueError, TypeError
        For bad input, naming the argument: x0 not finite or not 1-D, fun
        returning the wrong length, jac of the wrong shape, an unknown method.
    FunctionError
        When fun raises at x0. Where fun raises or returns inf/NaN at a later
        trial point, the step is treated as failed (the line search backs off,
        the trust region shrinks) and the count appears in the message.

    Notes
    -----
    Numerical failure is never an exception (unless ``raise_on_failure``):
    the result has ``success=False`` and a status -- ``MAXITER``,
    ``STALLED`` (no progress: probably a local minimum of |F| that is not a
    root), ``SINGULAR``, ``NONFINITE`` or ``DIVERGED`` (|x| > 1e100).

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> @jacsolve.jit
    ... def f(x):
    ...     return np.array([x[0] ** 2 + x[1] ** 2 - 4.0, x[0] - x[1]])
    >>> res = jacsolve.solve(f, [1.0, 0.5])
    >>> res.success, np.allclose(res.x, np.sqrt(2.0), rtol=1e-12)
    (True, True)
    >>> res.fnorm <= 1e-10
    True
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    x = _vector(x0)
    n = x.size
    args = args if type(args) is tuple else as_args(args)
    code = METHODS.get(method) if type(method) is str else None
    if code is None:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, "
                         f"got {method!r}")
    if not (type(tol) is float and 0.0 < tol < np.inf):
        tol = _positive(tol, "tol")
    if not (type(xtol) is float and 0.0 <= xtol < np.inf):
        xtol = _positive(xtol, "xtol", allow_zero=True)
    maxiter = min(100 * (n + 1), 1000) if maxiter is None else positive_int(maxiter, "maxiter")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    analytic = callable(jac)
    jname = "analytic" if analytic else _jac_name(jac)
    if sparsity is not None:
        if code not in (NW.AUTO, NW.NEWTON):
            raise ValueError(f"method={method!r} does not use sparsity; with sparsity use "
                             "method='auto' or 'newton' (or drop sparsity for 'krylov')")
        out = _solve_sparse(fun, x, args, jac if analytic else jname, tol, xtol, maxiter,
                            sparsity, callback)
    else:
        if code == NW.AUTO and n > DENSE_MAX:
            code = NW.KRYLOV
        if code == NW.KRYLOV and (analytic or jname != "complex"):
            raise ValueError("method='krylov' is Jacobian-free (J v by complex step); it "
                             f"takes no jac, got jac={jac!r}")
        out = _solve_compiled(fun, x, args, code, jac if analytic else None, jname, tol, xtol,
                              maxiter, callback)
    xr, f, status, stats, hist, used = out
    result = _result(xr, f, status, stats, hist, used, method, tol)
    if raise_on_failure and not result.success:
        raise ConvergenceError(result)
    return result


# ---------------------------------------------------------------- validation
def _vector(x0):
    if (type(x0) is np.ndarray and x0.ndim == 1 and x0.dtype.char == "d"
            and x0.flags.c_contiguous and x0.size):
        return x0  # finiteness is checked by the kernel (status BAD_X)
    return as_vector(x0, "x0")


def _positive(value, name, allow_zero=False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None
    if not (v < np.inf and (v >= 0.0 if allow_zero else v > 0.0)):
        raise ValueError(f"{name} must be finite and {'>= 0' if allow_zero else '> 0'}, "
                         f"got {value!r}")
    return v


def _jac_name(jac) -> str:
    if type(jac) is str and jac in NW.JACOBIAN_KERNELS and jac != "analytic":
        return jac
    return canonical_method(jac, name="jac")


def _check_x0(x):
    if not np.all(np.isfinite(x)):
        j = int(np.flatnonzero(~np.isfinite(x))[0])
        raise ValueError(f"x0 must be finite; x0[{j}] = {x[j]}")


def _check_jac_shape(jac, x, args):
    try:
        J = jac(x, *args)
    except Exception as exc:
        if is_typing_error(exc):
            raise TypeError(typing_message(exc, "jac")) from None
        raise FunctionError(f"jac raised {type(exc).__name__}: {exc} at x0") from exc
    shape = J.shape if sp.issparse(J) else np.shape(J)
    if tuple(shape) != (x.size, x.size):
        raise ValueError(f"jac must return the ({x.size}, {x.size}) Jacobian, got shape "
                         f"{tuple(shape)}")
    return J


def _check_f0(fun, x, args):
    """fun(x0) evaluated in Python: clear errors for a wrong length or a raise."""
    f0, scalar = evaluate_once(fun, x, args)
    if f0.size != x.size or scalar and x.size != 1:
        raise ValueError(f"fun must return an array of length {x.size} (that of x0); "
                         f"it returned {'a scalar' if scalar else f'{f0.size} values'}")
    return f0


# ------------------------------------------------------ dense and Krylov paths
_ENTRIES: dict = {}
_EMPTY_ARGS_TYPE = numba.typeof(())


def _entry(fun, code, jac, jname, args):
    """The compiled solve for (fun, algorithm, Jacobian, type of args), built once."""
    krylov = code == NW.KRYLOV
    argty = _EMPTY_ARGS_TYPE if not args else numba.typeof(args)
    key = (fun, krylov, jac if jac is not None else jname, argty if args else None)
    entry = _ENTRIES.get(key)
    if entry is None:
        if len(_ENTRIES) >= 512:
            _ENTRIES.clear()
        try:
            if krylov:
                ev = NW.Pointer(specialise(NW.evaluate_into, fun), NW.ev_signature(argty))
                jv = NW.Pointer(specialise(KR.jvp_complex_into, fun), KR.jvp_signature(argty))
                entry = NW.entry_point(KR.solve_krylov, (ev, jv, NW.no_callback_pointer()),
                                       argty, lambda a: (numba.types.FunctionType(
                                           KR.jvp_signature(a)),), NW.allocate)
            else:
                target = fun if jac is None else jac
                entry = NW.dense_entry(fun, NW.JACOBIAN_KERNELS[jname], target, argty)
        except Exception as exc:
            raise _compile_error(exc, jname) from None
        _ENTRIES[key] = entry
    return entry


def _compile_error(exc, jname):
    if not is_typing_error(exc):
        return exc
    hint = (" If fun is not complex-safe (abs, min/max or comparisons on x, outputs not "
            "allocated with dtype=x.dtype), use jac='central'." if jname == "complex" else "")
    return TypeError(typing_message(exc, "fun") + hint)


def _solve_compiled(fun, x, args, code, jac, jname, tol, xtol, maxiter, callback):
    method_code = code
    jitted = record_for(fun).jitted and (jac is None or is_jitted(jac))
    if jac is not None:
        _check_x0(x)
        _check_jac_shape(jac, x, args)
    if not jitted or callback is not None:
        _check_x0(x)
        if not is_jitted(fun):
            warn_if_python(fun, stacklevel=4)
        _check_f0(fun, x, args)
        run = _python_entry(fun, code, jac, jname, callback)
    else:
        if code == NW.KRYLOV:
            _check_x0(x)
        run = _entry(fun, code, jac, jname, args)
    try:
        xr, f, status, stats, hist = run(x, args, method_code, tol, xtol, maxiter)
    except Exception as exc:
        if is_typing_error(exc):
            raise _compile_error(exc, jname) from None
        raise
    if status == NW.NONFINITE and stats[NW.NIT] == 0:
        _check_f0(fun, x, args)  # raises FunctionError if fun raised at x0
    return xr, f, status, stats, hist, int(stats[NW.EXTRA])


def _python_entry(fun, code, jac, jname, callback):
    cb = None if callback is None else (lambda x, f: bool(callback(x.copy(), f.copy())))
    if code == NW.KRYLOV:
        ev = partial(python_version(NW.evaluate_into), fun)
        jv = partial(python_version(KR.jvp_complex_into), fun)
        solve_k = python_version(KR.solve_krylov)

        def run(x0, args, method, tol, xtol, maxiter):
            x, f, stats, hist = NW.allocate(x0, maxiter)
            status = solve_k(ev, jv, cb or NW.no_callback, x0, args, method, tol, xtol,
                             maxiter, x, f, stats, hist)
            return x, f, status, stats, hist
        return run
    target = fun if jac is None else jac
    return NW.dense_python(fun, NW.JACOBIAN_KERNELS[jname], target, cb)


# ------------------------------------------------------------------ sparse path
def _solve_sparse(fun, x, args, jac, tol, xtol, maxiter, sparsity, callback):
    """Newton with sparse LU steps; Levenberg-Marquardt steps where LU fails."""
    _check_x0(x)
    n = x.size
    if not is_jitted(fun):
        warn_if_python(fun, stacklevel=4)
    f0 = _check_f0(fun, x, args)
    groups = group_columns(sparsity, shape=(n, n))
    analytic = callable(jac)
    if analytic:
        _check_jac_shape(jac, x, args)
    stats = np.zeros(NW.NSTATS, dtype=np.int64)
    stats[NW.NFEV] = 1
    hist = np.empty(min(maxiter, NW.HIST_MAX) + 1)
    x = x.copy()
    f = f0.copy()
    NW.record(hist, stats, f)
    if not np.all(np.isfinite(f)):
        return x, f, NW.NONFINITE, stats, hist, NW.NEWTON
    line_search, ev = _sparse_line_search(fun, args)
    x1 = np.empty(n)
    f1 = np.empty(n)
    status = NW.SUCCESS if NW.maxabs(f) <= tol else None
    while status is None:
        if stats[NW.NIT] >= maxiter:
            status = NW.MAXITER
            break
        J = _sparse_jacobian(fun, x, args, f, jac, groups, stats)
        if J is None:
            status = NW.NONFINITE
            break
        g = J.T @ f
        if not np.any(g):
            status = NW.SINGULAR
            break
        stats[NW.NIT] += 1
        code = NW.EVAL_FAILED
        for p in _sparse_directions(J, f, g):
            NW.cap_step(p, x)
            code = line_search(ev, x, args, f, p, float(g @ p), xtol, stats, x1, f1)
            if code != NW.EVAL_FAILED:
                break
        if code == NW.EVAL_SIZE:
            raise ValueError(f"fun must return an array of length {n}; its length changed")
        if code == NW.EVAL_FAILED:
            NW.record(hist, stats, f)
            status = NW.STALLED
            break
        x[:] = x1
        f[:] = f1
        NW.record(hist, stats, f)
        s = NW.stop_after_step(x, f, tol)
        stop = callback is not None and callback(x.copy(), f.copy())
        if s >= 0:
            status = s
        elif stop:
            status = NW.CALLBACK
    return x, f, status, stats, hist, NW.NEWTON


def _sparse_line_search(fun, args):
    if is_jitted(fun):
        argty = _EMPTY_ARGS_TYPE if not args else numba.typeof(args)
        key = (fun, "sparse-ev", argty)
        ev = _ENTRIES.get(key)
        if ev is None:
            ev = _ENTRIES[key] = NW.Pointer(specialise(NW.evaluate_into, fun),
                                            NW.ev_signature(argty))
        return NW.line_search, ev
    return python_version(NW.line_search), partial(python_version(NW.evaluate_into), fun)


def _sparse_directions(J, f, g):
    """Newton's step by sparse LU, then Levenberg-Marquardt steps with growing mu."""
    Jc = J.tocsc()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", spla.MatrixRankWarning)
            p = -spla.splu(Jc).solve(f)
        if np.all(np.isfinite(p)):
            yield p
    except RuntimeError:  # exactly singular
        pass
    JtJ = (Jc.T @ Jc).tocsc()
    scale = float(JtJ.diagonal().max())
    eye = sp.identity(J.shape[0], format="csc")
    for mu in (NW.SQRT_EPS * scale, 1e-3 * scale, scale):
        try:
            p = -spla.splu((JtJ + mu * eye).tocsc()).solve(g)
        except RuntimeError:
            continue
        if np.all(np.isfinite(p)):
            yield p


def _sparse_jacobian(fun, x, args, f, jac, groups, stats):
    """The CSR Jacobian at x (None when it is not finite)."""
    n = x.size
    stats[NW.NJEV] += 1
    if callable(jac):
        J = jac(x, *args)
        J = sp.csr_array(J) if sp.issparse(J) else sp.csr_array(np.asarray(J, dtype=float))
        if J.shape != (n, n):
            raise ValueError(f"jac must return the ({n}, {n}) Jacobian, got shape {J.shape}")
        return J if np.all(np.isfinite(J.data)) else None
    g = (groups.cols, groups.cptr, groups.nz, groups.gptr, groups.row_of, groups.col_of,
         groups.nnz)
    ones = np.ones(n)
    h = relative_steps(x, DEFAULT_REL_STEP[jac], ones)
    if jac == "complex":
        data, status, nfev = call_kernel(specialise(sparse_complex, fun), x, args, h, n, *g)
    elif jac in ("forward", "central"):
        kernel = sparse_forward if jac == "forward" else sparse_central
        inf = np.full(n, np.inf)
        data, status, nfev = call_kernel(specialise(kernel, fun), x, args, f, h, -inf, inf, *g)
    else:
        raise ValueError("jac='richardson' does not support sparsity; use 'complex' or "
                         "'central'")
    stats[NW.NFEV] += nfev
    if status != OK or not np.all(np.isfinite(data)):
        return None
    return sp.csr_array((data, groups.indices, groups.indptr), shape=(n, n))


# -------------------------------------------------------------------- results
def _result(x, f, status, stats, hist, used, method, tol):
    n = x.size
    if status == NW.BAD_X:
        _check_x0(x)
    if status == NW.BAD_F_SIZE:
        m = int(stats[NW.EXTRA])
        raise ValueError(f"fun must return an array of length {n} (that of x0); it returned "
                         + (f"{m} values" if m >= 0 and m != n else "arrays of another length"))
    if status == NW.BAD_JAC_SHAPE:
        raise ValueError(f"jac must return the ({n}, {n}) Jacobian at every x")
    if status == NW.NOT_COMPLEX_SAFE:
        raise TypeError("fun is not complex-safe: it returned real values for complex x, "
                        "so jac='complex' cannot differentiate it; use jac='central'")
    st = _STATUS[status]
    fnorm = float(NW.maxabs(f))
    success = status == NW.SUCCESS and fnorm <= tol
    nit, nfev, njev, nfail, nhist = stats.tolist()[:5]
    msg = (f"{st.message} (max|F| = {fnorm:.2e} <= tol = {tol:g})" if success else
           f"{st.message}. max|F| = {fnorm:.2e} > tol = {tol:g}")
    if nfail:
        msg += (f"; fun raised or returned inf/NaN at {nfail} trial point"
                f"{'s' if nfail > 1 else ''}, treated as failed steps")
    name = _NAMES.get((method, used)) or _method_name(method, used)
    return RootResult(x, f, success, st, msg, nit, nfev, njev, fnorm, hist[:nhist].copy(), name)


_STATUS = {int(s): s for s in Status}
_NAMES: dict = {}


def _method_name(method, used):
    name = NW.METHOD_NAMES[used] if 0 <= used < len(NW.METHOD_NAMES) else method
    if method == "auto" and name != "auto":
        name = f"auto ({name})"
    _NAMES[(method, used)] = name
    return name
