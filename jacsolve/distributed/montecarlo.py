"""Monte Carlo propagation (JCGM 101) on a Dask cluster, without gathering the draws.

:func:`propagate_on_cluster` runs :func:`jacsolve.propagate_mc` with
``client=``. The draws are cut into chunks of :data:`CHUNK_DRAWS` (whole
blocks of the block-seeded stream of :mod:`jacsolve.uncertainty.sampling`),
each sampled and evaluated on a worker by the same compiled code as a local
run (:class:`jacsolve.uncertainty.montecarlo.Runner`, rebuilt once per
worker process). Only small results travel back:

* a sample task: the model values of up to :data:`SAMPLE_BLOCKS` blocks
  spread over the run, whose distinct values become the bin edges;
* pass 1 per chunk: per-block counts and moments (merged in block order
  exactly as locally), bin counts, minimum and maximum;
* pass 2 per chunk: the co-moments of its covariance slices, the values in
  the bins that hold the interval endpoints
  (:mod:`jacsolve.distributed.order_statistics`) and the counts of the
  200-bin histogram. A worker keeps the model values of its latest chunks
  within :data:`KEEP_BYTES`; pass 2 runs the chunks in reverse order on the
  worker that ran them in pass 1 (where it is free), so recent chunks are
  not evaluated again, and the others are (same draws, same bits).

Memory per worker is at most KEEP_BYTES of kept chunks plus one chunk of
model values (8 MB per output) and the bin counts. The adaptive procedure (``digits=``) runs its batches as tasks,
decides to stop batch by batch in the local order, and then computes the
final statistics over the batches used, as a fixed run of that size.
"""
from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass

import numpy as np

from .._numba.prepared import returning_form
from ..uncertainty.montecarlo import (HIST_BINS, Runner, _batch_stats, _adaptive, _merge,
                                      comoment_slices, covariance_from, finish)
from ..uncertainty.sampling import BLOCK
from .client import get_client, ordered_map, run_ordered, worker_threads
from .order_statistics import bins_of, edges_from_sample, intervals_from_bins, plan_windows
from .progress import Progress

__all__ = ["propagate_on_cluster", "CHUNK_DRAWS", "SAMPLE_BLOCKS"]

CHUNK_DRAWS = 1 << 20    # draws per task: a multiple of BLOCK and of the covariance slices
SAMPLE_BLOCKS = 16       # blocks whose values become the bin edges (16384 values)
KEEP_BYTES = 128 << 20   # model values of recent chunks a worker keeps for pass 2


@dataclass(frozen=True)
class _Spec:
    """What a worker needs to rebuild the run's :class:`Runner` (pickled with each task)."""
    fun: object
    dists: list
    args: tuple
    key: np.uint64
    vectorized: bool
    token: str


_RUNNERS: dict = {}   # in each worker process: token -> Runner, the last few runs
_KEPT: dict = {}      # in each worker process: (token, start) -> (Y, Yf, counts, moments)


def _runner(spec: _Spec) -> Runner:
    found = _RUNNERS.get(spec.token)
    if found is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")    # the client has warned already
            found = Runner(returning_form(spec.fun), spec.dists, spec.args, spec.key, BLOCK,
                           spec.vectorized, False)
        if len(_RUNNERS) >= 8:
            _RUNNERS.pop(next(iter(_RUNNERS)))
        _RUNNERS[spec.token] = found
    return found


def _evaluate(spec, start, count, edges, keep=False):
    """Y, Y's finite rows, their bin indices per output, counts and moments (worker-side).

    ``keep``: keep them for pass 2 (dropping the oldest beyond KEEP_BYTES);
    pass 2 takes them back, or evaluates the same draws again.
    """
    found = _KEPT.pop((spec.token, start), None)
    if found is not None:
        return found
    Y, counts, moments = _runner(spec)(start, count)
    n_fin = int(counts[:, 0].sum())
    Yf = Y if n_fin == count else Y[np.all(np.isfinite(Y), axis=1)]
    out = Y, Yf, [bins_of(e, Yf[:, j]) for j, e in enumerate(edges)], counts, moments
    if keep:
        _KEPT[(spec.token, start)] = out
        while sum(_nbytes(v) for v in _KEPT.values()) > KEEP_BYTES:
            _KEPT.pop(next(iter(_KEPT)))
    return out


