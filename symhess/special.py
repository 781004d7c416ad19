"""Functions kept whole in the symbolic expressions: log1p, expm1, softplus, hypot, erf, erfc,
floor, fmod, the inverse error function, log-gamma, the polygamma functions, the modified
Bessel functions of the first kind and the regularized incomplete gamma and beta functions (their
derivatives in a shape, which have no closed form, are `shape_derivative`, refused where a
kernel would compute one).

SymEngine has no ``log1p`` or ``expm1``. Written as ``log(1 + x)`` and ``exp(x) - 1`` they lose
the precision they exist for: CSE makes ``1 + x`` a temporary, and the kernel then computes
``log(t0)`` (``np.log1p(x) * y**2`` at ``x = 1e-12`` was off by 9e-5 relative). ``hypot(a, b)``
written as ``sqrt(a**2 + b**2)`` overflows at 1e200. So each function here is a node of its own:
a SymEngine ``PyFunction`` whose Python object carries the function's derivative rule. SymEngine
calls that rule wherever it differentiates, and keeps the node whole through CSE, ``xreplace``
and ``subs``; the printers in ``codegen`` print it by name (``get_name()``).

The derivative rules are chosen to stay accurate and finite where the plain formulas do not:

* ``log1p(u)' = 1 / (1 + u)``, ``expm1(u)' = exp(u)``;
* ``softplus(u) = log(1 + exp(u))`` (``np.log1p(np.exp(u))``, ``np.logaddexp(0, u)``) has the
  derivative ``sigmoid(u)``, whose derivative is ``exp(u - 2 softplus(u))``, not
  ``sigmoid(u) (1 - sigmoid(u))``, which cancels for large ``u``;
* ``hypot(a, b)' = (a/hypot(a, b), b/hypot(a, b))``, each ratio a node (``hypot_ratio``) whose
  derivatives are ``ratio(b, a)**2 / hypot`` and ``-ratio(a, b) ratio(b, a) / hypot``: bounded
  numerators, so nothing overflows at 1e200 or underflows at 1e-200;
* ``floor(u)' = 0`` (piecewise constant, as JAX differentiates it), and C's ``fmod(a, b) =
  a - trunc(a / b) b`` has the partials ``1`` and ``-trunc(a / b)``, the quotient of the piece
  the value is on (`_quotient`): NumPy's remainder and
  rounding functions are written with these two (`symhess.foreign.numpy_rounding`). SymEngine's
  own ``floor`` has no derivative, and a remainder written ``a - floor(a / b) b`` rounds where
  ``fmod`` is exact.
* ``erfinv(x)' = sqrt(pi)/2 exp(erfinv(x)^2)``: kept whole while derivatives are taken (its
  Halley iterations, differentiated as written, grow as the fifth power of their depth), and
  computed by them (`symhess.special_nodes.lowered`) when a kernel is printed. ``log
  Gamma(x)`` and ``psi^(n)(x)`` likewise: ``log Gamma' = psi^(0)``, ``psi^(n)' =
  psi^(n+1)``, and ``I_nu(x)``:
  ``I_nu' = (I_(nu-1) + I_(nu+1)) / 2``.

`NODES` is the table of these functions: name, arity, NumPy evaluation and partial derivatives.
"""

from __future__ import annotations

import zlib

import numpy as np
import symengine as se
from symengine.lib.symengine_wrapper import BooleanAtom, PyFunction, sympy_module

from .errors import OperandTypeError, UnsupportedFunctionError
from .foreign.error_functions import INVERSE_ERF, inverse_algorithm
from .foreign.bessel import BESSEL_I, BESSEL_IE
from .foreign.gamma_functions import POLYGAMMA
from .foreign.incomplete import (INCOMPLETE_BETA, INCOMPLETE_GAMMA, SHAPE_ADVICE,
                                 SHAPE_DERIVATIVE)

