"""Monte Carlo propagation of distributions (GUM Supplement 1, JCGM 101:2008).

:func:`propagate_mc` draws the inputs with the compiled, block-seeded
samplers of :mod:`jacsolve.distributions` and evaluates the model over the
draws in one compiled loop that calls the user's ``@jacsolve.jit`` function
once per draw; the loop releases the GIL and runs on blocks of draws in
parallel threads (the pool of :mod:`jacsolve._numba.threads`). That driver
is compiled once and cached on disk for every model: it reaches the model
through the addresses of a small *rows function* compiled per model (fun on
every row of a block, fun inlined), one indirect call per block of draws. The same loop
reduces each block of draws to its count of finite values, mean and sum of squared deviations
(merged exactly afterwards), so no pass over the samples is left to Python.
Coverage intervals need only the two tails of each output's distribution:
they are selected in compiled code and only the tails are sorted. A plain
Python function works too: it is called on all draws at once when it
vectorises correctly (checked on a few draws), and draw by draw otherwise.

With ``client=`` the same :class:`Runner` evaluates chunks of draws on the
workers of a Dask cluster (:mod:`jacsolve.distributed.montecarlo`), in one
pass over the draws: block moments are merged in block order, the
covariance from slices of draws (each about its own mean) merged in slice
order, and the summary histogram placed by a pilot of draws, there as
here, so a cluster run has the bits of a local one.

:func:`validate` is the check of JCGM 101 clause 8: does the GUM (linear)
coverage interval agree with the Monte Carlo one to a numerical tolerance?

Results follow the shape rule of :mod:`jacsolve.uncertainty.outputs`: a
scalar model gives floats, a vector model arrays.
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from numba.core import types
from numba.core.errors import NumbaExperimentalFeatureWarning, TypingError
from numba.extending import overload

from .._arguments import as_args, as_choice, positive_int
from .._numba.addresses import function_loader, addresses_of
from .._numba.calls import call_kernel, evaluate_once
from .._numba.options import cached_njit, is_jitted, kernel_njit, warn_if_python
from .._numba.prepared import unpacked_args_source, pack_args, prepare, returning_form
from .._numba.threads import ranges, run_ranges
from .._numba.tiers import specialised
from ..status import FunctionError, Status
from .budget import check_p
from .distributions import Distribution, as_distribution
from .outputs import fmt, shaped, shaped_cov
from .sampling import BLOCK, SamplingPlan, fill_block, seed_key

__all__ = ["propagate_mc", "MonteCarloResult", "validate", "Validation",
           "numerical_tolerance", "NonFiniteWarning", "coverage_intervals", "check_kind",
           "as_inputs", "result_from_values", "result_from_stats", "finish", "Runner",
           "NotConvergedWarning", "comoment_slices", "covariance_from", "adaptive_batch",
           "CHUNK", "pilot_blocks", "pilot_values", "histogram_inner_edges", "histogram_counts",
           "summary_histogram"]

CHUNK = 32 * BLOCK  # draws per NumPy call of a plain Python model (bounded memory)
HIST_BINS = 200
PARALLEL_MIN = 16 * BLOCK  # draws from which threads pay for their start-up
SUBSAMPLE = 8192        # values that locate the tails before the compiled selection
PROGRESS_DRAWS = 1 << 22  # draws between two progress reports of a local run
COV_ROWS = 65_536       # draws per slice of the covariance sums (a multiple of BLOCK)
PILOT_BLOCKS = 16       # blocks spread over a run whose values place the summary histogram


class NonFiniteWarning(RuntimeWarning):
    """The model returned NaN or inf for some Monte Carlo draws."""


# ------------------------------------------------------------------ kernels
def _store(y, Y, i):
    """Write fun's value y into row i of Y; False if its size is not Y.shape[1]."""
    a = np.asarray(y, dtype=float).reshape(-1)
    if a.size != Y.shape[1]:
        return False
    Y[i] = a
    return True


@overload(_store)
def _store_compiled(y, Y, i):
    # a scalar is stored as it is: wrapping it in an array costs an allocation per draw
    if isinstance(y, types.Array):
        if y.ndim != 1 or not isinstance(y.dtype, (types.Float, types.Integer, types.Boolean)):
            raise TypingError(f"fun must return a real 1-D array or a scalar, got {y}")

        def store_array(y, Y, i):
            if y.size != Y.shape[1]:
                return False
            for q in range(y.size):
                Y[i, q] = y[q]
            return True
        return store_array
    if isinstance(y, (types.Float, types.Integer, types.Boolean)):
        def store_scalar(y, Y, i):
            if Y.shape[1] != 1:
                return False
            Y[i, 0] = y
            return True
        return store_scalar
    raise TypingError(f"fun must return a real 1-D array or a scalar, got {y}")


@cached_njit
def _block_moments(Y, start, stop, b, counts, moments):
    """Reduce rows start..stop-1 of Y: counts[b, 0] = finite rows, moments[b] = (mean, M2).

    Two passes over rows still in cache: the block mean, then the sum of
    squared deviations from it (no cancellation), in local accumulators.
    The mean is summed relative to the first finite value, so a large offset
    over a small spread costs no accuracy. Rows with a non-finite value are
    left out; :func:`merge_moments` merges the blocks.
    """
    m = Y.shape[1]
    finite = np.empty(stop - start, dtype=np.bool_)
    nf = 0
    first = stop
    for i in range(start, stop):
        ok = True
        for q in range(m):
            ok = ok and np.isfinite(Y[i, q])
        finite[i - start] = ok
        nf += ok
        if ok and first == stop:
            first = i
    counts[b, 0] = nf
    for q in range(m):
        shift = Y[first, q] if nf else 0.0
        total = 0.0
        for i in range(start, stop):
            if finite[i - start]:
                total += Y[i, q] - shift
        mean = shift + total / nf if nf else 0.0
        m2 = 0.0
        for i in range(start, stop):
            if finite[i - start]:
                d = Y[i, q] - mean
                m2 += d * d
        moments[b, 0, q] = mean
        moments[b, 1, q] = m2


@cached_njit
def _moments_of(Y, counts, moments):
    """Per-block moments of Y computed apart (plain Python models)."""
    for b in range(counts.shape[0]):
        start = b * BLOCK
        _block_moments(Y, start, min(Y.shape[0], start + BLOCK), b, counts, moments)


