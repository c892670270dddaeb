"""Integration regions as maps from the unit cube.

A region Ω of dimension d is the image of [0, 1]^d under a map T, so

    ∫_Ω f(x) dx = ∫_[0,1]^d f(T(u)) |det J_T(u)| du.

Every region provides:

* its map ``T(u, *targs)`` (compiled, complex-safe so that jacsolve's
  complex-step Jacobian kernels give |det J_T| exact to rounding; a
  :class:`Mapped` region checks the user's map once, with ``det="auto"``, and
  takes central differences where complex step is not right for it);
* for the built-ins, the analytic |det J_T| ``D(u, *targs)``;
* its indicator ``inside(x, *iargs)`` and bounding box, for hit-or-miss Monte
  Carlo (:func:`jacsolve.integrate_mc`);
* its exact ``volume`` where known.

The built-in maps take their parameters as one float array, so one compiled
map serves every instance of a class, and the point kernels bound to it are
cached on disk (see :mod:`jacsolve.integration.quadrature`). Regions built
from your functions (:class:`Between`, :class:`BetweenSurfaces`,
:class:`Star`, :class:`Mapped`) use fixed compiled maps of jacsolve that call
your numba functions through the integer addresses of small adapters, so only
your functions and their adapters compile per process; plain Python
functions run as plain Python.

Maps are written complex-safe: ``z*z*z`` rather than ``z**3`` (numba
evaluates complex ``z**k``, k >= 3, through exp/log, which spoils the
complex step for negative bases), no ``abs``, no branches on u.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Sequence


from . import quadrature as q
import numpy as np

from .._numba.addresses import EMPTY
from .._numba.options import cached_njit, is_jitted, jit, kernel_njit, warn_if_python
from .._numba.prepared import auto_method, unpacked_args_source, pack_args, prepare
from .._numba.tiers import address_call, addressed_args
from .._arguments import (as_args, as_choice, as_scale, as_vector, positive_float, positive_int,
                          real_array, real_number)
from .._numba.calls import call_kernel, evaluate_once
from ..status import not_complex_safe

__all__ = ["Region", "Box", "Disk", "Annulus", "Ellipse", "Sector", "Simplex", "Triangle",
           "Ball", "Torus", "Between", "BetweenSurfaces", "Star", "Unbounded", "RealSpace",
           "Mapped"]

TWO_PI = 2.0 * math.pi
DETS = ("auto", "analytic", "complex", "central")


class Region:
    """A region of R^d given as the image of the unit cube under a map.

    Subclasses set the attributes below; :meth:`pullback` and
    :meth:`contains` evaluate them on points.

    Attributes
    ----------
    dim : int
        Dimension d.
    bounds : (ndarray, ndarray)
        Bounding box (lower, upper), used by hit-or-miss Monte Carlo (may be
        infinite for unbounded regions).
    volume : float or None
        Exact volume (Lebesgue measure) when known.
    """
    dim: int
    bounds: tuple
    volume: Optional[float] = None
    _T: Callable = None            # map T(u, *targs) -> x
    _targs: tuple = ()
    _D: Optional[Callable] = None   # analytic |det J_T|(u, *targs)
    _inside: Optional[Callable] = None
    _iargs: tuple = ()
    _compiled: bool = True          # _T, _D, _inside are numba functions

    # The attributes above run the Python and specialised tiers. The cached
    # tier asks _map_parts / _indicator_parts, which give module-level
    # compiled functions (the built-in maps, or jacsolve's fixed maps that
    # reach the user's functions through addresses) and their arguments.
    def _map_parts(self, det: str) -> tuple:
        """(T, D, targs, dargs, tier) for :func:`quadrature.map_and_det`."""
        return self._direct_parts("cached" if self._compiled else "python")

    def _indicator_parts(self) -> tuple:
        """(inside, iargs, tier) for :data:`quadrature.inside_points`."""
        return self._inside, self._iargs, "cached" if self._compiled else "python"

    def _direct_parts(self, tier: str) -> tuple:
        D = self._D if self._D is not None else q.no_det
        return self._T, D, self._targs, self._targs, tier

    def _any_det(self) -> str:
        """A determinant method that needs no complex evaluation (for map-only calls)."""
        return "analytic" if self._D is not None else "central"

    # ----------------------------------------------------------- evaluation
    def det_method(self, det: str = "auto") -> str:
        """The determinant method ``det`` resolves to for this region."""
        as_choice(det, "det", DETS)
        if det == "auto":
            return "analytic" if self._D is not None else "complex"
        if det == "analytic" and self._D is None:
            raise ValueError(f"det='analytic': {type(self).__name__} has no analytic "
                             "determinant; use det='complex' or 'central'")
        return det

    def map_into(self, U, W, det: str):
        """X = T(U) and W *= |det J_T(U)| in compiled code (W == 0 points skip the det).

        The low-level step of :func:`jacsolve.integrate`: ``U`` is an (n, d)
        float array of cube points, ``W`` their weights (changed in place),
        ``det`` a method resolved by :meth:`det_method`. Returns X.
        """
        T, D, targs, dargs, tier = self._map_parts(det)
        return call_kernel(q.map_and_det, T, D, targs, dargs, det, tier, U, W,
                           name="region map")

    def midpoint(self, det: Optional[str] = None) -> np.ndarray:
        """T at the midpoint of the unit cube: a point of the region, as a real array.

        Evaluated by the point kernel of ``det`` (a resolved method; by default
        one that needs no complex evaluation), which skips the determinant.
        """
        x = self.map_into(np.full((1, self.dim), 0.5), np.zeros(1), det or self._any_det())
        return np.ascontiguousarray(x[0])

    @property
    def has_indicator(self) -> bool:
        """Whether the region has an indicator (needed by hit-or-miss Monte Carlo)."""
        return self._inside is not None

    def indicator_into(self, X, W, value: float) -> None:
        """W[i] = value where X[i] lies in the region, else 0, in compiled code."""
        if self._inside is None:
            raise ValueError(f"{type(self).__name__} has no indicator; pass contains= "
                             "to Mapped to use hit-or-miss Monte Carlo")
        inside, iargs, tier = self._indicator_parts()
        call_kernel(q.run_tier, q.inside_points, (inside,), tier, X.shape[0], iargs,
                    np.ascontiguousarray(X), W, value, name="region indicator")

    def pullback(self, u, det: str = "auto"):
        """Map points of the unit cube: returns ``(x, |det J_T(u)|)``.

        Parameters
        ----------
        u : array_like, shape (d,) or (n, d)
            Points in [0, 1]^d.
        det : {"auto", "analytic", "complex", "central"}
            How to get |det J_T|: the region's formula, or jacsolve's
            complex-step / central-difference Jacobian kernels.

        Examples
        --------
        >>> import numpy as np
        >>> from jacsolve.integration.regions import Disk
        >>> x, jd = Disk(radius=2.0).pullback([0.5, 0.25], det="complex")
        >>> np.round(x, 12), round(jd / (2 * np.pi * 4 * 0.5), 12)
        (array([0., 1.]), 1.0)
        """
        U = self._points(u, "u")
        single = np.ndim(u) == 1
        W = np.ones(U.shape[0])
        X = self.map_into(U, W, self.det_method(det))
        return (X[0], float(W[0])) if single else (X, W)

    def contains(self, x):
        """Whether points x (shape (d,) or (n, d)) lie in the region."""
        X = self._points(x, "x")
        W = np.empty(X.shape[0])
        self.indicator_into(X, W, 1.0)
        return bool(W[0]) if np.ndim(x) == 1 else W != 0.0

    def _points(self, u, name):
        U = np.array(u, dtype=np.float64, ndmin=2, order="C")
        if U.ndim != 2 or U.shape[1] != self.dim:
            raise ValueError(f"{name} must have shape ({self.dim},) or (n, {self.dim}), "
                             f"got {np.shape(u)}")
        return U

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()})"

    def _describe(self) -> str:
        return f"dim={self.dim}"


def _point(value, name, d=None) -> np.ndarray:
    a = as_vector(value, name)
    if d is not None and a.size != d:
        raise ValueError(f"{name} must have {d} coordinates, got {a.size}")
    return a


def _corners(lower, upper, d=None, name: str = ""):
    """(lower, upper) of a box: finite points of d coordinates, upper > lower.

    ``name`` (say "bounds") prefixes the messages."""
    what = f"{name}: " if name else ""
    lo = _point(lower, f"{what}lower", d)
    hi = _point(upper, f"{what}upper", lo.size)
    if np.any(hi <= lo):
        j = int(np.flatnonzero(hi <= lo)[0])
        raise ValueError(f"{what}upper must exceed lower, but upper[{j}] = {hi[j]} "
                         f"<= lower[{j}] = {lo[j]}")
    return lo, hi


def _radii(r_inner, r_outer, outer: str):
    """(r_inner, r_outer) with 0 <= r_inner < r_outer; ``outer`` names r_outer."""
    ro = positive_float(r_outer, outer)
    ri = positive_float(r_inner, "r_inner", allow_zero=True)
    if ri >= ro:
        raise ValueError(f"r_inner must satisfy 0 <= r_inner < {outer} = {ro}, "
                         f"got r_inner = {r_inner!r}")
    return ri, ro


# ======================================================================= Box
@cached_njit
def _box_map(u, p):
    d = u.size
    x = np.empty(d, dtype=u.dtype)
    for k in range(d):
        x[k] = p[k] + p[d + k] * u[k]
    return x


@cached_njit
def _box_det(u, p):
    d = u.size
    v = 1.0
    for k in range(d):
        v *= p[d + k]
    return v


@cached_njit
def _box_inside(x, p):
    d = x.size
    for k in range(d):
        if x[k] < p[k] or x[k] > p[k] + p[d + k]:
            return False
    return True


class Box(Region):
    """The box [lower, upper] in R^d (affine map).

    Examples
    --------
    >>> from jacsolve.integration.regions import Box
    >>> Box([0, 0, 0], [1, 2, 3]).volume
    6.0
    """

    def __init__(self, lower: Sequence[float], upper: Sequence[float]):
        lo, hi = _corners(lower, upper)
        self.dim = lo.size
        self.bounds = (lo, hi)
        self.volume = float(np.prod(hi - lo))
        self._T, self._D, self._inside = _box_map, _box_det, _box_inside
        self._targs = self._iargs = (np.concatenate([lo, hi - lo]),)

    def _describe(self):
        return f"{self.bounds[0].tolist()}, {self.bounds[1].tolist()}"


# ============================================= polar family (disk ... sector)
# p = [cx, cy, r0, r1, t0, t1, a, b, cos(angle), sin(angle)]:
# x = c + Rot(angle) (a r cos t, b r sin t), r = r0 + (r1 - r0) u0, t = t0 + (t1 - t0) u1
@cached_njit
def _polar_map(u, p):
    r = p[2] + (p[3] - p[2]) * u[0]
    t = p[4] + (p[5] - p[4]) * u[1]
    y0 = p[6] * r * np.cos(t)
    y1 = p[7] * r * np.sin(t)
    x = np.empty(2, dtype=u.dtype)
    x[0] = p[0] + p[8] * y0 - p[9] * y1
    x[1] = p[1] + p[9] * y0 + p[8] * y1
    return x


@cached_njit
def _polar_det(u, p):
    r = p[2] + (p[3] - p[2]) * u[0]
    return abs(p[6] * p[7] * (p[3] - p[2]) * (p[5] - p[4]) * r)


@cached_njit
def _polar_inside(x, p):
    dx = x[0] - p[0]
    dy = x[1] - p[1]
    y0 = (p[8] * dx + p[9] * dy) / p[6]
    y1 = (-p[9] * dx + p[8] * dy) / p[7]
    r = np.sqrt(y0 * y0 + y1 * y1)
    if r < p[2] or r > p[3]:
        return False
    if p[5] - p[4] >= 2.0 * np.pi:
        return True
    t = np.arctan2(y1, y0)
    return ((t - p[4]) % (2.0 * np.pi)) <= p[5] - p[4]


class _Polar(Region):
    dim = 2

    def _setup(self, center, r0, r1, t0, t1, a=1.0, b=1.0, angle=0.0):
        c = _point(center, "center", 2)
        ca, sa = math.cos(angle), math.sin(angle)
        self._targs = self._iargs = (np.array([c[0], c[1], r0, r1, t0, t1, a, b, ca, sa]),)
        self._T, self._D, self._inside = _polar_map, _polar_det, _polar_inside
        self.volume = 0.5 * a * b * (r1 * r1 - r0 * r0) * (t1 - t0)
        self.bounds = self._box(c, r0, r1, t0, t1, a, b, ca, sa)

    @staticmethod
    def _box(c, r0, r1, t0, t1, a, b, ca, sa):
        # extremes lie at the four ends of the arcs or where an arc crosses an axis
        # direction; for an ellipse, at t with tan t = -b sa / (a ca) etc.
        ts = [t0, t1]
        for base in (math.atan2(-b * sa, a * ca), math.atan2(b * ca, a * sa)):
            for k in range(-4, 5):
                t = base + k * math.pi
                if t0 <= t <= t1:
                    ts.append(t)
        ts = np.array(ts)
        pts = []
        for r in (r0, r1):
            y0, y1 = a * r * np.cos(ts), b * r * np.sin(ts)
            pts.append(np.stack([c[0] + ca * y0 - sa * y1, c[1] + sa * y0 + ca * y1], 1))
        pts = np.concatenate(pts)
        return pts.min(0), pts.max(0)

    def _describe(self):
        p = self._targs[0]
        return f"center={p[:2].tolist()}, r=[{p[2]:g}, {p[3]:g}], theta=[{p[4]:g}, {p[5]:g}]"


class Disk(_Polar):
    """The disk |x - center| <= radius, in polar coordinates (r, theta).

    The Jacobian is singular at the centre (u0 = 0), a set of measure zero;
    no quadrature node lands there, and hit points of weight 0 are skipped.
    """

    def __init__(self, center=(0.0, 0.0), radius: float = 1.0):
        self._setup(center, 0.0, positive_float(radius, "radius"), 0.0, TWO_PI)


class Annulus(_Polar):
    """The annulus r_inner <= |x - center| <= r_outer."""

    def __init__(self, center=(0.0, 0.0), r_inner: float = 0.5, r_outer: float = 1.0):
        self._setup(center, *_radii(r_inner, r_outer, "r_outer"), 0.0, TWO_PI)


class Ellipse(_Polar):
    """The ellipse with semi-axes a, b, rotated by ``angle`` (radians) about its centre."""

    def __init__(self, center=(0.0, 0.0), a: float = 1.0, b: float = 1.0, angle: float = 0.0):
        self._setup(center, 0.0, 1.0, 0.0, TWO_PI, positive_float(a, "a"), positive_float(b, "b"),
                    real_number(angle, "angle"))


class Sector(_Polar):
    """The sector r_inner <= |x - center| <= radius, theta1 <= angle <= theta2."""

    def __init__(self, center=(0.0, 0.0), radius: float = 1.0, theta1: float = 0.0,
                 theta2: float = math.pi / 2, r_inner: float = 0.0):
        ri, ro = _radii(r_inner, radius, "radius")
        t1, t2 = real_number(theta1, "theta1"), real_number(theta2, "theta2")
        if not 0.0 < t2 - t1 <= TWO_PI:
            raise ValueError(f"theta2 - theta1 must lie in (0, 2 pi], got theta1 = {theta1!r}, "
                             f"theta2 = {theta2!r}")
        self._setup(center, ri, ro, t1, t2)


# ==================================================================== simplex
# Duffy (collapsed) coordinates: y_k = u_1 ... u_k gives 1 >= y_1 >= ... >= y_d >= 0,
# and x = v0 + sum_k y_k (v_k - v_{k-1}). The vertex v0 is the collapsed one:
# |det| = |det V| u_1^(d-1) u_2^(d-2) ... u_(d-1), which cancels a 1/|x - v0|^(d-1)
# singularity there.
# p = [|det V|, v0 (d), A (d*d, A[i, k] = (v_{k+1} - v_k)_i), Vinv (d*d)]
@cached_njit
def _simplex_map(u, p):
    d = u.size
    x = np.empty(d, dtype=u.dtype)
    for i in range(d):
        x[i] = p[1 + i]
    y = u[0] * 1.0
    for k in range(d):
        if k > 0:
            y = y * u[k]
        for i in range(d):
            x[i] += y * p[1 + d + i * d + k]
    return x


@cached_njit
def _simplex_det(u, p):
    d = u.size
    v = p[0]
    for k in range(d - 1):
        for _ in range(d - 1 - k):
            v *= u[k]
    return abs(v)


@cached_njit
def _simplex_inside(x, p):
    d = x.size
    off = 1 + d + d * d
    total = 0.0
    for i in range(d):
        lam = 0.0
        for j in range(d):
            lam += p[off + i * d + j] * (x[j] - p[1 + j])
        if lam < -1e-15:
            return False
        total += lam
    return total <= 1.0 + 1e-15


class Simplex(Region):
    """The simplex with d+1 vertices in R^d, in Duffy (collapsed) coordinates.

    The first vertex is the collapsed one: put an integrable point singularity
    of order up to 1/|x - v0|^(d-1) there and the pulled-back integrand is
    bounded.

    Examples
    --------
    >>> from jacsolve.integration.regions import Simplex
    >>> round(Simplex([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]).volume, 15)
    0.166666666666667
    """

    def __init__(self, vertices):
        V = real_array(vertices, "vertices")
        if V.ndim != 2 or V.shape[0] != V.shape[1] + 1 or not np.all(np.isfinite(V)):
            raise ValueError("vertices must be a finite array of shape (d+1, d), got shape "
                             f"{np.shape(vertices)}")
        d = V.shape[1]
        E = (V[1:] - V[0]).T                      # columns v_k - v0
        size = np.max(np.abs(E)) if E.size else 0.0
        detv = abs(float(np.linalg.det(E))) if size > 0 else 0.0
        if not detv > 1e-12 * size ** d:
            raise ValueError(f"vertices span a degenerate simplex (|det| = {detv:.3g}); "
                             "they must be affinely independent")
        A = np.diff(V, axis=0).T                  # columns v_k - v_{k-1}
        self.dim = d
        self.vertices = V
        self.volume = detv / math.factorial(d)
        self.bounds = (V.min(0), V.max(0))
        self._T, self._D, self._inside = _simplex_map, _simplex_det, _simplex_inside
        self._targs = self._iargs = (np.concatenate([[detv], V[0], A.ravel(),
                                                     np.linalg.inv(E).ravel()]),)

    def _describe(self):
        return f"{self.vertices.tolist()}"


def Triangle(v0, v1, v2) -> Simplex:
    """The triangle with vertices v0, v1, v2 (a 2-D :class:`Simplex`; v0 is collapsed)."""
    return Simplex([v0, v1, v2])


# ======================================================================= ball
# hyperspherical: r = R u0, phi_k = pi u_k (k = 1..d-2), phi_{d-1} = 2 pi u_{d-1}
# p = [R, c (d)]
@cached_njit
def _ball_map(u, p):
    d = u.size
    x = np.empty(d, dtype=u.dtype)
    s = p[0] * u[0]
    for k in range(1, d - 1):
        phi = np.pi * u[k]
        x[k - 1] = p[k] + s * np.cos(phi)
        s = s * np.sin(phi)
    phi = 2.0 * np.pi * u[d - 1]
    x[d - 2] = p[d - 1] + s * np.cos(phi)
    x[d - 1] = p[d] + s * np.sin(phi)
    return x


@cached_njit
def _ball_det(u, p):
    d = u.size
    r = p[0] * u[0]
    v = p[0] * 2.0 * np.pi
    for _ in range(d - 1):
        v *= r
    for k in range(1, d - 1):
        s = np.sin(np.pi * u[k])
        v *= np.pi
        for _ in range(d - 1 - k):
            v *= s
    return abs(v)


@cached_njit
def _ball_inside(x, p):
    s = 0.0
    for k in range(x.size):
        s += (x[k] - p[1 + k]) ** 2
    return s <= p[0] * p[0]


class Ball(Region):
    """The ball |x - center| <= radius in R^d (d >= 2), in hyperspherical coordinates."""

    def __init__(self, dim: int = 3, center=None, radius: float = 1.0):
        d = positive_int(dim, "dim")
        if d < 2:
            raise ValueError(f"dim must be >= 2 (use Box for an interval), got {dim!r}")
        c = np.zeros(d) if center is None else _point(center, "center", d)
        R = positive_float(radius, "radius")
        self.dim = d
        try:
            self.volume = q.ball_volume(d, R)
        except OverflowError:
            raise ValueError(f"radius={R!r} is too large: the volume of the {d}-ball overflows "
                             "float64") from None
        self.bounds = (c - R, c + R)
        self._T, self._D, self._inside = _ball_map, _ball_det, _ball_inside
        self._targs = self._iargs = (np.concatenate([[R], c]),)

    def _describe(self):
        p = self._targs[0]
        return f"dim={self.dim}, center={p[1:].tolist()}, radius={p[0]:g}"


# ====================================================================== torus
# rho = r u0, phi = 2 pi u1, theta = 2 pi u2; p = [R, r, cx, cy, cz]
@cached_njit
def _torus_map(u, p):
    rho = p[1] * u[0]
    phi = 2.0 * np.pi * u[1]
    th = 2.0 * np.pi * u[2]
    w = p[0] + rho * np.cos(phi)
    x = np.empty(3, dtype=u.dtype)
    x[0] = p[2] + w * np.cos(th)
    x[1] = p[3] + w * np.sin(th)
    x[2] = p[4] + rho * np.sin(phi)
    return x


@cached_njit
def _torus_det(u, p):
    rho = p[1] * u[0]
    return abs(4.0 * np.pi * np.pi * p[1] * rho * (p[0] + rho * np.cos(2.0 * np.pi * u[1])))


@cached_njit
def _torus_inside(x, p):
    dx = x[0] - p[2]
    dy = x[1] - p[3]
    dz = x[2] - p[4]
    w = np.sqrt(dx * dx + dy * dy) - p[0]
    return w * w + dz * dz <= p[1] * p[1]


class Torus(Region):
    """The solid torus of major radius R and minor radius r (R > r) about the z axis."""

    dim = 3

    def __init__(self, R: float = 2.0, r: float = 1.0, center=(0.0, 0.0, 0.0)):
        R = positive_float(R, "R")
        r = positive_float(r, "r")
        if r >= R:
            raise ValueError(f"r must be < R for a ring torus, got r = {r} >= R = {R}")
        c = _point(center, "center", 3)
        self.volume = 2.0 * math.pi ** 2 * R * r * r
        ext = np.array([R + r, R + r, r])
        self.bounds = (c - ext, c + ext)
        self._T, self._D, self._inside = _torus_map, _torus_det, _torus_inside
        self._targs = self._iargs = (np.concatenate([[R, r], c]),)

    def _describe(self):
        p = self._targs[0]
        return f"R={p[0]:g}, r={p[1]:g}, center={p[2:].tolist()}"


# ================================================================= unbounded
# per coordinate (4 numbers): kind, a, b, scale, with kind 0: [a, b];
# 1: [a, inf); 2: (-inf, b]; 3: R centred at a. p = [transform, 4 numbers x d]
TRANSFORMS = {"tan": 0, "logit": 1, "normal": 2}
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@cached_njit
def ndtri(p):
    """The standard normal quantile (Acklam's approximation + one Halley step)."""
    if p <= 0.0:
        return -np.inf
    if p >= 1.0:
        return np.inf
    sign = 1.0
    if p > 0.5:           # by symmetry; 1 - p is exact for p > 0.5
        p = 1.0 - p
        sign = -1.0
    if p < 0.02425:
        s = math.sqrt(-2.0 * math.log(p))
        x = ((((((-7.784894002430293e-03 * s - 3.223964580411365e-01) * s
                 - 2.400758277161838e+00) * s - 2.549732539343734e+00) * s
               + 4.374664141464968e+00) * s + 2.938163982698783e+00)
             / ((((7.784695709041462e-03 * s + 3.224671290700398e-01) * s
                  + 2.445134137142996e+00) * s + 3.754408661907416e+00) * s + 1.0))
    else:
        s = p - 0.5
        t = s * s
        x = (((((-3.969683028665376e+01 * t + 2.209460984245205e+02) * t
                - 2.759285104469687e+02) * t + 1.383577518672690e+02) * t
              - 3.066479806614716e+01) * t + 2.506628277459239e+00) * s \
            / (((((-5.447609879822406e+01 * t + 1.615858368580409e+02) * t
                  - 1.556989798598866e+02) * t + 6.680131188771972e+01) * t
                - 1.328068155288572e+01) * t + 1.0)
    # one Halley step on Phi(x) = p brings Acklam's 1e-9 to rounding
    e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
    g = e * _SQRT_2PI * math.exp(0.5 * x * x)
    return sign * (x - g / (1.0 + 0.5 * x * g))


@cached_njit
def _normal_quantile(t):
    """ndtri, complex-safe: its first-order expansion carries the complex step."""
    z = ndtri(t.real)
    return z + (t - t.real) * _SQRT_2PI * np.exp(0.5 * z * z)


@cached_njit
def _half_line(v, tr):
    """[0, 1) -> [0, inf)."""
    if tr == 0:
        return np.tan(0.5 * np.pi * v)
    if tr == 1:
        return -np.log(1.0 - v)
    return _normal_quantile(0.5 + 0.5 * v)


@cached_njit
def _half_line_der(v, tr):
    if tr == 0:
        t = np.tan(0.5 * np.pi * v)
        return 0.5 * np.pi * (1.0 + t * t)
    if tr == 1:
        return 1.0 / (1.0 - v)
    z = ndtri(0.5 + 0.5 * v)
    return 0.5 * _SQRT_2PI * np.exp(0.5 * z * z)


@cached_njit
def _line(v, tr):
    """(0, 1) -> R."""
    if tr == 0:
        return np.tan(np.pi * (v - 0.5))
    if tr == 1:
        return np.log(v / (1.0 - v))
    return _normal_quantile(v)


@cached_njit
def _line_der(v, tr):
    if tr == 0:
        t = np.tan(np.pi * (v - 0.5))
        return np.pi * (1.0 + t * t)
    if tr == 1:
        return 1.0 / (v * (1.0 - v))
    z = ndtri(v)
    return _SQRT_2PI * np.exp(0.5 * z * z)


@cached_njit
def _unbounded_map(u, p):
    d = u.size
    tr = int(p[0])
    x = np.empty(d, dtype=u.dtype)
    for k in range(d):
        kind, a, b, s = int(p[1 + 4 * k]), p[2 + 4 * k], p[3 + 4 * k], p[4 + 4 * k]
        if kind == 0:
            x[k] = a + (b - a) * u[k]
        elif kind == 1:
            x[k] = a + s * _half_line(u[k], tr)
        elif kind == 2:
            x[k] = b - s * _half_line(1.0 - u[k], tr)
        else:
            x[k] = a + s * _line(u[k], tr)
    return x


@cached_njit
def _unbounded_det(u, p):
    tr = int(p[0])
    v = 1.0
    for k in range(u.size):
        kind, a, b, s = int(p[1 + 4 * k]), p[2 + 4 * k], p[3 + 4 * k], p[4 + 4 * k]
        if kind == 0:
            v *= b - a
        elif kind == 1:
            v *= s * _half_line_der(u[k], tr)
        elif kind == 2:
            v *= s * _half_line_der(1.0 - u[k], tr)
        else:
            v *= s * _line_der(u[k], tr)
    return abs(v)


@cached_njit
def _unbounded_inside(x, p):
    for k in range(x.size):
        kind = int(p[1 + 4 * k])
        if kind <= 1 and x[k] < p[2 + 4 * k]:
            return False
        if (kind == 0 or kind == 2) and x[k] > p[3 + 4 * k]:
            return False
    return True


class Unbounded(Region):
    """A product of intervals, half-lines and lines: [lower, upper] with +-inf allowed.

    Infinite coordinates are mapped from [0, 1] by ``transform``:

    * ``"tan"``: x = c + s tan(pi (u - 1/2)) (algebraic tails, a good default);
    * ``"logit"``: x = c + s log(u / (1 - u)) (exponential tails);
    * ``"normal"``: x = c + s Phi^-1(u) (Gaussian tails: exact for a Gaussian
      weight of width s).

    Half-lines [a, inf) use the same maps folded at a. ``scale`` (s) should
    match the width of the integrand, ``center`` (c) its location on full lines.
    """

    def __init__(self, lower, upper, *, transform: str = "tan", scale=1.0, center=0.0):
        lo = as_vector(lower, "lower", finite=False)
        hi = as_vector(upper, "upper", finite=False)
        if hi.size != lo.size:
            raise ValueError(f"upper must have {lo.size} coordinates, got {hi.size}")
        if np.any(np.isnan(lo)) or np.any(np.isnan(hi)) or np.any(hi <= lo) \
                or np.any(lo == np.inf) or np.any(hi == -np.inf):
            raise ValueError("lower and upper must satisfy lower < upper (+-inf allowed)")
        if transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {tuple(TRANSFORMS)}, got {transform!r}")
        d = lo.size
        s = as_scale(scale, d, "scale")
        c = as_vector(np.broadcast_to(np.asarray(center, dtype=float), (d,)), "center")
        kind = np.where(np.isfinite(lo), np.where(np.isfinite(hi), 0, 1),
                        np.where(np.isfinite(hi), 2, 3))
        a = np.where(kind == 3, c, lo)
        self.dim = d
        self.transform = transform
        self.bounds = (lo, hi)
        self.volume = float(np.prod(hi - lo))
        rows = np.stack([kind, a, hi, s], 1).astype(float)
        self._T, self._D, self._inside = _unbounded_map, _unbounded_det, _unbounded_inside
        self._targs = self._iargs = (np.concatenate([[TRANSFORMS[transform]], rows.ravel()]),)

    def _describe(self):
        return f"{self.bounds[0].tolist()}, {self.bounds[1].tolist()}, transform={self.transform!r}"


class RealSpace(Unbounded):
    """All of R^d through a tan, logit or normal-quantile map per coordinate.

    Examples
    --------
    >>> import numpy as np
    >>> from jacsolve import integrate, jit
    >>> from jacsolve.integration.regions import RealSpace
    >>> @jit
    ... def gauss2(x):
    ...     return np.exp(-x[0] * x[0] - x[1] * x[1])
    >>> abs(integrate(gauss2, RealSpace(2), n=12000).value - np.pi) < 1e-10
    True
    """

    def __init__(self, dim: int, *, transform: str = "tan", scale=1.0, center=0.0):
        d = positive_int(dim, "dim")
        super().__init__(np.full(d, -np.inf), np.full(d, np.inf), transform=transform,
                         scale=scale, center=center)


# ============================================== regions built on user functions
# Two representations. The Python and specialised tiers run closures over the
# user's functions (``_T``, ``_D``, ``_inside``, built below per region). The
# cached tier runs fixed compiled maps of this module that reach the user's
# functions through the addresses of adapters (``_map_parts``): for curves
# and surfaces an int64 array ``a`` holds 4 addresses per function (real
# c_addr, jit_addr, complex c_addr, jit_addr), read by ``q.scalar_call``.
_closures: dict = {}


def _compile(key, factory, funcs):
    """Build (and memoise) the closures of a user-function region.

    Compiled when every user function is a numba function, else plain Python
    (one PerformanceWarning per function)."""
    jitted = all(is_jitted(f) for f in funcs)
    if not jitted:
        for f in funcs:
            warn_if_python(f, stacklevel=4)
    try:
        hit = _closures.get(key)
    except TypeError:
        hit = None
    if hit is None:
        made = factory()
        hit = (tuple(jit(f) if (jitted and f is not None) else f for f in made), jitted)
        if len(_closures) > 256:
            _closures.clear()
        try:
            _closures[key] = hit
        except TypeError:
            pass
    return hit


def _curve_addresses(curves, complex_: bool) -> np.ndarray:
    """The address array of scalar curves [(fun, name), ...] (complex adapters if asked)."""
    a = []
    for fun, name in curves:
        a += q.adapter(fun, "curve", (), "_fun(x)", False, name, "number")
        a += (q.adapter(fun, "curve", (), "_fun(x)", True, name, "number") if complex_
              else q.no_complex("number"))
    return np.array(a, dtype=np.int64)


@cached_njit
def _curve_at(t, p, a, k):
    """Scalar curve k of the address array ``a`` at the scalar t (real or complex)."""
    return q.scalar_call(t, p, a[4 * k], a[4 * k + 1], a[4 * k + 2], a[4 * k + 3])


@cached_njit
def _surface_at(x, p, a, k):
    """Surface k of the address array ``a`` at the point x (a C-contiguous 1-D array)."""
    return q.scalar_call(x, p, a[4 * k], a[4 * k + 1], a[4 * k + 2], a[4 * k + 3])


def _check_curve(fun, x, name) -> float:
    value, scalar = evaluate_once(fun, x, (), name)
    if not scalar:
        raise TypeError(f"{name} must return a scalar, got shape {value.shape}")
    return float(value[0])


def _sample_extent(points: np.ndarray):
    """Bounding box of sampled boundary points, padded by 1 % of the extent."""
    lo, hi = points.min(0), points.max(0)
    pad = 0.01 * np.maximum(hi - lo, 1e-12)
    return lo - pad, hi + pad


class _UserRegion(Region):
    """A region on user functions: the cached tier where they are compiled."""

    _USER_FUNCTIONS: tuple = ()     # attribute names of the user's functions

    def _map_parts(self, det):
        if not self._compiled:
            return self._direct_parts("python")
        key = det == "complex"
        memo = self._memo()
        parts = memo.get(key)
        if parts is None:
            parts = memo[key] = self._address_parts(key) or self._direct_parts("specialised")
        return parts

    def _indicator_parts(self):
        if not self._compiled or self._inside is None:
            return self._inside, self._iargs, "python" if not self._compiled else "cached"
        memo = self._memo()
        parts = memo.get("inside")
        if parts is None:
            parts = memo["inside"] = (self._address_indicator()
                                      or (self._inside, self._iargs, "specialised"))
        return parts

    def _memo(self) -> dict:
        """Parts made once per region. It also holds the PreparedFunction of
        every user function, which owns the adapters whose addresses the parts
        carry (so they outlive a clearing of jacsolve's table of functions)."""
        memo = self.__dict__.get("_parts")
        if memo is None:
            funcs = [getattr(self, name) for name in self._USER_FUNCTIONS]
            memo = self.__dict__["_parts"] = {"alive": [prepare(f) for f in funcs
                                                        if f is not None]}
        return memo

    def _address_parts(self, complex_: bool):
        """(T, D, targs, dargs, "cached"), or None for the specialised tier."""
        raise NotImplementedError

    def _address_indicator(self):
        """(inside, iargs, "cached"), or None for the specialised tier."""
        raise NotImplementedError


# p = [a, b]; a = addresses of (lower, upper)
@cached_njit
def _between_map(u, p, a):
    x = p[0] + (p[1] - p[0]) * u[0]
    lo = _curve_at(x, p, a, 0)
    hi = _curve_at(x, p, a, 1)
    out = np.empty(2, dtype=u.dtype)
    out[0] = x
    out[1] = lo + (hi - lo) * u[1]
    return out


@cached_njit
def _between_det(u, p, a):
    x = p[0] + (p[1] - p[0]) * u[0]
    return abs((p[1] - p[0]) * (_curve_at(x, p, a, 1) - _curve_at(x, p, a, 0)))


@cached_njit
def _between_inside(x, p, a):
    if x[0] < p[0] or x[0] > p[1]:
        return False
    lo = _curve_at(x[0], p, a, 0)
    hi = _curve_at(x[0], p, a, 1)
    return min(lo, hi) <= x[1] <= max(lo, hi)


def _between_closures(lower, upper):
    def T(u, p):
        x = p[0] + (p[1] - p[0]) * u[0]
        lo = lower(x)
        hi = upper(x)
        out = np.empty(2, dtype=u.dtype)
        out[0] = x
        out[1] = lo + (hi - lo) * u[1]
        return out

    def D(u, p):
        x = p[0] + (p[1] - p[0]) * u[0]
        return abs((p[1] - p[0]) * (upper(x) - lower(x)))

    def inside(x, p):
        if x[0] < p[0] or x[0] > p[1]:
            return False
        lo = lower(x[0])
        hi = upper(x[0])
        return min(lo, hi) <= x[1] <= max(lo, hi)

    return T, D, inside


class Between(_UserRegion):
    """The 2-D region a <= x <= b, lower(x) <= y <= upper(x).

    ``lower`` and ``upper`` are scalar functions of a scalar x; make them
    complex-safe (for complex-step determinants) and numba functions for speed.
    ``bounds`` overrides the bounding box, which is otherwise estimated from
    the curves sampled at 2049 points (and padded by 1 %).

    Examples
    --------
    >>> import jacsolve
    >>> from jacsolve.integration.regions import Between
    >>> zero = jacsolve.jit(lambda x: 0.0 * x)
    >>> parabola = jacsolve.jit(lambda x: x * x)
    >>> one = jacsolve.jit(lambda x: 1.0)
    >>> round(jacsolve.integrate(one, Between(zero, parabola, 0, 1)).value, 14)
    0.33333333333333
    """

    dim = 2
    _USER_FUNCTIONS = ("lower", "upper")

    def __init__(self, lower: Callable, upper: Callable, a: float, b: float, *, bounds=None):
        a, b = real_number(a, "a"), real_number(b, "b")
        if not a < b:
            raise ValueError(f"a must be < b, got a = {a}, b = {b}")
        (self._T, self._D, self._inside), self._compiled = _compile(
            ("between", lower, upper), lambda: _between_closures(lower, upper), (lower, upper))
        self._targs = self._iargs = (np.array([a, b]),)
        xs = np.linspace(a, b, 2049)
        lo = np.array([_check_curve(lower, v, "lower") for v in xs])
        hi = np.array([_check_curve(upper, v, "upper") for v in xs])
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError("lower and upper must be finite on [a, b]")
        self.lower, self.upper = lower, upper
        self.bounds = _given_bounds(bounds, 2) if bounds is not None else _sample_extent(
            np.concatenate([np.stack([xs, lo], 1), np.stack([xs, hi], 1)]))

    def _address_parts(self, complex_):
        a = _curve_addresses([(self.lower, "lower"), (self.upper, "upper")], complex_)
        args = (self._targs[0], a)
        return _between_map, _between_det, args, args, "cached"

    def _address_indicator(self):
        a = _curve_addresses([(self.lower, "lower"), (self.upper, "upper")], False)
        return _between_inside, (self._targs[0], a), "cached"

    def _describe(self):
        p = self._targs[0]
        return f"{getattr(self.lower, '__name__', self.lower)}, " \
               f"{getattr(self.upper, '__name__', self.upper)}, {p[0]:g}, {p[1]:g}"


def _given_bounds(bounds, d, name: str = "bounds"):
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lower, upper)") from None
    return _corners(lo, hi, d, name)