__all__ = ["NODES", "Special", "is_special", "log1p", "expm1", "softplus", "sigmoid", "hypot",
           "hypot_ratio", "erf", "erfc", "floor", "fmod", "inverse_erf", "gammaln", "polygamma",
           "bessel_i", "bessel_ie", "incomplete_gamma", "incomplete_beta", "shape_derivative",
           "no_derivative", "undefined"]


class Special:
    """One function kept whole: ``Special(...)(*args)`` builds its node in an expression.

    Args:
        name: the name printed in expressions and looked up by the code printers.
        nargs: the number of arguments.
        numeric: evaluates the function on NumPy values (used when all arguments are numbers).
        partials: ``partials(*args)`` gives the partial derivatives as SymEngine expressions.
        plain: ``plain(sympy_module, *args)`` gives the same function in plain SymPy (for
            LaTeX, and for SymPy's numerical evaluation at any precision).
        lower: ``lower(*args)`` gives the expression a kernel computes the function with, for
            a function no code printer has (`symhess.special_nodes.lowered`); None for the
            printers' own functions.
    """

    def __init__(self, name, nargs, numeric, partials, plain, lower=None):
        self.name, self.nargs = name, nargs
        self.numeric, self.partials, self.plain, self.lower = numeric, partials, plain, lower
        # SymEngine hashes the function class with Python's hash: make it the same in every
        # process, so that the order of terms in printed code does not depend on the process.
        self._hash = zlib.crc32(name.encode())

    def __call__(self, *args):
        if len(args) != self.nargs:
            raise OperandTypeError(f"{self.name} takes {self.nargs} argument(s), got {len(args)}")
        args = tuple(_symengine(a) for a in args)
        if all(isinstance(a, se.Number) for a in args):
            return self._number(args)
        return PyFunction(_Node(self, args), args, self, sympy_module)

    def _number(self, args):
        if any(a == se.nan for a in args):
            # (SymEngine cannot convert its NaN to a Python number, and an error here, when
            # SymEngine rebuilds a node whose argument became NaN, would end the process)
            return se.nan
        exact = all(isinstance(a, (se.Integer, se.Rational)) for a in args)
        values = [complex(a) if not a.is_real else float(a) for a in args]
        with np.errstate(all="ignore"):
            value = self.numeric(*values)
        if exact and value == 0:
            return se.Integer(0)
        if np.isnan(value):
            return se.nan                   # (a RealDouble NaN is unequal to itself)
        return se.sympify(complex(value) if np.iscomplexobj(value) else float(value))

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return self is other

    def __lt__(self, other):
        return self.name < other.name

    def __str__(self):
        return self.name

    __repr__ = __str__


def _symengine(a):
    """``a`` as SymEngine. SymEngine rebuilds a node (``xreplace``, ``subs``) by calling its
    `Special` with the new arguments converted to SymPy, which can turn a comparison with a
    Piecewise (``Piecewise((1, x < 0), (0, True)) < y``) into an ``ITE`` SymEngine has no
    class for: those are written with And, Or and Not (an error raised here would end the
    process inside SymEngine)."""
    try:
        return se.sympify(a)
    except se.SympifyError:
        import sympy
        if not isinstance(a, sympy.Basic):
            raise
        plain = a.replace(sympy.ITE, lambda c, t, f: sympy.Or(sympy.And(c, t),
                                                              sympy.And(sympy.Not(c), f)))
        return se.sympify(plain)


class _Node:
    """The Python object inside one node: its arguments, and the chain rule over them."""

    __slots__ = ("kind", "args", "_hash")

    def __init__(self, kind, args):
        self.kind, self.args = kind, args
        # Deterministic: SymEngine's hashes of expressions do not depend on the process.
        self._hash = hash((kind._hash,) + tuple(hash(a) for a in args))

    def diff(self, symbol):
        """The total derivative with respect to ``symbol`` (SymEngine passes it as SymPy)."""
        s = se.sympify(symbol)
        partials = self.kind.partials(*self.args)
        # An argument whose partial is 0 is not differentiated (`floor` of a long chain would
        # differentiate all of the chain for a derivative of 0).
        slopes = [se.Integer(0) if p == 0 else _zero_or(a.diff(s))
                  for p, a in zip(partials, self.args)]
        if all(d == 0 for d in slopes):
            return se.Integer(0)
        # An undefined derivative stands alone: times the slope, it would keep the slope's own
        # (maybe complex) terms.
        return se.Add(*[p if is_special(p) and p.get_name() == "undefined" else p * d
                        for p, d in zip(partials, slopes) if d != 0])

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return isinstance(other, _Node) and self.kind is other.kind and self.args == other.args

    def _sympy_(self):
        return _sympy_class(self.kind)(*[a._sympy_() for a in self.args])

    def n(self, digits=15):
        """SymPy's numerical value, at ``digits`` significant digits."""
        return self._sympy_().n(digits)


