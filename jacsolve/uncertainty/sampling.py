"""The compiled, counter-based samplers behind Monte Carlo propagation (JCGM 101).

* A counter-based stream: draws are cut into blocks of :data:`BLOCK` draws,
  and block ``b`` gets its own xoshiro256** generator seeded from
  ``(key, b)``. The draws therefore do not depend on the number of threads
  or on how a run is split into chunks, and blocks are sampled in parallel
  (threads of :mod:`jacsolve._numba.threads` running compiled code that
  releases the GIL).
* The recipes of JCGM 101:2008 6.4 (trapezoidal, curvilinear trapezoidal,
  arcsine, t, ...), inverse CDFs where they are cheap, a 256-layer ziggurat
  for normals (exact rejection sampling, one 64-bit draw per normal 99 % of
  the time) and Marsaglia-Tsang for gamma variates.
* SciPy distributions are sampled by their inverse CDF (``ppf``) applied to
  a second uniform stream, in Python.

A distribution tells the sampler what to draw through
``Distribution.sampler_args()``: a sampler code of this module, four
parameters and optional extra float data. :class:`SamplingPlan` turns a list
of distributions into the arrays the compiled :func:`fill_block` reads.

Compile cost: each kind of distribution has its own cached sampler
(``_draw_normal``, ``_draw_gamma``, ...), compiled or loaded from the cache
only when a plan uses that kind (:func:`load_kinds`). :func:`fill_block`
calls them through a table of their addresses, so compiling it (or the
Monte Carlo drivers that call it) compiles no sampler: with an empty cache a
run with normal inputs compiles the ziggurat and nothing of the gamma,
t or arcsine samplers. The table is found by its symbol name when numba
links the cached machine code, so cached code holds no address of the
process that compiled it.
"""
from __future__ import annotations

import ctypes
import math
import warnings

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir as llvm_ir
from numba import types
from numba.core.errors import NumbaExperimentalFeatureWarning
from numba.extending import intrinsic

from .._arguments import as_seed
from .._numba.addresses import addresses_of, function_loader
from .._numba.options import cached_njit
from .._numba.threads import ranges, run_ranges

__all__ = ["BLOCK", "SamplingPlan", "seed_key", "fill_block", "sample_blocks", "load_kinds",
           "CONST", "NORMAL", "RECT", "TRIANG", "TRAP", "CTRAP", "ARCSINE", "STUDENT_T",
           "EXPON", "GAMMA", "MVN", "PPF"]

BLOCK = 1024  # draws per independently seeded generator block

# sampler codes (one row of ``params`` per distribution)
CONST, NORMAL, RECT, TRIANG, TRAP, CTRAP, ARCSINE, STUDENT_T, EXPON, GAMMA, MVN, PPF = range(12)


# ------------------------------------------------------------------ seeding
def seed_key(seed) -> np.uint64:
    """A 64-bit key for the block generators from an int, a Generator or None."""
    seed = as_seed(seed)
    if isinstance(seed, np.random.Generator):
        return np.uint64(seed.integers(0, 2 ** 63, dtype=np.int64))
    return np.uint64(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])


