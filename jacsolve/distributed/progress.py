"""Progress of long runs: how many systems, draws or points are done (no Dask needed)."""
from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Reports ``done`` of ``total`` units.

    ``how`` is False (silent), True (a line on stderr, rewritten in place on a
    terminal, at most every 0.2 s) or a callable ``how(done, total)``.
    """

    def __init__(self, how, total: int, unit: str, name: str):
        self.how, self.total, self.unit, self.name = how, int(total), unit, name
        self.done = 0
        self._last = 0.0
        self._tty = bool(how is True and getattr(sys.stderr, "isatty", lambda: False)())

    def add(self, k: int) -> None:
        self.done += int(k)
        if not self.how:
            return
        if callable(self.how) and self.how is not True:
            self.how(self.done, self.total)
            return
        now = time.monotonic()
        if self.done < self.total and now - self._last < 0.2:
            return
        self._last = now
        pct = 100.0 * self.done / self.total if self.total else 100.0
        line = f"{self.name}: {self.done} of {self.total} {self.unit} done ({pct:.0f} %)"
        print(("\r" + line) if self._tty else line, end="" if self._tty else "\n",
              file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._tty:
            print(file=sys.stderr, flush=True)