def _zero_or(slope):
    """``slope``, or 0 for a Piecewise of zeros (SymEngine's derivative of ``np.where(a > 0, a,
    1)`` in another symbol), whose partial may be one no kernel computes (`shape_derivative`)."""
    if isinstance(slope, se.Piecewise) and all(_zero_or(v) == 0 for v in slope.args[::2]):
        return se.Integer(0)
    return slope


def is_special(expr) -> bool:
    """Whether ``expr`` is a node of one of the functions of `NODES`."""
    return isinstance(expr, PyFunction) and isinstance(expr.pyobject(), _Node)


# --- the table ------------------------------------------------------------------------------------
def _softplus(u):
    u = np.asarray(u, dtype=float)
    return np.logaddexp(0.0, u)[()]


def _sigmoid(u):
    return 1.0 / (1.0 + np.exp(-np.asarray(u, dtype=float)))[()]


log1p = Special("log1p", 1, np.log1p, lambda u: [1 / (1 + u)],
                lambda sp, u: sp.log(sp.Add(1, u, evaluate=False), evaluate=False))
expm1 = Special("expm1", 1, np.expm1, lambda u: [se.exp(u)],
                lambda sp, u: sp.Add(sp.exp(u, evaluate=False), -1, evaluate=False))
sigmoid = Special("sigmoid", 1, _sigmoid, lambda u: [se.exp(u - 2 * softplus(u))],
                  lambda sp, u: 1 / sp.Add(1, sp.exp(-u, evaluate=False), evaluate=False))
softplus = Special("softplus", 1, _softplus, lambda u: [sigmoid(u)],
                   lambda sp, u: sp.log(sp.Add(1, sp.exp(u, evaluate=False), evaluate=False),
                                        evaluate=False))
hypot = Special("hypot", 2, np.hypot, lambda a, b: [hypot_ratio(a, b), hypot_ratio(b, a)],
                lambda sp, a, b: sp.sqrt(sp.Add(a ** 2, b ** 2, evaluate=False), evaluate=False))
hypot_ratio = Special(
    "hypot_ratio", 2, lambda a, b: a / np.hypot(a, b),
    lambda a, b: [hypot_ratio(b, a) ** 2 / hypot(a, b),
                  -hypot_ratio(a, b) * hypot_ratio(b, a) / hypot(a, b)],
    lambda sp, a, b: a / sp.sqrt(sp.Add(a ** 2, b ** 2, evaluate=False), evaluate=False))

def _erf(u):
    from scipy.special import erf as scipy_erf
    return scipy_erf(np.asarray(u, dtype=float))[()]


def _erfc(u):
    from scipy.special import erfc as scipy_erfc
    return scipy_erfc(np.asarray(u, dtype=float))[()]


_TWO_OVER_SQRT_PI = 2 / se.sqrt(se.pi)
erf = Special("erf", 1, _erf, lambda u: [_TWO_OVER_SQRT_PI * se.exp(-u * u)],
              lambda sp, u: sp.erf(u, evaluate=False))
erfc = Special("erfc", 1, _erfc, lambda u: [-_TWO_OVER_SQRT_PI * se.exp(-u * u)],
               lambda sp, u: sp.erfc(u, evaluate=False))

floor = Special("floor", 1, np.floor, lambda u: [se.Integer(0)],
                lambda sp, u: sp.floor(u, evaluate=False))


