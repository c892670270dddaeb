"""The Moré-Garbow-Hillstrom systems of MINPACK's test driver for hybrd/hybrj.

Moré, Garbow and Hillstrom, "Testing unconstrained optimization software",
ACM TOMS 7 (1981), and MINPACK's ``vecfcn``/``vecjac``/``initpt``. Fourteen
square systems F(x) = 0, each started from the standard point and from 10x
and 100x that point (for Watson, whose standard start is 0, x_j = factor),
in the combinations MINPACK's driver uses: :func:`cases` returns those 55.

Residuals are ``@jit(cache=True)`` and complex-safe (complex ``z**k`` with
k >= 3 is written ``z*z*z``; the helical valley's branch tests the real
part), so complex-step Jacobians are exact. Every problem also has its
analytic Jacobian, compiled the same way. :data:`NO_ROOT` is a small system
without any root; Chebyquad with n = 8 has none either.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List

import numpy as np

from .._numba.options import jit

__all__ = ["MGHProblem", "MGHCase", "PROBLEMS", "cases", "NO_ROOT", "no_root"]

TWO_PI = 2.0 * np.pi


# ------------------------------------------------------------ 1. Rosenbrock
@jit(cache=True)
def rosenbrock(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = 1.0 - x[0]
    out[1] = 10.0 * (x[1] - x[0] * x[0])
    return out


@jit(cache=True)
def rosenbrock_jac(x):
    return np.array([[-1.0, 0.0],
                     [-20.0 * x[0], 10.0]])


# ------------------------------------------------------- 2. Powell singular
@jit(cache=True)
def powell_singular(x):
    out = np.empty(4, dtype=x.dtype)
    a = x[1] - 2.0 * x[2]
    b = x[0] - x[3]
    out[0] = x[0] + 10.0 * x[1]
    out[1] = np.sqrt(5.0) * (x[2] - x[3])
    out[2] = a * a
    out[3] = np.sqrt(10.0) * b * b
    return out


@jit(cache=True)
def powell_singular_jac(x):
    a = 2.0 * (x[1] - 2.0 * x[2])
    b = 2.0 * np.sqrt(10.0) * (x[0] - x[3])
    return np.array([[1.0, 10.0, 0.0, 0.0],
                     [0.0, 0.0, np.sqrt(5.0), -np.sqrt(5.0)],
                     [0.0, a, -2.0 * a, 0.0],
                     [b, 0.0, 0.0, -b]])


# -------------------------------------------------- 3. Powell badly scaled
@jit(cache=True)
def powell_badly_scaled(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = 1e4 * x[0] * x[1] - 1.0
    out[1] = np.exp(-x[0]) + np.exp(-x[1]) - 1.0001
    return out


@jit(cache=True)
def powell_badly_scaled_jac(x):
    return np.array([[1e4 * x[1], 1e4 * x[0]],
                     [-np.exp(-x[0]), -np.exp(-x[1])]])


# ----------------------------------------------------------------- 4. Wood
@jit(cache=True)
def wood(x):
    out = np.empty(4, dtype=x.dtype)
    t1 = x[1] - x[0] * x[0]
    t2 = x[3] - x[2] * x[2]
    out[0] = -200.0 * x[0] * t1 - (1.0 - x[0])
    out[1] = 200.0 * t1 + 20.2 * (x[1] - 1.0) + 19.8 * (x[3] - 1.0)
    out[2] = -180.0 * x[2] * t2 - (1.0 - x[2])
    out[3] = 180.0 * t2 + 20.2 * (x[3] - 1.0) + 19.8 * (x[1] - 1.0)
    return out


@jit(cache=True)
def wood_jac(x):
    t1 = x[1] - 3.0 * x[0] * x[0]
    t2 = x[3] - 3.0 * x[2] * x[2]
    return np.array([[-200.0 * t1 + 1.0, -200.0 * x[0], 0.0, 0.0],
                     [-400.0 * x[0], 220.2, 0.0, 19.8],
                     [0.0, 0.0, -180.0 * t2 + 1.0, -180.0 * x[2]],
                     [0.0, 19.8, -360.0 * x[2], 200.2]])


# -------------------------------------------------------- 5. helical valley
@jit(cache=True)
def helical_valley(x):
    out = np.empty(3, dtype=x.dtype)
    # the branch tests the real part only, so complex step stays exact
    if x[0].real > 0.0:
        theta = np.arctan(x[1] / x[0]) / TWO_PI
    elif x[0].real < 0.0:
        theta = np.arctan(x[1] / x[0]) / TWO_PI + 0.5
    else:
        theta = 0.0 * x[1] + (0.25 if x[1].real >= 0.0 else -0.25)
    out[0] = 10.0 * (x[2] - 10.0 * theta)
    out[1] = 10.0 * (np.sqrt(x[0] * x[0] + x[1] * x[1]) - 1.0)
    out[2] = x[2]
    return out


@jit(cache=True)
def helical_valley_jac(x):
    J = np.zeros((3, 3))
    r2 = x[0] * x[0] + x[1] * x[1]
    r = np.sqrt(r2)
    J[0, 0] = 100.0 * x[1] / (TWO_PI * r2)
    J[0, 1] = -100.0 * x[0] / (TWO_PI * r2)
    J[0, 2] = 10.0
    J[1, 0] = 10.0 * x[0] / r
    J[1, 1] = 10.0 * x[1] / r
    J[2, 2] = 1.0
    return J


# ---------------------------------------------------------------- 6. Watson
@jit(cache=True)
def watson(x):
    n = x.size
    out = np.zeros(n, dtype=x.dtype)
    for i in range(1, 30):
        ti = i / 29.0
        sum1 = 0.0 * x[0]
        t = 1.0
        for j in range(1, n):
            sum1 += j * t * x[j]
            t *= ti
        sum2 = 0.0 * x[0]
        t = 1.0
        for j in range(n):
            sum2 += t * x[j]
            t *= ti
        t1 = sum1 - sum2 * sum2 - 1.0
        t2 = 2.0 * ti * sum2
        t = 1.0 / ti
        for k in range(n):
            out[k] += t * (k - t2) * t1
            t *= ti
    t = x[1] - x[0] * x[0] - 1.0
    out[0] += x[0] * (1.0 - 2.0 * t)
    out[1] += t
    return out


@jit(cache=True)
def watson_jac(x):
    n = x.size
    J = np.zeros((n, n))
    for i in range(1, 30):
        ti = i / 29.0
        sum1 = 0.0
        t = 1.0
        for j in range(1, n):
            sum1 += j * t * x[j]
            t *= ti
        sum2 = 0.0
        t = 1.0
        for j in range(n):
            sum2 += t * x[j]
            t *= ti
        t1 = 2.0 * (sum1 - sum2 * sum2 - 1.0)
        t2 = 2.0 * sum2
        tsq = ti * ti
        tk = 1.0
        for k in range(n):
            tj = tk
            for j in range(k, n):
                J[k, j] += tj * ((k / ti - t2) * (j / ti - t2) - t1)
                tj *= ti
            tk *= tsq
    J[0, 0] += 6.0 * x[0] * x[0] - 2.0 * x[1] + 3.0
    J[0, 1] -= 2.0 * x[0]
    J[1, 1] += 1.0
    for k in range(n):
        for j in range(k, n):
            J[j, k] = J[k, j]
    return J


# ------------------------------------------------------------- 7. Chebyquad
@jit(cache=True)
def chebyquad(x):
    n = x.size
    out = np.zeros(n, dtype=x.dtype)
    for j in range(n):
        t1 = 1.0 + 0.0 * x[j]
        t2 = 2.0 * x[j] - 1.0
        t = 2.0 * t2
        for i in range(n):
            out[i] += t2
            ti = t * t2 - t1
            t1 = t2
            t2 = ti
    for k in range(n):
        out[k] /= n
        if k % 2 == 1:  # even Chebyshev polynomials integrate to -1/(k^2 - 1)
            out[k] += 1.0 / ((k + 1) ** 2 - 1.0)
    return out


@jit(cache=True)
def chebyquad_jac(x):
    n = x.size
    J = np.empty((n, n))
    tk = 1.0 / n
    for j in range(n):
        t1 = 1.0
        t2 = 2.0 * x[j] - 1.0
        t = 2.0 * t2
        t3 = 0.0
        t4 = 2.0
        for k in range(n):
            J[k, j] = tk * t4
            ti = 4.0 * t2 + t * t4 - t3
            t3 = t4
            t4 = ti
            ti = t * t2 - t1
            t1 = t2
            t2 = ti
    return J


# ------------------------------------------------- 8. Brown almost-linear
@jit(cache=True)
def brown_almost_linear(x):
    n = x.size
    s = x[0] * 0.0 - (n + 1.0)
    prod = 1.0 + 0.0 * x[0]
    for j in range(n):
        s += x[j]
        prod *= x[j]
    out = np.empty(n, dtype=x.dtype)
    for k in range(n):
        out[k] = x[k] + s
    out[n - 1] = prod - 1.0
    return out


@jit(cache=True)
def brown_almost_linear_jac(x):
    n = x.size
    J = np.ones((n, n))
    for j in range(n):
        J[j, j] = 2.0
    for j in range(n):
        prod = 1.0
        for k in range(n):
            if k != j:
                prod *= x[k]
        J[n - 1, j] = prod
    return J


# --------------------------------------------- 9. discrete boundary value
@jit(cache=True)
def discrete_boundary_value(x):
    n = x.size
    h = 1.0 / (n + 1)
    out = np.empty(n, dtype=x.dtype)
    for k in range(n):
        c = x[k] + (k + 1) * h + 1.0
        left = x[k - 1] if k > 0 else 0.0 * x[k]
        right = x[k + 1] if k < n - 1 else 0.0 * x[k]
        out[k] = 2.0 * x[k] - left - right + 0.5 * h * h * c * c * c
    return out


@jit(cache=True)
def tridiagonal(diagonal, below, above):
    """The matrix with ``diagonal`` and the constants ``below`` and ``above`` beside it."""
    n = diagonal.size
    J = np.zeros((n, n))
    for k in range(n):
        J[k, k] = diagonal[k]
        if k > 0:
            J[k, k - 1] = below
        if k < n - 1:
            J[k, k + 1] = above
    return J


@jit(cache=True)
def discrete_boundary_value_jac(x):
    n = x.size
    h = 1.0 / (n + 1)
    c = x + np.arange(1, n + 1) * h + 1.0
    return tridiagonal(2.0 + 1.5 * h * h * c * c, -1.0, -1.0)


# ------------------------------------------ 10. discrete integral equation
@jit(cache=True)
def discrete_integral_equation(x):
    n = x.size
    h = 1.0 / (n + 1)
    out = np.empty(n, dtype=x.dtype)
    for k in range(n):
        tk = (k + 1) * h
        sum1 = 0.0 * x[0]
        for j in range(k + 1):
            tj = (j + 1) * h
            c = x[j] + tj + 1.0
            sum1 += tj * c * c * c
        sum2 = 0.0 * x[0]
        for j in range(k + 1, n):
            tj = (j + 1) * h
            c = x[j] + tj + 1.0
            sum2 += (1.0 - tj) * c * c * c
        out[k] = x[k] + 0.5 * h * ((1.0 - tk) * sum1 + tk * sum2)
    return out


@jit(cache=True)
def discrete_integral_equation_jac(x):
    n = x.size
    h = 1.0 / (n + 1)
    J = np.empty((n, n))
    for k in range(n):
        tk = (k + 1) * h
        for j in range(n):
            tj = (j + 1) * h
            c = x[j] + tj + 1.0
            J[k, j] = 1.5 * h * min(tj * (1.0 - tk), tk * (1.0 - tj)) * c * c
        J[k, k] += 1.0
    return J


# ------------------------------------------------------- 11. trigonometric
@jit(cache=True)
def trigonometric(x):
    n = x.size
    c = np.cos(x)
    s = c.sum()
    out = np.empty(n, dtype=x.dtype)
    for k in range(n):
        out[k] = (n + k + 1.0) - np.sin(x[k]) - s - (k + 1.0) * c[k]
    return out


@jit(cache=True)
def trigonometric_jac(x):
    n = x.size
    J = np.empty((n, n))
    for j in range(n):
        sj = np.sin(x[j])
        for k in range(n):
            J[k, j] = sj
        J[j, j] = (j + 2.0) * sj - np.cos(x[j])
    return J


# ------------------------------------------------ 12. variably dimensioned
@jit(cache=True)
def variably_dimensioned(x):
    n = x.size
    s = 0.0 * x[0]
    for j in range(n):
        s += (j + 1.0) * (x[j] - 1.0)
    t = s * (1.0 + 2.0 * s * s)
    out = np.empty(n, dtype=x.dtype)
    for k in range(n):
        out[k] = x[k] - 1.0 + (k + 1.0) * t
    return out


@jit(cache=True)
def variably_dimensioned_jac(x):
    n = x.size
    s = 0.0
    for j in range(n):
        s += (j + 1.0) * (x[j] - 1.0)
    t = 1.0 + 6.0 * s * s
    J = np.empty((n, n))
    for k in range(n):
        for j in range(n):
            J[k, j] = (k + 1.0) * (j + 1.0) * t
        J[k, k] += 1.0
    return J


# --------------------------------------------------- 13. Broyden tridiagonal
@jit(cache=True)
def broyden_tridiagonal(x):
    n = x.size
    out = np.empty(n, dtype=x.dtype)
    for k in range(n):
        left = x[k - 1] if k > 0 else 0.0 * x[k]
        right = x[k + 1] if k < n - 1 else 0.0 * x[k]
        out[k] = (3.0 - 2.0 * x[k]) * x[k] - left - 2.0 * right + 1.0
    return out


@jit(cache=True)
def broyden_tridiagonal_jac(x):
    return tridiagonal(3.0 - 4.0 * x, -1.0, -2.0)


# ------------------------------------------------------ 14. Broyden banded
@jit(cache=True)
def broyden_banded(x):
    n = x.size
    out = np.empty(n, dtype=x.dtype)
    for k in range(n):
        t = 0.0 * x[k]
        for j in range(max(0, k - 5), min(k + 2, n)):
            if j != k:
                t += x[j] * (1.0 + x[j])
        out[k] = x[k] * (2.0 + 5.0 * x[k] * x[k]) + 1.0 - t
    return out


@jit(cache=True)
def broyden_banded_jac(x):
    n = x.size
    J = np.zeros((n, n))
    for k in range(n):
        for j in range(max(0, k - 5), min(k + 2, n)):
            if j != k:
                J[k, j] = -(1.0 + 2.0 * x[j])
        J[k, k] = 2.0 + 15.0 * x[k] * x[k]
    return J


# ---------------------------------------------------------- a case with no root
@jit(cache=True)
def no_root(x):
    """F = (x0^2 + 1, x1 - x0): |F| >= 1 everywhere, least at x = (0, 0)."""
    out = np.empty(2, dtype=x.dtype)
    out[0] = x[0] * x[0] + 1.0
    out[1] = x[1] - x[0]
    return out


# --------------------------------------------------------------- the library
def _start(name: str, n: int) -> np.ndarray:
    j = np.arange(1, n + 1, dtype=np.float64)
    if name == "rosenbrock":
        return np.array([-1.2, 1.0])
    if name == "powell_singular":
        return np.array([3.0, -1.0, 0.0, 1.0])
    if name == "powell_badly_scaled":
        return np.array([0.0, 1.0])
    if name == "wood":
        return np.array([-3.0, -1.0, -3.0, -1.0])
    if name == "helical_valley":
        return np.array([-1.0, 0.0, 0.0])
    if name == "watson":
        return np.zeros(n)
    if name == "chebyquad":
        return j / (n + 1)
    if name == "brown_almost_linear":
        return np.full(n, 0.5)
    if name in ("discrete_boundary_value", "discrete_integral_equation"):
        t = j / (n + 1)
        return t * (t - 1.0)
    if name == "trigonometric":
        return np.full(n, 1.0 / n)
    if name == "variably_dimensioned":
        return 1.0 - j / n
    if name in ("broyden_tridiagonal", "broyden_banded"):
        return np.full(n, -1.0)
    raise KeyError(name)


@dataclass(frozen=True)
class MGHProblem:
    """One MGH system: residual, analytic Jacobian, and its standard start."""
    name: str
    fun: Callable
    jac: Callable
    fixed_n: int = 0  # 0: variable dimension

    def start(self, n: int = 0, factor: float = 1.0) -> np.ndarray:
        """MINPACK's ``initpt``: factor times the standard start (x_j = factor
        when the standard start is 0)."""
        x = _start(self.name, self.fixed_n or n)
        if factor == 1.0:
            return x
        return np.full(x.size, float(factor)) if not np.any(x) else factor * x


@dataclass(frozen=True)
class MGHCase:
    """A problem, a dimension and a start: one row of MINPACK's test driver."""
    problem: MGHProblem
    n: int
    factor: float
    x0: np.ndarray

    @property
    def name(self) -> str:
        return f"{self.problem.name} n={self.n} x{self.factor:g}"

    @property
    def fun(self):
        return self.problem.fun


