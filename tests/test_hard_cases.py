"""Derivatives on hard inputs: every method is accurate there, or says it is not.

The cases (jacsolve.problems.hard_cases) come with analytic Jacobians.
- richardson: each entry is within 1e-8 relative of the truth, or its error
  estimate bounds its true error; entries that did not converge come with a
  DerivativeAccuracyWarning naming their columns. Converged entries must be
  bounded by their estimate.
- complex: exact to 1e-13 relative on complex-safe cases (to the case's
  complex_rtol where fun's own cancellation or underflow limits it: complex
  step has no estimate to say so); on the others, check_complex_step reports
  the bad columns.
- forward, central: they have no estimate; they must be no worse than SciPy's
  2-point and 3-point on the same case, up to their own rounding level
  (eps**(1/2) and eps**(2/3) relative): the two differ in rounding, and at
  x < 0 SciPy's forward step goes towards -inf.
"""
import warnings

import numpy as np
import pytest
from scipy.optimize._numdiff import approx_derivative

import jacsolve
from jacsolve.derivatives.differences import DerivativeAccuracyWarning
from jacsolve.problems.hard_cases import CASES

NAMES = sorted(CASES)


def test_library_size():
    assert len(CASES) >= 12


@pytest.mark.parametrize("name", NAMES)
def test_richardson_accurate_or_honest(name):
    c = CASES[name]
    Ja = c.jac(c.x0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        J, info = jacsolve.jacobian(c.fun, c.x0, method="richardson", bounds=c.bounds,
                                    x_scale=c.x_scale, full_output=True)
    err = np.abs(J - Ja)
    accurate = err <= 1e-8 * np.abs(Ja)
    assert np.all(accurate | (err <= info.error)), (name, err, info.error)
    # a converged entry's estimate bounds its error
    assert np.all(err[info.converged] <= info.error[info.converged])
    warned = [w for w in caught if issubclass(w.category, DerivativeAccuracyWarning)]
    if info.converged.all():
        assert info.success and not warned
    else:
        assert not info.success and info.status == jacsolve.Status.NOT_CONVERGED
        assert len(warned) == 1
        cols = np.flatnonzero(~info.converged.all(axis=0)).tolist()
        assert f"variables {cols}" in str(warned[0].message)


@pytest.mark.parametrize("name", NAMES)
def test_complex_exact_or_flagged(name):
    c = CASES[name]
    Ja = c.jac(c.x0)
    if c.complex_safe:
        J = jacsolve.jacobian(c.fun, c.x0, method="complex", x_scale=c.x_scale)
        assert np.all(np.abs(J - Ja) <= c.complex_rtol * np.abs(Ja)), name
    else:
        check = jacsolve.check_complex_step(c.fun, c.x0)
        assert not check.success and check.bad_columns.size > 0


EPS = np.finfo(float).eps


@pytest.mark.parametrize("method,scipy_method,noise", [("forward", "2-point", EPS ** 0.5),
                                                       ("central", "3-point", EPS ** (2 / 3))])
@pytest.mark.parametrize("name", NAMES)
def test_differences_no_worse_than_scipy(name, method, scipy_method, noise):
    c = CASES[name]
    Ja = c.jac(c.x0)
    bounds = (-np.inf, np.inf) if c.bounds is None else c.bounds
    with np.errstate(all="ignore"):
        Js = approx_derivative(c.fun, c.x0, method=scipy_method, bounds=bounds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # fun overflowing at a step
        J = jacsolve.jacobian(c.fun, c.x0, method=method, bounds=c.bounds)
    es, e = np.abs(Js - Ja), np.abs(J - Ja)
    es = np.where(np.isfinite(es), es, np.inf)
    assert np.all(e <= 1.01 * es + noise * np.abs(Ja)), (name, e, es)


def test_richardson_clipped_step_is_honest():
    """At x = 0 with bounds (-0.1, 0) the walk starts from the clipped step."""
    c = CASES["exp_on_bound"]
    J, info = jacsolve.jacobian(c.fun, c.x0, method="richardson", bounds=c.bounds,
                                full_output=True)
    assert abs(J[0, 0] - 1.0) <= 1e-10 and abs(J[0, 0] - 1.0) <= info.error[0, 0]


def test_not_converged_is_reported():
    """fun with noise of its own (cancellation) cannot converge to 1e-8: it says so."""
    c = CASES["cancellation"]
    with pytest.warns(DerivativeAccuracyWarning, match=r"variables \[0\]"):
        J, info = jacsolve.jacobian(c.fun, c.x0, method="richardson", full_output=True)
    assert not info.converged[0, 0] and "not converged=1" in repr(info)
    assert abs(J[0, 0] - c.jac(c.x0)[0, 0]) <= info.error[0, 0]


@jacsolve.jit
def family(x, k, a, p):
    t = x[0]
    if k == 0:
        return np.exp(a * t)
    if k == 1:
        return np.sin(a * t)
    if k == 2:
        return 1.0 / (t - p)
    if k == 3:
        return np.arctan(a * (t - p))
    return np.sqrt(t - p)


def family_derivative(t, k, a, p):
    derivatives = [lambda: a * np.exp(a * t), lambda: a * np.cos(a * t),
                   lambda: -1.0 / (t - p) ** 2, lambda: a / (1.0 + (a * (t - p)) ** 2),
                   lambda: 0.5 / np.sqrt(t - p)]
    return derivatives[k]()


def test_richardson_estimate_bounds_converged_entries_at_random():
    """Random scales, rates, poles and domain edges (1e-8 to 10 away): wherever
    richardson claims convergence, its estimate bounds the error. (A sweep of
    2900 such cases with an mpmath reference found no exception.) The
    reference's own rounding, eps times the condition number, is allowed for."""
    rng = np.random.default_rng(11)
    claimed = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DerivativeAccuracyWarning)
        for _ in range(300):
            k = int(rng.integers(0, 5))
            a = 10 ** rng.uniform(-2, 3) * rng.choice([-1, 1])
            t = 10 ** rng.uniform(-6, 2) * rng.choice([-1, 1])
            p = t - 10 ** rng.uniform(-8, 1) * (1 if k == 4 else rng.choice([-1, 1]))
            if k < 2:
                a = np.clip(a, -50.0 / abs(t), 50.0 / abs(t))  # condition |a t| <= 50
            d = family_derivative(t, k, a, p)
            J, info = jacsolve.jacobian(family, np.array([t]), args=(k, a, p),
                                        method="richardson", full_output=True)
            cond = 1.0 + abs(a * t) + abs(t) / abs(t - p)
            if info.converged[0]:
                claimed += 1
                assert abs(J[0] - d) <= info.error[0] + 64 * EPS * cond * abs(d), (k, a, t, p)
    assert claimed >= 250


def test_benchmark_table_of_hard_cases():
    """The benchmark's side-by-side table: one row per case, richardson's
    estimate covering its error wherever every entry converged."""
    from jacsolve.cli.bench.bench_jacobian import hard_case_table
    table = hard_case_table()
    assert [r["case"] for r in table.rows] == list(CASES)
    for r in table.rows:
        done, total = map(int, r["converged"].split("/"))
        if done == total:
            assert r["richardson"] <= r["richardson est."], r["case"]
    assert "richardson est." in table.markdown()
