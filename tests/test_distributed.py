"""jacsolve on a Dask LocalCluster: the same answers as one machine, bit for bit.

One cluster (2 worker processes, 1 thread each) serves the whole module.
Every distributed result is compared with the same call without a client
(exact equality, no tolerance: the work is cut into the local blocks and
reduced in the local order), and the coverage intervals found from bins
with the order statistics of sorted samples.
"""
import gc
import logging
import os
import signal

import numpy as np
import pytest
import dask.array as da
from distributed import Client, LocalCluster

import jacsolve
from jacsolve import distributions as D
from jacsolve.distributed import lazy_solve_batch, montecarlo as dmc, integration as dint
from jacsolve.distributed import order_statistics as ost
from jacsolve.uncertainty import montecarlo as mc
from jacsolve.distributed.batch import solve_on_cluster
from jacsolve.distributed.order_statistics import (bin_counts, bins_of, edges_from_sample,
                                                   intervals_from_bins, plan_windows)
from jacsolve.integration.regions import Disk
from jacsolve.problems.batch_systems import circle_line, circle_line_batch
from jacsolve.problems.gum_examples import additive
from jacsolve.status import FunctionError
from jacsolve.uncertainty.montecarlo import (NonFiniteWarning, NotConvergedWarning,
                                             order_index)


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as c:
        yield c


@pytest.fixture
def small_chunks(monkeypatch):
    """Several chunks and coarse bins in small runs (chunk boundaries are set on the client)."""
    monkeypatch.setattr(dmc, "CHUNK_DRAWS", 2 * 65_536)
    monkeypatch.setattr(mc, "PILOT_BLOCKS", 6)
    monkeypatch.setattr(dint, "TASK_BATCHES", 1)


@jacsolve.jit
def two_outputs(x):     # NaN where x[0] <= -2.5: some draws are not finite
    return np.array([np.log(x[0] + 2.5) + x[1], x[0] * x[1] + x[2] ** 2])


INPUTS = [D.Normal(0.0, 1.0), D.Rectangular(-1.0, 1.0), D.Triangular(0.0, 3.0, 1.0)]


def _same_mc(a, b):
    assert (a.n_draws, a.n_nonfinite, a.status, a.message, a.converged) == \
        (b.n_draws, b.n_nonfinite, b.status, b.message, b.converged)
    for x, y in ((a.value, b.value), (a.std, b.std), (a.cov, b.cov)):
        assert np.array_equal(x, y)
    for kind in ("symmetric", "shortest"):
        assert np.array_equal(a.interval(kind=kind), b.interval(kind=kind))
    for x, y in zip(a.histogram(), b.histogram()):
        assert np.array_equal(x, y)


# ------------------------------------------------------------ Monte Carlo
def test_mc_is_bit_for_bit_the_local_run(client, small_chunks):
    n = 300_000          # 3 chunks, the last one partial
    with pytest.warns(NonFiniteWarning):
        local = jacsolve.propagate_mc(two_outputs, INPUTS, n=n, seed=7, keep_samples=False)
    with pytest.warns(NonFiniteWarning):
        remote = jacsolve.propagate_mc(two_outputs, INPUTS, n=n, seed=7, client=client)
    assert local.n_nonfinite > 0 and remote.samples is None
    _same_mc(local, remote)
    # the kept samples give the same intervals as the ones never gathered
    with pytest.warns(NonFiniteWarning):
        kept = jacsolve.propagate_mc(two_outputs, INPUTS, n=n, seed=7, keep_samples=True)
    ys = np.sort(kept.samples, axis=0)
    q, r = order_index(kept.n_finite, 0.95)
    assert np.array_equal(remote.interval(kind="symmetric"), (ys[r], ys[r + q]))
    width = ys[q:] - ys[:ys.shape[0] - q]
    best = np.argmin(width, axis=0)
    assert np.array_equal(remote.interval(kind="shortest"),
                          (ys[best, [0, 1]], ys[best + q, [0, 1]]))


