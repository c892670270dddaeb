"""jacsolve: numerical solvers built on compiled Jacobians.

Layout (one subpackage per domain):

* :mod:`jacsolve.derivatives`: Jacobian kernels, column grouping, ``jacobian``;
* :mod:`jacsolve.nonlinear`: ``solve`` and ``solve_batch``;
* :mod:`jacsolve.uncertainty`: GUM propagation, Monte Carlo, spec files;
* :mod:`jacsolve.integration`: regions and ``integrate``;
* :mod:`jacsolve.cli`: ``jacsolve demo | bench | propagate``;
* :mod:`jacsolve.status`: every status code and the result contract.

Public functions are imported lazily, so ``import jacsolve`` stays fast and
numba loads only when a solver is first used.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

_PUBLIC = {  # module -> the names jacsolve re-exports from it
    "derivatives": ("jacobian", "jvp", "vjp", "hessian", "check_complex_step", "JacobianInfo",
                    "ComplexStepCheck", "group_columns", "ColumnGroups",
                    "DerivativeAccuracyWarning"),
    "nonlinear": ("solve", "solve_batch", "RootResult", "BatchResult", "ConvergenceError"),
    "uncertainty": ("propagate", "propagate_mc", "validate", "propagate_implicit",
                    "propagate_implicit_mc", "Propagation", "MonteCarloResult",
                    "ImplicitPropagation", "Validation", "Budget", "NonlinearityWarning",
                    "NonFiniteWarning"),
    "integration": ("integrate", "integrate_mc", "compare_integration", "IntegrationResult",
                    "IntegrationComparison", "IntegrationWarning"),
    "status": ("Status", "FunctionError"),
    "_numba.options": ("jit", "inplace", "PerformanceWarning"),
}
_EXPORTS = {name: module for module, names in _PUBLIC.items() for name in names}

# Short public paths for modules that live in a domain subpackage:
# ``jacsolve.kernels`` is ``jacsolve.derivatives.kernels`` and so on.
_ALIASES = {
    "kernels": "derivatives.kernels",
    "coloring": "derivatives.coloring",
    "regions": "integration.regions",
    "distributions": "uncertainty.distributions",
}
_SUBMODULES = {"derivatives", "nonlinear", "uncertainty", "integration", "problems", "status"}

__all__ = sorted(_EXPORTS) + sorted(_ALIASES) + sorted(_SUBMODULES)


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import jacsolve.kernels`` (and the other aliases) load the real module."""

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.rpartition(".")
        if prefix == __name__ and name in _ALIASES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        name = spec.name.rpartition(".")[2]
        module = importlib.import_module(f"{__name__}.{_ALIASES[name]}")
        spec.loader_state = module.__spec__  # the import system overwrites __spec__
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state  # already executed: keep its own spec


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.append(_AliasFinder())


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _ALIASES:
        return importlib.import_module(f".{name}", __name__)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'jacsolve' has no attribute {name!r}")


def __dir__():
    return __all__