# bound to the base region's map bT, det bD and indicator binside by
# quadrature.bound_kernel (one cached function per base); a = addresses of
# (lower, upper), p their (empty) argument vector
@kernel_njit
def _surfaces_map(bT, u, btargs, p, a):
    k = u.size - 1
    xb = bT(u[:k], *btargs)
    lo = _surface_at(xb, p, a, 0)
    hi = _surface_at(xb, p, a, 1)
    out = np.empty(k + 1, dtype=u.dtype)
    for j in range(k):      # (a slice assignment compiles ~10x slower)
        out[j] = xb[j]
    out[k] = lo + (hi - lo) * u[k]
    return out


@kernel_njit
def _surfaces_det(bT, bD, u, btargs, bdargs, p, a):
    k = u.size - 1
    ub = u[:k]
    xb = bT(ub, *btargs)
    return bD(ub, *bdargs) * abs(_surface_at(xb, p, a, 1)
                                                  - _surface_at(xb, p, a, 0))


@kernel_njit
def _surfaces_inside(binside, x, biargs, p, a):
    k = x.size - 1
    xb = x[:k]
    if not binside(xb, *biargs):
        return False
    lo = _surface_at(xb, p, a, 0)
    hi = _surface_at(xb, p, a, 1)
    return min(lo, hi) <= x[k] <= max(lo, hi)


