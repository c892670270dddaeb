"""Every ```python block of README.md runs, and the values its comments claim hold.

Blocks run in order in one namespace per block (each block must stand
alone), in this process so numba compiles shared code once; the working
directory is a temporary one, so files a block writes do not litter. After
a block runs, its entry in CLAIMS checks what the block's comments say
(``# pi``, ``# ~1.234``, ``# False: ...``, ``# the last has no root``)
against independent references: closed forms, published values with their
Monte Carlo standard errors. Every block has an entry, so a new block (or a
new claim) needs its check.
"""
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import special

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"),
                    re.MULTILINE | re.DOTALL)


def _title(i, code):
    first = next((line for line in code.splitlines() if line.strip()
                  and not line.startswith(("import", "from"))), "")
    return f"block{i}:{first[:30]}"


# ------------------------------------------------------------ the claims
def _jacobians(ns, out):
    """shape (2, 2); complex step exact to rounding; jvp = J v; vjp = J^T w; the Hessian."""
    x = ns["x"]
    exact = np.array([[2 * x[0] * x[1], x[0] ** 2], [5.0, math.cos(x[1])]])
    J, info = ns["J"], ns["info"]
    assert J.shape == (2, 2) and np.allclose(J, exact, rtol=1e-8)
    assert np.all(np.abs(J - exact) <= info.error + 1e-12)      # the claimed error estimate
    np.testing.assert_allclose(ns["Jv"], exact @ [1.0, 0.0], rtol=1e-14)
    np.testing.assert_allclose(ns["g"], exact.T @ [1.0, 1.0], rtol=1e-14)
    np.testing.assert_allclose(ns["H"], [[2 * x[1], 2 * x[0]], [2 * x[0], 0.0]], atol=1e-5)


def _kernel_in_user_code(ns, out):
    """J of g(x) = sin(x) x0 from the compiled kernel, exact to rounding."""
    x = np.array([0.5, 1.0])
    exact = np.diag(np.cos(x) * x[0])     # d(sin(x_i) x0)/dx_j
    exact[:, 0] += np.sin(x)
    np.testing.assert_allclose(ns["newton_like"](x), exact, rtol=1e-14)


def _inplace(ns, out):
    res = ns["jacsolve"].solve(ns["F"], [1.0, 0.5])
    assert res.success and np.allclose(res.x, [math.sqrt(2)] * 2, rtol=1e-10)
    J = ns["jacsolve"].jacobian(ns["F"], np.array([1.0, 2.0]))
    np.testing.assert_allclose(J, [[2.0, 4.0], [1.0, -1.0]], rtol=1e-8)


def _solve(ns, out):
    res = ns["res"]
    assert res.success and res.status.name == "SUCCESS"
    np.testing.assert_allclose(res.x, [math.sqrt(2)] * 2, rtol=1e-10)


def _batch(ns, out):
    """Circle of radius R and line y = c: a root where |c| <= R; the last has none."""
    res = ns["res"]
    assert list(res.success) == [True, True, False]
    for (R, c), x in zip(ns["params"][:2], res.x[:2]):
        assert abs(x[1] - c) < 1e-10 and abs(math.hypot(*x) - R) < 1e-10


def _propagate(ns, out):
    """P = V^2 / R with correlation 0.2: closed-form u(P), nu_eff truncated for k; the
    budget's shares; the second-order bias tr(H V) / 2."""
    r, s = ns["r"], ns["s"]
    c = np.array([2 * 10.0 / 50.0, -100.0 / 2500.0]) * [0.1, 0.5]
    var = c @ np.array([[1, 0.2], [0.2, 1]]) @ c
    assert r.value == pytest.approx(2.0) and r.std == pytest.approx(math.sqrt(var), rel=1e-10)
    from scipy import stats
    k = stats.t.ppf(0.975, math.floor(r.dof))
    assert r.interval(0.95) == pytest.approx((2.0 - k * r.std, 2.0 + k * r.std), rel=1e-12)
    b = r.budget
    assert b.share.sum() + b.correlation_share.sum() == pytest.approx(1.0, rel=1e-12)
    bias = 0.5 * (2 / 50.0 * 0.1 ** 2 + 2 * 100.0 / 50.0 ** 3 * 0.5 ** 2)
    assert s.bias == pytest.approx(bias, rel=1e-6)


