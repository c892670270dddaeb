"""Every status and fault code of jacsolve, and the exceptions built from them.

One integer table serves compiled and Python code alike:

* **Solver outcomes** (codes >= 0) are the members of :class:`Status`; each
  carries its message. Kernels return ``OK`` (which is ``Status.SUCCESS``) or
  ``NONFINITE`` (which is ``Status.NONFINITE``): compiled code cannot hold
  the enum, so it uses these integers.
* **Caller faults** (codes < 0) are mistakes the caller must fix (x not
  finite, fun returning the wrong length, fun not complex-safe...). Compiled
  code returns the code; Python turns it into an exception with
  :func:`fault_error`, the one place where those exceptions are written.
* **Evaluation outcomes** (``EVAL_*``) say how one call of fun went, inside
  the solvers' line searches.

Results carry the common contract (see :class:`ResultContract`): ``success``,
``status`` (a :class:`Status`, or a :class:`StatusArray` for batches),
``message`` and ``nfev``.
"""
from __future__ import annotations

import enum
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Status", "StatusArray", "FunctionError", "fault_error", "status_message",
           "OK", "SUCCESS", "MAXITER", "STALLED", "SINGULAR", "NONFINITE", "MAXFEV",
           "CALLBACK", "DIVERGED", "RAISED", "BAD_X", "BAD_F_SIZE", "BAD_JAC_SHAPE", "NOT_COMPLEX_SAFE",
           "BAD_F0", "BAD_U", "FUN_RAISED", "CONTINUE", "EVAL_OK", "EVAL_FAILED",
           "EVAL_SIZE", "NOT_COMPLEX_SAFE_HINT", "ResultContract", "not_complex_safe"]


class Status(enum.IntEnum):
    """Why a computation stopped. Only ``SUCCESS`` means the tolerance asked for holds."""

    SUCCESS = 0
    MAXITER = 1
    STALLED = 2
    SINGULAR = 3
    NONFINITE = 4
    MAXFEV = 5
    CALLBACK = 6
    DIVERGED = 7
    RAISED = 8
    NOT_CONVERGED = 9

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Status.SUCCESS: "converged: the tolerance asked for holds (for solvers, max|F(x)| <= tol)",
    Status.MAXITER: "the iteration limit was reached before max|F(x)| <= tol; raise maxiter, "
                    "or try a better starting point or another method",
    Status.STALLED: "no further progress: steps became smaller than xtol (or the line search "
                    "failed) while max|F(x)| > tol; x is probably near a local minimum of |F| "
                    "that is not a root; try another starting point",
    Status.SINGULAR: "the Jacobian is singular and regularised steps made no progress; check "
                     "the equations for redundancy or try another starting point",
    Status.NONFINITE: "fun returned inf or NaN and backtracking could not avoid it; check the "
                      "domain of fun (logs, square roots, divisions) or give bounds",
    Status.MAXFEV: "the function-evaluation limit was reached before the tolerance was met",
    Status.CALLBACK: "stopped by the callback",
    Status.DIVERGED: "the iterates grew without bound (|x| > 1e100); the system may have no "
                     "root in this direction; try another starting point",
    Status.RAISED: "fun raised an exception at the starting point of this system; check the "
                   "domain of fun for its parameters",
    Status.NOT_CONVERGED: "the error estimate did not meet the tolerance asked for; allow more "
                          "points or draws, or loosen the tolerance",
}

# ---------------------------------------- outcomes as plain ints (compiled code)
SUCCESS = int(Status.SUCCESS)
MAXITER = int(Status.MAXITER)
STALLED = int(Status.STALLED)
SINGULAR = int(Status.SINGULAR)
NONFINITE = int(Status.NONFINITE)  # also a kernel code: fun gave inf/NaN where a value was needed
MAXFEV = int(Status.MAXFEV)
CALLBACK = int(Status.CALLBACK)
DIVERGED = int(Status.DIVERGED)
RAISED = int(Status.RAISED)
OK = SUCCESS                       # the kernel code for "done"

# -------------------------------------------------- caller faults (< 0)
BAD_X = -1             # the point x (or x0) is not finite
BAD_F_SIZE = -2        # fun's output length is not the one expected, or changed with x
BAD_JAC_SHAPE = -3     # an analytic jac returned another shape than (n, n)
NOT_COMPLEX_SAFE = -4  # fun returned real values for complex input
BAD_F0 = -5            # fun(x) is not finite at the point asked for
BAD_U = -6             # a standard uncertainty is negative or not finite
FUN_RAISED = -7        # fun raised at a batch member's x0 (the exception is lost in threads)