def _surfaces_closures(lower, upper, base):
    bT, bD, binside = base._T, base._D, base._inside
    k = base.dim

    def T(u, *targs):
        xb = bT(u[:k], *targs)
        lo = lower(xb)
        hi = upper(xb)
        out = np.empty(k + 1, dtype=u.dtype)
        for j in range(k):      # (a slice assignment compiles ~10x slower)
            out[j] = xb[j]
        out[k] = lo + (hi - lo) * u[k]
        return out

    def D(u, *targs):
        xb = bT(u[:k], *targs)
        return bD(u[:k], *targs) * abs(upper(xb) - lower(xb))

    def inside(x, *iargs):
        xb = x[:k]
        if not binside(xb, *iargs):
            return False
        lo = lower(xb)
        hi = upper(xb)
        return min(lo, hi) <= x[k] <= max(lo, hi)

    return T, (D if bD is not None else None), (inside if binside is not None else None)


class BetweenSurfaces(_UserRegion):
    """The region over ``base`` between two surfaces: x in base, lower(x) <= z <= upper(x).

    ``base`` is any region (e.g. a :class:`Disk` for a 3-D solid); ``lower``
    and ``upper`` take the base point (a 1-D array) and return a scalar. The
    analytic determinant is the base's times (upper - lower).
    """

    _USER_FUNCTIONS = ("lower", "upper")

    def __init__(self, lower: Callable, upper: Callable, base: Region, *, bounds=None):
        if not isinstance(base, Region):
            raise TypeError(f"base must be a Region, got {type(base).__name__}")
        k = base.dim
        (self._T, self._D, self._inside), self._compiled = _compile(
            ("surfaces", lower, upper, base._T, base._D, base._inside),
            lambda: _surfaces_closures(lower, upper, base), (lower, upper, base._T))
        self._compiled = self._compiled and base._compiled
        self._targs, self._iargs = base._targs, base._iargs
        self.dim = k + 1
        self.base, self.lower, self.upper = base, lower, upper
        if bounds is not None:
            self.bounds = _given_bounds(bounds, k + 1)
        else:   # z range from the surfaces over a grid of the base (cube corners included)
            U = q.tensor_rule([15] * k, 0, 15 ** k)[0] if k <= 3 else \
                np.random.default_rng(0).random((4096, k))
            U = np.concatenate([U, np.round(U)])
            xb = base.map_into(U, np.zeros(len(U)), base._any_det())
            z = [[_check_curve(f, v, name) for v in xb] for f, name in ((lower, "lower"),
                                                                         (upper, "upper"))]
            zlo, zhi = _sample_extent(np.concatenate(z)[:, None])
            self.bounds = (np.r_[base.bounds[0], zlo], np.r_[base.bounds[1], zhi])

    def _surfaces(self, complex_):
        a = []
        for fun, name in ((self.lower, "lower"), (self.upper, "upper")):
            a += q.adapter(fun, "surface", (), "_fun(x)", False, name)
            a += (q.adapter(fun, "surface", (), "_fun(x)", True, name) if complex_
                  else q.no_complex())
        return np.array(a, dtype=np.int64)

    def _address_parts(self, complex_):
        bT, bD, btargs, bdargs, tier = self.base._map_parts("complex" if complex_ else
                                                            self.base._any_det())
        if tier != "cached":
            return None
        a = self._surfaces(complex_)
        T = q.bound_kernel(_surfaces_map, bT, nogil=False)
        D = q.bound_kernel(_surfaces_det, bT, bD, nogil=False) if self._D is not None \
            else q.no_det
        return T, D, (btargs, EMPTY, a), (btargs, bdargs, EMPTY, a), "cached"

    def _address_indicator(self):
        binside, biargs, tier = self.base._indicator_parts()
        if tier != "cached":
            return None
        inside = q.bound_kernel(_surfaces_inside, binside, nogil=False)
        return inside, (biargs, EMPTY, self._surfaces(False)), "cached"

    def _describe(self):
        return f"{getattr(self.lower, '__name__', '?')}, {getattr(self.upper, '__name__', '?')}, " \
               f"base={self.base!r}"


