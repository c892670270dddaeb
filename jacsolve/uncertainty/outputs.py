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

__all__ = ["shaped", "shaped_cov", "fmt", "fast_constructor"]


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


def fast_constructor(cls):
    """A function ``make(*values)`` that builds a frozen slotted dataclass ``cls`` fast.

    A frozen dataclass's ``__init__`` sets every field through
    ``object.__setattr__`` (about 90 ns a field). ``make`` instead fills an
    instance of a plain twin class with the same slots, in the same order,
    by ordinary attribute stores, then turns it into a ``cls`` by assigning
    ``__class__`` (allowed between classes with the same base and the same
    slots): about a fifth of the cost. Every field is given, positionally, in the order of
    ``dataclasses.fields(cls)``; nothing else is written (no ``__dict__``).
    """
    import dataclasses

    names = [f.name for f in dataclasses.fields(cls)]
    slots = [n for klass in reversed(cls.__mro__) for n in klass.__dict__.get("__slots__", ())]
    if sorted(slots) != sorted(names) or "__dict__" in slots or "__weakref__" in slots:
        raise TypeError(f"{cls.__name__} is not a slotted dataclass of its fields only")
    params = ", ".join(names)
    src = (f"def make({params}):\n    o = _new(_Twin)\n"
           + "".join(f"    o.{n} = {n}\n" for n in names)
           + "    o.__class__ = _cls\n    return o\n")
    if len(cls.__bases__) != 1:
        raise TypeError(f"{cls.__name__} must have one base class")
    body = {"__slots__": tuple(cls.__dict__.get("__slots__", ()))}
    if cls.__bases__[0].__setattr__ is not object.__setattr__:   # a frozen base's own check
        body["__setattr__"] = object.__setattr__
    twin = type(f"_{cls.__name__}Twin", cls.__bases__, body)   # same base: same layout
    namespace = {"_new": object.__new__, "_Twin": twin, "_cls": cls}
    exec(src, namespace)
    make = namespace["make"]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    probe = make(*range(len(names)))             # fails here, at import, if layouts differ
    if [getattr(probe, n) for n in names] != list(range(len(names))):
        raise TypeError(f"fast_constructor({cls.__name__}) does not fill the fields")
    return make
