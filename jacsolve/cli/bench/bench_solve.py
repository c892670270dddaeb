"""Nonlinear-solve benchmarks: jacsolve.solve against SciPy on the same @njit F.

* The Moré-Garbow-Hillstrom suite of MINPACK's test driver (55 cases):
  cases solved to max|F| <= 1e-8, evaluations, and the median time per solve
  against ``scipy.optimize.root(method="hybr")``.
* The 2-D Bratu problem (lambda = 6) on m x m grids: sparse Newton (coloured
  complex-step Jacobians, sparse LU) and Newton-GMRES against
  ``scipy.optimize.newton_krylov``, all to max|F| <= 1e-9.

Times are medians after a warm-up call; compile times (first calls) are
reported apart.
"""
from __future__ import annotations

import time

import numpy as np
from scipy.optimize import newton_krylov, root

from ...nonlinear.root import solve
from ...problems import bratu as B
from ...problems import mgh
from .floor_newton import newton_floor
from .timing import Report, Table, first_call, median_time

SOLVED = 1e-8


def _maxres(fun, x, args=()):
    return float(np.max(np.abs(fun(x, *args))))


def _mgh(report, quick, say):
    cases = mgh.cases()
    if quick:  # every other problem from its standard start: each compiles ~1 s
        cases = [c for c in cases if c.factor == 1.0][::2]
    compile_s = first_call(lambda: solve(cases[0].fun, cases[0].x0))
    report.compile_times["solve, first function (algorithms cached)"] = compile_s
    rows = []
    for c in cases:
        if say:
            say(c.name)
        r = solve(c.fun, c.x0)
        h = root(c.fun, c.x0, method="hybr")
        repeat = 3 if quick else 7
        t_ours = median_time(lambda: solve(c.fun, c.x0), repeat=repeat, min_batch_time=0.005)
        t_hybr = median_time(lambda: root(c.fun, c.x0, method="hybr"), repeat=repeat,
                             min_batch_time=0.005)
        # the floor: a hand-written numba Newton, to the same residual tolerance
        xf, nfev_f, ok_f = newton_floor(c.fun, c.x0, (), 1e-10, 200)
        t_floor = median_time(lambda: newton_floor(c.fun, c.x0, (), 1e-10, 200),
                              repeat=repeat, min_batch_time=0.005)
        rows.append((c, r, h, t_ours, t_hybr, (bool(ok_f), nfev_f, t_floor)))
    ok = [_maxres(c.fun, r.x) <= SOLVED for c, r, *_ in rows]
    ok_h = [_maxres(c.fun, h.x) <= SOLVED for c, _, h, *_ in rows]
    both = [a and b for a, b in zip(ok, ok_h)]
    nfev = sum(r.nfev for (c, r, *_), b in zip(rows, both) if b)
    nfev_h = sum(h.nfev for (c, _, h, *_), b in zip(rows, both) if b)
    t = np.array([row[3] for row in rows])
    th = np.array([row[4] for row in rows])
    false_ok = sum(h.success and not o for (c, _, h, *_), o in zip(rows, ok_h))
    table = Table(f"MGH suite ({len(rows)} cases): solve(method='auto') vs root(method='hybr')",
                  ["solver", "solved (max|F| <= 1e-8)", "nfev (cases both solve)",
                   "median time per solve (us)", "success flag wrong"])
    table.add(**{"solver": "jacsolve.solve", "solved (max|F| <= 1e-8)": sum(ok),
                 "nfev (cases both solve)": nfev,
                 "median time per solve (us)": float(np.median(t)) * 1e6,
                 "success flag wrong": sum(r.success != (r.fnorm <= 1e-10)
                                           for _, r, *_ in rows)})
    table.add(**{"solver": "scipy root hybr", "solved (max|F| <= 1e-8)": sum(ok_h),
                 "nfev (cases both solve)": nfev_h,
                 "median time per solve (us)": float(np.median(th)) * 1e6,
                 "success flag wrong": false_ok})
    ratio = th / t
    standard = np.array([c.factor == 1.0 for c, *_ in rows])
    std_nfev = sum(r.nfev for (c, r, *_), b in zip(rows, both) if b and c.factor == 1.0)
    std_nfev_h = sum(h.nfev for (c, _, h, *_), b in zip(rows, both) if b and c.factor == 1.0)
    table.note = (f"Speed-up per case (hybr time / jacsolve time): median {np.median(ratio):.1f}x, "
                  f"min {ratio.min():.1f}x, max {ratio.max():.1f}x; from the standard starts "
                  f"only: median {np.median(ratio[standard]):.1f}x, evaluations "
                  f"{std_nfev} vs hybr's {std_nfev_h} ({std_nfev / max(std_nfev_h, 1):.2f}x) "
                  "on the cases both solve. nfev counts complex "
                  "evaluations as evaluations. 'success flag wrong': hybr reports success "
                  "with max|F| > 1e-8 (or jacsolve's flag disagrees with max|F| <= tol).")
    report.tables.append(table)
    detail = Table("MGH suite per case", ["case", "ours max|F|", "ours nfev", "ours us",
                                          "hybr max|F|", "hybr nfev", "hybr us", "speed-up",
                                          "floor solved", "floor nfev", "floor us",
                                          "ours / floor"])
    for (c, r, h, to, tt, (ok_f, nfev_f, tf)) in rows:
        detail.add(case=c.name, **{"ours max|F|": r.fnorm, "ours nfev": r.nfev,
                                   "ours us": to * 1e6, "hybr max|F|": _maxres(c.fun, h.x),
                                   "hybr nfev": h.nfev, "hybr us": tt * 1e6,
                                   "speed-up": tt / to, "floor solved": ok_f,
                                   "floor nfev": nfev_f, "floor us": tf * 1e6,
                                   "ours / floor": to / tf})
    detail.note = ("floor: a plain hand-written numba Newton (complex-step Jacobian, Gaussian "
                   "elimination, backtracking, no safeguards; jacsolve.cli.bench.floor_newton) "
                   "with the same F, to max|F| <= 1e-10; it may fail where jacsolve's "
                   "globalisation succeeds. hybr stops on its own step test (xtol=1.49e-8), "
                   "jacsolve and the floor on max|F| <= 1e-10.")
    report.tables.append(detail)
    # bar chart: solve time per MGH problem, jacsolve next to hybr
    report.plots["solve_time_per_mgh_problem"] = {
        "rows": [{"case": r["case"], "jacsolve (us)": r["ours us"], "hybr (us)": r["hybr us"]}
                 for r in detail.rows],
        "kind": "bar", "logy": True, "ylabel": "median time per solve (us)",
        "title": "Solve time per MGH problem: jacsolve.solve (auto) vs root(hybr)"}