# p = centre (2); a = addresses of rho
@cached_njit
def _star_map(u, p, a):
    t = 2.0 * np.pi * u[1]
    r = _curve_at(t, p, a, 0) * u[0]
    out = np.empty(2, dtype=u.dtype)
    out[0] = p[0] + r * np.cos(t)
    out[1] = p[1] + r * np.sin(t)
    return out


@cached_njit
def _star_det(u, p, a):
    rr = _curve_at(2.0 * np.pi * u[1], p, a, 0)
    return abs(2.0 * np.pi * rr * rr * u[0])


@cached_njit
def _star_inside(x, p, a):
    dx = x[0] - p[0]
    dy = x[1] - p[1]
    t = np.arctan2(dy, dx) % (2.0 * np.pi)
    return np.sqrt(dx * dx + dy * dy) <= _curve_at(t, p, a, 0)


def _star_closures(rho):
    def T(u, p):
        t = 2.0 * np.pi * u[1]
        r = rho(t) * u[0]
        out = np.empty(2, dtype=u.dtype)
        out[0] = p[0] + r * np.cos(t)
        out[1] = p[1] + r * np.sin(t)
        return out

    def D(u, p):
        rr = rho(2.0 * np.pi * u[1])
        return abs(2.0 * np.pi * rr * rr * u[0])

    def inside(x, p):
        dx = x[0] - p[0]
        dy = x[1] - p[1]
        t = np.arctan2(dy, dx) % (2.0 * np.pi)
        return np.sqrt(dx * dx + dy * dy) <= rho(t)

    return T, D, inside


