"""Timing helpers shared by every benchmark: medians after warm-up, compile time apart."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional


def first_call(fn: Callable[[], object]) -> float:
    """Seconds taken by one call (the first, which includes JIT compilation)."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_time(fn: Callable[[], object], *, repeat: int = 7, min_batch_time: float = 0.02,
                max_number: int = 100_000, warmup: bool = True) -> float:
    """Median seconds per call over ``repeat`` batches, after one warm-up call.

    Each batch runs the call ``number`` times, with ``number`` chosen so a batch
    takes at least ``min_batch_time`` (timer resolution and noise).
    """
    if warmup:
        fn()
    number = 1
    while number < max_number:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - t0 >= min_batch_time:
            break
        number *= 4
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    samples.sort()
    return samples[len(samples) // 2]


@dataclass
class Table:
    """A titled table of rows (dicts with the same keys), printable as markdown."""
    title: str
    columns: List[str]
    rows: List[dict] = field(default_factory=list)
    note: str = ""

    def add(self, **row) -> None:
        self.rows.append(row)

    def markdown(self) -> str:
        def fmt(v):
            if isinstance(v, float):
                if v == 0 or 1e-3 <= abs(v) < 1e5:
                    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
                return f"{v:.2e}"
            return str(v)
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
                 "|" + "---|" * len(self.columns)]
        for r in self.rows:
            lines.append("| " + " | ".join(fmt(r.get(c, "")) for c in self.columns) + " |")
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)


@dataclass
class Report:
    """What one benchmark module measured: tables, compile times, and plot data."""
    name: str
    tables: List[Table] = field(default_factory=list)
    compile_times: dict = field(default_factory=dict)
    plots: dict = field(default_factory=dict)

    def markdown(self) -> str:
        parts = [f"## {self.name}"] + [t.markdown() for t in self.tables]
        if self.compile_times:
            parts.append("Compile / first-call times (s): " + ", ".join(
                f"{k} {v:.2f}" for k, v in self.compile_times.items()))
        return "\n\n".join(parts)

    def to_dict(self) -> dict:
        return {"name": self.name,
                "tables": [{"title": t.title, "columns": t.columns, "rows": t.rows,
                            "note": t.note} for t in self.tables],
                "compile_times": self.compile_times}


def progress_printer(enabled: bool) -> Optional[Callable[[str], None]]:
    if not enabled:
        return None
    import sys

    def say(msg: str) -> None:
        print(f"  .. {msg}", file=sys.stderr, flush=True)
    return say
