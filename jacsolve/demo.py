"""``jacsolve demo``: each solver next to SciPy's answer and the ratio of times.

Exits non-zero when any result disagrees with SciPy beyond its tolerance, so
the demo doubles as a smoke test.
"""
from __future__ import annotations

import numpy as np

from .bench.timing import median_time


def _jacobian_section():
    from scipy.optimize._numdiff import approx_derivative

    from . import jacobian
    from .problems.derivatives import PROBLEMS

    print("Jacobians: jacsolve.jacobian against scipy.optimize.approx_derivative")
    print(f"  {'problem':<22}{'method':<10}{'max rel diff':>14}{'speed-up':>10}")
    ok = True
    scipy_name = {"forward": "2-point", "central": "3-point", "complex": "cs"}
    tol = {"forward": 1e-5, "central": 1e-7, "complex": 1e-12}
    for name in ("chemistry", "trig_tall"):
        prob = PROBLEMS[name]
        x = prob.x0
        for method in ("forward", "central", "complex"):
            J = jacobian(prob.fun, x, args=prob.args, method=method)
            Js = approx_derivative(lambda v: prob.fun(v, *prob.args), x,
                                   method=scipy_name[method])
            Ja = prob.jac(x, *prob.args)
            diff = np.abs(J - Js).max() / max(np.abs(Ja).max(), 1e-300)
            t_ours = median_time(lambda: jacobian(prob.fun, x, args=prob.args, method=method),
                                 repeat=5)
            t_scipy = median_time(lambda: approx_derivative(
                lambda v: prob.fun(v, *prob.args), x, method=scipy_name[method]), repeat=5)
            agree = diff <= tol[method]
            ok &= agree
            print(f"  {name:<22}{method:<10}{diff:>14.1e}{t_scipy / t_ours:>9.0f}x"
                  + ("" if agree else "   DISAGREES"))
    return ok


SECTIONS = [_jacobian_section]


def run_demo() -> int:
    ok = True
    for section in SECTIONS:
        ok &= bool(section())
        print()
    print("demo: all results agree with SciPy" if ok else "demo: SOME RESULTS DISAGREE")
    return 0 if ok else 1
