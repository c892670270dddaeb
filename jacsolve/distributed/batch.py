"""Batches of small systems on a Dask cluster: ``solve_batch(..., client=)`` and
:func:`lazy_solve_batch`.

Each task solves a contiguous range of systems with
:func:`jacsolve.solve_batch` itself (on one thread of its worker), so every
system gets the roots, statuses, iterations and evaluations it gets locally.
NumPy inputs are cut into row chunks of about a quarter of a worker thread's
share (at most :data:`MAX_ROWS`), a bounded number in flight; dask arrays
keep their own row chunks. A function that raises at a starting point is a
:class:`~jacsolve.FunctionError` naming the chunk and the system, as
locally; numerical failures stay statuses.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from ..status import FunctionError, StatusArray
from .client import get_client, ordered_map, worker_threads
from .progress import Progress

__all__ = ["solve_on_cluster", "lazy_solve_batch", "LazyBatchResult", "MAX_ROWS"]

MAX_ROWS = 1 << 17    # systems per task at most (inputs and outputs of a task: a few MB)


def _solve_rows(fun, X0, P, options, first):
    """solve_batch on rows first.. of the batch, run on one worker thread."""
    import numba

    from ..nonlinear.batch import solve_batch
    before = numba.get_num_threads()
    numba.set_num_threads(1)    # the cluster's parallelism is its tasks
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")    # the client has warned already
            r = solve_batch(fun, X0, P, **options)
    except FunctionError as exc:
        raise FunctionError(f"{exc} (counted from system {first}, the chunk's first)") from exc
    finally:
        numba.set_num_threads(before)
    return r.x, np.asarray(r.status).view(np.ndarray).astype(np.int64), r.nit, r.fnorm, r.nfev


def _result(X, codes, nit, fnorm, nfev, tol, checked):
    """The BatchResult of the assembled arrays; ``checked``: the client's one-system
    solve_batch, whose other fields (such as the Jacobian method chosen) it copies."""
    from ..nonlinear import batch as B
    success = codes == B.NW.SUCCESS
    r = B.BatchResult(X, success, StatusArray(codes), B._summary(codes, success, tol), nit,
                      fnorm, nfev, tol)
    if checked is None:
        return r
    extra = {f: getattr(checked, f) for f in type(r).__dataclass_fields__
             if f not in ("x", "success", "status", "message", "nit", "fnorm", "nfev", "tol")}
    return dataclasses.replace(r, **extra) if extra else r


def solve_on_cluster(client, fun, x0, params, *, rows=None, progress=False, **options):
    """:func:`jacsolve.solve_batch` with ``client=``: the same BatchResult, solved on the cluster."""
    from ..nonlinear import batch as B
    if _is_dask(x0) or _is_dask(params):
        lazy = lazy_solve_batch(fun, x0, params, **options)
        return lazy.compute(client)
    client = get_client(client)
    X0, P = B._batch_arrays(x0, params)
    N, n = X0.shape
    checked = B.solve_batch(fun, X0[:1], P[:1], **options)   # input checks and warnings, here
    if rows is None:
        rows = int(min(MAX_ROWS, max(256, -(-N // (4 * worker_threads(client))))))
    starts = list(range(0, N, rows))
    bar = Progress(progress, N, "systems", "solve_batch")
    parts = ordered_map(client, _solve_rows,
                        [(fun, X0[s:s + rows], P[s:s + rows], options, s) for s in starts],
                        name="jacsolve-batch", describe=lambda i: f"systems {starts[i]} to "
                        f"{min(N, starts[i] + rows) - 1}",
                        sizes=[min(N, s + rows) - s for s in starts], progress=bar)
    X, codes = np.empty((N, n)), np.empty(N, dtype=np.int64)
    nit, fnorm, nfev = np.empty(N, dtype=np.int64), np.empty(N), np.empty(N, dtype=np.int64)
    for s, (x, c, it, fn, fe) in zip(starts, parts):
        e = s + x.shape[0]
        X[s:e], codes[s:e], nit[s:e], fnorm[s:e], nfev[s:e] = x, c, it, fn, fe
    bar.close()
    return _result(X, codes, nit, fnorm, nfev, options.get("tol", 1e-10), checked)


def _is_dask(a) -> bool:
    return type(a).__module__.startswith("dask.")


@dataclass(frozen=True)
class LazyBatchResult:
    """:func:`lazy_solve_batch`'s result: dask arrays, chunked like the inputs' rows.

    ``x`` (N, n), ``status`` (N,) of int codes, ``success``, ``nit``,
    ``fnorm``, ``nfev``; nothing runs before ``compute()`` (or
    ``dask.compute`` / ``persist`` on the arrays).
    """
    x: object
    status: object
    success: object
    nit: object
    fnorm: object
    nfev: object
    tol: float
    checked: object = None

    def compute(self, client=None):
        """The :class:`~jacsolve.BatchResult`, computed (on ``client`` if given)."""
        arrays = (self.x, self.status, self.nit, self.fnorm, self.nfev)
        if client is not None:
            X, codes, nit, fnorm, nfev = get_client(client).compute(arrays, sync=True)
        else:
            import dask
            X, codes, nit, fnorm, nfev = dask.compute(*arrays)
        return _result(X, codes, nit, fnorm, nfev, self.tol, self.checked)


def lazy_solve_batch(fun, x0, params, **options) -> LazyBatchResult:
    """Lazy :func:`jacsolve.solve_batch` over dask arrays: one task per row chunk.

    Parameters
    ----------
    fun, x0, params, **options
        As for :func:`jacsolve.solve_batch`; ``x0`` (N, n) or (n,) and
        ``params`` (N, k) may be dask or NumPy arrays. x0 is rechunked to
        params' row chunks (or params to x0's when only x0 is a dask array).

    Returns
    -------
    LazyBatchResult
        Dask arrays with the row chunks of the inputs.

    Examples
    --------
    >>> import numpy as np, dask.array as da, jacsolve
    >>> from jacsolve.distributed import lazy_solve_batch
    >>> @jacsolve.jit
    ... def sq(x, p):
    ...     return np.array([x[0] * x[0] - p[0]])
    >>> P = da.from_array(np.arange(1.0, 9.0)[:, None], chunks=(4, 1))
    >>> lazy = lazy_solve_batch(sq, [1.0], P)
    >>> lazy.x.chunks
    ((4, 4), (1,))
    >>> np.allclose(lazy.x.compute()[:, 0], np.sqrt(np.arange(1.0, 9.0)))
    True
    """
    import dask.array as da

    from ..nonlinear.batch import solve_batch
    P = da.asarray(params)
    if P.ndim != 2:
        raise ValueError(f"params must have shape (N, k), one row per system, got shape "
                         f"{P.shape}")
    X0 = da.asarray(x0)
    if X0.ndim == 1:
        X0 = da.broadcast_to(X0, (P.shape[0], X0.shape[0]))
    if _is_dask(x0) and not _is_dask(params):
        P = P.rechunk({0: X0.chunks[0], 1: -1})
        X0 = X0.rechunk({1: -1})
    else:
        P = P.rechunk({1: -1})
        X0 = X0.rechunk({0: P.chunks[0], 1: -1})
    if X0.shape[0] != P.shape[0]:
        raise ValueError(f"params has {P.shape[0]} rows but x0 has {X0.shape[0]}")
    n = X0.shape[1]
    checked = None
    if P.shape[0]:   # input checks on the first system, here, before anything is queued
        checked = solve_batch(fun, np.asarray(X0[:1].compute()), np.asarray(P[:1].compute()),
                              **options)

    def block(x, p, block_info=None):
        first = block_info[0]["array-location"][0][0] if block_info else 0
        x, c, it, fn, fe = _solve_rows(fun, np.array(x, dtype=float), np.array(p, dtype=float),
                                       options, first)
        return np.column_stack([x, c, it, fn, fe])

    out = da.map_blocks(block, X0, P, dtype=float, chunks=(P.chunks[0], (n + 4,)),
                        token="jacsolve-lazy-batch")
    status = out[:, n].astype(np.int64)
    from ..nonlinear.dense import SUCCESS
    return LazyBatchResult(out[:, :n], status, status == SUCCESS, out[:, n + 1].astype(np.int64),
                           out[:, n + 2], out[:, n + 3].astype(np.int64),
                           float(options.get("tol", 1e-10)), checked)
