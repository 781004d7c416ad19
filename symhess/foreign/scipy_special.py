"""``scipy.special``'s functions written in NumPy, for traced values.

SciPy's special functions are ufuncs: on a traced value NumPy hands them to the tracer
(``__array_ufunc__``), which runs the definition here (`ufunc_definition`) instead of a rule of
its own. Its Python functions (``logsumexp``, ``softmax``, ``log_softmax``) are interposed like
``scipy.linalg``'s (`symhess.foreign`).

Each definition is written so that its value and its first and second derivatives, as every
tracer differentiates it, stay finite and accurate where SciPy's value is: ``expit`` and
``log_expit`` go through ``np.logaddexp(0, -x)`` (softplus, with no overflow at either end);
guards that keep ``0 * log(0)`` out replace an operand by a harmless one inside ``np.where``,
never the result, so no branch that is not taken holds an infinity that a derivative would
multiply by zero; ``pseudo_huber`` is ``r^2 / (hypot(1, r/d) + 1)``, with no cancellation
for small ``r``; ``logsumexp`` subtracts the maximum. The values are tested against SciPy's and
mpmath's, the derivatives against JAX's.
"""

from __future__ import annotations

import math
import sys

import numpy as np

__all__ = ["UFUNCS", "DEFINITIONS", "ufunc_definition", "ufunc_name", "ERF", "ERFC"]

#: The error function and its complement as ufuncs of symhess's own (NumPy has neither): on a
#: traced value ``scipy.special.erf`` runs ``ERF``, which every tracer has a rule for (a
#: function kept whole in the scalar tier, a node in the array tier, a jet rule in the
#: cross-check), printed as the C library's ``erf``.
ERF = np.frompyfunc(math.erf, 1, 1)
ERFC = np.frompyfunc(math.erfc, 1, 1)
_OWN = {ERF: "scipy.special.erf", ERFC: "scipy.special.erfc"}


def expit(x):
    """``1 / (1 + exp(-x))``."""
    return np.exp(-np.logaddexp(0.0, -x))


def log_expit(x):
    """``log(expit(x)) = -softplus(-x)``."""
    return -np.logaddexp(0.0, -x)


def logit(p):
    """``log(p / (1 - p))``."""
    return np.log(p) - np.log1p(-p)


def xlogy(x, y):
    """``x log(y)``, 0 where ``x = 0`` and ``y <= 0``."""
    return x * np.log(np.where(np.logical_and(x == 0, y <= 0), 1.0, y))


def xlog1py(x, y):
    """``x log(1 + y)``, 0 where ``x = 0`` and ``y <= -1``."""
    return x * np.log1p(np.where(np.logical_and(x == 0, y <= -1), 0.0, y))


def entr(x):
    """``-x log(x)`` for ``x > 0``, 0 at 0, ``-inf`` below."""
    return np.where(x < 0, -np.inf, -x * np.log(np.where(x > 0, x, 1.0)))


def rel_entr(x, y):
    """``x log(x / y)`` for ``x, y > 0``; 0 for ``x = 0, y >= 0``; ``inf`` otherwise."""
    inside = np.logical_and(x > 0, y > 0)
    xs, ys = np.where(inside, x, 1.0), np.where(inside, y, 1.0)
    edge = np.where(np.logical_and(x == 0, y >= 0), 0.0, np.inf)
    return np.where(inside, xs * (np.log(xs) - np.log(ys)), edge)


def kl_div(x, y):
    """``x log(x / y) - x + y`` for ``x, y > 0``; ``y`` for ``x = 0, y >= 0``; else ``inf``."""
    return rel_entr(x, y) - x + y


def huber(delta, r):
    """``r^2 / 2`` for ``|r| <= delta``, ``delta (|r| - delta / 2)`` beyond; ``inf`` for
    ``delta < 0``."""
    inner = np.abs(r) <= delta
    value = np.where(inner, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))
    return np.where(delta < 0, np.inf, value)


def pseudo_huber(delta, r):
    """``delta^2 (sqrt(1 + (r / delta)^2) - 1)``, written ``r^2 / (hypot(1, r/delta) + 1)``
    (no cancellation for small ``r``, no overflow for large ``r/delta``); 0 for ``delta = 0``,
    ``inf`` for ``delta < 0``."""
    d = np.where(delta == 0, 1.0, delta)
    value = r * r / (np.hypot(1.0, r / d) + 1.0)
    return np.where(delta < 0, np.inf, np.where(delta == 0, 0.0, value))


def exp10(x):
    """``10 ** x``."""
    return np.exp(x * np.log(10.0))


# --- the error function's family ---------------------------------------------------------------
_SQRT_HALF = math.sqrt(0.5)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# log Phi(x) = -x^2/2 - log(-x) - log(2 pi)/2 + log(1 - 1/x^2 + 3/x^4 - ...) below -20, where
# the derivatives of log(erfc) would divide underflowed squares (exp(-x^2) / erfc(-x/sqrt 2)^2
# is 0/0 from -26.6): the series' coefficients of 1, 1/x^2, ..., 1/x^20, (-1)^k (2k - 1)!!
# (its first omitted term is under 4e-19 at -20)
_MILLS = tuple(float((-1) ** k * math.prod(range(1, 2 * k, 2))) for k in range(11))
_TAIL = -20.0


def _apply(ufunc, x):
    """``ufunc(x)``: a traced value's rule, or on numbers math's value as a float array."""
    y = ufunc(x)
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


