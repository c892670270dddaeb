"""Batches of small nonlinear systems: ``solve_batch`` against a loop of SciPy.

Table 1: 10**5 small systems (3 and 4 unknowns) solved by ``solve_batch``
with 1 and 2 numba threads, against ``scipy.optimize.root(method="hybr")``
called in a Python loop on the same ``@njit`` function. The SciPy loop is
timed on a subsample (1000 systems; 200 with ``quick``) and scaled per
system: looping over all 10**5 would take about a minute per problem.

Solved means max|F(x)| <= 1e-10, checked on the returned x for both.
Compile times (first calls in this process: fun and its two small adapters,
and the parallel driver and solver loaded from or written to numba's cache)
are reported separately.
"""
from __future__ import annotations

import time

import numba
import numpy as np
from scipy.optimize import root

from ...nonlinear.batch import solve_batch
from ...problems.batch_systems import equilibrium_batch, trilateration_batch
from .floor_newton import newton_floor_batch
from .timing import Report, Table, first_call, median_time

TOL = 1e-10


def _scipy_loop(prob, idx):
    """Seconds per system and systems solved, for root(hybr) over rows idx."""
    fun = prob.fun
    solved = 0
    t0 = time.perf_counter()
    for k in idx:
        p = prob.params[k]
        sol = root(lambda x: fun(x, p), prob.x0[k], method="hybr")
        solved += np.max(np.abs(fun(sol.x, p))) <= TOL
    return (time.perf_counter() - t0) / len(idx), int(solved)


def run(quick: bool = False, progress=None) -> Report:
    N = 20_000 if quick else 100_000
    nsub = 200 if quick else 1000
    say = progress or (lambda msg: None)
    report = Report("Batches of small systems (solve_batch)")
    table = Table(
        f"{N:,} systems per problem: solve_batch vs a Python loop of scipy.optimize.root",
        ["problem", "n", "jacsolve 1 thread (s)", "jacsolve 2 threads (s)", "thread speedup",
         "jacsolve us/system", "scipy us/system", "speedup vs scipy", "solved jacsolve",
         "solved scipy", "floor us/system", "jacsolve / floor", "solved floor"],
        note=(f"SciPy: root(method='hybr') on the same @njit function, timed on {nsub} "
              "systems and scaled per system. Solved: max|F(x)| <= 1e-10 at the returned "
              "x (SciPy counted on its subsample). jacsolve: method='newton', "
              "jac='complex', median of repeated calls after a warm-up. floor: a plain "
              "hand-written parallel numba Newton (jacsolve.cli.bench.floor_newton: complex-"
              "step Jacobian, Gaussian elimination, backtracking, no safeguards) with the "
              "same F, tolerance and threads."))
    threads = numba.get_num_threads()
    most = min(2, numba.config.NUMBA_NUM_THREADS)
    for make in (trilateration_batch, equilibrium_batch):
        prob = make(N, seed=0)
        n = prob.x0.shape[1]
        say(f"{prob.name}: compile")
        report.compile_times[f"{prob.fun.__name__} first call"] = first_call(
            lambda: solve_batch(prob.fun, prob.x0[:2], prob.params[:2], tol=TOL))
        run_all = lambda: solve_batch(prob.fun, prob.x0, prob.params, tol=TOL)  # noqa: E731
        times = {}
        try:
            for t in sorted({1, most}):
                numba.set_num_threads(t)
                say(f"{prob.name}: {N} systems, {t} thread(s)")
                times[t] = median_time(run_all, repeat=5, min_batch_time=0.0)
        finally:
            numba.set_num_threads(threads)
        res = run_all()
        run_floor = lambda: newton_floor_batch(prob.fun, prob.x0, prob.params, TOL, 50)  # noqa: E731
        run_floor()
        floor = median_time(run_floor, repeat=5, min_batch_time=0.0)
        solved_floor = int(run_floor()[1].sum())
        say(f"{prob.name}: scipy loop over {nsub} systems")
        sub = np.random.default_rng(1).choice(N, size=nsub, replace=False)
        per_scipy, solved_scipy = _scipy_loop(prob, sub)
        best = times[most]
        table.add(**{"problem": prob.name, "n": n,
                     "jacsolve 1 thread (s)": times[1],
                     "jacsolve 2 threads (s)": times.get(2, float("nan")),
                     "thread speedup": times[1] / best,
                     "jacsolve us/system": best / N * 1e6,
                     "scipy us/system": per_scipy * 1e6,
                     "speedup vs scipy": per_scipy * N / best,
                     "solved jacsolve": f"{int(res.success.sum())}/{N}",
                     "solved scipy": f"{solved_scipy}/{nsub}",
                     "floor us/system": floor / N * 1e6, "jacsolve / floor": best / floor,
                     "solved floor": f"{solved_floor}/{N}"})
    report.tables.append(table)
    return report