CONTINUE = -100        # inside the solvers: no stopping status yet

# ---------------------------------------------------- evaluation outcomes
EVAL_OK = 0       # fun returned finite values of the right length
EVAL_FAILED = 1   # fun raised, or returned inf/NaN: the trial point is rejected
EVAL_SIZE = 2     # fun returned another length (a caller fault: BAD_F_SIZE)


class FunctionError(RuntimeError):
    """The user's function raised, or returned something unusable."""


NOT_COMPLEX_SAFE_HINT = (
    "complex step needs a complex-safe fun: no abs, min/max, comparisons or branches on x, "
    "no .real, no math-module functions, and outputs allocated with dtype=x.dtype")


def not_complex_safe(name: str = "fun", jac: str = "jac", detail: str = "",
                     instead: str = "") -> TypeError:
    """The error for a function that complex step cannot differentiate.

    ``instead`` replaces the closing advice (``Use jac='auto' (the default:
    complex step only where it is right) or jac='central' (or 'richardson')
    instead``; without 'auto' for ``jac="method"``, :func:`jacsolve.jacobian`'s
    argument) for callers that offer other methods or none.
    """
    what = f" ({detail})" if detail else ""
    advice = instead or (f"Use {jac}='central' (or 'richardson') instead" if jac == "method"
                         else f"Use {jac}='auto' (the default: complex step only where it is "
                              f"right) or {jac}='central' (or 'richardson') instead")
    return TypeError(f"{name} is not complex-safe{what}: {NOT_COMPLEX_SAFE_HINT}. {advice}")


def fault_error(code: int, *, name: str = "fun", x_name: str = "x", jac: str = "jac",
                n: int = -1, got: int = -1, where: str = "") -> Exception:
    """The exception for a caller fault ``code`` (a negative entry of this table).

    ``name`` is the caller's name for the function, ``x_name`` for the point,
    ``jac`` for the argument that chooses the derivative method, ``n`` the
    expected output length, ``got`` the length seen (-1 if unknown) and
    ``where`` a suffix such as " for system 3".
    """
    if code == BAD_X:
        return ValueError(f"{x_name} must be finite{where}")
    if code == BAD_F_SIZE:
        seen = f"; it returned {got} values" if got >= 0 and got != n else (
            "; its output length changed with x" if n >= 0 else
            "; it returned arrays of different lengths at different x")
        want = f"an array of length {n}" if n >= 0 else "arrays of one length"
        return FunctionError(f"{name} must return {want}{where}{seen}")
    if code == BAD_JAC_SHAPE:
        return ValueError(f"jac must return the ({n}, {n}) Jacobian at every x{where}")
    if code == NOT_COMPLEX_SAFE:
        return not_complex_safe(name, jac, f"it returned real values for complex x{where}")
    if code == BAD_F0:
        return ValueError(f"{name}({x_name}) is not finite{where}")
    if code == BAD_U:
        return ValueError(f"standard uncertainties must be finite and >= 0{where}")
    return RuntimeError(f"internal error: status {code}{where}")


def status_message(status: Status, detail: str = "") -> str:
    """The status's message with a detail appended (the achieved figure, say)."""
    return f"{status.message}. {detail}" if detail else status.message


class StatusArray(np.ndarray):
    """Per-member :class:`Status` codes of a batch: an int array whose items are
    ``Status`` members and whose repr names them."""

    def __new__(cls, codes):
        return np.asarray(codes, dtype=np.int64).view(cls)

    def __getitem__(self, key):
        item = super().__getitem__(key)
        if isinstance(item, np.ndarray):
            return item
        return Status(int(item))

    def __iter__(self):
        return (Status(int(c)) for c in self.view(np.ndarray))

    @property
    def names(self) -> list:
        return [Status(int(c)).name for c in self.view(np.ndarray).ravel()]

    def __repr__(self) -> str:
        names = self.names
        shown = ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6 else "")
        return f"StatusArray([{shown}])"

    __str__ = __repr__

    def __array_wrap__(self, obj, context=None, return_scalar=False):
        # comparisons and arithmetic give plain arrays, not statuses
        out = np.asarray(obj).view(np.ndarray)
        return out[()] if return_scalar else out


@runtime_checkable
class ResultContract(Protocol):
    """What every result that can fall short carries."""

    success: Any   # True (or a bool array for batches) only where what was asked for holds
    status: Any    # a Status, or a StatusArray for batches
    message: str   # what happened and, on failure, what to try
    nfev: Any      # evaluations of the user's function
