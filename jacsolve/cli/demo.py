"""``jacsolve demo``: each solver next to SciPy's answer and the ratio of times.

Sections: Jacobians, nonlinear systems (one at a time and in a batch),
uncertainty propagation (GUM law and Monte Carlo, with the JCGM 101 clause 8
validation), and integration by substitution against hit-or-miss Monte Carlo
and ``scipy.integrate``. Times are medians after a warm-up call, so numba
compilation is not in the ratios.

Exits non-zero when any result disagrees with SciPy (or a published value)
beyond its tolerance, so the demo doubles as a smoke test.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import io
import math
import multiprocessing
import time
import traceback

import numpy as np

from .bench.timing import median_time


def _row(cells, widths):
    return "  " + "".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}"
                          for i, (c, w) in enumerate(zip(cells, widths)))


def _mark(ok: bool) -> str:
    return "ok" if ok else "DISAGREES"


def _speedup(t_scipy, t_ours) -> str:
    return f"{t_scipy / t_ours:.0f}x" if t_scipy >= 10 * t_ours else f"{t_scipy / t_ours:.1f}x"


# ------------------------------------------------------------------ Jacobians
def _jacobian_section():
    from scipy.optimize._numdiff import approx_derivative

    from .. import jacobian
    from ..problems.derivative_cases import PROBLEMS

    print("Jacobians: jacsolve.jacobian against scipy.optimize.approx_derivative")
    print(f"  {'problem':<22}{'method':<10}{'max rel diff':>14}{'speed-up':>10}")
    ok = True
    scipy_name = {"forward": "2-point", "central": "3-point", "complex": "cs"}
    tol = {"forward": 1e-5, "central": 1e-7, "complex": 1e-12}
    for name in ("chemistry",):  # each (function, method) pair costs ~0.7 s of compilation
        prob = PROBLEMS[name]
        x = prob.x0
        for method in ("forward", "central", "complex"):
            J = jacobian(prob.fun, x, args=prob.args, method=method)
            Js = approx_derivative(lambda v: prob.fun(v, *prob.args), x,
                                   method=scipy_name[method])
            Ja = prob.jac(x, *prob.args)
            diff = np.abs(J - Js).max() / max(np.abs(Ja).max(), 1e-300)
            t_ours = median_time(lambda: jacobian(prob.fun, x, args=prob.args, method=method),
                                 repeat=5)
            t_scipy = median_time(lambda: approx_derivative(
                lambda v: prob.fun(v, *prob.args), x, method=scipy_name[method]), repeat=5)
            agree = diff <= tol[method]
            ok &= agree
            print(f"  {name:<22}{method:<10}{diff:>14.1e}{t_scipy / t_ours:>9.0f}x"
                  + ("" if agree else "   DISAGREES"))
    return ok


# ------------------------------------------------------------ nonlinear systems
NEWTON_CASES = ("helical_valley", "trigonometric")   # each costs seconds of compilation
TOL = 1e-10


def _newton_section():
    from ..nonlinear import solve
    from scipy.optimize import root

    from ..problems.mgh import PROBLEMS

    print("Nonlinear systems: jacsolve.solve against scipy.optimize.root(method='hybr'),"
          f" standard MGH starts; solved = max|F| <= {TOL:g}")
    widths = (20, 13, 14, 11, 12, 10, 11)
    print(_row(("problem (n)", "max|F| ours", "max|F| scipy", "nfev ours", "nfev scipy",
                "speed-up", ""), widths))
    ok = True
    for name in NEWTON_CASES:
        prob = PROBLEMS[name]
        x0 = prob.start(10)
        res = solve(prob.fun, x0, tol=TOL)
        ref = root(prob.fun, x0, method="hybr")
        fn_ours = float(np.abs(prob.fun(res.x)).max())
        fn_scipy = float(np.abs(prob.fun(ref.x)).max())
        # agreement: our success flag is truthful, and we solve what SciPy solves
        # (the same root or another valid one: checked by the residual)
        truthful = bool(res.success) == (fn_ours <= TOL)
        agree = truthful and (res.success or fn_scipy > 1e-8)
        ok &= agree
        t_ours = median_time(lambda: solve(prob.fun, x0, tol=TOL), repeat=5)
        t_scipy = median_time(lambda: root(prob.fun, x0, method="hybr"), repeat=5)
        print(_row((f"{name} ({x0.size})", f"{fn_ours:.1e}", f"{fn_scipy:.1e}", str(res.nfev),
                    str(ref.nfev), _speedup(t_scipy, t_ours), _mark(agree)), widths))
    return ok


def _batch_section():
    from ..nonlinear import solve_batch
    from scipy.optimize import root

    from ..problems.batch_systems import equilibrium_batch

    N, n_scipy = 20_000, 200
    prob = equilibrium_batch(N, seed=1)
    print(f"Batches: jacsolve.solve_batch on {N} chemical-equilibrium systems (n = 4) "
          f"against a loop of scipy.optimize.root over {n_scipy} of them")
    res = solve_batch(prob.fun, prob.x0, prob.params)
    t_ours = median_time(lambda: solve_batch(prob.fun, prob.x0, prob.params), repeat=3) / N
    roots = prob.nearest_root(res.x)
    found = res.success & (np.abs(res.x - roots).max(axis=1) <= 1e-6)
    sub = slice(0, n_scipy)
    t0 = time.perf_counter()
    ref = [root(prob.fun, prob.x0[k], args=(prob.params[k],), method="hybr")
           for k in range(n_scipy)]
    t_scipy = (time.perf_counter() - t0) / n_scipy
    scipy_ok = np.array([np.abs(prob.fun(r.x, prob.params[k])).max() <= 1e-8
                         for k, r in enumerate(ref)])
    # agreement: every system SciPy solves, we solve too (to the known root)
    agree = bool(np.all(found[sub] | ~scipy_ok))
    print(f"  solved: jacsolve {int(found.sum())} of {N} (to the known root), "
          f"SciPy {int(scipy_ok.sum())} of {n_scipy}; time per system: jacsolve "
          f"{t_ours * 1e6:.2f} us, SciPy {t_scipy * 1e6:.0f} us; speed-up "
          f"{_speedup(t_scipy, t_ours)}   {_mark(agree)}")
    return agree


# ------------------------------------------------------------------ uncertainty
def _uncertainty_section():
    from ..uncertainty import montecarlo as mc_module
    from ..uncertainty import propagate
    from scipy.optimize._numdiff import approx_derivative

    from .bench.bench_montecarlo import numpy_mass, numpy_monte_carlo
    from ..uncertainty.report import batch_standard_errors
    from ..problems import gum_examples as gum

    ex = gum.mass()
    print("Uncertainty: JCGM 101 9.3 mass calibration (deviation from 100 g, mg), "
          "published values from JCGM 101 Table 6")
    ok = True

    # GUM law: sensitivities from SciPy's differences give the same u(y)
    g1 = propagate(ex.fun, ex.x, u=ex.u)
    J = approx_derivative(lambda v: ex.fun(v), ex.x, method="3-point")
    u_scipy = float(np.sqrt(np.sum((J * ex.u) ** 2)))
    agree = abs(g1.std - u_scipy) <= 1e-6 * u_scipy and abs(g1.std - 0.0539) <= 0.00005
    ok &= agree
    t_ours = median_time(lambda: propagate(ex.fun, ex.x, u=ex.u), repeat=5)
    t_ref, ref_name = _reference_linear(ex, approx_derivative)
    print(f"  GUM law (first order):  y = {g1.value:.4f}, u = {g1.std:.4f}  (SciPy-difference "
          f"J: u = {u_scipy:.4f}; published 1.2340, 0.0539); {ref_name} / jacsolve time "
          f"{_speedup(t_ref, t_ours)}   {_mark(agree)}")
    g2 = propagate(ex.fun, ex.x, u=ex.u, method="second-order")
    agree = abs(g2.std - 0.0750) <= 0.00005
    ok &= agree
    print(f"  GUM law (second order): u = {g2.std:.4f}  (published 0.0750)   {_mark(agree)}")

    # Monte Carlo against a NumPy-vectorised Monte Carlo of the same model. The output
    # is symmetric, so its shortest interval is the symmetric one, mean -+ length / 2.
    # The shortest interval's position is a flat minimum that converges slowly (the
    # published one sits 0.001 left of the mean), its length converges like any
    # quantile: compared are the symmetric interval's endpoints (quantiles) and the
    # shortest length, against NumPy and against published mean -+ length / 2.
    n = 1_000_000
    mc = mc_module.propagate_mc(ex.fun, ex.inputs, n=n, seed=1, kind="shortest")
    se = batch_standard_errors(mc, 0.95)
    y_np = numpy_mass(np.random.default_rng(1), n)
    low_np, high_np = np.quantile(y_np, [0.025, 0.975])
    short_np = numpy_monte_carlo(numpy_mass, n)
    slow, shigh = mc.interval(0.95, "symmetric")     # a scalar model: floats
    low, high = mc.interval(0.95, "shortest")
    ours = [mc.value, mc.std, slow, shigh, high - low]
    errors = [se[k][0] for k in ("mean", "std", "symmetric_low", "symmetric_high",
                                 "shortest_length")]
    numpy_values = [y_np.mean(), y_np.std(ddof=1), low_np, high_np, short_np[3] - short_np[2]]
    length = 1.3825 - 1.0834
    published = [1.2341, 0.0754, 1.2341 - length / 2, 1.2341 + length / 2, length]
    # two independent Monte Carlo runs: their difference has sqrt(2) times the standard
    # error; allow 4 of those, plus half a unit of the published last digit
    agree = all(abs(a - b) <= 4 * math.sqrt(2) * s for a, b, s in zip(ours, numpy_values, errors))
    agree &= all(abs(a - b) <= 4 * math.sqrt(2) * s + 0.0001
                 for a, b, s in zip(ours, published, errors))
    ok &= agree

    def draw():
        r = mc_module.propagate_mc(ex.fun, ex.inputs, n=n, seed=1)
        r.interval(0.95, "shortest")
    t_ours = median_time(draw, repeat=3)
    t_np = median_time(lambda: numpy_monte_carlo(numpy_mass, n), repeat=3)
    print(f"  Monte Carlo, {n:.0e} draws: y = {mc.value:.4f}, u = {mc.std:.4f}, 95 % "
          f"[{slow:.4f}, {shigh:.4f}], shortest length {high - low:.4f}  (NumPy: "
          f"{numpy_values[0]:.4f}, {numpy_values[1]:.4f}, [{low_np:.4f}, {high_np:.4f}], "
          f"{numpy_values[4]:.4f}; published 1.2341, 0.0754, shortest [1.0834, 1.3825], "
          "length 0.2991); "
          f"NumPy / jacsolve time {_speedup(t_np, t_ours)}   {_mark(agree)}")

    # JCGM 101 clause 8 with delta = 0.005 (Table 6): first order fails, second order passes
    v1 = mc_module.validate(g1, mc, digits=1)
    v2 = mc_module.validate(g2, mc, digits=1)
    agree = (not v1.validated) and v2.validated
    ok &= agree
    print(f"  validation (clause 8, delta = {float(v1.tolerance[0]):.3f}): first order "
          f"{'validated' if v1.validated else 'not validated'} (d_low = "
          f"{float(v1.d_low[0]):.4f}, d_high = {float(v1.d_high[0]):.4f}), second order "
          f"{'validated' if v2.validated else 'not validated'} (published: not validated, "
          f"validated)   {_mark(agree)}")
    return ok


def _reference_linear(ex, approx_derivative):
    """Time of the usual alternative for the GUM law: the `uncertainties` package
    when installed, else SciPy differences and J V J^T."""
    try:
        from uncertainties import ufloat
    except ImportError:
        def scipy_way():
            J = approx_derivative(lambda v: ex.fun(v), ex.x, method="3-point")
            return np.sqrt(np.sum((J * ex.u) ** 2))
        return median_time(scipy_way, repeat=5), "SciPy"

    def unc_way():
        x = np.array([ufloat(a, b) for a, b in zip(ex.x, ex.u)], dtype=object)
        return ex.fun.py_func(x).std_dev
    return median_time(unc_way, repeat=5), "uncertainties"


# ------------------------------------------------------------------ integration
def _integration_section():
    from ..integration import cubature as integration
    from scipy import integrate as si

    from ..problems.integral_cases import case

    c = case("disk exp(c.x)")
    radius, cvec = 1.5, c.args[0]
    print(f"Integration: {c.name} over a disk of radius {radius} (exact {c.exact:.12f}), "
          "by substitution (Gauss-Legendre on polar coordinates) against "
          "scipy.integrate.dblquad and hit-or-miss Monte Carlo")
    ok = True
    res = integration.integrate(c.f, c.region, args=c.args, n=c.n_gauss)

    def f_scipy(y, x):
        return math.exp(cvec[0] * x + cvec[1] * y)

    def dblquad():
        return si.dblquad(f_scipy, -radius, radius, lambda x: -math.sqrt(radius ** 2 - x * x),
                          lambda x: math.sqrt(radius ** 2 - x * x), epsabs=1e-12,
                          epsrel=1e-12)[0]
    ref = dblquad()
    err, err_ref = abs(res.value - c.exact) / c.exact, abs(ref - c.exact) / c.exact
    agree = err <= 1e-10 and abs(res.value - ref) <= 1e-9 * c.exact
    ok &= agree
    t_ours = median_time(lambda: integration.integrate(c.f, c.region, args=c.args,
                                                       n=c.n_gauss), repeat=5)
    t_ref = median_time(dblquad, repeat=3)
    print(f"  substitution + Gauss-Legendre: {res.value:.12f} (rel. error {err:.1e}, "
          f"{res.nfev} evaluations); dblquad: {ref:.12f} (rel. error {err_ref:.1e}); "
          f"dblquad / jacsolve time {_speedup(t_ref, t_ours)}   {_mark(agree)}")
    n = 1 << 18
    hm = integration.integrate_mc(c.f, c.region, args=c.args, n=n, seed=1, rtol=0.01)
    sub = integration.integrate(c.f, c.region, args=c.args, method="qmc", n=n, seed=1,
                                rtol=0.01)
    # each Monte Carlo estimate within 4 of its own standard errors of the exact value
    agree = abs(hm.value - c.exact) <= 4 * hm.error and abs(sub.value - c.exact) <= \
        4 * sub.error + 1e-12 * c.exact
    ok &= agree
    print(f"  {n} points: hit-or-miss Monte Carlo rel. error "
          f"{abs(hm.value - c.exact) / c.exact:.1e} (estimate {hm.error / c.exact:.1e}); "
          f"substituted QMC {abs(sub.value - c.exact) / c.exact:.1e} (estimate "
          f"{sub.error / c.exact:.1e})   {_mark(agree)}")
    return ok


SECTIONS = [_jacobian_section, _newton_section, _batch_section, _uncertainty_section,
            _integration_section]
# Two groups, one per core: most of a first run is numba compiling (and
# caching) the solvers, which a second process does in parallel. The batch
# section reuses the solver that the Newton section compiles, so they share one.
GROUPS = ([_newton_section, _batch_section],
          [_uncertainty_section, _jacobian_section, _integration_section])


def _run_section(section):
    """Run one section; (printed text, ok)."""
    buffer = io.StringIO()
    name = section.__name__.strip("_").replace("_section", "")
    with contextlib.redirect_stdout(buffer):
        try:
            ok = bool(section())
        except Exception as exc:   # report it, run the other sections, fail at the end
            ok = False
            print(traceback.format_exc())
            print(f"({name}: FAILED with {type(exc).__name__}: {exc})")
    return buffer.getvalue(), ok


def _run_group(group):
    return [_run_section(section) for section in group]


def run_demo(parallel: bool = True) -> int:
    """Run every section, in two processes when ``parallel``; 0 when all results
    agree, 1 otherwise. Output is printed in section order."""
    t0 = time.perf_counter()
    if parallel:
        context = multiprocessing.get_context("spawn")  # no numba state crosses a fork
        with concurrent.futures.ProcessPoolExecutor(len(GROUPS), mp_context=context) as pool:
            results = dict(zip((s for g in GROUPS for s in g),
                               (r for rs in pool.map(_run_group, GROUPS) for r in rs)))
    else:
        results = {s: _run_section(s) for s in SECTIONS}
    ok = True
    for section in SECTIONS:
        text, section_ok = results[section]
        print(text)
        ok &= section_ok
    total = time.perf_counter() - t0
    print(("demo: all results agree with SciPy" if ok else "demo: SOME RESULTS DISAGREE")
          + f" ({total:.0f} s including compilation)")
    return 0 if ok else 1
