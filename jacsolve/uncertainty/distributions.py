"""Input distributions for Monte Carlo propagation (GUM Supplement 1, clause 6).

Each distribution is a frozen dataclass that checks its parameters, knows its
``mean`` and ``std``, and draws samples with jacsolve's compiled samplers
(:mod:`jacsolve.uncertainty.sampling`: a counter-based stream whose draws do
not depend on the number of threads, and the recipes of JCGM 101:2008 6.4).

Any frozen ``scipy.stats`` distribution is accepted too (:class:`SciPy`): it
is sampled by its inverse CDF (``ppf``) applied to a uniform stream.

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
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .._arguments import as_vector, positive_int, real_number
from .sampling import (ARCSINE, BLOCK, CONST, CTRAP, EXPON, GAMMA, MVN, NORMAL, PPF, RECT,
                       STUDENT_T, TRAP, TRIANG, SamplingPlan, sample_blocks, seed_key)

__all__ = ["Distribution", "Constant", "Normal", "Rectangular", "Uniform", "Triangular",
           "Trapezoidal", "CurvilinearTrapezoidal", "Arcsine", "StudentT", "Exponential",
           "Gamma", "MultivariateNormal", "SciPy", "as_distribution",
           # the sampling names Monte Carlo code reaches through ``jacsolve.distributions``
           "BLOCK", "SamplingPlan", "seed_key", "sample_blocks"]


def _real(value, name: str, owner: str) -> float:
    return real_number(value, f"{owner}: {name}")


def _positive(value, name: str, owner: str) -> float:
    v = _real(value, name, owner)
    if v <= 0:
        raise ValueError(f"{owner}: {name} must be > 0, got {name} = {v}")
    return v


class Distribution:
    """Base class: ``size`` inputs, ``mean``, ``std``, ``sample``, ``cdf``."""

    size = 1

    def sampler_args(self):
        """(sampler code, 4 parameters, extra float data or None) for the compiled
        sampler of :mod:`jacsolve.uncertainty.sampling`."""
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
        n = positive_int(n, "n")
        X = SamplingPlan([self]).draw(seed_key(seed), 0, n)
        return X[:, 0] if self.size == 1 else X

    def _set(self, **values):
        """Store checked parameter values (the dataclasses are frozen)."""
        for name, value in values.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class _Bounded(Distribution):
    """A distribution on [a, b], a < b; symmetric about the midpoint unless overridden."""
    a: float
    b: float

    def __post_init__(self):
        owner = type(self).__name__
        a, b = _real(self.a, "a", owner), _real(self.b, "b", owner)
        if not a < b:
            raise ValueError(f"{owner}: a must be < b, got a = {a} >= b = {b}")
        self._set(a=a, b=b)

    mean = property(lambda self: 0.5 * (self.a + self.b))

    _sampler = -1   # each subclass's sampler code

    def _third(self) -> float:
        """The sampler's third parameter (mode, beta, d), 0 for none."""
        return 0.0

    def sampler_args(self):
        return self._sampler, (self.a, self.b, self._third(), 0.0), None


@dataclass(frozen=True)
class Constant(Distribution):
    """A quantity known exactly (a degenerate distribution)."""
    value: float

    def __post_init__(self):
        self._set(value=_real(self.value, "value", "Constant"))

    mean = property(lambda self: self.value)
    std = property(lambda self: 0.0)

    def sampler_args(self):
        return CONST, (self.value, 0.0, 0.0, 0.0), None

    def cdf(self, x):
        return (np.asarray(x) >= self.value).astype(float)


@dataclass(frozen=True)
class Normal(Distribution):
    """Gaussian N(mean, std**2) (JCGM 101 6.4.7)."""
    mean: float
    std: float

    def __post_init__(self):
        std = _real(self.std, "std", "Normal")
        if std < 0:
            raise ValueError(f"Normal: std must be >= 0, got std = {std}")
        self._set(mean=_real(self.mean, "mean", "Normal"), std=std)

    def sampler_args(self):
        return NORMAL, (self.mean, self.std, 0.0, 0.0), None

    def scipy(self):
        from scipy import stats
        return stats.norm(self.mean, self.std)


@dataclass(frozen=True)
class Rectangular(_Bounded):
    """Rectangular (uniform) distribution on [a, b] (JCGM 101 6.4.2)."""

    _sampler = RECT
    std = property(lambda self: (self.b - self.a) / math.sqrt(12.0))

    def scipy(self):
        from scipy import stats
        return stats.uniform(self.a, self.b - self.a)


Uniform = Rectangular


