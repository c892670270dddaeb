"""Running jacsolve's batched work on a Dask cluster (``pip install "jacsolve[dask]"``).

The convention, the same for the three entry points that take it:

* ``client=`` is a ``dask.distributed.Client``, or a scheduler address
  (``"tcp://host:8786"``) that is connected to once per process. Without it
  (the default) the work runs on this machine's threads and nothing of Dask
  is imported.
* :func:`jacsolve.solve_batch` (``client=``) returns the same
  :class:`~jacsolve.BatchResult`; :func:`lazy_solve_batch` takes dask arrays
  and returns dask arrays, lazy and chunked like the inputs.
* :func:`jacsolve.propagate_mc` (``client=``) returns the same
  :class:`~jacsolve.MonteCarloResult`, without samples: the draws stay on the
  workers, each evaluated once in the common case, and only moments, bin
  counts and the values near the predicted interval endpoints travel
  (:mod:`.montecarlo`).
* :func:`jacsolve.integrate` (``method="qmc"`` or ``"mc"``, ``client=``)
  returns the same :class:`~jacsolve.IntegrationResult`.
* A seeded run gives the bits of the same call without ``client``, for any
  number of workers and chunks: the work is cut into the blocks a local run
  uses (random streams belong to blocks), and the client reduces the chunks'
  partial results in the local order.
* ``progress=True`` prints the draws, systems or points done on stderr; a
  callable gets ``(done, total)`` (with or without ``client``). Library calls
  are silent by default.
* The user's function travels with the tasks (cloudpickle; a numba function
  defined in ``__main__`` or a notebook goes by value) and each worker
  process compiles it once and keeps it for the next calls.

This package imports Dask only in :mod:`.client`, when a client is used.
"""
from __future__ import annotations

__all__ = ["lazy_solve_batch", "get_client"]


def __getattr__(name):
    if name == "lazy_solve_batch":
        from .batch import lazy_solve_batch
        return lazy_solve_batch
    if name == "get_client":
        from .client import get_client
        return get_client
    raise AttributeError(f"module 'jacsolve.distributed' has no attribute {name!r}")
