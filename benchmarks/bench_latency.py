"""Time to first result of every entry point, in fresh processes: python benchmarks/bench_latency.py [--quick]"""
import sys

from jacsolve.cli.bench.bench_latency import run
from jacsolve.cli.bench.timing import progress_printer

if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv, progress=progress_printer(True)).markdown())
