"""An uncertainty evaluation from a spec: GUM, Monte Carlo, validation, budget.

This is what ``jacsolve propagate SPEC.toml`` runs and reports:

* the GUM uncertainty framework (:func:`jacsolve.propagate`): estimate,
  standard uncertainty, effective degrees of freedom, coverage factor and
  expanded uncertainty;
* Monte Carlo (:func:`jacsolve.propagate_mc`, JCGM 101) with the
  probabilistically symmetric and the shortest coverage intervals, and their
  standard errors from 20 batches of the draws;
* the validation of JCGM 101 clause 8 (:func:`jacsolve.validate`);
* the uncertainty budget of each output;
* optionally, a PNG histogram of the Monte Carlo values per output with the
  GUM distribution (Gaussian, or scaled t for finite degrees of freedom) drawn
  over it.
"""
from __future__ import annotations

import dataclasses
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .spec import Spec, draws_problem

__all__ = ["evaluate_spec", "SpecReport", "batch_standard_errors"]

DEFAULT_DRAWS = 1_000_000
BATCHES = 20


@dataclass(frozen=True, eq=False)
class SpecReport:
    """The results of :func:`evaluate_spec` (see its attributes' sources).

    Attributes
    ----------
    spec : Spec
    gum : jacsolve.Propagation
    mc : jacsolve.MonteCarloResult
    validation : jacsolve.uncertainty.montecarlo.Validation
    outputs : tuple of str
    jac : str
        How the sensitivities were obtained ("complex" or "central").
    seed : int
    standard_errors : dict or None
        Output-wise standard errors of the Monte Carlo mean, u and interval
        endpoints, from the spread of 20 batches (None when the samples were
        not kept).
    notes : list of str
        Warnings raised during the evaluation (e.g. nonlinearity, non-finite
        draws), for the report.
    """
    spec: Spec
    gum: object
    mc: object
    validation: object
    outputs: tuple
    jac: str
    seed: int
    standard_errors: Optional[dict]
    notes: list

    # ------------------------------------------------------------ data
    def to_dict(self) -> dict:
        """Everything in the report as JSON-ready types (inf and NaN as strings)."""
        return _jsonable(self._results())

    def _results(self) -> dict:
        s, g, mc, v = self.spec, self.gum, self.mc, self.validation
        p = s.p
        y, u, dof = (np.atleast_1d(a).astype(float) for a in (g.value, g.std, g.dof))
        k = np.atleast_1d(g.coverage_factor(p)).astype(float)
        sym, short = (tuple(np.atleast_1d(e) for e in mc.interval(p, kind))
                      for kind in ("symmetric", "shortest"))
        mean, std = np.atleast_1d(mc.value), np.atleast_1d(mc.std)
        outputs = {}
        for i, name in enumerate(self.outputs):
            outputs[name] = {
                "expression": s.expressions.get(name, s.model_ref),
                "gum": {"estimate": y[i], "std": u[i], "dof": dof[i], "k": k[i],
                        "U": k[i] * u[i], "interval": [y[i] - k[i] * u[i], y[i] + k[i] * u[i]],
                        "method": g.method},
                "monte_carlo": {
                    "mean": float(mean[i]), "std": float(std[i]),
                    "symmetric_interval": [float(sym[0][i]), float(sym[1][i])],
                    "shortest_interval": [float(short[0][i]), float(short[1][i])],
                    "standard_errors": (None if self.standard_errors is None else
                                        {key: float(val[i])
                                         for key, val in self.standard_errors.items()})},
                "validation": {"validated": bool(v.d_low[i] <= v.tolerance[i]
                                                 and v.d_high[i] <= v.tolerance[i]),
                               "d_low": float(v.d_low[i]), "d_high": float(v.d_high[i]),
                               "tolerance": float(v.tolerance[i]), "digits": v.digits,
                               "interval_kind": v.kind},
                "budget": [dataclasses.asdict(e) for e in g.budget.entries(i)],
            }
        return {
            "spec": s.path, "title": s.title, "coverage_probability": p,
            "inputs": [{"name": n, "distribution": s.distributions.get(n, ""),
                        "estimate": float(s.x[j]), "std": float(s.u[j]),
                        "dof": float(s.dof[j]) if s.dof is not None else math.inf}
                       for j, n in enumerate(s.names)],
            "correlation": None if s.corr is None else s.corr.tolist(),
            "sensitivities": self.jac,
            "monte_carlo": {"draws": mc.n_draws, "nonfinite": mc.n_nonfinite, "seed": self.seed,
                            "adaptive_digits": mc.digits, "converged": mc.converged},
            "validated": bool(v.validated), "outputs": outputs, "notes": self.notes}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    # ------------------------------------------------------------ text
    def text(self) -> str:
        s, g, mc, v = self.spec, self.gum, self.mc, self.validation
        d = self._results()
        pct = f"{100 * s.p:g} %"
        out = [f"{s.title}", "=" * len(s.title)]
        if s.description:
            out.append(s.description)
        out.append(f"spec: {s.path}")
        if s.model_ref:
            out.append(f"model: {s.model_ref} (Python function)")
        for name, e in s.expressions.items():
            out.append(f"  {name} = {e}")
        out.append("inputs: " + ", ".join(f"{n} ~ {s.distributions[n]}" for n in s.names))
        out.append(f"coverage probability p = {s.p:g}")
        out.append("")
        jac = {"complex": "complex-step", "central": "central-difference"}[self.jac]
        out.append(f"GUM uncertainty framework ({g.method}, {jac} sensitivities)")
        rows = [("output", "estimate", "u", "nu_eff", "k", "U", f"{pct} interval")]
        for name in self.outputs:
            r = d["outputs"][name]["gum"]
            dec = _decimals(r["std"])
            rows.append((name, _f(r["estimate"], dec), _f(r["std"], dec, sig=True),
                         "inf" if math.isinf(r["dof"]) else f"{r['dof']:.1f}",
                         f"{r['k']:.3f}", _f(r["U"], dec, sig=True),
                         _interval(r["interval"], dec)))
        out += _table(rows)
        out.append("")
        how = (f"adaptive to {mc.digits} significant digits: {mc.n_draws} draws"
               + ("" if mc.converged else " (NOT converged)")
               if mc.digits else f"{mc.n_draws} draws")
        out.append(f"Monte Carlo (JCGM 101), {how}, seed {self.seed}")
        rows = [("output", "mean", "u", f"symmetric {pct}", f"shortest {pct}")]
        for name in self.outputs:
            r = d["outputs"][name]["monte_carlo"]
            dec = _decimals(r["std"])
            rows.append((name, _f(r["mean"], dec), _f(r["std"], dec, sig=True),
                         _interval(r["symmetric_interval"], dec),
                         _interval(r["shortest_interval"], dec)))
        out += _table(rows)
        if self.standard_errors is not None:
            se = self.standard_errors
            out.append("  standard errors (20 batches): " + "; ".join(
                f"{name}: mean {se['mean'][i]:.1g}, u {se['std'][i]:.1g}, shortest "
                f"[{se['shortest_low'][i]:.1g}, {se['shortest_high'][i]:.1g}]"
                for i, name in enumerate(self.outputs)))
        if mc.n_nonfinite:
            out.append(f"  {mc.n_nonfinite} draws gave non-finite model values "
                       "(excluded from the statistics)")
        out.append("")
        out.append(f"Validation of the GUM framework (JCGM 101 clause 8): {v.kind} "
                   f"{pct} Monte Carlo interval, tolerance from u(y) to {v.digits} "
                   "significant digits")
        rows = [("output", "d_low", "d_high", "delta", "verdict")]
        for name in self.outputs:
            r = d["outputs"][name]["validation"]
            rows.append((name, f"{r['d_low']:.2g}", f"{r['d_high']:.2g}",
                         f"{r['tolerance']:.2g}", "validated" if r["validated"] else
                         "NOT validated"))
        out += _table(rows)
        out.append("  " + ("The GUM uncertainty framework is validated for this model."
                           if v.validated else
                           "The GUM uncertainty framework is not validated: use the Monte "
                           "Carlo results (or a larger delta, fewer digits)."))
        out.append("")
        out.append(f"Uncertainty budget (GUM, {g.method})")
        out += ["  " + line for line in g.budget.table().splitlines()]
        if self.notes:
            out.append("")
            out.append("Notes")
            out += [f"  - {n}" for n in self.notes]
        return "\n".join(out)

    # ------------------------------------------------------------ plot
    def plot(self, directory) -> list:
        """One PNG per output: the Monte Carlo histogram with the GUM density over it.

        Returns the paths written. Needs matplotlib (``pip install jacsolve[plot]``).
        """
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from scipy import stats

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        g, mc, p = self.gum, self.mc, self.spec.p
        y, u, dof = (np.atleast_1d(a).astype(float) for a in (g.value, g.std, g.dof))
        counts, edges = mc.histogram()
        low, high = (np.atleast_1d(e) for e in mc.interval(p, "shortest"))
        glow, ghigh = (np.atleast_1d(a) for a in g.interval(p))
        paths = []
        for i, name in enumerate(self.outputs):
            fig, ax = plt.subplots(figsize=(7, 4.5))
            e = edges[i]
            width = np.diff(e)
            density = counts[i] / (counts[i].sum() * width)
            ax.bar(e[:-1], density, width=width, align="edge", color="#9ecae1",
                   edgecolor="none", label=f"Monte Carlo ({mc.n_finite} draws)")
            t = np.linspace(min(e[0], y[i] - 4 * u[i]), max(e[-1], y[i] + 4 * u[i]), 600)
            if u[i] > 0:
                dist = (stats.norm(y[i], u[i]) if math.isinf(dof[i])
                        else stats.t(dof[i], loc=y[i], scale=u[i]))
                label = ("GUM: Gaussian" if math.isinf(dof[i])
                         else f"GUM: scaled t, nu_eff = {dof[i]:.1f}")
                ax.plot(t, dist.pdf(t), color="#d62728", lw=2, label=label)
            for a, b, style, lab in ((glow[i], ghigh[i], "--", "GUM interval"),
                                     (low[i], high[i], ":", "MC shortest interval")):
                ax.axvline(a, color="k", ls=style, lw=1, label=f"{lab} ({100 * p:g} %)")
                ax.axvline(b, color="k", ls=style, lw=1)
            ax.set_xlabel(name)
            ax.set_ylabel("probability density")
            ax.set_title(f"{self.spec.title}: {name}", fontsize=10)
            ax.legend(fontsize=8)
            fig.tight_layout()
            path = directory / f"histogram_{name}.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            paths.append(path)
        return paths


