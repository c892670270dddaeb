"""The one place that imports Dask: the client, and chunks of work mapped in order.

:func:`ordered_map` is how every distributed entry point runs: one task per
chunk, a bounded number in flight (so the inputs of a billion systems are
not all queued on the scheduler at once), results yielded in chunk order so
the client reduces them exactly as a local run does. A chunk whose task
fails raises one :class:`~jacsolve.FunctionError` naming the chunk, after
the other tasks are cancelled; a worker that dies costs only time: the
scheduler reruns its tasks elsewhere, and each chunk's result is used once.
"""
from __future__ import annotations

import uuid
from typing import Callable, Iterator, Sequence

from ..status import FunctionError

__all__ = ["get_client", "ordered_map", "run_ordered", "worker_threads"]

_CONNECTED = {}   # scheduler address -> Client made here


def get_client(client):
    """A ``distributed.Client`` from a Client or a scheduler address (connected once)."""
    try:
        from distributed import Client
    except ImportError:    # pragma: no cover - the test extra installs it
        raise ImportError('client= needs Dask: pip install "jacsolve[dask]"') from None
    if isinstance(client, Client):
        return client
    if isinstance(client, str):
        found = _CONNECTED.get(client)
        if found is None or found.status in ("closed", "closing"):
            found = _CONNECTED[client] = Client(client, set_as_default=False)
        return found
    raise TypeError(f"client must be a dask.distributed.Client or a scheduler address, got "
                    f"{type(client).__name__}")


def worker_threads(client) -> int:
    """Total worker threads of the cluster (at least 1)."""
    return max(1, sum(client.nthreads().values()))


def ordered_map(client, fn: Callable, items: Sequence, *, name: str,
                describe: Callable[[int], str] = str, sizes=None, progress=None) -> Iterator:
    """fn(*items[i]) for each i, run on the cluster, yielded in the order of items.

    At most 4 tasks per worker thread are in flight. ``progress`` (a :class:`~jacsolve.distributed.progress.Progress`) gets
    ``sizes[i]`` when chunk i is done. ``client=None`` runs fn here, in order.
    """
    if client is None:
        for i, item in enumerate(items):
            try:
                out = fn(*item)
            except FunctionError as exc:
                raise FunctionError(f"{name}: chunk {i} ({describe(i)}): {exc}") from exc
            if progress is not None:
                progress.add(sizes[i] if sizes is not None else 1)
            yield out
        return
    from distributed import as_completed

    client = get_client(client)
    token = uuid.uuid4().hex[:12]
    window = 4 * worker_threads(client)
    futures, done, nxt = {}, {}, 0
    pending = as_completed(loop=client.loop, raise_errors=False)
    submitted = 0

    def submit():
        nonlocal submitted
        i = submitted
        f = client.submit(fn, *items[i], key=f"{name}-{token}-{i}", pure=False)
        futures[f.key] = i
        pending.add(f)
        submitted += 1

    try:
        while submitted < min(window, len(items)):
            submit()
        while nxt < len(items):
            while nxt in done:
                yield done.pop(nxt)
                nxt += 1
            if nxt >= len(items):
                break
            f = next(pending)
            i = futures.pop(f.key)
            if f.status == "error":
                exc = f.exception()
                raise FunctionError(f"{name}: chunk {i} ({describe(i)}) raised "
                                    f"{type(exc).__name__}: {exc}") from exc
            done[i] = f.result()
            f.release()
            if progress is not None:
                progress.add(sizes[i] if sizes is not None else 1)
            if submitted < len(items):
                submit()
    finally:
        rest = list(pending.futures)
        if rest:
            client.cancel(rest)
        pending.clear()


def run_ordered(client, fn: Callable, items: Sequence, **kw) -> list:
    """The list of :func:`ordered_map`'s results."""
    return list(ordered_map(client, fn, items, **kw))
