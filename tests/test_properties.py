"""Property-based tests of the public entry points (hypothesis, fixed seed: see conftest.py).

Every property compares a result with an independent reference and a tolerance derived
from rounding (eps, the method's step) or from a standard error, never tuned:

* affine maps ``A x + b``: every Jacobian method and ``jvp`` are exact up to the rounding
  of the evaluations divided by the step; ``propagate`` gives ``A V A^T``;
* a quadratic model: second-order propagation gives the Gaussian-moment closed form;
* ``solve`` / ``solve_batch``: ``success`` implies ``max|F(x)| <= tol`` at the returned x,
  re-evaluated here;
* ``propagate_mc``: mean and std against the analytic values within a few standard
  errors; with ``digits=`` within twice the JCGM 101 7.9 numerical tolerance;
* ``integrate`` / ``integrate_mc``: ``success`` implies the tolerance holds against closed
  forms (monomials over boxes, balls, disks, simplices), and the integral of 1 is the volume;
* bad input gives a result or a ValueError / TypeError naming the argument, never a raw
  numba, numpy or index error.

All user functions are module-level numba functions, so each compiles once per process.
"""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numba.core.errors import NumbaPendingDeprecationWarning
from scipy import special, stats

import jacsolve
from jacsolve import Status
from jacsolve import distributions as D
from jacsolve.integration import regions as R
from jacsolve.problems.integral_cases import monomial

EPS = np.finfo(float).eps
FAST = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
JACSOLVE_WARNINGS = (jacsolve.DerivativeAccuracyWarning, jacsolve.IntegrationWarning,
                     jacsolve.NonFiniteWarning, jacsolve.NonlinearityWarning,
                     jacsolve.PerformanceWarning)


def gamma_(k: int) -> float:
    """Higham's gamma_k = k eps / (1 - k eps): a bound on the relative rounding of a sum
    or dot product of k terms, whatever the order of summation."""
    return k * EPS / (1 - k * EPS)


# ------------------------------------------------------------------ model functions
@jacsolve.jit
def affine(x, a, b):
    """A x + b with A given row-major in a (complex-safe)."""
    m = b.size
    n = x.size
    out = np.empty(m, dtype=x.dtype)
    for i in range(m):
        s = x[0] * 0.0 + b[i]
        for j in range(n):
            s = s + a[i * n + j] * x[j]
        out[i] = s
    return out


@jacsolve.jit
def linear_scalar(x, a, c):
    """c + a . x (a scalar model)."""
    s = x[0] * 0.0 + c
    for j in range(x.size):
        s = s + a[j] * x[j]
    return s


@jacsolve.jit
def quadratic(x, a, q, c):
    """c + a . x + x^T Q x / 2 with Q symmetric, row-major in q (complex-safe)."""
    n = x.size
    s = x[0] * 0.0 + c
    for i in range(n):
        s = s + a[i] * x[i]
        for j in range(n):
            s = s + 0.5 * q[i * n + j] * x[i] * x[j]
    return s


@jacsolve.jit
def cubic_system(x, a, b, k):
    """F(x) = A x + b + k x^3 (elementwise cube): square, affine for k = 0."""
    n = x.size
    out = np.empty(n, dtype=x.dtype)
    for i in range(n):
        s = b[i] + k * x[i] * x[i] * x[i]
        for j in range(n):
            s = s + a[i * n + j] * x[j]
        out[i] = s
    return out


@jacsolve.jit
def cubic_system_p(x, p):
    """cubic_system with (A, b, k) packed in one parameter row of length n^2 + n + 1."""
    n = x.size
    out = np.empty(n, dtype=x.dtype)
    for i in range(n):
        s = p[n * n + i] + p[n * n + n] * x[i] * x[i] * x[i]
        for j in range(n):
            s = s + p[i * n + j] * x[j]
        out[i] = s
    return out


