"""Time to first result: each entry point's first call, measured in fresh processes.

Three figures per entry point, each the median of ``repeat`` fresh
subprocesses, for a new small ``@njit`` function (3 inputs) defined in the
script:

* **floor**: compiling the user's function alone, for the dtypes the entry
  point needs (float64; complex128 too where complex step is used), numba's
  start-up included;
* **first call**: the entry point called with the function not yet compiled,
  so it includes the floor; **added** = first call - floor is what jacsolve
  adds, with its cache warm (filled by an earlier run) and with an empty
  ``NUMBA_CACHE_DIR`` (as right after ``pip install``);
* **re-run**: the same script run a second time with the function declared
  ``@jacsolve.jit(cache=True)``: nothing should need compiling again.

``import jacsolve`` is timed apart.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from typing import Callable, Optional, Sequence

from .timing import Report, Table

__all__ = ["run", "ENTRY_POINTS"]

# The user's function, as a new user writes it: a 3-input, 3-output model.
_FUNCTION = '''
@DECORATOR
def f(x):
    out = np.empty(3, dtype=x.dtype)
    out[0] = x[0] * x[1] - 2.0 + x[2]
    out[1] = np.sin(x[1]) + x[2] * x[2] - 1.0
    out[2] = np.exp(0.1 * x[0]) - x[2]
    return out

@DECORATOR
def g(x, p):
    out = np.empty(3, dtype=x.dtype)
    out[0] = x[0] * x[0] + x[1] * x[1] + x[2] * x[2] - p[0] * p[0]
    out[1] = x[1] - p[1]
    out[2] = x[0] - x[2]
    return out

@DECORATOR
def model(x):
    return x[0] * x[1] / (1.0 + x[2] * x[2])

@DECORATOR
def density(x):
    return np.exp(-x[0] * x[0] - 0.5 * x[1] * x[1])

@DECORATOR
def polar(u):
    x = np.empty(2, dtype=u.dtype)
    x[0] = u[0] * np.cos(u[1])
    x[1] = u[0] * np.sin(u[1])
    return x
'''

X3 = "np.array([0.5, 1.2, 0.3])"

# name -> (call, dtypes the user function needs: the floor compiles these)
ENTRY_POINTS = {
    "jacobian forward": (f"jacsolve.jacobian(f, {X3}, method='forward')", ("f", "real")),
    "jacobian central": (f"jacsolve.jacobian(f, {X3}, method='central')", ("f", "real")),
    "jacobian complex": (f"jacsolve.jacobian(f, {X3}, method='complex')", ("f", "both")),
    "jacobian richardson": (f"jacsolve.jacobian(f, {X3}, method='richardson')",
                            ("f", "real")),
    "solve": (f"jacsolve.solve(f, {X3})", ("f", "both")),
    "solve_batch": ("jacsolve.solve_batch(g, np.ones(3), "
                    "np.array([[2.0, 0.5], [3.0, 1.0], [1.5, 0.2]]))", ("g", "both")),
    "propagate": ("jacsolve.propagate(model, [2.0, 3.0, 0.5], u=[0.1, 0.2, 0.05])",
                  ("model", "both")),
    "propagate second order": ("jacsolve.propagate(model, [2.0, 3.0, 0.5], "
                               "u=[0.1, 0.2, 0.05], method='second-order')",
                               ("model", "both")),
    "propagate_mc": ("jacsolve.propagate_mc(model, [D.Normal(2.0, 0.1), D.Normal(3.0, 0.2), "
                     "D.Normal(0.5, 0.05)], n=10_000, seed=1)", ("model", "real")),
    "integrate (Disk)": ("jacsolve.integrate(density, Disk())", ("density2", "real")),
    "integrate (Mapped)": ("jacsolve.integrate(density, Mapped(polar, 2, domain=([0, 0], "
                           "[1, 2 * np.pi])))", ("polar", "both")),
}

_FLOOR_CALLS = {  # key -> (function, x, further arguments)
    "f": ("f", X3, ""), "g": ("g", X3, ", np.array([2.0, 0.5])"),
    "model": ("model", X3, ""), "density2": ("density", "np.array([0.2, 0.3])", ""),
    "polar": ("polar", "np.array([0.2, 0.3])", ""),
}

_PRELUDE = '''
import json, sys, time
t0 = time.perf_counter()
import numpy as np
t_numpy = time.perf_counter()
'''


def _floor_script(fun_key: str, dtypes: str) -> str:
    name, x, rest = _FLOOR_CALLS[fun_key]
    calls = [f"{name}({x}{rest})"]
    if dtypes == "both":
        calls.append(f"{name}({x}.astype(np.complex128){rest})")
    if fun_key == "polar":
        calls += ["density(np.array([0.2, 0.3]))"]
    body = "\n".join(calls)
    return (_PRELUDE + "import numba\n"
            + _FUNCTION.replace("DECORATOR", 'numba.njit(error_model="numpy")')
            + f"t1 = time.perf_counter()\n{body}\nt2 = time.perf_counter()\n"
            + 'print(json.dumps({"seconds": t2 - t_numpy}))\n')


def _call_script(call: str, cache: bool) -> str:
    deco = "jacsolve.jit(cache=True)" if cache else "jacsolve.jit"
    return (_PRELUDE + "import jacsolve\nt_import = time.perf_counter()\n"
            "from jacsolve import distributions as D\n"
            "from jacsolve.regions import Disk, Mapped\n"
            + _FUNCTION.replace("DECORATOR", deco)
            + "import warnings\nwarnings.simplefilter('ignore')\n"
            + f"t1 = time.perf_counter()\nresult = {call}\nt2 = time.perf_counter()\n"
            + 'print(json.dumps({"seconds": t2 - t_numpy, "call": t2 - t1, '
              '"import": t_import - t_numpy}))\n')


def _all_calls_script(cache: bool) -> str:
    deco = "jacsolve.jit(cache=True)" if cache else "jacsolve.jit"
    lines = [_PRELUDE, "import jacsolve\nt_import = time.perf_counter()\n",
             "from jacsolve import distributions as D\n",
             "from jacsolve.regions import Disk, Mapped\n",
             _FUNCTION.replace("DECORATOR", deco),
             "import warnings\nwarnings.simplefilter('ignore')\ntimes = {}\n"]
    if cache:  # numba's own start-up and loading the user's functions from its cache
        loads = []
        for name, x, rest in _FLOOR_CALLS.values():
            loads += [f"{name}({x}{rest})", f"{name}({x}.astype(np.complex128){rest})"]
        lines.append("t1 = time.perf_counter()\n" + "\n".join(loads) +
                     "\ntimes['load functions'] = time.perf_counter() - t1\n")
    for name, (call, _) in ENTRY_POINTS.items():
        lines.append(f"t1 = time.perf_counter()\n{call}\n"
                     f"times[{name!r}] = time.perf_counter() - t1\n")
    lines.append('print(json.dumps({"import": t_import - t_numpy, "calls": times}))\n')
    return "".join(lines)


def _run(script: str, cache_dir: str, timeout: float = 600.0, work: Optional[str] = None) -> dict:
    """Run ``script`` in a fresh process; ``work``: the folder of the script file (a re-run
    must use the same path: numba keys a function's cache on its source file)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    with tempfile.TemporaryDirectory() as fresh:
        folder = work or fresh
        path = os.path.join(folder, "first_call.py")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(textwrap.dedent(script))
        out = subprocess.run([sys.executable, path], env=env, cwd=folder, capture_output=True,
                             text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(values):
    return statistics.median(values)


def run(quick: bool = False, progress: Optional[Callable[[str], None]] = None,
        entries: Optional[Sequence[str]] = None, repeat: Optional[int] = None) -> Report:
    """Measure every entry point's first call in fresh processes (see the module docstring).

    ``entries``: names of :data:`ENTRY_POINTS` to measure (default all, or a few
    when ``quick``); ``repeat``: fresh processes per figure (default 3, 1 when
    ``quick``). The re-run table is measured only for the full set.
    """
    say = progress or (lambda msg: None)
    repeat = (1 if quick else 3) if repeat is None else repeat
    names = list(ENTRY_POINTS)
    if quick:
        names = ["jacobian central", "jacobian complex", "solve", "propagate", "integrate (Disk)"]
    if entries is not None:
        unknown = [e for e in entries if e not in ENTRY_POINTS]
        if unknown:
            raise ValueError(f"entries must be names of ENTRY_POINTS, got {unknown}")
        names = list(entries)
    report = Report("Time to first result (fresh processes)")
    table = Table("First call of each entry point, new 3-input @njit function (s, median of "
                  f"{repeat})",
                  ["entry point", "floor (compile fun)", "first call, warm cache",
                   "added, warm", "first call, empty cache", "added, empty cache"],
                  note="floor: the user's function alone compiled for the dtypes the entry "
                       "point needs, numba start-up included. added = first call - floor. "
                       "Warm cache: jacsolve's own compiled kernels loaded from "
                       "NUMBA_CACHE_DIR; empty cache: a new NUMBA_CACHE_DIR, as right after "
                       "pip install. Goals: added <= 0.3 s warm, <= 4 s empty.")
    with tempfile.TemporaryDirectory() as warm_dir:
        say("filling a warm cache")
        if entries is None:
            _run(_all_calls_script(False), warm_dir)
        else:
            for name in names:
                _run(_call_script(ENTRY_POINTS[name][0], False), warm_dir)
        imports = []
        for name in names:
            call, (fun_key, dtypes) = ENTRY_POINTS[name]
            say(f"latency: {name}")
            floors, warms, colds = [], [], []
            for _ in range(repeat):
                floors.append(_run(_floor_script(fun_key, dtypes), warm_dir)["seconds"])
                w = _run(_call_script(call, False), warm_dir)
                warms.append(w["seconds"])
                imports.append(w["import"])
                with tempfile.TemporaryDirectory() as cold_dir:
                    colds.append(_run(_call_script(call, False), cold_dir)["seconds"])
            floor, warm, cold = _median(floors), _median(warms), _median(colds)
            table.add(**{"entry point": name, "floor (compile fun)": floor,
                         "first call, warm cache": warm, "added, warm": warm - floor,
                         "first call, empty cache": cold, "added, empty cache": cold - floor})
        report.tables.append(table)
        if entries is not None:
            report.compile_times["import jacsolve"] = _median(imports)
            return report

        say("re-run with @jacsolve.jit(cache=True)")
        with tempfile.TemporaryDirectory() as rerun_dir, tempfile.TemporaryDirectory() as work:
            _run(_all_calls_script(True), rerun_dir, work=work)
            reruns = [_run(_all_calls_script(True), rerun_dir, work=work) for _ in range(repeat)]
        rerun = Table("Re-run: the same script again, functions @jacsolve.jit(cache=True) "
                      "(s, median)", ["entry point", "first call in the re-run"],
                      note="Goal: all first calls together <= 0.3 s (nothing to compile). "
                           "'load functions': numba's start-up and loading the user's own "
                           "cached functions (float and complex), before any jacsolve call.")
        rerun.add(**{"entry point": "load functions",
                     "first call in the re-run": _median([r["calls"]["load functions"]
                                                          for r in reruns])})
        total = 0.0
        for name in ENTRY_POINTS:
            t = _median([r["calls"][name] for r in reruns])
            total += t
            rerun.add(**{"entry point": name, "first call in the re-run": t})
        rerun.add(**{"entry point": "all entry points (jacsolve's part)",
                     "first call in the re-run": total})
        report.tables.append(rerun)
        report.compile_times["import jacsolve"] = _median(imports + [r["import"] for r in reruns])
    return report