def _quotient(a, b):
    """The integer ``trunc(a / b)`` that ``fmod(a, b)`` takes away, as the value's piece has
    it: ``(a - fmod(a, b)) / b`` to the nearest integer (``a / b`` itself can round to the
    next integer: ``5.3 / 0.1`` is 53.0, while ``fmod(5.3, 0.1)`` is ``5.3 - 52 * 0.1``)."""
    q = (a - fmod(a, b)) / b
    return se.Piecewise((floor(q) + 1, se.Gt(q - floor(q), 0.5)), (floor(q), True))


fmod = Special("fmod", 2, np.fmod, lambda a, b: [se.Integer(1), -_quotient(a, b)],
               lambda sp, a, b: a - b * sp.sign(a / b) * sp.floor(sp.Abs(a / b)))


class _SymEngineOps:
    """`inverse_algorithm`'s operations on SymEngine expressions."""

    exp, log, sqrt = se.exp, se.log, se.sqrt

    @staticmethod
    def where(cond, a, b):
        if isinstance(cond, (bool, BooleanAtom)):
            return a if cond else b
        return se.Piecewise((a, cond), (b, True))

    @staticmethod
    def erf(u):
        return erf(u)

    @staticmethod
    def erfc(u):
        return erfc(u)


# erfinv(x), given t = 1 - |x| exactly (ndtri's tail needs t = 2 p where 2 p - 1 rounds to -1):
# kept whole while derivatives are taken, erfinv' = sqrt(pi)/2 exp(erfinv^2) (t is the same
# function of x, so its partial is 0), and computed by Halley's method in the kernel
inverse_erf = Special(
    "inverse_erf", 2, lambda x, t: float(INVERSE_ERF(x, t)),
    lambda x, t: [se.sqrt(se.pi) / 2 * se.exp(inverse_erf(x, t) ** 2), se.Integer(0)],
    lambda sp, x, t: sp.erfinv(x), lower=lambda x, t: inverse_algorithm(x, t, _SymEngineOps))

# log|Gamma(x)| and psi^(n)(x) (a constant integer n >= 0): kept whole while derivatives are
# taken, log Gamma' = psi^(0) and psi^(n)' = psi^(n+1) (their series, shifts and reflections,
# differentiated as written, grow with every order), and computed by them in the kernel: the
# scalar tier runs `symhess.foreign.gamma_functions.algorithm` on the node's arguments
# (`symhess.primitives` gives the lowering, as it needs the tracer)
gammaln = Special("gammaln", 1, lambda u: float(POLYGAMMA(-1, u)), lambda u: [polygamma(0, u)],
                  lambda sp, u: sp.loggamma(u, evaluate=False))
polygamma = Special("polygamma", 2, lambda n, u: float(POLYGAMMA(n, u)),
                    lambda n, u: [se.Integer(0), polygamma(n + 1, u)],
                    lambda sp, n, u: sp.polygamma(n, u, evaluate=False))

# I_nu(x) and exp(-|x|) I_nu(x) for a constant integer nu >= 0, likewise: I_nu' = (I_(nu-1) +
# I_(nu+1)) / 2 with I_(-1) = I_1, and the scaled form's also takes exp(-|x|)'s
def _neighbours(kind, n, u):
    return (kind(abs(n - 1), u) + kind(n + 1, u)) / 2


def _sign(u):
    return se.Piecewise((se.Integer(-1), se.Lt(u, 0)), (se.Integer(1), se.Gt(u, 0)),
                        (se.Integer(0), True))


bessel_i = Special("bessel_i", 2, lambda n, u: float(BESSEL_I(n, u)),
                   lambda n, u: [se.Integer(0), _neighbours(bessel_i, n, u)],
                   lambda sp, n, u: sp.besseli(n, u, evaluate=False))
bessel_ie = Special("bessel_ie", 2, lambda n, u: float(BESSEL_IE(n, u)),
                    lambda n, u: [se.Integer(0),
                                  _neighbours(bessel_ie, n, u) - _sign(u) * bessel_ie(n, u)],
                    lambda sp, n, u: sp.exp(-sp.Abs(u)) * sp.besseli(n, u, evaluate=False))