class SamplingPlan:
    """The compiled sampler's view of a list of distributions (one column per input)."""

    def __init__(self, dists):
        self.dists = list(dists)
        codes, params, cols, extra, ppf = [], [], [], [], []
        col, offset = 0, 0
        for d in self.dists:
            code, p, ex = d.sampler_args()
            p = list(p)
            if code == PPF:   # a frozen scipy.stats distribution, ``d.dist``
                p[0] = float(len(ppf))
                ppf.append(d.dist)
            if ex is not None:
                p[0] = float(offset)
                extra.append(ex)
                offset += ex.size
            codes.append(code)
            params.append(p)
            cols.append(col)
            col += d.size
        self.codes = np.array(codes, dtype=np.int64)
        self.params = np.array(params, dtype=np.float64).reshape(-1, 4)
        self.cols = np.array(cols, dtype=np.int64)
        self.extra = np.concatenate(extra) if extra else np.zeros(1)
        self.width = col
        self.ppf = ppf
        load_kinds(self.codes if not ppf else np.append(self.codes, RECT))

    def __setstate__(self, state):
        """Unpickled (in another process, say): load the samplers its kinds need there."""
        self.__dict__.update(state)
        load_kinds(self.codes if not self.ppf else np.append(self.codes, RECT))

    def pre(self, key, first: int, n: int) -> np.ndarray:
        """The SciPy inputs' draws (n, k_scipy): their inverse CDFs of a second uniform stream."""
        if not self.ppf:
            return np.zeros((0, 0))
        U = np.empty((n, len(self.ppf)))
        codes = np.full(len(self.ppf), RECT, dtype=np.int64)
        params = np.tile([0.0, 1.0, 0.0, 0.0], (len(self.ppf), 1))
        sample_blocks(codes, params, np.arange(len(self.ppf)), self.extra, np.zeros((0, 0)),
                      np.uint64(key) ^ _MIX1, first // BLOCK, U)
        for j, dist in enumerate(self.ppf):
            U[:, j] = dist.ppf(U[:, j])
        return U

    def first(self, key) -> np.ndarray:
        """The first draw, shape (1, width), without starting the parallel sampler."""
        X = np.empty((1, self.width))
        fill_block(self.codes, self.params, self.cols, self.extra, self.pre(key, 0, 1),
                   np.uint64(key), 0, X, 0, 1, 0)
        return X

    def draw(self, key, first: int, n: int) -> np.ndarray:
        """Draws ``first .. first + n - 1`` of the stream, shape (n, width); first % BLOCK == 0."""
        X = np.empty((n, self.width))
        sample_blocks(self.codes, self.params, self.cols, self.extra, self.pre(key, first, n),
                      np.uint64(key), first // BLOCK, X)
        return X


# ----------------------------------------------------------- compiled sampler
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_U5 = np.uint64(5)
_U9 = np.uint64(9)
_TWO53 = 1.0 / 9007199254740992.0


@cached_njit
def _splitmix(z):
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31)), z


@cached_njit
def _seed_block(key, block, s):
    z = key ^ (np.uint64(block) * _MIX2)
    for i in range(4):
        out, z = _splitmix(z)
        s[i] = out


@cached_njit(inline="always")  # numba inlines it: LLVM would not
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@cached_njit(inline="always")  # numba inlines it: LLVM would not
def _next(s):
    """xoshiro256** step -> 64 random bits."""
    result = _rotl(s[1] * _U5, 7) * _U9
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@cached_njit(inline="always")  # numba inlines it: LLVM would not
def _uniform(s):
    """A double in the open interval (0, 1): the top 53 bits of a draw, plus half a unit."""
    return (np.float64(np.int64(_next(s) >> np.uint64(11))) + 0.5) * _TWO53


def _ziggurat_tables(n=256, r=3.6541528853610088, bits=52):
    """Marsaglia & Tsang's (2000) ziggurat for exp(-x**2/2) with n layers of equal area v.

    Layer 0 is the base (width v / f(r), its part beyond r is the tail);
    layer i >= 1 spans [0, x_i] x [f(x_i), f(x_(i-1))], x_(n-1) = r, x_0 = 0.
    r is the n = 256 value (as in NumPy); the top layer's area then matches v
    to 1e-13 relative. k_i = x_(i-1)/x_i * 2**bits: a draw below it needs no test.
    """
    f = lambda t: math.exp(-0.5 * t * t)
    v = r * f(r) + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2))
    x = np.zeros(n)
    x[n - 1] = r
    for i in range(n - 2, 0, -1):
        x[i] = math.sqrt(-2.0 * math.log(v / x[i + 1] + f(x[i + 1])))
    x[0] = v / f(r)
    scale = 2.0 ** bits
    k = np.zeros(n, dtype=np.uint64)
    k[0] = np.uint64(r / x[0] * scale)
    for i in range(2, n):
        k[i] = np.uint64(x[i - 1] / x[i] * scale)
    fx = np.array([1.0] + [f(t) for t in x[1:]])
    return r, k, x / scale, fx


