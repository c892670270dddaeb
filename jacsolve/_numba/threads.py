"""The one thread pool of jacsolve, for compiled code that releases the GIL.

Monte Carlo sampling and model evaluation, the tails of coverage intervals
and the integration kernels all split their work into ranges of rows and run
them on this pool: ``numba.get_num_threads()`` worker threads (see
:func:`num_threads`), recreated when that number changes. No ``prange``: a
parallel loop specialised on a user function costs seconds of compilation per
function and process, a serial ``nogil`` kernel run on several threads does
not.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

import numba
from numba.np.ufunc import parallel as _numba_parallel

__all__ = ["pool", "ranges", "run_ranges", "num_threads"]

_POOL = [None, 0]   # the executor and the thread count it was made for


def num_threads() -> int:
    """``numba.get_num_threads()``, without starting numba's threading layer if nothing has.

    Asking numba starts its threading layer (OpenMP, TBB or workqueue: about
    60 ms) although the pool does not use it. Until it is started,
    ``numba.set_num_threads`` cannot have been called (it starts the layer),
    so the count is numba's default, ``numba.config.NUMBA_NUM_THREADS``.
    """
    if getattr(_numba_parallel, "_is_initialized", True):  # started (or numba changed)
        return numba.get_num_threads()
    return numba.config.NUMBA_NUM_THREADS


def pool() -> ThreadPoolExecutor:
    """The shared executor, with :func:`num_threads` workers."""
    threads = max(1, num_threads())
    if _POOL[1] != threads:
        if _POOL[0] is not None:
            _POOL[0].shutdown()
        _POOL[:] = [ThreadPoolExecutor(threads, thread_name_prefix="jacsolve"), threads]
    return _POOL[0]


def ranges(n: int, grain: int, parallel: bool = True) -> list:
    """Edges of consecutive ranges covering 0..n-1: a few per thread, each >= grain items.

    Several ranges per thread balance the load when a core is busy elsewhere.
    """
    threads = num_threads()
    tasks = max(1, min(-(-n // grain), 4 * threads)) if parallel and threads > 1 else 1
    return [n * t // tasks for t in range(tasks + 1)]


def run_ranges(fn, edges) -> list:
    """[fn(t, edges[t], edges[t + 1]) for each range t], on the shared pool.

    ``fn`` calls compiled code that releases the GIL. A single range runs in
    the calling thread. Every range is finished before an exception (the first,
    in range order) is raised.
    """
    tasks = len(edges) - 1
    if tasks == 1:
        return [fn(0, edges[0], edges[1])]
    executor = pool()
    futures = [executor.submit(fn, t, edges[t], edges[t + 1]) for t in range(tasks)]
    wait(futures)
    return [f.result() for f in futures]
