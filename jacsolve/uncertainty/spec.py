"""Uncertainty-evaluation spec files (TOML) for ``jacsolve propagate``.

A spec names the model, the inputs with their distributions, correlations
and the coverage probability::

    title = "JCGM 101 9.3: mass calibration"
    coverage = 0.95

    [model]
    dm = "(m_R_c + dm_R_c) * (1 + (rho_a - rho_a0) * (1/rho_W - 1/rho_R)) - 100000"

    [inputs.m_R_c]
    distribution = "normal"
    mean = 100000.000
    std = 0.050
    ...

Tables and keys
---------------
``title``, ``description``
    Free text for the report.
``coverage``
    Coverage probability p (default 0.95).
``[model]``
    Each string value is an output ``name = "expression"`` (see
    :mod:`jacsolve.uncertainty.expressions` for what an expression may contain).
    ``define = { name = "expression", ... }`` gives intermediate quantities,
    evaluated in order. Alternatively ``function = "module:function"`` names
    a Python function ``f(x)`` of the input vector (inputs in spec order),
    with optional ``outputs = ["name", ...]``; importing it runs that
    module's code, so :func:`load_spec` refuses it unless
    ``allow_import=True`` (``jacsolve propagate --allow-import``). The
    module is looked up next to the spec file first.
``[inputs.NAME]``
    ``distribution`` and its parameters (:data:`DISTRIBUTIONS`), plus an
    optional ``dof``: the degrees of freedom of the input's standard
    uncertainty for the GUM framework (default infinite). For ``student-t``
    ``dof`` is the distribution's own parameter and the GUM framework takes
    ``x = loc``, ``u = scale`` with those degrees of freedom (JCGM 101
    6.4.9.7); for the others ``x`` and ``u`` are the distribution's mean and
    standard deviation. ``constant`` inputs have ``value``.
``[correlations]``
    ``A.B = r`` for correlated inputs A and B (the Monte Carlo method draws
    correlated inputs as a multivariate normal, so they must be ``normal``).
``[gum]``
    ``method = "linear"`` (default) or ``"second-order"``; ``jac =
    "complex"`` or ``"central"`` (default: complex step when the model is
    complex-safe).
``[monte_carlo]``
    ``draws`` (default 10**6; refused when the run would need more memory
    than the machine has, see :func:`draws_problem`) or ``digits``
    (adaptive, JCGM 101 7.9),
    ``seed`` (default 1), ``validation_digits`` (significant digits of u(y)
    that set the tolerance of the clause 8 validation; default 2, or
    ``digits`` when given).

Every problem raises :class:`SpecError`, whose message names the file, the
line and the field, and says what was expected.
"""
from __future__ import annotations

import importlib
import math
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import distributions as D
from .expressions import CompiledModel, ExpressionError, compile_model, is_valid_name

__all__ = ["load_spec", "parse_spec", "Spec", "SpecError", "DISTRIBUTIONS", "draws_problem",
           "monte_carlo_bytes"]

# distribution -> (class, required parameters, optional parameters)
DISTRIBUTIONS = {
    "normal": (D.Normal, ("mean", "std"), ()),
    "rectangular": (D.Rectangular, ("a", "b"), ()),
    "triangular": (D.Triangular, ("a", "b"), ("mode",)),
    "trapezoidal": (D.Trapezoidal, ("a", "b", "beta"), ()),
    "curvilinear-trapezoidal": (D.CurvilinearTrapezoidal, ("a", "b", "d"), ()),
    "arcsine": (D.Arcsine, ("a", "b"), ()),
    "student-t": (D.StudentT, ("loc", "scale", "dof"), ()),
    "exponential": (D.Exponential, ("scale",), ("loc",)),
    "gamma": (D.Gamma, ("shape", "scale"), ("loc",)),
    "constant": (D.Constant, ("value",), ()),
}
ALIASES = {"gaussian": "normal", "uniform": "rectangular", "u-shaped": "arcsine",
           "t": "student-t", "students-t": "student-t"}
TOP_LEVEL = ("title", "description", "coverage", "model", "inputs", "correlations", "gum",
             "monte_carlo")
_MODULE_REF = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*\Z")


