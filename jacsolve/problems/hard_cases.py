"""Hard inputs for derivatives, each with its analytic Jacobian.

Scales far from 1, stiffness and fast oscillation, poles close by, values
near overflow and underflow, points on and next to a bound, badly scaled
mixes, catastrophic cancellation inside ``fun``, and functions that are not
complex-safe. Tests and the Jacobian benchmark share them: every method must
either be accurate on a case or say that it is not (see
``tests/test_hard_cases.py``).

Functions are complex-safe unless ``complex_safe`` is False (``z*z`` loops
rather than ``z**k``: numba's complex power goes through exp/log).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._numba.options import jit


@dataclass(frozen=True)
class HardCase:
    """A hard differentiation problem: ``fun(x)`` and its analytic ``jac(x)`` (m, n)."""
    name: str
    fun: Callable
    jac: Callable
    x0: np.ndarray
    bounds: tuple = None
    x_scale: object = 1.0
    complex_safe: bool = True
    what: str = ""
    # what complex step achieves (relative): 1e-13 unless fun's own rounding
    # or underflow limits it, as the case's ``what`` says
    complex_rtol: float = 1e-13


@jit(cache=True)
def tiny_scale(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = np.log(x[0]) * x[1]
    out[1] = np.sqrt(x[0]) + x[1] * x[1]
    return out


def tiny_scale_jac(x):
    return np.array([[x[1] / x[0], np.log(x[0])], [0.5 / np.sqrt(x[0]), 2.0 * x[1]]])


@jit(cache=True)
def stiff_oscillatory(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = np.exp(50.0 * x[0])
    out[1] = np.sin(200.0 * x[1]) + x[0]
    return out


def stiff_oscillatory_jac(x):
    return np.array([[50.0 * np.exp(50.0 * x[0]), 0.0], [1.0, 200.0 * np.cos(200.0 * x[1])]])


@jit(cache=True)
def fast_oscillation(x):
    out = np.empty(1, dtype=x.dtype)
    out[0] = np.sin(1e4 * x[0])
    return out


def fast_oscillation_jac(x):
    return np.array([[1e4 * np.cos(1e4 * x[0])]])


# sin(a x) with a times Richardson's first step (2**-4 at x ~ 1) = 32 * 2 pi:
# every halved step is a whole number of periods, so the quotients look
# converged; only a step off the sequence shows the alias
ALIAS_RATE = 64.0 * np.pi / 0.0625


@jit(cache=True)
def aliased_oscillation(x):
    out = np.empty(1, dtype=x.dtype)
    out[0] = np.sin(ALIAS_RATE * x[0])
    return out


def aliased_oscillation_jac(x):
    return np.array([[ALIAS_RATE * np.cos(ALIAS_RATE * x[0])]])


@jit(cache=True)
def pole_close(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = 1.0 / (x[0] - 1.0)
    out[1] = x[0] * x[1]
    return out


def pole_close_jac(x):
    d = x[0] - 1.0
    return np.array([[-1.0 / (d * d), 0.0], [x[1], x[0]]])


@jit(cache=True)
def exponential(x):
    out = np.empty(1, dtype=x.dtype)
    out[0] = np.exp(x[0])
    return out


def exponential_jac(x):
    return np.array([[np.exp(x[0])]])


@jit(cache=True)
def near_underflow(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = np.exp(-x[0])
    out[1] = 1e-300 * x[0] * x[1]
    return out


def near_underflow_jac(x):
    return np.array([[-np.exp(-x[0]), 0.0], [1e-300 * x[1], 1e-300 * x[0]]])


@jit(cache=True)
def sqrt_log_near_bound(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = np.sqrt(x[0])
    out[1] = np.log(x[0])
    return out


def sqrt_log_near_bound_jac(x):
    return np.array([[0.5 / np.sqrt(x[0])], [1.0 / x[0]]])


@jit(cache=True)
def badly_scaled_mix(x):
    out = np.empty(3, dtype=x.dtype)
    out[0] = x[0] * x[1]
    out[1] = np.exp(1e8 * x[1]) + x[2]
    out[2] = 1e-16 * x[0] * x[0] + x[2] * x[2]
    return out


def badly_scaled_mix_jac(x):
    return np.array([[x[1], x[0], 0.0],
                     [0.0, 1e8 * np.exp(1e8 * x[1]), 1.0],
                     [2e-16 * x[0], 0.0, 2.0 * x[2]]])


@jit(cache=True)
def cancellation(x):
    # (1 - cos x) / x**2 at small x: fun itself loses ~eps/x**2 to cancellation
    out = np.empty(1, dtype=x.dtype)
    out[0] = (1.0 - np.cos(x[0])) / (x[0] * x[0])
    return out


def cancellation_jac(x):
    # the series of d/dx (1 - cos x)/x**2 = sum_k>=1 (-1)**k 2k x**(2k-1) / (2k+2)!
    t, s = x[0], 0.0
    fact = 2.0  # (2k+2)! for k = 0
    for k in range(1, 12):
        fact *= (2 * k + 1) * (2 * k + 2)
        s += (-1) ** k * 2 * k * t ** (2 * k - 1) / fact
    return np.array([[s]])


@jit(cache=True)
def large_x(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = np.sin(x[0]) * np.cos(x[1])
    out[1] = np.exp(x[1] / 50.0)
    return out


def large_x_jac(x):
    return np.array([[np.cos(x[0]) * np.cos(x[1]), -np.sin(x[0]) * np.sin(x[1])],
                     [0.0, np.exp(x[1] / 50.0) / 50.0]])


@jit(cache=True)
def power_99(x):
    out = np.empty(1, dtype=x.dtype)
    p = x[0]
    for _ in range(98):
        p = p * x[0]
    out[0] = p
    return out


def power_99_jac(x):
    return np.array([[99.0 * x[0] ** 98]])


@jit(cache=True)
def not_complex_safe(x):
    # abs and max: complex step silently drops the imaginary part
    out = np.empty(2, dtype=x.dtype)
    out[0] = np.abs(x[0]) * x[1]
    out[1] = max(x[0].real, 0.5) * x[1] + x[0] * x[0]
    return out


def not_complex_safe_jac(x):
    return np.array([[np.sign(x[0]) * x[1], abs(x[0])],
                     [2.0 * x[0], max(x[0], 0.5)]])


def _case(name, x0, what, fun=None, **kw):
    """The case ``name`` of the function ``fun`` (default: the one named ``name``)."""
    g = globals()
    fun = fun or name
    return HardCase(name, g[fun], g[fun + "_jac"], np.array(x0, dtype=float), what=what, **kw)


CASES = {c.name: c for c in [
    _case("tiny_scale", [2e-8, 1.5], "a variable of size 2e-8 on which fun depends at its "
          "own scale (log, sqrt); default x_scale 1"),
    _case("stiff_oscillatory", [0.3, 0.2], "exp(50x) and sin(200y): steps of 0.1 see nothing"),
    _case("fast_oscillation", [0.3], "sin(1e4 x)"),
    _case("aliased_oscillation", [1.3], "sin(a x) whose period divides every step "
          "0.0625 / 2**k: halved steps all look converged"),
    _case("pole_close", [1.0 + 1e-5, 2.0], "a pole at distance 1e-5"),
    _case("near_overflow", [709.0], "exp(x) ~ 8e307: a step of 0.8 overflows",
          fun="exponential"),
    _case("near_underflow", [700.0, 3.0], "values ~1e-304 and 1e-300; complex step's "
          "imaginary parts h f' (~1e-322) underflow to subnormal numbers",
          complex_rtol=0.1),
    _case("exp_on_bound", [0.0], "exp at 0 with bounds (-0.1, 0): the first step is clipped",
          fun="exponential", bounds=(-0.1, 0.0)),
    _case("sqrt_log_near_bound", [1e-7], "sqrt and log 1e-7 above their bound 0",
          bounds=(0.0, np.inf)),
    _case("badly_scaled_mix", [3e8, 2e-8, 1.0], "variables of size 3e8, 2e-8 and 1, and fun "
          "varying on the scale 1e-8 in the second"),
    _case("cancellation", [1e-3], "(1 - cos x)/x**2: fun loses 2e-10 to cancellation, "
          "which the derivative (1e-7 of f/x) amplifies, for complex step too",
          complex_rtol=1e-3),
    _case("large_x", [100.0, -100.0], "|x| = 100: steps relative to |x| are too coarse"),
    _case("power_99", [7.0], "x**99 at 7: relative steps of 0.1 see exp(1.4)"),
    _case("not_complex_safe", [-1.5, 2.0], "abs and max: complex step is silently wrong",
          complex_safe=False),
]}