def test_mc_one_pass_and_the_second_pass_when_windows_miss(client, small_chunks, monkeypatch):
    n = 400_000
    inputs = [D.Normal(0.0, 1.0), D.Rectangular(-1.0, 1.0), D.Triangular(0.0, 3.0, 1.0)]
    model = jacsolve.jit(lambda x: np.array([x[0] * x[1] + x[2], np.exp(x[0]) - x[2]]))
    local = jacsolve.propagate_mc(model, inputs, n=n, seed=3, keep_samples=True, p=0.9)
    totals = []
    remote = jacsolve.propagate_mc(model, inputs, n=n, seed=3, client=client, p=0.9,
                                   progress=lambda done, total: totals.append(total))
    assert set(totals) == {n}            # every draw evaluated once
    for kind in ("symmetric", "shortest"):      # the exact order statistics
        assert np.array_equal(local.interval(kind=kind), remote.interval(kind=kind))
    assert np.array_equal(local.cov, remote.cov) and np.array_equal(local.value, remote.value)
    monkeypatch.setattr(ost, "WINDOW_Z", -10.0)   # windows of 2 bins: they miss
    totals.clear()
    again = jacsolve.propagate_mc(model, inputs, n=n, seed=3, client=client, p=0.9,
                                  progress=lambda done, total: totals.append(total))
    assert totals[-1] == 2 * n            # the second pass ran, for the missing bins only
    _same_mc(remote, again)


def test_summary_histogram_counts_every_value(client, small_chunks):
    with pytest.warns(NonFiniteWarning):
        kept = jacsolve.propagate_mc(two_outputs, INPUTS, n=200_000, seed=4, keep_samples=True)
    with pytest.warns(NonFiniteWarning):
        remote = jacsolve.propagate_mc(two_outputs, INPUTS, n=200_000, seed=4, client=client)
    counts, edges = remote.histogram()
    assert counts.shape == (2, 200) and edges.shape == (2, 201)
    for j in range(2):
        y = kept.samples[:, j]
        assert np.all(np.diff(edges[j]) > 0) and edges[j][0] <= y.min() and \
            edges[j][-1] >= y.max()
        inner = np.searchsorted(edges[j][1:-1], y, side="right")   # an independent binning
        assert np.array_equal(counts[j], np.bincount(inner, minlength=200))


def test_mc_adaptive_on_the_cluster(client, small_chunks):
    local = jacsolve.propagate_mc(additive,
                                  [D.Normal(0.0, 1.0)] * 4, digits=2, seed=3,
                                  keep_samples=False)
    remote = jacsolve.propagate_mc(additive,
                                   [D.Normal(0.0, 1.0)] * 4, digits=2, seed=3, client=client)
    assert remote.success and remote.converged
    _same_mc(local, remote)
    assert np.array_equal(local.tolerance, remote.tolerance)
    with pytest.warns(NotConvergedWarning, match="max_draws"):
        short = jacsolve.propagate_mc(additive, [D.Normal(0.0, 1.0)] * 4, digits=4, seed=1,
                                      max_draws=30_000, client=client)
    assert not short.success and short.status.name == "NOT_CONVERGED"


def _python_model(x):            # vectorises: x is (3, k) when called on all draws at once
    return x[0] * np.exp(x[1]) + x[2]


def _raises_late(x):
    if x[0] > 4.0:                 # a rare draw, far into the run
        raise ArithmeticError("model undefined above 4")
    return x[0] + x[1]


def test_plain_python_functions_travel_too(client, small_chunks):
    with pytest.warns(jacsolve.PerformanceWarning):
        local = jacsolve.propagate_mc(_python_model, INPUTS, n=140_000, seed=5,
                                      keep_samples=False)
    _same_mc(local, jacsolve.propagate_mc(_python_model, INPUTS, n=140_000, seed=5,
                                          client=client))
    with pytest.warns(jacsolve.PerformanceWarning):
        with pytest.raises(jacsolve.FunctionError, match=r"chunk 0 \(the sample of \d+ blocks "
                                                         r".*undefined above 4"):
            jacsolve.propagate_mc(_raises_late, INPUTS[:2], n=300_000, seed=5,
                                  vectorized=False, client=client)


