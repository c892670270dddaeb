"""Jacobian benchmarks: jacsolve against scipy.optimize.approx_derivative (and
numdifftools when installed), dense and banded, n = 10, 100, 1000; and the
accuracy of every method on the hard cases of
:mod:`jacsolve.problems.hard_cases`, side by side with SciPy and numdifftools.

Columns: the median time ratio SciPy / jacsolve (called from Python), and our
time over the *floor*: the same number of evaluations of the compiled
function in a compiled loop, for the kernel called from compiled code and
from Python. Compile and first-call times come from fresh processes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import scipy.sparse as sp
from scipy.optimize._numdiff import approx_derivative

from ... import jacobian
from ..._numba.options import jit
from ...derivatives.kernels import (complex_steps, jacobian_central_t, jacobian_complex_t,
                       jacobian_forward_t, relative_steps)
from ...problems.derivative_cases import boundary_value, boundary_value_start, tridiagonal_pattern
from ...problems.hard_cases import CASES as HARD_CASES
from .timing import Report, Table, median_time

SCIPY_NAME = {"forward": "2-point", "central": "3-point", "complex": "cs"}


@jit(cache=True)
def dense_coupled(x):
    """f_i = x_i * sum(x) + sin(x_i): a dense Jacobian at O(n) per evaluation."""
    s = x.sum()
    out = np.empty(x.size, dtype=x.dtype)
    for i in range(x.size):
        out[i] = x[i] * s + np.sin(x[i])
    return out


PROBLEMS = {"dense": dense_coupled, "banded": boundary_value}


@jit
def _floor_loop(fun, x, count, reps):
    """`count` evaluations at perturbed points, `reps` times: the evaluation floor."""
    xw = x.copy()
    acc = 0.0
    for r in range(reps):
        for k in range(count):
            j = k % x.size
            xw[j] += 1e-8
            acc += fun(xw)[0]
            xw[j] = x[j]
    return acc


@jit
def _floor_loop_complex(fun, x, count, reps):
    xc = x.astype(np.complex128)
    acc = 0.0
    for r in range(reps):
        for k in range(count):
            j = k % x.size
            xc[j] = complex(x[j], 1e-20)
            acc += fun(xc)[0].imag
            xc[j] = complex(x[j], 0.0)
    return acc


@jit
def _kernel_loop(fun, x, method, reps):
    """The kernel called from compiled code, `reps` times."""
    n = x.size
    scale = np.ones(n)
    lower = np.full(n, -np.inf)
    upper = np.full(n, np.inf)
    acc = 0.0
    for r in range(reps):
        if method == 0:
            f0 = fun(x)
            Jt, s, k = jacobian_forward_t(fun, x, (), f0, relative_steps(x, 1.49e-8, scale),
                                          lower, upper)
        elif method == 1:
            Jt, s, k = jacobian_central_t(fun, x, (), np.empty(0),
                                          relative_steps(x, 6.06e-6, scale), lower, upper)
        else:
            Jt, s, k = jacobian_complex_t(fun, x, (), complex_steps(x, scale))
        acc += Jt[0, 0]
    return acc


def _evaluations(method, n):
    return {"forward": n + 1, "central": 2 * n, "complex": n}[method]


def _per_call(fn, reps):
    return median_time(lambda: fn(reps), repeat=5) / reps


def dense_table(sizes, methods, progress=None) -> Table:
    table = Table("Dense and banded Jacobians: jacsolve vs scipy approx_derivative",
                  ["problem", "n", "method", "scipy / ours", "ours / floor (Python)",
                   "ours / floor (jitted)", "numdifftools / ours"])
    try:
        import numdifftools as nd
    except ImportError:
        nd = None
    code = {"forward": 0, "central": 1, "complex": 2}
    for pname, fun in PROBLEMS.items():
        for n in sizes:
            x = boundary_value_start(n) + 0.5
            reps = max(1, 2000 // n)
            for method in methods:
                if progress:
                    progress(f"jacobian {pname} n={n} {method}")
                ours = median_time(lambda: jacobian(fun, x, method=method))
                theirs = median_time(lambda: approx_derivative(fun, x, method=SCIPY_NAME[method]),
                                     repeat=3 if n >= 1000 else 5)
                count = _evaluations(method, n) + (1 if method == "forward" else 0)
                loop = _floor_loop_complex if method == "complex" else _floor_loop
                floor = _per_call(lambda r: loop(fun, x, count - (1 if method == "forward" else 0), r), reps)
                jitted = _per_call(lambda r: _kernel_loop(fun, x, code[method], r), reps)
                row = dict(problem=pname, n=n, method=method, **{
                    "scipy / ours": theirs / ours,
                    "ours / floor (Python)": ours / floor,
                    "ours / floor (jitted)": jitted / floor})
                if nd is not None and n <= 100 and method == "central":
                    t_nd = median_time(lambda: nd.Jacobian(fun, method="central")(x), repeat=3)
                    row["numdifftools / ours"] = t_nd / ours
                else:
                    row["numdifftools / ours"] = "-" if nd is not None else "not installed"
                table.add(**row)
    table.note = ("floor: the method's evaluations of the compiled function in a compiled loop "
                  "(forward n+1, central 2n, complex n complex). Medians after warm-up.")
    return table


def sparse_table(sizes, progress=None) -> Table:
    table = Table("Banded (tridiagonal) Jacobian with sparsity: jacsolve vs scipy, both given "
                  "the same pattern and column groups",
                  ["n", "method", "groups (ours)", "groups (scipy)", "scipy / ours",
                   "ours sparse / ours dense"])
    from scipy.optimize._numdiff import group_columns as scipy_groups

    from ...derivatives.coloring import group_columns
    for n in sizes:
        x = boundary_value_start(n) + 0.5
        pattern = tridiagonal_pattern(n)
        groups = group_columns(pattern)
        for method in ("forward", "central", "complex"):
            if progress:
                progress(f"sparse n={n} {method}")
            ours = median_time(lambda: jacobian(boundary_value, x, method=method, sparsity=groups))
            dense = median_time(lambda: jacobian(boundary_value, x, method=method), repeat=3)
            # SciPy gets the same precomputed pattern and column groups: equal work
            same = (sp.csc_array(pattern), groups.group)
            theirs = median_time(lambda: approx_derivative(
                boundary_value, x, method=SCIPY_NAME[method], sparsity=same), repeat=5)
            table.add(n=n, method=method, **{
                "groups (ours)": groups.ngroups,
                "groups (scipy)": int(scipy_groups(pattern).max() + 1),
                "scipy / ours": theirs / ours, "ours sparse / ours dense": ours / dense})
    return table


def overhead_table() -> Table:
    """Per-call overhead from Python: jacobian() minus the kernel called from jitted code."""
    table = Table("Per-call overhead from Python (n = 3, dense_coupled)",
                  ["method", "jacobian() from Python (us)", "kernel from jitted code (us)",
                   "overhead (us)"])
    x = np.array([0.3, 0.5, 0.7])
    code = {"forward": 0, "central": 1, "complex": 2}
    for method in ("forward", "central", "complex"):
        ours = median_time(lambda: jacobian(dense_coupled, x, method=method))
        jitted = _per_call(lambda r: _kernel_loop(dense_coupled, x, code[method], r), 2000)
        table.add(method=method, **{"jacobian() from Python (us)": ours * 1e6,
                                    "kernel from jitted code (us)": jitted * 1e6,
                                    "overhead (us)": (ours - jitted) * 1e6})
    return table


_FIRST_CALL = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np, jacsolve
    t_import = time.perf_counter() - t0

    @jacsolve.jit
    def f(x):
        out = np.empty(3, dtype=x.dtype)
        out[0] = np.sin(x[0]) * x[1]
        out[1] = x[1] * x[2] - x[0]
        out[2] = np.exp(x[0] * x[2])
        return out

    x = np.array([0.1, 0.2, 0.3])
    t0 = time.perf_counter(); f(x); t_fun = time.perf_counter() - t0
    if sys.argv[1] == "complex":
        t0 = time.perf_counter(); f(x.astype(np.complex128)); t_fun += time.perf_counter() - t0
    t0 = time.perf_counter(); jacsolve.jacobian(f, x, method=sys.argv[1])
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter(); jacsolve.jacobian(f, x, method=sys.argv[1])
    t_second = time.perf_counter() - t0
    print(json.dumps(dict(import_s=t_import, fun_compile_s=t_fun, first_call_s=t_first,
                          second_call_s=t_second)))
""")


