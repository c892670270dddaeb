"""Integration by substitution, against Monte Carlo.

Modules: :mod:`~jacsolve.integration.regions` (regions as images of the unit
cube), :mod:`~jacsolve.integration.quadrature` (compiled point maps,
determinants and rules), :mod:`~jacsolve.integration.cubature` (``integrate``,
``integrate_mc``, ``compare_integration``).
"""
from . import regions
from .cubature import (IntegrationComparison, IntegrationResult, IntegrationWarning,
                       compare_integration, integrate, integrate_mc)

__all__ = ["integrate", "integrate_mc", "compare_integration", "IntegrationResult",
           "IntegrationComparison", "IntegrationWarning", "regions"]
