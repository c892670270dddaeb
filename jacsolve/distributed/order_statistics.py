"""Exact coverage intervals (JCGM 101 7.7) from chunks of draws that are never gathered.

Both intervals are order statistics of the M finite values of an output:
the symmetric one is [y_(r), y_(r+q)], the shortest [y_(r*), y_(r*+q)] with
r* the first minimiser of y_(r+q) - y_(r) over r < M - q. Two passes over
the chunks find them exactly:

1. Every chunk counts its values in bins between fixed ``edges`` (the sorted
   values of a small sample of the run; bin i holds
   edges[i-1] <= y < edges[i], with -inf and +inf at the ends). The summed
   counts tell, for every rank, the bin its value lies in.
2. Bins needed are sent back in full: the two holding y_(r) and y_(r+q),
   and for the shortest interval every bin that can hold an endpoint of a
   minimiser. For ranks in one bin pair (k, j), y_(r+q) - y_(r) lies
   strictly between lo_edge(j) - hi_edge(k) and hi_edge(j) - lo_edge(k)
   (also after rounding, which is monotone); the smallest upper bound
   bounds the minimum, and only rank ranges whose lower bound does not
   exceed it can hold r*. Within the bins sent the values are sorted, so
   every needed order statistic is exact, and the first minimiser is the
   first one among the candidates, as in a sort of all draws.

With edges from a sample of S values a bin holds about M / S values, and
the window of a smooth distribution is a handful of bins.
"""
from __future__ import annotations

import numpy as np

from .._numba.options import cached_njit
from ..uncertainty.montecarlo import order_index

__all__ = ["edges_from_sample", "bin_counts", "bins_of", "scan", "plan_windows",
           "predict_windows", "intervals_from_bins"]


def edges_from_sample(values: np.ndarray) -> np.ndarray:
    """Sorted distinct finite values of a sample: the bin edges of one output."""
    v = np.asarray(values, dtype=float)
    return np.unique(v[np.isfinite(v)])


GUIDE_CELLS = 4     # cells of the uniform guide table per edge


@cached_njit(nogil=True)
def _bins(edges, guide, lo, width, values, out):
    """out[i] = the number of edges <= values[i] (``np.searchsorted(edges, v, "right")``).

    A uniform guide table over [lo, lo + width * cells] gives the range of
    bins of the value's cell; a search finishes inside it (binary while the
    range is long, then linear: a cell holds about one edge, and short
    linear scans cost far fewer mispredicted branches). The cell found from
    the division is corrected against the cells' own left ends, so the
    result is exact whatever the rounding. One loop, no call per value.
    """
    K = edges.size
    G = guide.size - 1
    for i in range(values.size):
        v = values[i]
        if K == 0 or not v >= edges[0]:     # NaN too (never passed: only finite values)
            out[i] = 0
            continue
        if v >= edges[K - 1]:
            out[i] = K
            continue
        g = int((v - lo) / width)
        if g > G - 1:
            g = G - 1
        while g > 0 and v < lo + g * width:
            g -= 1
        while g < G - 1 and v >= lo + (g + 1) * width:
            g += 1
        a = guide[g]          # edges <= the cell's left end: all <= v
        b = guide[g + 1]      # edges <= the next cell's left end: no more than that
        while b - a > 8:      # first edge > v in [a, b)
            mid = (a + b) // 2
            if edges[mid] <= v:
                a = mid + 1
            else:
                b = mid
        while a < b and edges[a] <= v:
            a += 1
        out[i] = a


@cached_njit(nogil=True)
def _scan(edges, guide, lo, width, want, values, bins, counts, sent, sent_bins):
    """One pass over a chunk's finite values of one output: their bins (into
    ``bins``), counts[b] += 1 per value in bin b, and the values of the bins with
    ``want[b]`` copied to ``sent`` (their bins to ``sent_bins``). Returns how
    many were sent."""
    _bins(edges, guide, lo, width, values, bins)
    k = 0
    for i in range(values.size):
        b = bins[i]
        counts[b] += 1
        if want[b]:
            sent[k] = values[i]
            sent_bins[k] = b
            k += 1
    return k


def _guide(edges):
    """(guide, lo, width): for each cell's left end lo + g * width, the edges <= it."""
    G = max(1, GUIDE_CELLS * edges.size)
    lo = float(edges[0]) if edges.size else 0.0
    span = float(edges[-1]) - lo if edges.size else 1.0
    width = span / G if span > 0 else 1.0
    if not np.isfinite(width) or width <= 0:
        width = 1.0
    left = lo + np.arange(G + 1) * width
    guide = np.searchsorted(edges, left, side="right").astype(np.int64)
    guide[-1] = edges.size
    return guide, lo, width


_GUIDES: dict = {}


def _guide_of(edges):
    key = (id(edges), edges.size)
    found = _GUIDES.get(key)
    if found is None or found[0] is not edges:
        found = (edges, _guide(edges))
        if len(_GUIDES) > 16:
            _GUIDES.clear()
        _GUIDES[key] = found
    return found[1]


