"""Benchmarks for integration by substitution.

* time and evaluations to reach rtol = 1e-10 by each side's own error
  estimate (jacsolve: the smallest Gauss budget whose three-order estimate
  meets it, and method="adaptive" at that rtol; SciPy: dblquad / tplquad /
  nquad with epsrel = 1e-10), both timed as warmed medians, the true error
  reported apart;
* substituted MC and QMC against hit-or-miss MC at equal evaluations;
* throughput with the analytic |det J| against jacsolve's complex-step and
  central-difference determinants;
* the integrable corner singularity 1/|x| on the unit square;
* plot data: error against evaluations for every method (``Report.plots``).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ... import integrate, integrate_mc, compare_integration
from ...integration import regions as R
from ...integration.cubature import IntegrationWarning, gauss_min_n
from ...problems import integral_cases as P
from .timing import Report, Table, first_call, median_time

TARGET = 1e-10


def _scipy_counted(fn, repeat: int):
    """A SciPy quadrature with an evaluation counter: (value, nfev, median seconds).

    Timed like jacsolve: one warm-up run, then the median of ``repeat`` runs.
    """
    count = [0]

    def counted(f):
        def g(*a):
            count[0] += 1
            return f(*a)
        return g

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = fn(counted)
        nfev = count[0]
        seconds = median_time(lambda: fn(counted), repeat=repeat, warmup=False)
    return value, nfev, seconds


def _gauss_to_target(case):
    """Gauss with the smallest budget (growing by 15 %) whose own error estimate meets
    rtol = TARGET, as a user without the exact value would find it: (result, seconds)."""
    d = case.region.dim
    budget = gauss_min_n(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        while budget < 10 ** 7:
            res = integrate(case.f, case.region, n=budget, args=case.args, rtol=TARGET)
            if res.success:
                n = budget
                t = median_time(lambda: integrate(case.f, case.region, n=n, args=case.args,
                                                  rtol=TARGET), repeat=5)
                return res, t
            budget = int(budget * 1.15) + 1
    raise RuntimeError(f"{case.name}: Gauss's error estimate did not reach {TARGET}")


def _adaptive_to_target(case):
    """method="adaptive" at rtol = TARGET: (result, median seconds)."""
    def call():
        return integrate(case.f, case.region, method="adaptive", n=10 ** 7, args=case.args,
                         rtol=TARGET)
    res = call()
    return res, median_time(call, repeat=5)


def _scipy_cases(quick):
    """(case name, SciPy method label, callable(counted) -> value)."""
    c2 = np.array([0.7, -0.4])
    c3 = np.array([0.3, -0.7, 1.1])
    Rd, Rb, Rt, rt = 1.5, 1.2, 2.0, 1.0
    opts = dict(epsabs=0.0, epsrel=1e-10)

    def disk(counted):
        f = counted(lambda y, x: math.exp(c2[0] * x + c2[1] * y))
        s = lambda x: math.sqrt(max(Rd * Rd - x * x, 0.0))  # noqa: E731
        from scipy import integrate as si
        return si.dblquad(f, -Rd, Rd, lambda x: -s(x), s, **opts)[0]

    def between(counted):
        from scipy import integrate as si
        return si.dblquad(counted(lambda y, x: y), -0.8, 0.9, lambda x: x * x - 1, math.cos,
                          **opts)[0]

    def ball(counted):
        from scipy import integrate as si
        f = counted(lambda z, y, x: math.exp(c3[0] * x + c3[1] * y + c3[2] * z))
        sx = lambda x: math.sqrt(max(Rb * Rb - x * x, 0.0))  # noqa: E731
        sxy = lambda x, y: math.sqrt(max(Rb * Rb - x * x - y * y, 0.0))  # noqa: E731
        return si.tplquad(f, -Rb, Rb, lambda x: -sx(x), sx, lambda x, y: -sxy(x, y), sxy,
                          **opts)[0]

    def w(z):
        return math.sqrt(max(rt * rt - z * z, 0.0))

    def torus_cylindrical(counted):
        # the substitution done by hand: (rho, z, theta), Jacobian rho
        from scipy import integrate as si
        f = counted(lambda rho, z, th: math.exp(z) * rho)
        return si.nquad(f, [lambda z, th: (Rt - w(z), Rt + w(z)), [-rt, rt], [0, 2 * math.pi]],
                        opts={**opts, "limit": 200})[0]

    def torus_cartesian(counted):
        # limits as functions in x, y, z (y >= 0 half, doubled: exp(z) is even in y)
        from scipy import integrate as si
        f = counted(lambda y, x, z: 2.0 * math.exp(z))

        def ylim(x, z):
            a, b = Rt - w(z), Rt + w(z)
            return [math.sqrt(max(a * a - x * x, 0.0)), math.sqrt(max(b * b - x * x, 0.0))]
        return si.nquad(f, [ylim, lambda z: [-(Rt + w(z)), Rt + w(z)], [-rt, rt]],
                        opts={"epsabs": 0.0, "epsrel": 1e-8, "limit": 200})[0]

    out = [("disk exp(c.x)", "dblquad", disk),
           ("3-ball exp(c.x)", "tplquad", ball),
           ("torus exp(z)", "nquad (cylindrical, by hand)", torus_cylindrical)]
    if not quick:
        out[1:1] = [("between cos and x^2-1: y", "dblquad", between)]
        out.append(("torus exp(z)", "nquad (Cartesian limits, epsrel 1e-8)", torus_cartesian))
    return out


def _to_target_table(quick, say):
    table = Table("Time and evaluations to rtol 1e-10 by each method's own error estimate "
                  "(Gauss-Legendre by substitution, adaptive, SciPy iterated QUADPACK)",
                  ["case", "d", "gauss nfev", "gauss time (s)", "gauss error",
                   "adaptive nfev", "adaptive time (s)", "adaptive error",
                   "SciPy method", "SciPy nfev", "SciPy time (s)", "SciPy error",
                   "speed-up (gauss)", "speed-up (adaptive)"])
    ours = {}
    for name, label, fn in _scipy_cases(quick):
        case = P.case(name)
        if name not in ours:
            if say:
                say(f"gauss and adaptive to rtol 1e-10: {name}")
            ours[name] = _gauss_to_target(case), _adaptive_to_target(case)
        (res, t), (ada, ta) = ours[name]
        if say:
            say(f"scipy {label}: {name}")
        slow = "Cartesian" in label
        value, nfev, ts = _scipy_counted(fn, repeat=1 if slow else 3)
        table.add(case=name, d=case.region.dim, **{
            "gauss nfev": res.nfev, "gauss time (s)": t,
            "gauss error": abs(res.value - case.exact) / abs(case.exact),
            "adaptive nfev": ada.nfev if ada.success else f"{ada.nfev} (not converged)",
            "adaptive time (s)": ta,
            "adaptive error": abs(ada.value - case.exact) / abs(case.exact),
            "SciPy method": label, "SciPy nfev": nfev, "SciPy time (s)": ts,
            "SciPy error": abs(value - case.exact) / abs(case.exact),
            "speed-up (gauss)": ts / t, "speed-up (adaptive)": ts / ta})
    table.note = ("Every method stops on its own error estimate, none on the exact value "
                  "(the error columns compare with it afterwards). gauss: the smallest budget, "
                  "growing by 15 % from the minimum, whose three-order estimate meets rtol "
                  "1e-10 (nfev counts all three orders; the search is not timed: the time is "
                  "that of integrate(n=that budget)); adaptive: integrate(method='adaptive', "
                  "rtol=1e-10). SciPy: Python integrand, epsrel=1e-10 (Cartesian torus: "
                  "epsrel=1e-8, which already reaches ~1e-12; it takes ~1 min on the 2-core "
                  "machine, is timed once after its warm-up run and is skipped in quick mode). "
                  "All times are medians after a warm-up run.")
    return table


def _mc_table(quick, say):
    table = Table("Substituted MC and QMC against hit-or-miss MC at equal evaluations",
                  ["case", "n", "hit-or-miss s.e.", "MC (subst.) s.e.", "QMC (subst.) s.e.",
                   "hit / MC", "hit / QMC", "QMC |error|"])
    ns = [1 << 14] if quick else [1 << 12, 1 << 16, 1 << 20]
    names = ("disk exp(c.x)", "torus exp(z)") if quick else (
        "disk exp(c.x)", "3-simplex exp(c.x)", "3-ball exp(c.x)", "torus exp(z)")
    for name in names:
        case = P.case(name)
        if say:
            say(f"MC comparison: {name}")
        for n in ns:
            hit = integrate_mc(case.f, case.region, n=n, seed=1, args=case.args)
            mc = integrate(case.f, case.region, method="mc", n=n, seed=1, args=case.args)
            qmc = integrate(case.f, case.region, method="qmc", n=n, seed=1, args=case.args)
            table.add(case=name, n=n, **{
                "hit-or-miss s.e.": hit.error, "MC (subst.) s.e.": mc.error,
                "QMC (subst.) s.e.": qmc.error, "hit / MC": hit.error / mc.error,
                "hit / QMC": hit.error / qmc.error, "QMC |error|": abs(qmc.value - case.exact)})
    table.note = ("Standard errors as reported (calibrated in tests/test_integration.py); hit-or-"
                  "miss samples the bounding box, so its n counts box points (nfev = points "
                  "inside). Substitution by itself does not cut the MC variance much (polar maps "
                  "can even add some); what it buys is a smooth integrand for QMC and Gauss.")
    return table


def _throughput_table(quick, say):
    table = Table("Throughput: analytic |det J| against jacsolve's numerical determinants",
                  ["case", "d", "analytic (Mpts/s)", "complex step (Mpts/s)",
                   "central (Mpts/s)", "gauss, analytic (Mpts/s)", "complex / analytic time",
                   "max |det| rel. diff"])
    n = 1 << (15 if quick else 18)
    names = ("disk exp(c.x)", "torus exp(z)") if quick else (
        "disk exp(c.x)", "triangle exp(c.x)", "3-ball exp(c.x)", "torus exp(z)",
        "between cos and x^2-1: y")
    for name in names:
        case = P.case(name)
        if say:
            say(f"throughput: {name}")
        times = {}
        for det in ("analytic", "complex") + (() if quick else ("central",)):
            times[det] = median_time(lambda: integrate(case.f, case.region, method="mc", n=n,
                                                       seed=0, args=case.args, det=det),
                                     repeat=3 if quick else 5, min_batch_time=0.01)
        res = integrate(case.f, case.region, n=n, args=case.args)
        gauss = res.nfev / median_time(lambda: integrate(case.f, case.region, n=n,
                                                         args=case.args),
                                       repeat=3 if quick else 5, min_batch_time=0.01)
        u = np.random.default_rng(0).random((4096, case.region.dim))
        da = case.region.pullback(u, det="analytic")[1]
        dc = case.region.pullback(u, det="complex")[1]
        table.add(case=name, d=case.region.dim, **{
            "analytic (Mpts/s)": n / times["analytic"] / 1e6,
            "complex step (Mpts/s)": n / times["complex"] / 1e6,
            "central (Mpts/s)": n / times["central"] / 1e6 if "central" in times else "-",
            "gauss, analytic (Mpts/s)": gauss / 1e6,
            "complex / analytic time": times["complex"] / times["analytic"],
            "max |det| rel. diff": float(np.max(np.abs(dc - da) / da))})
    table.note = (f"integrate(method='mc', n={n}) end to end (random points, map, "
                  "determinant, integrand), all threads; gauss: integrate(n=n), points of "
                  "all three orders per second. The complex step costs d complex map evaluations "
                  "per point (complex sin/cos are ~3x real ones in numba). Built-in maps are "
                  "inlined into cached kernels; the integrand is called through the address "
                  "of its scalar adapter (~20 ns per point, against ~6 ns inlined).")
    return table


def _corner_table(say):
    if say:
        say("corner singularity")
    table = Table("Integrable corner singularity: 1/|x| on the unit square",
                  ["method", "nfev", "|error|", "error estimate", "success (rtol 1e-10)"])
    square = R.Box([0.0, 0.0], [1.0, 1.0])
    for n in (400, 40_000):
        res = integrate(P.inv_norm, square, n=n)
        table.add(method=f"Gauss on the square, n={n}", nfev=res.nfev,
                  **{"|error|": abs(res.value - P.CORNER_SQUARE), "error estimate": res.error,
                     "success (rtol 1e-10)": res.success})
    parts = [integrate(P.inv_norm, t, n=400) for t in P.corner_triangles()]
    table.add(method="Gauss on 2 Duffy triangles (collapsed vertex at 0)",
              nfev=sum(p.nfev for p in parts),
              **{"|error|": abs(sum(p.value for p in parts) - P.CORNER_SQUARE),
                 "error estimate": sum(p.error for p in parts),
                 "success (rtol 1e-10)": all(p.success for p in parts)})
    res = integrate(P.inv_norm, square, method="adaptive", rtol=1e-10)
    table.add(method="adaptive on the square, rtol 1e-10", nfev=res.nfev,
              **{"|error|": abs(res.value - P.CORNER_SQUARE), "error estimate": res.error,
                 "success (rtol 1e-10)": res.success})
    return table


def run(quick: bool = False, progress=None) -> Report:
    """Run the integration benchmarks; ``quick`` skips the minute-long Cartesian nquad.

    IntegrationWarnings are silenced: the tables time and compare methods at
    budgets chosen for that, and report ``success`` where it matters.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        return _run(quick, progress)


