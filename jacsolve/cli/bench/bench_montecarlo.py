"""Monte Carlo propagation (JCGM 101): speed against NumPy, and adaptive draw counts.

Tables:

1. ``propagate_mc`` with 10**6 draws against a NumPy-vectorised Monte Carlo
   of the same model doing the same work, in two stages: (a) draws, model,
   mean and standard uncertainty; (b) the same plus the probabilistically
   symmetric and the shortest coverage intervals. Beside them, the bare
   compiled model loop (the model over pre-drawn inputs, ``prange``) and the
   compiled sampler alone, which together bound what (a) can reach.
2. The results of both Monte Carlo runs (independent streams): they agree
   within their standard errors.
3. Adaptive Monte Carlo (JCGM 101 7.9): draws needed for 1 and 2
   significant digits on the examples of clause 9.

All timings are medians after a warm-up, in one process, with
``numba.get_num_threads()`` threads; first calls (compilation) are reported
separately.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ...uncertainty import distributions as D
import numba

from ..._numba.options import jit
from ...uncertainty.montecarlo import propagate_mc
from ...problems import gum_examples as gum
from .timing import Report, Table, first_call, median_time, progress_printer


@jit(parallel=True)
def _model_loop(fun, X, Y):
    """The bare compiled model loop: fun over pre-drawn inputs, draws in parallel."""
    for i in numba.prange(X.shape[0]):
        Y[i] = fun(X[i])


def numpy_mass(rng, n):
    """JCGM 101 9.3 (mass calibration) in plain NumPy: n draws of y from ``rng``."""
    m = rng.normal(100_000.0, 0.050, n)
    dm = rng.normal(1.234, 0.020, n)
    ra = rng.uniform(1.10, 1.30, n)
    rw = rng.uniform(7.0e3, 9.0e3, n)
    rr = rng.uniform(7.95e3, 8.05e3, n)
    return (m + dm) * (1.0 + (ra - 1.2) * (1.0 / rw - 1.0 / rr)) - 100_000.0


def _ctrap(rng, a, b, d, n):
    r1, r2 = rng.random(n), rng.random(n)
    return 0.5 * (a + b) + ((0.5 * (b - a) - d) + 2 * d * r2) * (2 * r1 - 1)


def _numpy_gauge(rng, n):
    ls = 50_000_623.0 + 25.0 * rng.standard_t(18, n)
    d = 215.0 + 5.8 * rng.standard_t(24, n) + 3.9 * rng.standard_t(5, n) \
        + 6.7 * rng.standard_t(8, n)
    a_s = rng.uniform(9.5e-6, 13.5e-6, n)
    theta = rng.normal(-0.1, 0.2, n) + 0.5 * np.sin(2 * np.pi * rng.random(n))
    dalpha = _ctrap(rng, -1.0e-6, 1.0e-6, 0.1e-6, n)
    dtheta = _ctrap(rng, -0.050, 0.050, 0.025, n)
    alpha = a_s + dalpha
    num = (ls - 50_000_000.0) + ls * a_s * (theta - dtheta) + d - 50_000_000.0 * alpha * theta
    return num / (1.0 + alpha * theta)


def numpy_monte_carlo(sampler, n, p=0.95):
    """What a careful NumPy user writes: vectorised draws, moments, sorted values.

    Returns mean, std and the shortest p interval.
    """
    mean, std, intervals = _numpy_stages(sampler, n, p)
    return (mean, std) + intervals["shortest"]


def _numpy_stages(sampler, n, p=0.95, intervals=True):
    """(a) draws, model, mean, std; (b) with ``intervals``: one sort, both intervals (a dict)."""
    y = sampler(np.random.default_rng(1), n)
    mean, std = y.mean(), y.std(ddof=1)
    if not intervals:
        return mean, std, None
    ys = np.sort(y)
    q = int(math.floor(p * n + 0.5))
    r = (n - q + 1) // 2 - 1                       # JCGM 101 7.7
    k = int(np.argmin(ys[q:] - ys[:n - q]))
    return mean, std, {"symmetric": (ys[r], ys[r + q]), "shortest": (ys[k], ys[k + q])}


def _jacsolve_stages(ex, n, intervals=True):
    r = propagate_mc(ex.fun, ex.inputs, n=n, seed=1, p=ex.p)
    if intervals:
        r.interval(kind="symmetric")
        r.interval(kind="shortest")
    return r


def run(quick: bool = False, progress=None) -> Report:
    say = progress or (lambda msg: None)
    n = 200_000 if quick else 1_000_000
    report = Report("Monte Carlo propagation (JCGM 101)")
    cases = [("mass calibration (9.3), 5 inputs", gum.mass(), numpy_mass),
             ("gauge block (9.5), 9 inputs", gum.gauge(), _numpy_gauge)]
    threads = numba.get_num_threads()
    speed = Table(f"propagate_mc vs NumPy-vectorised Monte Carlo, {n:.0e} draws, "
                  f"{threads} threads",
                  ["model", "stage", "jacsolve s", "NumPy s", "speed-up", "model loop s",
                   "sampler s", "jacsolve / model loop", "jacsolve / (sampler + loop)"],
                  note="(a) draws + model + mean and u(y); (b) the same + probabilistically "
                       "symmetric and shortest intervals at the example's p. jacsolve = "
                       "propagate_mc (+ interval); NumPy = Generator draws, vectorised model, "
                       "mean/std (+ one np.sort and both intervals). model loop = the compiled "
                       "model over pre-drawn inputs (prange, no sampling); sampler = jacsolve's "
                       "compiled parallel sampler alone. Medians after warm-up, same process.")
    values = Table("Results of both runs (independent random streams)",
                   ["model", "method", "mean", "u", "symmetric", "shortest"])
    for name, ex, numpy_sampler in cases:
        say(f"speed: {name}")
        repeat = 3 if quick else 7
        report.compile_times[f"propagate_mc first call, {name}"] = first_call(
            lambda: _jacsolve_stages(ex, n, intervals=False))
        report.compile_times[f"propagate_mc + intervals, first call, {name}"] = first_call(
            lambda: _jacsolve_stages(ex, n))
        plan = D.SamplingPlan(ex.inputs)
        X = plan.draw(D.seed_key(1), 0, n)
        Y = np.empty(n)
        report.compile_times[f"bare model loop, {name}"] = first_call(
            lambda: _model_loop(ex.fun, X, Y))
        t_loop = median_time(lambda: _model_loop(ex.fun, X, Y), repeat=repeat)
        pre = np.zeros((0, 0))
        t_sample = median_time(lambda: D.sample_blocks(plan.codes, plan.params, plan.cols,
                                                       plan.extra, pre, np.uint64(1), 0, X),
                               repeat=repeat)
        for stage, full in (("(a) moments", False), ("(b) + intervals", True)):
            t_ours = median_time(lambda: _jacsolve_stages(ex, n, full), repeat=repeat)
            t_numpy = median_time(lambda: _numpy_stages(numpy_sampler, n, ex.p, full),
                                  repeat=repeat)
            speed.add(**{"model": name, "stage": stage, "jacsolve s": t_ours,
                         "NumPy s": t_numpy, "speed-up": t_numpy / t_ours,
                         "model loop s": t_loop, "sampler s": t_sample,
                         "jacsolve / model loop": t_ours / t_loop,
                         "jacsolve / (sampler + loop)": t_ours / (t_sample + t_loop)})
        r = _jacsolve_stages(ex, n)
        mean, std, intervals = _numpy_stages(numpy_sampler, n, ex.p)
        fmt = lambda pair: f"[{float(np.ravel(pair[0])[0]):.5g}, {float(np.ravel(pair[1])[0]):.5g}]"
        values.add(model=name, method="jacsolve", mean=float(np.ravel(r.mean)[0]),
                   u=float(np.ravel(r.std)[0]),
                   symmetric=fmt(r.interval(kind="symmetric")),
                   shortest=fmt(r.interval(kind="shortest")))
        values.add(model=name, method="NumPy", mean=float(mean), u=float(std),
                   symmetric=fmt(intervals["symmetric"]), shortest=fmt(intervals["shortest"]))
    report.tables += [speed, values]

    adaptive = Table("Adaptive Monte Carlo (JCGM 101 7.9): draws until stable",
                     ["example", "digits", "draws", "converged", "u(y)", "delta", "s"],
                     note="Batches of 10 240 draws (10**4 rounded up to whole sampler blocks); "
                          "stop when twice the standard deviations of the batch averages of y, "
                          "u(y) and both shortest-interval endpoints are <= delta.")
    examples = gum.all_examples()
    if quick:
        examples = [examples[0], examples[3]]
    for ex in examples:
        for digits in ((1,) if quick else (1, 2)):
            say(f"adaptive: {ex.name}, {digits} digits")
            t0 = time.perf_counter()
            r = propagate_mc(ex.fun, ex.inputs, digits=digits, p=ex.p, kind="shortest",
                             seed=2, max_draws=20_000_000, keep_samples=False)
            adaptive.add(**{"example": f"{ex.clause} {ex.name}", "digits": digits,
                            "draws": r.n_draws, "converged": r.converged,
                            "u(y)": float(np.ravel(r.std)[0]),
                            "delta": float(np.ravel(r.tolerance)[0]),
                            "s": time.perf_counter() - t0})
    report.tables.append(adaptive)
    return report


if __name__ == "__main__":  # pragma: no cover
    import sys
    print(run(quick="--quick" in sys.argv, progress=progress_printer(True)).markdown())
