"""The regularized incomplete gamma and beta functions for traced values: ``scipy.special``'s
``gammainc``, ``gammaincc``, ``betainc`` and ``betaincc``, through which the gamma,
chi-squared, beta and Student t families have their distribution functions.

``P(a, x) = gamma(a, x) / Gamma(a)`` is computed, for ``x < a + 1``, by its power series
``x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n))`` and ``Q = 1 - P``; beyond, ``Q``
by Legendre's continued fraction (evaluated forward, by the modified Lentz recurrences) and
``P = 1 - Q``: each is computed directly where it is the smaller, so ``log P`` and ``log Q``
keep their relative accuracy in the tails. ``I_x(a, b)`` likewise: the continued fraction for
``x < (a + 1) / (a + b + 2)``, and ``1 - I_(1-x)(b, a)`` beyond. The terms a branch needs grow
as the square root of the shape (the series about ``9 sqrt(a)``, the fractions ``3 sqrt(a)``),
and a kernel has no loop that stops early: a shape that is a constant when the function is
traced gets as many terms as it needs, up to `SHAPE_LIMIT`; a shape that is an argument gets
the terms for `TRACED_SHAPE_LIMIT`, and NaN above it. The prefactors are ``exp`` of sums as
large as ``a log x``, so the relative error grows with the shape: about 1e-14 at ``a = 10``,
1e-12 at 1000.

The derivatives with respect to ``x`` are the densities, ``x^(a-1) e^-x / Gamma(a)`` and
``x^(a-1) (1-x)^(b-1) / B(a, b)``. Those with respect to the shapes have no closed form (JAX
has neither: its Hessian of ``gammainc`` in ``a`` and its gradient of ``betainc`` in ``a``, ``b``
raise), so a Hessian that needs them raises `UnsupportedFunctionError`; a shape that is data
(an argument not differentiated) or a constant is fine. The cross-check differentiates the
algorithms as written; the scalar tier keeps the functions whole while it differentiates and
prints the algorithms; the array tier computes them and takes its derivatives from the
densities (`second_order_gamma`, `second_order_beta`).
"""

from __future__ import annotations

import math

import numpy as np

from .gamma_functions import betaln, gammaln
from .traced import hold, is_traced

__all__ = ["gammainc", "gammaincc", "betainc", "betaincc", "INCOMPLETE_GAMMA",
           "INCOMPLETE_BETA", "gamma_algorithm", "beta_algorithm", "second_order_gamma",
           "second_order_beta", "gamma_inside", "beta_inside", "SHAPE_LIMIT",
           "TRACED_SHAPE_LIMIT", "SHAPE_DERIVATIVE", "SHAPE_ADVICE"]

#: The largest shape (``a``, or ``b``) a kernel computes the functions for, when it is a
#: constant of the traced function; a larger one is refused when the function is traced.
SHAPE_LIMIT = 1e4
#: The largest shape a kernel computes them for when the shape is an argument (NaN above).
TRACED_SHAPE_LIMIT = 1e3
#: What a Hessian that needs a derivative with respect to a shape is refused with: the name of
#: what is missing, and the advice.
SHAPE_DERIVATIVE = ("the derivative of scipy.special.gammainc, gammaincc, betainc or betaincc "
                    "(and of the gamma, chi2, beta and t distribution functions) with respect "
                    "to a shape parameter a or b")
SHAPE_ADVICE = ("it has no closed form, and symhess has these functions' derivatives with "
                "respect to x only: pass the shape as a constant or as an argument that is not "
                "differentiated")


def _largest_shape(*shapes) -> float:
    """The largest of the constant shapes, `TRACED_SHAPE_LIMIT` if any is traced."""
    if any(is_traced(s) for s in shapes):
        return TRACED_SHAPE_LIMIT
    largest = max(float(np.max(np.asarray(s, dtype=float), initial=0.0)) for s in shapes)
    return largest if math.isfinite(largest) else 0.0