def _nbytes(kept):
    Y, Yf, bins = kept[:3]
    return Y.nbytes + (Yf.nbytes if Yf is not Y else 0) + sum(b.nbytes for b in bins)


def _here():
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return None


# ------------------------------------------------------------------ tasks
def _sample_task(spec, blocks, n):
    parts = [_runner(spec)(b * BLOCK, min(n, (b + 1) * BLOCK) - b * BLOCK)[0] for b in blocks]
    return np.concatenate(parts)


def _pass1_task(spec, start, count, edges):
    _, Yf, bins, counts, moments = _evaluate(spec, start, count, edges, keep=True)
    hist = [np.bincount(b, minlength=e.size + 1) for b, e in zip(bins, edges)]
    if Yf.shape[0]:
        low, high = Yf.min(axis=0), Yf.max(axis=0)
    else:
        low = high = np.full(Yf.shape[1], np.nan)
    return counts, moments, hist, low, high, _here()


def _pass2_task(spec, start, count, mean, edges, need, ranges, want_cov):
    Y, Yf, bins, _, _ = _evaluate(spec, start, count, edges)
    slices = comoment_slices(Y, mean) if want_cov else None
    sent, hist = [], []
    for j, b in enumerate(bins):
        col = Yf[:, j]
        keep = need[j][b]
        sent.append((col[keep], b[keep]))
        hist.append(np.histogram(col, bins=HIST_BINS, range=ranges[j])[0])
    return slices, sent, hist


def _batches_task(spec, i0, i1, batch, p, kind):
    out = []
    for i in range(i0, i1):
        Y, c, mo = _runner(spec)(batch * i, batch)
        out.append((_batch_stats(Y, c, mo, p, kind), c, mo))
    return out


# ----------------------------------------------------------------- client
def _chunks(n):
    return [(s, min(n, s + CHUNK_DRAWS) - s) for s in range(0, n, CHUNK_DRAWS)]


