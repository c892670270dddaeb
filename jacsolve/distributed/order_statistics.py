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
from ..uncertainty.montecarlo import _order_index

__all__ = ["edges_from_sample", "bin_counts", "bins_of", "plan_windows", "intervals_from_bins"]


def edges_from_sample(values: np.ndarray) -> np.ndarray:
    """Sorted distinct finite values of a sample: the bin edges of one output."""
    v = np.asarray(values, dtype=float)
    return np.unique(v[np.isfinite(v)])


GUIDE_CELLS = 4     # cells of the uniform guide table per edge


@cached_njit(nogil=True)
def _bins(edges, guide, lo, width, values, out):
    """out[i] = the number of edges <= values[i] (``np.searchsorted(edges, v, "right")``).

    A uniform guide table over [lo, lo + width * cells] gives the range of
    bins of the value's cell; a binary search finishes inside it. The cell
    found from the division is corrected against the cells' own left ends,
    so the result is exact whatever the rounding.
    """
    K = edges.size
    G = guide.size - 1
    for i in range(values.size):
        v = values[i]
        if K == 0 or v < edges[0]:
            out[i] = 0
            continue
        if v >= edges[K - 1]:
            out[i] = K
            continue
        g = min(G - 1, max(0, int((v - lo) / width)))
        while g > 0 and v < lo + g * width:
            g -= 1
        while g < G - 1 and v >= lo + (g + 1) * width:
            g += 1
        a = guide[g]          # edges <= the cell's left end: all <= v
        b = guide[g + 1]      # edges <= the next cell's left end: no more than that
        while a < b:          # first edge > v in [a, b)
            mid = (a + b) // 2
            if edges[mid] <= v:
                a = mid + 1
            else:
                b = mid
        out[i] = a


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


def bins_of(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Bin index of each value: i where edges[i-1] <= value < edges[i] (0 .. edges.size),
    as ``np.searchsorted(edges, values, side="right")``, in compiled code."""
    key = (id(edges), edges.size)
    found = _GUIDES.get(key)
    if found is None or found[0] is not edges:
        found = (edges, _guide(edges))
        if len(_GUIDES) > 16:
            _GUIDES.clear()
        _GUIDES[key] = found
    guide, lo, width = found[1]
    out = np.empty(values.size, dtype=np.int64)
    _bins(edges, guide, lo, width, np.ascontiguousarray(values, dtype=np.float64), out)
    return out


def bin_counts(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values per bin, shape (edges.size + 1,)."""
    return np.bincount(bins_of(edges, values), minlength=edges.size + 1)


def plan_windows(counts: np.ndarray, edges: np.ndarray, M: int, p: float):
    """(need, segments): bins whose values pass 2 must send, and the candidate rank
    ranges [start, stop) of the shortest interval's left end."""
    counts = np.asarray(counts, dtype=np.int64)
    if int(counts.sum()) != M:
        raise ValueError(f"bin counts sum to {int(counts.sum())}, expected {M}")
    q, r = _order_index(M, p)
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
    q, r = _order_index(M, p)
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
