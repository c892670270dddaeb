"""Measurement models written as text, compiled safely.

A spec file (``jacsolve propagate``) states its model as expressions over
named inputs, e.g. ``"(m_R_c + dm_R_c) * (1 + (a - a0) * (1/rho_w - 1/rho_R))"``.
Spec files travel between people, so an expression must not be able to run
code. :func:`compile_model` therefore

1. parses each expression with :mod:`ast` and accepts only a whitelist:
   numbers, names of inputs (and of earlier definitions), ``+ - * / **``,
   unary ``+ -``, parentheses, and calls of the functions in
   :data:`FUNCTIONS` (plus the constants ``pi`` and ``e``). Anything else,
   attribute access, subscripts, lambdas, comprehensions, keywords, calls of
   anything else, unknown names, is rejected with an :class:`ExpressionError`
   that says where and what was expected;
2. generates the model's source from the *validated tree only*: identifiers
   are renamed (``_v0, _v1, ...``), numbers are re-printed from their values
   and functions come from a fixed table, so no text of the user's reaches
   the compiler;
3. compiles it with :func:`jacsolve.jit` into ``model(x) -> 1-D array``.

The generated model is complex-safe (so the GUM step uses complex-step
sensitivities) unless it calls ``abs``: integer powers are written as
repeated multiplication (numba computes complex ``z**k``, k >= 3, through
exp/log, which spoils complex step for negative bases) and outputs are
allocated with ``dtype=x.dtype``.

Examples
--------
>>> import numpy as np
>>> from jacsolve.uncertainty.expressions import compile_model
>>> m = compile_model({"P": "V**2 / R"}, ["V", "R"])
>>> m.fun(np.array([10.0, 50.0]))
array([2.])
>>> print(m.source)
def model(x):
    _v0 = x[0]
    _v1 = x[1]
    out = np.empty(1, dtype=x.dtype)
    out[0] = ((_v0 * _v0) / _v1)
    return out
>>> try:
...     compile_model({"y": "__import__('os')"}, ["a"])
... except ExpressionError as exc:
...     print(exc.field, exc.column, exc.reason[:29])
y 1 unknown function '__import__'

"""
from __future__ import annotations

import ast
import keyword
import math
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from .._numba.options import jit

__all__ = ["compile_model", "parse_expression", "CompiledModel", "ExpressionError",
           "FUNCTIONS", "CONSTANTS"]

# name in an expression -> numpy function in the generated code
FUNCTIONS = {
    "sqrt": "np.sqrt", "exp": "np.exp", "log": "np.log", "log10": "np.log10",
    "sin": "np.sin", "cos": "np.cos", "tan": "np.tan",
    "arcsin": "np.arcsin", "asin": "np.arcsin", "arccos": "np.arccos", "acos": "np.arccos",
    "arctan": "np.arctan", "atan": "np.arctan",
    "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh",
    "abs": "np.abs",
}
NOT_COMPLEX_SAFE = {"abs"}   # |z| of a complex step loses the derivative
CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_LENGTH = 10_000          # characters per expression
MAX_DEPTH = 100              # nesting of the parsed tree
MAX_EXPANDED_POWER = 64      # larger integer exponents use ** (exp/log) instead
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_VARIABLE = re.compile(r"_[vdt][0-9]+\Z")   # generated names: no temporary needed

# What a user most likely meant by a rejected node (for the error message).
_REJECTED = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambda",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons", ast.BoolOp: "and/or", ast.IfExp: "if-else",
    ast.NamedExpr: "assignment (:=)", ast.Starred: "*-unpacking",
    ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
    ast.JoinedStr: "strings", ast.Await: "await", ast.Yield: "yield",
}


class ExpressionError(ValueError):
    """An expression outside the whitelist, or not valid syntax.

    ``column`` is the 1-based column in the expression (None if unknown).
    """

    def __init__(self, message: str, column: Optional[int] = None):
        self.column = column
        self.reason = message
        super().__init__(message if column is None else f"column {column}: {message}")


def is_valid_name(name: str) -> bool:
    """True for a name usable as an input or output: an identifier, not a keyword,
    not a function or constant of the expression language."""
    return (isinstance(name, str) and bool(_NAME.match(name)) and not keyword.iskeyword(name)
            and name not in FUNCTIONS and name not in CONSTANTS)