class Star(_UserRegion):
    """The star-shaped region |x - center| <= rho(theta), theta in [0, 2 pi).

    ``rho`` is a positive, 2 pi-periodic scalar function of the angle.
    """

    dim = 2
    _USER_FUNCTIONS = ("rho",)

    def __init__(self, rho: Callable, center=(0.0, 0.0), *, bounds=None):
        c = _point(center, "center", 2)
        ts = np.linspace(0.0, TWO_PI, 4097)
        rs = np.array([_check_curve(rho, t, "rho") for t in ts])
        if not np.all(np.isfinite(rs)) or np.any(rs <= 0):
            raise ValueError("rho must be finite and > 0 for every angle")
        (self._T, self._D, self._inside), self._compiled = _compile(
            ("star", rho), lambda: _star_closures(rho), (rho,))
        self._targs = self._iargs = (c,)
        self.rho = rho
        self.bounds = _given_bounds(bounds, 2) if bounds is not None else _sample_extent(
            c + np.stack([rs * np.cos(ts), rs * np.sin(ts)], 1))

    def _address_parts(self, complex_):
        args = (self._targs[0], _curve_addresses([(self.rho, "rho")], complex_))
        return _star_map, _star_det, args, args, "cached"

    def _address_indicator(self):
        return _star_inside, (self._targs[0], _curve_addresses([(self.rho, "rho")], False)), \
            "cached"

    def _describe(self):
        return f"{getattr(self.rho, '__name__', self.rho)}, center={self._targs[0].tolist()}"


