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
  :meth:`PreparedFunction.complex_verdict` (what ``jac="auto"`` asks, see
  :func:`auto_method`) also compares one complex-step Jacobian with central
  differences, once per function, which catches ``abs``, ``.real`` and
  branches that compile for complex input but give wrong partials;
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
from .options import INPLACE_ATTRIBUTE, cached_njit, generated, python_version

__all__ = ["PreparedFunction", "prepare", "known", "returning_form", "pack_args", "real_output",
           "complex_output", "auto_method", "probe_bounds", "AUTO_CHECK_MARGIN"]

EPS = np.finfo(np.float64).eps
# The complex-step check of jac="auto" compares complex step (exact to rounding on a
# complex-safe function) with central differences of step h_j = eps^(1/3) s_j,
# s_j = max(|x_j|, 1). Central's error in entry (i, j) is its truncation
# h_j^2 |d3 f_i| / 6 plus its rounding eps_f |f_i| / h_j (eps_f: the relative rounding
# error of one evaluation of f_i). If the derivatives of f_i scale as F_i / s_j^k with
# F_i = |f_i(x)| + sum_k |J_ik| s_k (f_i's size and its first-order variation over the
# scale of x: the assumption behind the step rule), both terms are
# eps^(2/3) F_i / s_j times (1/6 + eps_f / eps). The margin allows eps_f of hundreds
# of ulps (long expressions) and derivatives an order of magnitude beyond the
# scale assumption; it still flags any disagreement above ~4e-8 of F_i / s_j, while
# the partials that abs, .real or a branch get wrong are off by O(|J_ij|).
AUTO_CHECK_MARGIN = 1e3
# n * m up to which the check compares dense Jacobians (the drivers and their helpers run as
# Python: compiling them costs ~0.7 s with an empty cache); beyond, random directions
PURE_PYTHON_CHECK = 4096
CENTRAL_ERROR = EPS ** (2.0 / 3.0)


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


@cached_njit
def _real_scalar_cached(y):
    out = np.empty(1)  # np.full(1, y) costs ~0.1 s more to compile
    out[0] = y
    return out


@cached_njit
def _complex_scalar_cached(y):
    out = np.empty(1, dtype=np.complex128)
    out[0] = y
    return out


# The overloads' implementations for scalar values: compiled once per process, so
# they only call the cached functions above (about 0.1 s less per process).
def _real_scalar(y):
    return _real_scalar_cached(y)


def _complex_scalar(y):
    return _complex_scalar_cached(y)


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
                 "complex_reason", "complex_checks", "nfev", "specialised", "warned",
                 "probed", "_adapters", "_returning")

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
        self.complex_checks = 0  # how often the complex-step check of jac="auto" ran
        self.probed: set = set()  # argument shapes probe_bounds has checked
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

    def complex_verdict(self, x, args: tuple = (), names=("x", "args")) -> Optional[bool]:
        """Whether complex step is valid for fun: found once, then kept.

        The first call compiles fun for complex input (the complex adapter that
        complex step needs anyway; a function that does not compile is unsafe,
        with the reason) and compares the complex-step Jacobian at ``x`` with
        central differences (one central Jacobian, 2n evaluations), within
        central's own error (see ``AUTO_CHECK_MARGIN``). Both run as the Python
        versions of the drivers of :func:`jacsolve.jacobian`, calling fun
        itself (3n evaluations): nothing of jacsolve compiles for the check.
        Returns None, and keeps no verdict, when the check cannot run at ``x``
        (x or fun(x) not finite, fun raising, a Jacobian that is not finite):
        the caller's own checks then report that point. First fun is probed for
        reads past the end of its arrays (:func:`probe_bounds`, ``names``: the
        caller's names of x and args), which would make the check compare garbage.
        """
        if self.complex_safe is None:
            verdict = _complex_step_check(self, x, args, names)
            if verdict is True:
                self.complex_safe, self.complex_reason = True, ""
            elif verdict is not None:
                self.mark_complex_unsafe(verdict)
        return self.complex_safe

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