def _all(*conditions):
    """The conditions' logical and (on numbers, arrays and traced values alike)."""
    result = conditions[0]
    for c in conditions[1:]:
        result = np.logical_and(result, c)
    return result


def _beyond(value, x, *shapes):
    """``value``, and NaN, with NaN derivatives, where a traced shape exceeds
    `TRACED_SHAPE_LIMIT`: ``value + w x`` with ``w`` NaN there and 0 elsewhere (a constant NaN
    would have derivatives 0; ``where(beyond, x * nan, value)`` would give reverse mode the
    partial NaN, times the cotangent 0, where it is not)."""
    traced = [s for s in shapes if is_traced(s)]
    if not traced:
        return value
    beyond = traced[0] > TRACED_SHAPE_LIMIT
    for s in traced[1:]:
        beyond = np.logical_or(beyond, s > TRACED_SHAPE_LIMIT)
    return value + np.where(beyond, np.nan, 0.0) * x


def _terms(shape: float) -> tuple[int, int, int]:
    """``(series, gamma fraction, beta fraction)``: the iterations that take the series and the
    continued fractions to under 1e-15 of their sums for shapes up to ``shape`` (measured from
    1e-3 to 3e3 at the switch points, where they converge slowest)."""
    root = math.sqrt(min(shape, SHAPE_LIMIT))
    return 40 + math.ceil(9.0 * root), 120 + math.ceil(3.5 * root), 20 + math.ceil(4.5 * root)


# --- the incomplete gamma function ------------------------------------------------------------
def gamma_algorithm(upper, a, x):
    """``Q(a, x)`` if ``upper`` else ``P(a, x)``, for ``a > 0`` and ``0 < x < inf``: the series
    and the continued fraction, each given a stand-in argument where the other is used."""
    n_series, n_fraction, _ = _terms(_largest_shape(a))
    a, x = hold(a), hold(x)             # (each step reads them: named once, not written out)
    series = x < a + 1.0
    xs, xf = hold(np.where(series, x, a)), hold(np.where(series, a + 1.0, x))
    term, total = 1.0, 1.0
    for n in range(1, n_series + 1):
        term = hold(term * xs / (a + n))
        total = total + term
    p = np.exp(a * np.log(xs) - xs - gammaln(a + 1.0)) * total
    # Q = x^a e^-x / Gamma(a) * 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...))
    b = xf + 1.0 - a
    c, d = 1e300, 1.0 / b
    h = d
    for i in range(1, n_fraction + 1):
        step = -i * (i - a)
        b = b + 2.0
        d = hold(1.0 / (step * d + b))
        c = hold(b + step / c)
        h = hold(h * d * c)
    q = np.exp(a * np.log(xf) - xf - gammaln(a)) * h
    return np.where(series, 1.0 - p, q) if upper else np.where(series, p, 1.0 - q)


def _gamma_number(upper, a, x):
    return float(gamma_algorithm(int(upper), np.float64(a), np.float64(x)))


#: ``INCOMPLETE_GAMMA(upper, a, x)``: `gamma_algorithm` as a ufunc of symhess's own.
INCOMPLETE_GAMMA = np.frompyfunc(_gamma_number, 3, 1)


def gamma_density(a, x):
    """``x^(a-1) e^-x / Gamma(a)``, ``P``'s derivative in ``x`` (for ``x > 0``)."""
    return np.exp((a - 1.0) * np.log(x) - x - gammaln(a))


def _held_shape(given, traced, stop):
    """A shape as the array tier's rules read it: a constant as it is (its algorithm then counts
    the terms it needs), a traced one held (`stop` with ``shape=True``: a derivative with
    respect to it is refused)."""
    return stop(traced, shape=True) if is_traced(given) else given


def second_order_gamma(given, args, stop):
    """The array tier's rule: the value at ``stop(x)`` with the density and its slope as the
    first and second derivatives in ``x``; the shape is held (`stop` with ``shape=True``: its
    derivative is refused)."""
    upper = int(given[0])
    a, x = _held_shape(given[1], args[1], stop), args[2]
    at = stop(x)
    f0 = stop(gamma_algorithm(upper, a, at))
    f1 = stop(gamma_density(a, at))
    f2 = f1 * ((a - 1.0) / at - 1.0)
    sign = -1.0 if upper else 1.0
    d = x - at
    return f0 + sign * (f1 * d + 0.5 * f2 * (d * d))


