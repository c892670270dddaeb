"""Uncertainty of outputs defined implicitly by ``F(y, x) = 0`` (GUM Supplement 2).

:func:`propagate_implicit` solves ``F(y, x) = 0`` for ``y`` at the input
estimates with :func:`jacsolve.solve` and propagates by the implicit function
theorem (JCGM 102 6.2.2): with ``J_y = dF/dy`` and ``J_x = dF/dx``, the
sensitivities are ``C = -J_y^{-1} J_x`` and ``V_y = C V_x C^T``.

:func:`propagate_implicit_mc` is its Monte Carlo check (JCGM 102 7): it draws
the inputs from their distributions and solves one system per draw with
:func:`jacsolve.solve_batch` (compiled, parallel).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .._numba.options import kernel_njit, record_for, specialise, warn_if_python
from .._arguments import as_args, as_vector, positive_int
from .._numba.calls import call_kernel
from ..status import FunctionError
from ..derivatives.kernels import BAD_OUTPUT_SIZE, NOT_COMPLEX_SAFE, OK, all_finite, jacobian_complex_t
from ..status import Status
from .propagation import (Propagation, _as_dof, _effective_dof, _names, input_uncertainty)

__all__ = ["propagate_implicit", "propagate_implicit_mc", "ImplicitPropagation"]

COMPLEX_STEP = 1e-20


@kernel_njit
def _stacked(z, F, ny, args):
    """F as a function of z = (y, x): what the shared Jacobian kernel differentiates."""
    return F(z[:ny], z[ny:], *args)


@kernel_njit(inline=True)  # compiled once, as part of its one caller (the specialised closure)
def implicit_jacobians_t(F, y, x, args, hy, hx):
    """Complex-step ``J_y^T`` (n_y, m) and ``J_x^T`` (n_x, m) of F(y, x, *args):
    one Jacobian of F over z = (y, x) from :func:`jacsolve.kernels.jacobian_complex_t`.

    Returns (Jyt, Jxt, status, nfev).
    """
    ny = y.size
    Jt, status, nfev = jacobian_complex_t(_stacked, np.concatenate((y, x)), (F, ny, args),
                                          np.concatenate((hy, hx)))
    return Jt[:ny], Jt[ny:], status, nfev


@dataclass(frozen=True, repr=False)
class ImplicitPropagation(Propagation):
    """Result of :func:`propagate_implicit`: a :class:`~jacsolve.Propagation`
    (``value`` is the root y, ``jac`` the sensitivities dy/dx) plus the solve.

    Attributes
    ----------
    success : bool
        True when ``F(y, x) = 0`` was solved and ``J_y`` is regular; otherwise
        the uncertainties are NaN.
    status : Status
    message : str
    root : RootResult or None
        What :func:`jacsolve.solve` returned.
    """
    success: bool = True
    status: Any = Status.SUCCESS
    message: str = ""
    root: Any = None

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] + f", success={self.success}, "
                f"message={self.message!r})").replace("Propagation(", "ImplicitPropagation(", 1)


def propagate_implicit(F: Callable, y0, x, cov=None, *, u=None, corr=None, dof=None, args=(),
                       tol: float = 1e-12, names: Sequence[str] = None,
                       output_names: Sequence[str] = None, **solve_options
                       ) -> ImplicitPropagation:
    """Propagate uncertainty to ``y`` defined by ``F(y, x, *args) = 0`` (JCGM 102 6.2.2).

    Parameters
    ----------
    F : callable
        ``F(y, x, *args)`` returning m = len(y) values. It must be
        complex-safe (sensitivities are taken by complex step): no ``abs``,
        comparisons or branches on y or x. A numba function
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
    from .. import solve  # the Newton issue's public solver (resolved lazily by the package)

    xv = as_vector(x, "x")
    yv = as_vector(y0, "y0")
    args = as_args(args)
    n, m = xv.size, yv.size
    uu, V = input_uncertainty(n, cov, u, corr)
    nu = _as_dof(dof, n)
    names = _names(names, n, "names")
    output_names = _names(output_names, m, "output_names")
    rec = record_for(F)
    if not rec.jitted:
        if not callable(F):
            raise TypeError(f"F must be callable, got {type(F).__name__}")
        warn_if_python(F, stacklevel=2)
    root = solve(F, yv, args=(xv,) + args, tol=tol, **solve_options)
    y = np.asarray(root.x, dtype=np.float64).reshape(-1)
    nfev = int(getattr(root, "nfev", 0))
    if not root.success:
        return _failed(y, xv, uu, V, nu, n, nfev, names, output_names, root, root.status,
                       f"F(y, x) = 0 was not solved: {root.message}")
    hy = COMPLEX_STEP * np.maximum(np.abs(y), 1.0)
    hx = COMPLEX_STEP * np.maximum(np.abs(xv), np.where(uu > 0, uu, 1.0))
    Jyt, Jxt, status, nf = call_kernel(specialise(implicit_jacobians_t, F, rec), y, xv, args,
                                       hy, hx, name="F")
    nfev += int(nf)
    if status == BAD_OUTPUT_SIZE:
        raise FunctionError(f"F must return len(y0) = {m} values for a square system")
    if status == NOT_COMPLEX_SAFE:
        raise TypeError("F is not complex-safe: it returned real values for complex input. "
                        "Write it with complex-safe operations (no abs, min/max, "
                        "comparisons or branches on y or x).")
    Jy, Jx = Jyt.T, Jxt.T
    if not (all_finite(Jyt.ravel()) and all_finite(Jxt.ravel())):
        return _failed(y, xv, uu, V, nu, n, nfev, names, output_names, root, Status.NONFINITE,
                       "the Jacobians of F at the solution are not finite")
    if np.linalg.cond(Jy) > 1.0 / np.finfo(float).eps:
        return _failed(y, xv, uu, V, nu, n, nfev, names, output_names, root, Status.SINGULAR,
                       "dF/dy is singular at the solution: y is not locally determined by x")
    C = -np.linalg.solve(Jy, Jx)           # dy/dx by the implicit function theorem
    Vy = C @ V @ C.T if V is not None else (C * uu * uu) @ C.T
    Vy = 0.5 * (Vy + Vy.T)
    std = np.sqrt(np.maximum(np.diag(Vy), 0.0))
    dof_eff = np.full(m, np.inf) if nu is None else _effective_dof(C, uu, V, nu, np.diag(Vy),
                                                                     None)
    return ImplicitPropagation(y, std, Vy, C, dof_eff, "linear", None, std, np.zeros(m, bool),
                               xv, uu, nu, nfev, names, output_names, V, True, Status.SUCCESS,
                               "solved; linear propagation by the implicit function theorem",
                               root)


