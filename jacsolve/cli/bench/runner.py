"""``jacsolve bench``: run every benchmark module, write bench.md, bench.json and plots.

Each area's module ``jacsolve.cli.bench.bench_<name>`` has ``run(quick=False,
progress=None) -> Report`` (see :mod:`jacsolve.cli.bench.timing`); a missing
or failing module is reported as FAILED and makes the run exit 1. The markdown starts with the machine and
the library versions, then each report's tables (medians and ratios against
SciPy, measured in this process) and its compile times, which are never part
of a ratio.

Plots come from each Report's ``plots`` dict, one PNG per key
(``<key>.png``; needs matplotlib, the ``plot`` extra). A value is one of

* ready lines: ``{"series": {label: {"x": [...], "y": [...]}, ...}}`` with
  optional ``title``, ``xlabel``, ``ylabel`` and ``log`` (``"loglog"``,
  ``"semilogx"``, ``"semilogy"``);
* a list of rows (dicts), or a dict with ``rows`` and optional hints:

* ``x``: the column on the horizontal axis (default: the first numeric
  column among ``n, evaluations, nfev, draws, points, size``, else the first
  numeric one; when there is none, a bar chart per row);
* ``y``: the column(s) on the vertical axis (default: the other numeric
  columns);
* ``series``: the columns whose values name one line each (default: the
  string-valued columns);
* ``kind`` (``"line"`` or ``"bar"``), ``logx``, ``logy``, ``title``,
  ``xlabel``, ``ylabel``.

Examples
--------
>>> from jacsolve.cli.bench.runner import BENCHMARKS
>>> BENCHMARKS[:3]
('jacobian', 'solve', 'batch')
"""
from __future__ import annotations

import datetime
import importlib
import importlib.metadata
import json
import math
import numbers
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from .timing import Report

__all__ = ["BENCHMARKS", "BenchRun", "run_all", "machine_info", "plot_report"]

BENCHMARKS = ("jacobian", "solve", "batch", "uncertainty", "montecarlo", "integration", "latency",
              "distributed")
LIBRARIES = ("jacsolve", "numpy", "scipy", "numba", "uncertainties", "numdifftools",
             "matplotlib")
_X_NAMES = ("n", "evaluations", "nfev", "draws", "points", "size")


def machine_info() -> dict:
    """CPU, core count, OS and the versions of the libraries involved."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    threads = os.environ.get("NUMBA_NUM_THREADS")
    if threads is None:
        try:
            import numba
            threads = str(numba.config.NUMBA_NUM_THREADS)
        except ImportError:
            threads = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "numba_threads": threads,
            "platform": platform.platform(),
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "versions": versions}


@dataclass
class BenchRun:
    """The reports of one ``jacsolve bench`` run, with machine info and timings."""
    reports: List[Report]
    quick: bool
    machine: dict
    seconds: dict = field(default_factory=dict)   # wall time per benchmark module
    failed: dict = field(default_factory=dict)    # name -> the error it raised

    def markdown(self) -> str:
        m = self.machine
        head = ["# jacsolve benchmarks" + (" (quick)" if self.quick else ""), "",
                f"Machine: {m['cpu']}, {m['cores']} cores (numba threads: "
                f"{m['numba_threads']}), {m['platform']}; {m['date']}.", "",
                "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
                "", "Ratios are medians of repeats after a warm-up call, measured in one "
                "process; JIT compilation is excluded from them and reported apart.", ""]
        summary = ["| benchmark | wall time (s) |", "|---|---|"]
        summary += [f"| {name} | {sec:.1f} |" for name, sec in self.seconds.items()]
        summary += [f"| {name} | FAILED: {why} |" for name, why in self.failed.items()]
        return "\n".join(head + summary + [""] + [r.markdown() + "\n" for r in self.reports])

    def to_dict(self) -> dict:
        reports = []
        for r in self.reports:
            d = r.to_dict()
            d["plots"] = r.plots
            reports.append(d)
        return {"quick": self.quick, "machine": self.machine, "seconds": self.seconds,
                "failed": self.failed, "reports": reports}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=_plain)

    def write(self, directory) -> list:
        """bench.md, bench.json and one PNG per plot; returns the paths written."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.md").write_text(self.markdown(), encoding="utf-8")
        (out / "bench.json").write_text(self.to_json() + "\n", encoding="utf-8")
        paths = [out / "bench.md", out / "bench.json"]
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            import sys
            print("jacsolve bench: matplotlib is not installed, so no plots were drawn "
                  "(pip install 'jacsolve[plot]')", file=sys.stderr)
            return paths
        for report in self.reports:
            paths += plot_report(report, out)
        return paths