def evaluate_spec(spec: Spec, *, draws: Optional[int] = None, digits: Optional[int] = None,
                  seed: Optional[int] = None, progress=None, client=None,
                  mc_progress=False) -> SpecReport:
    """Run the GUM framework, Monte Carlo and the validation on a loaded spec.

    ``draws``, ``digits`` and ``seed`` override the spec's ``[monte_carlo]``
    settings (give draws or digits, not both). ``client`` and ``mc_progress``
    go to :func:`jacsolve.propagate_mc` (a Dask cluster, and its progress).
    """
    from .. import propagate, propagate_mc, validate

    say = progress or (lambda msg: None)
    notes = []
    if draws is not None and digits is not None:
        raise ValueError("give draws or digits, not both")
    if draws is None and digits is None:
        draws, digits = spec.draws, spec.digits
        if draws is None and digits is None:
            draws = DEFAULT_DRAWS
    vdigits = digits if digits is not None else spec.validation_digits
    seed = spec.seed if seed is None else seed
    if draws is not None:
        problem = draws_problem(draws, len(spec.names), len(spec.outputs or ()) or None)
        if problem:
            raise ValueError(f"draws: {problem}")

    jac = "complex" if spec.jac == "auto" else spec.jac
    say("GUM uncertainty framework")

    def gum(jac):
        return propagate(spec.fun, spec.x, u=spec.u, corr=spec.corr, dof=spec.dof,
                         method=spec.gum_method, jac=jac, names=spec.names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            g = gum(jac)
        except TypeError as exc:   # a Python model that is not complex-safe
            if spec.jac != "auto" or "complex-safe" not in str(exc):
                raise
            jac = "central"
            notes.append("the model is not complex-safe: sensitivities by central differences")
            g = gum(jac)
    m = np.atleast_1d(g.value).size
    outputs = spec.outputs or (("y",) if m == 1 else tuple(f"y{i + 1}" for i in range(m)))
    if len(outputs) != m:
        raise ValueError(f"model.outputs names {len(outputs)} outputs, but the model returns {m}")
    g = dataclasses.replace(g, output_names=outputs)
    say(f"Monte Carlo ({'adaptive, %d digits' % digits if digits else '%d draws' % draws})")
    with warnings.catch_warnings(record=True) as caught_mc:
        warnings.simplefilter("always")
        mc = propagate_mc(spec.fun, spec.inputs, n=draws if digits is None else None,
                          digits=digits, seed=seed, p=spec.p, kind="shortest",
                          client=client, progress=mc_progress)
    for w in list(caught) + list(caught_mc):
        if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)) and \
                w.category.__name__ != "PerformanceWarning":
            notes.append(str(w.message))
    v = validate(g, mc, p=spec.p, digits=vdigits, kind="shortest")
    return SpecReport(spec, g, mc, v, tuple(outputs), jac, seed,
                      batch_standard_errors(mc, spec.p), notes)