def _run(quick: bool, progress) -> Report:
    say = progress
    report = Report("Integration by substitution versus Monte Carlo")
    case = P.case("torus exp(z)")
    fresh = P.gauss_nd      # compiled for the torus here for the first time in this process
    report.compile_times["first integrate (torus, analytic det)"] = first_call(
        lambda: integrate(fresh, case.region, n=100, args=(1.0,)))
    report.compile_times["first complex-step det (torus)"] = first_call(
        lambda: integrate(fresh, case.region, n=100, args=(1.0,), det="complex"))
    report.tables.append(_to_target_table(quick, say))
    report.tables.append(_mc_table(quick, say))
    report.tables.append(_throughput_table(quick, say))
    report.tables.append(_corner_table(say))
    if say:
        say("convergence study")
    disk = P.case("disk exp(c.x)")
    ns = [100, 1000, 10_000] + ([] if quick else [100_000, 1_000_000])
    cmp = compare_integration(disk.f, disk.region, ns=ns, exact=disk.exact, args=disk.args,
                              seed=0)
    report.plots["mc_vs_substitution"] = {
        "title": f"Error against evaluations: {disk.name} over {disk.region!r}",
        "xlabel": "integrand evaluations", "ylabel": "|value - exact|", "log": "loglog",
        "series": {m: {"x": x.tolist(), "y": y.tolist()} for m, (x, y) in cmp.series().items()}}
    conv = Table("Convergence (the plot data): |error| against evaluations, disk exp(c.x)",
                 ["method", "n", "nfev", "error"])
    for r in cmp.rows:
        conv.add(method=r["method"], n=r["n"], nfev=r["nfev"], error=r["error"])
    report.tables.append(conv)
    return report
