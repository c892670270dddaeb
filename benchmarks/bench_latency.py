"""Time to first result of every entry point, in fresh processes.

python benchmarks/bench_latency.py [--quick] [--entry NAME ...] [--repeat N]
"""
import argparse

from jacsolve.cli.bench.bench_latency import ENTRY_POINTS, run
from jacsolve.cli.bench.timing import progress_printer

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--entry", action="append", choices=list(ENTRY_POINTS),
                        help="measure only this entry point (repeatable)")
    parser.add_argument("--repeat", type=int, default=None, help="fresh processes per figure")
    a = parser.parse_args()
    print(run(quick=a.quick, progress=progress_printer(True), entries=a.entry,
              repeat=a.repeat).markdown())
