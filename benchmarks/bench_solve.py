"""jacsolve.solve against scipy.optimize.root and newton_krylov: python benchmarks/bench_solve.py [--quick]"""
import sys

from jacsolve.cli.bench.bench_solve import run
from jacsolve.cli.bench.timing import progress_printer

if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv, progress=progress_printer(True)).markdown())
