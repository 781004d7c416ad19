"""Modified Bessel functions of the first kind for traced values: ``i0``, ``i1`` and the scaled
``i0e``, ``i1e`` (``scipy.special``; ``np.i0``), as in von Mises likelihoods.

Up to ``|x| = 20`` the power series ``I_nu(x) = (x/2)^nu sum_k (x^2/4)^k / (k! (k + nu)!)``
(positive terms: 45 of them leave under 1e-17 of the sum); beyond, the asymptotic series
``I_nu(x) = e^|x| / sqrt(2 pi |x|) sum_k (-1)^k a_k(nu) / |x|^k`` with ``a_k(nu) = prod_(j<=k)
(4 nu^2 - (2j - 1)^2) / (k! 8^k)``, whose 40 terms stop before its smallest (5e-19 at 20).
The scaled forms multiply by ``exp(-|x|)``, so the asymptotic branch never overflows. Both
branches are ordinary NumPy expressions (`algorithm`), for any order ``nu >= 0``. The
cross-check differentiates them as written; the scalar tier keeps ``I_nu`` whole while it
differentiates (``I_nu' = (I_(nu-1) + I_(nu+1)) / 2``, with ``I_(-1) = I_1``) and prints them;
the array tier computes them and takes the derivatives from the neighbouring orders
(`second_order_bessel`).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .traced import is_traced

__all__ = ["i0", "i1", "i0e", "i1e", "BESSEL_I", "BESSEL_IE", "algorithm", "second_order_bessel"]

_SWITCH = 20.0
_TERMS = 45
_ASYMPTOTIC_TERMS = 40


@functools.lru_cache(maxsize=None)
def _power_series(nu: int):
    """Coefficients of ``(x^2/4)^k`` in ``I_nu(x) / (x/2)^nu``, highest first (np.polyval)."""
    return tuple(1.0 / (math.factorial(k) * math.factorial(k + nu))
                 for k in range(_TERMS))[::-1]


@functools.lru_cache(maxsize=None)
def _asymptotic_series(nu: int):
    """Coefficients of ``1/|x|^k`` in ``I_nu(x) sqrt(2 pi |x|) e^-|x|``, highest first."""
    out, a = [1.0], 1.0
    for k in range(1, _ASYMPTOTIC_TERMS):
        a *= (4 * nu * nu - (2 * k - 1) ** 2) / (k * 8)
        out.append((-1) ** k * a)
    return tuple(out)[::-1]


def algorithm(nu: int, x, scaled: bool):
    """``I_nu(x)``, or ``exp(-|x|) I_nu(x)`` if ``scaled``, for an integer order ``nu >= 0``."""
    nu = int(nu)
    near = np.abs(x) <= _SWITCH
    xn = np.where(near, x, 0.0)
    q = 0.25 * xn * xn
    series = np.polyval(_power_series(nu), q) * ((0.5 * xn) ** nu if nu else 1.0)
    if scaled:
        series = series * np.exp(-np.abs(xn))
    xf = np.where(near, _SWITCH + 1.0, np.abs(x))
    tail = np.polyval(_asymptotic_series(nu), 1.0 / xf) / np.sqrt(2.0 * np.pi * xf)
    if not scaled:
        tail = tail * np.exp(xf)
    if nu:
        tail = tail * np.where(x < 0, (-1.0) ** nu, 1.0)     # I_nu has the parity of nu
    return np.where(near, series, tail)


#: ``BESSEL_I(nu, x)`` and ``BESSEL_IE(nu, x)``: `algorithm` as ufuncs of symhess's own, which
#: each tracer has a rule for
BESSEL_I = np.frompyfunc(lambda nu, x: float(algorithm(nu, np.float64(x), False)), 2, 1)
BESSEL_IE = np.frompyfunc(lambda nu, x: float(algorithm(nu, np.float64(x), True)), 2, 1)


def second_order_bessel(nu, x, stop, scaled: bool):
    """`algorithm`'s value at ``x``, with its first and second derivatives from the
    neighbouring orders (``I' = (I_(nu-1) + I_(nu+1)) / 2``; the scaled form's also take
    ``exp(-|x|)``'s): ``f0 + f1 d + f2 d^2 / 2`` at ``stop(x)``, ``d = x - stop(x)`` (0, of
    slope 1), where ``stop`` is the identity with no derivative (the array tier's rule)."""
    at, nu = stop(x), int(nu)
    f = {m: stop(algorithm(abs(m), at, scaled)) for m in range(nu - 2, nu + 3)}
    f0 = f[nu]
    f1 = 0.5 * (f[nu - 1] + f[nu + 1])
    f2 = 0.25 * (f[nu - 2] + 2.0 * f[nu] + f[nu + 2])
    if scaled:
        s = np.where(at < 0, -1.0, np.where(at > 0, 1.0, 0.0))
        f1, f2 = f1 - s * f0, f2 - 2.0 * s * f1 + f0
    d = x - at
    return f0 + f1 * d + 0.5 * f2 * (d * d)


def _order(nu: int, x, scaled: bool):
    if is_traced(x):
        return (BESSEL_IE if scaled else BESSEL_I)(nu, x)
    return algorithm(nu, np.asarray(x, dtype=float), scaled)


def i0(x):
    """``I_0(x)``."""
    return _order(0, x, False)


def i1(x):
    """``I_1(x)``."""
    return _order(1, x, False)


def i0e(x):
    """``exp(-|x|) I_0(x)``."""
    return _order(0, x, True)


def i1e(x):
    """``exp(-|x|) I_1(x)``."""
    return _order(1, x, True)
