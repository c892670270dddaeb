"""Newton-type solvers for nonlinear systems F(x) = 0: :func:`solve` (``jacsolve.solve``).

The module is not called ``solve`` so that importing it cannot shadow the
function ``jacsolve.solve``.

Small dense systems run the whole iteration in one compiled call (see
:mod:`jacsolve.nonlinear.dense`); large ones use the same Newton loop with
sparse LU steps and coloured sparse Jacobians (``sparsity=``, see
:mod:`jacsolve.nonlinear.sparse`) or Jacobian-free Newton-GMRES
(``method="krylov"``, :mod:`jacsolve.nonlinear.krylov`). This module checks the
arguments, chooses how the solver reaches fun and turns the outcome into a
:class:`RootResult`:

* a compiled fun whose ``args`` pack into one float vector takes the address
  tier: one cached entry (``solve_dense_addressed`` or
  ``solve_krylov_addressed``) receives the addresses of the cached kernels and
  of fun's adapters, so per function only the adapters compile;
* an analytic ``jac``, or args that do not pack, take the specialised tier:
  kernels and an entry point compiled per function;
* plain Python functions, and any solve with a callback, run the same
  algorithm as Python.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

import numba
import numpy as np
from numba import types

from . import dense as NW
from . import krylov as KR
from .._arguments import as_args, as_vector, positive_float, positive_int
from .._numba.calls import evaluate_once, is_typing_error, typing_message
from .._numba.options import is_jitted, python_version, warn_if_python
from .._numba.prepared import auto_method, prepare, returning_form
from .._numba.tiers import address_kernel, addressed_args, specialised
from .._numba.pointers import (ADDRESSED_ARGS, CALLBACK_SIGNATURE, Pointer, algorithm_pointer,
                               entry_point, ev_signature, jac_signature, kernel_addresses,
                               no_callback, no_callback_pointer)
from ..derivatives.coloring import group_columns
from ..derivatives.differences import canonical_method
from ..status import NOT_COMPLEX_SAFE_HINT, FunctionError, Status, fault_error

__all__ = ["solve", "RootResult", "ConvergenceError"]

METHODS = {"auto": NW.AUTO, "newton": NW.NEWTON, "trust-region": NW.TRUST_REGION,
           "broyden": NW.BROYDEN, "krylov": NW.KRYLOV}
DENSE_MAX = 1000  # "auto" without sparsity switches to "krylov" above this many unknowns
JAC_METHODS = ("complex", "central", "forward", "richardson")


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
    jac_method : str
        How Jacobians (or J v products) were taken: ``"complex"``,
        ``"central"``, ``"forward"``, ``"richardson"`` or ``"analytic"``;
        with ``jac="auto"`` the method it chose.
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
    jac_method: str = ""

    def __repr__(self) -> str:
        with np.printoptions(precision=6, threshold=8, edgeitems=3):
            x = repr(self.x)
        return (f"RootResult(success={self.success}, status={self.status.name}, "
                f"fnorm={self.fnorm:.3e}, method={self.method!r}, "
                f"jac_method={self.jac_method!r},\n"
                f"           nit={self.nit}, nfev={self.nfev}, njev={self.njev},\n"
                f"           x={x},\n"
                f"           message={self.message!r})")


class ConvergenceError(RuntimeError):
    """Raised by ``solve(..., raise_on_failure=True)``; ``.result`` holds the RootResult."""

    def __init__(self, result: RootResult):
        super().__init__(result.message)
        self.result = result


def solve(fun: Callable, x0, *, args=(), method: str = "auto", jac="auto",
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
        How to get Jacobians: ``"auto"`` (default): complex step when fun
        compiles for complex input and a one-time check (the first
        Jacobian against central differences, kept per function) finds it
        right, else central differences; the result's ``jac_method`` says
        which. ``"complex"`` (exact, needs a complex-safe fun: an error
        naming the operation otherwise), ``"central"``, ``"forward"``,
        ``"richardson"`` (see :func:`jacsolve.jacobian`), or a callable
        ``jac(x, *args)`` returning the (n, n) Jacobian (a scipy sparse
        matrix is accepted with ``sparsity``). With ``method="krylov"``,
        ``"auto"`` gives J v by complex step or, for a function that is not
        complex-safe, by central differences.
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
        LU (``scipy.sparse.linalg.splu``): the Newton method, with ``"auto"``
        or ``"newton"``, and ``jac`` ``"complex"``, ``"central"``,
        ``"forward"`` or a callable.
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
        When fun raises at x0, or its output length changes from one x to
        another. Where fun raises or returns inf/NaN at a later
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
    fun = returning_form(fun)  # the in-place form, as y = fun(x, *args)
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    x = _vector(x0)
    n = x.size
    args = _writable(args if type(args) is tuple else as_args(args))
    code = METHODS.get(method) if type(method) is str else None
    if code is None:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, "
                         f"got {method!r}")
    if not (type(tol) is float and 0.0 < tol < np.inf):
        tol = positive_float(tol, "tol")
    if not (type(xtol) is float and 0.0 <= xtol < np.inf):
        xtol = positive_float(xtol, "xtol", allow_zero=True)
    maxiter = min(100 * (n + 1), 1000) if maxiter is None else positive_int(maxiter, "maxiter")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    analytic = callable(jac)
    jname = "analytic" if analytic else _jac_name(jac)
    auto = jname == "auto"
    if auto:  # complex step if the one-time check finds it right (x0 not finite: "central")
        jname = auto_method(fun, x, args, "central", names=("x0", "args"))
    if sparsity is not None:
        from . import sparse as SP  # here: it imports scipy.sparse (~0.1 s)

        if code not in (NW.AUTO, NW.NEWTON):
            raise ValueError(f"method={method!r} does not use sparsity; with sparsity use "
                             "method='auto' or 'newton' (or drop sparsity for 'krylov')")
        if not analytic and jname not in SP.SPARSE_JACOBIANS:
            raise ValueError(f"jac={jname!r} does not support sparsity; use "
                             f"{', '.join(map(repr, SP.SPARSE_JACOBIANS))} or a callable")
        run = _sparse_entry(fun, x, args, jac if analytic else jname, sparsity, callback)
        code = NW.NEWTON
    else:
        if code == NW.AUTO and n > DENSE_MAX:
            code = NW.KRYLOV
        if code == NW.KRYLOV and (analytic or not (jname == "complex" or auto)):
            raise ValueError("method='krylov' is Jacobian-free (J v by complex step, or by "
                             "central differences with jac='auto' for a function that is "
                             f"not complex-safe); it takes jac='auto' or 'complex', got "
                             f"jac={jac!r}")
        run = _dense_entry(fun, x, args, code, jac if analytic else None, jname, callback)
    try:
        status, xr, f, stats, hist = run(x, args, code, tol, xtol, maxiter)
    except Exception as exc:
        if is_typing_error(exc):
            raise compile_error(exc, jname) from None
        raise
    if status < 0 or (status == NW.NONFINITE and stats[NW.NIT] == 0):
        _raise_fault(status, fun, x, args)
    result = _result(xr, f, status, stats, hist, method, tol, jname)
    if raise_on_failure and not result.success:
        raise ConvergenceError(result)
    return result


# ---------------------------------------------------------------- validation
def _vector(x0):
    if (type(x0) is np.ndarray and x0.ndim == 1 and x0.dtype.char == "d"
            and x0.flags.c_contiguous and x0.flags.writeable and x0.size):
        return x0  # finiteness is checked by the kernel (status BAD_X)
    return as_vector(x0, "x0")


def _writable(args: tuple) -> tuple:
    """args with read-only arrays copied: they have their own numba type, and
    an entry point compiled for writable arrays would reject them."""
    for a in args:
        if type(a) is np.ndarray and not a.flags.writeable:
            return tuple(a.copy() if type(a) is np.ndarray and not a.flags.writeable else a
                         for a in args)
    return args


def _jac_name(jac) -> str:
    if type(jac) is str and (jac in NW.JACOBIAN_KERNELS and jac != "analytic" or jac == "auto"):
        return jac
    return canonical_method(jac, JAC_METHODS, name="jac")


def _check_x0(x):
    if not np.all(np.isfinite(x)):
        j = int(np.flatnonzero(~np.isfinite(x))[0])
        raise fault_error(NW.BAD_X, x_name="x0", where=f"; x0[{j}] = {x[j]}")


def _issparse(a) -> bool:
    """scipy.sparse.issparse(a), without importing scipy.sparse: if nothing has, a is not sparse."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(a)


