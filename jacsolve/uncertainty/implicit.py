"""Uncertainty of outputs defined implicitly by ``F(y, x) = 0`` (GUM Supplement 2).

:func:`propagate_implicit` solves ``F(y, x) = 0`` for ``y`` at the input
estimates with :func:`jacsolve.solve` and propagates by the implicit function
theorem (JCGM 102 6.2.2): with ``J_y = dF/dy`` and ``J_x = dF/dx``, the
sensitivities are ``C = -J_y^{-1} J_x`` and ``V_y = C V_x C^T``.

:func:`propagate_implicit_mc` is its Monte Carlo check (JCGM 102 7): it draws
the inputs from their distributions and solves one system per draw with
:func:`jacsolve.solve_batch` (compiled, parallel).

Results follow the shape rule of :mod:`jacsolve.uncertainty.outputs`: a
scalar ``y0`` (one unknown) gives floats, a 1-D ``y0`` arrays.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numba
import numpy as np

from .._arguments import as_args, as_choice, as_vector, positive_int
from .._numba.calls import call_kernel, evaluate_once
from .._numba.options import NUMBA_OPTIONS
from .._numba.prepared import auto_method, prepare, probe_bounds, returning_form
from .._numba.tiers import bind
from ..derivatives.kernels import BAD_OUTPUT_SIZE, NOT_COMPLEX_SAFE, all_finite
from ..status import FunctionError, Status, not_complex_safe
from .budget import check_p, effective_dof
from .inputs import as_dof, as_names, input_uncertainty
from .montecarlo import CHUNK, NonFiniteWarning, as_inputs, check_kind, result_from_values
from .outputs import shaped, shaped_cov
from .propagation import Propagation, model_record
from .sampling import SamplingPlan, seed_key

__all__ = ["propagate_implicit", "propagate_implicit_mc", "ImplicitPropagation"]


def _stacked(F, rec):
    """G(z, ny, *args) = F(z[:ny], z[ny:], *args): F as a function of z = (y, x).

    The shared complex-step Jacobian kernel differentiates G over z, which
    gives J_y^T and J_x^T in one pass; ``ny`` is a float so that it packs
    with the args into one vector (the address tier). Made once per F.
    """
    G = rec.specialised.get("implicit stacked")
    if G is None:
        namespace = {"_F": F}
        exec("def stacked(z, ny, *args):\n    k = int(ny)\n"
             "    return _F(z[:k], z[k:], *args)\n", namespace)
        G = namespace["stacked"]
        if rec.jitted:
            G = numba.njit(**NUMBA_OPTIONS)(G)
        rec.specialised["implicit stacked"] = G
    return G


def implicit_jacobians_t(F, rec, y, x, args, scale, jac="complex"):
    """``J_y^T`` (n_y, m) and ``J_x^T`` (n_x, m) of F(y, x, *args): one Jacobian of F
    over z = (y, x), by the method ``jac`` ("auto" resolved to "complex" or
    "richardson" by the one-time check on F's stacked form), from the drivers of
    :func:`jacsolve.jacobian` bound to the stacked form by
    :func:`jacsolve._numba.tiers.bind` (a compiled F takes the cached address
    tier). Steps are those of :func:`jacsolve.jacobian` with ``x_scale = scale``.

    Returns (Jyt, Jxt, status, nfev, method).
    """
    from ..derivatives import differences as D  # imported on first use: it loads the drivers

    ny = y.size
    G = _stacked(F, rec)
    z = np.concatenate((y, x))
    gargs = (float(ny),) + args
    if jac == "auto":
        jac = auto_method(G, z, gargs, "richardson")
    complex_ = jac == "complex"
    inf = np.full(z.size, np.inf)
    try:
        call = bind(D._DRIVERS[jac], G, real=not complex_, complex_=complex_, jac="jac")
        out = call_kernel(call, z, gargs, np.empty(0), D.DEFAULT_REL_STEP[jac], scale, -inf,
                          inf, name="F")
    except TypeError as exc:
        if "not complex-safe" not in str(exc):
            raise
        raise not_complex_safe("F", detail=prepare(G).complex_reason or
                               "it cannot be evaluated at complex y or x") from None
    Jt, status, nfev = out[0], out[-2], out[-1]
    return Jt[:ny], Jt[ny:], status, nfev, jac


@dataclass(frozen=True, repr=False, slots=True)
class ImplicitPropagation(Propagation):
    """Result of :func:`propagate_implicit`: a :class:`~jacsolve.Propagation`
    (``value`` is the root y, ``jac`` the sensitivities dy/dx) plus the solve.

    The shape rule of :class:`~jacsolve.Propagation` holds, with ``y0`` in
    the place of the model's output: a scalar ``y0`` gives floats (``cov``
    the variance), a 1-D ``y0`` arrays.

    Attributes
    ----------
    success : bool
        True when ``F(y, x) = 0`` was solved and ``J_y`` is regular; otherwise
        the uncertainties are NaN.
    status : Status
        The solve's status when it failed; ``Status.NONFINITE`` for
        non-finite Jacobians, ``Status.SINGULAR`` for a singular ``J_y``.
    message : str
    root : RootResult or None
        What :func:`jacsolve.solve` returned.
    jac_method : str
        How the sensitivities J_y, J_x were taken (``"complex"``,
        ``"central"`` or ``"richardson"``; with ``jac="auto"`` the method it
        chose; the solve's own is ``root.jac_method``).
    """
    root: Any = None


def propagate_implicit(F: Callable, y0, x, cov=None, *, u=None, corr=None, dof=None, args=(),
                       tol: float = 1e-12, jac: str = "auto", names: Sequence[str] = None,
                       output_names: Sequence[str] = None, **solve_options
                       ) -> ImplicitPropagation:
    """Propagate uncertainty to ``y`` defined by ``F(y, x, *args) = 0`` (JCGM 102 6.2.2).

    Parameters
    ----------
    F : callable
        ``F(y, x, *args)`` returning m = len(y) values. A numba function
        (``@jacsolve.jit``) runs compiled.
    y0 : array_like, shape (m,)
        Starting guess for the solve.
    x : array_like, shape (n,)
        Input estimates.
    cov, u, corr, dof, names, output_names
        The input uncertainty, as for :func:`jacsolve.propagate`.
    args : tuple, optional
        Extra arguments of F.
    tol : float, optional
        Residual tolerance of the solve, ``max |F(y, x)| <= tol``.
    jac : {"auto", "complex", "central", "richardson"}, optional
        How the solve and the sensitivities differentiate F. ``"auto"``
        (default): complex step when F compiles for complex input and a
        one-time check (its Jacobian against central differences) finds it
        right; otherwise central differences for the solve and Richardson
        extrapolation for the sensitivities. ``result.jac_method`` says
        which. ``"complex"`` needs a complex-safe F (no ``abs``,
        comparisons or branches on y or x): an error naming the operation
        otherwise.
    **solve_options
        Passed to :func:`jacsolve.solve` (e.g. ``method``, ``maxiter``).

    Returns
    -------
    ImplicitPropagation
        ``value`` (the root y), ``std``, ``cov``, ``corr``, ``jac`` (dy/dx),
        ``budget``, ``dof``, ``interval(p)``; ``success``, ``status``,
        ``message`` and ``root`` from the solve. A failed solve or a
        singular ``J_y`` is reported there (uncertainties NaN), not raised.

    Notes
    -----
    Only the first-order (linear) method; effective degrees of freedom as
    in :func:`jacsolve.propagate`.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> @jacsolve.jit
    ... def F(y, x):                     # y^2 = x0 * x1, so y = sqrt(x0 x1)
    ...     return np.array([y[0] * y[0] - x[0] * x[1]])
    >>> r = jacsolve.propagate_implicit(F, [1.0], [4.0, 9.0], u=[0.04, 0.09])
    >>> print(np.round(r.value, 12), np.round(r.std, 6), r.success)
    [6.] [0.042426] True
    """
    F = returning_form(F)  # the in-place form, as y = F(x, *args)
    from ..nonlinear import solve  # imported on first use: it loads the solvers
    from ..nonlinear.root import JAC_METHODS

    xv = as_vector(x, "x")
    yv = as_vector(y0, "y0")
    scalar = np.ndim(y0) == 0
    args = as_args(args)
    n, m = xv.size, yv.size
    uu, V = input_uncertainty(n, cov, u, corr)
    nu = as_dof(dof, n)
    names = as_names(names, n, "names")
    output_names = as_names(output_names, m, "output_names")
    as_choice(jac, "jac", ("auto",) + tuple(JAC_METHODS))
    rec = model_record(F, "F", stacklevel=4)
    # F at the start, from Python: errors in the caller's names (F, y0), not the solver's
    f0 = evaluate_once(F, yv, (xv,) + args, "F")[0]
    if f0.size != m:
        raise ValueError(f"F must return len(y0) = {m} values (a square system in y); it "
                         f"returned {f0.size}: give y0 one entry per equation of F")
    probe_bounds(F, f0, yv, (xv,) + args,
                 ("y0", "x") + tuple(f"args[{i}]" for i in range(len(args))), "F")
    root = solve(F, yv, args=(xv,) + args, tol=tol, jac=jac, **solve_options)
    y = np.asarray(root.x, dtype=np.float64).reshape(-1)
    nfev = int(getattr(root, "nfev", 0))
    result = _Result(scalar, y, xv, uu, V, nu, names, output_names, root)
    if not root.success:
        return result.failed(nfev, root.status, f"F(y, x) = 0 was not solved: {root.message}")
    scale = np.concatenate((np.ones(m), np.where(uu > 0, uu, 1.0)))
    Jyt, Jxt, status, nf, jac_method = implicit_jacobians_t(F, rec, y, xv, args, scale, jac)
    result.jac_method = jac_method
    nfev += int(nf)
    if status == BAD_OUTPUT_SIZE:
        raise FunctionError(f"F must return len(y0) = {m} values for a square system")
    if status == NOT_COMPLEX_SAFE:
        raise not_complex_safe("F", detail="it returned real values for complex y or x")
    Jy, Jx = Jyt.T, Jxt.T
    if not (all_finite(Jyt.ravel()) and all_finite(Jxt.ravel())):
        return result.failed(nfev, Status.NONFINITE,
                             "the Jacobians of F at the solution are not finite")
    if np.linalg.cond(Jy) > 1.0 / np.finfo(float).eps:
        return result.failed(nfev, Status.SINGULAR, "dF/dy is singular at the solution: y is "
                             "not locally determined by x")
    C = -np.linalg.solve(Jy, Jx)           # dy/dx by the implicit function theorem
    Vy = C @ V @ C.T if V is not None else (C * uu * uu) @ C.T
    Vy = 0.5 * (Vy + Vy.T)
    std = np.sqrt(np.maximum(np.diag(Vy), 0.0))
    dof_eff = effective_dof(C, uu, V, nu, np.diag(Vy), None)
    return result.make(std, Vy, C, dof_eff, nfev, True, Status.SUCCESS,
                       "solved; linear propagation by the implicit function theorem")


class _Result:
    """What an :class:`ImplicitPropagation` holds besides its uncertainties."""

    def __init__(self, scalar, y, x, u, V, nu, names, output_names, root):
        self.scalar, self.y, self.x, self.u, self.V, self.nu = scalar, y, x, u, V, nu
        self.names, self.output_names, self.root = names, output_names, root
        self.jac_method = getattr(root, "jac_method", "") or "none"  # the sensitivities' method

    def make(self, std, Vy, C, dof, nfev, success, status, message) -> ImplicitPropagation:
        s = self.scalar
        return ImplicitPropagation(
            shaped(self.y, s), shaped(std, s), shaped_cov(Vy, s), C[0] if s else C,
            shaped(dof, s), "linear", None, shaped(std, s),
            False if s else np.zeros(self.y.size, bool), self.x, self.u, self.nu, nfev,
            self.names, self.output_names, self.V, success, Status(int(status)), message,
            self.jac_method, self.root)

    def failed(self, nfev, status, message) -> ImplicitPropagation:
        """A result whose uncertainties are NaN: the solve or the Jacobians failed."""
        m, n = self.y.size, self.x.size
        nan = np.full(m, np.nan)
        return self.make(nan, np.full((m, m), np.nan), np.full((m, n), np.nan), nan, nfev,
                         False, status, message)


def propagate_implicit_mc(F: Callable, y0, inputs, *, n: int = 100_000, p: float = 0.95,
                          kind: str = "symmetric", seed=None, tol: float = 1e-10,
                          maxiter: int = 50, jac: str = "auto"):
    """Monte Carlo propagation through ``F(y, x) = 0``: one solve per draw (JCGM 102 7).

    Parameters
    ----------
    F : callable
        ``F(y, x)`` returning len(y) values, with ``x`` one draw of all
        inputs. Extra arguments are not supported (solve_batch passes one
        parameter row): bind constants into F. A numba function runs
        compiled and in parallel.
    y0 : array_like, shape (m,)
        Starting guess. The system is first solved at the mean of the draws
        and every draw starts from that solution (``y0`` if it fails).
    inputs : sequence
        Input distributions, as for :func:`jacsolve.propagate_mc`.
    n : int, optional
        Number of draws.
    p, kind
        Default coverage probability and interval kind of the result.
    seed : int, numpy.random.Generator or None, optional
    tol, maxiter, jac
        Passed to :func:`jacsolve.solve_batch`: ``jac="auto"`` (default) uses
        complex step where a one-time check finds it right for F, central
        differences otherwise; ``message`` names the method used.

    Returns
    -------
    MonteCarloResult
        As from :func:`jacsolve.propagate_mc`. Draws whose solve failed are
        counted in ``n_nonfinite`` (never dropped silently: a
        :class:`~jacsolve.uncertainty.montecarlo.NonFiniteWarning` is issued and
        ``message`` counts them by status; ``status`` is the most common
        failure); the statistics describe the solved draws. ``nfev`` counts
        the evaluations of F in all solves.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> from jacsolve import distributions as D
    >>> def F(y, x):        # y = (sqrt(x0 x1), sqrt(x0 / x1)); use @jacsolve.jit for speed
    ...     return np.array([y[0] * y[1] - x[0], y[0] / y[1] - x[1]])
    >>> r = jacsolve.propagate_implicit_mc(F, [1.0, 1.0],
    ...                                    [D.Normal(2.0, 0.02), D.Normal(0.5, 0.005)],
    ...                                    n=1000, seed=1)
    >>> r.n_nonfinite, np.round(r.value, 2)
    (0, array([1., 2.]))
    """
    F = returning_form(F)  # the in-place form, as y = F(x, *args)
    from ..nonlinear.batch import solve_batch

    n = positive_int(n, "n")
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    p, kind = check_p(p), check_kind(kind)
    dists = as_inputs(inputs)
    scalar = np.ndim(y0) == 0
    yv = as_vector(y0, "y0")
    plan = SamplingPlan(dists)
    key = seed_key(seed)
    X = np.empty((n, plan.width))
    for c0 in range(0, n, CHUNK):
        X[c0:c0 + CHUNK] = plan.draw(key, c0, min(CHUNK, n - c0))
    start = solve_batch(F, yv[None, :].copy(), X.mean(axis=0)[None, :], tol=tol,
                        maxiter=maxiter, jac=jac)
    if start.success[0]:
        yv = start.x[0]
    res = solve_batch(F, np.tile(yv, (n, 1)), X, tol=tol, maxiter=maxiter, jac=jac)
    ok = res.success & np.all(np.isfinite(res.x), axis=1)
    Y = res.x[ok]
    n_bad = int(n - ok.sum())
    message = f"{n} draws, one solve each (Jacobians: {res.jac_method})"
    bad_status = Status.NONFINITE
    if n_bad:
        codes, counts = np.unique(np.asarray(res.status)[~ok], return_counts=True)
        detail = ", ".join(f"{Status(int(c)).name}: {k}" for c, k in zip(codes, counts))
        message = (f"the solve failed for {n_bad} of {n} draws ({detail}); the statistics use "
                   f"the {n - n_bad} solved draws")
        warnings.warn(message, NonFiniteWarning, stacklevel=2)
        failed = [(k, int(c)) for c, k in zip(codes, counts) if int(c) != Status.SUCCESS]
        if failed:
            bad_status = Status(max(failed)[1])   # the most common failure
    if Y.shape[0] < 2:
        raise ValueError(f"only {Y.shape[0]} of {n} draws could be solved")
    cov = np.atleast_2d(np.cov(Y, rowvar=False))
    return result_from_values(Y, Y.mean(axis=0), cov, scalar=scalar, n_draws=n, n_bad=n_bad,
                              p=p, kind=kind, keep_samples=True, bad_status=bad_status,
                              message=message,
                              nfev=int(np.sum(start.nfev)) + int(np.sum(res.nfev)))