# ------------------------------------------------------------------ strategies
def finite(lo=-10.0, hi=10.0):
    """Floats in [lo, hi], those below 1e-6 in magnitude set to 0 (so that products of a
    few of them never underflow)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(
        lambda v: 0.0 if abs(v) < 1e-6 else v)


@st.composite
def vectors(draw, n, lo=-10.0, hi=10.0):
    return np.array(draw(st.lists(finite(lo, hi), min_size=n, max_size=n)), dtype=float)


@st.composite
def matrix(draw, m, n, lo=-10.0, hi=10.0):
    return draw(vectors(m * n, lo, hi)).reshape(m, n)


@st.composite
def covariances(draw, n):
    """A random covariance V = L L^T (rank may be < n)."""
    L = draw(matrix(n, draw(st.integers(1, n)), -2.0, 2.0))
    return L @ L.T


def raises_naming(exc, names) -> bool:
    """Whether the message of exc names one of names (as a word)."""
    text = str(exc)
    return any(re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text) for name in names)


# ------------------------------------------------------------------ Jacobians
DIFF_WEIGHT = {"forward": 2.0, "central": 1.0}   # sum |stencil weights| * h
ONE_SIDED_WEIGHT = 4.0                             # (3, 4, 1) / 2 at a bound
DEFAULT_REL = {"forward": EPS ** 0.5, "central": EPS ** (1 / 3)}


def difference_bound(A, b, x, h, weight):
    """|J - A| for a difference quotient of the affine map: each evaluation of row i at a
    point z is off by at most gamma_{n+1} S_i(z), S_i(z) = sum_k |a_ik z_k| + |b_i|, and
    the stencil's weights sum to weight / h_j (the divisor is the step actually taken)."""
    n = x.size
    S = np.abs(A) @ np.abs(x) + np.abs(b)
    far = S[:, None] + 2.0 * np.abs(A) * h[None, :]        # S_i at a point 2 h_j away
    return weight * gamma_(n + 1) * far / h[None, :] + 4 * EPS * np.abs(A)


@FAST
@given(data=st.data(), method=st.sampled_from(["central", "forward", "complex", "richardson"]),
       where=st.sampled_from(["inside", "at_lower", "sparse"]))
def test_affine_jacobian_is_exact(data, method, where):
    n = data.draw(st.integers(1, 6), "n")
    m = data.draw(st.integers(1, 6), "m")
    A = data.draw(matrix(m, n), "A")
    if data.draw(st.booleans(), "zeros"):
        A[np.abs(A) < 5.0] = 0.0
    b = data.draw(vectors(m), "b")
    x = data.draw(vectors(n, -100.0, 100.0), "x")
    args = (A.ravel().copy(), b)
    kw = {}
    if where == "at_lower" and method in DIFF_WEIGHT:
        kw["bounds"] = (x.copy(), x + 10.0)
    if where == "sparse" and method in DIFF_WEIGHT:
        kw["sparsity"] = A != 0
    J, info = jacsolve.jacobian(affine, x, args=args, method=method, full_output=True, **kw)
    if "sparsity" in kw:
        J = J.toarray()
    J = J.reshape(m, n)
    assert info.success and info.status == Status.SUCCESS
    err = np.abs(J - A)
    if method == "complex":
        # the imaginary part is a_ij h exactly up to two roundings (times, then divide)
        assert np.all(err <= 4 * EPS * np.abs(A) + 1e-290), err
    elif method == "richardson":
        assert info.converged.all()
        assert np.all(err <= info.error), (err, info.error)
    else:
        h = DEFAULT_REL[method] * np.maximum(np.abs(x), 1.0)
        h = (x + h) - x
        weight = ONE_SIDED_WEIGHT if "bounds" in kw else DIFF_WEIGHT[method]
        assert np.all(err <= difference_bound(A, b, x, h, weight)), err


@FAST
@given(data=st.data(), method=st.sampled_from(["complex", "central", "forward"]))
def test_affine_jvp_is_exact(data, method):
    n = data.draw(st.integers(1, 6), "n")
    m = data.draw(st.integers(1, 6), "m")
    A = data.draw(matrix(m, n), "A")
    b = data.draw(vectors(m), "b")
    x = data.draw(vectors(n, -100.0, 100.0), "x")
    v = data.draw(vectors(n), "v")
    out = jacsolve.jvp(affine, x, v, args=(A.ravel().copy(), b), method=method)
    err = np.abs(out - A @ v)
    Av = np.abs(A) @ np.abs(v)
    if method == "complex":
        # Im sum_k a_ik (x_k + i t v_k) = t sum_k a_ik v_k: a dot product of n terms
        assert np.all(err <= 2 * gamma_(n + 1) * Av + 1e-290)
        return
    # the step t along v: the largest relative move of a variable is the default rel_step
    wmax = np.max(np.abs(v) / np.maximum(1.0, np.abs(x)))
    if wmax == 0:
        assert np.all(out == 0)
        return
    t = DEFAULT_REL[method] / wmax
    S = np.abs(A) @ (np.abs(x) + t * np.abs(v)) + np.abs(b)
    # two evaluations, each off by gamma_{n+1} S_i, plus the rounding of the points x + t v
    bound = (2 * gamma_(n + 1) * S + 2 * EPS * (np.abs(A) @ (np.abs(x) + t * np.abs(v)))) / t
    assert np.all(err <= bound + 4 * EPS * Av), (err, bound)


