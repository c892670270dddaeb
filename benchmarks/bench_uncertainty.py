"""Linear uncertainty propagation vs the `uncertainties` package (pip install jacsolve[compare])."""
import argparse

from jacsolve.cli.bench.timing import progress_printer
from jacsolve.cli.bench.bench_uncertainty import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (~15 s)")
    opts = parser.parse_args()
    print(run(quick=opts.quick, progress=progress_printer(True)).markdown())
