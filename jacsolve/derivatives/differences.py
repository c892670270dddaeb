"""Jacobians, Jacobian-vector products and Hessians by finite differences.

The public functions validate their input in Python, then run one compiled
kernel from :mod:`jacsolve.derivatives.kernels` specialised on the user
function (numba functions) or the same kernel's Python implementation (plain
functions). Kernels report caller faults as codes of :mod:`jacsolve.status`,
which :func:`jacsolve.status.fault_error` turns into exceptions here.

Conventions: for ``f: R^n -> R^m``, ``J`` has shape (m, n), row i holding the
partials of output i; for a scalar ``f`` it has shape (n,).
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from . import kernels as K
from .._numba.options import kernel_njit, warn_if_python
from .._numba.prepared import prepare
from .._numba.tiers import address_kernel, addressed_args, bind
from .._arguments import as_args, as_bounds, as_choice, as_scale, as_vector, positive_float
from .._numba.calls import call_kernel, evaluate_once
from ..status import (BAD_F0, BAD_F_SIZE, BAD_X, NOT_COMPLEX_SAFE_HINT, OK, Status, fault_error,
                      not_complex_safe)
from .coloring import ColumnGroups, group_columns
from .kernels import (all_finite, jacobian_central_t, jacobian_complex_t,
                      jacobian_forward_t, jacobian_richardson_full_t, relative_steps, value_at)

__all__ = ["jacobian", "jvp", "vjp", "hessian", "check_complex_step",
           "JacobianInfo", "ComplexStepCheck", "DerivativeAccuracyWarning", "METHODS"]

EPS = np.finfo(np.float64).eps
METHODS = ("forward", "central", "complex", "richardson")
_ALIASES = {"2-point": "forward", "3-point": "central", "cs": "complex"}
DEFAULT_REL_STEP = {"forward": EPS ** 0.5, "central": EPS ** (1 / 3),
                    "complex": K.COMPLEX_STEP, "richardson": 0.1}


def canonical_method(method: str, allowed=METHODS, name: str = "method") -> str:
    m = _ALIASES.get(method, method) if isinstance(method, str) else method
    return as_choice(m, name, allowed, note=" (or the aliases '2-point', '3-point', 'cs')")


COMPLETE = "every Jacobian entry is finite"


class DerivativeAccuracyWarning(RuntimeWarning):
    """Some derivatives did not converge: their values may be far off.

    ``method="richardson"`` warns so, naming the variables (columns) whose
    extrapolation did not converge and what limited their steps (a bound, or
    fun being inf or NaN close by). ``JacobianInfo.converged`` marks the
    entries; ``JacobianInfo.error`` holds their error estimates.
    """


@dataclass(frozen=True, slots=True)
class JacobianInfo:
    """What a Jacobian cost, how accurate it is, and whether every entry is finite.

    Attributes
    ----------
    nfev : int
        Evaluations of ``fun`` (complex ones included).
    method : str
        The method used (aliases resolved).
    step : ndarray
        The (initial) step of each variable.
    error : ndarray or None
        Per-entry error estimate, same shape as J (``"richardson"`` only). On
        converged entries it bounds the true error (tested on the hard cases
        of :mod:`jacsolve.problems.hard_cases` and on random scales, rates,
        poles and domain edges); it is never below ~9e-13 relative. It
        counts fun's values rounded to a few ulps: a fun computed to a
        coarser tolerance (an inner bisection or iteration stopped at 1e-14,
        say) can leave an error a few times beyond it. On the
        others it is at least the spread of the quotients at smaller steps.
    ngroups : int or None
        Column groups of a sparse Jacobian (evaluations per difference).
    success : bool
        False when some entries are NaN because ``fun`` was inf or NaN on
        both sides of x for their variables, or (``"richardson"``) when some
        entries did not converge.
    status : Status
        ``Status.SUCCESS``; ``Status.NONFINITE`` for those NaN entries;
        ``Status.NOT_CONVERGED`` for entries that did not converge.
    message : str
        What happened; on failure, which variables and what to try.
    converged : ndarray of bool or None
        ``"richardson"`` only, shape of J: whether each entry's extrapolation
        converged (its estimate below 1e-8 of it, or at rounding level).
    """
    nfev: int
    method: str
    step: np.ndarray
    error: Optional[np.ndarray] = None
    ngroups: Optional[int] = None
    success: bool = True
    status: Status = Status.SUCCESS
    message: str = COMPLETE
    converged: Optional[np.ndarray] = None

    def __repr__(self) -> str:
        err = "None" if self.error is None else f"max {np.nanmax(self.error):.2e}"
        extra = "" if self.ngroups is None else f", ngroups={self.ngroups}"
        if self.converged is not None and not np.all(self.converged):
            extra += f", not converged={int(np.size(self.converged) - np.sum(self.converged))}"
        return (f"JacobianInfo(method={self.method!r}, nfev={self.nfev}, error={err}{extra}, "
                f"success={self.success}, status={self.status.name})")


_UNBOUNDED: dict = {}
_ONES: dict = {}
_EMPTY = np.empty(0)
_EMPTY2 = np.empty((0, 0))


def _unbounded(n: int):
    pair = _UNBOUNDED.get(n)
    if pair is None:
        pair = _UNBOUNDED[n] = (np.full(n, -np.inf), np.full(n, np.inf))
    return pair


def _scale(x_scale, n):
    if x_scale is None or (type(x_scale) in (float, int) and x_scale == 1):
        s = _ONES.get(n)
        if s is None:
            s = _ONES[n] = np.ones(n)
        return s
    return as_scale(x_scale, n)


def _vector(x, name="x"):
    """Fast path for a float64 C-contiguous 1-D array; finiteness is checked later."""
    if (type(x) is np.ndarray and x.ndim == 1 and x.dtype.char == "d"
            and x.flags.c_contiguous and x.size):
        return x
    return as_vector(x, name, finite=False)


class _Problem:
    """A validated (fun, x, args), with f(x) when it had to be evaluated in Python."""
    __slots__ = ("fun", "x", "args", "record", "f0", "scalar")

    def __init__(self, fun, x, args, need_f0=False):
        self.fun = fun
        self.x = _vector(x)
        self.args = args if type(args) is tuple else as_args(args)
        self.record = rec = prepare(fun)
        self.f0 = None
        if not rec.jitted:
            if not callable(fun):
                raise TypeError(f"fun must be callable, got {type(fun).__name__}")
            as_vector(self.x, "x")  # raises, naming the first non-finite entry
            warn_if_python(fun, stacklevel=4)
            self.f0, self.scalar = evaluate_once(fun, self.x, self.args)
            _check_f0(self.f0)
            return
        # whether fun returns a scalar depends on the argument types: learn it once
        key = tuple(map(type, self.args)) if self.args else ()
        self.scalar = rec.returns_scalar.get(key)
        if need_f0 or self.scalar is None:
            as_vector(self.x, "x")
            self.f0, self.scalar = evaluate_once(fun, self.x, self.args)
            _check_f0(self.f0)
            rec.returns_scalar[key] = self.scalar

    def run(self, kernel, *a):
        complex_step = kernel in _COMPLEX_KERNELS
        try:
            call = bind(kernel, self.fun, real=not complex_step, complex_=complex_step,
                        jac="method")
            return call_kernel(call, self.x, self.args, *a)
        except TypeError as exc:
            raise _complex_hint(exc, "complex" if complex_step else "") from None


def _check_f0(f0):
    if not np.all(np.isfinite(f0)):
        i = int(np.flatnonzero(~np.isfinite(f0))[0])
        raise fault_error(BAD_F0, where=f": output {i} is {f0[i]}")


def _complex_hint(exc: TypeError, method: str) -> TypeError:
    """A compile error under complex step usually means fun is not complex-safe."""
    if method != "complex" or "complex" not in str(exc) or "not complex-safe" in str(exc):
        return exc
    return not_complex_safe(jac="method", detail=f"it cannot be evaluated at complex x: {exc}")


def _rel_step(rel_step, default: float, n: int = 0):
    """The relative step asked for (finite and positive), or the method's default.

    ``n`` > 0 accepts one step per variable (an array of n); ``n`` = 0 a scalar only.
    """
    if rel_step is None:
        return default
    if n and np.ndim(rel_step) > 0:
        return as_scale(rel_step, n, "rel_step")
    if np.ndim(rel_step) > 0:
        raise ValueError(f"rel_step must be a scalar here, got shape {np.shape(rel_step)}")
    return float(as_scale(rel_step, 1, "rel_step")[0])


def _raise_fault(status: int, n: int = -1) -> None:
    """Raise the exception for a caller fault reported by a kernel (status < 0)."""
    if status < 0:
        raise fault_error(status, jac="method", n=n)


def _outcome(status: int, nan_variables=None, what: str = "") -> tuple:
    """(Status, message) of a kernel run, raising the caller faults.

    ``nan_variables``: the variables whose Jacobian entries are NaN because fun
    was inf or NaN on both sides of x; None for the products and Hessians,
    whose ``what`` says what is not finite. Non-finite results also warn.
    """
    _raise_fault(status)
    if status != K.NONFINITE:
        return Status.SUCCESS, COMPLETE
    if nan_variables is None:
        message = f"fun returned inf or NaN near x; {what}: check the domain of fun there"
    else:
        message = (f"fun returned inf or NaN on both sides of x for variables "
                   f"{np.asarray(nan_variables).tolist()}; their Jacobian entries are NaN: "
                   "check the domain of fun there, or give bounds")
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    return Status.NONFINITE, message


# Drivers: one compiled call from Python does the finiteness check, the steps
# and the kernel. Each returns (Jt, status, nfev); richardson (Jt, Et, status,
# nfev). Few return values: boxing each costs ~0.3 us per call.
@kernel_njit(inline=True)
def _drive_forward(fun, x, args, f0, rel, scale, lower, upper):
    if not all_finite(x):
        return np.empty((0, 0)), BAD_X, 0
    f0, nfev0 = value_at(fun, x, args, f0)
    if not all_finite(f0):
        return np.empty((0, 0)), BAD_F0, nfev0
    Jt, status, nfev = jacobian_forward_t(fun, x, args, f0, relative_steps(x, rel, scale),
                                          lower, upper)
    return Jt, status, nfev + nfev0


@kernel_njit(inline=True)
def _drive_central(fun, x, args, f0, rel, scale, lower, upper):
    if not all_finite(x):
        return np.empty((0, 0)), BAD_X, 0
    return jacobian_central_t(fun, x, args, f0, relative_steps(x, rel, scale), lower, upper)


@kernel_njit(inline=True)
def _drive_complex(fun, x, args, f0, rel, scale, lower, upper):
    if not all_finite(x):
        return np.empty((0, 0)), BAD_X, 0
    return jacobian_complex_t(fun, x, args, relative_steps(x, rel, scale))


@kernel_njit(inline=True)
def _drive_richardson(fun, x, args, f0, rel, scale, lower, upper):
    # returns (Jt, Et, Ct, limit, status, nfev)
    if not all_finite(x):
        e = np.empty((0, 0))
        return e, e, np.empty((0, 0), dtype=np.bool_), np.empty(0, dtype=np.int64), BAD_X, 0
    f0, nfev0 = value_at(fun, x, args, f0)
    if not all_finite(f0):
        e = np.empty((0, 0))
        return e, e, np.empty((0, 0), dtype=np.bool_), np.empty(0, dtype=np.int64), BAD_F0, nfev0
    Jt, Et, Ct, limit, status, nfev = jacobian_richardson_full_t(
        fun, x, args, f0, relative_steps(x, rel, scale), lower, upper)
    return Jt, Et, Ct, limit, status, nfev + nfev0


_DRIVERS = {"forward": _drive_forward, "central": _drive_central,
            "complex": _drive_complex, "richardson": _drive_richardson}
# kernels that evaluate fun at complex points only
_COMPLEX_KERNELS = {_drive_complex, K.jvp_complex, K.hessian_complex, K.sparse_complex}
_METHOD = {m: m for m in METHODS}
_METHOD.update(_ALIASES)


def jacobian(fun: Callable, x, *, args=(), method: str = "central",
             rel_step=None, x_scale=1.0, bounds=None, sparsity=None,
             full_output: bool = False):
    """Jacobian of ``fun`` at ``x`` by finite differences or complex step.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` returning a 1-D array of length m or a scalar. A
        numba function (``@jacsolve.jit``) runs compiled; a plain Python one
        works too, with a :class:`~jacsolve.PerformanceWarning`.
    x : array_like, shape (n,)
        Point of differentiation; must be finite.
    args : tuple, optional
        Extra arguments of ``fun``.
    method : {"central", "forward", "complex", "richardson"}, optional
        ``"forward"`` (n+1 evaluations, error ~1e-8), ``"central"`` (2n,
        ~1e-10), ``"complex"`` (n complex evaluations, exact to rounding, needs
        a complex-safe ``fun``; see :func:`check_complex_step`),
        ``"richardson"`` (extrapolation over power-of-two steps halving from
        about 0.1 until each entry converges, then checked at a step off that
        sequence: 8n-12n evaluations on smooth functions, up to ~40n on hard
        ones; ~1e-13, with an error estimate that bounds the error where it
        converged, and a :class:`DerivativeAccuracyWarning` where it did
        not). SciPy's
        ``"2-point"``, ``"3-point"`` and ``"cs"`` are accepted.
    rel_step : float or array_like of shape (n,), optional
        Relative step, one for all variables or one each; the step of x_j
        is ``rel_step_j * max(|x_j|, x_scale_j)``. Defaults: eps**0.5
        (forward), eps**(1/3) (central), 1e-20 (complex), 0.1 (initial step
        of richardson). SciPy's ``approx_derivative`` takes a given rel_step
        times ``|x_j|`` alone (falling back to its default rule at x_j = 0);
        jacsolve keeps ``x_scale`` as the floor, so a variable near 0 never
        gets a step that is tiny against its typical magnitude.
    x_scale : float or array_like, optional
        Typical magnitude of each variable (default 1). Steps never shrink
        below ``rel_step * x_scale``: give the scale of variables whose
        natural size is far from 1 but whose value may be near 0.
    bounds : (lower, upper), optional
        ``fun`` is never evaluated outside them: at a bound a one-sided
        second-order formula is used. ``x`` must lie within.
    sparsity : array_like of bool, scipy sparse, ColumnGroups, or tuple, optional
        Pattern (m, n) of the nonzeros. Columns sharing no row are perturbed
        together and the result is a ``scipy.sparse.csr_array``. SciPy's
        ``(pattern, groups)`` is accepted: the groups are checked and used.
    full_output : bool, optional
        Also return a :class:`JacobianInfo` (evaluation count, steps, and for
        ``"richardson"`` a per-entry error estimate and which entries
        converged).

    Warns
    -----
    DerivativeAccuracyWarning
        ``"richardson"``: some entries did not converge (the columns are
        named; ``info.converged`` marks them, and ``info.error`` estimates
        their error).

    Returns
    -------
    J : ndarray, shape (m, n) or (n,), or csr_array
    info : JacobianInfo
        Only if ``full_output``.

    Notes
    -----
    Steps are divided by the step actually taken, ``(x + h) - x``. Where
    ``fun`` returns inf or NaN on one side, the other side is used.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> @jacsolve.jit
    ... def f(x):
    ...     return np.array([x[0] * x[1], np.sin(x[0])])
    >>> J = jacsolve.jacobian(f, [1.0, 2.0], method="complex")
    >>> np.allclose(J, [[2.0, 1.0], [np.cos(1.0), 0.0]], rtol=1e-15)
    True
    """
    fast = _FAST.get((fun, method)) if type(args) is tuple and not args else None
    if (fast is not None and type(x) is np.ndarray and rel_step is None
            and type(x_scale) in (int, float) and x_scale == 1.0
            and bounds is None and sparsity is None and not full_output):
        J = fast(x)
        if J is not None:
            return J
    chosen = _METHOD.get(method) if type(method) is str else None
    method = canonical_method(method) if chosen is None else chosen
    # a precomputed ColumnGroups knows m: fun(x) need not be evaluated in Python
    prob = _Problem(fun, x, args,
                    need_f0=sparsity is not None and not isinstance(sparsity, ColumnGroups))
    n = prob.x.size
    rel = _rel_step(rel_step, DEFAULT_REL_STEP[method], n)
    scale = _scale(x_scale, n)
    lower, upper = _unbounded(n) if bounds is None else as_bounds(bounds, prob.x)
    if sparsity is not None:
        return _sparse(prob, method, rel, scale, lower, upper, sparsity, full_output)
    f0 = _EMPTY if prob.f0 is None else prob.f0
    try:
        out = prob.run(_DRIVERS[method], f0, rel, scale, lower, upper)
    except TypeError as exc:
        raise _complex_hint(exc, method) from None
    Ct = limit = None
    if method == "richardson":
        Jt, Et, Ct, limit, status, nfev = out
    else:
        Jt, status, nfev = out
    if status == BAD_X:
        as_vector(prob.x, "x")  # raises, naming the first non-finite entry
    if status == OK and prob.f0 is not None and Jt.shape[1] != prob.f0.size:
        status = BAD_F_SIZE  # every perturbed output had another length than fun(x)
    outcome = (Status.SUCCESS, COMPLETE) if status == OK else _outcome(status, _nan_rows(Jt))
    if Ct is not None and outcome[0] == Status.SUCCESS and not Ct.all():
        outcome = _not_converged(Ct, limit)
    J = Jt.T[0] if prob.scalar else Jt.T
    if (status == OK and not prob.args and rel_step is None and bounds is None
            and type(x_scale) in (int, float) and x_scale == 1.0):
        _remember_fast_path(fun, method, prob)
    if not full_output:
        return J
    error = converged = None
    if method == "richardson":
        error = Et.T[0] if prob.scalar else Et.T
        converged = Ct.T[0] if prob.scalar else Ct.T
    if prob.f0 is not None:
        nfev += 1  # fun(x), evaluated in Python to check its output
    return J, JacobianInfo(int(nfev), method, relative_steps(prob.x, rel, scale), error,
                           None, outcome[0] == Status.SUCCESS, *outcome, converged)


_LIMITS = {K.LIMIT_BOUND: "a bound limited the steps",
           K.LIMIT_NONFINITE: "fun was inf or NaN at some steps (a pole, overflow or "
                              "the edge of its domain close by)"}


def _not_converged(Ct, limit) -> tuple:
    """(Status.NOT_CONVERGED, message) for Richardson entries that did not
    converge, with a DerivativeAccuracyWarning naming their columns."""
    cols = np.flatnonzero(~Ct.all(axis=1))
    reasons = sorted({int(limit[j]) for j in cols} - {K.LIMIT_NONE})
    why = "; ".join(f"{_LIMITS[r]} (variables {cols[limit[cols] == r].tolist()})"
                    for r in reasons)
    message = (f"Richardson extrapolation did not converge for variables {cols.tolist()}"
               f" ({int((~Ct).sum())} entries): their values may be far off, see "
               f"info.error and info.converged{'; ' + why if why else ''}. Try "
               "method='complex' (complex-safe fun), x_scale near the scale on which fun "
               "varies, or a point further from the singularity or bound")
    warnings.warn(message, DerivativeAccuracyWarning, stacklevel=3)
    return Status.NOT_CONVERGED, message


# (fun, method) -> the Jacobian with default options as one compiled call, for
# functions seen before: the checks and the packing were done on the first call.
_FAST: dict = {}


def _remember_fast_path(fun, method, prob) -> None:
    if not prob.record.jitted or len(_FAST) >= 512 or method == "richardson":
        return
    complex_step = method == "complex"
    packed = addressed_args(fun, (), real=not complex_step, complex_=complex_step)
    if packed is None:
        return
    wrapper = address_kernel(_DRIVERS[method])
    n, scalar, rel = prob.x.size, prob.scalar, DEFAULT_REL_STEP[method]
    scale, (lower, upper) = _scale(1.0, n), _unbounded(n)

    def jacobian_fast(x):
        if not (x.ndim == 1 and x.size == n and x.dtype.char == "d" and x.flags.c_contiguous
                and x.flags.writeable):
            return None
        Jt, status, nfev = wrapper(x, packed, _EMPTY, rel, scale, lower, upper)
        if status != OK:
            return None  # the full path reports it
        return Jt.T[0] if scalar else Jt.T
    _FAST[(fun, method)] = jacobian_fast


def _nan_rows(Jt) -> np.ndarray:
    """Variables whose row of the transposed Jacobian is all NaN."""
    return np.flatnonzero(np.isnan(Jt).all(axis=1)) if Jt.shape[1] else np.empty(0, int)


# ColumnGroups -> a csr_array of its pattern, whose structure each result copies
_TEMPLATES: dict = {}


def _csr(groups, data):
    template = _TEMPLATES.get(groups)
    if template is None:
        import scipy.sparse as sp  # here: importing it costs ~0.1 s, dense work needs none of it

        if len(_TEMPLATES) >= 64:
            _TEMPLATES.clear()
        template = _TEMPLATES[groups] = sp.csr_array(
            (np.zeros(groups.nnz), groups.indices, groups.indptr), shape=groups.shape)
    # a shallow copy with new arrays: csr_array's constructor would check the
    # structure again on every call, which costs more than the evaluations
    J = copy.copy(template)
    J.data, J.indices, J.indptr = data, template.indices.copy(), template.indptr.copy()
    return J


def _sparse(prob, method, rel, scale, lower, upper, sparsity, full_output):
    n = prob.x.size
    m = prob.f0.size if prob.f0 is not None else sparsity.shape[0]
    groups = group_columns(sparsity, shape=(m, n))
    g = (groups.cols, groups.cptr, groups.nz, groups.gptr, groups.row_of, groups.col_of,
         groups.nnz)
    h = relative_steps(prob.x, rel, scale)
    f0 = _EMPTY if prob.f0 is None else prob.f0
    if method == "forward":
        data, status, nfev = prob.run(K.sparse_forward, f0, h, lower, upper, *g)
    elif method == "central":
        data, status, nfev = prob.run(K.sparse_central, f0, h, lower, upper, *g)
    elif method == "complex":
        data, status, nfev = prob.run(K.sparse_complex, h, m, *g)
    else:
        raise ValueError("method='richardson' does not support sparsity; "
                         "use 'complex' or 'central'")
    if status == BAD_F_SIZE and prob.f0 is None:
        raise fault_error(BAD_F_SIZE, n=m, where=" (the number of rows of sparsity)")
    outcome = (Status.SUCCESS, COMPLETE) if status == OK else _outcome(
        status, np.unique(groups.col_of[np.isnan(data)]))
    J = _csr(groups, data)
    if not full_output:
        return J
    if prob.f0 is not None:
        nfev += 1  # fun(x), evaluated in Python to check its output
    return J, JacobianInfo(int(nfev), method, h, None, groups.ngroups,
                           outcome[0] == Status.SUCCESS, *outcome)


def _direction_step(method, x, v, rel_step):
    """A scalar step t along v, per direction: the largest move of a variable
    relative to its own size, ``max_j |t v_j| / max(1, |x_j|)``, is the
    relative step (a variable of size 1 next to one of size 100 moves by a
    step fit for size 1)."""
    wmax = float(np.max(np.abs(v) / np.maximum(1.0, np.abs(x))))
    if wmax == 0:
        return 1.0
    return _rel_step(rel_step, DEFAULT_REL_STEP[method]) / wmax


def jvp(fun: Callable, x, v, *, args=(), method: str = "complex", rel_step=None):
    """Jacobian-vector product ``J(x) @ v`` without forming J.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` returning a 1-D array or a scalar.
    x, v : array_like, shape (n,)
        Point and direction.
    method : {"complex", "central", "forward"}, optional
        ``"complex"`` costs one complex evaluation and is exact to rounding;
        ``"central"`` two evaluations; ``"forward"`` two (with f(x)).
    rel_step : float, optional
        Relative step: the step t along v moves each variable by at most
        ``rel_step * max(1, |x_j|)`` (defaults as for :func:`jacobian`).

    Returns
    -------
    ndarray, shape (m,), or float for a scalar fun

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> f = jacsolve.jit(lambda x: np.array([x[0] ** 2, x[0] * x[1]]))
    >>> jacsolve.jvp(f, [3.0, 2.0], [1.0, 0.0])
    array([6., 2.])
    """
    method = canonical_method(method, ("complex", "central", "forward"))
    prob = _Problem(fun, x, args, True)
    vv = as_vector(v, "v")
    if vv.size != prob.x.size:
        raise ValueError(f"v must have the shape of x, ({prob.x.size},), got ({vv.size},)")
    h = _direction_step(method, prob.x, vv, rel_step)
    if method == "complex":
        out, status, nfev = prob.run(K.jvp_complex, vv, h)
    elif method == "central":
        out, status, nfev = prob.run(K.jvp_central, vv, h)
    else:
        out, status, nfev = prob.run(K.jvp_forward, vv, h, prob.f0)
    if status != OK:
        _outcome(status, what="the product is not finite")
    return float(out[0]) if prob.scalar else out


def vjp(fun: Callable, x, w, *, args=(), method: str = "complex", rel_step=None,
        x_scale=1.0):
    """Vector-Jacobian product ``J(x).T @ w``: the gradient of ``w . fun(x)``.

    This is the backpropagation product: the sensitivity of a weighted sum of
    the outputs to each input. It costs one Jacobian (n evaluations).

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` returning a 1-D array of length m or a scalar.
    x : array_like, shape (n,)
    w : array_like, shape (m,), or a scalar for a scalar fun
    method : str, optional
        Any method of :func:`jacobian`; default ``"complex"``.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> f = jacsolve.jit(lambda x: np.array([x[0] ** 2, x[0] * x[1]]))
    >>> w = np.array([1.0, 1.0])
    >>> g = jacsolve.vjp(f, [3.0, 2.0], w)
    >>> g, bool(np.allclose(g, w @ jacsolve.jacobian(f, [3.0, 2.0])))
    (array([8., 3.]), True)
    """
    J = jacobian(fun, x, args=args, method=method, rel_step=rel_step, x_scale=x_scale)
    J2 = J.reshape(1, -1) if J.ndim == 1 else J
    ww = as_vector(w, "w")
    if ww.size != J2.shape[0]:
        raise ValueError(f"w must have the length of fun's output, {J2.shape[0]}, got {ww.size}")
    return J2.T @ ww


def hessian(fun: Callable, x, *, args=(), method: str = "complex", rel_step=None,
            x_scale=1.0):
    """Hessian of a scalar-valued ``fun`` at ``x``.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` returning a scalar (or a length-1 array).
    x : array_like, shape (n,)
    method : {"complex", "central"}, optional
        ``"complex"``: central differences of complex-step gradients at
        steps h and h/2 (h = eps**(1/5) relative), Richardson-extrapolated:
        4n**2 complex evaluations, relative error ~1e-12.
        ``"central"``: the four-point formula at steps h and h/2 (h =
        eps**(1/6) relative), Richardson-extrapolated: 4n(n+1)+1 real
        evaluations, relative error ~1e-10, for functions that are not
        complex-safe.
    rel_step : float, optional
        Relative step of the outer differences (see :func:`jacobian`).
    x_scale : float or array_like, optional
        Typical magnitude of each variable (see :func:`jacobian`).

    Returns
    -------
    ndarray, shape (n, n), symmetric

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> f = jacsolve.jit(lambda x: x[0] ** 2 * x[1])
    >>> np.round(jacsolve.hessian(f, [1.0, 3.0]), 8)
    array([[6., 2.],
           [2., 0.]])
    """
    method = canonical_method(method, ("complex", "central"))
    prob = _Problem(fun, x, args, True)
    if not prob.scalar and prob.f0 is not None and prob.f0.size != 1:
        raise ValueError(f"hessian needs a scalar-valued fun; fun returned {prob.f0.size} values")
    scale = _scale(x_scale, prob.x.size)
    n = prob.x.size
    if method == "complex":
        hd = relative_steps(prob.x, _rel_step(rel_step, EPS ** (1 / 5), n), scale)
        H, status, nfev = prob.run(K.hessian_complex, K.complex_steps(prob.x, scale), hd)
    else:
        hd = relative_steps(prob.x, _rel_step(rel_step, EPS ** (1 / 6), n), scale)
        H, status, nfev = prob.run(K.hessian_central, hd)
    if status != OK:
        _raise_fault(status, n=1)  # BAD_F_SIZE: fun's output stopped being a scalar
        _outcome(status, what="some Hessian entries are not finite")
    return H


@dataclass(frozen=True, slots=True)
class ComplexStepCheck:
    """Result of :func:`check_complex_step`.

    ``success`` (alias ``ok``) is True when every column checked agrees with
    central differences. ``max_rel_diff`` is the largest column-wise relative
    difference, ``bad_columns`` the variables whose complex-step column
    disagrees (all of them when fun cannot be evaluated at complex x), and
    ``message`` says which and what to do.
    """
    success: bool
    max_rel_diff: float
    bad_columns: np.ndarray
    message: str

    @property
    def ok(self) -> bool:
        """Alias of ``success``."""
        return self.success


def check_complex_step(fun: Callable, x, *, args=(), rtol: float = 1e-6,
                       columns=None) -> ComplexStepCheck:
    """Check that complex step is valid for ``fun`` by comparing with central differences.

    Complex step silently returns wrong partials through ``abs``, ``min``/``max``,
    comparisons and branches on ``x``. This compares each column of the
    complex-step Jacobian with the central-difference one, relative to the
    column's size.

    Parameters
    ----------
    fun, x, args
        As for :func:`jacobian`.
    rtol : float, optional
        Allowed relative difference (central differences are good to ~1e-9).
    columns : array_like of int, optional
        Only check these variables (cheaper for large n).

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> f = jacsolve.jit(lambda x: np.array([np.maximum(x[0], x[1]) * x[0]]))
    >>> jacsolve.check_complex_step(f, [2.0, 1.0]).success
    True
    """
    x = as_vector(x, "x")
    rtol = positive_float(rtol, "rtol")
    try:
        Jc = np.atleast_2d(jacobian(fun, x, args=args, method="complex"))
    except TypeError as exc:
        if NOT_COMPLEX_SAFE_HINT not in str(exc):
            raise
        return ComplexStepCheck(False, np.inf, np.arange(x.size), str(exc))
    Jd = np.atleast_2d(jacobian(fun, x, args=args, method="central"))
    cols = np.arange(x.size) if columns is None else np.asarray(columns, dtype=int)
    diff = np.abs(Jc[:, cols] - Jd[:, cols])
    size = np.maximum(np.abs(Jd[:, cols]).max(axis=0), np.abs(Jd).max() * 1e-8 + 1e-300)
    rel = diff.max(axis=0) / size
    bad = cols[rel > rtol]
    worst = float(rel.max()) if rel.size else 0.0
    if bad.size:
        msg = str(not_complex_safe(jac="method", detail=(
            f"complex step disagrees with central differences in columns {bad.tolist()}, "
            f"relative difference up to {worst:.2e}")))
    else:
        msg = f"complex step agrees with central differences (max relative difference {worst:.2e})"
    return ComplexStepCheck(bad.size == 0, worst, bad, msg)
