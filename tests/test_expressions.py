"""The whitelisted expression compiler behind ``jacsolve propagate`` spec files."""
import math

import numpy as np
import pytest

import jacsolve
from jacsolve.uncertainty.expressions import ExpressionError, compile_model, parse_expression


def test_values_match_numpy():
    """Every allowed function and operator, against NumPy on the same numbers."""
    m = compile_model(
        {"y1": "-a**3 + b**-2 * sqrt(c) / 4 - exp(-a) + log(c) + log10(c) + 2**0.5",
         "y2": "sin(a) * cos(b) + tan(a) + asin(0.5 * b) + arccos(0.5 * b) + atan(c)",
         "y3": "sinh(a) - cosh(b) + tanh(c) + abs(a) * pi - e + k"},
        ["a", "b", "c"], define={"k": "a * b + 1e3"})
    a, b, c = -1.3, 0.7, 2.5
    expected = [
        -a ** 3 + b ** -2 * np.sqrt(c) / 4 - np.exp(-a) + np.log(c) + np.log10(c) + 2 ** 0.5,
        np.sin(a) * np.cos(b) + np.tan(a) + np.arcsin(0.5 * b) + np.arccos(0.5 * b)
        + np.arctan(c),
        np.sinh(a) - np.cosh(b) + np.tanh(c) + abs(a) * np.pi - np.e + (a * b + 1e3)]
    np.testing.assert_allclose(m.fun(np.array([a, b, c])), expected, rtol=1e-14)
    assert m.outputs == ("y1", "y2", "y3") and m.inputs == ("a", "b", "c")
    assert not m.complex_safe        # abs


def test_integer_powers_are_multiplications_and_complex_step_exact():
    """x**k as products: complex step stays exact for negative bases (exp/log would not)."""
    m = compile_model({"y": "x**7 - 3 * x**-3 + x**2"}, ["x"])
    assert "**" not in m.source and m.complex_safe
    x = -1.7
    J = jacsolve.jacobian(m.fun, np.array([x]), method="complex")
    assert J[0, 0] == pytest.approx(7 * x ** 6 + 9 * x ** -4 + 2 * x, rel=1e-15)
    assert "** 2.5" in compile_model({"y": "x**2.5"}, ["x"]).source


def test_source_contains_no_user_text():
    """Names are renamed and numbers re-printed from their values."""
    m = compile_model({"out_name": "alpha_1 * 1e3 + beta"}, ["alpha_1", "beta"])
    assert "alpha_1" not in m.source and "beta" not in m.source
    assert "1000.0" in m.source and "1e3" not in m.source


MALICIOUS = [
    ("__import__('os').system('touch PWNED')", "no attribute access"),
    ("__import__('os')", "unknown function '__import__'"),
    ("a.__class__", "attribute access not allowed"),
    ("(lambda: 1)()", "only calls of the allowed functions"),
    ("(lambda q: q)(a)", "only calls of the allowed functions"),
    ("lambda: a", "lambda not allowed"),
    ("[a for a in b]", "comprehensions not allowed"),
    ("a[0]", "subscripts not allowed"),
    ("a if b else 1", "if-else not allowed"),
    ("a < b", "comparisons not allowed"),
    ("open('f')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("getattr(a, 'b')", "unknown function 'getattr'"),
    ("sqrt.__call__(a)", "no attribute access"),
    ("np.sqrt(a)", "no attribute access"),
    ("__builtins__", "unknown name '__builtins__'"),
    ("x", "unknown name 'x'; known names: a, b"),
    ("sqrt", "it is a function"),
    ("sqrt(a, b)", "takes exactly one argument"),
    ("sqrt(x=a)", "takes exactly one argument"),
    ("'text'", "only real numbers"),
    ("1j * a", "only real numbers"),
    ("True + a", "only real numbers"),
    ("a // b", "operator FloorDiv is not allowed"),
    ("a % b", "operator Mod is not allowed"),
    ("a @ b", "operator MatMult is not allowed"),
    ("~a", "operator Invert is not allowed"),
    ("not a", "operator Not is not allowed"),
    ("a and b", "and/or not allowed"),
    ("(a := 1)", "assignment (:=) not allowed"),
    ("a +", "malformed expression"),
    ("a; b", "malformed expression"),
    ("", "empty"),
    ("1e999 * a", "number too large"),
    ("(" * 300 + "a" + ")" * 300, "nested"),
]


@pytest.mark.parametrize("text, message", MALICIOUS, ids=[t[:20] for t, _ in MALICIOUS])
def test_rejected(text, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, ["a", "b"])
    assert message in str(info.value)
    assert not (tmp_path / "PWNED").exists()


def test_error_names_column_and_output():
    with pytest.raises(ExpressionError) as info:
        compile_model({"good": "a + 1", "bad": "a + b.c"}, ["a", "b"])
    assert info.value.field == "bad" and info.value.column == 5
    assert str(info.value).startswith("column 5: attribute access")


@pytest.mark.parametrize("outputs, inputs, define, message", [
    ({}, ["a"], None, "no outputs"),
    ({"y": "a"}, ["sqrt"], None, "cannot be used as input name"),
    ({"y": "a"}, ["a"], {"a": "1"}, "defined twice"),
    ({"y": "a"}, ["1a"], None, "cannot be used as input name"),
    ({"y": "k"}, ["a"], {"k": "k + 1"}, "unknown name 'k'"),
])
def test_bad_models(outputs, inputs, define, message):
    with pytest.raises(ExpressionError, match=message):
        compile_model(outputs, inputs, define)


def test_definitions_in_order_and_column_order():
    """Definitions may use earlier ones; ``order`` maps inputs to columns of x."""
    m = compile_model({"y": "k2 - a"}, ["a", "b"], define={"k": "2 * b", "k2": "k * k"},
                      order=[1, 0])
    # input a lives in x[1], b in x[0]
    assert m.fun(np.array([3.0, 10.0]))[0] == pytest.approx((2 * 3.0) ** 2 - 10.0)
    assert math.isfinite(m.fun(np.array([0.0, 1.0]))[0])