def _check_jac_shape(jac, x, args):
    try:
        J = jac(x, *args)
    except Exception as exc:
        if is_typing_error(exc):
            raise TypeError(typing_message(exc, "jac")) from None
        raise FunctionError(f"jac raised {type(exc).__name__}: {exc} at x0") from exc
    shape = J.shape if _issparse(J) else np.shape(J)
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


def _raise_fault(status, fun, x0, args):
    """Raise for what a fault status (or NONFINITE at x0) reports; fun is
    evaluated at x0 again from Python where that gives a clearer error."""
    if status == NW.BAD_X:
        _check_x0(x0)
    if status in (NW.BAD_F_SIZE, NW.NONFINITE):
        _check_f0(fun, x0, args)  # a wrong length at x0, or fun raising there
    if status < 0:
        raise fault_error(status, n=x0.size)


def compile_error(exc, jname):
    """The TypeError for fun that numba could not compile (``jname``: the Jacobian method);
    under complex step the hint comes first, numba's words after it."""
    if not is_typing_error(exc):
        return exc
    if jname != "complex":
        return TypeError(typing_message(exc, "fun"))
    return TypeError(f"{NOT_COMPLEX_SAFE_HINT}; use jac='auto' (the default) or "
                     f"jac='central' for a function that is not. {typing_message(exc, 'fun')}")