def _limited(name, *shapes):
    """Refuse constant shapes above `SHAPE_LIMIT` (when the function is traced)."""
    if not any(is_traced(s) for s in shapes) and _largest_shape(*shapes) > SHAPE_LIMIT:
        from ..errors import OperandTypeError
        raise OperandTypeError(f"scipy.special.{name}: symhess computes it for shapes up to "
                               f"{SHAPE_LIMIT:g}, not {max(np.max(s) for s in shapes):g}")


def _shape_inside(s):
    """Whether a shape is one the algorithms take: positive, and for a traced one at most
    `TRACED_SHAPE_LIMIT` (a condition on the shape alone, so that a constant stays one)."""
    return _all(s > 0, s <= TRACED_SHAPE_LIMIT) if is_traced(s) else s > 0


def gamma_inside(upper: int, a, x):
    """``P(a, x)`` or ``Q(a, x)`` for an ``x`` known to be positive and finite (the
    distribution functions' own edges hold it there): with the shape's edges (NaN where it is
    not positive) but no test of ``x``, whose conditions, when ``x`` is itself piecewise, the
    scalar tier's SymPy conversions are slow with."""
    _limited("gammainc", a)
    shape_inside = _shape_inside(a)
    ai = np.where(shape_inside, a, 1.0)
    value = (INCOMPLETE_GAMMA(upper, ai, x) if is_traced(ai) or is_traced(x)
             else gamma_algorithm(upper, np.asarray(ai, float), np.asarray(x, float)))
    return _beyond(np.where(shape_inside, value, np.nan), x, a)


def _incomplete_gamma(upper: int, a, x):
    """``P`` or ``Q`` with SciPy's values at the edges: NaN for ``a < 0``, ``x < 0`` or both
    0 (or an argument NaN); ``P(0, x > 0) = 1``; ``P(a, 0) = 0``; ``P(a, inf) = 1``."""
    x_inside = _all(x > 0, x < np.inf)
    value = gamma_inside(upper, a, np.where(x_inside, x, 1.0))
    defined = _all(a >= 0, x >= 0, np.logical_or(a > 0, x > 0))
    lower_edge = np.where(defined, np.where(np.logical_or(a == 0, x == np.inf), 1.0, 0.0),
                          np.nan)
    edge = np.where(np.isnan(lower_edge), np.nan, 1.0 - lower_edge) if upper else lower_edge
    return np.where(_all(a > 0, x_inside), value, edge)


def gammainc(a, x):
    """``P(a, x)``, the regularized lower incomplete gamma function."""
    return _incomplete_gamma(0, a, x)


def gammaincc(a, x):
    """``Q(a, x) = 1 - P(a, x)``, the regularized upper incomplete gamma function."""
    return _incomplete_gamma(1, a, x)


# --- the incomplete beta function -------------------------------------------------------------
def _beta_fraction(a, b, x, n):
    """``I_x(a, b)`` by its continued fraction, for ``x < (a + 1) / (a + b + 2)``."""
    c, d = 1.0, 1.0 / (1.0 - (a + b) * x / (a + 1.0))
    h = d
    for m in range(1, n + 1):
        for step in (m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m)),
                     -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0))):
            d = hold(1.0 / (1.0 + step * d))
            c = hold(1.0 + step / c)
            h = hold(h * d * c)
    return np.exp(a * np.log(x) + b * np.log1p(-x) - np.log(a) - betaln(a, b)) * h