_ZIG_R, _ZIG_K, _ZIG_W, _ZIG_F = _ziggurat_tables()
_LOW8 = np.uint64(0xFF)
_LOW52 = np.uint64(0xFFFFFFFFFFFFF)


@cached_njit(inline="always")  # numba inlines it: LLVM would not
def _normal(s):
    """A standard normal draw by the ziggurat (bits: 8 layer, 1 sign, 52 position)."""
    while True:
        bits = _next(s)
        i = np.int64(bits & _LOW8)
        negative = (bits >> np.uint64(8)) & np.uint64(1)
        rabs = (bits >> np.uint64(9)) & _LOW52
        x = np.float64(np.int64(rabs)) * _ZIG_W[i]
        if rabs < _ZIG_K[i]:                 # inside the layer's core: about 99 %
            return -x if negative else x
        if i == 0:                           # the tail beyond r (Marsaglia 1964)
            while True:
                xx = -math.log(_uniform(s)) / _ZIG_R
                yy = -math.log(_uniform(s))
                if yy + yy > xx * xx:
                    x = _ZIG_R + xx
                    return -x if negative else x
        elif _ZIG_F[i] + _uniform(s) * (_ZIG_F[i - 1] - _ZIG_F[i]) < math.exp(-0.5 * x * x):
            return -x if negative else x


@cached_njit(inline="always")
def _gamma_setup(shape):
    """The constants d, c of Marsaglia-Tsang for ``shape`` (computed once per column)."""
    d = (shape + 1.0 if shape < 1.0 else shape) - 1.0 / 3.0
    return d, 1.0 / math.sqrt(9.0 * d)


@cached_njit(inline="always")  # numba inlines it: LLVM would not
def _gamma(s, shape, d, c):
    """Marsaglia-Tsang (2000); shape < 1 by the boost G(a) = G(a + 1) U**(1/a)."""
    while True:
        x = _normal(s)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = _uniform(s)
        if u < 1.0 - 0.0331 * x * x * x * x or math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            break
    if shape < 1.0:
        return d * v * _uniform(s) ** (1.0 / shape)
    return d * v


@cached_njit
def _normals(s, out):
    """Fill out with standard normal draws: the one place the ziggurat is inlined."""
    for i in range(out.size):
        out[i] = _normal(s)


@cached_njit
def _gammas(s, shape, out):
    """Fill out with Gamma(shape, 1) draws."""
    d, c = _gamma_setup(shape)
    for i in range(out.size):
        out[i] = _gamma(s, shape, d, c)


# ------------------------------------------------- one compiled sampler per kind
# Each fills ``out`` with its kind's draws, continuing the block's generator ``s``
# (see the module docstring for why one function per kind). p0, p1, p2: the row of
# ``params``; the arithmetic and the order of the draws are those of the stream.
KIND_SIGNATURE = types.int64(types.uint64[::1], types.float64, types.float64, types.float64,
                             types.float64[::1], types.float64[::1])
_KIND = types.FunctionType(KIND_SIGNATURE)


@cached_njit
def _draw_normal(s, p0, p1, p2, extra, out):
    _normals(s, out)
    for i in range(out.size):
        out[i] = p0 + p1 * out[i]
    return 0


@cached_njit
def _draw_rect(s, p0, p1, p2, extra, out):
    for i in range(out.size):
        out[i] = p0 + (p1 - p0) * _uniform(s)
    return 0


@cached_njit
def _draw_triang(s, p0, p1, p2, extra, out):  # inverse CDF
    for i in range(out.size):
        u = _uniform(s)
        if u * (p1 - p0) < p2 - p0:
            out[i] = p0 + math.sqrt(u * (p1 - p0) * (p2 - p0))
        else:
            out[i] = p1 - math.sqrt((1.0 - u) * (p1 - p0) * (p1 - p2))
    return 0