# ------------------------------------------------------------- entry points
_ENTRIES: dict = {}
_EMPTY_ARGS_TYPE = numba.typeof(())


def _args_type(args):
    if not args:
        return _EMPTY_ARGS_TYPE
    try:
        return numba.typeof(args)
    except ValueError:  # numba cannot type an empty list, an arbitrary object, ...
        for i, a in enumerate(args):
            try:
                numba.typeof(a)
            except ValueError:
                raise TypeError(f"args[{i}] cannot be passed to a compiled fun: numba has no "
                                f"type for {type(a).__name__} {a!r:.60}; pass numbers, numpy "
                                "arrays or tuples of them") from None
        raise


_KERNELS: dict = {}


def addressed_kernels(derivative: str) -> np.ndarray:
    """Address pairs of the cached ``ev``, derivative and callback kernels and
    of the solver, for the address tier (the same for every user function):
    ``derivative`` is a Jacobian method of
    :data:`~jacsolve.nonlinear.dense.JACOBIAN_KERNELS` (the solver is
    ``solve_dense``) or a key of :data:`~jacsolve.nonlinear.krylov.JVP_KERNELS`
    (Krylov's J v, and ``solve_krylov``)."""
    found = _KERNELS.get(derivative)
    if found is not None:
        return found
    if derivative in KR.JVP_KERNELS:
        second = (address_kernel(KR.JVP_KERNELS[derivative]), KR.jvp_signature(ADDRESSED_ARGS))
        solver = (KR.solve_krylov, KR.ADDRESSED_SOLVER_SIGNATURE)
    else:
        second = (address_kernel(NW.JACOBIAN_KERNELS[derivative]),
                  jac_signature(ADDRESSED_ARGS))
        solver = (NW.solve_dense, NW.ADDRESSED_SOLVER_SIGNATURE)
    found = _KERNELS[derivative] = kernel_addresses(
        (address_kernel(NW.evaluate_into), ev_signature(ADDRESSED_ARGS)), second,
        (no_callback, CALLBACK_SIGNATURE), solver)
    return found


