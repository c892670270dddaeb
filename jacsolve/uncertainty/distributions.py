"""Input distributions for Monte Carlo propagation (GUM Supplement 1, clause 6).

Each distribution is a frozen dataclass that checks its parameters, knows its
``mean`` and ``std``, and draws samples with jacsolve's compiled samplers:

* a counter-based stream: draws are cut into blocks of :data:`BLOCK` draws,
  and block ``b`` gets its own xoshiro256** generator seeded from
  ``(key, b)``. The draws therefore do not depend on the number of threads
  or on how a run is split into chunks, and blocks are sampled in parallel
  (threads running compiled code that releases the GIL).
* the recipes of JCGM 101:2008 6.4 (trapezoidal, curvilinear trapezoidal,
  arcsine, t, ...), inverse CDFs where they are cheap, a 256-layer ziggurat
  for normals (exact rejection sampling, one 64-bit draw per normal 99 % of
  the time) and Marsaglia-Tsang for gamma variates.

Any frozen ``scipy.stats`` distribution is accepted too (:class:`SciPy`): it
is sampled by its inverse CDF (``ppf``) applied to the same uniform stream.

Examples
--------
>>> from jacsolve import distributions as D
>>> d = D.Rectangular(-1.0, 1.0)
>>> round(d.std, 6), d.sample(3, seed=1).shape
(0.57735, (3,))
>>> D.Rectangular(1.0, 1.0)
Traceback (most recent call last):
...
ValueError: Rectangular: a must be < b, got a = 1.0 >= b = 1.0
"""
from __future__ import annotations

import math
import numbers
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import numba

from .._numba.options import cached_njit

__all__ = ["Distribution", "Constant", "Normal", "Rectangular", "Uniform", "Triangular",
           "Trapezoidal", "CurvilinearTrapezoidal", "Arcsine", "StudentT", "Exponential",
           "Gamma", "MultivariateNormal", "SciPy", "as_distribution", "BLOCK"]

BLOCK = 1024  # draws per independently seeded generator block

# sampler codes (one row of ``params`` per distribution)
CONST, NORMAL, RECT, TRIANG, TRAP, CTRAP, ARCSINE, STUDENT_T, EXPON, GAMMA, MVN, PPF = range(12)


