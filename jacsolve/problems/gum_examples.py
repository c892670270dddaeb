"""The worked examples of JCGM 101:2008 (GUM Supplement 1), clause 9.

Each :class:`GumExample` holds a compiled measurement model (module-level
``@jit(cache=True)``, written complex-safe: products rather than powers) and
both input specifications:

* ``inputs``: the distributions assigned in JCGM 101 (for Monte Carlo);
* ``x``, ``u``, ``dof``, ``corr``: estimates, standard uncertainties,
  degrees of freedom and correlations used by the GUM uncertainty framework
  in the same clause.

Shared by tests, benchmarks and the demo, so each model compiles once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .._numba.options import jit
from ..uncertainty import distributions as D


@dataclass(frozen=True, eq=False)
class GumExample:
    name: str
    clause: str
    fun: Callable
    inputs: tuple
    x: np.ndarray
    u: np.ndarray
    p: float = 0.95
    dof: Optional[np.ndarray] = None    # inf where not given
    corr: Optional[np.ndarray] = None
    args: tuple = ()


# ------------------------------------------------------------------ 9.2
@jit(cache=True)
def additive(x):
    """Y = X1 + X2 + X3 + X4 (JCGM 101 9.2)."""
    return x[0] + x[1] + x[2] + x[3]


_R3 = np.sqrt(3.0)


def additive_normal() -> GumExample:
    """9.2.2: each X_i ~ N(0, 1)."""
    return GumExample("additive, normal inputs", "9.2.2", additive,
                      tuple(D.Normal(0.0, 1.0) for _ in range(4)), np.zeros(4), np.ones(4))


def additive_rectangular() -> GumExample:
    """9.2.3: each X_i rectangular with expectation 0 and standard deviation 1."""
    return GumExample("additive, rectangular inputs", "9.2.3", additive,
                      tuple(D.Rectangular(-_R3, _R3) for _ in range(4)), np.zeros(4), np.ones(4))


def additive_widths() -> GumExample:
    """9.2.4: X1..X3 rectangular with std 1, X4 rectangular with std 10."""
    ins = tuple(D.Rectangular(-_R3, _R3) for _ in range(3)) + (D.Rectangular(-10 * _R3, 10 * _R3),)
    return GumExample("additive, rectangular inputs of different widths", "9.2.4", additive,
                      ins, np.zeros(4), np.array([1.0, 1.0, 1.0, 10.0]))


# ------------------------------------------------------------------ 9.3
M_NOMINAL = 100_000.0   # mg
RHO_A0 = 1.2            # kg/m3


@jit(cache=True)
def mass_calibration(x):
    """Deviation from 100 g of the conventional mass of a weight, mg (JCGM 101 9.3).

    x = (m_Rc [mg], dm_Rc [mg], rho_a, rho_W, rho_R [kg/m3]).
    """
    return (x[0] + x[1]) * (1.0 + (x[2] - 1.2) * (1.0 / x[3] - 1.0 / x[4])) - 100_000.0


def mass() -> GumExample:
    """9.3: inputs of JCGM 101 Table 5."""
    ins = (D.Normal(100_000.000, 0.050), D.Normal(1.234, 0.020), D.Rectangular(1.10, 1.30),
           D.Rectangular(7.0e3, 9.0e3), D.Rectangular(7.95e3, 8.05e3))
    return GumExample("mass calibration", "9.3", mass_calibration, ins,
                      np.array([d.mean for d in ins]), np.array([d.std for d in ins]))


# ------------------------------------------------------------------ 9.4
@jit(cache=True)
def comparison_loss(x):
    """delta Y = X1**2 + X2**2, the comparison loss of JCGM 101 9.4 (|reflection coefficient|**2)."""
    return x[0] * x[0] + x[1] * x[1]


def microwave(x1: float, r: float) -> GumExample:
    """9.4: (X1, X2) bivariate normal, expectations (x1, 0), u = 0.005 each, correlation r."""
    u = np.array([0.005, 0.005])
    corr = np.array([[1.0, r], [r, 1.0]])
    ins = (D.MultivariateNormal.from_std([x1, 0.0], u, corr),)
    return GumExample(f"comparison loss, x1 = {x1}, r = {r}", "9.4", comparison_loss, ins,
                      np.array([x1, 0.0]), u, corr=corr)


# ------------------------------------------------------------------ 9.5
L_NOMINAL = 50_000_000.0   # nm


@jit(cache=True)
def gauge_block(x):
    """Deviation of the length of a 50 mm gauge block from nominal, nm (JCGM 101 9.5).

    x = (L_s, D_bar, D_1, D_2, alpha_s, theta_0, Delta, delta_alpha, delta_theta);
    L = [L_s (1 + alpha_s theta_s) + D] / (1 + alpha theta) with
    theta = theta_0 + Delta, theta_s = theta - delta_theta,
    alpha = alpha_s + delta_alpha, D = D_bar + D_1 + D_2. Written as
    [(L_s - L_nom) + L_s alpha_s theta_s + D - L_nom alpha theta] / (1 + alpha theta)
    to avoid cancelling 5e7 nm against 5e7 nm.
    """
    theta = x[5] + x[6]
    theta_s = theta - x[8]
    alpha = x[4] + x[7]
    d = x[1] + x[2] + x[3]
    num = (x[0] - 50_000_000.0) + x[0] * x[4] * theta_s + d - 50_000_000.0 * alpha * theta
    return num / (1.0 + alpha * theta)


def gauge() -> GumExample:
    """9.5: Monte Carlo inputs of JCGM 101 9.5; GUM framework inputs of GUM H.1 (as in 9.5)."""
    ins = (D.StudentT(50_000_623.0, 25.0, 18), D.StudentT(215.0, 5.8, 24), D.StudentT(0.0, 3.9, 5),
           D.StudentT(0.0, 6.7, 8), D.Rectangular(9.5e-6, 13.5e-6), D.Normal(-0.1, 0.2),
           D.Arcsine(-0.5, 0.5), D.CurvilinearTrapezoidal(-1.0e-6, 1.0e-6, 0.1e-6),
           D.CurvilinearTrapezoidal(-0.050, 0.050, 0.025))
    x = np.array([50_000_623.0, 215.0, 0.0, 0.0, 11.5e-6, -0.1, 0.0, 0.0, 0.0])
    u = np.array([25.0, 5.8, 3.9, 6.7, 1.2e-6, 0.2, 0.35, 0.58e-6, 0.029])
    dof = np.array([18, 24, 5, 8, np.inf, np.inf, np.inf, 50, 2], dtype=float)
    return GumExample("gauge block calibration", "9.5", gauge_block, ins, x, u, p=0.99, dof=dof)


def all_examples():
    return [additive_normal(), additive_rectangular(), additive_widths(), mass(),
            microwave(0.0, 0.0), microwave(0.010, 0.0), microwave(0.050, 0.0),
            microwave(0.0, 0.9), microwave(0.010, 0.9), microwave(0.050, 0.9), gauge()]