def _addressed_entry(fun, krylov, jname, args):
    """The address-tier solve, or None when args do not pack into one vector."""
    try:
        packed = addressed_args(fun, args, real=True, complex_=jname == "complex",
                                jac="jac")
    except TypeError as exc:
        raise adapter_error(exc) from None
    if packed is None:
        return None
    kernels = addressed_kernels(KR.jvp_name(jname) if krylov else jname)
    entry = KR.solve_krylov_addressed if krylov else NW.solve_dense_addressed
    p, rc, rj, cc, cj = packed

    def run(x0, args, method, tol, xtol, maxiter):
        return entry(kernels, x0, p, rc, rj, cc, cj, method, tol, xtol, maxiter)
    return run


def adapter_error(exc: TypeError) -> TypeError:
    """The TypeError for fun whose adapter did not compile (a not-complex-safe
    verdict and fun's own output errors pass unchanged)."""
    text = str(exc)
    if "not complex-safe" in text or "must return" in text:
        return exc
    return TypeError(typing_message(exc, "fun"))


def _compiled_entry(fun, krylov, jac, jname, args):
    """The specialised solve for (fun, algorithm, Jacobian, type of args), built once."""
    argty = _args_type(args)
    key = (fun, krylov, jac if jac is not None else jname, argty if args else None)
    entry = _ENTRIES.get(key)
    if entry is None:
        if len(_ENTRIES) >= 512:
            _ENTRIES.clear()
        try:
            ev = _ev_pointer(fun, argty)
            if krylov:
                algorithm, sig = KR.solve_krylov, KR.jvp_signature(argty)
                derivative = Pointer(specialised(KR.JVP_KERNELS[KR.jvp_name(jname)], fun), sig)
            else:
                algorithm, sig = NW.solve_dense, jac_signature(argty)
                target = fun if jac is None else jac
                derivative = Pointer(specialised(NW.JACOBIAN_KERNELS[jname], target), sig)
            solver = algorithm_pointer(
                algorithm, NW.solver_signature(argty, types.FunctionType(sig)))
            entry = entry_point(solver, (ev, derivative, no_callback_pointer()),
                                params=NW.SOLVE_PARAMS, outputs=NW.SOLVE_OUTPUTS,
                                alloc=NW.allocate, alloc_params=("x0", "maxiter"))
        except Exception as exc:
            raise compile_error(exc, jname) from None
        _ENTRIES[key] = entry
    return entry


def _ev_pointer(fun, argty):
    return Pointer(specialised(NW.evaluate_into, fun), ev_signature(argty))


_ADDRESSED_EV: list = []


def _addressed_ev_pointer() -> Pointer:
    """The cached evaluation kernel of the address tier as a Pointer (callable
    from Python too): one per process."""
    if not _ADDRESSED_EV:
        _ADDRESSED_EV.append(Pointer(address_kernel(NW.evaluate_into),
                                     ev_signature(ADDRESSED_ARGS)))
    return _ADDRESSED_EV[0]


def _as_python(solver, ev, derivative, callback, packed=None):
    """An entry point like the compiled one, running ``solver`` as Python;
    ``packed`` replaces the caller's args (the address tier's args tuple)."""
    def run(x0, args, method, tol, xtol, maxiter):
        x, f, stats, hist = NW.allocate(x0, maxiter)
        status = solver(ev, derivative, callback, x0, args if packed is None else packed,
                        method, tol, xtol, maxiter, x, f, stats, hist)
        return status, x, f, stats, hist
    return run


def _python_callback(callback):
    if callback is None:
        return no_callback
    return lambda x, f: bool(callback(x.copy(), f.copy()))