def _real(value, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{owner}: {name} must be finite, got {v}")
    return v


def _positive(value, name: str, owner: str) -> float:
    v = _real(value, name, owner)
    if v <= 0:
        raise ValueError(f"{owner}: {name} must be > 0, got {name} = {v}")
    return v


def _limits(a, b, owner: str):
    a, b = _real(a, "a", owner), _real(b, "b", owner)
    if not a < b:
        raise ValueError(f"{owner}: a must be < b, got a = {a} >= b = {b}")
    return a, b


class Distribution:
    """Base class: ``size`` inputs, ``mean``, ``std``, ``sample``, ``cdf``."""

    size = 1

    def _code(self):
        """(sampler code, 4 parameters, extra float data) for the compiled sampler."""
        raise NotImplementedError

    def scipy(self):
        """The equivalent frozen ``scipy.stats`` distribution (None if SciPy has none)."""
        return None

    def cdf(self, x):
        """Cumulative distribution function (univariate distributions)."""
        return self.scipy().cdf(x)

    def sample(self, n: int, seed=None) -> np.ndarray:
        """``n`` draws, shape (n,) (or (n, size)), reproducible from ``seed``.

        ``seed`` is an int, a ``numpy.random.Generator`` or None (fresh entropy).
        These are the very samplers :func:`jacsolve.propagate_mc` uses.
        """
        from .._arguments import positive_int
        n = positive_int(n, "n")
        plan = SamplingPlan([self])
        X = plan.draw(seed_key(seed), 0, n)
        return X[:, 0] if self.size == 1 else X


@dataclass(frozen=True)
class Constant(Distribution):
    """A quantity known exactly (a degenerate distribution)."""
    value: float

    def __post_init__(self):
        object.__setattr__(self, "value", _real(self.value, "value", "Constant"))

    mean = property(lambda self: self.value)
    std = property(lambda self: 0.0)

    def _code(self):
        return CONST, (self.value, 0.0, 0.0, 0.0), None

    def cdf(self, x):
        return (np.asarray(x) >= self.value).astype(float)


@dataclass(frozen=True)
class Normal(Distribution):
    """Gaussian N(mean, std**2) (JCGM 101 6.4.7)."""
    mean: float
    std: float

    def __post_init__(self):
        object.__setattr__(self, "mean", _real(self.mean, "mean", "Normal"))
        std = _real(self.std, "std", "Normal")
        if std < 0:
            raise ValueError(f"Normal: std must be >= 0, got std = {std}")
        object.__setattr__(self, "std", std)

    def _code(self):
        return NORMAL, (self.mean, self.std, 0.0, 0.0), None

    def scipy(self):
        from scipy import stats
        return stats.norm(self.mean, self.std)


@dataclass(frozen=True)
class Rectangular(Distribution):
    """Rectangular (uniform) distribution on [a, b] (JCGM 101 6.4.2)."""
    a: float
    b: float

    def __post_init__(self):
        a, b = _limits(self.a, self.b, "Rectangular")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    mean = property(lambda self: 0.5 * (self.a + self.b))
    std = property(lambda self: (self.b - self.a) / math.sqrt(12.0))

    def _code(self):
        return RECT, (self.a, self.b, 0.0, 0.0), None

    def scipy(self):
        from scipy import stats
        return stats.uniform(self.a, self.b - self.a)


Uniform = Rectangular


@dataclass(frozen=True)
class Triangular(Distribution):
    """Triangular distribution on [a, b] with peak at ``mode`` (default: the midpoint, JCGM 101 6.4.5)."""
    a: float
    b: float
    mode: Optional[float] = None

    def __post_init__(self):
        a, b = _limits(self.a, self.b, "Triangular")
        c = 0.5 * (a + b) if self.mode is None else _real(self.mode, "mode", "Triangular")
        if not a <= c <= b:
            raise ValueError(f"Triangular: mode must lie in [a, b] = [{a}, {b}], got mode = {c}")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "mode", c)

    mean = property(lambda self: (self.a + self.b + self.mode) / 3.0)

    @property
    def std(self):
        a, b, c = self.a, self.b, self.mode
        return math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18.0)

    def _code(self):
        return TRIANG, (self.a, self.b, self.mode, 0.0), None

    def scipy(self):
        from scipy import stats
        return stats.triang((self.mode - self.a) / (self.b - self.a), self.a, self.b - self.a)


@dataclass(frozen=True)
class Trapezoidal(Distribution):
    """Symmetric trapezoidal distribution on [a, b] (JCGM 101 6.4.4).

    ``beta`` in [0, 1] is the ratio of the top width to the base width:
    0 gives the triangular, 1 the rectangular distribution.
    """
    a: float
    b: float
    beta: float

    def __post_init__(self):
        a, b = _limits(self.a, self.b, "Trapezoidal")
        beta = _real(self.beta, "beta", "Trapezoidal")
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"Trapezoidal: beta must lie in [0, 1], got beta = {beta}")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "beta", beta)

    mean = property(lambda self: 0.5 * (self.a + self.b))
    std = property(lambda self: (self.b - self.a) * math.sqrt((1 + self.beta ** 2) / 24.0))

    def _code(self):
        return TRAP, (self.a, self.b, self.beta, 0.0), None

    def scipy(self):
        from scipy import stats
        c, d = (1 - self.beta) / 2, (1 + self.beta) / 2
        return stats.trapezoid(c, d, self.a, self.b - self.a)