@cached_njit
def _draw_trap(s, p0, p1, p2, extra, out):  # JCGM 101 6.4.4.4
    for i in range(out.size):
        r1 = _uniform(s)
        r2 = _uniform(s)
        out[i] = p0 + 0.5 * (p1 - p0) * ((1.0 + p2) * r1 + (1.0 - p2) * r2)
    return 0


@cached_njit
def _draw_ctrap(s, p0, p1, p2, extra, out):  # JCGM 101 6.4.3.4
    mid, w = 0.5 * (p0 + p1), 0.5 * (p1 - p0)
    for i in range(out.size):
        r1 = _uniform(s)
        r2 = _uniform(s)
        out[i] = mid + ((w - p2) + 2.0 * p2 * r2) * (2.0 * r1 - 1.0)
    return 0


@cached_njit
def _draw_arcsine(s, p0, p1, p2, extra, out):
    """cos(2 theta), theta uniform: (u^2 - v^2) / (u^2 + v^2) in the disk."""
    for i in range(out.size):
        while True:  # accepts with probability pi / 4; no cos()
            u = 2.0 * _uniform(s) - 1.0
            v = 2.0 * _uniform(s) - 1.0
            q = u * u + v * v
            if q < 1.0:
                break
        out[i] = 0.5 * (p0 + p1) + 0.5 * (p1 - p0) * ((u * u - v * v) / q)
    return 0


@cached_njit
def _draw_student_t(s, p0, p1, p2, extra, out):
    """Z / sqrt(chi2_nu / nu), chi2_nu = 2 Gamma(nu / 2): all normals first, then the gammas."""
    _normals(s, out)
    g = np.empty(out.size)
    _gammas(s, 0.5 * p2, g)
    two_over_nu = 2.0 / p2
    for i in range(out.size):
        out[i] = p0 + p1 * out[i] / math.sqrt(two_over_nu * g[i])
    return 0


@cached_njit
def _draw_expon(s, p0, p1, p2, extra, out):
    for i in range(out.size):
        out[i] = p0 - p1 * math.log(_uniform(s))
    return 0


@cached_njit
def _draw_gamma(s, p0, p1, p2, extra, out):
    _gammas(s, p2, out)
    for i in range(out.size):
        out[i] = p0 + p1 * out[i]
    return 0


@cached_njit
def _draw_mvn(s, p0, p1, p2, extra, out):
    """mean + L z per row, rows of k = p1 values one after the other in ``out``;
    mean and L (row-major) at extra[p0:]."""
    off, k = int(p0), int(p1)
    z = np.empty(out.size)
    _normals(s, z)
    for row in range(0, out.size, k):
        for q in range(k):
            acc = extra[off + q]
            base = off + k + q * k
            for t in range(k):
                acc += extra[base + t] * z[row + t]
            out[row + q] = acc
    return 0


_KIND_SAMPLERS = {NORMAL: _draw_normal, RECT: _draw_rect, TRIANG: _draw_triang,
                  TRAP: _draw_trap, CTRAP: _draw_ctrap, ARCSINE: _draw_arcsine,
                  STUDENT_T: _draw_student_t, EXPON: _draw_expon, GAMMA: _draw_gamma,
                  MVN: _draw_mvn}

# The table of the kinds' addresses, (c_addr, jit_addr) per sampler code, zero until
# loaded. Compiled code finds it by its symbol name, resolved in each process when the
# (cached) machine code is linked: cached code holds no address of another process.
_TABLE_SYMBOL = "jacsolve_sampling_kind_table_v1"
_TABLE = (ctypes.c_int64 * (2 * (PPF + 1)))()
llvm.add_symbol(_TABLE_SYMBOL, ctypes.addressof(_TABLE))