def batch_standard_errors(mc, p) -> Optional[dict]:
    """Standard errors of the Monte Carlo results from the spread of 20 batches.

    Regular statistics (mean, u, the symmetric interval's endpoints, the
    shortest interval's length) have errors that shrink like n**-1/2, so the
    spread of batch values (each from n/20 draws) over sqrt(20) estimates
    them. The *position* of the shortest interval is the minimiser of a flat
    function, the "shorth" of Kim & Pollard (Ann. Statist. 18, 1990), whose
    error shrinks like n**-1/3: its endpoints' standard errors are the batch
    spread over 20**(1/3) (over sqrt(20) they would be 1.7-1.8 times too
    small for JCGM 101 9.2.3, as tests/test_cli.py measures). Where the shortest interval
    sits against a bound of the distribution the endpoints converge faster,
    and these errors are upper estimates.
    """
    if mc.samples is None or mc.samples.shape[0] < 100 * BATCHES:
        return None
    from .montecarlo import coverage_intervals

    rows = []
    for part in np.array_split(mc.samples, BATCHES):
        both = coverage_intervals(part, p)
        sym, short = both["symmetric"], both["shortest"]
        rows.append(np.stack([part.mean(axis=0), part.std(axis=0, ddof=1),
                              sym[0], sym[1], short[0], short[1], short[1] - short[0]]))
    rate = np.array([0.5, 0.5, 0.5, 0.5, 1 / 3, 1 / 3, 0.5])   # error ~ n**-rate
    se = np.std(rows, axis=0, ddof=1) / BATCHES ** rate[:, None]
    keys = ("mean", "std", "symmetric_low", "symmetric_high", "shortest_low", "shortest_high",
            "shortest_length")
    return dict(zip(keys, se))


# ------------------------------------------------------------ formatting
def _decimals(u: float, sig: int = 3) -> Optional[int]:
    """Decimals that show u to ``sig`` significant digits (None: use %g)."""
    if not (u > 0 and math.isfinite(u)):
        return None
    dec = sig - 1 - math.floor(math.log10(u))
    return dec if 0 <= dec <= 12 else None


def _f(value: float, dec: Optional[int], sig: bool = False) -> str:
    if not math.isfinite(value) or dec is None or abs(value) >= 1e12:
        return f"{value:.6g}" if not sig else f"{value:.3g}"
    return f"{value:.{dec}f}"


def _interval(pair, dec) -> str:
    return f"[{_f(pair[0], dec)}, {_f(pair[1], dec)}]"


def _table(rows) -> list:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return ["  " + "  ".join(r[c].ljust(widths[c]) if c == 0 else r[c].rjust(widths[c])
                             for c in range(len(r))) for r in rows]


def _jsonable(obj):
    """Plain JSON types; inf and NaN become the strings "inf", "-inf", "nan"."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else str(f)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
