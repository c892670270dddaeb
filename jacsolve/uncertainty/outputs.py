"""The shape rule shared by every uncertainty result.

A *scalar model* (``fun`` returns a scalar; for implicit models, ``y0`` is a
scalar) gives Python floats: ``value``, ``std``, ``cov`` (the variance
u(y)^2), ``dof`` and both ends of ``interval(p)``. A *vector model* (``fun``
returns a 1-D array of m outputs, even m = 1) gives arrays: ``value``,
``std`` and the interval ends of shape (m,), ``cov`` of shape (m, m).
:class:`~jacsolve.Propagation`, :class:`~jacsolve.MonteCarloResult` and
:class:`~jacsolve.ImplicitPropagation` all follow it. Tables over inputs or
draws keep their dimensions whatever the model: ``jac`` is (n,) or (m, n),
``samples`` (draws, m) and the budget is per output.
"""
from __future__ import annotations

import numpy as np

__all__ = ["shaped", "shaped_cov", "fmt"]


def shaped(a, scalar: bool):
    """An output-wise array (m,) as the shape rule wants it: a float for scalar models."""
    return float(np.asarray(a).reshape(-1)[0]) if scalar else a


def shaped_cov(C, scalar: bool):
    """An (m, m) output covariance as the shape rule wants it: the variance for scalar models."""
    return float(np.asarray(C).reshape(-1)[0]) if scalar else C


def fmt(a) -> str:
    """A short text of a float or an array (the first six entries) for a result's repr."""
    if np.ndim(a) == 0:
        return f"{float(a):.6g}"
    a = np.asarray(a)
    s = np.array2string(a[:6], precision=6, separator=", ")
    return s if a.size <= 6 else s[:-1] + ", ...]"
