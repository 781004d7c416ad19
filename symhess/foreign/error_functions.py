"""The error function's family for traced values: ``erf``, ``erfc``, ``ndtr``, ``log_ndtr``,
their inverses ``erfinv``, ``erfcinv``, ``ndtri``, and the scaled ``erfcx``.

``erf`` and ``erfc`` are ufuncs of symhess's own (`ERF`, `ERFC`) that every tracer has a rule
for, printed as the C library's. The rest are NumPy programs over them, so that every tracer
differentiates them with its own rules:

* ``log_ndtr`` reads ``log1p(-Phi(-x))`` above 0, ``log(Phi(x))`` down to -20, and the
  asymptotic series of Mills' ratio below, where the derivatives of ``log(erfc)`` would divide
  underflowed squares.
* The inverses solve ``erf(y) = x`` by Halley's method (``f'' = -2 y f'`` makes each step
  ``y - u / (1 + y u)``, ``u = f / f'``) from a guess good to a few parts in a thousand (one
  in a hundred at ``1 - 1e-300``): four steps make the value exact to rounding, and its first
  and second derivatives too (a step's derivatives are exact to the square of the error its
  input's derivatives had). In the tails the residual is
  ``erfc(|y|) - t`` with ``t = 1 - |x|`` as the caller has it exactly (``2 p`` for ``ndtri``),
  and the step is taken in logarithms, so that ``ndtri(1e-300)`` is as exact as ``ndtri(0.3)``.
* ``erfcx(x) = exp(x^2) erfc(x)`` below 8 (within ``x^2`` units in the last place) and its
  asymptotic series above, where ``exp(x^2)`` overflows and ``erfc`` underflows.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ERF", "ERFC", "INVERSE_ERF", "OWN", "erf", "erfc", "ndtr", "log_ndtr", "erfinv",
           "erfcinv", "ndtri", "erfcx", "inverse_algorithm", "second_order_inverse"]

#: The error function and its complement as ufuncs of symhess's own (NumPy has neither): on a
#: traced value ``scipy.special.erf`` runs ``ERF``, which every tracer has a rule for (a
#: function kept whole in the scalar tier, a node in the array tier, a jet rule in the
#: cross-check), printed as the C library's ``erf``.
ERF = np.frompyfunc(math.erf, 1, 1)
ERFC = np.frompyfunc(math.erfc, 1, 1)
#: How users call them
OWN = {ERF: "scipy.special.erf", ERFC: "scipy.special.erfc"}

_SQRT_HALF = math.sqrt(0.5)
_SQRT2 = math.sqrt(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)
_LOG_HALF_SQRT_PI = math.log(_HALF_SQRT_PI)
# log Phi(x) = -x^2/2 - log(-x) - log(2 pi)/2 + log(1 - 1/x^2 + 3/x^4 - ...) below -20, where
# the derivatives of log(erfc) would divide underflowed squares (exp(-x^2) / erfc(-x/sqrt 2)^2
# is 0/0 from -26.6): the series' coefficients of 1, 1/x^2, ..., 1/x^20, (-1)^k (2k - 1)!!
# (its first omitted term is under 4e-19 at -20)
_MILLS = tuple(float((-1) ** k * math.prod(range(1, 2 * k, 2))) for k in range(11))
_TAIL = -20.0


def _apply(ufunc, *args):
    """``ufunc(*args)``: a traced value's rule, or on numbers the value as a float array."""
    y = ufunc(*args)
    return y.astype(np.float64) if type(y) is np.ndarray and y.dtype == object else y


def erf(x):
    """``erf(x)``."""
    return _apply(ERF, x)


def erfc(x):
    """``erfc(x) = 1 - erf(x)``, without the cancellation for large ``x``."""
    return _apply(ERFC, x)


def ndtr(x):
    """The standard normal distribution function ``Phi(x) = erfc(-x / sqrt(2)) / 2``."""
    return 0.5 * erfc(-_SQRT_HALF * x)


def log_ndtr(x):
    """``log(Phi(x))``: ``log1p(-Phi(-x))`` above 0, ``log(Phi(x))`` down to -20, and the
    asymptotic series of Mills' ratio below (each branch reads its operand only where it is
    taken, so no branch's infinity reaches a derivative)."""
    upper = x > 0
    tail = x < _TAIL
    xu = np.where(upper, x, 1.0)
    xm = np.where(np.logical_or(upper, tail), -1.0, x)
    xt = np.where(tail, x, _TAIL - 1.0)
    w = 1.0 / (xt * xt)
    series = np.polyval(_MILLS[::-1], w)
    asymptotic = -0.5 * xt * xt - np.log(-xt) - _HALF_LOG_2PI + np.log(series)
    middle = np.log(0.5 * erfc(-_SQRT_HALF * xm))
    return np.where(upper, np.log1p(-0.5 * erfc(_SQRT_HALF * xu)),
                    np.where(tail, asymptotic, middle))


# --- the inverses -----------------------------------------------------------------------------
# erfinv(x) = sqrt(pi)/2 (x + pi/12 x^3 + 7 pi^2/480 x^5 + 127 pi^3/40320 x^7 + ...) near 0
_TAYLOR = (1.0, math.pi / 12, 7 * math.pi ** 2 / 480, 127 * math.pi ** 3 / 40320,
           4369 * math.pi ** 4 / 5806080)
_A = 0.147          # the constant of the closed-form guess in the tails (a few parts in 1000)
_STEPS = 4


class _NumPyOps:
    """The operations `inverse_algorithm` is written with, for NumPy and the tracers."""

    where, exp, log, sqrt = staticmethod(np.where), np.exp, np.log, np.sqrt
    erf, erfc = staticmethod(erf), staticmethod(erfc)


