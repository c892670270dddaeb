"""Monte Carlo propagation (JCGM 101): speed against NumPy, and adaptive draw counts.

Tables:

1. ``propagate_mc`` with 10**6 draws (including the shortest 95 % interval)
   against a NumPy-vectorised Monte Carlo of the same model (NumPy Generator
   draws, array arithmetic, sort), and against the bare compiled model loop
   (the model evaluated over pre-drawn inputs, in parallel) and the compiled
   sampler alone.
2. Adaptive Monte Carlo (JCGM 101 7.9): draws needed for 1 and 2
   significant digits on the examples of clause 9.

Compile times (first calls in this process) are reported separately.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import distributions as D
import numba

from .._jit import jit
from ..montecarlo import propagate_mc
from ..problems import gum
from .timing import Report, Table, first_call, median_time, progress_printer


@jit(parallel=True)
def _model_loop(fun, X, Y):
    """The bare compiled model loop: fun over pre-drawn inputs, draws in parallel."""
    for i in numba.prange(X.shape[0]):
        Y[i] = fun(X[i])


def _numpy_mass(rng, n):
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


def _numpy_mc(sampler, n, p=0.95):
    """What a careful NumPy user writes: vectorised draws, moments, sorted values."""
    y = sampler(np.random.default_rng(1), n)
    ys = np.sort(y)
    q = int(math.floor(p * n + 0.5))
    r = int(np.argmin(ys[q:] - ys[:n - q]))
    return y.mean(), y.std(ddof=1), ys[r], ys[r + q]


def run(quick: bool = False, progress=None) -> Report:
    say = progress or (lambda msg: None)
    n = 200_000 if quick else 1_000_000
    report = Report("Monte Carlo propagation (JCGM 101)")
    cases = [("mass calibration (9.3), 5 inputs", gum.mass(), _numpy_mass),
             ("gauge block (9.5), 9 inputs", gum.gauge(), _numpy_gauge)]
    speed = Table(f"propagate_mc vs NumPy-vectorised Monte Carlo, {n:.0e} draws",
                  ["model", "jacsolve s", "NumPy s", "speed-up", "model loop s",
                   "sampler s", "jacsolve / model loop", "jacsolve / (sampler + loop)"],
                  note="jacsolve = propagate_mc + shortest 95 % interval; NumPy = Generator "
                       "draws, vectorised model, sort, shortest interval. model loop = the "
                       "compiled model over pre-drawn inputs (parallel prange); sampler = "
                       "jacsolve's compiled parallel sampler alone. Median of repeats after "
                       "warm-up, same process.")
    for name, ex, numpy_sampler in cases:
        say(f"speed: {name}")

        def ours():
            r = propagate_mc(ex.fun, ex.inputs, n=n, seed=1, p=ex.p)
            r.interval(kind="shortest")

        report.compile_times[f"propagate_mc first call, {name}"] = first_call(ours)
        t_ours = median_time(ours, repeat=3 if quick else 5)
        t_numpy = median_time(lambda: _numpy_mc(numpy_sampler, n, ex.p), repeat=3 if quick else 5)
        plan = D.SamplingPlan(ex.inputs)
        X = plan.draw(D.seed_key(1), 0, n)
        Y = np.empty(n)
        report.compile_times[f"bare model loop, {name}"] = first_call(
            lambda: _model_loop(ex.fun, X, Y))
        t_loop = median_time(lambda: _model_loop(ex.fun, X, Y), repeat=5)
        pre = np.zeros((0, 0))
        t_sample = median_time(lambda: D.sample_blocks(plan.codes, plan.params, plan.cols,
                                                       plan.extra, pre, np.uint64(1), 0, X),
                               repeat=5)
        speed.add(**{"model": name, "jacsolve s": t_ours, "NumPy s": t_numpy,
                     "speed-up": t_numpy / t_ours, "model loop s": t_loop,
                     "sampler s": t_sample, "jacsolve / model loop": t_ours / t_loop,
                     "jacsolve / (sampler + loop)": t_ours / (t_sample + t_loop)})
    report.tables.append(speed)

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
                            "u(y)": float(r.std[0]), "delta": float(r.tolerance[0]),
                            "s": time.perf_counter() - t0})
    report.tables.append(adaptive)
    return report


if __name__ == "__main__":  # pragma: no cover
    import sys
    print(run(quick="--quick" in sys.argv, progress=progress_printer(True)).markdown())