def first_call_table(methods=("central", "forward", "complex", "richardson")) -> Table:
    """Fresh processes: first call of jacobian on a new @njit function, cold and warm cache."""
    table = Table("First call in a fresh process (user function compiled beforehand)",
                  ["method", "cache", "import jacsolve (s)", "first jacobian call (s)",
                   "second call (us)"])
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for method in methods:
            for label in ("cold", "warm"):
                if label == "cold":  # a new cache directory per method: truly cold
                    env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(dir=cache)
                out = subprocess.run([sys.executable, "-c", _FIRST_CALL, method], env=env,
                                     capture_output=True, text=True, check=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                table.add(method=method, cache=label, **{
                    "import jacsolve (s)": r["import_s"],
                    "first jacobian call (s)": r["first_call_s"],
                    "second call (us)": r["second_call_s"] * 1e6})
    table.note = ("import is lazy: numba loads on first use, inside the first call. The "
                  "kernels are cached and reach the user function through its adapters' "
                  "addresses: a warm first call compiles only the two small adapters. "
                  "benchmarks/bench_latency.py measures every entry point this way.")
    return table


def _column_error(J, Ja) -> float:
    """Largest error relative to the size of its column of the analytic Jacobian."""
    with np.errstate(all="ignore"):
        J = np.atleast_2d(np.asarray(J, dtype=float)).reshape(Ja.shape)
        scale = np.abs(Ja).max(axis=0)
        e = np.abs(J - Ja) / np.where(scale > 0, scale, 1.0)
    return float(np.nanmax(np.where(np.isfinite(e), e, np.inf)))


class _Counted:
    """A Python function that counts its evaluations (for numdifftools)."""

    def __init__(self, fun):
        self.fun, self.nfev = fun, 0

    def __call__(self, x):
        self.nfev += 1
        return np.asarray(self.fun(np.asarray(x, dtype=float)))


def _guarded(f):
    """f(), or NaN when it raises (a method that cannot handle the case)."""
    import warnings
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return f()
    except Exception:
        return np.nan


def hard_case_table(progress=None) -> Table:
    """Accuracy on the hard cases: every method of jacsolve, SciPy and numdifftools."""
    import warnings
    try:
        import numdifftools as nd
    except ImportError:
        nd = None
    table = Table("Hard cases: error relative to each column of the analytic Jacobian",
                  ["case", "forward", "central", "complex", "richardson", "richardson est.",
                   "converged", "richardson nfev", "scipy 2-point", "scipy 3-point", "scipy cs",
                   "numdifftools", "numdifftools nfev"])
    for name, c in HARD_CASES.items():
        if progress:
            progress(f"hard case {name}")
        Ja = c.jac(c.x0)
        row = {"case": name}
        for method in ("forward", "central", "complex"):
            row[method] = _guarded(lambda: _column_error(
                jacobian(c.fun, c.x0, method=method, bounds=c.bounds), Ja))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            J, info = jacobian(c.fun, c.x0, method="richardson", bounds=c.bounds,
                               full_output=True)
        row["richardson"] = _column_error(J, Ja)
        # the estimate, in the same units: does it cover the error?
        row["richardson est."] = _column_error(Ja + info.error, Ja)
        row["converged"] = f"{int(info.converged.sum())}/{info.converged.size}"
        row["richardson nfev"] = info.nfev
        bounds = (-np.inf, np.inf) if c.bounds is None else c.bounds
        for method, sname in SCIPY_NAME.items():
            row[f"scipy {sname}"] = _guarded(lambda: _column_error(
                approx_derivative(c.fun, c.x0, method=sname, bounds=bounds), Ja))
        if nd is not None and c.bounds is None:
            counted = _Counted(c.fun)
            row["numdifftools"] = _guarded(lambda: _column_error(nd.Jacobian(counted)(c.x0), Ja))
            row["numdifftools nfev"] = counted.nfev
        else:
            row["numdifftools"] = "no bounds" if nd is not None else "not installed"
        table.add(**row)
    table.note = ("Errors are |J - J_exact| over the largest |J_exact| of the column; 'richardson "
                  "est.' is the estimate in the same units (it should be >= 'richardson' where the "
                  "entries converged); 'converged' counts converged entries (the others warn). "
                  "numdifftools runs with its defaults (central, Richardson over many steps), "
                  "and has no bounds.")
    return table


def richardson_vs_numdifftools(n: int = 10) -> Table:
    """Richardson against numdifftools' default on a smooth dense problem: error, evaluations, time."""
    table = Table(f"Richardson vs numdifftools, dense_coupled, n = {n}",
                  ["method", "error", "nfev", "time (ms)"])
    x = np.linspace(0.1, 1.0, n)
    Ja = np.outer(x, np.ones(n)) + np.diag(x.sum() + np.cos(x))
    J, info = jacobian(dense_coupled, x, method="richardson", full_output=True)
    t = median_time(lambda: jacobian(dense_coupled, x, method="richardson"))
    table.add(method="jacsolve richardson", error=_column_error(J, Ja), nfev=info.nfev,
              **{"time (ms)": t * 1e3})
    try:
        import numdifftools as nd
    except ImportError:
        return table
    counted = _Counted(dense_coupled)
    Jn = nd.Jacobian(counted)(x)
    nfev = counted.nfev
    t = median_time(lambda: nd.Jacobian(dense_coupled)(x), repeat=3)
    table.add(method="numdifftools Jacobian (defaults)", error=_column_error(Jn, Ja), nfev=nfev,
              **{"time (ms)": t * 1e3})
    return table


def run(quick: bool = False, progress=None) -> Report:
    report = Report("Jacobian kernels")
    sizes = (10, 100) if quick else (10, 100, 1000)
    methods = ("central", "complex") if quick else ("forward", "central", "complex")
    report.tables.append(dense_table(sizes, methods, progress))
    report.tables.append(sparse_table((1000,) if quick else (1000, 10000), progress))
    report.tables.append(overhead_table())
    report.tables.append(hard_case_table(progress))
    report.tables.append(richardson_vs_numdifftools())
    if progress:
        progress("first-call latency (fresh processes)")
    fc = first_call_table(("central",) if quick else ("central", "forward", "complex",
                                                       "richardson"))
    report.tables.append(fc)
    for row in fc.rows:
        report.compile_times[f"jacobian {row['method']} ({row['cache']} cache)"] = \
            row["first jacobian call (s)"]
    report.plots["jacobian_time_vs_n"] = [
        {k: r[k] for k in ("problem", "n", "method", "scipy / ours")}
        for r in report.tables[0].rows]
    return report
