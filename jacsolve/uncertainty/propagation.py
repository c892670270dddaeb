"""Propagation of uncertainty by the law of propagation (GUM, JCGM 100 and 102).

For a model ``y = f(x)`` with input estimates ``x`` and input covariance
``V_x``, the first-order (linear) law gives ``V_y = J V_x J^T`` with ``J`` the
Jacobian of ``f`` at ``x`` (by default complex step, exact to rounding, for a
model that a one-time check finds complex-safe; Richardson extrapolation of
central differences otherwise: see ``jac`` of :func:`propagate`). The
second-order method (:mod:`~jacsolve.uncertainty.second_order`) adds the
terms of the note to GUM 5.1.2, generalised to correlated inputs and several
outputs, and reports the second-order bias of the mean. Every result carries
an uncertainty budget, effective degrees of freedom and coverage factors
(:mod:`~jacsolve.uncertainty.budget`); the input checks live in
:mod:`~jacsolve.uncertainty.inputs`.

Speed: a propagation is one compiled call, which evaluates f(x), the
Jacobians at x (and at the second-order points) and ``J V_x J^T``. The
kernels reach a compiled model through its addresses
(:mod:`jacsolve._numba.tiers`): they are compiled once, cached on disk, and
serve every model and both methods, so a new model costs only its own
compilation (and its two small adapters). Input checks are compiled helpers,
cached on disk too.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from .._arguments import as_args, as_choice, as_vector
from .._numba.calls import call_kernel, evaluate_once
from .._numba.options import cached_njit, kernel_njit, warn_if_python
from .._numba.prepared import auto_method, known, prepare, probe_bounds
from .._numba.addresses import load_complex, load_real
from .._numba.tiers import addressed_args, bind
from ..derivatives.kernels import (BAD_OUTPUT_SIZE, COMPLEX_STEP, NONFINITE, NOT_COMPLEX_SAFE, OK,
                                   all_finite, as_1d, jacobian_central_t, jacobian_complex_into,
                                   jacobian_richardson_t, value_at)
from ..status import BAD_F0, BAD_U, BAD_X, Status, fault_error, not_complex_safe
from .budget import Budget, BudgetEntry, coverage_factor, effective_dof
from .inputs import (as_correlation, as_covariance, as_dof, as_names, first_bad_u,
                     input_uncertainty, raise_bad_u)
from .outputs import fast_constructor, fmt, shaped, shaped_cov
from .second_order import SECOND_ORDER_STEP, second_order_points, second_order_terms

__all__ = ["propagate", "Propagation", "Budget", "BudgetEntry", "NonlinearityWarning",
           "as_covariance", "as_correlation", "coverage_factor"]

EPS = np.finfo(np.float64).eps
CBRT_EPS = EPS ** (1 / 3)
CENTRAL_STEP = 1e-3      # central-difference step, in units of each input's u
RICHARDSON_STEP = 0.1    # initial Richardson step, relative to max(|x|, u) (jacobian's default)
CENTRAL, COMPLEX, RICHARDSON = 0, 1, 2   # the Jacobian modes of the kernels
NEAR_ZERO = 1e-11        # first-order u(y) this small relative to the scale: check nonlinearity
_JAC = {"auto": "auto", "complex": "complex", "cs": "complex", "central": "central",
        "3-point": "central", "richardson": "richardson"}
SOLVED = "propagated by the law of propagation of uncertainty"
NOT_DIFFERENTIABLE = ("some sensitivity coefficients are not finite (fun is not "
                      "differentiable at x?); u(y) is NaN or inf")


class NonlinearityWarning(RuntimeWarning):
    """The first-order u(y) misses most of the second-order variance."""


# ------------------------------------------------------------------ kernels
# One kernel per Jacobian method serves the linear method (no extra points)
# and the second-order one (the points x +- h L_r). A compiled model reaches it
# through the address tier (jacsolve._numba.tiers): one cached wrapper per kernel,
# whatever the model (propagation_complex_at, propagation_central_at), takes the
# addresses of the model's adapters (p, rc, rj, cc, cj). Models whose args cannot
# be packed into one float vector take the specialised tier, plain Python models
# run the kernels as Python. Everything that does not call the model lives in
# cached helpers. The kernels are inlined into their wrapper: a dispatcher passed
# to a function that is not inlined would make the wrapper uncacheable.
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
def _steps(x, P, u, mode):
    """Steps for x and every row of P.

    Complex: 1e-20 max(|x|, |P| over its rows, u or 1). Richardson (initial
    steps): 0.1 max(|x|, |P| over its rows, u or 1). Central: 1e-3 u (u = 0:
    eps^(1/3) max(|x|, 1)).
    """
    h = np.empty(x.size)
    for j in range(x.size):
        if mode != CENTRAL:
            big = max(abs(x[j]), u[j] if u[j] > 0 else 1.0)
            for s in range(P.shape[0]):
                big = max(big, abs(P[s, j]))
            h[j] = (COMPLEX_STEP if mode == COMPLEX else RICHARDSON_STEP) * big
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
    if first_bad_u(u) >= 0:
        return np.empty((0, 0)), BAD_U
    return _start(as_1d(fun(x, *args)), x.size, P.shape[0])


# One Jacobian at one point, written as Jt (n, m) into out[r0:r0 + n]; (status, nfev).
# The driver takes one of them as an argument, so a model compiles only the one used
# (a function that is not complex-safe never meets the complex one).
@kernel_njit(inline=True)
def _point_complex(fun, x, args, h, f0, xc, lower, upper, out, r0):
    """Complex step (``f0``, ``lower`` and ``upper`` unused; ``xc`` is work space)."""
    return jacobian_complex_into(fun, x, args, h, xc, out[r0:r0 + x.size])


@kernel_njit(inline=True)
def _point_central(fun, x, args, h, f0, xc, lower, upper, out, r0):
    """Central differences (``f0``: f(x) if known, else empty; ``xc`` unused)."""
    Jt, status, nfev = jacobian_central_t(fun, x, args, f0, h, lower, upper)
    return _copy_rows(out, r0, Jt, status), nfev


@kernel_njit(inline=True)
def _point_richardson(fun, x, args, h, f0, xc, lower, upper, out, r0):
    """Richardson extrapolation of central differences (``f0``: f(x) if known; ``xc``
    unused)."""
    f0, nf0 = value_at(fun, x, args, f0)
    Jt, Et, status, nfev = jacobian_richardson_t(fun, x, args, f0, h, lower, upper)
    return _copy_rows(out, r0, Jt, status), nfev + nf0


@kernel_njit(inline=True)
def _propagation(fun0, fun, point, mode, x, args, P, u, V):
    """f(x), the Jacobians (by ``point``) at x and at each row of P, and J V J^T at x.

    ``fun0`` gives f(x), ``fun`` the Jacobians: the same function, or its
    real and its complex adapter in the address tier.

    Returns (out, status, nfev, small): out as described above; V empty
    means diag(u**2); small: some u(y) is (near) zero. status is the one at
    x (NONFINITE: inf/NaN sensitivities), or a caller fault (BAD_OUTPUT_SIZE,
    NOT_COMPLEX_SAFE) from any point. Central Jacobians with inf/NaN on both
    sides of a point have NaN rows.
    """
    out, status = _begin(fun0, x, args, P, u)
    if status != OK:
        return out, status, 1, False
    n = x.size
    m = out.shape[1]
    h = _steps(x, P, u, mode)
    if mode == COMPLEX:  # complex work space; the bounds and f0 are unused
        xc = np.empty(n, np.complex128)
        lower = upper = unknown = h
    else:
        xc = np.empty(0, np.complex128)
        upper = np.full(n, np.inf)
        lower = -upper
        unknown = np.empty(0)
    nfev = 1
    for s in range(P.shape[0] + 1):
        st, nf = point(fun, x if s == 0 else P[s - 1], args, h, out[0] if s == 0 else unknown,
                       xc, lower, upper, out, 2 + m + s * n)
        nfev += nf
        st = _check_point(out, s, n, st)
        if st != OK and st != NONFINITE:
            return out, st, nfev, False
        if s == 0:
            status = st
    return out, status, nfev, _finish(out, n, u, V)


@kernel_njit(inline=True)
def propagation_complex(fun, x, args, P, u, V):
    """:func:`_propagation` with complex-step Jacobians (steps 1e-20 max(|x|, u))."""
    return _propagation(fun, fun, _point_complex, COMPLEX, x, args, P, u, V)


@kernel_njit(inline=True)
def propagation_central(fun, x, args, P, u, V):
    """:func:`_propagation` with central differences of steps 1e-3 u."""
    return _propagation(fun, fun, _point_central, CENTRAL, x, args, P, u, V)


@kernel_njit(inline=True)
def propagation_richardson(fun, x, args, P, u, V):
    """:func:`_propagation` with Richardson extrapolation (initial steps 0.1 max(|x|, u))."""
    return _propagation(fun, fun, _point_richardson, RICHARDSON, x, args, P, u, V)


# The address tier of both kernels: one cached function each, for every compiled
# model. a = (p, rc, rj, cc, cj) as from jacsolve._numba.tiers.addressed_args; the
# adapters are loaded once per call. Written out rather than made by
# tiers.address_kernel: f(x) comes from the real adapter and the Jacobian from the
# complex one, as two functions of different types.
@cached_njit
def propagation_complex_at(x, a, P, u, V):
    """:func:`propagation_complex` of the model whose adapters' addresses are in ``a``."""
    p, rc, rj, cc, cj = a
    return _propagation(load_real(rc, rj), load_complex(cc, cj), _point_complex, COMPLEX, x,
                        (p,), P, u, V)