# ------------------------------------------------------------------ GUM propagation
@FAST
@given(data=st.data(), form=st.sampled_from(["cov", "u_corr", "u"]))
def test_linear_propagation_is_jvjt(data, form):
    n = data.draw(st.integers(1, 6), "n")
    m = data.draw(st.integers(1, 4), "m")
    A = data.draw(matrix(m, n), "A")
    b = data.draw(vectors(m), "b")
    x = data.draw(vectors(n, -100.0, 100.0), "x")
    V = data.draw(covariances(n), "V")
    kw = {}
    if form == "cov":
        kw["cov"] = V
    else:
        u = np.sqrt(np.diag(V))
        kw["u"] = u
        if form == "u_corr":
            d = np.where(u > 0, u, 1.0)
            C = V / np.outer(d, d)
            C = np.clip((C + C.T) / 2, -1.0, 1.0)
            np.fill_diagonal(C, 1.0)
            if np.linalg.eigvalsh(C)[0] < 0:          # rounding made it indefinite
                C = np.eye(n)
            kw["corr"] = C
            V = np.outer(u, u) * C
        else:
            V = np.diag(u * u)
    r = jacsolve.propagate(affine, x, args=(A.ravel().copy(), b), **kw)
    assert r.success
    exact = A @ V @ A.T
    # J is exact to rounding (complex step); J V J^T sums 2n products of n-term sums
    scale = np.abs(A) @ np.abs(V) @ np.abs(A).T
    assert np.all(np.abs(np.asarray(r.cov).reshape(m, m) - exact) <= 8 * gamma_(2 * n + 2) * scale)
    assert np.allclose(np.asarray(r.value), A @ x + b, rtol=0,
                       atol=2 * gamma_(n + 1) * np.max(np.abs(A) @ np.abs(x) + np.abs(b)))


@FAST
@given(data=st.data())
def test_second_order_propagation_of_a_quadratic(data):
    """y = c + a.x + x^T Q x / 2 with normal inputs: Var y = g^T V g + tr(QVQV) / 2 with
    g = a + Q x0, bias = tr(QV) / 2 (Gaussian moments, exact for a quadratic)."""
    n = data.draw(st.integers(1, 5), "n")
    a = data.draw(vectors(n), "a")
    Q = data.draw(matrix(n, n, -3.0, 3.0), "Q")
    Q = Q + Q.T
    x = data.draw(vectors(n, -5.0, 5.0), "x")
    V = data.draw(covariances(n), "V")
    c = data.draw(finite(), "c")
    with warnings.catch_warnings():   # flags outputs whose variance is mostly second order
        warnings.simplefilter("ignore", jacsolve.NonlinearityWarning)
        r = jacsolve.propagate(quadratic, x, cov=V, args=(a, Q.ravel().copy(), c),
                               method="second-order")
        lin = jacsolve.propagate(quadratic, x, cov=V, args=(a, Q.ravel().copy(), c))
    assert r.success
    g = a + Q @ x
    var = g @ V @ g + 0.5 * np.trace(Q @ V @ Q @ V)
    bias = 0.5 * np.trace(Q @ V)
    # Jacobians at x +- h L (h = 1e-2, L L^T = V, |L_ir| <= sigma_i) are exact to rounding,
    # |dJ_i| <= gamma G_i with G bounding |grad y| there; whitened Hessian entries are their
    # first differences over 2h (error <= gamma G.sigma / h), the third-derivative term their
    # second differences over h^2 (error <= 4 gamma G.sigma / h^2 per direction)
    sigma = np.sqrt(np.diag(V))
    G = np.abs(a) + np.abs(Q) @ (np.abs(x) + sigma)
    h = 1e-2
    dH = gamma_(n + 2) * (G @ sigma) / h
    var_tol = 4 * n * (dH * (np.abs(g) @ sigma) / h + n * dH * (sigma @ np.abs(Q) @ sigma))
    exact_tol = 8 * gamma_(2 * n) * (np.abs(g) @ np.abs(V) @ np.abs(g)
                                     + np.trace(np.abs(Q) @ np.abs(V) @ np.abs(Q) @ np.abs(V)))
    assert abs(r.std ** 2 - var) <= var_tol + exact_tol
    assert abs(r.bias - bias) <= 2 * n * dH + 2 * gamma_(n) * np.trace(np.abs(Q) @ np.abs(V))
    assert lin.std ** 2 == pytest.approx(g @ V @ g, rel=8 * gamma_(2 * n), abs=1e-300)