# P(a, x) or Q(a, x) = 1 - P (upper = 0 or 1, a constant) and I_x(a, b) or 1 - I_x(a, b), kept
# whole likewise: their derivatives in x are the densities; in a shape, which has no closed
# form, `shape_derivative` of the node, which a kernel refuses to compute (raising inside
# SymEngine's differentiation would end the process)
def _refused(u):
    raise UnsupportedFunctionError(SHAPE_DERIVATIVE, SHAPE_ADVICE)


shape_derivative = Special("shape_derivative", 1, lambda u: np.nan,
                           lambda u: [shape_derivative(u)], lambda sp, u: sp.nan, lower=_refused)


incomplete_gamma = Special(
    "incomplete_gamma", 3, lambda upper, a, x: float(INCOMPLETE_GAMMA(upper, a, x)),
    lambda upper, a, x: [se.Integer(0), shape_derivative(incomplete_gamma(upper, a, x)),
                         (-1) ** upper * se.exp((a - 1) * se.log(x) - x - gammaln(a))],
    lambda sp, upper, a, x: ((sp.uppergamma if upper == 1 else sp.lowergamma)(a, x)
                             / sp.gamma(a)))


incomplete_beta = Special(
    "incomplete_beta", 4, lambda upper, a, b, x: float(INCOMPLETE_BETA(upper, a, b, x)),
    lambda upper, a, b, x: [se.Integer(0),
                            *[shape_derivative(incomplete_beta(upper, a, b, x))] * 2,
                            (-1) ** upper * se.exp((a - 1) * se.log(x) + (b - 1) * log1p(-x)
                                                   - gammaln(a) - gammaln(b) + gammaln(a + b))],
    lambda sp, upper, a, b, x: (sp.betainc_regularized(b, a, 1 - x, 1) if upper == 1
                                else sp.betainc_regularized(a, b, 0, x)))

# The value of its argument, with no derivative: NumPy's ``c ** y`` for a constant c < 0, defined
# only at integer y. Printed as its argument; its derivatives are `undefined`, NaN, and stay NaN
# however often they are differentiated (a constant nan would differentiate to 0).
undefined = Special("undefined", 1, lambda u: np.nan, lambda u: [undefined(u)],
                    lambda sp, u: sp.nan)
no_derivative = Special("no_derivative", 1, lambda u: u, lambda u: [undefined(u)],
                        lambda sp, u: u)

NODES = {f.name: f for f in (log1p, expm1, softplus, sigmoid, hypot, hypot_ratio, erf, erfc,
                             floor, fmod, inverse_erf, gammaln, polygamma, bessel_i, bessel_ie,
                             incomplete_gamma, incomplete_beta, shape_derivative, no_derivative,
                             undefined)}


# --- SymPy: a Function class per node, for symhess.inspect ---------------------------------------
_SYMPY: dict = {}


def _sympy_class(kind):
    """The SymPy function class of ``kind``: derivative, LaTeX and numerical value included."""
    cls = _SYMPY.get(kind.name)
    if cls is None:
        import sympy

        def fdiff(self, argindex=1):
            partial = kind.partials(*[se.sympify(a) for a in self.args])[argindex - 1]
            return sympy.sympify(partial._sympy_())

        def plain(self):
            return kind.plain(sympy, *self.args)

        cls = type(kind.name, (sympy.Function,), {
            "nargs": kind.nargs,
            "fdiff": fdiff,
            "plain": plain,
            "_eval_evalf": lambda self, prec: plain(self)._eval_evalf(prec),
            "_eval_rewrite_as_log": lambda self, *args, **kw: plain(self),
            "_latex": lambda self, printer, exp=None: (
                printer._print(plain(self)) if exp is None
                else rf"\left({printer._print(plain(self))}\right)^{{{exp}}}"),
            "_symengine_": lambda self: kind(*[se.sympify(a) for a in self.args]),
        })
        _SYMPY[kind.name] = cls
    return cls