@cached_njit
def propagation_central_at(x, a, P, u, V):
    """:func:`propagation_central` of the model whose real adapter's addresses are in ``a``."""
    p, rc, rj, cc, cj = a
    fun = load_real(rc, rj)
    return _propagation(fun, fun, _point_central, CENTRAL, x, (p,), P, u, V)


@cached_njit
def propagation_richardson_at(x, a, P, u, V):
    """:func:`propagation_richardson` of the model whose real adapter's addresses are in ``a``."""
    p, rc, rj, cc, cj = a
    fun = load_real(rc, rj)
    return _propagation(fun, fun, _point_richardson, RICHARDSON, x, (p,), P, u, V)


# ------------------------------------------------------------------ results
@dataclass(frozen=True, repr=False, slots=True)
class Propagation:
    """Result of :func:`propagate`.

    Shape rule (:mod:`jacsolve.uncertainty.outputs`): a scalar model gives
    floats for ``value``, ``std``, ``cov`` (the variance u(y)^2), ``dof``,
    ``bias``, ``std_linear`` and the ends of ``interval(p)``, and ``jac`` of
    shape (n,); a vector model gives arrays: (m,), ``cov`` (m, m), ``jac``
    (m, n).

    Attributes
    ----------
    value : float or ndarray
        The output estimate ``f(x)`` (GUM 4.1.4).
    std : float or ndarray
        Standard uncertainty u(y) of each output.
    cov : float or ndarray, shape (m, m)
        Output covariance matrix (the variance for a scalar model).
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
    success : bool
        True when every sensitivity coefficient is finite, so u(y) is too.
    status : Status
        ``Status.SUCCESS``, or ``Status.NONFINITE`` for inf/NaN sensitivities
        (fun not differentiable at x); a :class:`RuntimeWarning` says so too.
    message : str
    jac_method : str
        How the sensitivities were taken: ``"complex"``, ``"central"`` or
        ``"richardson"``; with ``jac="auto"`` the method it chose.
    """
    value: object
    std: object
    cov: object
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
    success: bool = True
    status: Status = Status.SUCCESS
    message: str = SOLVED
    jac_method: str = "complex"

    @property
    def corr(self) -> np.ndarray:
        """Output correlation matrix, shape (m, m) (NaN rows where u(y) = 0)."""
        C = np.atleast_2d(self.cov)
        s = np.sqrt(np.diag(C))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = C / np.outer(s, s)
        np.fill_diagonal(r, np.where(s > 0, 1.0, np.nan))
        return r

    def coverage_factor(self, p: float = 0.95, truncate_dof: bool = True):
        """k = t_p(nu_eff) for coverage probability ``p`` (normal when nu_eff is inf).

        nu_eff (``dof``, kept untruncated) is truncated to the next lower
        integer first (GUM G.6.4) unless ``truncate_dof=False``.
        """
        return coverage_factor(p, self.dof, truncate_dof)

    def expanded(self, p: float = 0.95, truncate_dof: bool = True):
        """Expanded uncertainty U = k u(y) (k as in :meth:`coverage_factor`)."""
        return self.coverage_factor(p, truncate_dof) * self.std

    def interval(self, p: float = 0.95, truncate_dof: bool = True):
        """Coverage interval ``(y - U, y + U)`` for coverage probability ``p``."""
        U = self.expanded(p, truncate_dof)
        return self.value - U, self.value + U

    @property
    def budget(self) -> Budget:
        """The :class:`Budget` of every output (computed on each access)."""
        J = np.atleast_2d(self.jac)
        m, n = J.shape
        var = np.diag(np.atleast_2d(self.cov))
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
        extra = "" if self.bias is None else f", bias={fmt(self.bias)}"
        return (f"{type(self).__name__}(value={fmt(self.value)}, std={fmt(self.std)}, "
                f"dof={fmt(self.dof)}, method={self.method!r}{extra}, nfev={self.nfev}, "
                f"jac_method={self.jac_method!r}, "
                f"success={self.success}, message={self.message!r})")


