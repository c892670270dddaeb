"""Measurement models shared by the uncertainty tests and benchmarks.

Written complex-safe (``z*z`` rather than ``z**2`` where it matters) so that
complex-step sensitivities are exact to rounding.
"""
from __future__ import annotations

import numpy as np

from .._numba.options import jit


@jit(cache=True)
def ten_inputs(x):
    """A 10-input scalar model: products, ratios, sin, exp and log."""
    return (x[0] * x[1] / x[2] + x[3] * np.sin(x[4]) + np.exp(x[5] / 10.0) * x[6]
            - x[7] * x[7] / x[8] + np.log(x[9]))


def ten_inputs_uncertainties(v, umath):
    """The same model on ``uncertainties`` objects (``umath`` passed in: optional package)."""
    return (v[0] * v[1] / v[2] + v[3] * umath.sin(v[4]) + umath.exp(v[5] / 10.0) * v[6]
            - v[7] * v[7] / v[8] + umath.log(v[9]))


@jit(cache=True)
def ten_inputs_three_outputs(x):
    """10 inputs, 3 outputs (for full output covariance)."""
    out = np.empty(3, dtype=x.dtype)
    out[0] = x[0] * x[1] / x[2] + x[3] * np.sin(x[4])
    out[1] = np.exp(x[5] / 10.0) * x[6] - x[7] * x[7] / x[8]
    out[2] = np.log(x[9]) + x[0] * x[5]
    return out


def ten_inputs_three_outputs_uncertainties(v, umath):
    return [v[0] * v[1] / v[2] + v[3] * umath.sin(v[4]),
            umath.exp(v[5] / 10.0) * v[6] - v[7] * v[7] / v[8],
            umath.log(v[9]) + v[0] * v[5]]


TEN_X = np.linspace(1.0, 2.0, 10)
TEN_U = 0.01 * TEN_X


def ten_corr(rho: float = 0.3) -> np.ndarray:
    """Equicorrelated 10 x 10 correlation matrix (positive definite for rho > -1/9)."""
    r = np.full((10, 10), rho)
    np.fill_diagonal(r, 1.0)
    return r


@jit(cache=True)
def product_ratio_sum(x):
    """[x0 x1, x0 / x1, x0 + x1]: closed-form sensitivities."""
    out = np.empty(3, dtype=x.dtype)
    out[0] = x[0] * x[1]
    out[1] = x[0] / x[1]
    out[2] = x[0] + x[1]
    return out


# ------------------------------------------------------------ implicit models
@jit(cache=True)
def root_pair(y, x):
    """F(y, x) = [y0 y1 - x0, y0 / y1 - x1]: y0 = sqrt(x0 x1), y1 = sqrt(x0 / x1)."""
    return np.array([y[0] * y[1] - x[0], y[0] / y[1] - x[1]])


@jit(cache=True)
def root_pair_explicit(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = np.sqrt(x[0] * x[1])
    out[1] = np.sqrt(x[0] / x[1])
    return out