def _bratu(report, quick, say):
    table = Table("Bratu 2-D, lambda = 6, from u = 0, to max|F| <= 1e-9",
                  ["m", "n", "sparse Newton (s)", "nfev", "Newton-GMRES (s)",
                   "newton_krylov (s)", "speed-up sparse", "speed-up GMRES"])
    tol = 1e-9
    for m in ((32, 64) if quick else (32, 64, 100)):
        if say:
            say(f"bratu m={m}")
        args = (m, B.LAMBDA)
        u0 = B.bratu_start(m)
        pattern = B.bratu_sparsity(m)
        c0 = first_call(lambda: solve(B.bratu, u0, args=args, sparsity=pattern, tol=tol))
        c1 = first_call(lambda: solve(B.bratu, u0, args=args, method="krylov", tol=tol))
        report.compile_times.setdefault("Bratu sparse Newton first call", c0)
        report.compile_times.setdefault("Bratu Newton-GMRES first call", c1)
        r = solve(B.bratu, u0, args=args, sparsity=pattern, tol=tol)
        k = solve(B.bratu, u0, args=args, method="krylov", tol=tol)
        assert r.success and k.success
        repeat = 3
        t_sparse = median_time(lambda: solve(B.bratu, u0, args=args, sparsity=pattern, tol=tol),
                               repeat=repeat, min_batch_time=0.0)
        t_gmres = median_time(lambda: solve(B.bratu, u0, args=args, method="krylov", tol=tol),
                              repeat=repeat, min_batch_time=0.0)
        f = lambda u: B.bratu(u, m, B.LAMBDA)  # noqa: E731
        t0 = time.perf_counter()
        ref = newton_krylov(f, u0, f_tol=tol)
        t_nk = time.perf_counter() - t0
        if not quick:
            t_nk = median_time(lambda: newton_krylov(f, u0, f_tol=tol), repeat=3,
                               min_batch_time=0.0, warmup=False)
        assert _maxres(B.bratu, ref, args) <= tol
        table.add(m=m, n=m * m, **{"sparse Newton (s)": t_sparse, "nfev": r.nfev,
                                   "Newton-GMRES (s)": t_gmres, "newton_krylov (s)": t_nk,
                                   "speed-up sparse": t_nk / t_sparse,
                                   "speed-up GMRES": t_nk / t_gmres})
    table.note = ("Sparse Newton: coloured complex-step Jacobian (one complex evaluation per "
                  "column group), splu steps. Newton-GMRES: method='krylov', no "
                  "preconditioner. newton_krylov: SciPy defaults (LGMRES) with f_tol=1e-9.")
    report.tables.append(table)


def run(quick: bool = False, progress=None) -> Report:
    """Run the nonlinear-solve benchmarks; ``quick``: half the problems, 1x starts, m <= 64."""
    report = Report("Nonlinear systems: jacsolve.solve vs SciPy")
    _mgh(report, quick, progress)
    _bratu(report, quick, progress)
    return report
