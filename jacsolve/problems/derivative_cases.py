"""Differentiation test problems with analytic Jacobians.

All functions are written complex-safe for complex step (``z*z*z`` rather
than ``z**3``: numba evaluates complex ``z**k`` for k >= 3 through exp/log,
which puts rounding noise of ~1e-16 into the imaginary part).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._numba.options import jit
from .mgh import discrete_boundary_value, discrete_boundary_value_jac


@dataclass(frozen=True)
class DerivativeProblem:
    name: str
    fun: Callable
    jac: Callable            # analytic Jacobian, jac(x, *args) -> (m, n) or (n,)
    x0: np.ndarray
    args: tuple = ()
    kind: str = "square"     # square, tall, wide, scalar, banded
    hess: Callable = None    # analytic Hessian for scalar problems
    x_scale: object = 1.0    # typical magnitudes, for badly scaled problems
    sparsity: Callable = None


# ----------------------------------------------------------------- square 3x3
@jit(cache=True)
def chemistry(x, k1, k2, k3):
    """Robertson's stiff kinetics right-hand side (rates of very different size)."""
    out = np.empty(3, dtype=x.dtype)
    out[0] = -k1 * x[0] + k2 * x[1] * x[2]
    out[1] = k1 * x[0] - k2 * x[1] * x[2] - k3 * x[1] * x[1]
    out[2] = k3 * x[1] * x[1]
    return out


def chemistry_jac(x, k1, k2, k3):
    return np.array([[-k1, k2 * x[2], k2 * x[1]],
                     [k1, -k2 * x[2] - 2 * k3 * x[1], -k2 * x[1]],
                     [0.0, 2 * k3 * x[1], 0.0]])


# ------------------------------------------------------------------- tall 5x3
@jit(cache=True)
def trig_tall(x):
    out = np.empty(5, dtype=x.dtype)
    out[0] = np.sin(x[0]) * x[1]
    out[1] = np.cos(x[1]) * x[2]
    out[2] = np.exp(x[0] * x[2])
    out[3] = x[0] * x[1] * x[2]
    out[4] = np.log(1.0 + x[0] * x[0])
    return out


def trig_tall_jac(x):
    e = np.exp(x[0] * x[2])
    return np.array([[np.cos(x[0]) * x[1], np.sin(x[0]), 0.0],
                     [0.0, -np.sin(x[1]) * x[2], np.cos(x[1])],
                     [x[2] * e, 0.0, x[0] * e],
                     [x[1] * x[2], x[0] * x[2], x[0] * x[1]],
                     [2 * x[0] / (1 + x[0] ** 2), 0.0, 0.0]])


# -------------------------------------------------------------------- wide 2x6
@jit(cache=True)
def wide(x, w):
    out = np.zeros(2, dtype=x.dtype)
    for j in range(x.size):
        out[0] += w[j] * x[j] * x[j]
        out[1] += np.sin(w[j] * x[j])
    return out


def wide_jac(x, w):
    return np.vstack([2 * w * x, w * np.cos(w * x)])


# -------------------------------------------------------- scalar (Rosenbrock)
@jit(cache=True)
def rosenbrock(x):
    s = x[0] * 0.0
    for i in range(x.size - 1):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        s += 100.0 * a * a + b * b
    return s


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    g[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def rosenbrock_hess(x):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i, i + 1] += -400 * x[i]
        H[i + 1, i] += -400 * x[i]
        H[i + 1, i + 1] += 200
    return H


# ------------------------------- banded: discrete boundary value (MGH 28)
boundary_value = discrete_boundary_value


def boundary_value_jac(x):
    return discrete_boundary_value_jac(x)


def tridiagonal_pattern(n):
    return np.eye(n, dtype=bool) | np.eye(n, k=1, dtype=bool) | np.eye(n, k=-1, dtype=bool)


def boundary_value_start(n):
    t = np.arange(1, n + 1) / (n + 1)
    return t * (t - 1.0)


# --------------------------------------------- badly scaled: 1e8 and 1e-8
@jit(cache=True)
def badly_scaled(x):
    out = np.empty(3, dtype=x.dtype)
    out[0] = x[0] * x[1]
    out[1] = np.log(x[0]) + np.log(x[1])
    out[2] = np.exp(x[1] * 1e8) + np.sin(x[0] * 1e-8)
    return out


def badly_scaled_jac(x):
    return np.array([[x[1], x[0]],
                     [1 / x[0], 1 / x[1]],
                     [1e-8 * np.cos(x[0] * 1e-8), 1e8 * np.exp(x[1] * 1e8)]])


# ----------------------------------------------------------------- at x = 0
@jit(cache=True)
def at_zero(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = np.sin(x[0]) + x[1] * np.exp(x[0])
    out[1] = np.cosh(x[0]) * x[1] + np.tanh(x[1])
    return out


def at_zero_jac(x):
    return np.array([[np.cos(x[0]) + x[1] * np.exp(x[0]), np.exp(x[0])],
                     [np.sinh(x[0]) * x[1], np.cosh(x[0]) + 1 / np.cosh(x[1]) ** 2]])


PROBLEMS = {
    "chemistry": DerivativeProblem("chemistry", chemistry, chemistry_jac,
                                   np.array([0.9, 3.1e-5, 0.1]), (0.04, 1e4, 3e7)),
    "trig_tall": DerivativeProblem("trig_tall", trig_tall, trig_tall_jac,
                                   np.array([0.7, -1.3, 0.4]), kind="tall"),
    "wide": DerivativeProblem("wide", wide, wide_jac, np.linspace(-1.0, 2.0, 6),
                              (np.linspace(0.5, 3.0, 6),), kind="wide"),
    "rosenbrock": DerivativeProblem("rosenbrock", rosenbrock, rosenbrock_grad,
                                    np.array([-1.2, 1.0, 0.8, 1.3]), kind="scalar",
                                    hess=rosenbrock_hess),
    "boundary_value": DerivativeProblem("boundary_value", boundary_value, boundary_value_jac,
                                        boundary_value_start(50), kind="banded",
                                        sparsity=tridiagonal_pattern),
    "badly_scaled": DerivativeProblem("badly_scaled", badly_scaled, badly_scaled_jac,
                                      np.array([3e8, 2e-8]), kind="tall",
                                      x_scale=np.array([1e8, 1e-8])),
    "at_zero": DerivativeProblem("at_zero", at_zero, at_zero_jac, np.zeros(2)),
}
