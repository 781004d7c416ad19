"""Printing SymEngine expressions as code: a visitor with one ``_print_<Class>`` per node kind.

`NumPyPrinter` prints Python with NumPy functions, which Numba compiles. Other targets subclass
it and swap the function table and the few node kinds that differ. A node kind without a
``_print_`` method raises `CodegenError`: it is never printed as a comment or guessed.
"""

from __future__ import annotations

import symengine as se


def _is_negative(term) -> bool:
    """Whether a sum's term prints better as a subtraction: a negative number or coefficient."""
    if isinstance(term, se.Number):
        return term.is_real and term < 0
    if isinstance(term, se.Mul):
        coeff = term.args[0]
        return isinstance(coeff, se.Number) and coeff.is_real and coeff < 0
    return False


class CodegenError(Exception):
    """An expression contains a node that the target cannot print."""


class Visitor:
    """Dispatch on an expression's class: the first ``_print_<Class>`` along its MRO."""

    def doprint(self, expr):
        for cls in type(expr).__mro__:
            method = getattr(self, f"_print_{cls.__name__}", None)
            if method is not None:
                return method(expr)
        raise CodegenError(f"{type(self).__name__} cannot print a {type(expr).__name__} node "
                           f"({str(expr)[:80]})")


class NumPyPrinter(Visitor):
    """Prints SymEngine expressions as Python source using NumPy functions."""

    module = "np"
    functions = {
        "sin": "sin", "cos": "cos", "tan": "tan", "asin": "arcsin", "acos": "arccos",
        "atan": "arctan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "asinh": "arcsinh",
        "acosh": "arccosh", "atanh": "arctanh", "atan2": "arctan2", "Abs": "abs",
        "exp": "exp", "sqrt": "sqrt", "log": "log", "log1p": "log1p", "cot": None,
        "expm1": "expm1", "hypot": "hypot", "erf": "math.erf", "erfc": "math.erfc",
        "floor": "floor", "fmod": "fmod",
    }
    constants = {"Pi": "np.pi", "Exp1": "np.e", "Infinity": "np.inf",
                 "NegativeInfinity": "-np.inf", "NaN": "np.nan", "ComplexInfinity": "np.nan"}
    true, false = "True", "False"
    and_op, or_op, not_op = " and ", " or ", "not "
    max_unrolled_power = 4

    def __init__(self, names: dict):
        self.names = names            # Symbol -> identifier in the generated code

    def call(self, name, *args) -> str:
        """``module.name(args)``; a name with its module (``math.erf``) as it is."""
        return f"{name if '.' in name else f'{self.module}.{name}'}({', '.join(args)})"

    def float_literal(self, value: float) -> str:
        value = float(value)
        if value != value:
            return self.constants["NaN"]
        if value in (float("inf"), float("-inf")):
            return self.constants["Infinity" if value > 0 else "NegativeInfinity"]
        return repr(value)

    # --- atoms -----------------------------------------------------------------------------
    def _print_Symbol(self, expr):
        try:
            return self.names[expr]
        except KeyError:
            raise CodegenError(f"symbol {str(expr)[:60]} is neither an input nor a temporary") from None

    def _print_Integer(self, expr):
        value = int(expr)
        return self.float_literal(value) if abs(value) < 2 ** 53 else self.float_literal(float(value))

    def _print_Rational(self, expr):
        p, q = expr.get_num_den()
        return self.float_literal(int(p) / int(q))

    def _print_RealDouble(self, expr):
        return self.float_literal(float(expr))

    def _print_ComplexBase(self, expr):
        value = complex(expr)
        return f"complex({self.float_literal(value.real)}, {self.float_literal(value.imag)})"

    def _print_ImaginaryUnit(self, expr):
        return "1j"

    def _print_Constant(self, expr):
        name = self.constants.get(type(expr).__name__)
        if name is None:
            raise CodegenError(f"no value for the constant {expr}")
        return name

    _print_Infinity = _print_NegativeInfinity = _print_NaN = _print_ComplexInfinity = _print_Constant
    _print_Pi = _print_Exp1 = _print_Constant

    def _print_BooleanTrue(self, expr):
        return self.true

    def _print_BooleanFalse(self, expr):
        return self.false

    # --- arithmetic --------------------------------------------------------------------------
    def _print_Add(self, expr):
        out = ""
        for term in expr.args:
            negative = _is_negative(term)
            text = self.doprint(-term if negative else term)
            out = (f"-{text}" if negative else text) if not out else \
                f"{out} {'-' if negative else '+'} {text}"
        return f"({out})"

    def _print_Mul(self, expr):
        numer, denom, sign = [], [], ""
        for a in expr.args:
            if isinstance(a, se.Number) and a == -1:
                sign = "-" if not sign else ""
            elif isinstance(a, se.Pow) and isinstance(a.args[1], se.Number) and a.args[1] < 0:
                exponent = -a.args[1]
                denom.append(self.doprint(a.args[0] if exponent == 1 else se.Pow(a.args[0], exponent)))
            else:
                numer.append(self.doprint(a))
        text = " * ".join(numer) if numer else "1.0"
        if denom:
            text = f"{text} / " + (denom[0] if len(denom) == 1 else f"({' * '.join(denom)})")
        return f"{sign}({text})" if sign else f"({text})"

    def _print_Pow(self, expr):
        base, exponent = expr.args
        if base == se.E:
            return self.call(self.functions["exp"], self.doprint(exponent))
        b = self.doprint(base)
        if isinstance(exponent, se.Integer):
            n = int(exponent)
            if 0 < n <= self.max_unrolled_power:
                return "(" + " * ".join([b] * n) + ")"
            if -self.max_unrolled_power <= n < 0:
                return "(1.0 / (" + " * ".join([b] * -n) + "))"
            return self.power(b, str(n))
        if exponent == se.Rational(1, 2):
            return self.call(self.functions["sqrt"], b)
        if exponent == se.Rational(-1, 2):
            return f"(1.0 / {self.call(self.functions['sqrt'], b)})"
        return self.power(b, self.doprint(exponent))

    def power(self, base: str, exponent: str) -> str:
        # ``**`` binds tighter than unary minus: a negated base printed as -(a) needs its own
        # parentheses, or Python reads -(a) ** p as -(a ** p).
        if base.startswith("-"):
            base = f"({base})"
        return f"({base} ** {exponent})"

    # --- functions ---------------------------------------------------------------------------
    def _print_Function(self, expr):
        name = type(expr).__name__
        target = self.functions.get(name)
        if target is None:
            raise CodegenError(f"{type(self).__name__} has no function for {name}")
        return self.call(target, *(self.doprint(a) for a in expr.args))

    # Functions that symhess keeps whole (SymEngine PyFunction nodes, named by get_name()):
    # log1p, expm1 and hypot are library calls; the others are spelled out in stable forms.
    def _print_PyFunction(self, expr):
        name = expr.get_name()
        args = [self.doprint(a) for a in expr.args]
        method = getattr(self, f"_print_special_{name}", None)
        if method is not None:
            return method(*args)
        target = self.functions.get(name)
        if target is None:
            raise CodegenError(f"{type(self).__name__} has no function for {name}")
        return self.call(target, *args)

    def _print_special_softplus(self, u):
        """log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|)): no overflow, no cancellation."""
        return self.call("logaddexp", "0.0", u)

    def _print_special_sigmoid(self, u):
        """1 / (1 + exp(-u)): exp overflows to inf for u << 0, and the value to 0, as it should."""
        return f"(1.0 / (1.0 + {self.call(self.functions['exp'], f'-({u})')}))"

    def _print_special_hypot_ratio(self, a, b):
        """a / hypot(a, b), in [-1, 1] whatever the magnitude of a and b."""
        return f"({a} / {self.call(self.functions['hypot'], a, b)})"

    def _print_special_no_derivative(self, u):
        return u

    def _print_special_undefined(self, u):
        return self.constants["NaN"]

    def _print_log(self, expr):
        (arg,) = expr.args
        # log(1 + x) prints as log1p(x): accurate where x is small.
        if isinstance(arg, se.Add) and 1 in arg.args and self.functions.get("log1p"):
            return self.call(self.functions["log1p"], self.doprint(arg - 1))
        return self.call(self.functions["log"], self.doprint(arg))

    # --- piecewise and conditions ------------------------------------------------------------
    def _print_Piecewise(self, expr):
        args = expr.args
        pairs = [(args[i], args[i + 1]) for i in range(0, len(args), 2)]
        value, cond = pairs[-1]
        out = self.doprint(value)
        if cond != se.true:       # no condition holds: NaN, as for a value outside a domain
            out = self.ternary(self.doprint(cond), out, self.constants["NaN"])
        for value, cond in reversed(pairs[:-1]):
            out = self.ternary(self.doprint(cond), self.doprint(value), out)
        return out

    def ternary(self, cond, a, b) -> str:
        return f"({a} if {cond} else {b})"

    def _relational(op):
        def print_rel(self, expr):
            lhs, rhs = expr.args
            return f"({self.doprint(lhs)} {op} {self.doprint(rhs)})"
        return print_rel

    _print_StrictLessThan = _relational("<")
    _print_LessThan = _relational("<=")
    _print_Equality = _relational("==")
    _print_Unequality = _relational("!=")

    def _print_And(self, expr):
        return "(" + self.and_op.join(self.doprint(a) for a in expr.args) + ")"

    def _print_Or(self, expr):
        return "(" + self.or_op.join(self.doprint(a) for a in expr.args) + ")"

    def _print_Not(self, expr):
        return f"({self.not_op}{self.doprint(expr.args[0])})"

    def _print_Xor(self, expr):
        return "(" + " != ".join(self.doprint(a) for a in expr.args) + ")"