# Mapped: the user's T (and det) through the adapters of jacsolve._numba.prepared;
# on a box domain u -> lo + span * u first.
@cached_njit
def _boxed_call(u, lo, span, p, rc, rj, cc, cj):
    return address_call(lo + span * u, p, rc, rj, cc, cj)


@cached_njit
def _boxed_det_call(u, lo, span, p, rc, rj, cc, cj):
    v = q.scalar_call(lo + span * u, p, rc, rj, cc, cj)
    for k in range(span.size):
        v *= span[k]
    return abs(v)


@cached_njit
def _indicator_call(x, p, rc, rj, cc, cj):
    return q.scalar_call(x, p, rc, rj, cc, cj) != 0.0


def _boxed_closures(T, Dfun):
    # the user map on the box lo + span * u; targs = (lo, span, *args)
    def Tb(u, lo, span, *args):
        return T(lo + span * u, *args)

    def Db(u, lo, span, *args):
        v = Dfun(lo + span * u, *args)
        for k in range(span.size):
            v *= span[k]
        return abs(v)

    return Tb, (Db if Dfun is not None else None)


class Mapped(_UserRegion):
    """The image of the unit cube (or of a box ``domain``) under your map T.

    Parameters
    ----------
    T : callable
        ``T(u, *args) -> x``, a 1-D array of length ``dim``. A numba function
        runs compiled. Without ``det``, :func:`jacsolve.integrate`'s default
        ``det="auto"`` takes |det J_T| by complex step when T compiles for
        complex input and a one-time check at the centre of the domain (its
        Jacobian against central differences) finds it right, else by central
        differences; ``det="complex"`` needs a complex-safe T.
    dim : int
        Dimension of u and of x.
    args : tuple
        Extra arguments of T (and of ``det`` and ``contains``).
    domain : (lower, upper), optional
        The box T is defined on; default the unit cube.
    det : callable, optional
        Analytic ``|det J_T|(u, *args)`` on the domain.
    contains : callable, optional
        Indicator ``contains(x, *args) -> bool`` of the image, for hit-or-miss
        Monte Carlo.
    bounds : (lower, upper), optional
        Bounding box of the image; otherwise estimated from the images of
        4096 evenly spread points of the domain (padded by 2 %), which can
        miss thin extremes.

    Examples
    --------
    >>> import numpy as np, jacsolve
    >>> from jacsolve.integration.regions import Mapped
    >>> @jacsolve.jit
    ... def polar(u):                      # (r, t) in [0,1] x [0, 2 pi] -> disk
    ...     x = np.empty(2, dtype=u.dtype)
    ...     x[0] = u[0] * np.cos(u[1])
    ...     x[1] = u[0] * np.sin(u[1])
    ...     return x
    >>> disk = Mapped(polar, 2, domain=([0, 0], [1, 2 * np.pi]))
    >>> round(jacsolve.integrate(jacsolve.jit(lambda x: 1.0), disk).value, 12)
    3.14159265359
    """

    _USER_FUNCTIONS = ("T", "_det_fun", "_inside")

    def __init__(self, T: Callable, dim: int, *, args=(), domain=None, det: Callable = None,
                 contains: Callable = None, bounds=None):
        d = positive_int(dim, "dim")
        args = as_args(args)
        self.dim = d
        if domain is None:
            lo, span = None, None
        else:
            lo, hi = _given_bounds(domain, d, "domain")
            span = hi - lo
        centre = np.full(d, 0.5) if lo is None else lo + 0.5 * span
        value, _ = evaluate_once(T, centre, args, "T")
        if value.size != d:
            raise ValueError(f"T must return {d} values (dim = {d}), got {value.size}")
        funcs = tuple(f for f in (T, det, contains) if f is not None)
        if lo is None:
            jitted = all(is_jitted(f) for f in funcs)
            if not jitted:
                for f in funcs:
                    warn_if_python(f, stacklevel=3)
            self._T, self._D, self._targs, self._compiled = T, det, args, jitted
        else:
            (self._T, self._D), self._compiled = _compile(
                ("boxed", T, det), lambda: _boxed_closures(T, det), funcs)
            self._targs = (lo, span) + args
        self._inside, self._iargs = contains, args
        self.T, self.args, self._det_fun, self._lo, self._span = T, args, det, lo, span
        if bounds is not None:
            self.bounds = _given_bounds(bounds, d)
        else:
            U = q.kronecker_points(4096, d)
            if lo is not None:
                U = lo + span * U
            X = np.array([T(u, *args) for u in U], dtype=float)
            lo_x, hi_x = X.min(0), X.max(0)
            pad = 0.02 * np.maximum(hi_x - lo_x, 1e-12)
            self.bounds = (lo_x - pad, hi_x + pad)

    def _address_parts(self, complex_):
        try:
            packed = addressed_args(self.T, self.args, real=True, complex_=complex_, jac="det")
        except TypeError as exc:
            if "not complex-safe" not in str(exc):
                raise
            raise not_complex_safe("T", detail=prepare(self.T).complex_reason,
                                   instead="Pass det='auto' (the default: complex step only where "
                                           "it is right) or det='central' to integrate "
                                           "instead") from None
        if packed is None:
            return None          # args that cannot travel as one float vector
        dpacked = None
        if self._det_fun is not None:     # real points only
            layout = pack_args(self.args)[0]
            dpacked = (packed[0],) + q.adapter(self._det_fun, "det", layout,
                                               f"_fun(x{unpacked_args_source(layout)})", False, "det") \
                + q.no_complex()
        if self._lo is None:
            T, targs = address_call, packed
            D, dargs = (q.det_call, dpacked) if dpacked else (q.no_det, targs)
        else:
            box = (self._lo, self._span)
            T, targs = _boxed_call, box + packed
            D, dargs = (_boxed_det_call, box + dpacked) if dpacked else (q.no_det, targs)
        return T, D, targs, dargs, "cached"

    def det_method(self, det: str = "auto") -> str:
        """The determinant method ``det`` resolves to: ``"auto"`` without an analytic
        ``det`` gives ``"complex"`` where the one-time check of T at the centre of
        the domain finds complex step right, else ``"central"``."""
        if det == "auto" and self._det_fun is None:
            centre = np.full(self.dim, 0.5) if self._lo is None else self._lo + 0.5 * self._span
            return auto_method(self.T, centre, self.args, "central")
        return Region.det_method(self, det)

    def _address_indicator(self):
        layout, p = pack_args(self.args)
        if layout is None:
            return None
        rc, rj = q.adapter(self._inside, "indicator", layout,
                           f"1.0 if _fun(x{unpacked_args_source(layout)}) else 0.0", False, "contains")
        return _indicator_call, (p, rc, rj) + q.no_complex(), "cached"

    def _describe(self):
        return f"{getattr(self.T, '__name__', self.T)}, dim={self.dim}"
