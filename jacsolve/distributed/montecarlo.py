"""Monte Carlo propagation (JCGM 101) on a Dask cluster, without gathering the draws.

:func:`propagate_on_cluster` runs :func:`jacsolve.propagate_mc` with
``client=``. The draws are cut into chunks of :data:`CHUNK_DRAWS` (whole
blocks of the block-seeded stream of :mod:`jacsolve.uncertainty.sampling`),
each sampled and evaluated on a worker by the same compiled code as a local
run (:class:`jacsolve.uncertainty.montecarlo.Runner`, rebuilt once per
worker process). Every draw is evaluated once in the common case; only
small results travel back:

* a pilot task: the model values of the pilot blocks spread over the run
  (:func:`~jacsolve.uncertainty.montecarlo.pilot_blocks`), whose distinct
  values become the bin edges of :mod:`.order_statistics` and whose range
  places the summary histogram;
* one task per chunk: per-block counts and moments (merged in block order
  exactly as locally), the covariance slices (each about its own mean,
  merged in slice order as locally), per output the counts of its values in
  the bins, the summary histogram's counts, its minimum and maximum, and the
  values in the bins predicted to hold the interval endpoints
  (:func:`~.order_statistics.predict_windows`: a few hundred bins of the
  pilot's thousands);
* only when the summed counts show that an endpoint of either interval
  lies in a bin that was not predicted (improbable, or outputs with many
  ties): a second pass over the chunks that sends the values of the
  missing bins (the same draws again, the same bits).

The order statistics found are exact either way: the counts say in which
bin each rank lies, and every bin used was sent in full. Memory per worker
is one chunk of model values (8 MB per output) and its bin counts. The
adaptive procedure (``digits=``) runs its batches as tasks, decides to stop
batch by batch in the local order, and then computes the final statistics
over the batches used, as a fixed run of that size.
"""
from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass

import numpy as np

from .._numba.prepared import returning_form
from ..uncertainty.montecarlo import (Runner, adaptive_draws, batch_stats, comoment_slices,
                                      covariance_from, finish, finite_rows, histogram_inner_edges,
                                      histogram_counts, merge_moments, pilot_blocks,
                                      pilot_values, summary_histogram)
from ..uncertainty.sampling import BLOCK
from .client import get_client, ordered_map, run_ordered, worker_threads
from .order_statistics import (edges_from_sample, intervals_from_bins, plan_windows,
                               predict_windows, scan)
from .progress import Progress

__all__ = ["propagate_on_cluster", "CHUNK_DRAWS"]

CHUNK_DRAWS = 1 << 20    # draws per task: a multiple of BLOCK and of the covariance slices


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


def _finite(spec, start, count):
    """Y and its finite rows, with the per-block counts and moments (worker-side)."""
    Y, counts, moments = _runner(spec)(start, count)
    return Y, finite_rows(Y, int(counts[:, 0].sum())), counts, moments


# ------------------------------------------------------------------ tasks
def _pilot_task(spec, blocks, n):
    return pilot_values(_runner(spec), n, blocks)


def _chunk_task(spec, start, count, edges, want, inner, want_cov):
    """Everything the client needs of one chunk, in one evaluation of its draws."""
    Y, Yf, counts, moments = _finite(spec, start, count)
    slices = comoment_slices(Y) if want_cov else None
    outputs = []
    for j, e in enumerate(edges):
        col = Yf[:, j]
        c, values, bins = scan(e, want[j], col)
        low, high = (col.min(), col.max()) if col.size else (np.nan, np.nan)
        outputs.append((c, histogram_counts(inner[j], col), low, high, values, bins))
    return counts, moments, slices, outputs


def _missing_task(spec, start, count, edges, missing):
    """The values (and bins) of the bins in ``missing`` of each output: the second pass."""
    _, Yf, _, _ = _finite(spec, start, count)
    out = []
    for j, e in enumerate(edges):
        _, values, bins = scan(e, missing[j], Yf[:, j])
        out.append((values, bins))
    return out


def _batches_task(spec, i0, i1, batch, p, kind):
    out = []
    for i in range(i0, i1):
        Y, c, mo = _runner(spec)(batch * i, batch)
        out.append((batch_stats(Y, c, mo, p, kind), c, mo))
    return out


