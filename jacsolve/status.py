"""Termination statuses of the solvers: one table from code to message.

Compiled kernels return the integer codes; Python wraps them in :class:`Status`.
"""
from __future__ import annotations

import enum

__all__ = ["Status"]


class Status(enum.IntEnum):
    """Why a solver stopped. Only ``SUCCESS`` means the residual test holds."""

    SUCCESS = 0
    MAXITER = 1
    STALLED = 2
    SINGULAR = 3
    NONFINITE = 4
    MAXFEV = 5
    CALLBACK = 6
    DIVERGED = 7

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Status.SUCCESS: "converged: the residual test max|F(x)| <= tol holds",
    Status.MAXITER: "the iteration limit was reached before max|F(x)| <= tol; raise maxiter, "
                    "or try a better starting point or another method",
    Status.STALLED: "no further progress: steps became smaller than xtol (or the line search "
                    "failed) while max|F(x)| > tol; x is probably near a local minimum of |F| "
                    "that is not a root; try another starting point",
    Status.SINGULAR: "the Jacobian is singular and regularised steps made no progress; check "
                     "the equations for redundancy or try another starting point",
    Status.NONFINITE: "fun returned inf or NaN and backtracking could not avoid it; check the "
                      "domain of fun (logs, square roots, divisions) or give bounds",
    Status.MAXFEV: "the function-evaluation limit was reached before max|F(x)| <= tol",
    Status.CALLBACK: "stopped by the callback",
    Status.DIVERGED: "the iterates grew without bound (|x| > 1e100); the system may have no "
                     "root in this direction; try another starting point",
}