def _statistics(client, spec, n, m, p, bar):
    """(n_fin, mean, cov, cache) of draws 0..n-1: the two passes."""
    nblocks = -(-n // BLOCK)
    blocks = np.unique(np.linspace(0, nblocks - 1, min(nblocks, SAMPLE_BLOCKS)).astype(np.int64))
    sample, = run_ordered(client, _sample_task, [(spec, blocks.tolist(), n)],
                          name="jacsolve-mc-sample",
                          describe=lambda i: f"the sample of {blocks.size} blocks of "
                                             f"{BLOCK} draws spread over the run")
    edges = [edges_from_sample(sample[:, j]) for j in range(m)]
    chunks = _chunks(n)
    sizes = [c for _, c in chunks]
    describe = (lambda i: f"draws {chunks[i][0]} to {chunks[i][0] + chunks[i][1] - 1}")
    counts, moments, low, high, ran = [], [], [], [], []
    hist = [np.zeros(e.size + 1, dtype=np.int64) for e in edges]
    for c, mo, h, lo, hi, at in ordered_map(
            client, _pass1_task, [(spec, s, k, edges) for s, k in chunks],
            name="jacsolve-mc-pass1", describe=describe, sizes=sizes, progress=bar):
        counts.append(c)
        moments.append(mo)
        for j in range(m):
            hist[j] += h[j]
        low.append(lo)
        high.append(hi)
        ran.append(at)
    n_fin, mean, var = _merge(np.concatenate(counts), np.concatenate(moments))
    if n_fin < 2:
        return n_fin, mean, None, None
    plans = [plan_windows(hist[j], edges[j], n_fin, p) for j in range(m)]
    ranges = [(float(np.nanmin([x[j] for x in low])), float(np.nanmax([x[j] for x in high])))
              for j in range(m)]
    need = [pl[0] for pl in plans]
    sent = [[] for _ in range(m)]
    slices = [None] * len(chunks)
    hist200 = np.zeros((m, HIST_BINS), dtype=np.int64)
    back = list(range(len(chunks)))[::-1]      # the chunks workers still keep first
    for i, (sl, s, h) in zip(back, ordered_map(
            client, _pass2_task,
            [(spec, chunks[i][0], chunks[i][1], mean, edges, need, ranges, m > 1) for i in back],
            name="jacsolve-mc-pass2", describe=lambda k: describe(back[k]),
            sizes=[sizes[i] for i in back], progress=bar, where=lambda k: ran[back[k]])):
        slices[i] = sl
        for j in range(m):
            sent[j].append(s[j])
            hist200[j] += h[j]
    slices = [S for sl in slices if sl is not None for S in sl]   # in draw order
    cov = covariance_from(slices, n_fin, var)
    sym, short = (np.empty(m), np.empty(m)), (np.empty(m), np.empty(m))
    for j in range(m):
        values = np.concatenate([v for v, _ in sent[j]])
        bins = np.concatenate([b for _, b in sent[j]])
        (sym[0][j], sym[1][j]), (short[0][j], short[1][j]) = intervals_from_bins(
            values, bins, hist[j], plans[j][1], n_fin, p)
    hedges = np.array([np.histogram(np.empty(0), bins=HIST_BINS, range=r)[1] for r in ranges])
    cache = {(p, "symmetric"): sym, (p, "shortest"): short, "histogram": (hist200, hedges)}
    return n_fin, mean, cov, cache


def _cluster_batches(client, spec, p, kind, bar):
    """batches(batch) for :func:`_adaptive`: rounds of batch tasks, yielded in order.

    A round is two tasks per worker thread; tasks start at one batch each and
    double each round up to CHUNK_DRAWS draws, so a run that stops early
    evaluates few batches it does not use.
    """
    def batches(batch):
        most = max(1, CHUNK_DRAWS // batch)
        tasks = 2 * worker_threads(client)
        i, per_task = 0, 1
        while True:
            items = [(spec, i + t * per_task, i + (t + 1) * per_task, batch, p, kind)
                     for t in range(tasks)]
            for out in ordered_map(client, _batches_task, items, name="jacsolve-mc-batches",
                                   describe=lambda k: f"batches {items[k][1]} to "
                                                      f"{items[k][2] - 1}"):
                for stats in out:
                    bar.add(batch)
                    yield stats
            i += tasks * per_task
            per_task = min(most, 2 * per_task)
    return batches


def propagate_on_cluster(client, runner: Runner, *, user_fun, n, digits, p, kind, max_draws,
                         progress):
    """:func:`jacsolve.propagate_mc` on a Dask cluster (see the module docstring)."""
    client = get_client(client)
    spec = _Spec(user_fun, runner.dists, runner.args, runner.key, runner.vectorized,
                 uuid.uuid4().hex)
    m = runner.m
    converged, tolerance = True, None
    if digits is not None:
        bar = Progress(progress, max_draws, "draws (adaptive batches)", "propagate_mc")
        h, batch, converged, tolerance, _, _ = _adaptive(
            _cluster_batches(client, spec, p, kind, bar), p, kind, digits, max_draws)
        bar.close()
        n = batch * h
    bar = Progress(progress, 2 * n, "draw evaluations (2 passes)", "propagate_mc")
    n_fin, mean, cov, cache = _statistics(client, spec, n, m, p, bar)
    bar.close()
    return finish(n, n_fin, mean, cov, cache=cache if cache is not None else {},
                  scalar=runner.scalar, p=p, kind=kind, keep_samples=False,
                  converged=converged, digits=digits, tolerance=tolerance, max_draws=max_draws)