def _monte_carlo(ns, out):
    """~1.234, ~0.075: JCGM 101 Table 6 (1.2341, 0.0754) within half a unit plus 4 sqrt(2)
    standard errors; floats; first order not validated; the adaptive run converged."""
    from scipy import stats
    jacsolve, mc = ns["jacsolve"], ns["mc"]
    n = mc.n_draws
    assert isinstance(mc.value, float) and isinstance(mc.std, float)
    kurtosis = stats.kurtosis(mc.samples[:, 0], fisher=False)
    se_mean = mc.std / math.sqrt(n)
    se_std = mc.std * math.sqrt((kurtosis - 1) / (4 * n))
    assert abs(mc.value - 1.2341) <= 0.00005 + 4 * math.sqrt(2) * se_mean
    assert abs(mc.std - 0.0754) <= 0.00005 + 4 * math.sqrt(2) * se_std
    assert jacsolve.validate(ns["gum"], mc, digits=1).success is False
    assert ns["adaptive"].converged


def _integration(ns, out):
    """Gauss ~1e-11 on the torus (a success); sampling within 4 of its standard errors;
    the user's polar map gives pi."""
    jacsolve, f, torus = ns["jacsolve"], ns["f"], ns["torus"]
    exact = 4 * math.pi ** 2 * 2.0 * 1.0 * special.i1(1.0)
    res = jacsolve.integrate(f, torus, n=24_000)
    assert res.success and res.error < 1e-10 * exact and abs(res.value - exact) <= res.error
    qmc = jacsolve.integrate(f, torus, method="qmc", n=2 ** 14, seed=0, rtol=1e-3)
    hit = jacsolve.integrate_mc(f, torus, n=2 ** 14, seed=0, rtol=0.05)
    for r in (qmc, hit):
        assert r.success and abs(r.value - exact) <= 4 * r.error
    pi = jacsolve.integrate(ns["one"], ns["disk"])
    assert pi.success and abs(pi.value - math.pi) <= max(pi.error, 1e-14)
    assert "| gauss | 10000 |" in out


def _spec_report(ns, out):
    """The report of JCGM 101 9.3: not validated; the compiled expression model."""
    assert ns["result"].validation.success is False
    assert "Uncertainty budget" in out
    assert ns["model"].fun(np.array([10.0, 50.0])) == pytest.approx(2.0, rel=1e-15)


def _dask(ns, out):
    """# True True: a Dask run gives the one-machine result bit for bit."""
    assert out.split() == ["True", "True"]
    assert ns["mc"].value == ns["here"].value and ns["mc"].std == ns["here"].std


CLAIMS = {  # a line of the block -> its check
    "client=client)": _dask,
    'J = jacsolve.jacobian(f, x)': _jacobians,
    'def newton_like(x):': _kernel_in_user_code,
    '@jacsolve.jit(inplace=True)': _inplace,
    'res = jacsolve.solve(f, [1.0, 0.5])': _solve,
    'res = jacsolve.solve_batch(': _batch,
    'r = jacsolve.propagate(power,': _propagate,
    'mc = jacsolve.propagate_mc(mass, inputs': _monte_carlo,
    'torus = Torus(R=2.0, r=1.0)': _integration,
    'spec = load_spec(': _spec_report,
}


def _claims(code):
    found = [check for key, check in CLAIMS.items() if key in code]
    assert len(found) == 1, "each README block needs exactly one entry in CLAIMS"
    return found[0]


def test_readme_has_python_examples():
    assert BLOCKS, "README.md has no ```python blocks"


@pytest.mark.parametrize("code", BLOCKS, ids=[_title(i, c) for i, c in enumerate(BLOCKS)])
def test_readme_block_runs_and_its_claims_hold(code, tmp_path, monkeypatch, capsys):
    check = _claims(code)
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "__readme__"}
    exec(compile(code, str(README), "exec"), ns)
    check(ns, capsys.readouterr().out)