# ------------------------------------------------------------------ nonlinear systems
def residual(x, A, b, k):
    return np.max(np.abs(cubic_system(np.asarray(x, dtype=float), A.ravel().copy(), b, k)))


@st.composite
def systems(draw, n):
    A = draw(matrix(n, n, -3.0, 3.0))
    if draw(st.booleans()):                       # diagonally dominant: a unique root
        A = A + np.diag(np.abs(A).sum(axis=1) + 1.0)
    b = draw(vectors(n))
    k = draw(st.sampled_from([0.0, 0.1, 1.0, -1.0]))
    return A, b, k


@FAST
@given(data=st.data(), method=st.sampled_from(["auto", "newton", "trust-region", "broyden",
                                               "krylov"]),
       tol=st.sampled_from([1e-6, 1e-8, 1e-10]))
def test_solve_success_means_residual_below_tol(data, method, tol):
    n = data.draw(st.integers(1, 6), "n")
    A, b, k = data.draw(systems(n), "system")
    x0 = data.draw(vectors(n, -3.0, 3.0), "x0")
    res = jacsolve.solve(cubic_system, x0, args=(A.ravel().copy(), b, k), method=method,
                         tol=tol)
    assert res.success == (res.status == Status.SUCCESS)
    assert isinstance(res.message, str) and res.message
    if res.success:
        assert residual(res.x, A, b, k) <= tol
    dominant = np.all(np.abs(np.diag(A)) > np.abs(A).sum(axis=1) - np.abs(np.diag(A)))
    if k == 0.0 and dominant and method in ("auto", "newton"):
        # a linear system with a diagonal margin >= 1 (|x*| <= |b| <= 10): Newton's first
        # step solves it to a residual of about n eps |A| |x*| < 1e-12, below every tol here
        assert res.success, res


@FAST
@given(data=st.data(), method=st.sampled_from(["newton", "trust-region", "broyden", "auto"]),
       tol=st.sampled_from([1e-6, 1e-10]))
def test_solve_batch_success_means_residual_below_tol(data, method, tol):
    n = data.draw(st.integers(1, 4), "n")
    N = data.draw(st.integers(1, 6), "N")
    rows = []
    for _ in range(N):
        A, b, k = data.draw(systems(n), "system")
        rows.append(np.concatenate([A.ravel(), b, [k]]))
    params = np.array(rows)
    if data.draw(st.booleans(), "bad row"):
        params[data.draw(st.integers(0, N - 1))] = data.draw(st.sampled_from([np.nan, np.inf]))
    x0 = data.draw(vectors(n, -3.0, 3.0), "x0")
    res = jacsolve.solve_batch(cubic_system_p, x0, params, method=method, tol=tol)
    assert res.x.shape == (N, n) and res.success.shape == (N,)
    for i in range(N):
        assert bool(res.success[i]) == (res.status[i] == Status.SUCCESS)
        if res.success[i]:
            F = cubic_system_p(res.x[i].copy(), params[i].copy())
            assert np.max(np.abs(F)) <= tol
        if not np.all(np.isfinite(params[i])):
            assert not res.success[i]


# ------------------------------------------------------------------ Monte Carlo propagation
@st.composite
def linear_mc_inputs(draw, normal_only=False):
    n = draw(st.integers(1, 5))
    a = draw(vectors(n, -5.0, 5.0))
    inputs, means, variances = [], [], []
    for _ in range(n):
        mu = draw(finite(-10.0, 10.0))
        if normal_only or draw(st.booleans()):
            s = draw(st.floats(0.01, 3.0))
            inputs.append(D.Normal(mu, s))
            means.append(mu)
            variances.append(s * s)
        else:
            w = draw(st.floats(0.01, 3.0))
            inputs.append(D.Rectangular(mu - w, mu + w))
            means.append(mu)
            variances.append(w * w / 3.0)
    c = draw(finite())
    return a, c, inputs, np.array(means), np.array(variances)


