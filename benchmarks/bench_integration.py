"""Integration by substitution versus Monte Carlo and SciPy.

Usage: python benchmarks/bench_integration.py [--quick]
"""
import sys

from jacsolve.cli.bench import bench_integration as integration
from jacsolve.cli.bench.timing import progress_printer

if __name__ == "__main__":
    quick = "--quick" in sys.argv
    report = integration.run(quick=quick, progress=progress_printer(True))
    print(report.markdown())