def _failed(y, x, u, V, nu, n, nfev, names, output_names, root, status, message):
    m = y.size
    nan = np.full(m, np.nan)
    return ImplicitPropagation(y, nan, np.full((m, m), np.nan), np.full((m, n), np.nan), nan,
                               "linear", None, nan, np.zeros(m, bool), x, u, nu, nfev, names,
                               output_names, V, False, Status(int(status)), message, root)


def propagate_implicit_mc(F: Callable, y0, inputs, *, n: int = 100_000, p: float = 0.95,
                          kind: str = "symmetric", seed=None, tol: float = 1e-10,
                          maxiter: int = 50, jac: str = "complex"):
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
        Passed to :func:`jacsolve.solve_batch`.

    Returns
    -------
    MonteCarloResult
        As from :func:`jacsolve.propagate_mc`. Draws whose solve failed are
        counted in ``n_nonfinite`` (never dropped silently: a
        :class:`~jacsolve.uncertainty.montecarlo.NonFiniteWarning` is issued and
        ``message`` counts them by status); the statistics describe the
        solved draws.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> from jacsolve import distributions as D
    >>> def F(y, x):        # y = (sqrt(x0 x1), sqrt(x0 / x1)); use @jacsolve.jit for speed
    ...     return np.array([y[0] * y[1] - x[0], y[0] / y[1] - x[1]])
    >>> r = jacsolve.propagate_implicit_mc(F, [1.0, 1.0],
    ...                                    [D.Normal(2.0, 0.02), D.Normal(0.5, 0.005)],
    ...                                    n=1000, seed=1)
    >>> r.n_nonfinite, np.round(r.mean, 2)
    (0, array([1., 2.]))
    """
    from . import distributions as D
    from ..nonlinear.batch import solve_batch
    from .montecarlo import CHUNK, MonteCarloResult, NonFiniteWarning, _check_kind, _check_p

    n = positive_int(n, "n")
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    p, kind = _check_p(p), _check_kind(kind)
    dists = [D.as_distribution(d, f"inputs[{i}]") for i, d in enumerate(
        [inputs] if isinstance(inputs, D.Distribution) else list(inputs))]
    if not dists:
        raise ValueError("inputs must contain at least one distribution")
    yv = as_vector(y0, "y0")
    plan = D.SamplingPlan(dists)
    key = D.seed_key(seed)
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
    message = f"{n} draws, one solve each"
    if n_bad:
        codes, counts = np.unique(res.status[~ok], return_counts=True)
        detail = ", ".join(f"{Status(int(c)).name}: {k}" for c, k in zip(codes, counts))
        message = (f"the solve failed for {n_bad} of {n} draws ({detail}); the statistics use "
                   f"the {n - n_bad} solved draws")
        warnings.warn(message, NonFiniteWarning, stacklevel=2)
    if Y.shape[0] < 2:
        raise ValueError(f"only {Y.shape[0]} of {n} draws could be solved")
    cov = np.atleast_2d(np.cov(Y, rowvar=False))
    return MonteCarloResult(Y.mean(axis=0), np.sqrt(np.diag(cov)), cov, n, n_bad, p, kind, Y,
                            True, None, None, n_bad == 0, message)