def _dense_entry(fun, x, args, code, jac, jname, callback):
    """The dense or Krylov solve: compiled (address tier, else specialised), or
    as Python for plain functions and callbacks."""
    jitted = prepare(fun).jitted and (jac is None or is_jitted(jac))
    if jac is not None:
        _check_x0(x)
        _check_jac_shape(jac, x, args)
    if jitted and callback is None:
        if code == NW.KRYLOV:
            _check_x0(x)
        run = None if jac is not None else _addressed_entry(fun, code == NW.KRYLOV, jname,
                                                            args)
        return run or _compiled_entry(fun, code == NW.KRYLOV, jac, jname, args)
    _check_x0(x)
    if not is_jitted(fun):
        warn_if_python(fun, stacklevel=4)
    _check_f0(fun, x, args)
    ev = partial(python_version(NW.evaluate_into), fun)
    if code == NW.KRYLOV:
        solver = python_version(KR.solve_krylov)
        derivative = partial(python_version(KR.JVP_KERNELS[KR.jvp_name(jname)]), fun)
    else:
        solver = python_version(NW.solve_dense)
        target = fun if jac is None else jac
        derivative = partial(python_version(NW.JACOBIAN_KERNELS[jname]), target)
    return _as_python(solver, ev, derivative, _python_callback(callback))


def _sparse_entry(fun, x, args, jac, sparsity, callback):
    """Newton with sparse LU steps: the dense Newton loop run as Python on
    sparse storage (:mod:`jacsolve.nonlinear.sparse`), with fun's evaluations
    and coloured Jacobians compiled when fun is (address tier where args
    pack, else specialised)."""
    _check_x0(x)
    n = x.size
    if not is_jitted(fun):
        warn_if_python(fun, stacklevel=4)
    _check_f0(fun, x, args)
    groups = group_columns(sparsity, shape=(n, n))
    if callable(jac):
        _check_jac_shape(jac, x, args)
    compiled = is_jitted(fun)
    packed = None
    if compiled:
        try:
            packed = addressed_args(fun, args, real=True, complex_=jac == "complex", jac="jac")
        except TypeError as exc:
            raise adapter_error(exc) from None
    if packed is not None:
        ev = _addressed_ev_pointer()
    elif compiled:
        key = (fun, "sparse-ev", _args_type(args))
        ev = _ENTRIES.get(key)
        if ev is None:
            ev = _ENTRIES[key] = _ev_pointer(fun, _args_type(args))
    else:
        ev = partial(python_version(NW.evaluate_into), fun)
    from . import sparse as SP  # here: it imports scipy.sparse (~0.1 s)

    kernel = SP.jacobian_kernel(fun, jac, groups, n, args, addressed=packed is not None)
    return _as_python(SP.newton_solver(compiled), ev, kernel, _python_callback(callback),
                      packed)


# -------------------------------------------------------------------- results
def _result(x, f, status, stats, hist, method, tol, jac_method=""):
    st = _STATUS[status]
    fnorm = float(NW.maxabs(f))
    success = status == NW.SUCCESS and fnorm <= tol
    nit, nfev, njev, nfail, nhist, used = stats.tolist()[:6]
    msg = (f"{st.message} (max|F| = {fnorm:.2e} <= tol = {tol:g})" if success else
           f"{st.message}. max|F| = {fnorm:.2e} > tol = {tol:g}")
    if nfail:
        msg += (f"; fun raised or returned inf/NaN at {nfail} trial point"
                f"{'s' if nfail > 1 else ''}, treated as failed steps")
    name = _NAMES.get((method, used)) or _method_name(method, used)
    return RootResult(x, f, success, st, msg, nit, nfev, njev, fnorm, hist[:nhist].copy(), name,
                      jac_method)


_STATUS = {int(s): s for s in Status}
_NAMES: dict = {}


def _method_name(method, used):
    name = NW.METHOD_NAMES[used] if 0 <= used < len(NW.METHOD_NAMES) else method
    if method == "auto" and name != "auto":
        name = f"auto ({name})"
    _NAMES[(method, used)] = name
    return name