# ----------------------------------------------------------------- client
def _chunks(n):
    return [(s, min(n, s + CHUNK_DRAWS) - s) for s in range(0, n, CHUNK_DRAWS)]


def _statistics(client, spec, n, m, p, bar):
    """(n_fin, mean, cov, cache) of draws 0..n-1 (see the module docstring)."""
    blocks = pilot_blocks(n)
    pilot, = run_ordered(client, _pilot_task, [(spec, blocks.tolist(), n)],
                         name="jacsolve-mc-sample",
                         describe=lambda i: f"the sample of {blocks.size} blocks of "
                                            f"{BLOCK} draws spread over the run")
    edges = [edges_from_sample(pilot[:, j]) for j in range(m)]
    inner = histogram_inner_edges(pilot)
    finite_share = float(np.mean(np.all(np.isfinite(pilot), axis=1)))
    M_guess = max(2, int(round(n * finite_share)))
    want = [predict_windows(e, M_guess, p) for e in edges]
    chunks = _chunks(n)
    sizes = [c for _, c in chunks]
    describe = (lambda i: f"draws {chunks[i][0]} to {chunks[i][0] + chunks[i][1] - 1}")
    counts, moments, slices = [], [], []
    fine = [np.zeros(e.size + 1, dtype=np.int64) for e in edges]
    hist = np.zeros((m, inner.shape[1] + 1), dtype=np.int64)
    low, high = np.full(m, np.inf), np.full(m, -np.inf)
    sent = [[] for _ in range(m)]
    for c, mo, sl, outs in ordered_map(
            client, _chunk_task, [(spec, s, k, edges, want, inner, m > 1) for s, k in chunks],
            name="jacsolve-mc-pass1", describe=describe, sizes=sizes, progress=bar):
        counts.append(c)
        moments.append(mo)
        slices.append(sl)
        for j, (fc, hc, lo, hi, values, bins) in enumerate(outs):
            fine[j] += fc
            hist[j] += hc
            low[j], high[j] = np.fmin(low[j], lo), np.fmax(high[j], hi)
            sent[j].append((values, bins))
    n_fin, mean, var = merge_moments(np.concatenate(counts), np.concatenate(moments))
    if n_fin < 2:
        return n_fin, mean, None, None
    plans = [plan_windows(fine[j], edges[j], n_fin, p) for j in range(m)]
    missing = [plans[j][0] & ~want[j] for j in range(m)]
    if any(x.any() for x in missing):    # an endpoint outside the predicted bins
        bar.total += n
        for outs in ordered_map(client, _missing_task,
                                [(spec, s, k, edges, missing) for s, k in chunks],
                                name="jacsolve-mc-pass2", describe=describe, sizes=sizes,
                                progress=bar):
            for j in range(m):
                sent[j].append(outs[j])
    cov = covariance_from(slices, n_fin, mean, var)
    sym, short = (np.empty(m), np.empty(m)), (np.empty(m), np.empty(m))
    for j in range(m):
        values = np.concatenate([v for v, _ in sent[j]])
        bins = np.concatenate([b for _, b in sent[j]])
        keep = plans[j][0][bins]         # only the bins needed (all sent in full)
        (sym[0][j], sym[1][j]), (short[0][j], short[1][j]) = intervals_from_bins(
            values[keep], bins[keep], fine[j], plans[j][1], n_fin, p)
    cache = {(p, "symmetric"): sym, (p, "shortest"): short,
             "histogram": summary_histogram(hist, inner, low, high)}
    return n_fin, mean, cov, cache


def _cluster_batches(client, spec, p, kind, bar):
    """batches(batch) for :func:`adaptive_draws`: rounds of batch tasks, yielded in order.

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
        h, batch, converged, tolerance, _, _ = adaptive_draws(
            _cluster_batches(client, spec, p, kind, bar), p, kind, digits, max_draws)
        bar.close()
        n = batch * h
    bar = Progress(progress, n, "draw evaluations", "propagate_mc")
    n_fin, mean, cov, cache = _statistics(client, spec, n, m, p, bar)
    bar.close()
    return finish(n, n_fin, mean, cov, cache=cache if cache is not None else {},
                  scalar=runner.scalar, p=p, kind=kind, keep_samples=False,
                  converged=converged, digits=digits, tolerance=tolerance, max_draws=max_draws)
