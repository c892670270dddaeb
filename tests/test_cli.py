"""The ``jacsolve`` command, run as a user would: demo, bench, propagate.

Subprocess runs recompile numba code in each new process, so there are few:
one demo, one bench (on a tiny stand-in benchmark module, which exercises
the runner, its files and plots; the real benchmarks take minutes), two
propagate runs on the shipped JCGM 101 examples and one malicious spec.
Error paths run in-process through ``cli.main``: they fail before any
compilation.

Published values are JCGM 101:2008 Tables 3 and 6. As in test_jcgm101.py,
each Monte Carlo value may differ from the published one by half a unit of
its last published digit plus 4 sqrt(2) standard errors (the published value
comes from a Monte Carlo run of its own); the standard errors are those the
report gives, from 20 batches of the draws (scaled by the n**-1/3 rate of
a shortest interval's position for its endpoints: see check_interval).
"""
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import jacsolve
from jacsolve.cli import main as cli
from jacsolve.uncertainty.spec import load_spec

EXAMPLES = Path(jacsolve.__file__).parent / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args, cwd=None, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "jacsolve", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)


def half_unit(published: str) -> float:
    decimals = len(published.split(".")[1]) if "." in published else 0
    return 0.5 * 10.0 ** -decimals


def check(value, published: str, se=0.0):
    tol = half_unit(published) + 4 * math.sqrt(2) * se
    assert abs(value - float(published)) <= tol * (1 + 1e-12), \
        f"{value:.6g} vs published {published} (tolerance {tol:.3g})"


def check_interval(mc, se, mean: str, low: str, high: str):
    """A published shortest interval of a symmetric output distribution.

    Its endpoints are compared with the report's standard errors for them,
    which scale the batch spread by the n**-1/3 rate of a shortest interval's
    position (test_shortest_endpoint_standard_errors_are_calibrated checks
    them). Its length converges like any quantile, and for a symmetric
    distribution the probabilistically symmetric interval is mean -+ length / 2:
    those are compared too, with the batch standard errors of the report.
    """
    length = float(high) - float(low)
    tol = 2 * half_unit(low)
    check(mc["shortest_interval"][0], low, se["shortest_low"])
    check(mc["shortest_interval"][1], high, se["shortest_high"])
    got = mc["shortest_interval"][1] - mc["shortest_interval"][0]
    assert abs(got - length) <= tol + 4 * math.sqrt(2) * se["shortest_length"]
    for k, sign in ((0, -1), (1, 1)):
        expected = float(mean) + sign * length / 2
        key = ("symmetric_low", "symmetric_high")[k]
        assert abs(mc["symmetric_interval"][k] - expected) <= \
            half_unit(mean) + tol / 2 + 4 * math.sqrt(2) * se[key]


def assert_png(path: Path):
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 5000, f"{path} is not a non-empty PNG"


# ------------------------------------------------------------------ demo
def test_demo_exits_zero():
    r = run("demo", timeout=400)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "demo: all results agree with SciPy" in r.stdout
    for section in ("Jacobians", "Uncertainty", "Integration"):
        assert section in r.stdout


# ------------------------------------------------------------------ bench
FAKE_BENCH = '''
from jacsolve.cli.bench.timing import Report, Table

def run(quick=False, progress=None):
    if progress:
        progress("measuring")
    r = Report("stand-in")
    t = Table("ratios", ["n", "scipy / ours"])
    t.add(n=10, **{"scipy / ours": 12.5})
    r.tables.append(t)
    r.compile_times["first call"] = 0.25
    r.plots["jacobian_time_vs_n"] = [
        {"problem": "dense", "method": m, "n": n, "scipy / ours": k * n ** 0.5}
        for n in (10, 100, 1000) for k, m in ((1, "central"), (2, "complex"))]
    r.plots["solve_time_per_problem"] = {
        "rows": [{"problem": p, "jacsolve (us)": 5.0 + i, "scipy (us)": 80.0 * (i + 1)}
                 for i, p in enumerate(["rosenbrock", "wood", "watson"])],
        "kind": "bar", "ylabel": "time per solve (us)"}
    r.plots["integration_error_vs_evaluations"] = {
        "series": {"hit-or-miss": {"x": [100, 10000], "y": [0.1, 0.01]},
                   "gauss": {"x": [100, 10000], "y": [1e-4, 1e-12]}},
        "log": "loglog", "xlabel": "evaluations", "ylabel": "|error|"}
    return r
'''


