"""One prepared object per user function: what every solver receives.

:func:`prepare` returns the :class:`PreparedFunction` of a user function,
made once per function and kept for the process. It holds

* the compiled *adapters* of the function, for float64 and for complex128
  input: tiny functions of a fixed signature (see
  :mod:`jacsolve._numba.addresses`) that call the user's function with its
  ``args`` unpacked from one float64 vector and return a C-contiguous 1-D
  array. They are compiled on first use, one per dtype and ``args`` layout,
  and reached from cached kernels through their integer addresses;
* whether complex step is usable for the function: ``complex_safe`` is
  ``None`` until something finds out, then ``True`` or ``False`` with the
  reason in ``complex_reason``. A function that does not compile for
  complex input is marked unsafe when its complex adapter is asked for;
* its evaluation counter ``nfev`` (all calls through jacsolve's kernels);
* facts learnt once (``returns_scalar``) and the specialised kernels of the
  slower tiers (``specialised``), for code that still binds the function
  into a compiled closure.
"""
from __future__ import annotations

import hashlib
import inspect
import math
import os
import re
import warnings
from typing import Optional

import numba
import numpy as np
from numba import types
from numba.core.errors import NumbaExperimentalFeatureWarning, TypingError
from numba.extending import is_jitted, overload

from ..status import not_complex_safe
from .addresses import COMPLEX_SIGNATURE, EMPTY, REAL_SIGNATURE, addresses_of
from .options import INPLACE_ATTRIBUTE, generated

__all__ = ["PreparedFunction", "prepare", "known", "returning_form", "pack_args", "real_output",
           "complex_output"]


# ------------------------------------------------------------ adapter outputs
def real_output(y):
    """fun's value as a float64 C-contiguous 1-D array (compiled: see the overload)."""
    return np.ascontiguousarray(np.asarray(y, dtype=np.float64).reshape(-1))


def complex_output(y):
    return np.ascontiguousarray(np.asarray(y, dtype=np.complex128).reshape(-1))


def _check_output(y, what):
    if isinstance(y, types.Array):
        if y.ndim != 1:
            raise TypingError(f"fun must return a 1-D array or a scalar, got a {y.ndim}-D array")
        dtype = y.dtype
    elif isinstance(y, (types.Number, types.Boolean)):
        dtype = y
    else:
        raise TypingError(f"fun must return a 1-D array or a scalar, got {y}")
    if isinstance(dtype, (types.Integer, types.Boolean)):
        raise TypingError(f"fun must return floating-point values, got {dtype}: write float "
                          "constants (1.0, not 1) or allocate outputs with dtype=x.dtype")
    if what == "complex" and not isinstance(dtype, types.Complex):
        raise TypingError("fun returned real values for complex input (NOT_COMPLEX_SAFE)")
    return isinstance(y, types.Array)


@overload(real_output)
def _real_output(y):
    if _check_output(y, "real"):
        if isinstance(y.dtype, types.Complex):
            raise TypingError("fun returned complex values for real input")
        if y.layout == "C" and y.dtype == types.float64:
            return lambda y: y
        return lambda y: np.ascontiguousarray(y).astype(np.float64)
    return _real_scalar


def _real_scalar(y):
    out = np.empty(1)  # np.full(1, y) costs ~0.1 s more to compile
    out[0] = y
    return out


def _complex_scalar(y):
    out = np.empty(1, dtype=np.complex128)
    out[0] = y
    return out


@overload(complex_output)
def _complex_output(y):
    if _check_output(y, "complex"):
        if y.layout == "C" and y.dtype == types.complex128:
            return lambda y: y
        return lambda y: np.ascontiguousarray(y).astype(np.complex128)
    return _complex_scalar


# --------------------------------------------------------------- args layout
def pack_args(args: tuple):
    """``args`` as (layout, p): p one float64 vector the adapter unpacks.

    Supported: no args; float scalars; float arrays (any shape). A single
    1-D float64 array is passed through without a copy. Returns
    ``(None, None)`` for anything else (integers, tuples, objects): such calls
    take the specialised path.
    """
    if not args:
        return (), EMPTY
    if len(args) == 1:
        a = args[0]
        if (type(a) is np.ndarray and a.ndim == 1 and a.dtype == np.float64
                and a.flags.c_contiguous and a.flags.writeable):
            return ("vector",), a
    layout = []
    parts = []
    for a in args:
        if isinstance(a, (float, np.floating)) and not isinstance(a, np.longdouble):
            layout.append(("scalar",))
            parts.append(np.array([float(a)]))
        elif isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.dtype.itemsize <= 8 \
                and a.ndim >= 1:
            layout.append(("array", a.shape))
            parts.append(a.astype(np.float64).ravel())
        else:
            return None, None
    if len(args) == 1 and layout[0][0] == "array" and len(layout[0][1]) == 1:
        return ("vector",), np.ascontiguousarray(parts[0])  # a copy: read-only or strided input
    return tuple(layout), (np.concatenate(parts) if parts else EMPTY)


