"""Past one machine: solve_batch and propagate_mc on a Dask LocalCluster against local threads.

Table 1 times 10**6 inverse-kinematics systems (a two-link planar arm:
joint angles that put the hand at a target; ``--quick``: 10**5) and 10**8
Monte Carlo draws of a 5-input model (``--quick``: 10**7) four ways: one
local thread, local threads on all cores, a LocalCluster of 1 worker
process (1 thread) and of 2 worker processes (1 thread each). Each row is
the median of repeated calls after a first call; first calls (compilation in
this process and in the workers) are reported apart. On a cluster
``propagate_mc`` evaluates every draw twice (two passes, so no worker keeps
draws and no draw travels), which its cluster/local ratio includes.

Table 2: the cost of the cluster itself: per-task scheduler overhead (a
thousand empty tasks, submitted and gathered), and the peak resident memory
of each worker process after the Monte Carlo run.
"""
from __future__ import annotations

import logging
import os
import time

import numba
import numpy as np

from ...uncertainty import distributions as D
from ..._numba.options import jit
from .timing import Report, Table, first_call

__all__ = ["run", "arm", "arm_batch", "five_inputs"]


@jit(cache=True)
def arm(x, p):
    """Two-link arm: hand at (p0, p1) with links p2, p3; x = the two joint angles."""
    out = np.empty(2, dtype=x.dtype)
    out[0] = p[2] * np.cos(x[0]) + p[3] * np.cos(x[0] + x[1]) - p[0]
    out[1] = p[2] * np.sin(x[0]) + p[3] * np.sin(x[0] + x[1]) - p[1]
    return out


def arm_batch(N: int, seed=0):
    """N reachable targets (radius within the arm's annulus) and a common start."""
    rng = np.random.default_rng(seed)
    L = np.column_stack([rng.uniform(0.8, 1.2, N), rng.uniform(0.5, 0.9, N)])
    r = rng.uniform(np.abs(L[:, 0] - L[:, 1]) + 0.05, L.sum(1) - 0.05)
    phi = rng.uniform(-np.pi, np.pi, N)
    P = np.column_stack([r * np.cos(phi), r * np.sin(phi), L])
    return np.array([0.3, 1.2]), P


@jit(cache=True)
def five_inputs(x):
    return x[0] * x[1] / (1.0 + x[2] * x[2]) + np.sin(x[3]) * x[4]


INPUTS = [D.Normal(1.0, 0.1), D.Rectangular(1.0, 3.0), D.Normal(0.0, 0.5),
          D.Triangular(-1.0, 1.0), D.Normal(2.0, 0.2)]


def _median(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


_PROBE = {}


def _start_rss_probe():
    """In a worker: poll its resident memory every 20 ms, keeping the largest.

    (ru_maxrss would not do: Linux carries it over from the parent across
    the exec that starts a worker process.)
    """
    import threading

    import psutil
    proc = psutil.Process()
    _PROBE["peak"] = proc.memory_info().rss
    _PROBE["on"] = True

    def poll():
        while _PROBE["on"]:
            _PROBE["peak"] = max(_PROBE["peak"], proc.memory_info().rss)
            time.sleep(0.02)
    threading.Thread(target=poll, daemon=True).start()


def _peak_rss_mb():
    _PROBE["on"] = False
    return _PROBE.get("peak", 0) / 2 ** 20


def _noop(i):
    return i


def run(quick: bool = False, progress=None) -> Report:
    from distributed import Client, LocalCluster

    import jacsolve
    say = progress or (lambda msg: None)
    N = 100_000 if quick else 1_000_000
    draws = 10_000_000 if quick else 100_000_000
    repeat = 3 if quick else 2
    report = Report("More than one machine (Dask LocalCluster)")
    x0, P = arm_batch(N)
    cores = numba.config.NUMBA_NUM_THREADS
    rows = []

    def case(label, threads, client):
        say(f"{label}: solve_batch on {N:,} systems")
        before = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            solve = lambda: jacsolve.solve_batch(arm, x0, P, client=client)  # noqa: E731
            mc = lambda: jacsolve.propagate_mc(  # noqa: E731
                five_inputs, INPUTS, n=draws, seed=1, parallel=threads > 1, client=client,
                keep_samples=False)
            report.compile_times[f"solve_batch first call, {label}"] = first_call(solve)
            t_solve = _median(solve, repeat)
            say(f"{label}: propagate_mc on {draws:,} draws")
            small = lambda: jacsolve.propagate_mc(  # noqa: E731
                five_inputs, INPUTS, n=1 << 20, seed=1, client=client, keep_samples=False)
            report.compile_times[f"propagate_mc first call, {label}"] = first_call(small)
            t_mc = _median(mc, 1 if not quick else 2)
        finally:
            numba.set_num_threads(before)
        rows.append(dict(setup=label, threads=threads, solve_s=t_solve,
                         us_per_system=1e6 * t_solve / N, mc_s=t_mc,
                         ns_per_draw=1e9 * t_mc / draws))
        return t_solve, t_mc

    local1 = case("local, 1 thread", 1, None)
    localn = case(f"local, {cores} threads", cores, None)
    clusters = {}
    memory, overhead = {}, {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            client.run(_start_rss_probe)
            clusters[workers] = case(f"LocalCluster, {workers} worker(s) x 1 thread", workers,
                                     client)
            memory[workers] = sorted(client.run(_peak_rss_mb).values())
            client.gather(client.map(_noop, range(50), pure=False))
            t0 = time.perf_counter()
            client.gather(client.map(_noop, range(1000), pure=False))
            overhead[workers] = (time.perf_counter() - t0) / 1000
    same = {1: local1, 2: localn if cores == 2 else None}
    for r in rows:
        w = 1 if "1 worker" in r["setup"] else 2 if "2 worker" in r["setup"] else None
        if w is None:
            continue
        r["solve vs 1 worker"] = clusters[1][0] / r["solve_s"]
        r["mc vs 1 worker"] = clusters[1][1] / r["mc_s"]
        if same.get(w):
            r["solve cluster/local same cores"] = r["solve_s"] / same[w][0]
            r["mc cluster/local same cores"] = r["mc_s"] / same[w][1]
    report.tables.append(Table(
        f"{N:,} two-link IK systems (solve_batch) and {draws:,} Monte Carlo draws of a "
        "5-input model (propagate_mc)",
        ["setup", "threads", "solve_s", "us_per_system", "mc_s", "ns_per_draw",
         "solve vs 1 worker", "mc vs 1 worker", "solve cluster/local same cores",
         "mc cluster/local same cores"], rows,
        note=("Medians after a first call (compile times below, apart). Goals: 2 workers "
              ">= 1.7x 1 worker; cluster/local on the same cores <= 1.15. propagate_mc on a "
              f"cluster evaluates each draw twice (two passes). Machine cores: "
              f"{os.cpu_count()}, numba threads: {cores}.")))
    report.tables.append(Table(
        "Cost of the cluster itself",
        ["workers", "scheduler overhead per task (ms)", "peak RSS per worker (MB)"],
        [{"workers": w, "scheduler overhead per task (ms)": 1e3 * overhead[w],
          "peak RSS per worker (MB)": ", ".join(f"{m:.0f}" for m in memory[w])}
         for w in (1, 2)],
        note=("Overhead: 1000 empty tasks submitted with client.map and gathered, per task. "
              "RSS: each worker's peak resident memory over all its runs (polled every "
              "20 ms).")))
    report.plots["distributed"] = {"rows": rows, "x": "setup", "y": ["solve_s", "mc_s"],
                                   "kind": "bar"}
    return report