# --- the gamma function's family, for x > 0 -----------------------------------------------------
# Below 10 the recurrence Gamma(x + 10) = x (x + 1) ... (x + 9) Gamma(x) moves the argument to
# y >= 10, where the asymptotic series below are accurate to a few units in the last place (their
# first omitted terms are under 1e-16 there); the ten factors' product takes one logarithm. The
# series are ordinary expressions, so every tracer differentiates them: gammaln's derivatives are
# those of the series, digamma's and trigamma's to the same accuracy. x <= 0 gives NaN.
_SHIFT = 10
# the series' coefficients of 1, 1/y^2, 1/y^4, ... (np.polyval takes them highest first)
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
_DIGAMMA = (-1 / 12, 1 / 120, -1 / 252, 1 / 240, -1 / 132, 691 / 32760, -1 / 12)


def _shifted(x):
    """``(y, log(x (x + 1) ... (x + 9)) or 0, 1 / x + ... + 1 / (x + 9) or 0)``: the argument
    moved to ``y >= 10`` where it is below 10, and what the move costs in each series."""
    small = x < _SHIFT
    xs = np.where(np.logical_and(small, x > 0), x, 1.0)   # (x <= 0 is NaN in `_positive`)
    product, harmonic = xs, 1.0 / xs
    for k in range(1, _SHIFT):
        product = product * (xs + k)
        harmonic = harmonic + 1.0 / (xs + k)
    y = np.where(small, x + _SHIFT, x)
    return (y, np.where(small, np.log(product), 0.0), np.where(small, harmonic, 0.0))


def _positive(x, value):
    return np.where(x > 0, value, np.nan)


def gammaln(x):
    """``log(Gamma(x))`` for ``x > 0`` (Stirling's series above 10)."""
    y, log_product, _ = _shifted(x)
    series = np.polyval(_STIRLING[::-1], 1.0 / (y * y))
    value = (y - 0.5) * np.log(y) - y + 0.5 * np.log(2 * np.pi) + series / y - log_product
    return _positive(x, value)


def digamma(x):
    """``d log(Gamma(x)) / dx`` for ``x > 0``."""
    y, _, harmonic = _shifted(x)
    w = 1.0 / (y * y)
    series = np.polyval(_DIGAMMA[::-1], w)
    return _positive(x, np.log(y) - 0.5 / y + w * series - harmonic)


def betaln(a, b):
    """``log(B(a, b))`` for ``a, b > 0``."""
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def gamma(x):
    """``Gamma(x)`` for ``x > 0``."""
    return np.exp(gammaln(x))


def beta(a, b):
    """``B(a, b)`` for ``a, b > 0``."""
    return np.exp(betaln(a, b))


# scipy.special's ufuncs -> their definitions (the ones NumPy has are NumPy's)
UFUNCS = {f.__name__: f for f in (expit, log_expit, logit, xlogy, xlog1py, entr, rel_entr,
                                  kl_div, huber, pseudo_huber, exp10, gammaln, digamma, betaln,
                                  gamma, beta, erf, erfc, ndtr, log_ndtr)}
UFUNCS["psi"] = digamma
UFUNCS.update(expm1=np.expm1, log1p=np.log1p, cbrt=np.cbrt, exp2=np.exp2)


def _from_scipy_special(ufunc) -> bool:
    special = sys.modules.get("scipy.special")
    name = getattr(ufunc, "__name__", None)
    return special is not None and name is not None and getattr(special, name, None) is ufunc


def ufunc_name(ufunc) -> str:
    """How users call ``ufunc``: ``scipy.special.gammaln``, or ``np.exp``."""
    if ufunc in _OWN:
        return _OWN[ufunc]
    return f"{'scipy.special' if _from_scipy_special(ufunc) else 'np'}.{ufunc.__name__}"


def ufunc_definition(ufunc):
    """The definition of ``ufunc`` if it is one of `UFUNCS`' scipy.special ufuncs, else None."""
    if getattr(ufunc, "__name__", None) not in UFUNCS or not _from_scipy_special(ufunc):
        return None
    return UFUNCS[ufunc.__name__]


# --- Python functions (interposed) ------------------------------------------------------------
def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a)))`` along ``axis``, with the maximum subtracted first (its
    derivative cancels: the value's derivatives are those of the sum)."""
    a = np.asarray(a)
    if b is not None:
        a, b = np.broadcast_arrays(a, np.asarray(b))
    m = np.max(a, axis=axis, keepdims=True)
    e = np.exp(a - m)
    s = np.sum(e if b is None else b * e, axis=axis, keepdims=True)
    out = np.log(np.abs(s) if return_sign else s) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else np.reshape(out, ())
    if return_sign:
        sign = np.sign(s)
        if not keepdims:
            sign = np.squeeze(sign, axis=axis) if axis is not None else np.reshape(sign, ())
        return out, sign
    return out


def softmax(x, axis=None):
    """``exp(x - logsumexp(x, axis, keepdims=True))``."""
    return np.exp(x - logsumexp(x, axis=axis, keepdims=True))


def log_softmax(x, axis=None):
    """``x - logsumexp(x, axis, keepdims=True)``."""
    return x - logsumexp(x, axis=axis, keepdims=True)


DEFINITIONS = {f.__name__: f for f in (logsumexp, softmax, log_softmax)}