def _complex_step_check(rec: PreparedFunction, x, args: tuple, names):
    """True, None (cannot tell at x), or the reason why complex step is wrong for fun."""
    from ..derivatives import differences as D  # the Jacobian drivers (they import this module)
    from ..derivatives.kernels import COMPLEX_STEP
    from ..status import NONFINITE, NOT_COMPLEX_SAFE, OK
    from .calls import evaluate_once

    x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    if not (x.size and np.all(np.isfinite(x))):
        return None
    rec.complex_checks += 1
    try:
        f0 = evaluate_once(rec.fun, x, args)[0]
    except Exception:
        return None
    probe_bounds(rec.fun, f0, x, args, names)
    if not np.all(np.isfinite(f0)):
        return None
    # The two Jacobians run as the Python versions of the drivers of
    # jacsolve.jacobian, calling fun itself (3n evaluations, once per function):
    # nothing of jacsolve compiles for the check, where compiled drivers cost seconds
    # with an empty cache. For a compiled fun, the complex adapter that complex step
    # needs anyway is compiled first: a fun that does not compile for complex input
    # is marked unsafe there, with the reason.
    layout = pack_args(args)[0] if rec.jitted else None
    if layout is not None:
        try:
            rec.complex(layout)
        except TypeError:
            return rec.complex_reason
    fun = rec.returning
    n = x.size
    if n * f0.size > PURE_PYTHON_CHECK:  # large (often sparse) problems: no dense Jacobian
        return _directional_check(fun, x, args, f0, rec.jitted)
    ones, inf = np.ones(n), np.full(n, np.inf)
    try:
        Jdt, status, _ = python_version(D._drive_central, pure=True)(
            fun, x, args, f0, D.DEFAULT_REL_STEP["central"], ones, -inf, inf)
    except Exception:
        return None
    if status != OK or Jdt.shape != (n, f0.size) or not np.all(np.isfinite(Jdt)):
        return None
    out, reason = _run_complex(lambda: python_version(D._drive_complex, pure=True)(
        fun, x, args, np.empty(0), COMPLEX_STEP, ones, -inf, inf), rec.jitted)
    if reason is not None:
        return reason
    Jct, status, _ = out
    if status == NOT_COMPLEX_SAFE:
        return "it returned real values for complex input"
    if status not in (OK, NONFINITE) or Jct.shape != Jdt.shape:
        return None  # (NaN where central differences are finite: a disagreement, below)
    Jd, Jc = Jdt.T, Jct.T
    s = np.maximum(np.abs(x), 1.0)
    F = np.abs(f0) + np.abs(Jd) @ s
    tol = AUTO_CHECK_MARGIN * CENTRAL_ERROR * F[:, None] / s[None, :]
    diff = np.abs(Jc - Jd)
    bad = ~(diff <= tol)  # NaN from complex step counts as a disagreement
    if not bad.any():
        return True
    i, j = np.unravel_index(int(np.argmax(np.where(bad, diff / np.maximum(tol, 1e-300), 0))),
                            bad.shape)
    return (f"complex step gives d f[{i}]/d x[{j}] = {Jc[i, j]:.6g} where central differences "
            f"give {Jd[i, j]:.6g} at the first point: abs, min/max, .real or a branch on x")


CHECK_DIRECTIONS = 2  # random directions of the check for large problems


def _directional_check(fun, x, args: tuple, f0, jitted: bool):
    """The check of :func:`_complex_step_check` along random directions, for problems
    whose dense Jacobians would be large: J v by complex step against central
    differences along v (the J v kernels of :mod:`jacsolve.derivatives.kernels`, run
    as Python), v_k = +-max(|x_k|, 1) with fixed random signs, 3 evaluations per
    direction. A partial that complex step gets wrong changes (J v)_i by that
    partial times s_k, so it shows unless the other terms of row i dwarf it, the same
    limit as the dense check's F_i."""
    from ..derivatives import differences as D
    from ..derivatives import kernels as K
    from ..status import NONFINITE, NOT_COMPLEX_SAFE, OK

    central = python_version(K.jvp_central, pure=True)
    complex_step = python_version(K.jvp_complex, pure=True)
    rng = np.random.default_rng(20261203)
    s = np.maximum(np.abs(x), 1.0)
    h = D.DEFAULT_REL_STEP["central"]  # along v, which already carries the scale of x
    for d in range(CHECK_DIRECTIONS):
        v = s * rng.choice((-1.0, 1.0), size=x.size)
        try:
            Jd, status, _ = central(fun, x, args, v, h)
        except Exception:
            return None
        if status != OK or Jd.shape != f0.shape:
            return None
        out, reason = _run_complex(lambda: complex_step(fun, x, args, v, K.COMPLEX_STEP), jitted)
        if reason is not None:
            return reason
        Jc, status, _ = out
        if status == NOT_COMPLEX_SAFE:
            return "it returned real values for complex input"
        if status not in (OK, NONFINITE):
            return None
        tol = AUTO_CHECK_MARGIN * CENTRAL_ERROR * (np.abs(f0) + np.abs(Jd))
        bad = ~(np.abs(Jc - Jd) <= tol)  # NaN from complex step counts as a disagreement
        if bad.any():
            i = int(np.argmax(np.where(bad, np.abs(Jc - Jd) / np.maximum(tol, 1e-300), 0)))
            return (f"along a random direction v, complex step gives (J v)[{i}] = {Jc[i]:.6g} "
                    f"where central differences give {Jd[i]:.6g} at the first point: abs, "
                    "min/max, .real or a branch on x")
    return True