@FAST
@given(data=st.data(), ndraws=st.sampled_from([1000, 20_000]), seed=st.integers(0, 2**32))
def test_propagate_mc_linear_model(data, ndraws, seed):
    a, c, inputs, mu, var = data.draw(linear_mc_inputs(), "model")
    mc = jacsolve.propagate_mc(linear_scalar, inputs, args=(a, c), n=ndraws, seed=seed)
    sd = math.sqrt(a * a @ var)
    assert mc.success
    # k = 4.4: a two-sided normal tail of 1e-5 per check; the sample std of a sum of normal
    # and uniform terms (kurtosis <= 3) has standard error <= sd / sqrt(2 N); plus the
    # rounding of sums of N values of size <= ymax
    k = stats.norm.isf(0.5e-5)
    ymax = abs(c) + np.abs(a) @ (np.abs(mu) + 6 * np.sqrt(var))
    assert abs(mc.value - (c + a @ mu)) <= k * sd / math.sqrt(ndraws) + ndraws * EPS * ymax
    assert abs(mc.std - sd) <= k * sd / math.sqrt(2 * ndraws) + ndraws * EPS * ymax


def digits_tolerance(u: float, digits: int) -> float:
    """JCGM 101 7.9.2: u written as c x 10^l with c an integer of `digits` digits;
    the numerical tolerance is 10^l / 2."""
    exponent = math.floor(math.log10(u)) - digits + 1
    return 0.5 * 10.0 ** exponent


@settings(FAST, max_examples=10)
@given(data=st.data(), digits=st.sampled_from([1, 2]), seed=st.integers(0, 2**32))
def test_propagate_mc_digits_meets_its_tolerance(data, digits, seed):
    """Adaptive runs stop when twice the standard errors are below delta: the estimates are
    then within 2 delta (four standard errors) of the analytic values."""
    a, c, inputs, mu, var = data.draw(linear_mc_inputs(normal_only=True), "model")
    sd = math.sqrt(a * a @ var)
    mc = jacsolve.propagate_mc(linear_scalar, inputs, args=(a, c), digits=digits, seed=seed,
                               keep_samples=False)
    if sd == 0:
        return
    assert mc.success
    delta = digits_tolerance(mc.std, digits)
    mean = c + a @ mu
    assert abs(mc.std - sd) <= 2 * delta
    assert abs(mc.value - mean) <= 2 * delta
    z = stats.norm.isf(0.025)
    lo, hi = mc.interval(0.95)
    assert abs(lo - (mean - z * sd)) <= 2 * delta and abs(hi - (mean + z * sd)) <= 2 * delta


# ------------------------------------------------------------------ integration
def box_monomial(lo, hi, p):
    return float(np.prod([(u ** (k + 1) - l ** (k + 1)) / (k + 1) for l, u, k in zip(lo, hi, p)]))


def ball_monomial(d, radius, p):
    """int over the ball |x| <= radius in R^d of prod x_k^p_k (zero unless all p_k even)."""
    if any(k % 2 for k in p):
        return 0.0
    s = sum(p) + d
    return (2 * np.prod([special.gamma((k + 1) / 2) for k in p]) / special.gamma(s / 2)
            * radius ** s / s)


def simplex_monomial(d, side, p):
    """int over {x >= 0, sum x <= side} of prod x_k^p_k (Dirichlet's integral)."""
    s = sum(p) + d
    return side ** s * np.prod([math.factorial(k) for k in p]) / math.factorial(s)


@st.composite
def monomial_cases(draw):
    kind = draw(st.sampled_from(["box", "ball", "disk", "simplex"]))
    d = 2 if kind == "disk" else draw(st.integers(1 if kind == "box" else 2, 3))
    p = draw(st.lists(st.integers(0, 4), min_size=d, max_size=d))
    if kind == "box":
        lo = draw(vectors(d, -2.0, 2.0))
        hi = lo + np.array(draw(st.lists(st.floats(0.1, 3.0), min_size=d, max_size=d)))
        return R.Box(lo, hi), p, box_monomial(lo, hi, p)
    radius = draw(st.floats(0.2, 2.0))
    if kind == "ball":
        return R.Ball(d, radius=radius), p, ball_monomial(d, radius, p)
    if kind == "disk":
        return R.Disk(radius=radius), p, ball_monomial(2, radius, p)
    vertices = np.vstack([np.zeros(d), radius * np.eye(d)])
    return R.Simplex(vertices), p, simplex_monomial(d, radius, p)