PROBLEMS = {p.name: p for p in [
    MGHProblem("rosenbrock", rosenbrock, rosenbrock_jac, 2),
    MGHProblem("powell_singular", powell_singular, powell_singular_jac, 4),
    MGHProblem("powell_badly_scaled", powell_badly_scaled, powell_badly_scaled_jac, 2),
    MGHProblem("wood", wood, wood_jac, 4),
    MGHProblem("helical_valley", helical_valley, helical_valley_jac, 3),
    MGHProblem("watson", watson, watson_jac),
    MGHProblem("chebyquad", chebyquad, chebyquad_jac),
    MGHProblem("brown_almost_linear", brown_almost_linear, brown_almost_linear_jac),
    MGHProblem("discrete_boundary_value", discrete_boundary_value,
               discrete_boundary_value_jac),
    MGHProblem("discrete_integral_equation", discrete_integral_equation,
               discrete_integral_equation_jac),
    MGHProblem("trigonometric", trigonometric, trigonometric_jac),
    MGHProblem("variably_dimensioned", variably_dimensioned, variably_dimensioned_jac),
    MGHProblem("broyden_tridiagonal", broyden_tridiagonal, broyden_tridiagonal_jac),
    MGHProblem("broyden_banded", broyden_banded, broyden_banded_jac),
]}

