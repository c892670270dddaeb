"""Past one machine: solve_batch and propagate_mc on a Dask LocalCluster against local threads.

Table 1 times 10**6 inverse-kinematics systems (a two-link planar arm:
joint angles that put the hand at a target; ``--quick``: 10**5) and 10**8
Monte Carlo draws of a 5-input model (``--quick``: 10**7) four ways: one
local thread, local threads on all cores, a LocalCluster of 1 worker
process (1 thread) and of 2 worker processes (1 thread each). Each row is
the median of repeated calls after a first call; first calls (compilation in
this process and in the workers) are reported apart. The cluster/local
ratios compare each cluster call with a local call on as many threads made
right after it (pairs, so that load from elsewhere on the machine falls on
both sides alike). On a cluster ``propagate_mc`` evaluates each draw once
unless the pilot's predicted windows miss an interval endpoint (then a
second pass; the "mc passes" column says which).

Table 2: the cost of the cluster itself: per-task scheduler overhead (a
thousand empty tasks, submitted and gathered), the peak resident memory of
each worker process after the runs, and the chunk sizes.
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


def _median(fn, repeat, paired=None, threads=1):
    """Median seconds of fn; with ``paired``, also of paired() run right after each
    call of fn on ``threads`` numba threads: (fn's median, paired's median)."""
    times, others = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if paired is not None:
            before = numba.get_num_threads()
            numba.set_num_threads(threads)
            try:
                t0 = time.perf_counter()
                paired()
                others.append(time.perf_counter() - t0)
            finally:
                numba.set_num_threads(before)
    mid = sorted(times)[len(times) // 2]
    return (mid, sorted(others)[len(others) // 2]) if paired is not None else mid


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

    def solve_on(client):
        return lambda: jacsolve.solve_batch(arm, x0, P, client=client)

    def mc_on(client, threads):
        passes = []

        def count(done, total):
            passes.append(total // draws)
        return lambda: jacsolve.propagate_mc(
            five_inputs, INPUTS, n=draws, seed=1, parallel=threads > 1, client=client,
            keep_samples=False, progress=count if client is not None else False), passes

    def case(label, threads, client):
        say(f"{label}: solve_batch on {N:,} systems")
        before = numba.get_num_threads()
        numba.set_num_threads(threads)
        pair = {} if client is None else dict(threads=threads)
        try:
            solve = solve_on(client)
            report.compile_times[f"solve_batch first call, {label}"] = first_call(solve)
            t_solve = _median(solve, repeat, paired=solve_on(None) if pair else None, **pair)
            say(f"{label}: propagate_mc on {draws:,} draws")
            small = lambda: jacsolve.propagate_mc(  # noqa: E731
                five_inputs, INPUTS, n=1 << 20, seed=1, client=client, keep_samples=False)
            report.compile_times[f"propagate_mc first call, {label}"] = first_call(small)
            mc, passes = mc_on(client, threads)
            t_mc = _median(mc, 1 if not quick else 2,
                           paired=mc_on(None, threads)[0] if pair else None, **pair)
        finally:
            numba.set_num_threads(before)
        row = dict(setup=label, threads=threads)
        if client is None:
            row.update(solve_s=t_solve, mc_s=t_mc)
        else:
            row.update(solve_s=t_solve[0], mc_s=t_mc[0], mc_passes=max(passes),
                       **{"solve cluster/local same cores": t_solve[0] / t_solve[1],
                          "mc cluster/local same cores": t_mc[0] / t_mc[1]})
        row.update(us_per_system=1e6 * row["solve_s"] / N, ns_per_draw=1e9 * row["mc_s"] / draws)
        rows.append(row)
        return row["solve_s"], row["mc_s"]

    case("local, 1 thread", 1, None)
    case(f"local, {cores} threads", cores, None)
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
    for r in rows:
        if "worker" in r["setup"]:
            r["solve vs 1 worker"] = clusters[1][0] / r["solve_s"]
            r["mc vs 1 worker"] = clusters[1][1] / r["mc_s"]
    report.tables.append(Table(
        f"{N:,} two-link IK systems (solve_batch) and {draws:,} Monte Carlo draws of a "
        "5-input model (propagate_mc)",
        ["setup", "threads", "solve_s", "us_per_system", "mc_s", "ns_per_draw", "mc_passes",
         "solve vs 1 worker", "mc vs 1 worker", "solve cluster/local same cores",
         "mc cluster/local same cores"], rows,
        note=("Medians after a first call (compile times below, apart). Goals: 2 workers "
              ">= 1.7x 1 worker; cluster/local on the same cores <= 1.15, each cluster call "
              "paired with a local call on as many threads right after it. Machine cores: "
              f"{os.cpu_count()}, numba threads: {cores}, load average at the start: "
              f"{os.getloadavg()[0]:.2f}.")))
    from ...distributed import batch as dbatch, montecarlo as dmc
    report.tables.append(Table(
        "Cost of the cluster itself",
        ["workers", "scheduler overhead per task (ms)", "peak RSS per worker (MB)",
         "mc draws per task", "solve_batch systems per task"],
        [{"workers": w, "scheduler overhead per task (ms)": 1e3 * overhead[w],
          "peak RSS per worker (MB)": ", ".join(f"{m:.0f}" for m in memory[w]),
          "mc draws per task": dmc.CHUNK_DRAWS,
          "solve_batch systems per task": int(min(dbatch.MAX_ROWS, max(256, -(-N // (4 * w)))))}
         for w in (1, 2)],
        note=("Overhead: 1000 empty tasks submitted with client.map and gathered, per task. "
              "RSS: each worker's peak resident memory over all its runs (polled every "
              "20 ms).")))
    report.plots["distributed"] = {"rows": rows, "x": "setup", "y": ["solve_s", "mc_s"],
                                   "kind": "bar"}
    return report