# ------------------------------------------------------------------ driver
def _check_status(status: int, m: int) -> None:
    """Raise the caller fault ``status``; warn for NONFINITE sensitivities."""
    if status == NONFINITE:
        warnings.warn(NOT_DIFFERENTIABLE, RuntimeWarning, stacklevel=3)
    elif status == NOT_COMPLEX_SAFE:
        raise not_complex_safe(detail="it returned real values for complex x")
    elif status in (BAD_X, BAD_OUTPUT_SIZE):
        raise fault_error(status, n=m)
    elif status == BAD_F0:
        raise fault_error(status, where=" at the input estimates x")


def _reraise(exc):
    raise exc


def model_record(fun, name: str = "fun", stacklevel: int = 4):
    """The :class:`FunctionRecord` of a model, checked callable; a plain Python
    model gets its :class:`~jacsolve.PerformanceWarning` (once)."""
    rec = prepare(fun)
    if not rec.jitted:
        if not callable(fun):
            raise TypeError(f"{name} must be callable, got {type(fun).__name__}")
        warn_if_python(fun, stacklevel=stacklevel)
    return rec


def _outcome(status: int):
    """(success, status, message) of a propagation whose kernel returned ``status``."""
    if status == OK:
        return True, Status.SUCCESS, SOLVED
    return False, Status(status), NOT_DIFFERENTIABLE