def load_kinds(codes) -> None:
    """Compile (or load from the cache) the samplers of ``codes`` and enter their
    addresses in the table that :func:`fill_block` reads. Called by every
    :class:`SamplingPlan`, also when one is unpickled in another process."""
    for code in set(np.asarray(codes, dtype=np.int64).ravel().tolist()):
        sampler = _KIND_SAMPLERS.get(code)
        if sampler is not None and _TABLE[2 * code] == 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
                c_addr, jit_addr = addresses_of(sampler, KIND_SIGNATURE)
            _TABLE[2 * code + 1] = jit_addr
            _TABLE[2 * code] = c_addr


@intrinsic
def _table_entry(typingctx, index):
    """The int64 at ``index`` of the kinds' address table (by its symbol)."""
    if not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        module = builder.module
        table = module.globals.get(_TABLE_SYMBOL)
        if table is None:
            table = llvm_ir.GlobalVariable(module, llvm_ir.ArrayType(llvm_ir.IntType(64),
                                                                     len(_TABLE)), _TABLE_SYMBOL)
        zero = llvm_ir.Constant(llvm_ir.IntType(64), 0)
        index = context.cast(builder, args[0], signature.args[0], types.int64)
        return builder.load(builder.gep(table, [zero, index]))
    return types.int64(index), codegen


_load_kind = function_loader(_KIND)


@cached_njit
def fill_block(codes, params, cols, extra, pre, key, block, X, start, stop, pre_row):
    """Rows start..stop-1 of X: one block of draws of every input, one generator per block.

    SciPy inputs (PPF) are copied from ``pre`` (rows from ``pre_row``), drawn
    beforehand in Python; constants are written here; every other kind's
    sampler is called through the address table (:func:`load_kinds`, which
    :class:`SamplingPlan` calls for its kinds).

    The switch is taken once per block and input, not per draw, and X is
    indexed rather than sliced: a view costs an atomic reference count that
    threads sharing X would contend for.
    """
    s = np.empty(4, dtype=np.uint64)
    _seed_block(key, block, s)
    n = stop - start
    buf = np.empty(n * X.shape[1])  # one buffer per block for every sampled input
    for j in range(codes.size):
        code, c = codes[j], cols[j]
        p0, p1, p2 = params[j, 0], params[j, 1], params[j, 2]
        if code == CONST:
            for i in range(start, stop):
                X[i, c] = p0
        elif code == PPF:  # drawn in Python by scipy's inverse CDF (SamplingPlan.pre)
            pc = int(p0)
            for i in range(start, stop):
                X[i, c] = pre[pre_row + i - start, pc]
        else:
            c_addr = _table_entry(2 * code)
            if c_addr == 0:
                raise RuntimeError("a sampler of this plan is not loaded in this process: "
                                   "build the arrays with SamplingPlan (or call load_kinds)")
            draw = _load_kind(c_addr, _table_entry(2 * code + 1))
            k = int(p1) if code == MVN else 1
            out = buf[:k * n]
            draw(s, p0, p1, p2, extra, out)
            if k == 1:
                for i in range(n):
                    X[start + i, c] = out[i]
            else:
                for i in range(n):
                    for q in range(k):
                        X[start + i, c + q] = out[k * i + q]


@cached_njit(nogil=True)
def _fill_blocks(codes, params, cols, extra, pre, key, first_block, X, b0, b1):
    n = X.shape[0]
    for b in range(b0, b1):
        start = b * BLOCK
        fill_block(codes, params, cols, extra, pre, key, first_block + b, X, start,
                   min(n, start + BLOCK), start)


def sample_blocks(codes, params, cols, extra, pre, key, first_block, X):
    """Fill X (n, width) with draws of blocks first_block, first_block + 1, ... (in threads)."""
    nblocks = (X.shape[0] + BLOCK - 1) // BLOCK
    run_ranges(lambda t, b0, b1: _fill_blocks(codes, params, cols, extra, pre, key,
                                              first_block, X, b0, b1), ranges(nblocks, 4))