def bins_of(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Bin index of each value: i where edges[i-1] <= value < edges[i] (0 .. edges.size),
    as ``np.searchsorted(edges, values, side="right")``, in compiled code."""
    guide, lo, width = _guide_of(edges)
    out = np.empty(values.size, dtype=np.int64)
    _bins(edges, guide, lo, width, np.ascontiguousarray(values, dtype=np.float64), out)
    return out


def bin_counts(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values per bin, shape (edges.size + 1,)."""
    return np.bincount(bins_of(edges, values), minlength=edges.size + 1)


def scan(edges: np.ndarray, want: np.ndarray, values: np.ndarray):
    """(counts per bin, values of the bins with ``want``, their bins): one compiled pass."""
    guide, lo, width = _guide_of(edges)
    values = np.ascontiguousarray(values, dtype=np.float64)
    counts = np.zeros(edges.size + 1, dtype=np.int64)
    sent, sent_bins = np.empty(values.size), np.empty(values.size, dtype=np.int64)
    k = _scan(edges, guide, lo, width, want, values, np.empty(values.size, dtype=np.int64),
              counts, sent, sent_bins)
    return counts, sent[:k].copy(), sent_bins[:k].copy()


WINDOW_Z = 5.0    # standard deviations of a pilot's rank error covered by a predicted window


def predict_windows(edges: np.ndarray, M: int, p: float) -> np.ndarray:
    """The bins likely to hold every value :func:`plan_windows` will need (bool per bin).

    ``edges`` are the S sorted distinct values of a pilot sample of the run
    and M the expected number of finite values. Each bin is then expected to
    hold M / (S + 1) values: :func:`plan_windows` on those counts gives the
    bins needed if the pilot were exact, and each is widened by WINDOW_Z
    standard deviations of the bin in which a given rank lands
    (binomial: sqrt(i (S - i) / S) bins at bin i) plus the length of the
    stretch of candidate left ends of the shortest interval. A miss costs a second
    pass over the chunks, never a wrong result: the counts tell afterwards.
    """
    S = edges.size
    if S < 2 or M < 2:
        return np.ones(S + 1, dtype=bool)
    counts = np.full(S + 1, M // (S + 1), dtype=np.int64)
    counts[:M - int(counts.sum())] += 1
    try:
        need, (starts, stops) = plan_windows(counts, edges, M, p)
    except ValueError:             # too few values for the interval: all bins
        return np.ones(S + 1, dtype=bool)
    at = np.flatnonzero(need)
    # the shortest interval's flat stretch moves with the sample as a whole: its length too
    flat = int(np.ceil((stops.max() - starts.min()) * (S + 1) / M)) if starts.size else 0
    spread = np.ceil(WINDOW_Z * np.sqrt(at * (S - at) / S)).astype(np.int64) + 2 + flat
    mark = np.zeros(S + 2, dtype=np.int64)
    np.add.at(mark, np.clip(at - spread, 0, S), 1)
    np.add.at(mark, np.clip(at + spread + 1, 0, S + 1), -1)
    return np.cumsum(mark)[:S + 1] > 0


def plan_windows(counts: np.ndarray, edges: np.ndarray, M: int, p: float):
    """(need, segments): bins whose values pass 2 must send, and the candidate rank
    ranges [start, stop) of the shortest interval's left end."""
    counts = np.asarray(counts, dtype=np.int64)
    if int(counts.sum()) != M:
        raise ValueError(f"bin counts sum to {int(counts.sum())}, expected {M}")
    q, r = order_index(M, p)
    T = M - q
    cum = np.cumsum(counts)
    first = cum - counts                      # rank of the first value of each bin
    need = np.zeros(counts.size, dtype=bool)
    need[np.searchsorted(cum, [r, r + q], side="right")] = True
    lo_edge = np.concatenate([[-np.inf], edges])
    hi_edge = np.concatenate([edges, [np.inf]])
    starts = np.unique(np.concatenate([[0], first[(first > 0) & (first < T)],
                                       first[(first > q) & (first - q < T)] - q]))
    stops = np.append(starts[1:], T)
    k = np.searchsorted(cum, starts, side="right")
    j = np.searchsorted(cum, starts + q, side="right")
    with np.errstate(invalid="ignore"):
        lower = lo_edge[j] - hi_edge[k]
        upper = hi_edge[j] - lo_edge[k]
    cand = lower <= upper.min()
    need[k[cand]] = True
    need[j[cand]] = True
    return need, (starts[cand], stops[cand])


def intervals_from_bins(values: np.ndarray, bins: np.ndarray, counts: np.ndarray,
                        segments, M: int, p: float):
    """((sym_low, sym_high), (short_low, short_high)) from the values of the needed bins.

    ``values`` and ``bins`` are the values sent in pass 2 (any order) and
    their bin indices; ``counts`` the bin counts of pass 1.
    """
    q, r = order_index(M, p)
    counts = np.asarray(counts, dtype=np.int64)
    cum = np.cumsum(counts)
    first = cum - counts
    order = np.lexsort((values, bins))
    v, b = values[order], bins[order]
    present, at, got = np.unique(b, return_index=True, return_counts=True)
    if np.any(got != counts[present]):
        raise RuntimeError("a chunk sent an incomplete bin: the chunks disagree with pass 1")
    where = np.full(counts.size, -1, dtype=np.int64)
    where[present] = at

    def y(ranks):
        ranks = np.asarray(ranks, dtype=np.int64)
        i = np.searchsorted(cum, ranks, side="right")
        if np.any(where[i] < 0):
            raise RuntimeError("an order statistic falls in a bin that was not sent")
        return v[where[i] + ranks - first[i]]

    sym = (float(y(r)), float(y(r + q)))
    starts, stops = segments
    cand = np.concatenate([np.arange(a, z) for a, z in zip(starts, stops)]) if len(starts) \
        else np.zeros(0, dtype=np.int64)
    low, high = y(cand), y(cand + q)
    best = int(np.argmin(high - low))
    return sym, (float(low[best]), float(high[best]))