def test_two_pass_intervals_equal_sorted_samples():
    rng = np.random.default_rng(5)
    cases = [rng.standard_cauchy(40_000),                          # heavy tails
             np.round(rng.normal(size=30_000), 1),                  # many ties
             np.concatenate([rng.normal(-4, 1, 20_000), rng.normal(4, 0.3, 5_000)]),
             rng.exponential(size=25_001)]
    for y in cases:
        for p in (0.5, 0.9, 0.95, 0.99):
            M = y.size
            edges = edges_from_sample(y[::97])
            chunks = np.array_split(y, 7)
            counts = sum(bin_counts(edges, c) for c in chunks)
            need, segments = plan_windows(counts, edges, M, p)
            sent = [(c[need[bins_of(edges, c)]], bins_of(edges, c)[need[bins_of(edges, c)]])
                    for c in chunks]
            values = np.concatenate([v for v, _ in sent])
            if np.unique(y).size == M:   # without ties: a window of bins, not the sample
                assert values.size <= 100 * M / edges.size
            sym, short = intervals_from_bins(values, np.concatenate([b for _, b in sent]),
                                             counts, segments, M, p)
            ys = np.sort(y)
            q, r = order_index(M, p)
            assert sym == (ys[r], ys[r + q])
            best = int(np.argmin(ys[q:] - ys[:M - q]))
            assert short == (ys[best], ys[best + q])


def test_killed_worker_costs_time_not_results(client, small_chunks):
    n = 600_000
    local = jacsolve.propagate_mc(additive,
                                  [D.Normal(0.0, 1.0)] * 4, n=n, seed=11, keep_samples=False)
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_one(done, total):
        if not killed and done > 0:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(done)

    remote = jacsolve.propagate_mc(additive,
                                   [D.Normal(0.0, 1.0)] * 4, n=n, seed=11, client=client,
                                   progress=kill_one)
    assert killed and killed[0] < 2 * n
    _same_mc(local, remote)
    client.wait_for_workers(2, timeout=60)
    assert pids[0] not in client.run(os.getpid).values()


# ----------------------------------------------------------------- batches
def test_batch_with_failing_members_matches_local(client):
    prob = circle_line_batch(3_000, seed=4)
    P = prob.params.copy()
    P[17] = np.nan                       # a member with NaN parameters: its own status
    local = jacsolve.solve_batch(circle_line, prob.x0, P)
    assert 0 < local.success.sum() < len(local)
    for remote in (jacsolve.solve_batch(circle_line, prob.x0, P, client=client),
                   solve_on_cluster(client, circle_line, prob.x0, P, rows=700),
                   lazy_solve_batch(circle_line, da.from_array(prob.x0, chunks=(1000, 2)),
                                    da.from_array(P, chunks=(1000, 2))).compute(client)):
        for field in ("x", "success", "nit", "fnorm", "nfev"):
            assert np.array_equal(getattr(local, field), getattr(remote, field),
                                  equal_nan=field in ("x", "fnorm"))
        assert np.array_equal(np.asarray(local.status), np.asarray(remote.status))
        assert remote.message == local.message


def test_lazy_batch_stays_lazy_and_chunked():
    prob = circle_line_batch(100, seed=1)
    lazy = lazy_solve_batch(circle_line, da.from_array(prob.x0, chunks=(30, 2)), prob.params)
    assert lazy.x.chunks == ((30, 30, 30, 10), (2,)) and lazy.status.chunks == ((30, 30, 30, 10),)
    local = jacsolve.solve_batch(circle_line, prob.x0, prob.params)
    assert np.array_equal(lazy.success.compute(), local.success)


def _raises_on_one(x, p):
    if p[0] == 13.0:
        raise ValueError("no model for p = 13")
    return np.array([x[0] - p[0]])


def test_function_raising_in_one_chunk_names_it(client):
    P = np.arange(40.0)[:, None]
    with pytest.warns(jacsolve.PerformanceWarning):
        with pytest.raises(FunctionError, match=r"chunk 1 \(systems 10 to 19\).*no model"):
            solve_on_cluster(client, _raises_on_one, np.zeros(1), P, rows=10, jac="central")


# ------------------------------------------------------------- integration
@jacsolve.jit
def bump(x):
    return np.exp(-x[0] * x[0] - 2.0 * x[1] * x[1])


@pytest.mark.parametrize("method", ["qmc", "mc"])
def test_integration_is_bit_for_bit(client, small_chunks, method):
    kw = dict(method=method, n=1 << 19, rtol=0.05)
    local = jacsolve.integrate(bump, Disk(), seed=2, **kw)
    rng = np.random.default_rng(2)
    remote = jacsolve.integrate(bump, Disk(), seed=rng, client=client, **kw)
    assert local == remote and local.success
    if method == "mc":     # the caller's Generator is left where the local run leaves it
        again = np.random.default_rng(2)
        jacsolve.integrate(bump, Disk(), seed=again, **kw)
        assert rng.bit_generator.state == again.bit_generator.state