@kernel_njit(inline=True)
def _rows(fun, args, X, Y, start):
    """fun on each row of X into Y[start + i]; returns the number of rows whose value had
    another size (set to NaN). The specialised tier's version of a model's rows function.

    Each row is copied into a local x first: a row view of X would cost an
    atomic reference count per draw.
    """
    m = Y.shape[1]
    x = np.empty(X.shape[1])
    bad = 0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            x[j] = X[i, j]
        if not _store(fun(x, *args), Y, start + i):
            bad += 1
            for q in range(m):
                Y[start + i, q] = np.nan
    return bad


# The rows function of a compiled model: fun on every row of a block of draws,
# with fun bound and its args unpacked from one float vector p. It is compiled
# per model (plain loops, no inlining pass: about 0.1 s) and reached by address
# from the cached driver, one indirect call per block of draws, so fun is
# inlined into the loop as in a kernel specialised on it.
ROWS_SIGNATURE = types.int64(types.float64[:, ::1], types.float64[:, ::1], types.int64,
                             types.float64[::1])
load_rows = function_loader(types.FunctionType(ROWS_SIGNATURE))

_ROWS_SOURCE = """
def rows(X, Y, start, p):
    x = np.empty(X.shape[1])
    m = Y.shape[1]
    bad = 0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            x[j] = X[i, j]
{store}
    return bad
"""
_STORE_SCALAR = "        Y[start + i, 0] = _fun(x{args})"
_STORE_ARRAY = """        y = _fun(x{args})
        if y.size == m:
            for q in range(m):
                Y[start + i, q] = y[q]
        else:
            bad += 1
            for q in range(m):
                Y[start + i, q] = np.nan"""