@dataclass(frozen=True)
class CurvilinearTrapezoidal(Distribution):
    """Rectangular distribution whose limits a, b are each inexact by +-d (JCGM 101 6.4.3).

    The half-width is itself rectangular on [w - d, w + d], w = (b - a)/2;
    requires 0 <= d <= w.
    """
    a: float
    b: float
    d: float

    def __post_init__(self):
        a, b = _limits(self.a, self.b, "CurvilinearTrapezoidal")
        d = _real(self.d, "d", "CurvilinearTrapezoidal")
        w = 0.5 * (b - a)
        if not 0.0 <= d <= w:
            raise ValueError(f"CurvilinearTrapezoidal: d must lie in [0, (b - a)/2] = [0, {w}], "
                             f"got d = {d}")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "d", d)

    mean = property(lambda self: 0.5 * (self.a + self.b))
    std = property(lambda self: math.sqrt(((self.b - self.a) / 2) ** 2 / 3 + self.d ** 2 / 9))

    def _code(self):
        return CTRAP, (self.a, self.b, self.d, 0.0), None

    def cdf(self, x):
        # F(mid + s) = 1/2 + E_w[min(1/2, s / (2 w))] for s >= 0, w ~ R(w0 - d, w0 + d)
        x = np.asarray(x, dtype=float)
        mid, w0, d = 0.5 * (self.a + self.b), 0.5 * (self.b - self.a), self.d
        s = np.abs(x - mid)
        lo, hi = w0 - d, w0 + d
        if d == 0:
            inner = np.minimum(s / (2 * w0), 0.5)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                below = 0.5 * s * np.log(hi / np.maximum(s, lo)) / (2 * d)
            inner = np.where(s >= hi, 0.5,
                             np.where(s <= lo, np.where(s > 0, 0.5 * s * np.log(hi / lo) / (2 * d)
                                                        if lo > 0 else 0.0, 0.0),
                                      0.5 * (s - lo) / (2 * d) + below))
        return np.where(x >= mid, 0.5 + inner, 0.5 - inner)


@dataclass(frozen=True)
class Arcsine(Distribution):
    """Arcsine (U-shaped) distribution on [a, b] (JCGM 101 6.4.6), e.g. a cyclic variation."""
    a: float
    b: float

    def __post_init__(self):
        a, b = _limits(self.a, self.b, "Arcsine")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    mean = property(lambda self: 0.5 * (self.a + self.b))
    std = property(lambda self: (self.b - self.a) / math.sqrt(8.0))

    def _code(self):
        return ARCSINE, (self.a, self.b, 0.0, 0.0), None

    def scipy(self):
        from scipy import stats
        return stats.arcsine(self.a, self.b - self.a)


@dataclass(frozen=True)
class StudentT(Distribution):
    """Scaled and shifted t distribution t_dof(loc, scale**2) (JCGM 101 6.4.9).

    For a Type A evaluation from n observations: ``loc`` = their mean,
    ``scale`` = s / sqrt(n), ``dof`` = n - 1. Its std is
    ``scale * sqrt(dof / (dof - 2))`` (infinite for dof <= 2).
    """
    loc: float
    scale: float
    dof: float

    def __post_init__(self):
        object.__setattr__(self, "loc", _real(self.loc, "loc", "StudentT"))
        object.__setattr__(self, "scale", _positive(self.scale, "scale", "StudentT"))
        object.__setattr__(self, "dof", _positive(self.dof, "dof", "StudentT"))

    @property
    def mean(self):
        return self.loc if self.dof > 1 else math.nan

    @property
    def std(self):
        return self.scale * math.sqrt(self.dof / (self.dof - 2)) if self.dof > 2 else math.inf

    def _code(self):
        return STUDENT_T, (self.loc, self.scale, self.dof, 0.0), None

    def scipy(self):
        from scipy import stats
        return stats.t(self.dof, self.loc, self.scale)


@dataclass(frozen=True)
class Exponential(Distribution):
    """Exponential distribution ``loc + Exp(scale)``; mean loc + scale (JCGM 101 6.4.10)."""
    scale: float
    loc: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "scale", _positive(self.scale, "scale", "Exponential"))
        object.__setattr__(self, "loc", _real(self.loc, "loc", "Exponential"))

    mean = property(lambda self: self.loc + self.scale)
    std = property(lambda self: self.scale)

    def _code(self):
        return EXPON, (self.loc, self.scale, 0.0, 0.0), None

    def scipy(self):
        from scipy import stats
        return stats.expon(self.loc, self.scale)


@dataclass(frozen=True)
class Gamma(Distribution):
    """Gamma distribution ``loc + Gamma(shape, scale)`` (JCGM 101 6.4.11)."""
    shape: float
    scale: float
    loc: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "shape", _positive(self.shape, "shape", "Gamma"))
        object.__setattr__(self, "scale", _positive(self.scale, "scale", "Gamma"))
        object.__setattr__(self, "loc", _real(self.loc, "loc", "Gamma"))

    mean = property(lambda self: self.loc + self.shape * self.scale)
    std = property(lambda self: math.sqrt(self.shape) * self.scale)

    def _code(self):
        return GAMMA, (self.loc, self.scale, self.shape, 0.0), None

    def scipy(self):
        from scipy import stats
        return stats.gamma(self.shape, self.loc, self.scale)


