"""jacsolve: numerical solvers built on compiled Jacobians.

Public functions are imported lazily, so ``import jacsolve`` stays fast and
numba loads only when a solver is first used.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # derivatives
    "jacobian": "derivatives", "jvp": "derivatives", "vjp": "derivatives",
    "hessian": "derivatives", "check_complex_step": "derivatives",
    "JacobianInfo": "derivatives",
    "jit": "_jit", "PerformanceWarning": "_jit",
    "FunctionError": "_validate",
    "group_columns": "coloring", "ColumnGroups": "coloring",
    # nonlinear systems
    "solve": "nonlinear", "solve_batch": "batch", "RootResult": "nonlinear",
    "ConvergenceError": "nonlinear",
    "BatchResult": "batch", "Status": "status",
    # uncertainty
    "propagate": "uncertainty", "propagate_mc": "montecarlo", "validate": "montecarlo",
    "propagate_implicit": "implicit", "propagate_implicit_mc": "implicit",
    "ImplicitPropagation": "implicit", "Budget": "uncertainty",
    "NonlinearityWarning": "uncertainty",
    "Propagation": "uncertainty", "MonteCarloResult": "montecarlo",
    "Validation": "montecarlo", "NonFiniteWarning": "montecarlo",
    # integration
    "integrate": "integration", "integrate_mc": "integration",
    "compare_integration": "integration", "IntegrationResult": "integration",
    "IntegrationComparison": "integration",
}
_SUBMODULES = {"kernels", "coloring", "regions", "distributions", "problems"}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'jacsolve' has no attribute {name!r}")


def __dir__():
    return __all__
