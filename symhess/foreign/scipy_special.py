"""``scipy.special``'s functions written in NumPy, for traced values.

SciPy's special functions are ufuncs: on a traced value NumPy hands them to the tracer
(``__array_ufunc__``), which runs the definition here (`ufunc_definition`) instead of a rule of
its own. Its Python functions (``logsumexp``, ``softmax``, ``log_softmax``, ``polygamma``) are
interposed like ``scipy.linalg``'s (`symhess.foreign`).

Each definition is written so that its value and its first and second derivatives, as every
tracer differentiates it, stay finite and accurate where SciPy's value is: ``expit`` and
``log_expit`` go through ``np.logaddexp(0, -x)`` (softplus, with no overflow at either end);
guards that keep ``0 * log(0)`` out replace an operand by a harmless one inside ``np.where``,
never the result, so no branch that is not taken holds an infinity that a derivative would
multiply by zero; ``pseudo_huber`` is ``r^2 / (hypot(1, r/d) + 1)``, with no cancellation
for small ``r``; ``logsumexp`` subtracts the maximum. The error function's family, the gamma
function's and the Bessel functions have modules of their own (`error_functions`,
`gamma_functions`, `bessel`). The values are tested against SciPy's and mpmath's, the
derivatives against JAX's and mpmath's.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .bessel import BESSEL_I, BESSEL_IE, i0, i0e, i1, i1e
from .error_functions import (ERF, ERFC, OWN, erf, erfc, erfcinv, erfcx, erfinv, log_ndtr, ndtr,
                              ndtri)
from .gamma_functions import (POLYGAMMA, beta, betaln, digamma, gamma, gammaln, loggamma,
                              polygamma)
from .incomplete import INCOMPLETE_BETA, INCOMPLETE_GAMMA, betainc, betaincc, gammainc, gammaincc

__all__ = ["UFUNCS", "DEFINITIONS", "ufunc_definition", "ufunc_name", "ERF", "ERFC"]

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


# scipy.special's ufuncs -> their definitions (the ones NumPy has are NumPy's)
UFUNCS = {f.__name__: f for f in (expit, log_expit, logit, xlogy, xlog1py, entr, rel_entr,
                                  kl_div, huber, pseudo_huber, exp10, gammaln, loggamma, digamma,
                                  betaln, gamma, beta, erf, erfc, ndtr, log_ndtr,
                                  erfinv, erfcinv, ndtri, erfcx, i0, i1, i0e, i1e, gammainc,
                                  gammaincc, betainc, betaincc)}
UFUNCS["psi"] = digamma
UFUNCS.update(expm1=np.expm1, log1p=np.log1p, cbrt=np.cbrt, exp2=np.exp2)


def _from_scipy_special(ufunc) -> bool:
    special = sys.modules.get("scipy.special")
    name = getattr(ufunc, "__name__", None)
    return special is not None and name is not None and getattr(special, name, None) is ufunc


def ufunc_name(ufunc) -> str:
    """How users call ``ufunc``: ``scipy.special.gammaln``, or ``np.exp``."""
    if ufunc in OWN:
        return OWN[ufunc]
    if ufunc is POLYGAMMA:
        return "scipy.special.polygamma"
    if ufunc in (BESSEL_I, BESSEL_IE):
        return "scipy.special.iv" if ufunc is BESSEL_I else "scipy.special.ive"
    if ufunc in (INCOMPLETE_GAMMA, INCOMPLETE_BETA):
        return "scipy.special." + ("gammainc" if ufunc is INCOMPLETE_GAMMA else "betainc")
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


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d`` (a constant integer):
    ``d (d - 1) / 4 log(pi) + sum_j gammaln(a + (1 - j) / 2)``, ``j = 1 .. d``."""
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 1:
        from ..errors import OperandTypeError
        raise OperandTypeError("scipy.special.multigammaln(a, d) takes a constant integer "
                               f"dimension d >= 1, not {d!r}")
    terms = [gammaln(a + 0.5 * (1 - j)) for j in range(1, int(d) + 1)]
    return 0.25 * d * (d - 1) * math.log(math.pi) + sum(terms[1:], terms[0])


DEFINITIONS = {f.__name__: f for f in (logsumexp, softmax, log_softmax, polygamma,
                                       multigammaln)}
