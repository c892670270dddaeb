"""Dask LocalCluster benchmark: python benchmarks/bench_distributed.py [--quick]."""
import sys

from jacsolve.cli.bench.bench_distributed import run
from jacsolve.cli.bench.timing import progress_printer

if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv, progress=progress_printer(True)).markdown())
