"""NumPy functions written with the NumPy functions every tracer has rules for.

NumPy 2's array-API names (``np.vecdot``, ``np.matvec``, ``np.vecmat``,
``np.matrix_transpose`` and ``.mT``, ``np.astype``, ``np.concat``, ``np.permute_dims``,
``np.cumulative_sum``, ``np.unstack``, ``np.linalg.vector_norm``, ``np.linalg.matrix_norm``)
and the rest users reach for (``np.polyval``, ``np.interp`` with constant knots,
``np.linspace`` with traced end points, ``np.gradient``, ``np.nan_to_num``, ``np.angle``,
``np.linalg.matrix_power``, ``np.sinc``, ``np.i0``, the rounding and remainder functions of
`symhess.foreign.numpy_rounding`, ``np.sort`` and ``np.median`` of
`symhess.foreign.numpy_sorting`) dispatch on a traced value like any NumPy function; each
tracer runs the definition here (`function_definition`) when it has no rule of its own. Names
a NumPy release lacks are left out. ``np.argmax`` and ``np.argmin`` are
`symhess.foreign.numpy_sorting`'s too; ``np.apply_along_axis`` and ``np.argsort`` are refused by
name.
"""

from __future__ import annotations

import collections
import numbers

import numpy as np

from ..errors import (OptionTypeError, OptionValueError, TracerConversionError,
                      UnsupportedFunctionError)
from . import bessel, numpy_rounding, numpy_sorting

__all__ = ["FUNCTIONS", "function_definition", "SlogdetResult", "EighResult"]

# NumPy 2's named results of slogdet and eigh, which the tracers return in every NumPy
SlogdetResult = collections.namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


def _conj(x):
    """``x``'s complex conjugate (``x`` itself when real: not every tracer has a rule for
    ``np.conjugate``)."""
    dtype = getattr(x, "dtype", None) or np.asarray(x).dtype
    return np.conjugate(x) if dtype.kind == "c" else x


def vecdot(x1, x2, /, *, axis=-1, **kwargs):
    """``sum(conj(x1) * x2)`` along ``axis``."""
    return np.sum(_conj(x1) * x2, axis=axis)


def matvec(x1, x2, /, **kwargs):
    """Matrix times vector over the last axes, stacked."""
    return np.matmul(x1, np.expand_dims(x2, -1))[..., 0]


def vecmat(x1, x2, /, **kwargs):
    """Conjugated vector times matrix over the last axes, stacked."""
    return np.matmul(np.expand_dims(_conj(x1), -2), x2)[..., 0, :]


def matrix_transpose(x, /):
    """The last two axes swapped."""
    return np.swapaxes(x, -1, -2)


def astype(x, dtype, /, *, copy=True, device=None):
    """A traced value keeps the trace's floating dtype; no other dtype can be had."""
    if np.dtype(dtype).kind not in "fc":
        raise TracerConversionError("", f"np.astype(..., {np.dtype(dtype)})")
    return x


def concat(arrays, /, *, axis=0):
    """``np.concatenate``."""
    return np.concatenate(arrays, axis=axis)


def permute_dims(a, /, axes=None):
    """``np.transpose``."""
    return np.transpose(a, axes)


