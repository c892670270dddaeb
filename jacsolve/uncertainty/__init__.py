"""Uncertainty evaluation: the GUM (JCGM 100) and its Monte Carlo supplement (JCGM 101).

Modules: :mod:`~jacsolve.uncertainty.propagation` (``propagate``, the law of
propagation of uncertainty), :mod:`~jacsolve.uncertainty.distributions` (input
distributions), :mod:`~jacsolve.uncertainty.montecarlo` (``propagate_mc``,
``validate``), :mod:`~jacsolve.uncertainty.implicit` (outputs defined by
F(y, x) = 0), :mod:`~jacsolve.uncertainty.spec`,
:mod:`~jacsolve.uncertainty.expressions` and :mod:`~jacsolve.uncertainty.report`
(the TOML spec files of ``jacsolve propagate``).
"""
from . import distributions
from .implicit import ImplicitPropagation, propagate_implicit, propagate_implicit_mc
from .montecarlo import MonteCarloResult, NonFiniteWarning, Validation, propagate_mc, validate
from .propagation import (Budget, BudgetEntry, NonlinearityWarning, Propagation, coverage_factor,
                          propagate)

__all__ = ["propagate", "propagate_mc", "validate", "propagate_implicit",
           "propagate_implicit_mc", "Propagation", "MonteCarloResult", "ImplicitPropagation",
           "Validation", "Budget", "BudgetEntry", "coverage_factor", "NonlinearityWarning",
           "NonFiniteWarning", "distributions"]
