"""Integrals over regions with closed-form values (tests, benchmarks, demo).

A handful of integrands serve every case, so each compiles once per process:
``exp_linear`` (exp(c . x), closed forms on simplices, balls, disks, ellipses
and tori), ``gauss_nd`` (exp(-a |x|^2)), ``monomial`` and ``inv_norm``
(1/|x|, the integrable point singularity). Curves and surfaces are
complex-safe numba functions.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special

from .._numba.options import jit
from ..integration import regions as R


@dataclass(frozen=True)
class IntegralCase:
    name: str
    f: Callable
    args: tuple
    region: R.Region
    exact: float
    n_gauss: int = 4000       # evaluations for Gauss's own error estimate (three orders) to
    #                           meet rtol = 1e-10, so that integrate(..., n=n_gauss) succeeds


# ---------------------------------------------------------------- integrands
@jit(cache=True)
def exp_linear(x, c):
    """exp(c . x)."""
    s = 0.0
    for k in range(x.size):
        s += c[k] * x[k]
    return np.exp(s)


@jit(cache=True)
def gauss_nd(x, a):
    """exp(-a |x|^2)."""
    s = 0.0
    for k in range(x.size):
        s += x[k] * x[k]
    return np.exp(-a * s)


@jit(cache=True)
def monomial(x, p):
    """prod_k x_k ** p_k (integer powers)."""
    v = 1.0
    for k in range(x.size):
        for _ in range(int(p[k])):
            v *= x[k]
    return v


@jit(cache=True)
def inv_norm(x):
    """1 / |x|: integrable at the origin in d >= 2."""
    s = 0.0
    for k in range(x.size):
        s += x[k] * x[k]
    return 1.0 / np.sqrt(s)


# ------------------------------------------------- curves (complex-safe)
@jit(cache=True)
def parabola_minus_one(x):
    return x * x - 1.0


@jit(cache=True)
def cosine(x):
    return np.cos(x)


@jit(cache=True)
def bowl(x):
    return x[0] * x[0] + x[1] * x[1] - 1.0


@jit(cache=True)
def tilted_plane(x):
    return 1.0 + x[0]


@jit(cache=True)
def trefoil_radius(t):
    return 1.0 + 0.3 * np.cos(3.0 * t)


# ------------------------------------------------------------ closed forms
def simplex_exp(vertices, c) -> float:
    """∫ exp(c . x) over a simplex: |det V| times the divided difference of exp
    at t_k = c . v_k (Hermite-Genocchi); the t_k must be distinct."""
    V = np.asarray(vertices, float)
    t = V @ np.asarray(c, float)
    detv = abs(np.linalg.det((V[1:] - V[0]).T))
    total = 0.0
    for k in range(len(t)):
        total += math.exp(t[k]) / np.prod([t[k] - t[j] for j in range(len(t)) if j != k])
    return detv * total


def disk_exp(radius, k) -> float:
    """∫ exp(c . x) over a disk of radius R centred at 0, |c| = k."""
    return 2.0 * math.pi * radius * special.i1(k * radius) / k


def ball3_exp(radius, k) -> float:
    """∫ exp(c . x) over a 3-ball of radius R centred at 0, |c| = k."""
    return 4.0 * math.pi / k * (radius * math.cosh(k * radius) / k - math.sinh(k * radius) / k ** 2)


def torus_exp_z(R_major, r_minor) -> float:
    """∫ exp(z) over the solid torus: 4 pi^2 R r I1(r)."""
    return 4.0 * math.pi ** 2 * R_major * r_minor * special.i1(r_minor)


def ellipse_exp(center, a, b, angle, c) -> float:
    """∫ exp(c . x) over an ellipse: a b exp(c . x0) times the unit-disk value."""
    ca, sa = math.cos(angle), math.sin(angle)
    c = np.asarray(c, float)
    g = np.array([a * (ca * c[0] + sa * c[1]), b * (-sa * c[0] + ca * c[1])])
    return a * b * math.exp(float(np.dot(c, center))) * disk_exp(1.0, float(np.hypot(*g)))


CORNER_SQUARE = 2.0 * math.log(1.0 + math.sqrt(2.0))   # ∫∫_[0,1]^2 1/|x|


@functools.lru_cache(maxsize=1)
def cases() -> tuple:
    """The smooth test integrals (built on first use: regions compile lazily)."""
    c2 = np.array([0.7, -0.4])
    c3 = np.array([0.3, -0.7, 1.1])
    ez = np.array([0.0, 0.0, 1.0])
    tri = [[0.0, 0.0], [2.0, 0.0], [0.5, 1.5]]
    tet = [[0.0, 0.0, 0.0], [1.0, 0.2, 0.0], [0.1, 1.0, 0.3], [0.2, 0.1, 1.2]]
    a_, b_ = -0.8, 0.9
    between_area = (math.sin(b_) - math.sin(a_) - (b_ ** 3 - a_ ** 3) / 3 + (b_ - a_))
    out = [
        IntegralCase("disk exp(c.x)", exp_linear, (c2,), R.Disk(radius=1.5),
                     disk_exp(1.5, float(np.hypot(*c2))), 1600),
        IntegralCase("annulus gaussian", gauss_nd, (1.0,), R.Annulus(r_inner=0.5, r_outer=2.0),
                     math.pi * (math.exp(-0.25) - math.exp(-4.0)), 1600),
        IntegralCase("ellipse exp(c.x)", exp_linear, (c2,),
                     R.Ellipse(center=(1.0, -0.5), a=2.0, b=0.5, angle=0.7),
                     ellipse_exp((1.0, -0.5), 2.0, 0.5, 0.7, c2), 2500),
        IntegralCase("sector gaussian", gauss_nd, (0.5,),
                     R.Sector(radius=2.0, theta1=0.3, theta2=2.5, r_inner=0.4),
                     2.2 * (math.exp(-0.5 * 0.16) - math.exp(-0.5 * 4.0)) / (2 * 0.5), 1600),
        IntegralCase("triangle exp(c.x)", exp_linear, (c2,), R.Triangle(*tri),
                     simplex_exp(tri, c2), 600),
        IntegralCase("3-simplex exp(c.x)", exp_linear, (c3,), R.Simplex(tet),
                     simplex_exp(tet, c3), 3000),
        IntegralCase("3-ball exp(c.x)", exp_linear, (c3,), R.Ball(3, radius=1.2),
                     ball3_exp(1.2, float(np.linalg.norm(c3))), 36000),
        IntegralCase("torus exp(z)", exp_linear, (ez,), R.Torus(R=2.0, r=1.0),
                     torus_exp_z(2.0, 1.0), 24000),
        IntegralCase("between cos and x^2-1: y", monomial, (np.array([0.0, 1.0]),),
                     R.Between(parabola_minus_one, cosine, a_, b_),
                     0.5 * ((b_ / 2 + math.sin(2 * b_) / 4) - (a_ / 2 + math.sin(2 * a_) / 4)
                            - ((b_ ** 5 / 5 - 2 * b_ ** 3 / 3 + b_)
                               - (a_ ** 5 / 5 - 2 * a_ ** 3 / 3 + a_))), 900),
        IntegralCase("between cos and x^2-1: area", monomial, (np.zeros(2),),
                     R.Between(parabola_minus_one, cosine, a_, b_), between_area, 900),
        IntegralCase("between surfaces over disk: exp(z)", exp_linear, (ez,),
                     R.BetweenSurfaces(bowl, tilted_plane, R.Disk()),
                     2 * math.pi * math.e * special.i1(1.0) - math.pi * (1 - math.exp(-1.0)),
                     12000),
        IntegralCase("star area", monomial, (np.zeros(2),), R.Star(trefoil_radius),
                     math.pi * (1.0 + 0.09 / 2), 1600),
        IntegralCase("gaussian over R^2", gauss_nd, (1.0,), R.RealSpace(2), math.pi, 12000),
        IntegralCase("gaussian over half-plane (logit)", gauss_nd, (1.0,),
                     R.Unbounded([0.0, -np.inf], [np.inf, np.inf], transform="logit"),
                     math.pi / 2, 8000),
        IntegralCase("gaussian over R^3 (normal map)", gauss_nd, (0.5,),
                     R.RealSpace(3, transform="normal"), (2 * math.pi) ** 1.5, 200),
    ]
    return tuple(out)


def case(name: str) -> IntegralCase:
    for c in cases():
        if c.name == name:
            return c
    raise KeyError(name)


def corner_triangles():
    """The unit square as two triangles whose collapsed (Duffy) vertex is the origin."""
    return (R.Triangle((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)),
            R.Triangle((0.0, 0.0), (1.0, 1.0), (0.0, 1.0)))