def _psd_factor(cov: np.ndarray, owner: str) -> np.ndarray:
    """A factor L with L @ L.T == cov; ValueError if cov is not symmetric PSD."""
    scale = max(float(np.max(np.abs(cov))), np.finfo(float).tiny)
    if not np.allclose(cov, cov.T, rtol=1e-12, atol=1e-14 * scale):
        i, j = np.unravel_index(np.argmax(np.abs(cov - cov.T)), cov.shape)
        raise ValueError(f"{owner}: cov must be symmetric, but cov[{i}, {j}] = {cov[i, j]} "
                         f"!= cov[{j}, {i}] = {cov[j, i]}")
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        pass
    w, V = np.linalg.eigh(cov)
    if w[0] < -1e-10 * max(abs(w[-1]), np.finfo(float).tiny):
        raise ValueError(f"{owner}: cov must be positive semi-definite, but its smallest "
                         f"eigenvalue is {w[0]:.3g} (largest {w[-1]:.3g})")
    return V * np.sqrt(np.maximum(w, 0.0))


@dataclass(frozen=True, eq=False)
class MultivariateNormal(Distribution):
    """Correlated Gaussian inputs N(mean, cov) (JCGM 101 6.4.8); supplies ``len(mean)`` inputs.

    ``cov`` must be symmetric positive semi-definite (a singular one is allowed).
    Use :meth:`from_std` for standard uncertainties plus a correlation matrix.
    """
    mean: np.ndarray
    cov: np.ndarray
    _factor: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        from .._arguments import as_vector
        mean = as_vector(self.mean, "MultivariateNormal: mean")
        cov = np.asarray(self.cov, dtype=float)
        k = mean.size
        if cov.shape != (k, k):
            raise ValueError(f"MultivariateNormal: cov must have shape ({k}, {k}) to match "
                             f"mean, got {cov.shape}")
        if not np.all(np.isfinite(cov)):
            raise ValueError("MultivariateNormal: cov must be finite")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "cov", np.ascontiguousarray(cov))
        object.__setattr__(self, "_factor", np.ascontiguousarray(
            _psd_factor(cov, "MultivariateNormal")))

    @classmethod
    def from_std(cls, mean, std, corr):
        """From standard uncertainties ``std`` and a correlation matrix ``corr``."""
        std = np.asarray(std, dtype=float)
        corr = np.asarray(corr, dtype=float)
        if np.any(std < 0):
            raise ValueError(f"MultivariateNormal: std must be >= 0, got {std}")
        if corr.shape != (std.size, std.size):
            raise ValueError(f"MultivariateNormal: corr must have shape ({std.size}, {std.size}), "
                             f"got {corr.shape}")
        if np.any(np.abs(corr) > 1) or not np.allclose(np.diag(corr), 1.0):
            raise ValueError("MultivariateNormal: corr must have entries in [-1, 1] and a unit "
                             "diagonal")
        return cls(mean, corr * np.outer(std, std))

    @property
    def size(self):
        return self.mean.size

    @property
    def std(self):
        return np.sqrt(np.diag(self.cov))

    def _code(self):
        return MVN, (0.0, float(self.size), 0.0, 0.0), np.concatenate([self.mean,
                                                                     self._factor.ravel()])

    def scipy(self):
        from scipy import stats
        return stats.multivariate_normal(self.mean, self.cov, allow_singular=True)

    def __repr__(self):
        return f"MultivariateNormal(mean={self.mean!r}, cov={self.cov!r})"


@dataclass(frozen=True, eq=False)
class SciPy(Distribution):
    """Any univariate frozen ``scipy.stats`` distribution, sampled by its inverse CDF."""
    dist: object

    def __post_init__(self):
        d = self.dist
        if not (hasattr(d, "ppf") and hasattr(d, "dist") and hasattr(d, "cdf")):
            raise TypeError(f"SciPy: dist must be a frozen scipy.stats distribution such as "
                            f"scipy.stats.norm(0, 1), got {d!r}")
        if not (np.isfinite(d.ppf(0.5))):
            raise ValueError(f"SciPy: dist {d.dist.name} has no finite median; check its "
                             "parameters")

    mean = property(lambda self: float(self.dist.mean()))
    std = property(lambda self: float(self.dist.std()))

    def _code(self):
        return PPF, (0.0, 0.0, 0.0, 0.0), None

    def scipy(self):
        return self.dist

    def __repr__(self):
        name = self.dist.dist.name
        return f"SciPy({name}{tuple(self.dist.args)}, {self.dist.kwds})"


