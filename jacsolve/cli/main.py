"""The ``jacsolve`` command.

* ``jacsolve demo``: a short tour of every solver next to SciPy's answer;
  exits 1 if any result disagrees with SciPy beyond its tolerance.
* ``jacsolve bench [--quick] [--out DIR] [--json] [--only NAMES]``: the
  benchmark suite (the same code as ``benchmarks/``), medians and ratios
  against SciPy, compile times apart.
* ``jacsolve propagate SPEC.toml [--mc N | --digits D] [--seed S] [--out DIR]
  [--json] [--scheduler ADDRESS]``: an uncertainty evaluation from a spec file (GUM, Monte Carlo,
  validation, budget).

Exit codes: 0 success, 1 a failed check (a demo disagreement, a benchmark
that raised), 2 bad input (a bad spec, a bad option).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def _error(command: str, message: str) -> int:
    print(f"jacsolve {command}: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _demo(args) -> int:
    from .demo import run_demo
    return run_demo()


def _bench(args) -> int:
    from .bench import runner
    from .bench.timing import progress_printer
    only = None
    if args.only:
        only = [name.strip() for name in args.only.split(",") if name.strip()]
    try:
        run = runner.run_all(quick=args.quick, only=only,
                             progress=progress_printer(not args.quiet))
    except ValueError as exc:   # an unknown benchmark name
        return _error("bench", str(exc))
    if args.out:
        paths = run.write(args.out)
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    print(run.to_json() if args.json else run.markdown())
    if run.failed:
        print(f"jacsolve bench: {len(run.failed)} benchmark(s) failed: "
              + ", ".join(run.failed), file=sys.stderr)
        return 1
    return 0


def _propagate(args) -> int:
    from ..uncertainty.spec import SpecError, load_spec
    try:
        spec = load_spec(args.spec, allow_import=args.allow_import)
    except SpecError as exc:
        return _error("propagate", str(exc))
    if args.mc is not None:
        from ..uncertainty.spec import draws_problem
        problem = draws_problem(args.mc, len(spec.names), len(spec.outputs or ()) or None)
        if problem:
            return _error("propagate", f"--mc: {problem}")
    from ..status import FunctionError
    from ..uncertainty.report import evaluate_spec
    from .bench.timing import progress_printer
    talk = not args.quiet and not args.json
    options = dict(mc_progress=talk and sys.stderr.isatty())   # draws done, on a terminal
    if args.scheduler:      # the Monte Carlo part on a Dask cluster
        options["client"] = args.scheduler
    try:
        result = evaluate_spec(spec, draws=args.mc, digits=args.digits, seed=args.seed,
                               progress=progress_printer(talk), **options)
    except (FunctionError, TypeError, ValueError) as exc:
        # The spec parsed, but its model cannot be evaluated (not finite at the
        # estimates, wrong output size, ...): still the spec's fault.
        return _error("propagate", f"{spec.path}: model: {exc}")
    print(result.to_json() if args.json else result.text())
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.txt").write_text(result.text() + "\n", encoding="utf-8")
        (out / "report.json").write_text(result.to_json() + "\n", encoding="utf-8")
        written = [out / "report.txt", out / "report.json"]
        try:
            written += result.plot(out)
        except ImportError:
            print("jacsolve propagate: matplotlib is not installed, so no histogram was drawn "
                  "(pip install 'jacsolve[plot]')", file=sys.stderr)
        print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0


def _integer(low: int, what: str):
    """An argparse type: an integer >= low."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return convert


_positive = _integer(1, "a positive integer")
_seed = _integer(0, "an integer >= 0")


def _report_options(parser, *, writes: str, prints: str) -> None:
    """--out, --json and --quiet, which bench and propagate share."""
    parser.add_argument("--out", metavar="DIR", help=f"write {writes}")
    parser.add_argument("--json", action="store_true", help=f"print {prints}")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")


def _bench_arguments(bench) -> None:
    bench.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    bench.add_argument("--only", metavar="NAMES",
                       help="comma-separated benchmarks to run (default: all of "
                       "jacobian, solve, batch, uncertainty, montecarlo, integration; a dotted "
                       "name runs any module with run(quick, progress) -> Report)")
    _report_options(bench, writes="bench.md, bench.json and PNG plots",
                    prints="JSON instead of markdown")


def _propagate_arguments(prop) -> None:
    prop.add_argument("spec", metavar="SPEC.toml", help="the spec file")
    draws = prop.add_mutually_exclusive_group()
    draws.add_argument("--mc", type=_positive, metavar="N",
                       help="Monte Carlo draws (default: the spec's, else 10**6)")
    draws.add_argument("--digits", type=_positive, metavar="D",
                       help="adaptive Monte Carlo until stable to D significant digits")
    prop.add_argument("--seed", type=_seed, metavar="S", help="random seed (default: spec's, "
                      "else 1)")
    prop.add_argument("--scheduler", metavar="ADDRESS",
                      help="run the Monte Carlo part on the Dask cluster at ADDRESS "
                      "(tcp://host:8786; needs the dask extra)")
    prop.add_argument("--allow-import", action="store_true",
                      help="allow a model given as model.function = 'module:function' "
                      "(importing it runs that module's code: only for specs you trust)")
    _report_options(prop, writes="report.txt, report.json and histogram_<output>.png",
                    prints="the report as JSON")


# name: (what runs it, what adds its arguments, one-line help, description)
COMMANDS = {
    "demo": (_demo, None, "a short tour of every solver against SciPy",
             "Each solver on a built-in example, next to SciPy's answer and the ratio of "
             "times. Exits 1 if a result disagrees."),
    "bench": (_bench, _bench_arguments, "benchmarks against SciPy (medians and ratios)",
              "Runs the benchmark suite (the code of benchmarks/) in this process: medians "
              "after warm-up and ratios against SciPy, compile times reported apart."),
    "propagate": (_propagate, _propagate_arguments, "uncertainty evaluation from a spec file",
                  "GUM uncertainty framework, Monte Carlo (JCGM 101) with symmetric and "
                  "shortest intervals, the clause 8 validation, and the uncertainty budget, "
                  "for the model and inputs of a TOML spec."),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jacsolve", description="Compiled Jacobians and the solvers built on them.",
        epilog="Exit codes: 0 success, 1 a demo result disagrees with SciPy or a benchmark "
               "failed, 2 bad input.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (run, arguments, summary, description) in COMMANDS.items():
        command = sub.add_parser(name, help=summary, description=description)
        if arguments is not None:
            arguments(command)
        command.set_defaults(func=run)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