def beta_algorithm(upper, a, b, x):
    """``1 - I_x(a, b)`` if ``upper`` else ``I_x(a, b)``, for ``a, b > 0`` and ``0 < x < 1``:
    the fraction for ``I_x(a, b)`` below the switch, for ``I_(1-x)(b, a)`` above."""
    n = _terms(_largest_shape(a, b))[2]
    a, b, x = hold(a), hold(b), hold(x)
    direct = x * (a + b + 2.0) < a + 1.0
    xd = hold(np.where(direct, x, 0.5 * (a + 1.0) / (a + b + 2.0)))
    xm = hold(np.where(direct, 0.5 * (b + 1.0) / (a + b + 2.0), 1.0 - x))
    low = _beta_fraction(a, b, xd, n)
    high = _beta_fraction(b, a, xm, n)
    return np.where(direct, 1.0 - low, high) if upper else np.where(direct, low, 1.0 - high)


def _beta_number(upper, a, b, x):
    return float(beta_algorithm(int(upper), np.float64(a), np.float64(b), np.float64(x)))


#: ``INCOMPLETE_BETA(upper, a, b, x)``: `beta_algorithm` as a ufunc of symhess's own.
INCOMPLETE_BETA = np.frompyfunc(_beta_number, 4, 1)


def beta_density(a, b, x):
    """``x^(a-1) (1-x)^(b-1) / B(a, b)``, ``I``'s derivative in ``x`` (for ``0 < x < 1``)."""
    return np.exp((a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - betaln(a, b))


def second_order_beta(given, args, stop):
    """The array tier's rule for ``INCOMPLETE_BETA``, as `second_order_gamma`'s."""
    upper = int(given[0])
    a, b = (_held_shape(given[k], args[k], stop) for k in (1, 2))
    x = args[3]
    at = stop(x)
    f0 = stop(beta_algorithm(upper, a, b, at))
    f1 = stop(beta_density(a, b, at))
    f2 = f1 * ((a - 1.0) / at - (b - 1.0) / (1.0 - at))
    sign = -1.0 if upper else 1.0
    d = x - at
    return f0 + sign * (f1 * d + 0.5 * f2 * (d * d))


def beta_inside(upper: int, a, b, x):
    """``I_x(a, b)`` or its complement for an ``x`` known to be inside ``(0, 1)``, as
    `gamma_inside`."""
    _limited("betainc", a, b)
    a_inside, b_inside = _shape_inside(a), _shape_inside(b)
    shapes_inside = _all(a_inside, b_inside)
    ai, bi = np.where(a_inside, a, 1.0), np.where(b_inside, b, 1.0)
    traced = is_traced(ai) or is_traced(bi) or is_traced(x)
    value = (INCOMPLETE_BETA(upper, ai, bi, x) if traced
             else beta_algorithm(upper, *(np.asarray(v, float) for v in (ai, bi, x))))
    return _beyond(np.where(shapes_inside, value, np.nan), x, a, b)


def _incomplete_beta(upper: int, a, b, x):
    """``I_x(a, b)`` or its complement with SciPy's values at the edges: NaN for ``a < 0``,
    ``b < 0``, ``x`` outside ``[0, 1]``, ``a = b = 0`` (or an argument NaN); 0 at ``x = 0``
    and 1 at ``x = 1``; for ``x`` inside, 1 where ``a = 0`` and 0 where ``b = 0``."""
    x_inside = _all(x > 0, x < 1)
    value = beta_inside(upper, a, b, np.where(x_inside, x, 0.5))
    defined = _all(a >= 0, b >= 0, x >= 0, x <= 1, np.logical_or(a > 0, b > 0))
    lower_edge = np.where(x == 0, 0.0, np.where(np.logical_or(x == 1, a == 0), 1.0, 0.0))
    edge = np.where(defined, 1.0 - lower_edge if upper else lower_edge, np.nan)
    return np.where(_all(a > 0, b > 0, x_inside), value, edge)


def betainc(a, b, x):
    """``I_x(a, b)``, the regularized incomplete beta function."""
    return _incomplete_beta(0, a, b, x)


def betaincc(a, b, x):
    """``1 - I_x(a, b)``."""
    return _incomplete_beta(1, a, b, x)
