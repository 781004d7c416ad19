"""The gamma function's family for traced values: ``gammaln``, ``loggamma``, ``gamma``,
``digamma`` (``psi``), ``polygamma``, ``betaln`` and ``beta``, on the whole real line.

For ``x > 0`` the recurrence ``Gamma(x + 10) = x (x + 1) ... (x + 9) Gamma(x)`` moves the
argument to ``y >= 10``, where the asymptotic series are accurate to a few units in the last
place (their first omitted terms are under 1e-16 there; ``polygamma(n, .)`` shifts as far as
its order needs). For ``x <= 0`` the reflection formulas take them to ``1 - x``:
``log|Gamma(x)| = log(pi / |sin(pi x)|) - log Gamma(1 - x)``, ``psi(x) = psi(1 - x) -
pi cot(pi x)`` and its derivatives, ``psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi
x))`` with ``P_0(c) = c``, ``P_(k+1)(c) = -(1 + c^2) P_k'(c)``; ``sin`` and ``cot`` read ``x -
m`` for the integer ``m`` nearest ``x``, which is exact, so ``gammaln(-1e-20)`` is as exact as
``gammaln(1e-20)``. At the
poles the values are SciPy's (``gammaln`` and ``polygamma`` infinite, ``digamma`` and ``gamma``
NaN at the negative integers and infinite at 0). Everything is an ordinary NumPy expression, so
every tracer differentiates it; the derivatives are those of the series, accurate to the same
few units.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .numpy_rounding import is_even
from .traced import is_traced

__all__ = ["gammaln", "loggamma", "gamma", "digamma", "polygamma", "betaln", "beta", "POLYGAMMA",
           "algorithm", "second_order_polygamma"]

_SHIFT = 10
# the series' coefficients of 1, 1/y^2, 1/y^4, ... (np.polyval takes them highest first)
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
_DIGAMMA = (-1 / 12, 1 / 120, -1 / 252, 1 / 240, -1 / 132, 691 / 32760, -1 / 12)
# B_2, B_4, ..., B_30
_BERNOULLI = tuple(Fraction(p, q) for p, q in (
    (1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730), (7, 6), (-3617, 510),
    (43867, 798), (-174611, 330), (854513, 138), (-236364091, 2730), (8553103, 6),
    (-23749461029, 870), (8615841276005, 14322)))
_LOG_PI = math.log(math.pi)


# --- x > 0 ---------------------------------------------------------------------------------------
def _shifted(x):
    """``(y, log(x (x + 1) ... (x + 9)) or 0, 1 / x + ... + 1 / (x + 9) or 0)`` for ``x > 0``:
    the argument moved to ``y >= 10`` where it is below 10, and what the move costs."""
    small = x < _SHIFT
    xs = np.where(small, x, 1.0)
    product, harmonic = xs, 1.0 / xs
    for k in range(1, _SHIFT):
        product = product * (xs + k)
        harmonic = harmonic + 1.0 / (xs + k)
    y = np.where(small, x + _SHIFT, x)
    return (y, np.where(small, np.log(product), 0.0), np.where(small, harmonic, 0.0))


def _gammaln_positive(x):
    y, log_product, _ = _shifted(x)
    series = np.polyval(_STIRLING[::-1], 1.0 / (y * y))
    return (y - 0.5) * np.log(y) - y + 0.5 * np.log(2 * np.pi) + series / y - log_product


def _digamma_positive(x):
    y, _, harmonic = _shifted(x)
    w = 1.0 / (y * y)
    return np.log(y) - 0.5 / y + w * np.polyval(_DIGAMMA[::-1], w) - harmonic


def _polygamma_series(n: int):
    """``(shift, coefficients)`` for ``psi^(n)``, ``n >= 1``: ``psi^(n)(y) = (-1)^(n+1) / y^n
    ((n-1)! + n! / (2 y) + sum_k B_2k (2k+n-1)! / (2k)! / y^(2k))`` is used at ``y >= shift``,
    the first shift at which the omitted term is under 1e-17 of the leading one."""
    terms = [b * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
             for k, b in enumerate(_BERNOULLI, start=1)]
    lead = math.factorial(n - 1)
    shift = _SHIFT
    while abs(terms[-1]) / lead / shift ** (2 * len(terms)) > 1e-17:
        shift += 1
    return shift, (float(lead),) + tuple(float(t) for t in terms)


def _polygamma_positive(n: int, x):
    shift, coefficients = _polygamma_series(n)
    y = x + shift
    w = 1.0 / (y * y)
    series = coefficients[0] + math.factorial(n) / (2.0 * y) + w * np.polyval(
        coefficients[:0:-1], w)
    recurrence = sum((x + k) ** -(n + 1) for k in range(shift))
    return (-1.0) ** (n + 1) * series / y ** n - (-1.0) ** n * math.factorial(n) * recurrence


# --- the whole line ------------------------------------------------------------------------------
def _nearest(x):
    """An integer ``m`` within 1/2 of ``x`` (``floor(x + 1/2)``; which one at a tie does not
    matter): ``x - m`` is then exact."""
    return np.floor(x + 0.5)


def _reflected(x):
    """``(positive, 1 - x or a positive stand-in, r = x - m or a harmless stand-in)`` with
    ``m`` = `_nearest` ``(x)``: what the reflection formulas read where ``x <= 0``."""
    positive = x > 0
    r = np.where(positive, 0.25, x - _nearest(x))
    return positive, np.where(positive, x, 1.0 - x), r


def _cot(r):
    """``cot(pi r)`` for ``|r| <= 1/2``: ``cos / sin`` near the pole at 0, and ``tan(pi (1/2 -
    |r|))`` with the sign of ``r`` near ``+-1/2``, where it is exactly 0 (``cos(pi / 2)`` is
    6e-17, which a reflection's polynomial multiplies by ``pi^(n+1)``)."""
    near = np.abs(r) < 0.25
    rn = np.where(near, r, 0.125)
    rf = np.where(near, 0.375, r)
    far = np.tan(np.pi * (0.5 - np.abs(rf))) * np.where(rf < 0, -1.0, 1.0)
    return np.where(near, np.cos(np.pi * rn) / np.sin(np.pi * rn), far)


def _gammaln(x):
    """``log|Gamma(x)|`` (without the poles)."""
    positive, xp, r = _reflected(x)
    lg = _gammaln_positive(xp)
    reflected = _LOG_PI - np.log(np.abs(np.sin(np.pi * r))) - lg
    return np.where(positive, lg, reflected)


def _sign(x):
    """The sign of ``Gamma(x)``: 1 above 0, below it that of ``sin(pi x) = (-1)^m sin(pi r)``
    for ``x = m + r``, ``m`` = `_nearest` ``(x)``."""
    positive, _, r = _reflected(x)
    even = is_even(_nearest(x))
    return np.where(positive, 1.0, np.where(even, 1.0, -1.0) * np.where(r < 0, -1.0, 1.0))


def _cot_derivative(n: int):
    """The coefficients of ``P_n`` (lowest first): ``d^n/dx^n cot(pi x) = pi^n P_n(cot(pi x))``."""
    p = [0.0, 1.0]
    for _ in range(n):
        dp = [k * c for k, c in enumerate(p)][1:] or [0.0]
        # -(1 + c^2) P'(c)
        q = [0.0] * (len(dp) + 2)
        for k, c in enumerate(dp):
            q[k] -= c
            q[k + 2] -= c
        p = q
    return p


def _polygamma(n: int, x):
    """``psi^(n)(x)`` for ``n >= 0`` (without the poles)."""
    positive, xp, r = _reflected(x)
    if n == 0:
        value = _digamma_positive(xp)
        return np.where(positive, value, value - np.pi * _cot(r))
    value = _polygamma_positive(n, xp)
    c = _cot(r)
    reflected = (-1.0) ** n * value - np.pi ** (n + 1) * np.polyval(_cot_derivative(n)[::-1], c)
    return np.where(positive, value, reflected)


def algorithm(n: int, x):
    """``log|Gamma(x)|`` for ``n = -1``, ``psi^(n)(x)`` for ``n >= 0``, away from the poles
    (``x = 0, -1, -2, ...``): the series, shifts and reflections above, written in NumPy. The
    cross-check differentiates it as written; the scalar tier keeps these functions whole while
    it differentiates (``log Gamma' = psi``, ``psi^(n)' = psi^(n+1)``) and prints this; the
    array tier computes it and takes its derivatives as the next orders
    (`second_order_polygamma`)."""
    n = int(n)
    return _gammaln(x) if n == -1 else _polygamma(n, x)


def _polygamma_number(n, x):
    return float(algorithm(n, np.float64(x)))


#: ``POLYGAMMA(n, x)``: `algorithm` as a ufunc of symhess's own, which each tracer has a rule for.
POLYGAMMA = np.frompyfunc(_polygamma_number, 2, 1)


def second_order_polygamma(n, x, stop):
    """`algorithm`'s value at ``x``, with its first and second derivatives those of the next two
    orders: ``f0 + f1 d + f2 d^2 / 2`` at ``stop(x)``, with ``d = x - stop(x)`` (0, of slope
    1), where ``stop`` is the identity with no derivative (the array tier's rule)."""
    at = stop(x)
    f0, f1, f2 = (stop(algorithm(int(n) + k, at)) for k in range(3))
    d = x - at
    return f0 + f1 * d + 0.5 * f2 * (d * d)


def _order(n, x):
    """``psi^(n)(x)`` (``log|Gamma(x)|`` for ``n = -1``) with the poles' values SciPy gives:
    ``POLYGAMMA`` on traced values (each tracer's rule), `algorithm` on numbers."""
    pole = np.logical_and(x <= 0, np.floor(x) == x)
    if n == -1:
        at_zero = at_negative = np.inf
    elif n == 0:
        at_zero, at_negative = -np.inf, np.nan
    else:
        at_zero = at_negative = (-1.0) ** (n + 1) * np.inf     # the limit from the right
    inside = np.where(pole, 0.5, x)
    value = POLYGAMMA(n, inside) if is_traced(inside) else algorithm(n, np.asarray(inside, float))
    return np.where(pole, np.where(x == 0, at_zero, at_negative), value)


def gammaln(x):
    """``log|Gamma(x)|``."""
    return _order(-1, x)


def loggamma(x):
    """``log(Gamma(x))`` for real ``x``: ``gammaln`` for ``x > 0``, ``inf`` at 0, NaN below
    (SciPy's real ``loggamma``; a complex value would be needed there)."""
    return np.where(x > 0, gammaln(x), np.where(x == 0, np.inf, np.nan))


def gamma(x):
    """``Gamma(x)``: ``exp(gammaln(x))`` with its sign; ``inf`` at 0, NaN at -1, -2, ..."""
    pole = np.logical_and(x <= 0, np.floor(x) == x)
    value = _sign(x) * np.exp(gammaln(x))
    return np.where(pole, np.where(x == 0, np.inf, np.nan), value)


def digamma(x):
    """``d log Gamma(x) / dx``; ``psi(x) = psi(1 - x) - pi cot(pi x)`` below 0."""
    return _order(0, x)


def polygamma(n, x):
    """``psi^(n)(x)``, the ``n``-th derivative of ``digamma``, for a constant integer ``n >= 0``."""
    orders = np.unique(np.asarray(n))
    if orders.dtype.kind not in "iuf" or np.any(orders != np.floor(orders)) or np.any(orders < 0):
        from ..errors import OperandTypeError
        raise OperandTypeError("scipy.special.polygamma(n, x) takes a constant integer order "
                               f"n >= 0, not {n!r}")
    if orders.size != 1:
        result = [np.where(np.asarray(n) == k, polygamma(int(k), x), 0.0) for k in orders]
        return sum(result[1:], result[0])
    return _order(int(orders[0]), x)


def betaln(a, b):
    """``log|B(a, b)|``."""
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def beta(a, b):
    """``B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b)``, as ``exp(betaln)`` with the sign of the
    three gamma functions."""
    return _sign(a) * _sign(b) * _sign(a + b) * np.exp(betaln(a, b))