def test_bench_writes_its_files(tmp_path):
    pkg = tmp_path / "standin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bench.py").write_text(FAKE_BENCH)
    env = dict(os.environ, PYTHONPATH=str(tmp_path) + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    out = tmp_path / "out"
    r = run("bench", "--quick", "--only", "standin.bench", "--out", str(out), env=env)
    assert r.returncode == 0, r.stderr
    md = (out / "bench.md").read_text()
    assert "numpy" in md and "scipy" in md and "numba" in md and "cores" in md
    assert "| 10 | 12.5 |" in md and "first call 0.25" in md
    assert "standin.bench: starting" in r.stderr          # progress
    data = json.loads((out / "bench.json").read_text())
    assert data["reports"][0]["tables"][0]["rows"] == [{"n": 10, "scipy / ours": 12.5}]
    assert "versions" in data["machine"]
    pytest.importorskip("matplotlib")
    for name in ("jacobian_time_vs_n", "solve_time_per_problem",
                 "integration_error_vs_evaluations"):
        assert_png(out / f"{name}.png")


def test_bench_unknown_name(capsys):
    assert cli.main(["bench", "--only", "nonsense"]) == 2
    assert "unknown benchmark 'nonsense'" in capsys.readouterr().err
    assert cli.main(["bench", "--only", "no_such_pkg.bench"]) == 2
    assert "no module named 'no_such_pkg.bench'" in capsys.readouterr().err


def test_missing_builtin_bench_module_fails_loudly(monkeypatch):
    from jacsolve.cli.bench import runner
    monkeypatch.setattr(runner, "BENCHMARKS", runner.BENCHMARKS + ("not_written_yet",))
    run = runner.run_all(only=["not_written_yet"])
    assert not run.reports
    assert "bench_not_written_yet is missing" in run.failed["not_written_yet"]
    assert "| not_written_yet | FAILED:" in run.markdown()


def test_every_builtin_bench_module_exists():
    from jacsolve.cli.bench import runner
    for name in runner.BENCHMARKS:
        assert callable(runner._module(name).run), name


def test_bench_failure_is_reported_and_others_run(tmp_path, monkeypatch, capsys):
    pkg = tmp_path / "broken"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_text("def run(quick=False, progress=None):\n"
                                "    raise RuntimeError('boom')\n")
    (pkg / "good.py").write_text(FAKE_BENCH)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cli.main(["bench", "--only", "broken.bad,broken.good", "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert "| broken.bad | FAILED: RuntimeError: boom |" in out and "## stand-in" in out
    assert "RuntimeError: boom" in err and "1 benchmark(s) failed: broken.bad" in err


# ------------------------------------------------------------------ propagate
def test_propagate_mass_calibration(tmp_path):
    """JCGM 101 9.3, Table 6, with 10**5 draws (--mc) and the histogram (--out)."""
    r = run("propagate", str(EXAMPLES / "jcgm101_mass.toml"), "--mc", "100000", "--json",
            "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    y = rep["outputs"]["dm"]
    g, mc, se = y["gum"], y["monte_carlo"], y["monte_carlo"]["standard_errors"]
    check(g["estimate"], "1.2340")
    check(g["std"], "0.0539")
    extra = 1.96 * half_unit("0.0539")   # published interval: 1.2340 +- 1.96 x 0.0539
    assert abs(g["interval"][0] - 1.1285) <= half_unit("1.1285") + extra
    assert abs(g["interval"][1] - 1.3395) <= half_unit("1.3395") + extra
    assert g["dof"] == "inf" and g["k"] == pytest.approx(1.959964, abs=1e-6)
    assert rep["monte_carlo"]["draws"] == 100000
    check(mc["mean"], "1.2341", se["mean"])
    check(mc["std"], "0.0754", se["std"])
    check_interval(mc, se, "1.2341", "1.0834", "1.3825")
    # Table 6: not validated at delta = 0.005, d_low = 0.0451, d_high = 0.0430; both
    # intervals are centred, so d_low + d_high is the difference of their lengths
    v = y["validation"]
    assert v["tolerance"] == pytest.approx(0.005) and not v["validated"]
    assert abs(v["d_low"] + v["d_high"] - 0.0881) <= \
        4 * math.sqrt(2) * se["shortest_length"] + 0.0001 + 2 * extra
    shares = {e["name"]: e["share"] for e in y["budget"]}
    assert shares["m_R_c"] == pytest.approx(0.05 ** 2 / 0.05 ** 2 / (1 + 0.4 ** 2))
    text = (tmp_path / "report.txt").read_text()
    assert "Uncertainty budget" in text and "NOT validated" in text
    assert json.loads((tmp_path / "report.json").read_text())["title"] == rep["title"]
    pytest.importorskip("matplotlib")
    assert_png(tmp_path / "histogram_dm.png")


def test_propagate_additive_model():
    """JCGM 101 9.2.3, Table 3, with the spec's 10**6 draws."""
    r = run("propagate", str(EXAMPLES / "jcgm101_additive.toml"), "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["monte_carlo"]["draws"] == 1_000_000 and rep["sensitivities"] == "complex"
    y = rep["outputs"]["Y"]
    g, mc, se = y["gum"], y["monte_carlo"], y["monte_carlo"]["standard_errors"]
    check(g["estimate"], "0.00")
    check(g["std"], "2.00")
    check(g["interval"][0], "-3.92")
    check(g["interval"][1], "3.92")
    check(mc["mean"], "0.00", se["mean"])
    check(mc["std"], "2.00", se["std"])
    check_interval(mc, se, "0.00", "-3.88", "3.88")
    # not validated at 3 significant digits: d_low = d_high = 0.04 > delta = 0.005
    v = y["validation"]
    assert v["tolerance"] == pytest.approx(0.005) and not v["validated"] and not rep["validated"]
    assert abs(v["d_low"] + v["d_high"] - 0.08) <= \
        4 * math.sqrt(2) * se["shortest_length"] + 0.01


def test_malicious_spec_cannot_run_code(tmp_path):
    spec = tmp_path / "evil.toml"
    spec.write_text(textwrap.dedent("""
        [model]
        y = "__import__('os').system('touch PWNED')"
        [inputs.a]
        distribution = "normal"
        mean = 0
        std = 1
    """))
    r = run("propagate", str(spec), cwd=tmp_path)
    assert r.returncode == 2
    assert f"{spec}:3: model.y: column 1:" in r.stderr and "attribute access" in r.stderr
    assert not (tmp_path / "PWNED").exists()


# ------------------------------------------------------------ error paths
GOOD_INPUTS = """
[inputs.a]
distribution = "normal"
mean = 1.0
std = 0.1

[inputs.b]
distribution = "rectangular"
a = -1.0
b = 1.0
"""

BAD_SPECS = [
    # (spec text, line, field, message)
    ('[model]\ny = "a + q"\n' + GOOD_INPUTS, 2, "model.y", "unknown name 'q'"),
    ('[model]\ny = "a +"\n' + GOOD_INPUTS, 2, "model.y", "malformed expression"),
    ('[model]\ny = "a.real"\n' + GOOD_INPUTS, 2, "model.y", "attribute access not allowed"),
    ('[model]\ny = "(lambda: a)()"\n' + GOOD_INPUTS, 2, "model.y", "calls of the allowed"),
    ('[model]\ny = "open(a)"\n' + GOOD_INPUTS, 2, "model.y", "unknown function 'open'"),
    ('[model]\ny = 3\n' + GOOD_INPUTS, 2, "model.y", "expected an expression in quotes"),
    ('[model]\ny = "a"\n' + GOOD_INPUTS.replace('"rectangular"', '"lognormal"'), 10,
     "inputs.b.distribution", "unknown distribution 'lognormal'; expected one of normal"),
    ('[model]\ny = "a"\n' + GOOD_INPUTS.replace("std = 0.1\n", ""), 4, "inputs.a",
     "missing parameter 'std' for a normal distribution; expected mean, std"),
    ('[model]\ny = "a"\n' + GOOD_INPUTS.replace("std = 0.1", "sd = 0.1"), 7, "inputs.a.sd",
     "unknown key 'sd'"),
    ('[model]\ny = "a"\n' + GOOD_INPUTS.replace("std = 0.1", 'std = "x"'), 7, "inputs.a.std",
     "expected a number, got a string"),
    ('[model]\ny = "a"\n' + GOOD_INPUTS.replace("a = -1.0", "a = 2.0"), 9, "inputs.b",
     "a must be < b"),
    ('[model]\ny = "a"\n' + GOOD_INPUTS + "[correlations]\na.zz = 0.5\n", 14,
     "correlations.a.zz", "unknown input 'zz'"),
    ('[model]\ny = "a"\n' + GOOD_INPUTS + "[correlations]\na.b = 1.5\n", 14,
     "correlations.a.b", "expected a correlation in [-1, 1]"),
    ('[model]\ny = "a + b + c"\n' + GOOD_INPUTS
     + '[inputs.c]\ndistribution = "normal"\nmean = 0\nstd = 1\n'
     + "[correlations]\na.b = 0.9\na.c = 0.9\nb.c = -0.9\n", 17, "correlations",
     "must be positive semi-definite"),
    ('[model]\ny = "a + b"\n' + GOOD_INPUTS + "[correlations]\na.b = 0.5\n", 13,
     "correlations", "input b is correlated but not normal"),
    ('[model]\ny = "a"\n' + GOOD_INPUTS + "coverage = 0.9\n", 13, "inputs.b.coverage",
     "unknown key 'coverage' in a rectangular input"),    # TOML: it belongs to [inputs.b]
    ('[model\ny = "a"\n', 1, None, "not valid TOML"),
    ('[model]\nfunction = "os:system"\n' + GOOD_INPUTS, 2, "model.function",
     "pass --allow-import"),
    ('[model]\ny = "a"\n', None, None, "missing [inputs] table"),
    ('y = "a"\n' + GOOD_INPUTS, 1, "y", "unknown key 'y' in the spec"),
    ('coverage = 1.5\n[model]\ny = "a"\n' + GOOD_INPUTS, 1, "coverage",
     "expected a number between 0.0 and 1.0"),
]


@pytest.mark.parametrize("text, line, field, message", BAD_SPECS,
                         ids=[f"bad{i}" for i in range(len(BAD_SPECS))])
def test_bad_spec_exit_2(tmp_path, capsys, monkeypatch, text, line, field, message):
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    code = cli.main(["propagate", str(spec)])
    err = capsys.readouterr().err
    assert code == 2
    where = f"{spec}:" + (f"{line}:" if line else "") + (f" {field}:" if field else "")
    assert err.startswith(f"jacsolve propagate: error: {where}"), err
    assert message in err, err


def test_missing_file_and_bad_options(tmp_path, capsys):
    assert cli.main(["propagate", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read the spec file" in capsys.readouterr().err
    for argv in (["propagate", "x.toml", "--mc", "0"],
                 ["propagate", "x.toml", "--mc", "10", "--digits", "2"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2


def test_draws_that_cannot_fit_in_memory_exit_2(tmp_path, capsys):
    """10**12 draws used to end in a traceback (Unable to allocate 7.28 TiB)."""
    spec = tmp_path / "huge.toml"
    spec.write_text('[model]\ny = "a + b"\n' + GOOD_INPUTS
                    + "[monte_carlo]\ndraws = 1000000000000\n")
    assert cli.main(["propagate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"jacsolve propagate: error: {spec}:14: monte_carlo.draws: "), err
    # 8 bytes x 10**12 draws x (2 inputs + 1 output + 1)
    assert "1000000000000 draws need 29.1 TiB of memory" in err and "more than" in err
    spec.write_text('[model]\ny = "a + b"\n' + GOOD_INPUTS)
    assert cli.main(["propagate", str(spec), "--mc", str(10 ** 12)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jacsolve propagate: error: --mc: 1000000000000 draws need"), err
    from jacsolve.uncertainty.report import evaluate_spec
    with pytest.raises(ValueError, match="draws: 1000000000000 draws need 29.1 TiB"):
        evaluate_spec(load_spec(spec), draws=10 ** 12)


# ------------------------------------------------------------ in-process checks
def test_shortest_endpoint_standard_errors_are_calibrated():
    """The report's standard error of a shortest-interval endpoint against the
    spread of that endpoint over independent runs (JCGM 101 9.2.3).

    Over R = 60 runs the sample standard deviation s of the endpoint satisfies
    (R - 1) s^2 / sigma^2 ~ chi^2(R - 1): s / sigma lies in [0.71, 1.31] with
    probability 0.999. The mean of the R reported standard errors stands in
    for sigma (its own spread, about 16 % per run, shrinks to ~2 %). Batch
    spread over sqrt(20), the n**-1/2 rate, gives s / se of 1.5-1.8 here.
    """
    from scipy import stats

    from jacsolve.problems import gum_examples as gum
    from jacsolve.uncertainty.report import batch_standard_errors
    ex = gum.additive_rectangular()
    runs = 60
    lows, ses = [], []
    for seed in range(runs):
        r = jacsolve.propagate_mc(ex.fun, ex.inputs, n=100_000, seed=seed, kind="shortest")
        lows.append(r.interval(0.95, "shortest")[0])
        ses.append(batch_standard_errors(r, 0.95)["shortest_low"][0])
    ratio = np.std(lows, ddof=1) / np.mean(ses)
    lo, hi = np.sqrt(stats.chi2.ppf([0.0005, 0.9995], runs - 1) / (runs - 1))
    assert lo <= ratio <= hi, (ratio, lo, hi)


def test_correlated_inputs_out_of_order(tmp_path):
    """Correlated inputs that are not neighbours in the spec (a, c; b between them):
    the columns are reordered for the multivariate normal; the GUM u(y) matches the
    closed form and the Monte Carlo u(y) agrees with it within its standard error."""
    from jacsolve.uncertainty.report import evaluate_spec
    spec = tmp_path / "corr.toml"
    spec.write_text(textwrap.dedent("""
        [model]
        y = "a + 2 * b - 3 * c"
        [inputs.a]
        distribution = "normal"
        mean = 1.0
        std = 0.5
        [inputs.b]
        distribution = "rectangular"
        a = 0.0
        b = 1.0
        [inputs.c]
        distribution = "normal"
        mean = 2.0
        std = 0.2
        [correlations]
        c.a = 0.6
    """))
    s = load_spec(spec)
    assert s.names == ("a", "c", "b")
    res = evaluate_spec(s, draws=40_000, seed=3)
    var = 0.5 ** 2 + 4 / 12 + 9 * 0.2 ** 2 - 2 * 3 * 0.6 * 0.5 * 0.2
    assert res.gum.std[0] == pytest.approx(math.sqrt(var), rel=1e-12)
    assert res.gum.value[0] == pytest.approx(1.0 + 1.0 - 6.0)
    se = res.standard_errors
    assert abs(res.mc.std[0] - math.sqrt(var)) <= 4 * se["std"][0]
    assert abs(res.mc.mean[0] - (-4.0)) <= 4 * se["mean"][0]
    assert [e.name for e in res.gum.budget.entries(0)] == ["a", "c", "b"]


def test_python_function_model(tmp_path):
    """model.function = "module:function", next to the spec, with --allow-import."""
    (tmp_path / "mymodel_cli.py").write_text(
        "import numpy as np\n"
        "def power(x):\n"
        "    return x[0] * x[0] / x[1]\n")
    spec = tmp_path / "p.toml"
    spec.write_text(textwrap.dedent("""
        [model]
        function = "mymodel_cli:power"
        outputs = ["P"]
        [inputs.V]
        distribution = "normal"
        mean = 10.0
        std = 0.1
        dof = 9
        [inputs.R]
        distribution = "normal"
        mean = 50.0
        std = 0.5
        dof = 20
    """))
    from jacsolve.uncertainty.report import evaluate_spec
    res = evaluate_spec(load_spec(spec, allow_import=True), draws=20_000, seed=1)
    # u(P)^2 = (2V/R u_V)^2 + (V^2/R^2 u_R)^2 = 0.04^2 + 0.02^2; WS dof from 9 and 20
    u = math.hypot(0.04, 0.02)
    std, dof = float(res.gum.std), float(res.gum.dof)     # a scalar model: floats
    assert std == pytest.approx(u, rel=1e-9)
    assert dof == pytest.approx(u ** 4 / (0.04 ** 4 / 9 + 0.02 ** 4 / 20), rel=1e-9)
    assert res.outputs == ("P",)
    # E[V^2] E[1/R] = (V^2 + u_V^2) (1 + u_R^2 / R^2) / R to second order
    mean = (100.0 + 0.01) * (1 + 1e-4) / 50.0
    assert abs(res.mc.mean - mean) <= 4 * res.standard_errors["mean"][0] + 1e-6
