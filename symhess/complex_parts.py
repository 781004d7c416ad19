"""Real and imaginary parts of the complex values a function of real arguments computes.

With real arguments (``holomorphic=False``) every input symbol is real, so a traced value that
holds the imaginary unit (``x + 1j * y``, ``np.exp(1j * t)``) has a real and an imaginary part
that are real expressions of the inputs. ``np.real``, ``np.imag`` (and through them
``np.angle``), ``np.abs`` and ``np.conj`` of such a value are computed from them. SymEngine has no rule for these parts that
holds for real symbols (its own ``as_real_imag`` ends the process on most nodes), so they are
taken here, node by node; a node without a rule is refused by name.
"""

from __future__ import annotations

import symengine as se
from symengine.lib.symengine_wrapper import ComplexBase

from . import errors, special, special_nodes


def is_complex(*exprs) -> bool:
    """Whether any of ``exprs`` holds a complex number (the imaginary unit, or a constant with
    one)."""
    return any(isinstance(e, ComplexBase) for e in exprs) or special_nodes.find(
        exprs, lambda x: any(isinstance(a, ComplexBase) for a in x.args)) is not None


def parts(e) -> tuple:
    """``(re, im)`` of ``e``, each a real expression of real symbols."""
    memo: dict = {}

    def split(x):
        if x in memo:
            return memo[x]
        if isinstance(x, ComplexBase):
            out = x.real_part(), x.imaginary_part()
        elif not is_complex(x):
            out = x, se.Integer(0)
        else:
            out = _split(x, split)
        memo[x] = out
        return out
    return split(se.sympify(e))


def _split(x, split):
    """The parts of a node holding a complex number, from its arguments' parts."""
    if isinstance(x, se.Add):
        pairs = [split(a) for a in x.args]
        return se.Add(*(p[0] for p in pairs)), se.Add(*(p[1] for p in pairs))
    if isinstance(x, se.Mul):
        re, im = se.Integer(1), se.Integer(0)
        for a in x.args:
            c, d = split(a)
            re, im = re * c - im * d, re * d + im * c
        return re, im
    if isinstance(x, se.Pow):
        return _power(x, split)
    if len(x.args) == 1 and type(x).__name__ in _FUNCTIONS:
        a, b = split(x.args[0])
        return _FUNCTIONS[type(x).__name__](a, b)
    raise errors.UnsupportedFunctionError(
        f"{type(x).__name__.lower()} of a complex value",
        "a function of real arguments that computes through complex numbers may use +, -, *, /, "
        "powers, exp, log, sin, cos, sinh and cosh of them, and np.real, np.imag, np.abs, "
        "np.angle and np.conj; pass holomorphic=True for a complex function of complex "
        "arguments")


def _power(x, split):
    base, exponent = x.args
    if base == se.E:                           # SymEngine's exp(w)
        return _FUNCTIONS["exp"](*split(exponent))
    if is_complex(exponent):                   # z ** w = exp(w log z)
        return split(se.exp(exponent * se.log(base)))
    a, b = split(base)
    if isinstance(exponent, se.Integer) and abs(int(exponent)) <= 8:
        re, im = se.Integer(1), se.Integer(0)
        for _ in range(abs(int(exponent))):
            re, im = re * a - im * b, re * b + im * a
        if int(exponent) < 0:                  # 1 / z = conj(z) / |z|^2
            size = re ** 2 + im ** 2
            re, im = re / size, -im / size
        return re, im
    size, angle = (a ** 2 + b ** 2) ** (exponent / 2), se.atan2(b, a)
    return size * se.cos(exponent * angle), size * se.sin(exponent * angle)


_FUNCTIONS = {       # by SymEngine's class names; exp(w) is a power of E
    "exp": lambda a, b: (se.exp(a) * se.cos(b), se.exp(a) * se.sin(b)),
    "log": lambda a, b: (se.log(a ** 2 + b ** 2) / 2, se.atan2(b, a)),
    "sin": lambda a, b: (se.sin(a) * se.cosh(b), se.cos(a) * se.sinh(b)),
    "cos": lambda a, b: (se.cos(a) * se.cosh(b), -se.sin(a) * se.sinh(b)),
    "sinh": lambda a, b: (se.sinh(a) * se.cos(b), se.cosh(a) * se.sin(b)),
    "cosh": lambda a, b: (se.cosh(a) * se.cos(b), se.sinh(a) * se.sin(b)),
}


def real(e):
    return parts(e)[0]


def imag(e):
    return parts(e)[1]


def absolute(e):
    """``|e|`` as NumPy computes it, ``hypot(re, im)`` (no overflow of the squares)."""
    return special.hypot(*parts(e))


def conjugate(e):
    re, im = parts(e)
    return re - se.I * im