def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """``np.cumsum``, with a leading zero along ``axis`` if ``include_initial``."""
    if axis is None:
        if np.ndim(x) > 1:
            raise OptionValueError("np.cumulative_sum of an array of more than one axis needs "
                                   "axis=")
        axis = 0
    out = np.cumsum(x, axis=axis)
    if include_initial:
        shape = list(np.shape(out))
        shape[axis] = 1
        out = np.concatenate([np.zeros(shape), out], axis=axis)
    return out


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple."""
    moved = np.moveaxis(x, axis, 0)
    return tuple(moved[i] for i in range(np.shape(moved)[0]))


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The ``ord`` norm of the entries along ``axis`` (all of them if None)."""
    a = np.abs(x)
    if ord == 2:
        return np.sqrt(np.sum(x * _conj(x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return np.max(a, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(a, axis=axis, keepdims=keepdims)
    if isinstance(ord, numbers.Real) and ord > 0:
        return np.sum(a ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)
    raise OptionValueError(f"np.linalg.vector_norm with ord={ord!r}: its value is piecewise "
                           "constant or not a norm; use ord > 0 or +-inf")


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The norms of the last two axes' matrices: Frobenius (``'fro'``), the largest (1, inf) or
    smallest (-1, -inf) absolute column or row sum, and through the eigenvalues of ``x^T x``
    the largest (2) or smallest (-2) singular value and their sum (``'nuc'``)."""
    axes = (-2, -1)
    if ord == "fro":
        return vector_norm(x, axis=axes, keepdims=keepdims)
    if ord in (1, -1, np.inf, -np.inf):
        sums = np.sum(np.abs(x), axis=-2 if ord in (1, -1) else -1, keepdims=True)
        out = (np.max if ord > 0 else np.min)(sums, axis=axes, keepdims=True)
    elif ord in (2, -2, "nuc"):
        squares = np.linalg.eigvalsh(np.matmul(np.swapaxes(x, -1, -2), x))
        singular = np.sqrt(np.maximum(squares, 0.0))
        pick = np.sum if ord == "nuc" else np.max if ord == 2 else np.min
        out = pick(singular, axis=-1, keepdims=True)[..., None]
    else:
        raise OptionValueError(f"np.linalg.matrix_norm with ord={ord!r}: use 'fro', 'nuc', "
                               "1, -1, 2, -2, inf or -inf")
    return out if keepdims else out[..., 0, 0]


def matrix_power(a, n):
    """``a`` multiplied by itself ``n`` times by repeated squaring, as NumPy computes it (of the
    inverse for ``n < 0``; the identity for ``n = 0``)."""
    if not isinstance(n, numbers.Integral):
        raise OptionTypeError(f"np.linalg.matrix_power needs an integer exponent; got {n!r}")
    if np.ndim(a) < 2 or np.shape(a)[-1] != np.shape(a)[-2]:
        raise OptionValueError(f"np.linalg.matrix_power needs square matrices in the last two "
                               f"axes; got shape {np.shape(a)}")
    if n == 0:
        return np.broadcast_to(np.eye(np.shape(a)[-1]), np.shape(a)).copy()
    base, n, out = (np.linalg.inv(a) if n < 0 else a), abs(int(n)), None
    while n:
        if n & 1:
            out = base if out is None else np.matmul(out, base)
        n >>= 1
        if n:
            base = np.matmul(base, base)
    return out


def norm_of_matrices(x, ord, axis, keepdims):
    """``np.linalg.norm(x, ord, axis, keepdims)`` of the matrices on two ``axis`` (both tiers'
    rule for a matrix norm other than Frobenius's): `matrix_norm` of them moved last."""
    axis = (-2, -1) if axis is None else tuple(a % np.ndim(x) for a in axis)
    out = matrix_norm(np.moveaxis(x, axis, (-2, -1)), ord=ord, keepdims=keepdims)
    return np.moveaxis(out, (-2, -1), axis) if keepdims else out


# --- the rest users reach for -----------------------------------------------------------------
def polyval(p, x):
    """``p[0] x^(n-1) + ... + p[n-1]`` by Horner's rule (``p`` traced or constant)."""
    y = p[0]
    for i in range(1, len(p)):
        y = y * x + p[i]
    return np.broadcast_to(y, np.broadcast_shapes(np.shape(x), np.shape(y)))


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation through constant knots ``xp`` (increasing), values
    ``fp`` traced or constant: ``fp[0]`` plus each segment's slope times the part of
    ``x - xp[k]`` inside it, so ``fp[0]`` left of the knots and ``fp[-1]`` right of them."""
    if period is not None or left is not None or right is not None:
        raise OptionValueError("np.interp of traced values takes x, xp, fp only (no left=, "
                               "right=, period=)")
    xp = np.asarray(xp, dtype=float)
    if not np.all(np.diff(xp) > 0):
        raise OptionValueError("np.interp of traced values needs constant, increasing knots xp")
    width = np.diff(xp)
    y = fp[0]
    for k in range(len(xp) - 1):
        slope = (fp[k + 1] - fp[k]) / width[k]
        y = y + slope * np.minimum(np.maximum(x - xp[k], 0.0), width[k])
    return np.broadcast_to(y, np.broadcast_shapes(np.shape(x), np.shape(y)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, **kwargs):
    """``num`` points from ``start`` to ``stop``, which may be traced (stacked along ``axis``)."""
    t = np.linspace(0.0, 1.0, int(num), endpoint=bool(endpoint))
    shape = (len(t),) + (1,) * max(np.ndim(start), np.ndim(stop))
    out = start + (stop - start) * np.reshape(t, shape)
    out = np.moveaxis(out, 0, axis) if axis != 0 else out
    step = (stop - start) / max(int(num) - bool(endpoint), 1)
    return (out, step) if retstep else out


def gradient(f, *varargs, axis=None, edge_order=1):
    """Central differences inside, one-sided ones of order ``edge_order`` at the ends, for
    uniform spacings (a number per axis, or one for all)."""
    if any(np.ndim(v) for v in varargs):
        raise OptionValueError("np.gradient of traced values takes uniform spacings (numbers), "
                               "not coordinate arrays")
    axes = range(np.ndim(f)) if axis is None else np.atleast_1d(axis)
    axes = [int(a) % np.ndim(f) for a in axes]
    spacing = list(varargs) * len(axes) if len(varargs) == 1 else list(varargs) or [1.0] * len(axes)
    out = []
    for a, h in zip(axes, spacing):
        g = np.moveaxis(f, a, 0)
        inner = (g[2:] - g[:-2]) / (2.0 * h)
        if edge_order == 1:
            first, last = (g[1] - g[0]) / h, (g[-1] - g[-2]) / h
        else:
            first = (-3.0 * g[0] + 4.0 * g[1] - g[2]) / (2.0 * h)
            last = (3.0 * g[-1] - 4.0 * g[-2] + g[-3]) / (2.0 * h)
        full = np.concatenate([np.expand_dims(first, 0), inner, np.expand_dims(last, 0)])
        out.append(np.moveaxis(full, 0, a))
    return out[0] if len(out) == 1 else tuple(out)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced (by 0 and the largest finite numbers, or as given)."""
    big = np.finfo(np.float64).max
    x = np.where(x != x, nan, x)
    x = np.where(x == np.inf, big if posinf is None else posinf, x)
    return np.where(x == -np.inf, -big if neginf is None else neginf, x)


def angle(z, deg=False):
    """NumPy's ``arctan2(imag(z), real(z))``: of a real value 0 or pi (piecewise constant); of a
    complex value computed from real arguments, from its parts (`symhess.complex_parts`)."""
    out = np.arctan2(np.imag(z), np.real(z))   # (refused by np.imag with holomorphic=True)
    return out * (180.0 / np.pi) if deg else out


def sinc(x):
    """``sin(pi x) / (pi x)``; within 1e-4 of 0 its Taylor polynomial to the fourth power
    (exact there to rounding), so that the value and both derivatives hold at 0 too."""
    small = np.abs(x) < 1e-4
    u = np.pi * np.where(small, 1.0, x)
    v = np.pi * np.where(small, x, 0.0)
    return np.where(small, 1.0 - v * v / 6.0 + v ** 4 / 120.0, np.sin(u) / u)


def isnan(x, /, **kwargs):
    """Whether ``x`` is NaN: ``x != x``."""
    return x != x


def isinf(x, /, **kwargs):
    """Whether ``x`` is +-inf."""
    return np.abs(x) == np.inf


def isfinite(x, /, **kwargs):
    """Whether ``x`` is neither NaN nor +-inf."""
    return np.abs(x) < np.inf


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """Refused: it calls a Python function on one slice at a time."""
    raise UnsupportedFunctionError(
        "np.apply_along_axis", "it calls a Python function on each slice in turn; write the "
        "function on the whole array with axis= arguments (np.sum(x ** 2, axis=1))")


_DEFINITIONS = {
    np: (vecdot, matvec, vecmat, matrix_transpose, astype, concat, permute_dims,
         cumulative_sum, unstack, polyval, interp, linspace, gradient, nan_to_num, angle,
         sinc, isnan, isinf, isfinite),
    np.linalg: (vector_norm, matrix_norm, matrix_power),
}
_ALIASES = {"concat": np.concatenate, "permute_dims": np.transpose}   # the same object in
# NumPy 2, whose own rules then apply; NumPy 1 has neither name

# NumPy function -> its definition, for the names this NumPy has that are not aliases
FUNCTIONS = {getattr(module, f.__name__): f for module, definitions in _DEFINITIONS.items()
             for f in definitions if hasattr(module, f.__name__)
             and getattr(module, f.__name__) is not _ALIASES.get(f.__name__)}


FUNCTIONS.update(numpy_rounding.DEFINITIONS)
FUNCTIONS.update(numpy_sorting.DEFINITIONS)
FUNCTIONS[np.i0] = bessel.i0

# refused by name, and not listed
_REFUSED = {np.apply_along_axis: apply_along_axis, **numpy_sorting.REFUSED}


def function_definition(func):
    """The definition of the NumPy function ``func`` if it is one of `FUNCTIONS` (or a refusal
    that names it), else None."""
    return FUNCTIONS.get(func) or _REFUSED.get(func)
