"""Batched small systems benchmark: python benchmarks/bench_batch.py [--quick]."""
import sys

from jacsolve.bench.batch import run
from jacsolve.bench.timing import progress_printer

if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv, progress=progress_printer(True)).markdown())