def unpacked_args_source(layout) -> str:
    """Source of the argument list that rebuilds args from p."""
    if layout == ("vector",):
        return ", p"
    items = []
    start = 0
    for entry in layout:
        if entry[0] == "scalar":
            items.append(f"p[{start}]")
            start += 1
        else:
            shape = entry[1]
            size = int(np.prod(shape))
            piece = f"p[{start}:{start + size}]"
            items.append(piece if len(shape) == 1 else f"{piece}.reshape({tuple(shape)})")
            start += size
    return "".join(", " + item for item in items)


_MATH = {name for name in dir(math) if not name.startswith("_")}
_NO_COMPLEX = re.compile(r"No implementation of function .*?'?(\w+)'?>?\) found for "
                         r"signature:\s*>*\s*(\w+)\(([^)]*complex[^)]*)\)", re.S)


def complex_failure_reason(text: str) -> str:
    """A short reason why fun does not compile for complex input."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    m = _NO_COMPLEX.search(text)
    if m:
        return f"{m.group(2)} has no complex version in numba"
    if "NOT_COMPLEX_SAFE" in text:
        return "it returned real values for complex input"
    fn = re.search(r"Function\(<built-in function (\w+)>\)", text)
    if fn and fn.group(1) in ("setitem", "setslice"):
        return ("it stores complex values into a real array (allocate outputs with "
                "dtype=x.dtype)")
    if fn and fn.group(1) in _MATH:
        return f"math.{fn.group(1)} has no complex version (use numpy's {fn.group(1)})"
    if fn and fn.group(1) in ("lt", "gt", "le", "ge"):
        return "it compares complex values (a comparison or branch on x)"
    if "Cannot unify" in text and "complex" in text:
        return "it mixes real and complex values (allocate outputs with dtype=x.dtype)"
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return f"it does not compile for complex input ({first[:200]})"


# --------------------------------------------------------- prepared function
class PreparedFunction:
    """A user function with its compiled adapters and what is known about it."""

    __slots__ = ("fun", "name", "jitted", "inplace", "returns_scalar", "complex_safe",
                 "complex_reason", "nfev", "specialised", "warned", "_adapters", "_returning")

    def __init__(self, fun):
        self.fun = fun
        self.name = getattr(fun, "__name__", type(fun).__name__)
        self.jitted = is_jitted(fun)
        # the in-place form fun(x, *args, out): its output length (-1: len(x)), or None
        self.inplace = getattr(fun, INPLACE_ATTRIBUTE, None)
        self._returning = None
        self.returns_scalar: dict = {}
        self.complex_safe: Optional[bool] = None
        self.complex_reason = ""
        self.nfev = 0
        self.specialised: dict = {}
        self.warned = False
        self._adapters: dict = {}

    def __repr__(self) -> str:
        verdict = {None: "unknown", True: "yes", False: f"no ({self.complex_reason})"}
        return (f"PreparedFunction({self.name}, compiled={self.jitted}, "
                f"complex_safe={verdict[self.complex_safe]}, nfev={self.nfev})")

    @property
    def returning(self):
        """fun in the returning form ``y = f(x, *args)`` (fun itself unless declared in-place)."""
        return self.returning_form(scalar=False)

    def returning_form(self, scalar: bool = False):
        """The returning form; ``scalar``: of a one-output in-place fun, as a scalar function."""
        if self.inplace is None:
            return self.fun
        if self._returning is None:
            self._returning = {}
        found = self._returning.get(scalar)
        if found is None:
            size = "x.size" if self.inplace < 0 else str(self.inplace)
            namespace = {"_fun": self.fun, "np": np}
            exec(f"def {self.name}(x, *args):\n    out = np.empty({size}, dtype=x.dtype)\n"
                 f"    _fun(x, *args, out)\n    return {'out[0]' if scalar else 'out'}\n",
                 namespace)
            found = namespace[self.name]
            if self.jitted:
                found = numba.njit(error_model="numpy")(found)
            self._returning[scalar] = found
        return found

    def real(self, layout) -> tuple:
        """(c_addr, jit_addr) of the float64 adapter for this args layout."""
        key = ("real", layout)
        found = self._adapters.get(key)
        if found is None:
            found = self._adapters[key] = self._build(layout, False)
        return found

    def complex(self, layout, *, jac: str = "jac") -> tuple:
        """(c_addr, jit_addr) of the complex128 adapter; TypeError when fun is not complex-safe."""
        key = ("complex", layout)
        found = self._adapters.get(key)
        if found is None:
            if self.complex_safe is False:
                raise not_complex_safe("fun", jac, self.complex_reason)
            try:
                found = self._build(layout, True)
            except TypeError as exc:
                self.mark_complex_unsafe(complex_failure_reason(str(exc)))
                raise not_complex_safe("fun", jac, self.complex_reason) from None
            self._adapters[key] = found
        return found

    def mark_complex_unsafe(self, reason: str) -> None:
        self.complex_safe = False
        self.complex_reason = reason

    def compile_generated(self, src: str, namespace: dict, name: str, tag, **options):
        """njit of the function ``name`` defined by ``src`` (which calls fun as ``_fun``).

        When fun itself is cached on disk (``cache=True``), the generated function
        is cached too, keyed on fun's own source file (numba rebuilds it when that
        file changes): a re-run of the user's script then compiles nothing.
        """
        source_file = _cached_source_file(self.fun)
        if source_file is None:
            exec(compile(src, f"<jacsolve {name} of {self.name}>", "exec"), namespace)
            return numba.njit(error_model="numpy", **options)(namespace[name])
        digest = hashlib.sha1(repr((name, tag, self.inplace)).encode()).hexdigest()[:12]
        return generated(src, name, namespace, self.fun.py_func.__module__, source_file,
                         f"{self.fun.py_func.__qualname__}__jacsolve_{digest}", **options)

    def _build(self, layout, complex_input: bool) -> tuple:
        sig = COMPLEX_SIGNATURE if complex_input else REAL_SIGNATURE
        convert = "complex_output" if complex_input else "real_output"
        namespace = {"_fun": self.fun, "_out": complex_output if complex_input else real_output}
        if self.inplace is None:
            src = f"def adapter(x, p):\n    return _out(_fun(x{unpacked_args_source(layout)}))\n"
        else:  # the in-place form: allocate out here, once per evaluation
            size = "x.size" if self.inplace < 0 else str(self.inplace)
            src = (f"def adapter(x, p):\n    out = np.empty({size}, dtype=x.dtype)\n"
                   f"    _fun(x{unpacked_args_source(layout)}, out)\n    return out\n")
            namespace["np"] = np
        dispatcher = self.compile_generated(src, namespace, "adapter", (convert, layout),
                                            no_cpython_wrapper=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
                c_addr, jit_addr = addresses_of(dispatcher, sig)
        except Exception as exc:  # numba's typing errors: the reason, not the traceback
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
            own = re.search(r"fun (must return|returned) [^\n]*", text)
            if own and "NOT_COMPLEX_SAFE" not in own.group(0):
                raise TypeError(f"{self.name}: {own.group(0).strip()}") from None
            raise TypeError(text) from None
        return c_addr, jit_addr, dispatcher


def _cached_source_file(fun):
    """The source file of a compiled fun declared with ``cache=True``, or None."""
    cache = getattr(fun, "_cache", None)
    if cache is None or type(cache).__name__ == "NullCache":
        return None
    try:
        path = inspect.getsourcefile(fun.py_func)
    except (TypeError, OSError):
        return None
    return path if path and os.path.isfile(path) else None


# A plain dict (not weak): a lookup costs ~50 ns instead of ~300 ns, and user
# functions normally live as long as the process. Cleared when it grows large,
# so functions created in a loop cannot leak.
_PREPARED: dict = {}
_MAX_PREPARED = 512


def returning_form(fun, scalar: bool = False):
    """``fun`` itself, or the returning form of a function declared in-place (see
    :func:`jacsolve.inplace`), for code that calls it as ``y = fun(x, *args)``."""
    if getattr(fun, INPLACE_ATTRIBUTE, None) is None:
        return fun
    return prepare(fun).returning_form(scalar)


def known(fun):
    """The PreparedFunction of ``fun`` if it was prepared before, else None (one dict lookup)."""
    try:
        return _PREPARED.get(fun)
    except TypeError:  # unhashable callable
        return None


def prepare(fun) -> PreparedFunction:
    """The PreparedFunction of ``fun`` (made on first use)."""
    try:
        found = _PREPARED.get(fun)
    except TypeError:  # unhashable callable
        return PreparedFunction(fun)
    if found is None:
        if len(_PREPARED) >= _MAX_PREPARED:
            _PREPARED.clear()
        found = _PREPARED[fun] = PreparedFunction(fun)
    return found
