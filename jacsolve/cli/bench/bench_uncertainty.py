"""Linear propagation of uncertainty: jacsolve.propagate against the `uncertainties` package.

Both compute the same first-order u(y) exactly (complex step vs. automatic
differentiation), so the rows compare time per propagation, from input
estimates and uncertainties to u(y) (and the output covariance for vector
models): for `uncertainties` this includes creating the variables, as a user
must for every new set of inputs. The two are timed in alternating rounds
(median after warm-up in each) and the speed-up is the median of the rounds'
ratios, so that load from other processes affects both alike. jacsolve's
compile time is reported apart.
"""
from __future__ import annotations

import numpy as np

from ...problems import propagation_models as P
from .timing import Report, Table, first_call, median_time


def _uncertainties():
    try:
        import uncertainties
        from uncertainties import umath
        return uncertainties, umath
    except ImportError:
        return None, None


def run(quick: bool = False, progress=None) -> Report:
    from ... import propagate

    say = progress or (lambda msg: None)
    repeat = 3 if quick else 7
    rounds = 3 if quick else 7
    unc, umath = _uncertainties()
    x, u = P.TEN_X, P.TEN_U
    R = P.ten_corr(0.3)
    V = R * np.outer(u, u)
    report = Report("uncertainty propagation (law of propagation, GUM)")
    # one kernel per model serves both methods: the second-order call compiles
    # it for the 3-output model, and the linear call then reuses it
    report.compile_times["first propagate, scalar model (linear)"] = first_call(
        lambda: propagate(P.ten_inputs, x, u=u))
    report.compile_times["first propagate, 3-output model (second order)"] = first_call(
        lambda: propagate(P.ten_inputs_three_outputs, x, V, method="second-order"))
    report.compile_times["then linear, 3-output model"] = first_call(
        lambda: propagate(P.ten_inputs_three_outputs, x, V))

    table = Table("10-input model: time per linear propagation",
                  ["case", "jacsolve (us)", "uncertainties (us)", "speed-up",
                   "max rel. diff of u(y)"],
                  note=("uncertainties: variables created from (x, u) or (x, V) with "
                        "ufloat / correlated_values, the model evaluated, u(y) (and the output "
                        "covariance) read. Times: medians over alternating rounds; speed-up: "
                        "the median of the rounds' ratios. Goal: >= 20x."))

    cases = [
        ("scalar, independent inputs", P.ten_inputs, dict(u=u), False, False),
        ("scalar, correlated inputs (rho = 0.3)", P.ten_inputs, dict(cov=V), True, False),
        ("3 outputs + covariance, correlated", P.ten_inputs_three_outputs, dict(cov=V), True, True),
    ]
    for name, fun, kw, correlated, vector in cases:
        say(name)
        res = propagate(fun, x, **kw)
        if unc is None:
            ours = median_time(lambda: propagate(fun, x, **kw), repeat=repeat)
            table.add(case=name, **{"jacsolve (us)": ours * 1e6, "uncertainties (us)":
                                    "not installed (pip install jacsolve[compare])"})
            continue
        model = (P.ten_inputs_three_outputs_uncertainties if vector
                 else P.ten_inputs_uncertainties)

        def theirs():
            if correlated:
                v = unc.correlated_values(x, V)
            else:
                v = [unc.ufloat(a, b) for a, b in zip(x, u)]
            y = model(v, umath)
            if vector:
                return np.array(unc.covariance_matrix(y))
            return y.std_dev

        ours, t = [], []
        for _ in range(rounds):
            ours.append(median_time(lambda: propagate(fun, x, **kw), repeat=repeat))
            t.append(median_time(theirs, repeat=repeat))
        ours, t = np.array(ours), np.array(t)
        ref = theirs()
        ref_std = np.sqrt(np.diag(ref)) if vector else np.array([ref])
        diff = float(np.max(np.abs(np.atleast_1d(res.std) - ref_std) / ref_std))
        table.add(case=name, **{"jacsolve (us)": float(np.median(ours)) * 1e6,
                                "uncertainties (us)": float(np.median(t)) * 1e6,
                                "speed-up": float(np.median(t / ours)),
                                "max rel. diff of u(y)": diff})
    report.tables.append(table)

    extra = Table("jacsolve only (no counterpart in uncertainties)",
                  ["case", "jacsolve (us)", "evaluations"])
    say("second order")
    t = median_time(lambda: propagate(P.ten_inputs, x, u=u, method="second-order"),
                    repeat=repeat)
    extra.add(case="scalar, second order (Hessian + third-derivative terms)",
              **{"jacsolve (us)": t * 1e6,
                 "evaluations": propagate(P.ten_inputs, x, u=u, method="second-order").nfev})
    t = median_time(lambda: propagate(P.ten_inputs, x, cov=V, dof=8), repeat=repeat)
    extra.add(case="scalar, correlated, with dof (Welch-Satterthwaite)",
              **{"jacsolve (us)": t * 1e6, "evaluations": 11})
    report.tables.append(extra)
    return report
