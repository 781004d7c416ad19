"""NumPy's rounding and remainder functions, written with ``np.floor`` and ``np.fmod``.

Every tracer has a rule for ``floor`` (derivative 0) and for C's ``fmod(a, b) = a -
trunc(a / b) b`` (partials 1 and ``-trunc(a / b)``), which is exact in floating point. The
functions here are written with them, so their values are NumPy's to the last bit (but for the
sign of a zero result, which the symbolic tier does not keep) and their derivatives those of
the piece the point lies in, as JAX differentiates them: zero for the rounding functions, 1
and ``-floor(a / b)`` for the remainder. At a jump the derivative is that of the piece NumPy's
value belongs to.

``np.rint`` rounds half to even, as NumPy does, from ``floor`` and an exact difference;
``np.round(x, decimals)`` multiplies by ``10**decimals``, rounds and divides, as NumPy does;
``np.remainder`` (``np.mod``, ``%``) takes ``fmod`` and moves a result of the wrong sign by
the divisor, and ``np.floor_divide`` (``//``) rounds ``(a - remainder) / b``, both as NumPy's
own loops compute them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFINITIONS", "is_even"]


def ceil(x, /, **kwargs):
    """``-floor(-x)``."""
    return -np.floor(-x)


def trunc(x, /, **kwargs):
    """Toward zero."""
    return np.where(x >= 0, np.floor(x), -np.floor(-x))


def fix(x, out=None):
    """``np.fix``: ``trunc``."""
    return trunc(x)


def is_even(m):
    """Whether the integer-valued ``m`` is even."""
    return np.floor(0.5 * m) * 2.0 == m


def rint(x, /, **kwargs):
    """To the nearest integer, half to even (``x - floor(x)`` is exact for every double)."""
    low = np.floor(x)
    d = x - low
    return np.where(d > 0.5, low + 1.0,
                    np.where(d < 0.5, low, np.where(is_even(low), low, low + 1.0)))


def round(a, decimals=0, out=None):           # noqa: A001 (NumPy's name)
    """``rint(a * 10**decimals) / 10**decimals`` (for negative ``decimals``, divided first and
    multiplied after), as NumPy computes it."""
    decimals = int(decimals)
    if decimals == 0:
        return rint(a)
    if decimals > 0:
        scale = 10.0 ** decimals
        return rint(a * scale) / scale
    scale = 10.0 ** -decimals
    return rint(a / scale) * scale


def remainder(x1, x2, /, **kwargs):
    """``x1 - floor(x1 / x2) x2``, with the sign of ``x2``: ``fmod``, plus ``x2`` where its
    nonzero result has the other sign."""
    mod = np.fmod(x1, x2)
    return np.where(np.logical_and(mod != 0, np.logical_xor(x2 < 0, mod < 0)), mod + x2, mod)


def floor_divide(x1, x2, /, **kwargs):
    """``floor(x1 / x2)`` as NumPy rounds it: ``(x1 - fmod(x1, x2)) / x2``, less one where the
    remainder moved, rounded to the nearest integer."""
    mod = np.fmod(x1, x2)
    div = (x1 - mod) / x2
    div = np.where(np.logical_and(mod != 0, np.logical_xor(x2 < 0, mod < 0)), div - 1.0, div)
    low = np.floor(div)
    return np.where(x2 == 0, x1 / x2, np.where(div - low > 0.5, low + 1.0, low))


def divmod_(x1, x2, /, **kwargs):
    """``(floor_divide(x1, x2), remainder(x1, x2))``."""
    return floor_divide(x1, x2), remainder(x1, x2)


divmod_.__name__ = "divmod"

# NumPy function -> its definition (np.mod is np.remainder, np.around np.round's alias)
DEFINITIONS = {np.ceil: ceil, np.trunc: trunc, np.fix: fix, np.rint: rint, np.round: round,
               np.remainder: remainder, np.floor_divide: floor_divide, np.divmod: divmod_}
if hasattr(np, "around"):
    DEFINITIONS.setdefault(np.around, round)