def propagate(fun: Callable, x, cov=None, *, u=None, corr=None, dof=None, args=(),
              method: str = "linear", jac: str = "auto", names: Sequence[str] = None,
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
    jac : {"auto", "complex", "central", "richardson"}, optional
        ``"auto"`` (default): complex step when ``fun`` compiles for complex
        input and a one-time check (its Jacobian at ``x`` against central
        differences, kept per function) finds it right; Richardson
        extrapolation otherwise (``arctan2``, ``abs``, comparisons...).
        ``result.jac_method`` says which. ``"complex"``: complex step (exact
        to rounding; an error naming the operation for a function that is not
        complex-safe). ``"central"``: central differences with steps
        ``1e-3 u_i`` scaled to each input's uncertainty. ``"richardson"``:
        Ridders' extrapolation of central differences from steps
        ``0.1 max(|x_i|, u_i)`` (~1e-12 relative, up to 16n evaluations).
    names, output_names : sequence of str, optional
        Labels for the budget table.

    Returns
    -------
    Propagation
        ``value``, ``std``, ``cov``, ``corr``, ``jac``, ``budget``, ``dof``,
        ``coverage_factor(p)``, ``expanded(p)``, ``interval(p)``; ``success``,
        ``status``, ``message``, ``nfev``. A scalar model gives floats, a
        vector model arrays (:mod:`jacsolve.uncertainty.outputs`).

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
    >>> lo, hi = r.interval(0.95)        # k = t_0.975(13): nu_eff truncated (GUM G.6.4)
    >>> print(round(lo, 4), round(hi, 4))
    1.9034 2.0966
    """
    as_choice(method, "method", ("linear", "second-order"))
    jac_mode = _JAC.get(jac) if type(jac) is str else None
    if jac_mode is None:
        raise ValueError(f"jac must be 'auto', 'complex', 'central' or 'richardson', got {jac!r}")
    if type(x) is _NDARRAY and x.dtype is _F64 and x.ndim == 1 and x.size:
        flags = x.flags
        xv = x if flags.c_contiguous and flags.writeable else as_vector(x, "x", finite=False)
    else:
        xv = as_vector(x, "x", finite=False)
    n = xv.size
    if type(args) is not tuple:
        args = as_args(args)
    if (cov is None and corr is None and method == "linear" and type(u) is _NDARRAY
            and u.dtype is _F64 and u.ndim == 1 and u.size == n and u.flags.c_contiguous):
        uu, V = u, None  # the kernel checks u >= 0 before it evaluates fun
    else:
        uu, V = input_uncertainty(n, cov, u, corr)
    nu = None if dof is None else as_dof(dof, n)
    if names is not None:
        names = as_names(names, n, "names")
    bound = None
    rec = known(fun)
    if jac_mode == "auto":  # complex step if the one-time check finds it right
        if rec is None:
            model_record(fun, stacklevel=3)  # the plain-Python warning, at the caller
        jac_mode = auto_method(fun, xv, args, "richardson")
    if not args and type(fun) is _CPU_DISPATCHER:  # a compiled model seen before: one lookup
        if rec is not None:
            bound = rec.specialised.get(_NO_ARGS[jac_mode])
    call, a, scalar = bound if bound is not None else _bound(fun, xv, args, jac_mode)
    Vx = _EMPTY2 if V is None else V
    L = P = None
    if method == "second-order":  # the points of the second-order terms, in the same call
        L, P = second_order_points(xv, uu, V, jac_mode)
    try:
        out, status, nfev, small = call(xv, a, _EMPTY2 if P is None else P, uu, Vx)
    except Exception as exc:  # made clear (typing errors, fun's own) as everywhere
        call_kernel(_reraise, exc)
    if status != OK:
        if status == BAD_U:
            raise_bad_u(uu)
        _check_status(status, out.shape[1])
        success, status, message = _outcome(status)
    else:
        success, status, message = True, _SUCCESS, SOLVED
    m = out.shape[1]
    if output_names is not None:
        output_names = as_names(output_names, m, "output_names")
    if L is None and not small:  # the linear method: views of out, one constructor call
        if scalar:
            std = out.item(1)
            value, cov, J, nonlinear = out.item(0), out.item(2), out[3:, 0], False
            dof_eff = _INF if nu is None else float(
                effective_dof(J[None, :], uu, V, nu, std * std, None)[0])
        else:
            value, std, cov, J = out[0], out[1], out[2:2 + m], out[2 + m:].T
            nonlinear = np.zeros(m, bool)
            dof_eff = (np.full(m, np.inf) if nu is None
                       else effective_dof(J, uu, V, nu, std * std, None))
        return _make(value, std, cov, J, dof_eff, "linear", None, std, nonlinear, xv, uu, nu,
                     nfev, names, output_names, V, success, status, message, jac_mode)
    if L is None:  # the linear method's check of outputs whose u(y) is (near) zero
        L, P = second_order_points(xv, uu, V, jac_mode)
        if P.shape[0]:
            out, st, nf2, _ = call_kernel(call, xv, a, P, uu, Vx)
            nfev += nf2
            if st != OK:
                _check_status(st, m)
    Vy = out[2:2 + m].copy()
    Jt = out[2 + m:].reshape(-1, xv.size, m)
    J = Jt[0].T
    bias_, C2, C3, a2, a3 = second_order_terms(Jt, L, uu, V, SECOND_ORDER_STEP[jac_mode])
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
               else effective_dof(J, uu, V, nu, var, a_extra))
    std1 = np.sqrt(np.maximum(var1, 0.0))
    f0 = out[0].copy()
    return _make(shaped(f0, scalar), shaped(std, scalar), shaped_cov(Vtot, scalar),
                 J[0] if scalar else J, shaped(dof_eff, scalar), method,
                 None if bias is None else shaped(bias, scalar), shaped(std1, scalar),
                 bool(nonlinear[0]) if scalar else nonlinear, xv, uu, nu, nfev, names,
                 output_names, V, success, status, message, jac_mode)


def _bound(fun, x, args: tuple, jac_mode: str):
    """(call, a, scalar): the kernel of ``jac_mode`` for ``fun``, called as
    call(x, a, P, u, V), and whether fun returns a scalar.

    The first call for a model (and args types) evaluates it once from Python,
    which checks its output. A compiled model takes the address tier: ``call``
    is the kernel's cached wrapper and ``a`` the addresses tuple (kept on the
    model's record when there are no args, so that later calls skip this
    function); one whose args cannot be packed takes the specialised tier, a
    Python model the kernels' Python versions (both through
    :func:`~jacsolve._numba.tiers.bind`).
    """
    rec = model_record(fun, stacklevel=5)
    key = tuple(map(type, args)) if args else ()
    scalar = rec.returns_scalar.get(key)
    if scalar is None:
        if not np.all(np.isfinite(x)):
            raise fault_error(BAD_X)
        value, scalar = evaluate_once(fun, x, args)
        probe_bounds(fun, value, x, args)  # a model reading past the end of x: an error
        rec.returns_scalar[key] = scalar
    kernel = _KERNELS[jac_mode]
    complex_ = jac_mode == "complex"
    if rec.jitted:
        try:
            packed = addressed_args(fun, args, real=True, complex_=complex_, jac="jac")
        except TypeError as exc:
            if "not complex-safe" not in str(exc):
                raise
            raise not_complex_safe(detail=rec.complex_reason) from None
        if packed is not None:
            found = (_ADDRESSED[jac_mode], packed, scalar)
            if not args:
                rec.specialised[_NO_ARGS[jac_mode]] = found
            return found
    return bind(kernel, fun, real=True, complex_=complex_), args, scalar


_EMPTY2 = np.empty((0, 0))
_F64 = np.dtype(np.float64)
_NDARRAY = np.ndarray
_INF = math.inf
_SUCCESS = Status.SUCCESS
_CPU_DISPATCHER = type(propagation_complex)
_KERNELS = {"complex": propagation_complex, "central": propagation_central,
            "richardson": propagation_richardson}
_ADDRESSED = {"complex": propagation_complex_at, "central": propagation_central_at,
              "richardson": propagation_richardson_at}
# keys of a model's record for the bound kernel when fun takes no args
_NO_ARGS = {mode: ("propagate", mode, ()) for mode in _KERNELS}
_make = fast_constructor(Propagation)