class SpecError(ValueError):
    """A problem in a spec file: names the file, line and field, and what was expected."""

    def __init__(self, message: str, field: Optional[str] = None, line: Optional[int] = None,
                 path: Optional[str] = None):
        self.reason, self.field, self.line, self.path = message, field, line, path
        where = ":".join(str(p) for p in (path, line) if p is not None)
        prefix = ": ".join(p for p in (where, field) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


@dataclass(frozen=True, eq=False)
class Spec:
    """A loaded spec: everything ``jacsolve propagate`` needs.

    Inputs are stored in *column order*: the spec's order, except that
    correlated inputs are moved next to each other (the Monte Carlo method
    draws them as one multivariate normal supplying consecutive columns).

    Attributes
    ----------
    title : str
    p : float
        Coverage probability.
    names : tuple of str
        Input names in column order.
    inputs : list
        Monte Carlo inputs for :func:`jacsolve.propagate_mc` (a
        multivariate normal per correlated group).
    x, u : ndarray
        Estimates and standard uncertainties for the GUM framework.
    dof : ndarray or None
        Degrees of freedom (None: all infinite).
    corr : ndarray or None
        Correlation matrix (None: independent inputs).
    fun : callable
        The model ``fun(x)`` over inputs in column order (a numba function
        for expression models).
    outputs : tuple of str or None
        Output names (None: not given for a Python function).
    expressions : dict
        Output and definition expressions (empty for a Python function).
    model_ref : str
        ``"module:function"`` for a Python model, else "".
    jac : str
        ``"complex"`` or ``"central"`` for the GUM sensitivities, or
        ``"auto"`` (complex step, central differences if the model is not
        complex-safe).
    gum_method : str
    draws, digits, seed, validation_digits : int or None
    """
    path: str
    title: str
    description: str
    p: float
    names: tuple
    inputs: list
    x: np.ndarray
    u: np.ndarray
    dof: Optional[np.ndarray]
    corr: Optional[np.ndarray]
    fun: Callable
    outputs: Optional[tuple]
    expressions: dict
    model_ref: str
    jac: str
    gum_method: str
    draws: Optional[int]
    digits: Optional[int]
    seed: int
    validation_digits: int
    distributions: dict = field(default_factory=dict)   # name -> description, for reports


def load_spec(path, *, allow_import: bool = False) -> Spec:
    """Read and check a TOML spec file; see the module docstring for its format.

    Raises
    ------
    SpecError
        Naming the file, line and field, and what was expected.
    """
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the spec file: {exc.strerror or exc}", path=path) from None
    except UnicodeDecodeError:
        raise SpecError("the spec file is not UTF-8 text", path=path) from None
    return parse_spec(text, path, allow_import=allow_import)


def parse_spec(text: str, path: str = "<spec>", *, allow_import: bool = False) -> Spec:
    """Parse spec text (see :func:`load_spec`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = int(m.group(1)) if m else None
        raise SpecError(f"not valid TOML: {msg}" + (f" (column {m.group(2)})" if m else ""),
                        line=line, path=path) from None
    return _Parser(text, path, allow_import).parse(data)


class _Parser:
    def __init__(self, text, path, allow_import):
        self.lines = text.splitlines()
        self.path = path
        self.allow_import = allow_import

    # ------------------------------------------------------------ errors
    def error(self, keys, message) -> SpecError:
        keys = tuple(keys)
        return SpecError(message, ".".join(keys) or None, _locate(self.lines, keys), self.path)

    def table(self, data, keys, required=True):
        value = data.get(keys[-1])
        if value is None:
            if required:
                raise self.error(keys[:-1], f"missing [{'.'.join(keys)}] table")
            return {}
        if not isinstance(value, dict):
            raise self.error(keys, f"expected a table, got {_kind(value)}")
        return value

    def number(self, value, keys, *, positive=False, integer=False, low=None, high=None):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            what = "an integer" if integer else "a number"
            raise self.error(keys, f"expected {what}, got {_kind(value)}")
        if integer and not isinstance(value, int):
            raise self.error(keys, f"expected an integer, got {value!r}")
        if not math.isfinite(value):
            raise self.error(keys, f"expected a finite number, got {value!r}")
        if positive and value <= 0:
            raise self.error(keys, f"expected a number > 0, got {value!r}")
        if low is not None and not low < value < high:
            raise self.error(keys, f"expected a number between {low} and {high}, got {value!r}")
        return value

    def unknown_keys(self, table, allowed, keys, what):
        for key in table:
            if key not in allowed:
                raise self.error(keys + (key,), f"unknown key {key!r} in {what}; expected "
                                 + ", ".join(allowed))

    # ------------------------------------------------------------ parts
    def parse(self, data) -> Spec:
        self.unknown_keys(data, TOP_LEVEL, (), "the spec")
        title = data.get("title", Path(self.path).stem)
        description = data.get("description", "")
        for key, value in (("title", title), ("description", description)):
            if not isinstance(value, str):
                raise self.error((key,), f"expected a string, got {_kind(value)}")
        p = self.number(data.get("coverage", 0.95), ("coverage",), low=0.0, high=1.0)
        names, dists, x, u, dof, described = self.inputs(self.table(data, ("inputs",)))
        corr = self.correlations(self.table(data, ("correlations",), required=False), names)
        order, groups = _column_order(len(names), corr)
        mc_inputs = self.mc_inputs(names, dists, x, u, corr, order, groups)
        model = self.table(data, ("model",))
        gum = self.table(data, ("gum",), required=False)
        self.unknown_keys(gum, ("method", "jac"), ("gum",), "[gum]")
        gum_method = gum.get("method", "linear")
        if gum_method not in ("linear", "second-order"):
            raise self.error(("gum", "method"), f"expected 'linear' or 'second-order', got "
                             f"{gum_method!r}")
        jac = gum.get("jac", "auto")
        if jac not in ("auto", "complex", "central"):
            raise self.error(("gum", "jac"), f"expected 'complex' or 'central', got {jac!r}")
        mc = self.table(data, ("monte_carlo",), required=False)
        self.unknown_keys(mc, ("draws", "digits", "seed", "validation_digits"),
                          ("monte_carlo",), "[monte_carlo]")
        draws, digits = mc.get("draws"), mc.get("digits")
        if draws is not None and digits is not None:
            raise self.error(("monte_carlo",), "give draws (a fixed number) or digits "
                             "(adaptive), not both")
        if draws is not None:
            draws = self.number(draws, ("monte_carlo", "draws"), positive=True, integer=True)
        if digits is not None:
            digits = self.number(digits, ("monte_carlo", "digits"), positive=True, integer=True)
        seed = self.number(mc.get("seed", 1), ("monte_carlo", "seed"), integer=True)
        if seed < 0:
            raise self.error(("monte_carlo", "seed"), f"expected an integer >= 0, got {seed}")
        vdig = self.number(mc.get("validation_digits", digits or 2),
                           ("monte_carlo", "validation_digits"), positive=True, integer=True)

        perm_names = tuple(names[i] for i in order)
        fun, outputs, expressions, ref, complex_safe = self.model(model, names, order)
        if draws is not None:
            problem = draws_problem(draws, len(names), len(outputs or ()) or None)
            if problem:
                raise self.error(("monte_carlo", "draws"), problem)
        if jac == "auto" and not complex_safe:
            jac = "central"
        col = np.asarray(order)
        return Spec(self.path, title, description, float(p), perm_names, mc_inputs, x[col],
                    u[col], None if np.all(np.isinf(dof)) else dof[col],
                    None if corr is None else corr[np.ix_(col, col)], fun, outputs, expressions,
                    ref, jac, gum_method, draws, digits, int(seed), int(vdig), described)

    def inputs(self, table):
        if not table:
            raise self.error(("inputs",), "expected at least one input, like "
                             "[inputs.X] with distribution = \"normal\", mean = 0, std = 1")
        names, dists, x, u, dof, described = [], [], [], [], [], {}
        for name, spec in table.items():
            keys = ("inputs", name)
            if not is_valid_name(name):
                raise self.error(keys, f"{name!r} cannot be an input name: use letters, "
                                 "digits and _, not starting with a digit, and not a "
                                 "function name or pi/e")
            if not isinstance(spec, dict):
                raise self.error(keys, "expected a table with distribution and its parameters, "
                                 f"got {_kind(spec)}")
            kind = spec.get("distribution")
            if kind is None:
                raise self.error(keys, "missing parameter 'distribution'; expected one of "
                                 + ", ".join(DISTRIBUTIONS))
            if not isinstance(kind, str):
                raise self.error(keys + ("distribution",), f"expected a string, got {_kind(kind)}")
            canon = kind.strip().lower().replace("_", "-").replace(" ", "-")
            canon = ALIASES.get(canon, canon)
            if canon not in DISTRIBUTIONS:
                raise self.error(keys + ("distribution",), f"unknown distribution {kind!r}; "
                                 "expected one of " + ", ".join(DISTRIBUTIONS))
            cls, required, optional = DISTRIBUTIONS[canon]
            extra = ("dof",) if "dof" not in required else ()
            allowed = ("distribution",) + required + optional + extra
            self.unknown_keys(spec, allowed, keys, f"a {canon} input")
            params = {}
            for key in required:
                if key not in spec:
                    raise self.error(keys, f"missing parameter {key!r} for a {canon} "
                                     "distribution; expected " + ", ".join(required)
                                     + "".join(f" (optional: {o})" for o in optional + extra))
            for key in required + optional:
                if key in spec:
                    params[key] = self.number(spec[key], keys + (key,))
            try:
                dist = cls(**params)
            except (TypeError, ValueError) as exc:
                raise self.error(keys, str(exc)) from None
            nu = spec.get("dof", math.inf)
            if "dof" in spec:
                nu = self.number(nu, keys + ("dof",), positive=True)
            if canon == "student-t":
                xi, ui = dist.loc, dist.scale
            else:
                xi, ui = dist.mean, dist.std
            names.append(name)
            dists.append(dist)
            x.append(xi)
            u.append(ui)
            dof.append(float(nu))
            described[name] = canon + "(" + ", ".join(f"{k}={v:g}" for k, v in params.items()) + ")"
        return names, dists, np.array(x, float), np.array(u, float), np.array(dof), described

    def correlations(self, table, names):
        if not table:
            return None
        n = len(names)
        R = np.eye(n)
        index = {name: i for i, name in enumerate(names)}
        for a, row in table.items():
            if a not in index:
                raise self.error(("correlations", a), f"unknown input {a!r}; inputs are "
                                 + ", ".join(names))
            if not isinstance(row, dict):
                raise self.error(("correlations", a), "expected A.B = r (the correlation of "
                                 f"inputs A and B), got {a} = {row!r}")
            for b, r in row.items():
                keys = ("correlations", a, b)
                if b not in index:
                    raise self.error(keys, f"unknown input {b!r}; inputs are " + ", ".join(names))
                if a == b:
                    raise self.error(keys, "an input's correlation with itself is 1; "
                                     "give correlations between different inputs")
                r = self.number(r, keys)
                if not -1.0 <= r <= 1.0:
                    raise self.error(keys, f"expected a correlation in [-1, 1], got {r}")
                i, j = index[a], index[b]
                if R[i, j] != 0.0 and R[i, j] != r:
                    raise self.error(keys, f"the correlation of {a} and {b} is given twice")
                R[i, j] = R[j, i] = r
        from .inputs import as_correlation
        try:
            as_correlation(R, n, "the correlation matrix")
        except ValueError as exc:
            raise self.error(("correlations",), _named_indices(str(exc), names)) from None
        return R

    def mc_inputs(self, names, dists, x, u, corr, order, groups):
        out = []
        for group in groups:
            if len(group) == 1:
                out.append(dists[group[0]])
                continue
            for i in group:
                if not isinstance(dists[i], D.Normal):
                    raise self.error(("correlations",), f"input {names[i]} is correlated but "
                                     f"not normal: Monte Carlo draws correlated inputs as a "
                                     "multivariate normal, so each must have "
                                     "distribution = \"normal\"")
            idx = np.asarray(group)
            out.append(D.MultivariateNormal.from_std(x[idx], u[idx], corr[np.ix_(idx, idx)]))
        return out

    def model(self, model, names, order):
        """(fun over columns, output names, expressions, reference, complex-safe)."""
        if "function" in model:
            self.unknown_keys(model, ("function", "outputs"), ("model",),
                              "[model] with a function")
            return self.function_model(model, names, order)
        define = model.get("define", {})
        if not isinstance(define, dict):
            raise self.error(("model", "define"), "expected a table of name = \"expression\"")
        outputs = {k: v for k, v in model.items() if k != "define"}
        if not outputs:
            raise self.error(("model",), "expected at least one output, like "
                             "y = \"a + b\", or function = \"module:function\"")
        for group, table in (("define", define), (None, outputs)):
            for key, value in table.items():
                if not isinstance(value, str):
                    keys = ("model",) + ((group,) if group else ()) + (key,)
                    raise self.error(keys, f"expected an expression in quotes, got {_kind(value)}")
        try:
            m: CompiledModel = compile_model(outputs, names, define, np.argsort(order))
        except ExpressionError as exc:
            f = getattr(exc, "field", None)
            keys = ("model",) + (("define",) if f in define else ()) + ((f,) if f else ())
            raise self.error(keys, str(exc)) from None
        return m.fun, m.outputs, m.expressions, "", m.complex_safe

    def function_model(self, model, names, order):
        ref = model["function"]
        if not isinstance(ref, str) or not _MODULE_REF.match(ref):
            raise self.error(("model", "function"), "expected \"module:function\", like "
                             f"\"mymodels:mass\", got {ref!r}")
        if not self.allow_import:
            raise self.error(("model", "function"), f"the model is a Python function ({ref}); "
                             "importing it runs code from that module, so it is only done when "
                             "you trust this spec: pass --allow-import (allow_import=True)")
        outputs = model.get("outputs")
        if outputs is not None:
            if (not isinstance(outputs, list) or not outputs
                    or not all(isinstance(o, str) and o for o in outputs)):
                raise self.error(("model", "outputs"), "expected a list of output names")
            outputs = tuple(outputs)
        module_name, fname = ref.split(":")
        here = str(Path(self.path).resolve().parent)
        sys.path.insert(0, here)
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # anything the import raises is the module's problem
            raise self.error(("model", "function"), f"cannot import {module_name!r}: "
                             f"{type(exc).__name__}: {exc}") from None
        finally:
            if sys.path and sys.path[0] == here:
                del sys.path[0]
        fun = getattr(module, fname, None)
        if not callable(fun):
            raise self.error(("model", "function"), f"module {module_name!r} has no function "
                             f"{fname!r}")
        return _reorder(fun, order), outputs, {}, ref, True


def monte_carlo_bytes(draws: int, inputs: int, outputs: int) -> int:
    """Memory (bytes) a Monte Carlo run of ``draws`` holds at once, about.

    8 bytes per draw for each input column, each output and one sorted copy
    of an output column (the coverage intervals).
    """
    return 8 * int(draws) * (int(inputs) + int(outputs) + 1)


def _physical_memory() -> Optional[int]:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):   # not a POSIX system
        return None


def _bytes(b: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if b < 1024 or unit == "PiB":
            return f"{b:.3g} {unit}" if unit != "bytes" else f"{int(b)} bytes"
        b /= 1024.0
    return f"{b:.3g} PiB"


def draws_problem(draws: int, inputs: int, outputs: Optional[int]) -> str:
    """Why ``draws`` Monte Carlo draws cannot run on this machine ("" when they can).

    The run is refused before any work when :func:`monte_carlo_bytes` exceeds
    the machine's physical memory (it would end in a MemoryError or in
    swapping). ``outputs`` None (a Python model of unknown size) counts as one.
    """
    limit = _physical_memory()
    need = monte_carlo_bytes(draws, inputs, outputs or 1)
    if limit is None or need <= limit:
        return ""
    at_least = "at least " if outputs is None else ""
    return (f"{draws} draws need {at_least}{_bytes(need)} of memory (8 bytes x draws x "
            f"({inputs} inputs + {outputs or 1} output{'s' if (outputs or 1) > 1 else ''} + 1)), "
            f"more than this machine's {_bytes(limit)}; use fewer draws (at most "
            f"{limit // monte_carlo_bytes(1, inputs, outputs or 1)} here; 10**6 is the default), "
            "or digits = D for an adaptive run")


def _kind(value) -> str:
    return {bool: "a boolean", str: "a string", dict: "a table", list: "an array",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _named_indices(message: str, names) -> str:
    """'matrix[0, 2]' -> 'matrix[X1, X3]' in messages about the correlation matrix."""
    return re.sub(r"\[(\d+), (\d+)\]",
                  lambda m: f"[{names[int(m.group(1))]}, {names[int(m.group(2))]}]", message)


def _column_order(n, corr):
    """Column order (spec order, correlated groups made contiguous) and the groups."""
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    if corr is not None:
        for i, j in zip(*np.nonzero(np.triu(corr, 1))):
            parent[root(int(j))] = root(int(i))
    groups = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    ordered = sorted(groups.values(), key=lambda g: g[0])
    return [i for g in ordered for i in g], ordered


def _reorder(fun, order):
    """fun(x in spec order) as a function of x in column order."""
    if list(order) == sorted(order):
        return fun
    position = np.argsort(order)   # x_spec[i] = x_col[position[i]]
    from .._numba.options import is_jitted, jit
    if is_jitted(fun):
        @jit
        def reordered(x):
            return fun(x[position])
        return reordered

    def reordered(x, *args):
        return fun(np.asarray(x)[position], *args)
    return reordered


def _split_key(key: str) -> tuple:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s]+)', key)
    return tuple(a or b or c for a, b, c in parts)


_HEADER = re.compile(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_PART = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)"""        # a bare or quoted key
_KEY = re.compile(rf"\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")   # key or dotted.key =


def _locate(lines, keys) -> Optional[int]:
    """Line (1-based) that defines ``keys``, or of its nearest enclosing table/key."""
    if not keys:
        return None
    best, best_depth, table = None, 0, ()
    for no, line in enumerate(lines, 1):
        m = _HEADER.match(line)
        if m:
            table = full = _split_key(m.group(1))
        else:
            m = _KEY.match(line)
            if not m:
                continue
            full = table + _split_key(m.group(1))
        depth = len(full)
        if depth <= len(keys) and full == tuple(keys[:depth]) and depth > best_depth:
            best, best_depth = no, depth
            if depth == len(keys):
                break
    return best
