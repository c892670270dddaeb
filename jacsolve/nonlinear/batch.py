"""Many small nonlinear systems F(x; p) = 0 at once: ``solve_batch``.

Each system is solved by :func:`jacsolve.nonlinear.dense.solve_dense`, the compiled
solver behind :func:`jacsolve.solve`, so a batch member and a single solve
follow the same algorithms, statuses and tolerances. For a numba ``fun`` a
compiled driver that releases the GIL runs ranges of systems on the threads of
:mod:`jacsolve._numba.threads`; for a plain Python
``fun`` its Python version runs them one after another (with a
:class:`~jacsolve.PerformanceWarning`).

Compile cost: nothing of the solver compiles per user function. The
driver is compiled once and cached on disk: it takes the address pairs of the
address tier's cached kernels (the :func:`~jacsolve._numba.tiers.address_kernel`
wrappers of ``evaluate_into`` and a Jacobian kernel) and of fun's two
adapters as integers, and gives system k the args ``(params[k], rc, rj, cc,
cj)``: the adapters take ``params[k]`` as fun's one vector argument. Per
function only fun and its adapters compile (with ``@jacsolve.jit(cache=True)``
only the adapters).

Speed: the driver hands the solver *borrowed* rows
(:func:`jacsolve._numba.pointers.borrowed`), whose reference counts numba does
not update; with counted rows the atomic increments in every call of the
solver took more than half the time, and two threads contended for the one
count of the whole batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Dict

import numpy as np

from . import dense as NW
from .._arguments import as_choice, positive_float, positive_int, real_array
from .._numba.calls import evaluate_once
from .._numba.options import cached_njit, python_version, warn_if_python
from .._numba.prepared import auto_method, prepare, probe_bounds, returning_form
from .._numba.threads import ranges, run_ranges
from .._numba.tiers import addressed_args
from .._numba.pointers import borrowed, no_callback
from ..derivatives.differences import canonical_method
from ..status import (BAD_X, FUN_RAISED, NONFINITE, FunctionError, Status, StatusArray, fault_error,
                      not_complex_safe)
from .dense import NFEV, NIT, NSTATS, load_callback, load_ev, load_jac, load_solver, maxabs
from .root import addressed_kernels, adapter_error

__all__ = ["solve_batch", "BatchResult"]

METHODS = {"newton": NW.NEWTON, "trust-region": NW.TRUST_REGION, "broyden": NW.BROYDEN,
           "auto": NW.AUTO}
JAC_METHODS = ("auto", "complex", "central", "forward")
CHUNK = 64      # systems per parallel task; the work buffers are allocated once per task
PROGRESS_ROWS = 1 << 16   # systems between two progress reports of a local run


# ----------------------------------------------------------------- drivers
@cached_njit
def _store(k, s, f, stats, status, nit, fnorm, nfev):
    """Outputs of system k from solve_dense's status s, residual f and stats.

    f is zeroed before each solve: a NONFINITE status with f still all 0
    (a finite f with max|f| > tol otherwise) means fun raised at x0, which
    is stored as the fault FUN_RAISED (see _check_faults).
    """
    fnorm[k] = maxabs(f)
    status[k] = FUN_RAISED if s == NONFINITE and stats[NIT] == 0 and fnorm[k] == 0.0 else s
    nit[k] = stats[NIT]
    nfev[k] = stats[NFEV]


@cached_njit(nogil=True)
def _drive(kernels, rc, rj, cc, cj, X0, P, method, tol, xtol, maxiter, X, status, nit, fnorm,
           nfev, F, S, first, last):
    """Solve the systems of tasks ``first`` to ``last - 1``; compiled once and cached.

    ``kernels`` holds the address pairs of the ev, Jacobian and callback
    kernels and of solve_dense (called through its address, so the driver
    does not re-compile it); system k gets the args ``(P[k], rc, rj, cc,
    cj)``. Task c (CHUNK systems) works in rows c of the work arrays F and S.
    A serial loop that releases the GIL: threads run ranges of tasks
    concurrently (see :func:`_run_compiled`), which compiles in about a third
    of the time of a ``prange`` loop and needs no threading layer.
    """
    N = X0.shape[0]
    ev = load_ev(kernels[0], kernels[1])
    jac = load_jac(kernels[2], kernels[3])
    cb = load_callback(kernels[4], kernels[5])
    solve = load_solver(kernels[6], kernels[7])
    for c in range(first, last):
        f = borrowed(F[c])
        stats = borrowed(S[c])
        hist = f[:0]  # no residual history per system
        for k in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            f[:] = 0.0  # see _store
            stats[:] = 0
            s = solve(ev, jac, cb, borrowed(X0[k]), (borrowed(P[k]), rc, rj, cc, cj), method,
                      tol, xtol, maxiter, borrowed(X[k]), f, stats, hist)
            _store(k, s, f, stats, status, nit, fnorm, nfev)


def _run_compiled(fun, jac_name, *a):
    """The driver on fun's adapters, on the thread pool: params rows are fun's one
    vector argument."""
    X0, P = a[0], a[1]
    try:
        packed = addressed_args(fun, (P[0],), real=True, complex_=jac_name == "complex",
                                jac="jac")
    except TypeError as exc:
        raise adapter_error(exc) from None
    N, n = X0.shape
    ntasks = (N + CHUNK - 1) // CHUNK
    work = (np.empty((ntasks, n)), np.empty((ntasks, NSTATS), dtype=np.int64))
    kernels = addressed_kernels(jac_name)
    run_ranges(lambda t, first, last: _drive(kernels, *packed[1:], *a, *work, first, last),
               ranges(ntasks, 1))


def _run_python(fun, jac_name, X0, P, method, tol, xtol, maxiter, X, status, nit, fnorm,
                nfev):
    """The same solver as Python, one system after another."""
    ev = partial(python_version(NW.evaluate_into), fun)
    jac = partial(python_version(NW.JACOBIAN_KERNELS[jac_name]), fun)
    solve = python_version(NW.solve_dense)
    n = X0.shape[1]
    stats = np.empty(NSTATS, dtype=np.int64)
    hist = np.empty(0)
    for k in range(X0.shape[0]):
        f = np.zeros(n)
        stats[:] = 0
        s = solve(ev, jac, no_callback, X0[k], (P[k],), method, tol, xtol, maxiter, X[k],
                  f, stats, hist)
        _store(k, s, f, stats, status, nit, fnorm, nfev)


# ------------------------------------------------------------------ result
@dataclass(frozen=True, repr=False)
class BatchResult:
    """Solutions of a batch of N systems with n unknowns each.

    Attributes
    ----------
    x : ndarray, shape (N, n)
        Final iterate of each system (its root where ``success``).
    success : ndarray of bool, shape (N,)
        True exactly where ``max|F(x[k])| <= tol``.
    status : StatusArray, shape (N,)
        The :class:`~jacsolve.Status` of each system: its items are
        ``Status`` members (``status[k].message`` says what happened and what
        to try), ``status == Status.SUCCESS`` is a bool array, and its repr
        names the statuses.
    message : str
        A summary: how many systems were solved, and the count per status.
    nit : ndarray of int, shape (N,)
        Iterations of each system.
    fnorm : ndarray, shape (N,)
        ``max|F(x[k])|`` at the returned x (inf or NaN where fun was not finite).
    nfev : ndarray of int, shape (N,)
        Evaluations of fun per system, complex-step ones included.
    tol : float
        The residual tolerance used.
    jac_method : str
        How the Jacobians were taken: ``"complex"``, ``"central"`` or
        ``"forward"``; with ``jac="auto"`` the method it chose (``"auto"``
        for an empty batch, where nothing was differentiated).
    """
    x: np.ndarray
    success: np.ndarray
    status: StatusArray
    message: str
    nit: np.ndarray
    fnorm: np.ndarray
    nfev: np.ndarray
    tol: float
    jac_method: str = ""

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def counts(self) -> Dict[Status, int]:
        """Number of systems per status (only statuses that occur)."""
        return _counts(self.status)

    def __repr__(self) -> str:
        N, n = self.x.shape
        lines = [f"BatchResult: {int(self.success.sum())} of {N} systems (n={n}) solved, "
                 f"max|F| <= {self.tol:g}, jac_method={self.jac_method!r}"]
        for s, k in self.counts.items():
            lines.append(f"  {s.name:<9} {k:>9}  {s.message.split(';')[0]}")
        if N:
            ok = self.success
            worst = f"{self.fnorm[ok].max():.1e}" if ok.any() else "-"
            lines.append(f"  nit median {np.median(self.nit):g}, max {self.nit.max()}; "
                         f"nfev total {int(self.nfev.sum())}; worst solved max|F| {worst}")
        return "\n".join(lines)


def _counts(status) -> Dict[Status, int]:
    codes, counts = np.unique(np.asarray(status).view(np.ndarray), return_counts=True)
    return {Status(int(c)): int(k) for c, k in zip(codes, counts)}


def _summary(status, success, tol) -> str:
    N = status.size
    counts = ", ".join(f"{s.name}: {k}" for s, k in _counts(status).items())
    return (f"{int(success.sum())} of {N} systems solved (max|F| <= {tol:g})"
            + (f"; {counts}" if counts else ""))


# ------------------------------------------------------------------ public
def solve_batch(fun: Callable, x0, params, *, method: str = "newton", jac: str = "auto",
                tol: float = 1e-10, xtol: float = 1e-12, maxiter: int = 50,
                client=None, progress=False) -> BatchResult:
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
        ``z*z*z``, not ``z**3``); the default ``"auto"`` checks that once.
    x0 : array_like, shape (N, n) or (n,)
        Starting points, one row per system, or one start for all; finite.
    params : array_like, shape (N, k)
        Parameters, one row per system (k may be 0). Rows with inf or NaN are
        allowed: such a system ends with its own status, not an exception.
    method : {"newton", "trust-region", "broyden", "auto"}, optional
        A dense method of :func:`jacsolve.solve`, the same algorithm. The
        default ``"newton"``: damped Newton with Armijo backtracking on
        ``|F|^2/2``, and Levenberg-Marquardt steps when J is singular or the
        Newton step fails. ``"auto"`` tries the methods in turn from x0 until
        one meets ``tol`` (robust, slower on systems that fail).
    jac : {"auto", "complex", "central", "forward"}, optional
        ``"auto"`` (default): complex step when fun compiles for complex
        input and a one-time check at the first system (its Jacobian
        against central differences, kept per function) finds it right,
        else central differences; ``result.jac_method`` says which.
        ``"complex"``: complex step (exact to rounding; an error naming the
        operation for a function that is not complex-safe); ``"central"``
        or ``"forward"``: differences. SciPy's ``"cs"``, ``"3-point"``,
        ``"2-point"`` are accepted.
    tol : float, optional
        Residual tolerance: system k succeeds iff ``max_i |F_i(x[k])| <= tol``.
    xtol : float, optional
        Step tolerance, as in :func:`jacsolve.solve`: a system whose steps
        shrink below ``xtol * |x|`` (2-norms) before meeting ``tol`` stops
        with ``STALLED`` (``SINGULAR`` at a singular Jacobian).
    maxiter : int, optional
        Most iterations per system.
    client : dask.distributed.Client, str or None, optional
        Solve on a Dask cluster (a ``Client`` or a scheduler address), in
        chunks of rows, each on one worker thread; x0 and params may be
        dask arrays. The same BatchResult as locally (see
        :mod:`jacsolve.distributed`; :func:`jacsolve.distributed.lazy_solve_batch`
        keeps dask arrays lazy).
    progress : bool or callable, optional
        ``True`` prints the systems solved on stderr; a callable is called as
        ``progress(done, total)``. Silent by default.

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
    if client is not None:
        from ..distributed.batch import solve_on_cluster
        return solve_on_cluster(client, fun, x0, params, method=method, jac=jac, tol=tol,
                                xtol=xtol, maxiter=maxiter, progress=progress)
    fun = returning_form(fun)  # the in-place form, as y = fun(x, *args)
    as_choice(method, "method", tuple(METHODS))
    jac_name = canonical_method(jac, JAC_METHODS, name="jac")
    tol = positive_float(tol, "tol")
    xtol = positive_float(xtol, "xtol", allow_zero=True)
    maxiter = positive_int(maxiter, "maxiter")
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    X0, P = _batch_arrays(x0, params)
    N, n = X0.shape
    rec = prepare(fun)
    warn_if_python(fun)
    if N:
        _check_fun(fun, X0[0], P[0], "central" if jac_name == "auto" else jac_name)
        if jac_name == "auto":  # the first system decides, once per function
            jac_name = auto_method(fun, X0[0], (P[0],), "central", names=("x0", "params"))
    outputs = (np.empty((N, n)), np.empty(N, dtype=np.int64), np.empty(N, dtype=np.int64),
               np.empty(N), np.empty(N, dtype=np.int64))
    options = (METHODS[method], tol, xtol, maxiter)
    run = _run_compiled if rec.jitted else _run_python
    if N and not progress:
        run(fun, jac_name, X0, P, *options, *outputs)
    elif N:  # in pieces of rows, each reported when solved (an empty batch solves nothing)
        from ..distributed.progress import Progress
        bar = Progress(progress, N, "systems", "solve_batch")
        for s in range(0, N, PROGRESS_ROWS):
            e = min(N, s + PROGRESS_ROWS)
            run(fun, jac_name, X0[s:e], P[s:e], *options, *(o[s:e] for o in outputs))
            bar.add(e - s)
        bar.close()
    X, codes, nit, fnorm, nfev = outputs
    _check_faults(fun, X0, P, codes, fnorm)
    success = codes == NW.SUCCESS
    return BatchResult(X, success, StatusArray(codes), _summary(codes, success, tol), nit,
                       fnorm, nfev, tol, jac_name)


def _batch_arrays(x0, params):
    """x0 as (N, n) and params as (N, k), float64 C-contiguous, checked."""
    X0 = real_array(x0, "x0")
    P = real_array(params, "params")
    if P.ndim != 2:
        raise ValueError(f"params must have shape (N, k), one row per system, got shape "
                         f"{P.shape}; for one parameter per system pass params[:, None]")
    if X0.ndim == 1:
        if X0.size == 0:
            raise ValueError("x0 must have at least one unknown")
        X0 = np.broadcast_to(X0, (P.shape[0], X0.size)).copy()  # writable, even for one row
    elif X0.ndim != 2 or X0.shape[1] == 0:
        raise ValueError(f"x0 must have shape (N, n) or (n,), got shape {X0.shape}")
    if X0.shape[0] != P.shape[0]:
        raise ValueError(f"params has {P.shape[0]} rows but x0 has {X0.shape[0]}: "
                         "params needs one row per system (row of x0)")
    bad = ~np.isfinite(X0)
    if bad.any():
        k, j = np.argwhere(bad)[0]
        more = f" ({int(bad.sum())} non-finite entries)" if bad.sum() > 1 else ""
        raise fault_error(BAD_X, x_name="x0", where=f"; x0[{k}, {j}] = {X0[k, j]}{more}")
    return X0, P


def _check_fun(fun, x, p, jac_name: str) -> None:
    """Call fun once from Python: its output length, reads past the end of x or of
    the params row (:func:`~jacsolve._numba.prepared.probe_bounds`), and complex
    safety if needed."""
    f, _ = evaluate_once(fun, x, (p,))
    if f.size != x.size:
        raise ValueError(f"fun must return {x.size} values (one per unknown, like the rows "
                         f"of x0), got {f.size}")
    probe_bounds(fun, f, x, (p,), ("a row of x0", "a row of params"))
    if jac_name != "complex" or prepare(fun).jitted:
        return  # a compiled fun: compiling its complex adapter names what is not complex-safe
    try:
        safe = np.iscomplexobj(fun(x.astype(np.complex128), p))
    except Exception as exc:
        raise not_complex_safe(detail=f"it raised {type(exc).__name__} for complex x, which "
                                      "jac='complex' needs") from None
    if not safe:
        raise not_complex_safe(detail="it returned real values for complex x")


def _check_faults(fun, X0, P, status, fnorm) -> None:
    """Raise for the caller's faults, which the solver reports as negative codes."""
    if status.size == 0 or status.min() >= 0:
        return
    for k in np.flatnonzero(status == FUN_RAISED):
        # fun raised at x0 (in compiled code, where the exception is lost):
        # evaluate there again from Python to raise it with its message
        try:
            evaluate_once(fun, X0[k], (P[k],))
        except FunctionError as exc:
            raise FunctionError(f"{exc} of system {k}") from exc.__cause__
        status[k] = NONFINITE  # it did not raise again: count it as non-finite
        fnorm[k] = np.nan
    bad = np.flatnonzero(status < 0)
    if bad.size:
        k = int(bad[0])
        raise fault_error(int(status[k]), n=X0.shape[1], where=f" for system {k}")