def _horner(coefficients, z):
    """``sum_k coefficients[k] z^k``, lowest first, for any operands."""
    out = coefficients[-1]
    for c in coefficients[-2::-1]:
        out = out * z + c
    return out


def inverse_algorithm(x, t, ops=_NumPyOps):
    """``erfinv(x)`` for ``|x| < 1``, given ``t = 1 - |x| > 0`` exactly, written with ``ops``
    (``where``, ``exp``, ``log``, ``sqrt``, ``erf``, ``erfc``): NumPy's for the array tier and
    the cross-check, which differentiate it; SymEngine's for the scalar tier, which keeps
    ``erfinv`` whole while it differentiates (`INVERSE_ERF`) and prints this."""
    central = t >= 0.5                                    # |x| <= 1/2
    s = ops.where(x >= 0, 1.0, -1.0)
    xc = ops.where(central, x, 0.0)
    guess_central = _HALF_SQRT_PI * xc * _horner(_TAYLOR, xc * xc)
    tt = ops.where(central, 0.5, t)
    log_t = ops.log(tt)
    ell = log_t + ops.log(2.0 - tt)                       # log(1 - x^2), without cancellation
    b = 2.0 / (math.pi * _A) + 0.5 * ell
    guess_tail = s * ops.sqrt(ops.sqrt(b * b - ell / _A) - b)
    y = ops.where(central, guess_central, guess_tail)
    for _ in range(_STEPS):
        # u = f / f': erf(y) - x over 2/sqrt(pi) exp(-y^2), or in the tails
        # (erfc(s y) - t) over -s 2/sqrt(pi) exp(-y^2), as -s (erfc(s y)/t - 1) t exp(y^2) ...
        yc = ops.where(central, y, 0.0)
        u_central = (ops.erf(yc) - xc) * _HALF_SQRT_PI * ops.exp(yc * yc)
        yt = ops.where(central, 1.0, y)
        scale = ops.exp(yt * yt + log_t + _LOG_HALF_SQRT_PI)
        u_tail = -s * (ops.erfc(s * yt) / tt - 1.0) * scale
        u = ops.where(central, u_central, u_tail)
        y = y - u / (1.0 + y * u)
    return y


def second_order_inverse(x, t, stop):
    """`inverse_algorithm`'s value, with its first and second derivatives in closed form:
    ``y + s d + y s^2 d^2`` for ``y`` computed from ``stop(x)``, ``s = sqrt(pi)/2 exp(y^2)``
    and ``d = x - stop(x)`` (0, of slope 1), where ``stop`` is the identity with no derivative.
    Its value is ``y`` and its derivatives ``s`` and ``s' = 2 y s^2``: the array tier's rule,
    which then does not differentiate the iterations (their derivatives, as the array tier
    builds them, made kernels of hundreds of loops)."""
    y = stop(inverse_algorithm(stop(x), stop(t)))
    d = x - stop(x)
    s = _HALF_SQRT_PI * np.exp(y * y)
    return y + s * d + y * s * s * (d * d)


def _inverse_number(x, t):
    return float(inverse_algorithm(np.float64(x), np.float64(t)))


#: ``erfinv(x)`` given ``t = 1 - |x|``, as a ufunc: the scalar tier keeps it whole (a function
#: of its own, whose derivative is ``sqrt(pi)/2 exp(erfinv(x)^2)``), the array tier computes it
#: with `second_order_inverse`, and the cross-check differentiates `inverse_algorithm` itself.
INVERSE_ERF = np.frompyfunc(_inverse_number, 2, 1)


def _guarded(x, t):
    """`_inverse` where ``t > 0``; +-inf at ``|x| = 1``, NaN beyond and at NaN."""
    inside = t > 0
    y = _apply(INVERSE_ERF, np.where(inside, x, 0.0), np.where(inside, t, 1.0))
    edge = np.where(t == 0, np.where(x > 0, np.inf, -np.inf), np.nan)
    return np.where(inside, y, edge)


def erfinv(x):
    """The inverse of ``erf`` on ``(-1, 1)``."""
    return _guarded(x, np.where(x > 0, 1.0 - x, 1.0 + x))


def erfcinv(y):
    """The inverse of ``erfc`` on ``(0, 2)``: ``erfinv(1 - y)``, with ``t = y`` (or ``2 - y``)
    exact in the tails."""
    return _guarded(1.0 - y, np.where(y <= 1, y, 2.0 - y))


def ndtri(p):
    """The inverse of ``ndtr`` on ``(0, 1)``: ``sqrt(2) erfinv(2 p - 1)``, with ``t = 2 p`` (or
    ``2 (1 - p)``) exact in the tails."""
    return _SQRT2 * _guarded(2.0 * p - 1.0, 2.0 * np.where(p <= 0.5, p, 1.0 - p))


# --- the scaled complement ----------------------------------------------------------------------
_ASYMPTOTIC = 8.0
# erfcx(x) ~ 1/(x sqrt(pi)) sum_k (-1)^k (2k - 1)!! / (2 x^2)^k: coefficients of 1/x^(2k)
_ERFCX = tuple(float((-1) ** k * math.prod(range(1, 2 * k, 2)) / 2 ** k) for k in range(21))


def erfcx(x):
    """``exp(x^2) erfc(x)``: as written below 8 (``inf`` below -26.6, as SciPy's), the
    asymptotic series above (its first omitted term is under 1e-19 at 8)."""
    far = x >= _ASYMPTOTIC
    xn = np.where(far, 0.0, x)
    xf = np.where(far, x, _ASYMPTOTIC)
    series = np.polyval(_ERFCX[::-1], 1.0 / (xf * xf))
    return np.where(far, series / (xf * math.sqrt(math.pi)), np.exp(xn * xn) * erfc(xn))
