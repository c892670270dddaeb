"""Uncertainty evaluation: the GUM (JCGM 100) and its Monte Carlo supplement (JCGM 101).

Modules, one concept each:

* :mod:`~jacsolve.uncertainty.propagation`: ``propagate``, the law of
  propagation of uncertainty (its compiled kernels and :class:`Propagation`);
* :mod:`~jacsolve.uncertainty.inputs`: checks of the input uncertainty
  (u, cov, corr, dof);
* :mod:`~jacsolve.uncertainty.second_order`: the second-order terms;
* :mod:`~jacsolve.uncertainty.budget`: the uncertainty budget, effective
  degrees of freedom and coverage factors;
* :mod:`~jacsolve.uncertainty.outputs`: the shape rule of every result;
* :mod:`~jacsolve.uncertainty.distributions`: input distributions, and
  :mod:`~jacsolve.uncertainty.sampling`: their compiled samplers;
* :mod:`~jacsolve.uncertainty.montecarlo`: ``propagate_mc`` and ``validate``;
* :mod:`~jacsolve.uncertainty.implicit`: outputs defined by F(y, x) = 0;
* :mod:`~jacsolve.uncertainty.spec`, :mod:`~jacsolve.uncertainty.expressions`
  and :mod:`~jacsolve.uncertainty.report`: the TOML spec files of
  ``jacsolve propagate``.

The result contract: :class:`Propagation`, :class:`MonteCarloResult` and
:class:`ImplicitPropagation` all carry ``value``, ``std``, ``cov``,
``interval(p)``, and ``success``, ``status`` (a :class:`jacsolve.status.Status`),
``message``, ``nfev``. They are frozen dataclasses with slots (no ``__dict__``).

The shape rule: a scalar model (``fun`` returns a scalar; for implicit
models, ``y0`` is a scalar) gives Python floats for ``value``, ``std``,
``cov`` (the variance u(y)^2) and both ends of ``interval(p)``; a vector
model (``fun`` returns a 1-D array of m outputs, even m = 1) gives arrays of
shape (m,), and ``cov`` of shape (m, m).
"""
from . import distributions
from .budget import Budget, BudgetEntry, coverage_factor
from .implicit import ImplicitPropagation, propagate_implicit, propagate_implicit_mc
from .montecarlo import MonteCarloResult, NonFiniteWarning, Validation, propagate_mc, validate
from .propagation import NonlinearityWarning, Propagation, propagate

__all__ = ["propagate", "propagate_mc", "validate", "propagate_implicit",
           "propagate_implicit_mc", "Propagation", "MonteCarloResult", "ImplicitPropagation",
           "Validation", "Budget", "BudgetEntry", "coverage_factor", "NonlinearityWarning",
           "NonFiniteWarning", "distributions"]
