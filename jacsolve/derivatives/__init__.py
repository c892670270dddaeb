"""Derivatives: compiled finite-difference and complex-step kernels, column
grouping for sparse Jacobians, and the public ``jacobian``, ``jvp``, ``vjp``,
``hessian`` and ``check_complex_step``.

Modules: :mod:`~jacsolve.derivatives.kernels` (compiled kernels, callable from
your own numba code), :mod:`~jacsolve.derivatives.coloring` (Curtis-Powell-Reid
grouping), :mod:`~jacsolve.derivatives.differences` (the public functions).
"""
from .coloring import ColumnGroups, group_columns
from .differences import (ComplexStepCheck, DerivativeAccuracyWarning, JacobianInfo,
                          check_complex_step, hessian, jacobian, jvp, vjp)

__all__ = ["jacobian", "jvp", "vjp", "hessian", "check_complex_step", "JacobianInfo",
           "ComplexStepCheck", "DerivativeAccuracyWarning", "group_columns", "ColumnGroups"]