def test_hit_or_miss_is_bit_for_bit(client, small_chunks):
    local = jacsolve.integrate_mc(bump, Disk(), n=300_000, seed=9, rtol=0.05)
    remote = jacsolve.integrate_mc(bump, Disk(), n=300_000, seed=9, rtol=0.05, client=client)
    assert local == remote


# ------------------------------------------------- functions that travel
SCRIPT = '''
import numpy as np, jacsolve
@jacsolve.jit
def main_model(x):
    return x[0] * x[1] + x[2]
'''


def test_main_function_reaches_workers_and_compiles_once(client):
    namespace = {"__name__": "__main__"}
    exec(SCRIPT, namespace)      # as if defined in a notebook or a script
    fun = namespace["main_model"]
    assert fun.py_func.__module__ == "__main__"
    inputs = [D.Normal(1.0, 0.1), D.Normal(2.0, 0.2), D.Rectangular(0, 1)]
    local = jacsolve.propagate_mc(fun, inputs, n=50_000, seed=1, keep_samples=False)
    for _ in range(2):
        _same_mc(local, jacsolve.propagate_mc(fun, inputs, n=50_000, seed=1, client=client))

    def compiled_copies():
        import numba
        found = []
        for d in gc.get_objects():
            try:
                if isinstance(d, numba.core.dispatcher.Dispatcher) and \
                        d.py_func.__name__ == "main_model":
                    found.append(len(d.signatures))
            except ReferenceError:    # a dead weak proxy
                pass
        return found
    # each worker that ran the model holds one copy of it, compiled once
    assert all(v in ([], [1]) for v in client.run(compiled_copies).values())
    assert [1] in client.run(compiled_copies).values()


# ---------------------------------------------------------------- the CLI
def test_cli_propagate_on_a_scheduler(client, capsys):
    import json
    from pathlib import Path

    from jacsolve.cli import main as cli
    spec = str(Path(jacsolve.__file__).parent / "examples" / "jcgm101_mass.toml")
    assert cli.main(["propagate", spec, "--mc", "100000", "--json"]) == 0
    here = json.loads(capsys.readouterr().out)
    assert cli.main(["propagate", spec, "--mc", "100000", "--json",
                     "--scheduler", client.scheduler.address]) == 0
    there = json.loads(capsys.readouterr().out)
    a, b = here["outputs"]["dm"]["monte_carlo"], there["outputs"]["dm"]["monte_carlo"]
    for key in ("mean", "std", "symmetric_interval", "shortest_interval"):
        assert a[key] == b[key], key


# ---------------------------------------------------------------- progress
def test_progress_of_batches_and_integration_locally_and_on_the_cluster(client, small_chunks,
                                                                         monkeypatch, capsys):
    import jacsolve.nonlinear.batch as B
    monkeypatch.setattr(B, "PROGRESS_ROWS", 400)
    prob = circle_line_batch(1_000, seed=2)
    quiet = jacsolve.solve_batch(circle_line, prob.x0, prob.params)
    for where in (None, client):
        seen = []
        r = jacsolve.solve_batch(circle_line, prob.x0, prob.params, client=where,
                                 progress=lambda done, total: seen.append((done, total)))
        assert np.array_equal(r.x, quiet.x) and np.array_equal(r.nfev, quiet.nfev)
        assert seen[-1] == (1_000, 1_000) and len(seen) >= 2 and \
            all(a[0] < b[0] for a, b in zip(seen, seen[1:]))
    for method, total in (("qmc", 8 * (1 << 16)), ("mc", 1 << 19)):
        for where in (None, client):
            seen = []
            jacsolve.integrate(bump, Disk(), method=method, n=1 << 19, seed=2, rtol=0.05,
                               client=where, progress=lambda d, t: seen.append((d, t)))
            assert seen[-1] == (total, total) and len(seen) >= 2
    jacsolve.integrate_mc(bump, Disk(), n=100_000, seed=9, rtol=0.05, progress=True)
    assert "integrate: 100000 of 100000 points done" in capsys.readouterr().err
    jacsolve.solve_batch(circle_line, prob.x0, prob.params)
    assert capsys.readouterr().err == ""         # silent by default