def integrate_quietly(*a, **kw):
    """integrate, with the IntegrationWarning of an unmet tolerance recorded, not raised:
    returns the result and whether it warned."""
    fun = kw.pop("entry", jacsolve.integrate)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", jacsolve.IntegrationWarning)
        res = fun(*a, **kw)
    warned = any(issubclass(w.category, jacsolve.IntegrationWarning) for w in caught)
    others = [w for w in caught if not issubclass(w.category, jacsolve.IntegrationWarning)]
    assert not others, [str(w.message) for w in others]
    return res, warned


SAMPLED = {"qmc": 2 ** 12, "mc": 2 ** 12}
RTOLS = {"gauss": [1e-6, 1e-9], "adaptive": [1e-6, 1e-9], "qmc": [1e-2, 1e-3],
         "mc": [3e-2, 1e-2]}


def sampled_k(method: str, replicates: int = 8) -> float:
    """Multiple of the reported standard error for a two-sided 1e-4 false alarm: Student t
    with replicates - 1 degrees of freedom for qmc, normal for mc."""
    if method == "qmc":
        return stats.t.isf(0.5e-4, replicates - 1)
    return stats.norm.isf(0.5e-4)


def check_against_exact(res, warned, exact, method, rtol, atol, n, fmax, vol):
    """success <=> no warning; success => the tolerance holds against the exact value
    (deterministic rules), or the error is within k standard errors (sampling rules)."""
    assert warned == (not res.success)
    assert res.success == (res.status == Status.SUCCESS)
    if not res.success:
        return
    assert res.error <= max(atol, rtol * abs(res.value))
    if method in ("gauss", "adaptive"):
        # plus the rounding of a weighted sum of n values bounded by fmax * vol
        assert abs(res.value - exact) <= max(atol, rtol * abs(exact)) + n * EPS * fmax * vol
    else:
        assert abs(res.value - exact) <= sampled_k(method) * res.error + n * EPS * fmax * vol


@settings(FAST, max_examples=30)
@given(case=monomial_cases(), method=st.sampled_from(["gauss", "adaptive", "qmc", "mc"]),
       data=st.data(), seed=st.integers(0, 2**32))
def test_integrate_success_means_tolerance_holds(case, method, data, seed):
    region, p, exact = case
    rtol = data.draw(st.sampled_from(RTOLS[method]), "rtol")
    atol = data.draw(st.sampled_from([0.0, 1e-12]), "atol")
    n = SAMPLED.get(method, 3000 if method == "gauss" else 20_000)
    kw = {"seed": seed} if method in SAMPLED else {}
    res, warned = integrate_quietly(monomial, region, method=method, n=n, rtol=rtol, atol=atol,
                                    args=(np.array(p, dtype=float),), **kw)
    lo, hi = region.bounds                         # a box holding the region
    fmax = float(np.prod(np.maximum(np.abs(lo), np.abs(hi)) ** np.array(p)))
    check_against_exact(res, warned, exact, method, rtol, atol, n, fmax, region.volume)
    if method == "gauss" and isinstance(region, R.Box) and max(p) <= 4:
        # Gauss-Legendre of order >= 5 per axis is exact for degree <= 9 (n = 3000: m >= 10
        # in d <= 3), so all three orders agree to rounding and the tolerance must be met
        assert res.success, res



@st.composite
def regions_with_volume(draw):
    kind = draw(st.sampled_from(["box", "disk", "annulus", "ellipse", "sector", "simplex",
                                 "ball", "torus", "unbounded"]))
    c2 = tuple(draw(vectors(2, -3.0, 3.0)))
    radius = draw(st.floats(0.2, 3.0))
    if kind == "box":
        d = draw(st.integers(1, 4))
        lo = draw(vectors(d, -3.0, 3.0))
        return R.Box(lo, lo + np.array(draw(st.lists(st.floats(0.1, 3.0), min_size=d,
                                                        max_size=d))))
    if kind == "disk":
        return R.Disk(center=c2, radius=radius)
    if kind == "annulus":
        return R.Annulus(center=c2, r_inner=radius * draw(st.floats(0.05, 0.9)), r_outer=radius)
    if kind == "ellipse":
        return R.Ellipse(center=c2, a=radius, b=draw(st.floats(0.2, 3.0)),
                         angle=draw(st.floats(-3.0, 3.0)))
    if kind == "sector":
        t1 = draw(st.floats(-3.0, 3.0))
        return R.Sector(center=c2, radius=radius, theta1=t1, theta2=t1 + draw(st.floats(0.1, 6.0)),
                        r_inner=radius * draw(st.sampled_from([0.0, 0.5])))
    if kind == "simplex":
        d = draw(st.integers(1, 4))
        V = draw(matrix(d + 1, d, -2.0, 2.0))
        if abs(np.linalg.det(V[1:] - V[0])) < 0.05:
            V = np.vstack([np.zeros(d), np.eye(d)])
        return R.Simplex(V)
    if kind == "ball":
        d = draw(st.integers(2, 4))
        return R.Ball(d, center=draw(vectors(d, -3.0, 3.0)), radius=radius)
    if kind == "torus":
        return R.Torus(R=radius + draw(st.floats(0.1, 2.0)), r=radius,
                       center=tuple(draw(vectors(3, -3.0, 3.0))))
    d = draw(st.integers(1, 3))
    lo = draw(vectors(d, -3.0, 3.0))
    return R.Unbounded(lo, lo + np.array(draw(st.lists(st.floats(0.1, 3.0), min_size=d,
                                                          max_size=d))),
                       transform=draw(st.sampled_from(["tan", "logit", "normal"])))


