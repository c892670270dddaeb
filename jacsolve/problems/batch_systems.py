"""Families of small systems F(x; p) = 0 with known roots, for ``solve_batch``.

Each generator draws N members of a family from a seed and returns a
:class:`BatchProblem`: the function ``fun(x, p)``, starting points, one
parameter row per member and every root of each member (NaN rows where a
member has fewer roots, all NaN where it has none). The functions are
complex-safe (products instead of powers) and compiled with ``cache=True``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._numba.options import jit

__all__ = ["BatchProblem", "equilibrium", "trilateration", "circle_line",
           "equilibrium_batch", "trilateration_batch", "circle_line_batch"]


@dataclass(frozen=True)
class BatchProblem:
    """N members of one family: ``fun(x, params[k]) = 0`` from ``x0[k]``.

    ``roots`` has shape (N, r, n): the r (or fewer, NaN-padded) roots of each
    member; a member with no root has only NaN rows.
    """
    name: str
    fun: Callable
    x0: np.ndarray
    params: np.ndarray
    roots: np.ndarray

    @property
    def has_root(self) -> np.ndarray:
        return ~np.all(np.isnan(self.roots[:, :, 0]), axis=1)

    def nearest_root(self, x: np.ndarray) -> np.ndarray:
        """For each member, the root closest to ``x[k]`` (NaN if none)."""
        dist = np.max(np.abs(self.roots - x[:, None, :]), axis=2)
        dist = np.where(np.isnan(dist), np.inf, dist)
        pick = np.argmin(dist, axis=1)
        return self.roots[np.arange(len(x)), pick]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# --------------------------------------------------- chemical equilibrium (n=4)
@jit(cache=True)
def equilibrium(x, p):
    """Two coupled equilibria A + B <=> C (K1), C + B <=> D (K2), in log-concentrations.

    x = log([A], [B], [C], [D]); p = (total A, total B, log K1, log K2). The
    mass balances are relative, so tol means a relative balance error.
    """
    cA = np.exp(x[0])
    cB = np.exp(x[1])
    cC = np.exp(x[2])
    cD = np.exp(x[3])
    out = np.empty(4, dtype=x.dtype)
    out[0] = (cA + cC + cD) / p[0] - 1.0
    out[1] = (cB + cC + 2.0 * cD) / p[1] - 1.0
    out[2] = x[2] - x[0] - x[1] - p[2]
    out[3] = x[3] - x[2] - x[1] - p[3]
    return out


def equilibrium_batch(N: int, seed=0, spread: float = 3.0) -> BatchProblem:
    """Members built from a drawn equilibrium state, so the root is known.

    Concentrations are log-uniform in [e^-4, e^1]; the constants and totals
    follow from them. Mass-action equilibria have exactly one positive
    solution per set of totals, so that state is the only root. Starts are
    the root shifted by up to ``spread`` in each log-concentration.
    """
    rng = _rng(seed)
    root = rng.uniform(-4.0, 1.0, size=(N, 4))
    c = np.exp(root)
    params = np.column_stack([c[:, 0] + c[:, 2] + c[:, 3],
                              c[:, 1] + c[:, 2] + 2.0 * c[:, 3],
                              root[:, 2] - root[:, 0] - root[:, 1],
                              root[:, 3] - root[:, 2] - root[:, 1]])
    x0 = root + rng.uniform(-spread, spread, size=(N, 4))
    return BatchProblem("chemical equilibrium (n=4)", equilibrium, x0, params, root[:, None, :])


# ------------------------------------------------- intersection of 3 spheres
@jit(cache=True)
def trilateration(x, p):
    """Point at distances p[9:12] from the anchors p[0:3], p[3:6], p[6:9]."""
    out = np.empty(3, dtype=x.dtype)
    for i in range(3):
        d0 = x[0] - p[3 * i]
        d1 = x[1] - p[3 * i + 1]
        d2 = x[2] - p[3 * i + 2]
        out[i] = d0 * d0 + d1 * d1 + d2 * d2 - p[9 + i] * p[9 + i]
    return out


def trilateration_batch(N: int, seed=0, spread: float = 0.5) -> BatchProblem:
    """Three spheres through a drawn point: two roots, the point and its
    mirror image in the plane of the anchors. Starts are the point plus a
    uniform shift of up to ``spread`` per coordinate."""
    rng = _rng(seed)
    anchors = rng.uniform(-1.0, 1.0, size=(N, 3, 3))
    point = rng.uniform(-2.0, 2.0, size=(N, 3))
    dist = np.linalg.norm(point[:, None, :] - anchors, axis=2)
    normal = np.cross(anchors[:, 1] - anchors[:, 0], anchors[:, 2] - anchors[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    height = np.einsum("ij,ij->i", point - anchors[:, 0], normal)
    mirror = point - 2.0 * height[:, None] * normal
    params = np.column_stack([anchors.reshape(N, 9), dist])
    x0 = point + rng.uniform(-spread, spread, size=(N, 3))
    return BatchProblem("intersection of three spheres (n=3)", trilateration, x0, params,
                        np.stack([point, mirror], axis=1))


# ------------------------------------------------ circle and line (some miss)
@jit(cache=True)
def circle_line(x, p):
    """x^2 + y^2 = R^2 and y = c, with p = (R, c): no root when |c| > R."""
    out = np.empty(2, dtype=x.dtype)
    out[0] = x[0] * x[0] + x[1] * x[1] - p[0] * p[0]
    out[1] = x[1] - p[1]
    return out


def circle_line_batch(N: int, seed=0, miss: float = 0.3) -> BatchProblem:
    """A fraction ``miss`` of the lines pass outside the circle (no root);
    the others cut it at (+-sqrt(R^2 - c^2), c). Starts in [0.1, 2]^2."""
    rng = _rng(seed)
    R = rng.uniform(0.5, 2.0, size=N)
    outside = rng.random(N) < miss
    c = np.where(outside, R * rng.uniform(1.05, 2.0, size=N), R * rng.uniform(-0.95, 0.95, size=N))
    c = np.where(outside & (rng.random(N) < 0.5), -c, c)
    half = np.sqrt(np.where(outside, np.nan, R * R - c * c))
    roots = np.stack([np.column_stack([half, c]), np.column_stack([-half, c])], axis=1)
    roots[outside] = np.nan
    x0 = rng.uniform(0.1, 2.0, size=(N, 2))
    return BatchProblem("circle and line (n=2, some without root)", circle_line, x0,
                        np.column_stack([R, c]), roots)