def _run_complex(run, jitted: bool):
    """(run(), None), or (None, why fun cannot take complex input) when run() failed so."""
    try:
        with warnings.catch_warnings():  # a plain Python fun casting complex to real
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            return run(), None
    except np.exceptions.ComplexWarning:
        return None, "it discards the imaginary part of complex values (a cast to float)"
    except (TypeError, TypingError) as exc:
        return None, (complex_failure_reason(str(exc)) if jitted else
                      f"it raised TypeError for complex x: {str(exc)[:200]}")
    except Exception as exc:
        return None, f"it raised {type(exc).__name__} for complex x: {str(exc)[:200]}"


# ------------------------------------------------------------ bounds probe
CANARY = 8  # NaN entries placed after each array by probe_bounds


def _canaried(a):
    """A copy of the float array ``a`` (same shape, dtype and layout) followed in
    memory by CANARY NaNs: compiled code reading past its end reads NaN."""
    buf = np.full(a.size + CANARY, np.nan, dtype=a.dtype)
    buf[:a.size] = a.ravel()
    return buf[:a.size].reshape(a.shape)


def probe_bounds(fun, f0, x, args: tuple = (), names=("x", "args"), fun_name: str = "fun"):
    """Raise IndexError when compiled ``fun`` reads past the end of ``x`` or of an array in ``args``.

    numba does not check bounds: a model of 3 inputs given 2 reads whatever
    follows x in memory and returns garbage. This evaluates fun once more with
    every float array followed in memory by NaNs; an output that turns NaN
    where ``f0`` (fun's value at the same point) is finite means fun read past
    an end, and the arrays are then tried one at a time to name it (``names``:
    the caller's names of x and of its args, one for all or one per arg). It
    costs one evaluation per new combination of argument shapes and compiles
    nothing (a ``boundscheck=True`` compile of fun cost ~0.35 s, over the
    latency budget). It catches reads whose values reach the output; one that
    only decides a branch can slip through. Plain Python functions raise
    IndexError themselves and are not probed.
    """
    rec = prepare(fun)
    if not rec.jitted:
        return
    arrays = [j for j, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    key = (x.size,) + tuple(args[j].shape for j in arrays)
    if key in rec.probed:
        return
    f0 = np.asarray(f0, dtype=np.float64).reshape(-1)

    def reads_past(which) -> bool:
        xp = _canaried(x) if -1 in which else x
        ap = tuple(_canaried(a) if j in which else a for j, a in enumerate(args))
        try:
            y = np.asarray(rec.returning(xp, *ap), dtype=np.float64).reshape(-1)
        except Exception:  # fun's own errors are reported by the caller's checks
            return False
        return y.size == f0.size and bool(np.any(np.isnan(y) & np.isfinite(f0)))

    if reads_past([-1] + arrays):
        for j in [-1] + arrays:
            if reads_past([j]):
                if j < 0:
                    name = names[0]
                else:
                    name = names[1] if len(names) == 2 else names[1 + j]
                    name = f"{name}[{j}]" if len(names) == 2 and len(args) > 1 else name
                size = x.size if j < 0 else args[j].size
                raise IndexError(
                    f"{fun_name} reads past the end of {name} ({size} entries): numba does "
                    "not check bounds, so the result would be garbage; give "
                    f"{name} every entry {fun_name} reads")
    if len(rec.probed) < 64:
        rec.probed.add(key)


def auto_method(fun, x, args: tuple = (), fallback: str = "central",
                names=("x", "args")) -> str:
    """The Jacobian method of ``jac="auto"`` for ``fun`` at its first point ``x``.

    ``"complex"`` when fun compiles for complex input and the one-time check of
    :meth:`PreparedFunction.complex_verdict` finds complex step right, else
    ``fallback`` (``"central"`` for solvers, ``"richardson"`` where accuracy
    matters more than evaluations). After the first call this is one dict
    lookup and one attribute read.
    """
    return "complex" if prepare(fun).complex_verdict(x, args, names) else fallback


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