@settings(FAST, max_examples=40)
@given(region=regions_with_volume(),
       method=st.sampled_from(["gauss", "adaptive", "qmc", "mc", "hit-or-miss"]),
       data=st.data(), seed=st.integers(0, 2**32))
def test_integral_of_one_is_the_volume(region, method, data, seed):
    ones = np.zeros(region.dim)
    if method == "hit-or-miss":
        rtol = data.draw(st.sampled_from([3e-2, 1e-2]), "rtol")
        res, warned = integrate_quietly(monomial, region, entry=jacsolve.integrate_mc, n=2 ** 12,
                                        seed=seed, rtol=rtol, args=(ones,))
        check_against_exact(res, warned, region.volume, "mc", rtol, 0.0, 2 ** 12, 1.0,
                            region.volume)
        return
    rtol = data.draw(st.sampled_from(RTOLS[method]), "rtol")
    n = SAMPLED.get(method, 3000 if method == "gauss" else 20_000)
    kw = {"seed": seed} if method in SAMPLED else {}
    res, warned = integrate_quietly(monomial, region, method=method, n=n, rtol=rtol,
                                    args=(ones,), **kw)
    check_against_exact(res, warned, region.volume, method, rtol, 0.0, n, 1.0, region.volume)


# ------------------------------------------------------------------ bad input
BAD_VALUES = {
    "nan": lambda: np.nan, "inf": lambda: -np.inf, "minus one": lambda: -1, "zero": lambda: 0,
    "huge": lambda: 1e308, "string": lambda: "abc", "none": lambda: None, "empty": list,
    "matrix": lambda: [[1.0, 2.0], [3.0, 4.0]], "long": lambda: [1.0] * 7, "complex": lambda: 1j,
    "nan vector": lambda: [np.nan, 1.0], "bool": lambda: True, "object": lambda: object(),
    "3-d": lambda: np.ones((2, 2, 2)), "negative vector": lambda: [-1.0, -2.0],
}

A2 = np.array([3.0, 1.0, 1.0, 2.0])            # a 2 x 2 matrix, row-major
B2 = np.array([1.0, -1.0])


