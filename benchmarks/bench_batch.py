"""Batched small systems benchmark: python benchmarks/bench_batch.py [--quick]."""
import sys

from jacsolve.cli.bench.bench_batch import run
from jacsolve.cli.bench.timing import progress_printer

if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv, progress=progress_printer(True)).markdown())