def _fail(node, message):
    col = getattr(node, "col_offset", None)
    raise ExpressionError(message, None if col is None else col + 1)


def parse_expression(text: str, names: Sequence[str]) -> ast.expr:
    """Parse ``text`` and check it against the whitelist; return the tree.

    ``names`` are the names the expression may use (inputs, definitions).
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expected the expression as a string, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:   # a multi-line expression (TOML """...""") is one line of Python
        tree = ast.parse(text.replace("\r", " ").replace("\n", " ").strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"malformed expression: {exc.msg}", exc.offset) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is nested too deeply") from None
    _check(tree, frozenset(names), 0)
    return tree


def _check(node, names, depth):
    if depth > MAX_DEPTH:
        _fail(node, f"the expression is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            _fail(node, f"only real numbers are allowed as constants, got {v!r}")
        try:
            if not math.isfinite(float(v)):
                raise OverflowError
        except OverflowError:
            _fail(node, "number too large")
    elif isinstance(node, ast.Name):
        if node.id not in names and node.id not in CONSTANTS:
            hint = ("; it is a function: call it, e.g. sqrt(x)" if node.id in FUNCTIONS else
                    f"; known names: {', '.join(sorted(names)) or '(none)'}")
            _fail(node, f"unknown name {node.id!r}" + hint)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS and not isinstance(node.op, ast.Pow):
            _fail(node, f"operator {type(node.op).__name__} is not allowed; "
                        "use + - * / ** and parentheses")
        _check(node.left, names, depth + 1)
        _check(node.right, names, depth + 1)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            _fail(node, f"operator {type(node.op).__name__} is not allowed; "
                        "only unary + and - are")
        _check(node.operand, names, depth + 1)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            _fail(node, "only calls of the allowed functions are allowed, like sqrt(x); "
                        "no attribute access or calls of expressions")
        if node.func.id not in FUNCTIONS:
            _fail(node, f"unknown function {node.func.id!r}; allowed functions: "
                        + ", ".join(FUNCTIONS))
        if node.keywords or len(node.args) != 1:
            _fail(node, f"{node.func.id}() takes exactly one argument and no keywords")
        _check(node.args[0], names, depth + 1)
    else:
        what = _REJECTED.get(type(node), type(node).__name__)
        _fail(node, f"{what} not allowed; an expression may use numbers, input names, "
                    "+ - * / **, parentheses and the allowed functions")


class _Emitter:
    """Source code from a validated tree; temporaries go into ``lines``."""

    def __init__(self, variables: Mapping[str, str]):
        self.variables = variables
        self.lines = []
        self.ntemp = 0
        self.complex_safe = True

    def temp(self, expr: str) -> str:
        name = f"_t{self.ntemp}"
        self.ntemp += 1
        self.lines.append(f"{name} = {expr}")
        return name

    def emit(self, node) -> str:
        if isinstance(node, ast.Constant):
            return repr(float(node.value))
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                return self.variables[node.id]
            return repr(CONSTANTS[node.id])
        if isinstance(node, ast.UnaryOp):
            operand = self.emit(node.operand)
            return f"(-{operand})" if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Call):
            if node.func.id in NOT_COMPLEX_SAFE:
                self.complex_safe = False
            return f"{FUNCTIONS[node.func.id]}({self.emit(node.args[0])})"
        # BinOp
        if isinstance(node.op, ast.Pow):
            k = _integer_exponent(node.right)
            if k is not None:
                return self.power(self.emit(node.left), k)
            return f"({self.emit(node.left)} ** {self.emit(node.right)})"
        return f"({self.emit(node.left)} {_BINOPS[type(node.op)]} {self.emit(node.right)})"

    def power(self, base: str, k: int) -> str:
        """base**k by repeated squaring (multiplications only: complex-step safe)."""
        if k == 0:
            return "1.0"
        if k < 0:
            return f"(1.0 / {self.power(base, -k)})"
        if k == 1:
            return base
        b = base if _VARIABLE.match(base) else self.temp(base)
        if k <= 4:
            return "(" + " * ".join([b] * k) + ")"
        factors, square = [], b
        while True:
            if k & 1:
                factors.append(square)
            k >>= 1
            if not k:
                break
            square = self.temp(f"{square} * {square}")
        return "(" + " * ".join(factors) + ")"


def _integer_exponent(node) -> Optional[int]:
    """The exponent if it is a literal integer (optionally negated) of modest size."""
    sign = 1
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
        v = node.value
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, int) and abs(v) <= MAX_EXPANDED_POWER:
            return sign * v
    return None


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """A model compiled from expressions (or wrapped from a Python function).

    Attributes
    ----------
    fun : callable
        ``fun(x) -> ndarray of shape (m,)``, a numba function: inputs in the
        order of ``inputs``.
    inputs, outputs : tuple of str
    expressions : dict
        Output (and definition) name -> expression text, for reports.
    complex_safe : bool
        False when the model calls ``abs``: sensitivities then need central
        differences instead of complex step.
    source : str
        The generated source (empty for a Python function).
    """
    fun: Callable
    inputs: tuple
    outputs: tuple
    expressions: dict
    complex_safe: bool = True
    source: str = ""


def compile_model(outputs: Mapping[str, str], inputs: Sequence[str],
                  define: Optional[Mapping[str, str]] = None,
                  order: Optional[Sequence[int]] = None) -> CompiledModel:
    """Compile output expressions over named inputs into a numba model.

    Parameters
    ----------
    outputs : mapping of str to str
        Output name -> expression, in output order.
    inputs : sequence of str
        Input names, in the order of the model's argument vector.
    define : mapping of str to str, optional
        Intermediate quantities, evaluated in order; each may use the inputs
        and earlier definitions, and the outputs may use all of them.
    order : sequence of int, optional
        Column of ``x`` that holds each input (default: input i in x[i]).

    Returns
    -------
    CompiledModel

    Raises
    ------
    ExpressionError
        With ``field`` set to the name of the offending output or definition.
    """
    inputs = tuple(inputs)
    define = dict(define or {})
    outputs = dict(outputs)
    if not outputs:
        raise ExpressionError("the model has no outputs")
    for what, names in (("input", inputs), ("definition", define), ("output", outputs)):
        for name in names:
            if not is_valid_name(name):
                raise _with_field(ExpressionError(
                    f"{name!r} cannot be used as {what} name: use letters, digits and _, "
                    "not starting with a digit, and not a function name or pi/e"), name)
    clash = (set(inputs) & set(define)) | (set(outputs) & set(define))
    if clash:
        raise _with_field(ExpressionError(f"{sorted(clash)[0]!r} is defined twice"),
                          sorted(clash)[0])
    order = list(range(len(inputs))) if order is None else [int(c) for c in order]
    variables = {name: f"_v{i}" for i, name in enumerate(inputs)}
    em = _Emitter(variables)
    body = [f"_v{i} = x[{order[i]}]" for i in range(len(inputs))]
    known = list(inputs)
    for j, (name, text) in enumerate(define.items()):
        tree = _parse_field(text, known, name)
        em.lines = []
        value = em.emit(tree)
        body += em.lines + [f"_d{j} = {value}"]
        variables[name] = f"_d{j}"
        known.append(name)
    body.append(f"out = np.empty({len(outputs)}, dtype=x.dtype)")
    for i, (name, text) in enumerate(outputs.items()):
        tree = _parse_field(text, known, name)
        em.lines = []
        value = em.emit(tree)
        body += em.lines + [f"out[{i}] = {value}"]
    body.append("return out")
    source = "def model(x):\n" + "".join(f"    {line}\n" for line in body)
    namespace = {}
    # The source is built from the validated tree only (see the module docstring);
    # its only global is numpy.
    exec(compile(source, "<jacsolve model>", "exec"), {"np": np}, namespace)
    fun = jit(namespace["model"])
    return CompiledModel(fun, inputs, tuple(outputs), {**define, **outputs}, em.complex_safe,
                         source.rstrip("\n"))


def _with_field(exc: ExpressionError, field: str) -> ExpressionError:
    exc.field = field
    return exc


def _parse_field(text, known, field):
    try:
        return parse_expression(text, known)
    except ExpressionError as exc:
        raise _with_field(exc, field) from None