def _calls():
    """entry point -> (call(**kw), valid keyword arguments, argument names to corrupt)."""
    def jac(**kw):
        return jacsolve.jacobian(affine, **kw)

    def jv(**kw):
        return jacsolve.jvp(affine, **kw)

    def sol(**kw):
        return jacsolve.solve(cubic_system, **kw)

    def batch(**kw):
        return jacsolve.solve_batch(cubic_system_p, **kw)

    def prop(**kw):
        return jacsolve.propagate(affine, **kw)

    def mc(**kw):
        return jacsolve.propagate_mc(linear_scalar, **kw)

    def integ(**kw):
        return jacsolve.integrate(monomial, **kw)

    def hit(**kw):
        return jacsolve.integrate_mc(monomial, **kw)

    def region(kind, **kw):
        return getattr(R, kind)(**kw)

    x = np.array([1.0, 2.0])
    row = np.concatenate([A2, B2, [0.5]])
    return {
        "jacobian": (jac, {"x": x, "args": (A2, B2), "method": "central", "rel_step": None, "x_scale": 1.0,
                               "bounds": None, "sparsity": None}),
        "jvp": (jv, {"x": x, "v": np.array([1.0, -1.0]), "args": (A2, B2), "method": "complex",
                         "rel_step": None}),
        "solve": (sol, {"x0": x, "args": (A2, B2, 0.5), "method": "auto", "tol": 1e-10, "xtol": 1e-12,
                            "maxiter": None}),
        "solve_batch": (batch, {"x0": x, "params": np.array([row, row]), "method": "newton",
                                    "tol": 1e-10, "xtol": 1e-12, "maxiter": 50}),
        "propagate": (prop, {"x": x, "cov": None, "u": np.array([0.1, 0.2]), "corr": None, "dof": None,
                                 "args": (A2, B2), "method": "linear", "jac": "auto"}),
        "propagate_mc": (mc, {"inputs": [D.Normal(1.0, 0.1), D.Rectangular(0.0, 1.0)],
                                  "args": (np.array([1.0, 2.0]), 0.5), "n": 1000, "p": 0.95,
                                  "kind": "symmetric", "seed": 1}),
        "integrate": (integ, {"region": R.Disk(), "method": "gauss", "n": 500, "seed": None,
                                  "args": (np.zeros(2),), "det": "auto", "replicates": 8, "rtol": 1e-10,
                                  "atol": 0.0}),
        "integrate_mc": (hit, {"region": R.Disk(), "n": 1000, "seed": 1, "args": (np.zeros(2),),
                                   "rtol": 0.5, "atol": 0.0}),
        "Disk": (lambda **kw: region("Disk", **kw), {"center": (0.0, 0.0), "radius": 1.0}),
        "Box": (lambda **kw: region("Box", **kw), {"lower": [0.0, 0.0], "upper": [1.0, 1.0]}),
        "Ball": (lambda **kw: region("Ball", **kw), {"dim": 3, "center": None, "radius": 1.0}),
        "Sector": (lambda **kw: region("Sector", **kw),
                   {"center": (0.0, 0.0), "radius": 1.0, "theta1": 0.0, "theta2": 1.0, "r_inner": 0.0}),
        "Torus": (lambda **kw: region("Torus", **kw), {"R": 2.0, "r": 1.0}),
        "Simplex": (lambda **kw: region("Simplex", **kw),
                    {"vertices": [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]}),
    }


CALLS = _calls()
ALLOWED_WARNINGS = JACSOLVE_WARNINGS + (jacsolve.uncertainty.montecarlo.NotConvergedWarning,)


def bad_input_problem(entry: str, name: str, bad: str):
    """Call ``entry`` with argument ``name`` replaced by a bad value: None when it gives a
    result or a ValueError / TypeError naming an argument (a FunctionError naming fun for bad
    ``args``) with only jacsolve's warnings or warnings naming fun; else what went wrong."""
    call, kw = CALLS[entry]
    kw = dict(kw)
    kw[name] = BAD_VALUES[bad]()
    if name == "args":                           # a bad value among the extra arguments
        kw[name] = (kw[name],) + tuple(CALLS[entry][1]["args"][1:])
    names = set(kw) | {"fun"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call(**kw)
        except (ValueError, TypeError, IndexError) as exc:
            # the corrupted argument, or another one it must agree with (lower and upper);
            # IndexError: fun reads past the end of the argument named (the bounds probe)
            if not raises_naming(exc, names):
                return f"{type(exc).__name__}: {exc}"
        except jacsolve.status.FunctionError as exc:
            if name != "args" or not raises_naming(exc, {"fun raised", "f raised"}):
                return f"FunctionError: {exc}"
        except Exception as exc:                  # noqa: BLE001 - the property itself
            return f"{type(exc).__name__}: {exc}"
    # numba's warnings at the first compilation for a type: the experimental first-class
    # functions, and the deprecated reflected list of a Python list in args (reported
    # separately: it depends on which example compiles first)
    stray = [w for w in caught if not issubclass(w.category, ALLOWED_WARNINGS)
             and not issubclass(w.category, NumbaPendingDeprecationWarning)
             and "experimental" not in str(w.message) and not raises_naming(w.message, names)]
    if stray:
        return f"{stray[0].category.__name__}: {stray[0].message}"
    return None


def test_every_bad_input_gives_a_result_or_an_error_naming_the_argument():
    """The same property over every (entry point, argument, bad value), not a sample."""
    problems = [f"{entry}({name}={bad}): {problem}"
                for entry in sorted(CALLS) for name in sorted(CALLS[entry][1])
                for bad in sorted(BAD_VALUES)
                if (problem := bad_input_problem(entry, name, bad)) is not None]
    assert not problems, "\n".join(problems)