def _plain(obj):
    """json.dumps default: numpy scalars and arrays as Python numbers and lists."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def _module(name: str):
    """The benchmark module for a short name or a dotted module path; None if absent."""
    path = name if "." in name else f"jacsolve.cli.bench.bench_{name}"
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        # the module (or its package) is missing, not something the module imports
        if exc.name and (path == exc.name or path.startswith(exc.name + ".")):
            return None
        raise


def run_all(quick: bool = False, only: Optional[Sequence[str]] = None,
            progress: Optional[Callable[[str], None]] = None) -> BenchRun:
    """Run the benchmark modules (all of :data:`BENCHMARKS`, or ``only``).

    A name in ``only`` is a module of :mod:`jacsolve.cli.bench` or any dotted
    module path with ``run(quick, progress) -> Report``. A benchmark that
    raises is recorded in ``failed`` (its traceback goes to stderr) and the
    others still run.
    """
    names = list(only) if only else list(BENCHMARKS)
    for name in names:
        if "." not in name and name not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {name!r}; expected one of "
                             f"{', '.join(BENCHMARKS)} (or a dotted module name)")
    say = progress or (lambda msg: None)
    run = BenchRun([], quick, machine_info())
    for name in names:
        t0 = time.perf_counter()
        try:
            module = _module(name)
        except Exception as exc:   # one broken benchmark must not lose the others
            run.failed[name] = _failure(name, exc)
            continue
        if module is None:
            if "." in name:
                raise ValueError(f"no module named {name!r}")
            run.failed[name] = f"the built-in benchmark module bench_{name} is missing"
            say(f"{name}: module missing")
            continue
        say(f"{name}: starting" + (" (quick)" if quick else ""))
        try:
            report = module.run(quick=quick, progress=progress)
        except Exception as exc:
            run.failed[name] = _failure(name, exc)
            continue
        run.seconds[name] = time.perf_counter() - t0
        run.reports.append(report)
        say(f"{name}: done in {run.seconds[name]:.1f} s")
    return run


def _failure(name: str, exc: Exception) -> str:
    import sys
    import traceback
    print(f"jacsolve bench: {name} failed:", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
    return f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------ plots
def _rows_and_hints(data):
    if isinstance(data, dict):
        return list(data.get("rows", [])), data
    return list(data), {}


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _wide(values) -> bool:
    """Positive values spanning a factor of 50 or more: a log axis reads better."""
    return bool(values) and min(values) > 0 and max(values) >= 50 * min(values)


def plot_report(report: Report, directory) -> list:
    """One PNG per entry of ``report.plots`` (see the module docstring); returns paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for key, data in report.plots.items():
        if isinstance(data, dict) and isinstance(data.get("series"), dict):
            paths.append(_plot_lines(report, key, data, directory, plt))
            continue
        rows, hints = _rows_and_hints(data)
        if not rows:
            continue
        columns = list(rows[0])
        numeric = [c for c in columns if all(_is_number(r.get(c)) for r in rows)]
        text = [c for c in columns if c not in numeric]
        x = hints.get("x")
        if x is None:
            x = next((c for c in _X_NAMES if c in numeric), None)
        ys = hints.get("y") or [c for c in numeric if c != x]
        ys = [ys] if isinstance(ys, str) else list(ys)
        series = hints.get("series", [c for c in text if c != x])
        series = [series] if isinstance(series, str) else list(series)
        kind = hints.get("kind", "line" if x in numeric else "bar")
        fig, ax = plt.subplots(figsize=(8, 5))
        if kind == "bar":
            labels = [" ".join(str(r.get(c, "")) for c in ([x] if x else []) + series)
                      for r in rows]
            width = 0.8 / max(len(ys), 1)
            for k, y in enumerate(ys):
                ax.bar([i + k * width for i in range(len(rows))],
                       [float(r.get(y, math.nan)) for r in rows], width=width, label=y)
            ax.set_xticks([i + 0.4 - width / 2 for i in range(len(rows))])
            ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
        else:
            groups = {}
            for r in rows:
                groups.setdefault(tuple(str(r.get(c, "")) for c in series), []).append(r)
            for name, members in groups.items():
                members = sorted(members, key=lambda r: float(r[x]))
                for y in ys:
                    label = " ".join(name + ((y,) if len(ys) > 1 else ()))
                    ax.plot([float(r[x]) for r in members], [float(r[y]) for r in members],
                            marker="o", label=label or y)
            ax.set_xlabel(hints.get("xlabel", x))
        ax.set_ylabel(hints.get("ylabel", ys[0] if len(ys) == 1 else ""))
        values = [float(r[y]) for r in rows for y in ys if _is_number(r.get(y))]
        if hints.get("logy", _wide(values)):
            ax.set_yscale("log")
        if kind == "line" and hints.get("logx", _wide([float(r[x]) for r in rows])):
            ax.set_xscale("log")
        ax.set_title(hints.get("title", f"{report.name}: {key}"), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        if kind == "line" or len(ys) > 1:
            ax.legend(fontsize=7)
        paths.append(_save(fig, directory, key, plt))
    return paths


def _plot_lines(report, key, data, directory, plt):
    """The ready-lines format: {"series": {label: {"x": [...], "y": [...]}}, ...}."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, line in data["series"].items():
        ax.plot(line["x"], line["y"], marker="o", label=str(label))
    log = data.get("log", "")
    if log in ("loglog", "semilogx"):
        ax.set_xscale("log")
    if log in ("loglog", "semilogy"):
        ax.set_yscale("log")
    ax.set_xlabel(data.get("xlabel", "x"))
    ax.set_ylabel(data.get("ylabel", "y"))
    ax.set_title(data.get("title", f"{report.name}: {key}"), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, directory, key, plt)


def _save(fig, directory, key, plt) -> Path:
    fig.tight_layout()
    path = Path(directory) / f"{key}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