# MINPACK's hybrd/hybrj test driver: (problem, n, number of starts 1x, 10x, 100x)
DRIVER = [
    ("rosenbrock", 2, 3), ("powell_singular", 4, 3), ("powell_badly_scaled", 2, 2),
    ("wood", 4, 3), ("helical_valley", 3, 3), ("watson", 6, 2), ("watson", 9, 2),
    ("chebyquad", 5, 3), ("chebyquad", 6, 3), ("chebyquad", 7, 3), ("chebyquad", 8, 1),
    ("chebyquad", 9, 1), ("brown_almost_linear", 10, 3), ("brown_almost_linear", 30, 1),
    ("brown_almost_linear", 40, 1), ("discrete_boundary_value", 10, 3),
    ("discrete_integral_equation", 1, 3), ("discrete_integral_equation", 10, 3),
    ("trigonometric", 10, 3), ("variably_dimensioned", 10, 3),
    ("broyden_tridiagonal", 10, 3), ("broyden_banded", 10, 3),
]


def cases() -> List[MGHCase]:
    """The 55 (problem, n, start) cases of MINPACK's test driver."""
    out = []
    for name, n, tries in DRIVER:
        prob = PROBLEMS[name]
        for k in range(tries):
            factor = 10.0 ** k
            out.append(MGHCase(prob, n, factor, prob.start(n, factor)))
    return out


NO_ROOT = MGHCase(MGHProblem("no_root", no_root, None, 2), 2, 1.0, np.array([1.5, -0.5]))
