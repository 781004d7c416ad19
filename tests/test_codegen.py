"""The printer and the Numba emitter, checked by evaluating printed code against SymPy."""

import math

import numpy as np
import pytest
import symengine as se
import sympy

from codegen import CodegenError, KernelInput, KernelSpec, NumPyPrinter, emit_numba, sanitize

x, y = se.symbols("x y")

# (expression, x, y): each printed expression is evaluated with NumPy and compared with SymPy's
# own numerical evaluation of the same expression.
CASES = [
    (x + y, 0.3, 1.7), (x - 2 * y, 0.3, 1.7), (x * y / (1 + x), 0.3, 1.7), (x ** 2, -1.5, 0),
    (x ** -3, 1.5, 0), (x ** 7, 1.1, 0), (x ** se.Rational(1, 2), 2.0, 0),
    (x ** se.Rational(-1, 2), 2.0, 0), (x ** se.Rational(2, 3), 2.0, 0), (x ** y, 1.3, 0.7),
    (se.exp(x) * se.log(y), 0.4, 2.5), (se.log(1 + x), 1e-12, 0), (se.sin(x) + se.cos(y), 0.2, 0.9),
    (se.atan2(y, x), -0.5, 0.25), (se.asinh(x) * se.acosh(y) + se.atanh(x / 2), 0.5, 1.5),
    (se.Piecewise((x, x > 0), (-x, True)), -0.7, 0), (se.Piecewise((x, x > 0), (-x, True)), 0.7, 0),
    (se.Piecewise((x * y, se.And(x > 0, y < 1)), (y, True)), 0.5, 0.5), (se.pi * x + se.E, 0.5, 0),
    (se.Rational(1, 3) * x - 2.5 * y, 0.5, 1.0),
]


def evaluate(expr, xv, yv):
    names = {x: "x", y: "y"}
    code = NumPyPrinter(names).doprint(expr)
    return eval(code, {"np": np}, {"x": xv, "y": yv})


@pytest.mark.parametrize("expr, xv, yv", CASES, ids=[str(c[0]) for c in CASES])
def test_printed_expression_matches_sympy(expr, xv, yv):
    expected = float(sympy.sympify(expr).subs({sympy.Symbol("x"): sympy.Rational(xv), sympy.Symbol("y"): sympy.Rational(yv)}).evalf(30))
    assert math.isclose(evaluate(expr, xv, yv), expected, rel_tol=1e-13, abs_tol=1e-300)


def test_log1p_form_is_accurate_for_small_arguments():
    # log(1 + 1e-17) is 1e-17; a naive print of log(1 + x) would give 0.
    assert evaluate(se.log(1 + x), 1e-17, 0) == pytest.approx(1e-17, rel=1e-12)


def test_unknown_symbol_and_node_raise():
    with pytest.raises(CodegenError, match="neither an input"):
        NumPyPrinter({}).doprint(x + 1)
    with pytest.raises(CodegenError, match="cannot print"):
        NumPyPrinter({x: "x"}).doprint(se.Derivative(se.Function("f")(x), x))


def test_sanitize_keeps_comments_inert():
    text = sanitize("a'); import os #\nprint('x')")
    assert "'" not in text and "\n" not in text and "#" not in text


def test_emitted_module_runs_and_writes_mirrored_slots():
    t = se.Symbol("tmp")
    spec = KernelSpec(
        inputs=[KernelInput((2,))], reads={x: (0, (0,)), y: (0, (1,))},
        assignments=[(t, x * y)], outputs=[(t + 1, (1, 2)), (x, (0,))],
        out_size=4, out_shape=(2, 2), title="test kernel 'quoted'\nnewline")
    source = emit_numba(spec, cache=False)
    assert "'quoted'" not in source
    namespace = {}
    exec(compile(source, "<kernel>", "exec"), namespace)
    out = namespace["kernel"](np.array([3.0, 5.0]))
    np.testing.assert_array_equal(out, [[3.0, 16.0], [16.0, 0.0]])
