"""Newton's method on large sparse systems: the loop of :mod:`jacsolve.nonlinear.dense`
with sparse linear algebra.

There is one Newton algorithm, :func:`jacsolve.nonlinear.dense.newton`. Its
linear algebra goes through module-level names (``linear_storage``,
``gradient``, ``gram_scale``, ``newton_direction``, ``lm_direction``);
:func:`newton_solver` runs :func:`~jacsolve.nonlinear.dense.solve_dense` as
Python (:func:`jacsolve._numba.options.python_version`) with those names bound
to the functions here:

* the Jacobian J is a CSC matrix held by a :class:`SparseJacobian`, in the
  place of the dense loop's transposed Jacobian ``Jt``: no (n, n) array is
  allocated;
* Newton's step -J^-1 F comes from a sparse LU (``scipy.sparse.linalg.splu``),
  Levenberg-Marquardt steps -(J^T J + mu I)^-1 J^T F from a sparse LU of
  J^T J + mu I.

Jacobians come from coloured differences (:func:`jacobian_kernel`: one
evaluation per group of columns) or from the caller's ``jac``. Steps,
statuses, the stall rule and the counts are those of the dense Newton.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import dense as NW
from .._numba.calls import call_kernel
from .._numba.options import python_version
from .._numba.tiers import address_kernel, specialised
from ..derivatives.differences import DEFAULT_REL_STEP
from ..derivatives.kernels import relative_steps, sparse_central, sparse_complex, sparse_forward
from ..status import (BAD_F_SIZE, BAD_JAC_SHAPE, NONFINITE, NOT_COMPLEX_SAFE, OK,
                      FunctionError)

__all__ = ["SparseJacobian", "newton_solver", "jacobian_kernel", "SPARSE_JACOBIANS"]

SPARSE_JACOBIANS = ("complex", "central", "forward")  # coloured difference methods


class SparseJacobian:
    """J (CSC) at the current point, and J^T J once a Levenberg-Marquardt step needs it."""
    __slots__ = ("J", "_gram")

    def __init__(self):
        self.J = None
        self._gram = None

    def store(self, J) -> None:
        self.J = sp.csc_array(J)
        self._gram = None

    def gram(self):
        if self._gram is None:
            self._gram = sp.csc_array(self.J.T @ self.J)
        return self._gram


# ------------------------------------ the linear algebra of dense.newton, sparse
def linear_storage(n):
    """(J holder, no LU work matrix, no pivots): the factors live in SuperLU."""
    return SparseJacobian(), None, None


def gradient(Jt, f, g):
    """g = J^T f."""
    g[:] = Jt.J.T @ f


def gram_scale(Jt):
    """Largest diagonal entry of J^T J (squared largest column norm)."""
    return float(Jt.J.multiply(Jt.J).sum(axis=0).max())


def _solve(A, b, p):
    """p = -A^-1 b by sparse LU; the pivot ratio min|u_kk| / max|u_kk| (0.0
    when A is singular), as :func:`jacsolve._linalg.lu_factor` gives it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", spla.MatrixRankWarning)
            lu = spla.splu(A)
    except RuntimeError:  # exactly singular
        return 0.0
    u = np.abs(lu.U.diagonal())
    umax = u.max()
    r = float(u.min() / umax) if umax > 0.0 and np.isfinite(umax) else 0.0
    if r <= NW.RCOND_MIN:
        return r
    p[:] = -lu.solve(b)
    return r if np.all(np.isfinite(p)) else 0.0


def newton_direction(Jt, f, LU, piv, p):
    """p = -J^-1 f. Returns the LU pivot ratio; p is valid only above RCOND_MIN."""
    return _solve(Jt.J, f, p)


def lm_direction(Jt, g, mu, A, piv, p):
    """Levenberg-Marquardt direction p = -(J^T J + mu I)^-1 g; False if it failed."""
    n = g.size
    return _solve(sp.csc_array(Jt.gram() + mu * sp.identity(n, format="csc")), g, p) > 0.0


LINEAR_ALGEBRA = {"linear_storage": linear_storage, "gradient": gradient,
                  "gram_scale": gram_scale, "newton_direction": newton_direction,
                  "lm_direction": lm_direction}


def newton_solver(compiled_line_search: bool):
    """:func:`~jacsolve.nonlinear.dense.solve_dense` as Python with sparse linear
    algebra, for ``method=NEWTON`` (the other methods have no sparse version).

    With ``compiled_line_search`` the line search stays compiled: ``ev`` must
    then be a :class:`~jacsolve._numba.pointers.Pointer` (the address tier's
    cached evaluation kernel, or one specialised on fun), which the Python
    loop calls as well.
    """
    overrides = dict(LINEAR_ALGEBRA)
    if compiled_line_search:
        overrides["line_search"] = NW.line_search
    return python_version(NW.solve_dense, overrides)


# ----------------------------------------------------------------- Jacobians
def jacobian_kernel(fun, jac, groups, n: int, user_args: tuple, addressed: bool = False):
    """The loop's ``jac(x, args, f, Jt, stats)``: the sparse Jacobian at x into
    the :class:`SparseJacobian` Jt; a status code (as the dense kernels).

    ``jac`` is the caller's callable (dense or scipy sparse result), called
    as ``jac(x, *user_args)``, or the name of a coloured difference method
    (:data:`SPARSE_JACOBIANS`) with the column ``groups`` of the pattern.
    With ``addressed`` the loop's ``args`` are the address tier's ``(p, rc,
    rj, cc, cj)`` and the difference kernels are the cached wrappers of
    :func:`jacsolve._numba.tiers.address_kernel`; otherwise they are the
    user's args and the kernels are specialised on fun (or Python).
    """
    if callable(jac):
        def analytic(x, args, f, Jt, stats):
            stats[NW.NJEV] += 1
            try:
                J = jac(x, *user_args)
            except Exception:  # as the dense kernel: no Jacobian here
                stats[NW.NFAIL] += 1
                return NONFINITE
            J = sp.csc_array(J) if sp.issparse(J) else sp.csc_array(np.asarray(J, dtype=float))
            if J.shape != (n, n):
                return BAD_JAC_SHAPE
            if not np.all(np.isfinite(J.data)):
                return NONFINITE
            Jt.store(J)
            return OK
        return analytic

    g = (groups.cols, groups.cptr, groups.nz, groups.gptr, groups.row_of, groups.col_of,
         groups.nnz)
    ones = np.ones(n)
    inf = np.full(n, np.inf)
    rel_step = DEFAULT_REL_STEP[jac]
    method = {"complex": sparse_complex, "forward": sparse_forward}.get(jac, sparse_central)
    kernel = address_kernel(method) if addressed else specialised(method, fun)

    def differences(x, args, f, Jt, stats):
        stats[NW.NJEV] += 1
        h = relative_steps(x, rel_step, ones)
        try:
            if jac == "complex":
                data, status, nfev = call_kernel(kernel, x, args, h, n, *g)
            else:
                data, status, nfev = call_kernel(kernel, x, args, f, h, -inf, inf, *g)
        except FunctionError:  # fun raised near x: no Jacobian here
            stats[NW.NFAIL] += 1
            return NONFINITE
        stats[NW.NFEV] += nfev
        if status == BAD_F_SIZE or status == NOT_COMPLEX_SAFE:
            return status
        if status != OK or not np.all(np.isfinite(data)):
            return NONFINITE
        Jt.store(sp.csr_array((data, groups.indices, groups.indptr), shape=(n, n)))
        return OK
    return differences