@dataclass(frozen=True)
class Triangular(_Bounded):
    """Triangular distribution on [a, b] with peak at ``mode`` (default: the midpoint, JCGM 101 6.4.5)."""
    mode: Optional[float] = None

    def __post_init__(self):
        super().__post_init__()
        a, b = self.a, self.b
        c = 0.5 * (a + b) if self.mode is None else _real(self.mode, "mode", "Triangular")
        if not a <= c <= b:
            raise ValueError(f"Triangular: mode must lie in [a, b] = [{a}, {b}], got mode = {c}")
        self._set(mode=c)

    mean = property(lambda self: (self.a + self.b + self.mode) / 3.0)

    @property
    def std(self):
        a, b, c = self.a, self.b, self.mode
        return math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18.0)

    _sampler = TRIANG

    def _third(self):
        return self.mode

    def scipy(self):
        from scipy import stats
        return stats.triang((self.mode - self.a) / (self.b - self.a), self.a, self.b - self.a)


@dataclass(frozen=True)
class Trapezoidal(_Bounded):
    """Symmetric trapezoidal distribution on [a, b] (JCGM 101 6.4.4).

    ``beta`` in [0, 1] is the ratio of the top width to the base width:
    0 gives the triangular, 1 the rectangular distribution.
    """
    beta: float

    def __post_init__(self):
        super().__post_init__()
        beta = _real(self.beta, "beta", "Trapezoidal")
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"Trapezoidal: beta must lie in [0, 1], got beta = {beta}")
        self._set(beta=beta)

    std = property(lambda self: (self.b - self.a) * math.sqrt((1 + self.beta ** 2) / 24.0))

    _sampler = TRAP

    def _third(self):
        return self.beta

    def scipy(self):
        from scipy import stats
        c, d = (1 - self.beta) / 2, (1 + self.beta) / 2
        return stats.trapezoid(c, d, self.a, self.b - self.a)


@dataclass(frozen=True)
class CurvilinearTrapezoidal(_Bounded):
    """Rectangular distribution whose limits a, b are each inexact by +-d (JCGM 101 6.4.3).

    The half-width is itself rectangular on [w - d, w + d], w = (b - a)/2;
    requires 0 <= d <= w.
    """
    d: float

    def __post_init__(self):
        super().__post_init__()
        d = _real(self.d, "d", "CurvilinearTrapezoidal")
        w = 0.5 * (self.b - self.a)
        if not 0.0 <= d <= w:
            raise ValueError(f"CurvilinearTrapezoidal: d must lie in [0, (b - a)/2] = [0, {w}], "
                             f"got d = {d}")
        self._set(d=d)

    std = property(lambda self: math.sqrt(((self.b - self.a) / 2) ** 2 / 3 + self.d ** 2 / 9))

    _sampler = CTRAP

    def _third(self):
        return self.d

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
class Arcsine(_Bounded):
    """Arcsine (U-shaped) distribution on [a, b] (JCGM 101 6.4.6), e.g. a cyclic variation."""

    _sampler = ARCSINE
    std = property(lambda self: (self.b - self.a) / math.sqrt(8.0))

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
        self._set(loc=_real(self.loc, "loc", "StudentT"),
                  scale=_positive(self.scale, "scale", "StudentT"),
                  dof=_positive(self.dof, "dof", "StudentT"))

    @property
    def mean(self):
        return self.loc if self.dof > 1 else math.nan

    @property
    def std(self):
        return self.scale * math.sqrt(self.dof / (self.dof - 2)) if self.dof > 2 else math.inf

    def sampler_args(self):
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
        self._set(scale=_positive(self.scale, "scale", "Exponential"),
                  loc=_real(self.loc, "loc", "Exponential"))

    mean = property(lambda self: self.loc + self.scale)
    std = property(lambda self: self.scale)

    def sampler_args(self):
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
        self._set(shape=_positive(self.shape, "shape", "Gamma"),
                  scale=_positive(self.scale, "scale", "Gamma"),
                  loc=_real(self.loc, "loc", "Gamma"))

    mean = property(lambda self: self.loc + self.shape * self.scale)
    std = property(lambda self: math.sqrt(self.shape) * self.scale)

    def sampler_args(self):
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
        mean = as_vector(self.mean, "MultivariateNormal: mean")
        cov = np.asarray(self.cov, dtype=float)
        k = mean.size
        if cov.shape != (k, k):
            raise ValueError(f"MultivariateNormal: cov must have shape ({k}, {k}) to match "
                             f"mean, got {cov.shape}")
        if not np.all(np.isfinite(cov)):
            raise ValueError("MultivariateNormal: cov must be finite")
        self._set(mean=mean, cov=np.ascontiguousarray(cov),
                  _factor=np.ascontiguousarray(_psd_factor(cov, "MultivariateNormal")))

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

    def sampler_args(self):
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

    def sampler_args(self):
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
        if not math.isfinite(obj):
            raise ValueError(f"{name} must be finite (a number is taken as a constant input), "
                             f"got {obj!r}")
        return Constant(float(obj))
    if hasattr(obj, "ppf") and hasattr(obj, "dist"):
        return SciPy(obj)
    raise TypeError(f"{name} must be a jacsolve.distributions object, a frozen scipy.stats "
                    f"distribution or a number, got {type(obj).__name__}")