def as_distribution(obj, name: str = "input") -> Distribution:
    """A :class:`Distribution` from a distribution, a frozen scipy one, or a number (constant)."""
    if isinstance(obj, Distribution):
        return obj
    if isinstance(obj, (numbers.Real, np.floating, np.integer)) and not isinstance(obj, bool):
        return Constant(float(obj))
    if hasattr(obj, "ppf") and hasattr(obj, "dist"):
        return SciPy(obj)
    raise TypeError(f"{name} must be a jacsolve.distributions object, a frozen scipy.stats "
                    f"distribution or a number, got {type(obj).__name__}")


# ------------------------------------------------------------------ seeding
def seed_key(seed) -> np.uint64:
    """A 64-bit key for the block generators from an int, a Generator or None."""
    if isinstance(seed, np.random.Generator):
        return np.uint64(seed.integers(0, 2 ** 63, dtype=np.int64))
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
                        and seed >= 0):
        return np.uint64(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])
    raise ValueError(f"seed must be a non-negative int, a numpy.random.Generator or None, "
                     f"got {seed!r}")


class SamplingPlan:
    """The compiled sampler's view of a list of distributions (one column per input)."""

    def __init__(self, dists):
        self.dists = list(dists)
        codes, params, cols, extra = [], [], [], []
        col, offset, nppf = 0, 0, 0
        for d in self.dists:
            code, p, ex = d._code()
            p = list(p)
            if code == PPF:
                p[0] = float(nppf)
                nppf += 1
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
        self.ppf = [d.dist for d in self.dists if isinstance(d, SciPy)]

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
        _fill_block(self.codes, self.params, self.cols, self.extra, self.pre(key, 0, 1),
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


@cached_njit
def _fill_block(codes, params, cols, extra, pre, key, block, X, start, stop, pre_row):
    """Rows start..stop-1 of X: one block of draws of every input, one generator per block.

    SciPy inputs (PPF) are copied from ``pre`` (rows from ``pre_row``), drawn
    beforehand in Python.

    Loops run per distribution (the switch is taken once per block, not per
    draw), and X is indexed rather than sliced: a view costs an atomic
    reference count that threads sharing X would contend for. Normal and
    gamma variates come from block-level fillers, so the inlined samplers
    are compiled twice, not at every use (compile time).
    """
    s = np.empty(4, dtype=np.uint64)
    _seed_block(key, block, s)
    z = np.empty(stop - start)
    for j in range(codes.size):
        code, c = codes[j], cols[j]
        p0, p1, p2 = params[j, 0], params[j, 1], params[j, 2]
        if code == CONST:
            for i in range(start, stop):
                X[i, c] = p0
        elif code == NORMAL:
            _normals(s, z)
            for i in range(start, stop):
                X[i, c] = p0 + p1 * z[i - start]
        elif code == RECT:
            for i in range(start, stop):
                X[i, c] = p0 + (p1 - p0) * _uniform(s)
        elif code == TRIANG:  # inverse CDF
            for i in range(start, stop):
                u = _uniform(s)
                if u * (p1 - p0) < p2 - p0:
                    X[i, c] = p0 + math.sqrt(u * (p1 - p0) * (p2 - p0))
                else:
                    X[i, c] = p1 - math.sqrt((1.0 - u) * (p1 - p0) * (p1 - p2))
        elif code == TRAP:  # JCGM 101 6.4.4.4
            for i in range(start, stop):
                r1 = _uniform(s)
                r2 = _uniform(s)
                X[i, c] = p0 + 0.5 * (p1 - p0) * ((1.0 + p2) * r1 + (1.0 - p2) * r2)
        elif code == CTRAP:  # JCGM 101 6.4.3.4
            mid, w = 0.5 * (p0 + p1), 0.5 * (p1 - p0)
            for i in range(start, stop):
                r1 = _uniform(s)
                r2 = _uniform(s)
                X[i, c] = mid + ((w - p2) + 2.0 * p2 * r2) * (2.0 * r1 - 1.0)
        elif code == ARCSINE:  # cos(2 theta), theta uniform: (u^2 - v^2) / (u^2 + v^2) in the disk
            for i in range(start, stop):
                while True:  # accepts with probability pi / 4; no cos()
                    u = 2.0 * _uniform(s) - 1.0
                    v = 2.0 * _uniform(s) - 1.0
                    q = u * u + v * v
                    if q < 1.0:
                        break
                X[i, c] = 0.5 * (p0 + p1) + 0.5 * (p1 - p0) * ((u * u - v * v) / q)
        elif code == STUDENT_T:  # Z / sqrt(chi2_nu / nu), chi2_nu = 2 Gamma(nu / 2)
            _normals(s, z)
            g = np.empty(stop - start)
            _gammas(s, 0.5 * p2, g)
            two_over_nu = 2.0 / p2
            for i in range(start, stop):
                X[i, c] = p0 + p1 * z[i - start] / math.sqrt(two_over_nu * g[i - start])
        elif code == EXPON:
            for i in range(start, stop):
                X[i, c] = p0 - p1 * math.log(_uniform(s))
        elif code == GAMMA:
            _gammas(s, p2, z)
            for i in range(start, stop):
                X[i, c] = p0 + p1 * z[i - start]
        elif code == MVN:  # mean + L z
            off, k = int(p0), int(p1)
            zk = np.empty(k * (stop - start))
            _normals(s, zk)
            for i in range(start, stop):
                row = k * (i - start)
                for q in range(k):
                    acc = extra[off + q]
                    base = off + k + q * k
                    for t in range(k):
                        acc += extra[base + t] * zk[row + t]
                    X[i, c + q] = acc
        else:  # PPF: drawn in Python by scipy's inverse CDF (SamplingPlan.pre)
            pc = int(p0)
            for i in range(start, stop):
                X[i, c] = pre[pre_row + i - start, pc]


@cached_njit(nogil=True)
def _fill_blocks(codes, params, cols, extra, pre, key, first_block, X, b0, b1):
    n = X.shape[0]
    for b in range(b0, b1):
        start = b * BLOCK
        _fill_block(codes, params, cols, extra, pre, key, first_block + b, X, start,
                    min(n, start + BLOCK), start)


def sample_blocks(codes, params, cols, extra, pre, key, first_block, X):
    """Fill X (n, width) with draws of blocks first_block, first_block + 1, ... (in threads)."""
    nblocks = (X.shape[0] + BLOCK - 1) // BLOCK
    _run_ranges(lambda t, b0, b1: _fill_blocks(codes, params, cols, extra, pre, key,
                                               first_block, X, b0, b1), _ranges(nblocks, 4))


# ------------------------------------------------------------------ threads
_POOL = [None, 0]   # the thread pool and its size


def _ranges(n: int, grain: int, parallel: bool = True):
    """Edges of consecutive ranges covering 0..n-1: a few per thread, each >= grain items.

    Several ranges per thread balance the load when a core is busy elsewhere.
    """
    threads = numba.get_num_threads()
    tasks = max(1, min(-(-n // grain), 4 * threads)) if parallel and threads > 1 else 1
    return [n * t // tasks for t in range(tasks + 1)]


def _run_ranges(fn, edges):
    """[fn(t, edges[t], edges[t + 1]) for each range t], on numba.get_num_threads() threads.

    ``fn`` calls compiled code that releases the GIL. Every range is
    finished before an exception (the first, in range order) is raised.
    """
    tasks = len(edges) - 1
    if tasks == 1:
        return [fn(0, edges[0], edges[1])]
    threads = numba.get_num_threads()
    if _POOL[1] != threads:
        if _POOL[0] is not None:
            _POOL[0].shutdown()
        _POOL[:] = [ThreadPoolExecutor(threads, thread_name_prefix="jacsolve"), threads]
    futures = [_POOL[0].submit(fn, t, edges[t], edges[t + 1]) for t in range(tasks)]
    wait(futures)
    return [f.result() for f in futures]
