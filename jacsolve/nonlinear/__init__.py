"""Nonlinear systems F(x) = 0.

Modules: :mod:`~jacsolve.nonlinear.root` (``solve``, the front for one system),
:mod:`~jacsolve.nonlinear.dense` (the compiled Newton, trust-region, Broyden and
Levenberg-Marquardt loops), :mod:`~jacsolve.nonlinear.sparse` (sparse linear algebra
for the same Newton loop), :mod:`~jacsolve.nonlinear.krylov` (Newton-GMRES),
:mod:`~jacsolve.nonlinear.batch` (``solve_batch``, many small systems in parallel).
"""
from .batch import BatchResult, solve_batch
from .root import ConvergenceError, RootResult, solve

__all__ = ["solve", "solve_batch", "RootResult", "BatchResult", "ConvergenceError"]