def _rows_function(fun, args, scalar: bool):
    """(p, c_addr, jit_addr) of fun's rows function: writes fun(X[i], *args) into
    Y[start + i] and returns the number of rows whose value had another size
    (set to NaN). None if args cannot be packed into one float vector."""
    layout, p = pack_args(args)
    if layout is None:
        return None
    rec = prepare(fun)
    key = ("montecarlo rows", layout, scalar)
    found = rec.specialised.get(key)
    if found is None:
        store = (_STORE_SCALAR if scalar else _STORE_ARRAY).format(args=unpacked_args_source(layout))
        dispatcher = rec.compile_generated(_ROWS_SOURCE.format(store=store),
                                           {"_fun": fun, "np": np}, "rows", key, nogil=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
            c_addr, jit_addr = addresses_of(dispatcher, ROWS_SIGNATURE)
        found = rec.specialised[key] = (c_addr, jit_addr, dispatcher)
    return p, found[0], found[1]


@cached_njit
def _new_block(codes, params, cols, extra, pre, key, first_block, width, n, b):
    """Block b of draws (rows b BLOCK .. of n), sampled into a new block-local array."""
    start = b * BLOCK
    count = min(n, start + BLOCK) - start
    X = np.empty((count, width))
    fill_block(codes, params, cols, extra, pre, key, first_block + b, X, 0, count, start)
    return X, start


@cached_njit(nogil=True)
def _mc_blocks_at(p, rows_c, rows_j, codes, params, cols, extra, pre, key, first_block, width,
                  Y, counts, moments, b0, b1):
    """Blocks b0..b1-1 of draws: sampled, fun's rows function on them into Y, reduced.

    The one compiled driver, for every model (cached): the model's rows
    function comes in as two addresses. It releases the GIL, so threads run
    it on different blocks in parallel
    (:func:`jacsolve._numba.threads.run_ranges`): no ``prange``, whose
    compilation costs seconds per function and process. Block-local buffers:
    row views of a shared array would cost an atomic reference count per
    draw, contended between threads.
    """
    rows = load_rows(rows_c, rows_j)
    n = Y.shape[0]
    for b in range(b0, b1):
        X, start = _new_block(codes, params, cols, extra, pre, key, first_block, width, n, b)
        counts[b, 1] = rows(X, Y, start, p)
        _block_moments(Y, start, start + X.shape[0], b, counts, moments)


@kernel_njit(nogil=True)
def _mc_blocks(fun, args, codes, params, cols, extra, pre, key, first_block, width, Y, counts,
               moments, b0, b1):
    """:func:`_mc_blocks_at` specialised on fun: for args that cannot be packed."""
    n = Y.shape[0]
    for b in range(b0, b1):
        X, start = _new_block(codes, params, cols, extra, pre, key, first_block, width, n, b)
        counts[b, 1] = _rows(fun, args, X, Y, start)
        _block_moments(Y, start, start + X.shape[0], b, counts, moments)


@cached_njit(nogil=True)
def _gather_tails(Y, j, t_lo, t_hi, i0, i1, lo, hi):
    """Values of Y[i0:i1, j] <= t_lo into lo[i0:], >= t_hi into hi[i0:]; returns both counts.

    Branch-free: every value is written at the next free place, which only
    advances when the value belongs there (it never passes i1 - 1).
    """
    k_lo = i0
    k_hi = i0
    for i in range(i0, i1):
        v = Y[i, j]
        lo[k_lo] = v
        hi[k_hi] = v
        k_lo += v <= t_lo
        k_hi += v >= t_hi
    return k_lo - i0, k_hi - i0


# ----------------------------------------------------------------- numerics
def numerical_tolerance(value, digits: int):
    """JCGM 101 7.9.2: write |value| as c * 10**l with c a ``digits``-digit integer; delta = 10**l / 2."""
    v = np.abs(np.asarray(value, dtype=float))
    with np.errstate(divide="ignore"):
        ell = np.floor(np.log10(np.where(v > 0, v, np.nan))) - digits + 1
    return np.where(v > 0, 0.5 * 10.0 ** ell, 0.0)


def order_index(M: int, p: float):
    """q and the 0-based start r of the probabilistically symmetric interval (JCGM 101 7.7)."""
    pm = p * M
    q = int(pm) if pm == int(pm) else int(math.floor(pm + 0.5))
    if q >= M:
        raise ValueError(f"{M} finite draws are too few for a coverage interval with p = {p}")
    r = (M - q) // 2 if (M - q) % 2 == 0 else (M - q + 1) // 2
    return q, max(r - 1, 0)


def _tail_values(Y: np.ndarray, j: int, t_lo: float, t_hi: float):
    """The values of column j of Y that are <= t_lo, and those >= t_hi (one parallel pass)."""
    edges = ranges(Y.shape[0], 1 << 16)
    lo, hi = np.empty(Y.shape[0]), np.empty(Y.shape[0])   # pages beyond the tails stay untouched
    found = run_ranges(lambda t, i0, i1: _gather_tails(Y, j, t_lo, t_hi, i0, i1, lo, hi), edges)
    return (np.concatenate([lo[e:e + k] for e, (k, _) in zip(edges, found)]),
            np.concatenate([hi[e:e + k] for e, (_, k) in zip(edges, found)]))


def _tails(Y: np.ndarray, j: int, T: int):
    """The T smallest and the T largest values of column j of Y, each sorted.

    A strided subsample (the draws are independent, so it is a random one)
    puts thresholds a few standard errors beyond the T/M quantiles; the
    compiled :func:`_tail_values` collects the values beyond them, and only
    those are sorted. A threshold that falls short (improbable) is widened,
    and finally every value is sorted: the result is exact in every case.
    """
    M = Y.shape[0]
    if M <= 8 * SUBSAMPLE or 4 * T > M:     # small, or wide tails: sorting all is as good
        ys = np.sort(Y[:, j])
        return ys[:T], ys[M - T:]
    sub = np.sort(Y[::M // SUBSAMPLE, j])
    S, f = sub.size, T / M
    for z in (6.0, 30.0):
        k = min(S - 1, int(math.ceil(S * (f + z * math.sqrt(f * (1.0 - f) / S)))) + 1)
        lo, hi = _tail_values(Y, j, sub[k], sub[S - 1 - k])
        if lo.size >= T and hi.size >= T:
            break
    else:
        lo = hi = Y[:, j]
    lo, hi = np.sort(lo), np.sort(hi)
    return lo[:T], hi[hi.size - T:]


def coverage_intervals(Y: np.ndarray, p: float) -> dict:
    """Both coverage intervals of each column of Y (M, m), JCGM 101 7.7.

    Returns {"symmetric": (low, high), "shortest": (low, high)}, arrays of
    shape (m,). Both need only the order statistics y_(0..M-q-1) and
    y_(q..M-1): the symmetric interval is [y_(r), y_(r+q)], the shortest
    [y_(r*), y_(r*+q)] with r* minimising y_(r+q) - y_(r).
    """
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    M, m = Y.shape
    q, r = order_index(M, p)
    out = {k: (np.empty(m), np.empty(m)) for k in ("symmetric", "shortest")}
    for j in range(m):
        lo, hi = _tails(Y, j, M - q)         # lo[i] = y_(i), hi[i] = y_(q+i)
        out["symmetric"][0][j], out["symmetric"][1][j] = lo[r], hi[r]
        rstar = int(np.argmin(hi - lo))
        out["shortest"][0][j], out["shortest"][1][j] = lo[rstar], hi[rstar]
    return out


def merge_moments(counts: np.ndarray, moments: np.ndarray):
    """(finite draws, mean, variance) from per-block (count, mean, M2) (Chan et al.).

    M2 = sum_b M2_b + sum_b n_b (mean_b - mean)**2, exact in exact
    arithmetic; block means are taken relative to the first one, so the
    sums see the spread of the values, not their magnitude.
    """
    w = counts[:, 0].astype(float)
    total = w.sum()
    if total == 0:
        return 0, np.full(moments.shape[2], np.nan), np.full(moments.shape[2], np.nan)
    means = moments[:, 0]
    shift = means[int(np.argmax(w > 0))]
    mean = shift + (w[:, None] * (means - shift)).sum(axis=0) / total
    m2 = moments[:, 1].sum(axis=0) + (w[:, None] * (means - mean) ** 2).sum(axis=0)
    var = m2 / (total - 1) if total > 1 else np.full(mean.size, np.nan)
    return int(total), mean, var


@cached_njit
def _comoment(Y, i0, i1, mu, C):
    """The finite rows y of Y[i0:i1]: their count (returned), mean ``mu`` and
    C = the sum of (y - mu)(y - mu)^T.

    Plain loops in a fixed order (no BLAS, whose summation order may change
    with its thread count): the same rows give the same bits in any process.
    """
    m = Y.shape[1]
    C[:, :] = 0.0
    mu[:] = 0.0
    k = 0
    for i in range(i0, i1):
        ok = True
        for a in range(m):
            ok = ok and np.isfinite(Y[i, a])
        if ok:
            k += 1
            for a in range(m):
                mu[a] += Y[i, a]
    if k == 0:
        return 0
    for a in range(m):
        mu[a] /= k
    d = np.empty(m)
    for i in range(i0, i1):
        ok = True
        for a in range(m):
            d[a] = Y[i, a] - mu[a]
            ok = ok and np.isfinite(Y[i, a])
        if ok:
            for a in range(m):
                for b in range(a + 1):
                    C[a, b] += d[a] * d[b]
    for a in range(m):
        for b in range(a):
            C[b, a] = C[a, b]
    return k


def comoment_slices(Y: np.ndarray):
    """(counts (k,), means (k, m), co-moments (k, m, m)) of the finite rows of each
    slice of :data:`COV_ROWS` draws of Y, each about the slice's own mean (rows
    with NaN or inf are skipped, not removed, so the slices are fixed ranges of
    draw indices and need no global mean: one pass over the draws)."""
    k = -(-Y.shape[0] // COV_ROWS)
    m = Y.shape[1]
    ns, mus, Cs = np.zeros(k, dtype=np.int64), np.zeros((k, m)), np.empty((k, m, m))
    for s in range(k):
        ns[s] = _comoment(Y, s * COV_ROWS, min(Y.shape[0], (s + 1) * COV_ROWS), mus[s], Cs[s])
    return ns, mus, Cs


def covariance_from(parts, n_finite: int, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """The covariance from per-slice co-moments (:func:`comoment_slices`, in draw
    order), merged slice by slice about ``mean`` (Chan et al.:
    C = sum_s C_s + n_s (mu_s - mean)(mu_s - mean)^T).

    One output: the merged variance ``var`` itself (``parts`` unused). A run
    split into chunks of whole slices gives the same bits as one piece.
    """
    if var.size == 1:
        return var.reshape(1, 1).copy()
    C = np.zeros((var.size, var.size))
    for ns, mus, Cs in parts:
        for s in range(ns.size):
            if ns[s]:
                d = mus[s] - mean
                C += Cs[s] + ns[s] * np.outer(d, d)
    return C / (n_finite - 1)


def _covariance(Y: np.ndarray, mean: np.ndarray, var: np.ndarray, n_finite: int):
    """Covariance of the finite rows of Y (all draws, in draw order) about their mean."""
    parts = [comoment_slices(Y)] if var.size > 1 else ()
    return covariance_from(parts, n_finite, mean, var)


def check_kind(kind) -> str:
    """A coverage interval kind, "symmetric" or "shortest", or a ValueError."""
    return as_choice(kind, "kind", ("symmetric", "shortest"))


def _histogram(samples: np.ndarray, bins: int):
    """(counts (m, bins), edges (m, bins + 1)) of each column of samples."""
    counts, edges = [], []
    for col in samples.T:
        c, e = np.histogram(col, bins=bins)
        counts.append(c)
        edges.append(e)
    return np.array(counts), np.array(edges)


def pilot_blocks(n: int) -> np.ndarray:
    """The :data:`PILOT_BLOCKS` blocks spread over a run of n draws that form its pilot."""
    nblocks = -(-n // BLOCK)
    return np.unique(np.linspace(0, nblocks - 1, min(nblocks, PILOT_BLOCKS)).astype(np.int64))


def pilot_values(runner, n: int, blocks) -> np.ndarray:
    """Model values of the pilot ``blocks`` of a run of n draws, evaluated block by block
    (the same call wherever it runs, so a cluster and a local run get the same bits)."""
    return np.concatenate([runner(b * BLOCK, min(n, (b + 1) * BLOCK) - b * BLOCK)[0]
                           for b in blocks])


def histogram_inner_edges(pilot: np.ndarray) -> np.ndarray:
    """(m, HIST_BINS - 1): the inner edges of the summary histogram of each output,
    equally spaced from the smallest to the largest finite pilot value."""
    out = np.empty((pilot.shape[1], HIST_BINS - 1))
    for j, col in enumerate(pilot.T):
        col = col[np.isfinite(col)]
        a, b = (float(col.min()), float(col.max())) if col.size else (0.0, 1.0)
        if not b > a:
            a, b = a - 0.5, a + 0.5
        out[j] = np.linspace(a, b, HIST_BINS - 1)
    return out


@cached_njit(nogil=True)
def _equal_bins_count(inner, values, counts):
    """counts[g] += 1 for each value, g = the number of ``inner`` edges <= it
    (equally spaced edges: g from one division, then checked against the edges
    themselves, so the bin is exact whatever the rounding)."""
    K = inner.size
    a, w = inner[0], (inner[K - 1] - inner[0]) / (K - 1)
    for i in range(values.size):
        v = values[i]
        x = (v - a) / w
        g = 0 if not x >= 0.0 else K if x >= K else int(x) + 1
        while g > 0 and v < inner[g - 1]:
            g -= 1
        while g < K and v >= inner[g]:
            g += 1
        counts[g] += 1


def histogram_counts(inner: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Counts of the finite values ``col`` in the HIST_BINS bins around ``inner`` edges
    (bin g: inner[g-1] <= y < inner[g], as ``np.searchsorted(inner, y, "right")``)."""
    counts = np.zeros(inner.size + 1, dtype=np.int64)
    _equal_bins_count(inner, np.ascontiguousarray(col, dtype=np.float64), counts)
    return counts


def summary_histogram(counts: np.ndarray, inner: np.ndarray, low, high):
    """(counts (m, HIST_BINS), edges (m, HIST_BINS + 1)) of a run whose values are not
    kept: the inner edges from its pilot, the outer ones at the smallest and largest
    value (at least one inner bin width beyond the inner edges)."""
    w = inner[:, 1] - inner[:, 0]
    lo = np.minimum(np.asarray(low, dtype=float), inner[:, 0] - w)
    hi = np.maximum(np.asarray(high, dtype=float), inner[:, -1] + w)
    return np.asarray(counts, dtype=np.int64), np.column_stack([lo, inner, hi])


# ------------------------------------------------------------------ results
@dataclass(frozen=True, repr=False, slots=True)
class MonteCarloResult:
    """The outcome of :func:`propagate_mc` (and :func:`jacsolve.propagate_implicit_mc`).

    Shape rule (:mod:`jacsolve.uncertainty.outputs`): a scalar model gives
    floats for ``value``, ``std``, ``cov`` (the variance), ``tolerance`` and
    the ends of ``interval(p)``; a vector model arrays of shape (m,), and
    ``cov`` of shape (m, m). ``samples`` and ``histogram()`` are tables over
    the draws and stay 2-D (one column per output) for both.

    Attributes
    ----------
    value, std : float or ndarray, shape (m,)
        Estimate (the mean of the model values) and standard uncertainty of
        each output (JCGM 101 7.6). ``mean`` is the same as ``value``.
    cov : float or ndarray, shape (m, m)
        Covariance of the outputs (the variance for a scalar model).
    n_draws : int
        Draws made (non-finite ones included).
    n_nonfinite : int
        Draws for which the model returned NaN or inf in any output. They are
        reported, never dropped silently: a :class:`NonFiniteWarning` is
        issued, ``success`` is False, and every statistic describes the
        ``n_draws - n_nonfinite`` finite draws, i.e. the output distribution
        conditional on the model being defined.
    p : float
        Coverage probability of the run (default of :meth:`interval`).
    kind : str
        Default interval kind, "symmetric" or "shortest".
    samples : ndarray, shape (n_draws - n_nonfinite, m), or None
        The finite model values, in draw order; None when not kept (then the
        intervals at ``p`` and a histogram were computed before dropping them).
    converged : bool
        Adaptive runs: whether the results became stable to ``digits``
        significant digits before ``max_draws``. True for fixed ``n``.
    digits : int or None
        Significant digits requested (adaptive runs).
    tolerance : float, ndarray or None
        Numerical tolerance delta of each u(y) (adaptive runs, JCGM 101 7.9.2).
    success : bool
        True when converged and every draw was finite.
    status : Status
        ``Status.SUCCESS``; ``Status.NONFINITE`` when some draws gave
        non-finite model values (or failed solves); else
        ``Status.NOT_CONVERGED`` when an adaptive run stopped at
        ``max_draws`` before the results were stable.
    message : str
    nfev : int
        Evaluations of the model (one per draw; for implicit models, the
        evaluations of F in all solves).
    """
    value: object
    std: object
    cov: object
    n_draws: int
    n_nonfinite: int
    p: float
    kind: str
    samples: Optional[np.ndarray]
    converged: bool
    digits: Optional[int]
    tolerance: object
    success: bool
    message: str
    status: Status = Status.SUCCESS
    nfev: int = 0
    _cache: dict = field(default_factory=dict, compare=False)

    @property
    def mean(self):
        """The estimate: the same as ``value``."""
        return self.value

    @property
    def n_finite(self) -> int:
        return self.n_draws - self.n_nonfinite

    def interval(self, p: Optional[float] = None, kind: Optional[str] = None):
        """Coverage interval (low, high) (JCGM 101 7.7): floats for a scalar model,
        arrays of shape (m,) for a vector model.

        ``kind="symmetric"``: the probabilistically symmetric interval (equal
        tail probabilities); ``"shortest"``: the shortest interval of
        coverage ``p``.
        """
        p = self.p if p is None else check_p(p)
        kind = check_kind(self.kind if kind is None else kind)
        key = (p, kind)
        if key not in self._cache:
            if self.samples is None:
                raise ValueError(f"samples were not kept: only intervals at p = {self.p} are "
                                 "available; rerun with keep_samples=True")
            for k, pair in coverage_intervals(self.samples, p).items():  # both: same tails
                self._cache[(p, k)] = pair
        low, high = self._cache[key]
        scalar = np.ndim(self.value) == 0
        return shaped(low.copy(), scalar), shaped(high.copy(), scalar)

    def histogram(self, bins: int = HIST_BINS):
        """(counts (m, bins), edges (m, bins + 1)) of the model values.

        Without samples (``keep_samples=False``, or a run on a cluster): the
        summary histogram computed during the run, whose 198 inner bins are
        equally spaced over the range of a pilot of draws spread over the
        run and whose two outer bins reach the smallest and largest value
        (``bins`` is ignored).
        """
        if self.samples is None:
            return self._cache["histogram"]
        return _histogram(self.samples, bins)

    def __repr__(self):
        known = self.samples is not None or (self.p, self.kind) in self._cache
        low, high = (fmt(e) for e in self.interval()) if known else (None, None)
        fields = [f"value={fmt(self.value)}", f"std={fmt(self.std)}",
                  f"interval({self.p}, {self.kind})=({low}, {high})",
                  f"n_draws={self.n_draws}", f"n_nonfinite={self.n_nonfinite}",
                  f"converged={self.converged}", f"success={self.success}",
                  f"status={self.status.name}", f"message={self.message!r}"]
        return "MonteCarloResult(" + ", ".join(fields) + ")"


def result_from_values(Y, mean, cov, *, scalar: bool, n_draws: int, n_bad: int, p: float,
                       kind: str, keep_samples: Optional[bool], converged: bool = True,
                       digits: Optional[int] = None, tolerance=None,
                       bad_status=Status.NONFINITE, message: str,
                       nfev: int, pilot=None) -> MonteCarloResult:
    """The :class:`MonteCarloResult` of the finite model values Y (M, m), built once.

    Without ``keep_samples`` (default: kept when Y.size <= 2e7), the intervals
    at ``p`` and the summary histogram are computed first and the values
    dropped. The histogram's inner edges come from ``pilot()`` (the model
    values of :func:`pilot_blocks`, as on a cluster; default: every k-th
    value of Y). ``bad_status`` is the status for n_bad > 0.
    """
    cache = {}
    if keep_samples is None:
        keep_samples = Y.size <= 20_000_000
    if not keep_samples:
        for k, pair in coverage_intervals(Y, p).items():
            cache[(p, k)] = pair
        sample = pilot() if pilot is not None else \
            Y[::max(1, Y.shape[0] // (PILOT_BLOCKS * BLOCK))]
        inner = histogram_inner_edges(sample)
        counts = [histogram_counts(inner[j], Y[:, j]) for j in range(Y.shape[1])]
        cache["histogram"] = summary_histogram(counts, inner, Y.min(axis=0), Y.max(axis=0))
    return result_from_stats(mean, cov, Y if keep_samples else None, cache, scalar=scalar,
                             n_draws=n_draws, n_bad=n_bad, p=p, kind=kind, converged=converged,
                             digits=digits, tolerance=tolerance, bad_status=bad_status,
                             message=message, nfev=nfev)


def result_from_stats(mean, cov, samples, cache: dict, *, scalar: bool, n_draws: int,
                      n_bad: int, p: float, kind: str, converged: bool = True,
                      digits: Optional[int] = None, tolerance=None,
                      bad_status=Status.NONFINITE, message: str,
                      nfev: int) -> MonteCarloResult:
    """The :class:`MonteCarloResult` of merged statistics: ``cache`` holds the intervals
    {(p, kind): (low, high)} and "histogram" when ``samples`` is None."""
    std = np.sqrt(np.diag(cov))
    status = (bad_status if n_bad else Status.NOT_CONVERGED if not converged
              else Status.SUCCESS)
    return MonteCarloResult(shaped(mean, scalar), shaped(std, scalar), shaped_cov(cov, scalar),
                            n_draws, n_bad, p, kind, samples, converged,
                            digits, None if tolerance is None else shaped(tolerance, scalar),
                            status == Status.SUCCESS, message, status, int(nfev), dict(cache))


# ------------------------------------------------------------------ driver
class _Model:
    """The user's model applied to blocks of draws: compiled, vectorised or serial."""

    def __init__(self, fun, args, X0, parallel):
        self.fun, self.args, self.parallel = fun, args, parallel
        y0, self.scalar = evaluate_once(fun, X0[0], args)
        self.m = y0.size
        self.jitted = is_jitted(fun)
        self.vectorized = False
        if not self.jitted:
            warn_if_python(fun, stacklevel=5)

    def decide_vectorized(self, X, vectorized):
        """Use one call on all draws if fun gives the draw-by-draw values on a probe."""
        if self.jitted or vectorized is False:
            return
        probe = X[:min(4, X.shape[0])]
        serial = self._serial(probe)
        try:
            with np.errstate(all="ignore"):
                vec = self._vector(probe)
            ok = vec.shape == serial.shape and np.allclose(vec, serial, rtol=1e-12, atol=0,
                                                           equal_nan=True)
        except Exception:
            ok = False
        if vectorized and not ok:
            raise ValueError("vectorized=True, but fun(X.T, *args) on a (k, n) array does not "
                             "return the draw-by-draw values (shape (m, n) or (n,))")
        self.vectorized = ok

    def _vector(self, X):
        y = np.asarray(self.fun(np.ascontiguousarray(X.T), *self.args), dtype=float)
        return y.reshape(self.m, X.shape[0]).T if y.size == self.m * X.shape[0] else y

    def _serial(self, X):
        Y = np.empty((X.shape[0], self.m))
        with np.errstate(all="ignore"):
            for i in range(X.shape[0]):
                y = np.asarray(self.fun(X[i].copy(), *self.args), dtype=float).reshape(-1)
                Y[i] = y if y.size == self.m else np.nan
        return Y

    def compiled(self, plan, key, start, count):
        """Draws start .. start + count - 1 sampled, evaluated and reduced in one compiled call.

        Returns Y (count, m) and the per-block counts (finite, wrong size)
        and moments (mean, M2) that :func:`merge_moments` combines.
        """
        Y = np.empty((count, self.m))
        nblocks = (count + BLOCK - 1) // BLOCK
        counts = np.zeros((nblocks, 2), dtype=np.int64)
        moments = np.empty((nblocks, 2, self.m))
        a = (plan.codes, plan.params, plan.cols, plan.extra, plan.pre(key, start, count),
             np.uint64(key), start // BLOCK, plan.width, Y, counts, moments)
        rows = call_kernel(_rows_function, self.fun, self.args, self.scalar)  # typing errors
        if rows is not None:
            kernel, a = _mc_blocks_at, rows + a
        else:  # args that cannot be packed: the kernel specialised on fun
            kernel, a = specialised(_mc_blocks, self.fun), (self.args,) + a
            call_kernel(kernel, *a, 0, 0)   # compiles (and reports typing errors) here
        call_kernel(run_ranges, lambda t, b0, b1: kernel(*a, b0, b1),
                    ranges(nblocks, 4, self.parallel))
        bad = int(counts[:, 1].sum())
        if bad:
            raise ValueError(f"fun returned a value of a size other than {self.m} (its size "
                             f"at the first draw) for {bad} draws")
        return Y, counts, moments

    def __call__(self, X):
        try:
            return self._vector(X) if self.vectorized else self._serial(X)
        except Exception as exc:
            raise FunctionError(f"fun raised {type(exc).__name__}: {exc} during evaluation") \
                from exc


class Runner:
    """The draws of one :func:`propagate_mc` call: sampled, evaluated and reduced by range.

    Built from picklable pieces (fun, the distributions, args, the key), so a
    Dask worker rebuilds the same runner and gets the same bits for the same
    draws. ``runner(start, count)`` returns Y (count, m) and the per-block
    counts and moments of draws start .. start + count - 1 (start a multiple
    of BLOCK).
    """

    def __init__(self, fun, dists, args, key, n_first: int, vectorized, parallel: bool):
        self.fun, self.dists, self.args, self.key = fun, dists, args, key
        self.plan = SamplingPlan(dists)
        first = self.plan.draw(key, 0, min(BLOCK, n_first)) if not is_jitted(fun) \
            else self.plan.first(key)
        self.model = _Model(fun, args, first, parallel)
        self.model.decide_vectorized(first, vectorized)
        self.vectorized = self.model.vectorized

    @property
    def m(self) -> int:
        return self.model.m

    @property
    def scalar(self) -> bool:
        return self.model.scalar

    def __call__(self, start: int, count: int):
        model, plan, key = self.model, self.plan, self.key
        if model.jitted:
            return model.compiled(plan, key, start, count)
        Y = np.empty((count, model.m))
        for c0 in range(0, count, CHUNK):
            c1 = min(count, c0 + CHUNK)
            Y[c0:c1] = model(plan.draw(key, start + c0, c1 - c0))
        nblocks = (count + BLOCK - 1) // BLOCK
        counts = np.zeros((nblocks, 2), dtype=np.int64)
        moments = np.empty((nblocks, 2, model.m))
        _moments_of(Y, counts, moments)
        return Y, counts, moments

    def run_reporting(self, n: int, progress):
        """All n draws; with ``progress``, in pieces of PROGRESS_DRAWS that report."""
        if not progress:
            return self(0, n)
        from ..distributed.progress import Progress
        bar = Progress(progress, n, "draws", "propagate_mc")
        Y = np.empty((n, self.m))
        counts, moments = [], []
        for start in range(0, n, PROGRESS_DRAWS):
            count = min(n, start + PROGRESS_DRAWS) - start
            Y[start:start + count], c, mo = self(start, count)
            counts.append(c)
            moments.append(mo)
            bar.add(count)
        bar.close()
        return Y, np.concatenate(counts), np.concatenate(moments)


def finite_rows(Y, n_finite):
    """Y without its rows holding NaN or inf (Y itself when all are finite)."""
    return Y if n_finite == Y.shape[0] else Y[np.all(np.isfinite(Y), axis=1)]


def batch_stats(Y, counts, moments, p, kind):
    """(4, m): mean, u, interval endpoints of one adaptive batch."""
    n_fin, mean, var = merge_moments(counts, moments)
    low, high = coverage_intervals(finite_rows(Y, n_fin), p)[kind]
    return np.stack([mean, np.sqrt(var), low, high])


def propagate_mc(fun: Callable, inputs, *, args=(), n: Optional[int] = None,
                 digits: Optional[int] = None, p: float = 0.95, kind: str = "symmetric",
                 seed=None, keep_samples: Optional[bool] = None, max_draws: int = 10_000_000,
                 vectorized: Optional[bool] = None, parallel: Optional[bool] = None,
                 client=None, progress=False) -> MonteCarloResult:
    """Propagate input distributions through ``fun`` by Monte Carlo (JCGM 101).

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` with ``x`` a 1-D array of all inputs (the
        components of a multivariate input in order), returning a scalar or a
        1-D array of m outputs. A numba function (``@jacsolve.jit``) runs in
        a compiled parallel loop over the draws; a plain Python one works with
        a :class:`~jacsolve.PerformanceWarning` (vectorised if possible).
    inputs : sequence
        One entry per input quantity: a :mod:`jacsolve.distributions` object
        (a multivariate one supplies several inputs), a frozen
        ``scipy.stats`` distribution, or a number (a constant).
    args : tuple, optional
        Extra arguments of ``fun``.
    n : int, optional
        Number of draws (default 10**6 when ``digits`` is not given).
    digits : int, optional
        Adaptive Monte Carlo (JCGM 101 7.9): draw batches of
        ``max(100 / (1 - p), 10**4)`` until twice the standard deviations of
        the batch means, standard uncertainties and interval endpoints are
        all below the numerical tolerance of u(y) to ``digits`` significant
        digits. Give ``n`` or ``digits``, not both.
    p : float, optional
        Coverage probability (default 0.95).
    kind : {"symmetric", "shortest"}, optional
        Interval used for adaptive stopping and by default in ``interval``.
    seed : int, numpy.random.Generator or None, optional
        The draws are a deterministic function of the seed (and do not depend
        on the number of threads).
    keep_samples : bool, optional
        Keep the model values (default: when n_draws * m <= 2e7). Otherwise
        the intervals at ``p`` and a histogram are computed and the values
        dropped.
    max_draws : int, optional
        Upper bound of adaptive runs (default 10**7).
    vectorized : bool, optional
        Plain Python ``fun`` only: None (default) tries ``fun(X.T, *args)``
        on all draws at once and checks it against draw-by-draw calls on a
        few draws; False always calls draw by draw.
    parallel : bool, optional
        Numba functions only: evaluate blocks of draws in parallel threads
        (``numba.get_num_threads()``; the compiled loop is the same, so
        parallel runs cost no extra compilation). The default (None) uses
        them for runs of at least :data:`PARALLEL_MIN` draws (and adaptive
        runs) and one thread below. Both give identical results.
    client : dask.distributed.Client, str or None, optional
        Run on a Dask cluster (a ``Client``, or a scheduler address): chunks
        of draws are evaluated on the workers, which send back only per-block
        moments, histogram counts and the few values near the interval
        endpoints, never the draws (two passes over each chunk; see
        :mod:`jacsolve.distributed.montecarlo`). The result is bit for bit
        the one of the same call without ``client``, with
        ``keep_samples=False`` (``samples`` is None). Needs ``pip install
        "jacsolve[dask]"``.
    progress : bool or callable, optional
        Report the draws done: True prints a line on stderr, a callable is
        called as ``progress(done, total)``. Silent by default.

    Returns
    -------
    MonteCarloResult
        ``value`` (also ``mean``), ``std``, ``cov``, ``interval(p, kind)``,
        ``samples``; ``success``, ``status``, ``message``, ``nfev``. A scalar
        model gives floats, a vector model arrays. An adaptive run stopped by
        ``max_draws`` has ``success=False`` and ``status=NOT_CONVERGED`` and
        issues a :class:`NotConvergedWarning`.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> from jacsolve import distributions as D
    >>> @jacsolve.jit
    ... def f(x):
    ...     return x[0] + x[1]
    >>> r = jacsolve.propagate_mc(f, [D.Normal(0, 1), D.Rectangular(-1, 1)],
    ...                           n=20_000, seed=1)
    >>> bool(abs(r.std - np.sqrt(1 + 1 / 3)) < 0.03), r.n_nonfinite
    (True, 0)
    >>> low, high = r.interval(0.95, kind="shortest")
    """
    user_fun, fun = fun, returning_form(fun)  # the in-place form, as y = fun(x, *args)
    dists = as_inputs(inputs)
    args = as_args(args)
    p = check_p(p)
    kind = check_kind(kind)
    if n is not None and digits is not None:
        raise ValueError("give either n (a fixed number of draws) or digits (adaptive), not both")
    if digits is not None:
        digits = positive_int(digits, "digits")
    max_draws = positive_int(max_draws, "max_draws")
    n = 10 ** 6 if n is None and digits is None else n
    if n is not None:
        n = positive_int(n, "n")
        if n < 2:
            raise ValueError(f"n must be >= 2, got {n}")
    key = seed_key(seed)
    if parallel is None:
        parallel = digits is not None or n >= PARALLEL_MIN
    runner = Runner(fun, dists, args, key, n or BLOCK, vectorized, bool(parallel))
    if client is not None:
        if keep_samples:
            raise ValueError("keep_samples=True cannot be combined with client=: the draws "
                             "stay on the workers (only their statistics come back)")
        from ..distributed.montecarlo import propagate_on_cluster
        return propagate_on_cluster(client, runner, user_fun=user_fun, n=n, digits=digits, p=p, kind=kind,
                                    max_draws=max_draws, progress=progress)
    tolerance = None
    converged = True
    if digits is None:
        Y, counts, moments = runner.run_reporting(n, progress)
    else:
        parts = []

        def batches(batch):
            for i in itertools.count():
                Y, c, mo = runner(batch * i, batch)
                parts.append(Y)
                yield batch_stats(Y, c, mo, p, kind), c, mo

        h, batch, converged, tolerance, counts, moments = adaptive_draws(batches, p, kind, digits,
                                                                   max_draws)
        Y = np.concatenate(parts[:h])
    n_fin, mean, var = merge_moments(counts, moments)
    cov = _covariance(Y, mean, var, n_fin) if n_fin >= 2 else None
    return finish(Y.shape[0], n_fin, mean, cov, Y=finite_rows(Y, n_fin), scalar=runner.scalar,
                  p=p, kind=kind, keep_samples=keep_samples, converged=converged, digits=digits,
                  tolerance=tolerance, max_draws=max_draws,
                  pilot=lambda: pilot_values(runner, Y.shape[0], pilot_blocks(Y.shape[0])))


class NotConvergedWarning(RuntimeWarning):
    """An adaptive Monte Carlo run stopped at max_draws before reaching its digits."""


def finish(n_draws: int, n_fin: int, mean, cov, *, Y=None, cache=None, scalar: bool, p: float,
           kind: str, keep_samples, converged: bool, digits, tolerance,
           max_draws: int, pilot=None) -> MonteCarloResult:
    """The result of a run from its merged statistics, with its warnings and message.

    ``Y`` holds the finite model values (local runs); a run on a cluster
    passes ``cache`` instead: the intervals at ``p`` and the histogram.
    """
    n_bad = n_draws - n_fin
    if n_bad:
        warnings.warn(f"fun returned NaN or inf for {n_bad} of {n_draws} draws "
                      f"({100 * n_bad / n_draws:.3g} %); the statistics use the "
                      f"{n_fin} finite draws", NonFiniteWarning, stacklevel=3)
    if n_fin < 2:
        raise ValueError(f"fun gave finite values for only {n_fin} of {n_draws} draws: check fun "
                         "and args (at least 2 finite draws are needed for statistics)")
    messages = []
    if not converged:
        messages.append(f"not stable to {digits} significant digits after max_draws = "
                        f"{max_draws} draws (n_draws = {n_draws}); raise max_draws or ask "
                        "for fewer digits")
        warnings.warn("propagate_mc: " + messages[-1], NotConvergedWarning, stacklevel=3)
    if n_bad:
        messages.append(f"{n_bad} of {n_draws} draws gave non-finite model values (excluded "
                        "from the statistics)")
    message = "; ".join(messages) or (f"stable to {digits} significant digits" if digits
                                      else f"{n_draws} draws")
    common = dict(scalar=scalar, n_draws=n_draws, n_bad=n_bad, p=p, kind=kind,
                  converged=converged, digits=digits, tolerance=tolerance, message=message,
                  nfev=n_draws)
    if cache is not None:
        return result_from_stats(mean, cov, None, cache, **common)
    return result_from_values(Y, mean, cov, keep_samples=keep_samples, pilot=pilot, **common)


def as_inputs(inputs) -> list:
    """The input quantities as a non-empty list of :class:`Distribution` objects."""
    if isinstance(inputs, Distribution) or hasattr(inputs, "ppf"):
        inputs = [inputs]
    try:
        items = list(inputs)
    except TypeError:
        raise TypeError("inputs must be a sequence of distributions") from None
    if not items:
        raise ValueError("inputs must contain at least one distribution")
    return [as_distribution(d, f"inputs[{i}]") for i, d in enumerate(items)]


def adaptive_batch(p: float) -> int:
    """Draws per batch of the adaptive procedure: max(100 / (1 - p), 10**4), in whole blocks."""
    batch = max(int(math.ceil(100.0 / (1.0 - p))), 10_000)
    return -(-batch // BLOCK) * BLOCK  # whole blocks: batches are slices of one stream


def adaptive_draws(batches, p, kind, digits, max_draws):
    """JCGM 101 7.9.4: batches until 2 s(.) <= delta for y, u(y), y_low and y_high.

    ``batches(batch)`` yields (stats, counts, moments) of batches 0, 1, ...
    of ``batch`` draws each, in order (locally or from a cluster). Returns
    (h batches used, batch, converged, delta, counts, moments of the h batches).
    """
    batch = adaptive_batch(p)
    stats, counts, moments = [], [], []
    for st, c, mo in batches(batch):
        stats.append(st)   # (4, m)
        counts.append(c)
        moments.append(mo)
        h = len(stats)
        if h < 2:
            continue
        s = np.sqrt(np.array(stats).var(axis=0, ddof=1) / h)   # std of the averages
        c, mo = np.concatenate(counts), np.concatenate(moments)
        _, _, var = merge_moments(c, mo)
        delta = numerical_tolerance(np.sqrt(var), digits)
        done = bool(np.all(2 * s <= delta))
        if done or batch * (h + 1) > max_draws:
            return h, batch, done, delta, c, mo


# --------------------------------------------------------------- validation
@dataclass(frozen=True)
class Validation:
    """JCGM 101 clause 8: the GUM interval compared with the Monte Carlo interval.

    Its arrays have one entry per output, shape (m,), for scalar models too.

    Attributes
    ----------
    success : bool
        True when d_low <= delta and d_high <= delta for every output (also
        available as ``validated``).
    d_low, d_high : ndarray, shape (m,)
        |y - U_p - y_low| and |y + U_p - y_high|.
    tolerance : ndarray, shape (m,)
        The numerical tolerance delta of the Monte Carlo u(y) to ``digits``
        significant digits (JCGM 101 7.9.2).
    gum_interval, mc_interval : tuple of ndarray
        (low, high) of both methods.
    p : float
    digits : int
    kind : str
        Monte Carlo interval used ("shortest" as in the examples of clause 9).
    """
    success: bool
    d_low: np.ndarray
    d_high: np.ndarray
    tolerance: np.ndarray
    gum_interval: tuple
    mc_interval: tuple
    p: float
    digits: int
    kind: str

    @property
    def validated(self) -> bool:
        """The same as ``success``."""
        return self.success


def _gum_interval(linear, p):
    if hasattr(linear, "interval"):
        low, high = linear.interval(p)
    else:
        try:
            y, U = linear
        except (TypeError, ValueError):
            raise TypeError("linear_result must have an interval(p) method (a "
                            "jacsolve.Propagation) or be a pair (y, U_p)") from None
        y, U = np.atleast_1d(np.asarray(y, float)), np.atleast_1d(np.asarray(U, float))
        if np.any(U < 0):
            raise ValueError(f"U_p must be >= 0, got {U}")
        low, high = y - U, y + U
    return np.atleast_1d(np.asarray(low, float)), np.atleast_1d(np.asarray(high, float))


def validate(linear_result, mc_result: MonteCarloResult, p: float = 0.95, digits: int = 2,
             kind: str = "shortest") -> Validation:
    """Validate the GUM (linear) result by Monte Carlo (JCGM 101 clause 8).

    Parameters
    ----------
    linear_result : Propagation or (y, U_p)
        The GUM uncertainty framework result: anything with ``interval(p)``
        returning (low, high) (a :class:`jacsolve.Propagation`), or a pair of
        the estimate and the expanded uncertainty U_p.
    mc_result : MonteCarloResult
        Monte Carlo result for the same model and inputs, ideally adaptive
        with the same ``digits`` (JCGM 101 8.2).
    p : float, optional
        Coverage probability (default 0.95).
    digits : int, optional
        Significant digits of u(y) that define delta (default 2).
    kind : {"shortest", "symmetric"}, optional
        Monte Carlo interval compared with the GUM interval.

    Returns
    -------
    Validation

    Examples
    --------
    >>> import jacsolve
    >>> from jacsolve import distributions as D
    >>> @jacsolve.jit
    ... def f(x):
    ...     return x[0] + x[1]
    >>> mc = jacsolve.propagate_mc(f, [D.Normal(0, 1), D.Normal(0, 1)], n=200_000, seed=2)
    >>> v = jacsolve.validate((0.0, 1.96 * 2 ** 0.5), mc, digits=1)
    >>> v.success
    True
    """
    p = check_p(p)
    kind = check_kind(kind)
    digits = positive_int(digits, "digits")
    if not isinstance(mc_result, MonteCarloResult):
        raise TypeError(f"mc_result must be a MonteCarloResult, got {type(mc_result).__name__}")
    glow, ghigh = _gum_interval(linear_result, p)
    mlow, mhigh = (np.atleast_1d(e) for e in mc_result.interval(p, kind))
    if glow.shape != mlow.shape:
        raise ValueError(f"linear_result has {glow.size} outputs, mc_result {mlow.size}")
    d_low, d_high = np.abs(glow - mlow), np.abs(ghigh - mhigh)
    delta = np.atleast_1d(numerical_tolerance(mc_result.std, digits))
    ok = bool(np.all(d_low <= delta) and np.all(d_high <= delta))
    return Validation(ok, d_low, d_high, delta, (glow, ghigh), (mlow, mhigh), p, digits, kind)
