"""Modified Bessel functions of the first kind for traced values: ``i0``, ``i1`` and the scaled
``i0e``, ``i1e`` (``scipy.special``; ``np.i0``), as in von Mises likelihoods.

Up to ``|x| = 20`` the power series ``I_nu(x) = (x/2)^nu sum_k (x^2/4)^k / (k! (k + nu)!)``
(positive terms: 45 of them leave under 1e-17 of the sum); beyond, the asymptotic series
``I_nu(x) = e^|x| / sqrt(2 pi |x|) sum_k (-1)^k a_k(nu) / |x|^k`` with ``a_k(nu) = prod_(j<=k)
(4 nu^2 - (2j - 1)^2) / (k! 8^k)``, whose 40 terms stop before its smallest (5e-19 at 20).
The scaled forms multiply by ``exp(-|x|)``, so the asymptotic branch never overflows. Both
branches are ordinary NumPy expressions: every tracer differentiates them.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["i0", "i1", "i0e", "i1e"]

_SWITCH = 20.0
_TERMS = 45
_ASYMPTOTIC_TERMS = 40


def _power_series(nu: int):
    """Coefficients of ``(x^2/4)^k`` in ``I_nu(x) / (x/2)^nu``, highest first (np.polyval)."""
    return tuple(1.0 / (math.factorial(k) * math.factorial(k + nu))
                 for k in range(_TERMS))[::-1]


def _asymptotic_series(nu: int):
    """Coefficients of ``1/|x|^k`` in ``I_nu(x) sqrt(2 pi |x|) e^-|x|``, highest first."""
    out, a = [1.0], 1.0
    for k in range(1, _ASYMPTOTIC_TERMS):
        a *= (4 * nu * nu - (2 * k - 1) ** 2) / (k * 8)
        out.append((-1) ** k * a)
    return tuple(out)[::-1]


_SERIES = {nu: _power_series(nu) for nu in (0, 1)}
_ASYMPTOTIC = {nu: _asymptotic_series(nu) for nu in (0, 1)}


def _bessel(nu: int, x, scaled: bool):
    near = np.abs(x) <= _SWITCH
    xn = np.where(near, x, 0.0)
    q = 0.25 * xn * xn
    series = np.polyval(_SERIES[nu], q) * (0.5 * xn if nu else 1.0)
    if scaled:
        series = series * np.exp(-np.abs(xn))
    xf = np.where(near, _SWITCH + 1.0, np.abs(x))
    tail = np.polyval(_ASYMPTOTIC[nu], 1.0 / xf) / np.sqrt(2.0 * np.pi * xf)
    if not scaled:
        tail = tail * np.exp(xf)
    if nu:
        tail = tail * np.where(x < 0, -1.0, 1.0)        # I_1 is odd
    return np.where(near, series, tail)


def i0(x):
    """``I_0(x)``."""
    return _bessel(0, x, False)


def i1(x):
    """``I_1(x)``."""
    return _bessel(1, x, False)


def i0e(x):
    """``exp(-|x|) I_0(x)``."""
    return _bessel(0, x, True)


def i1e(x):
    """``exp(-|x|) I_1(x)``."""
    return _bessel(1, x, True)
