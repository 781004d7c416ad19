"""NumPy 2's array-API names, written with the NumPy functions every tracer has rules for.

``np.vecdot``, ``np.matvec``, ``np.vecmat``, ``np.matrix_transpose`` (and ``.mT``),
``np.astype``, ``np.concat``, ``np.permute_dims``, ``np.cumulative_sum``, ``np.unstack``,
``np.linalg.vector_norm`` and ``np.linalg.matrix_norm`` dispatch on a traced value like any
NumPy function; each tracer runs the definition here (`function_definition`) when it has no
rule of its own. Names a NumPy release lacks are left out.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import OptionValueError, TracerConversionError

__all__ = ["FUNCTIONS", "function_definition"]


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
    """The Frobenius (``ord='fro'``), 1 and inf norms of the last two axes' matrices."""
    axes = (-2, -1)
    if ord == "fro":
        return vector_norm(x, axis=axes, keepdims=keepdims)
    a = np.abs(x)
    if ord in (1, np.inf):
        sums = np.sum(a, axis=-2 if ord == 1 else -1, keepdims=True)
        out = np.max(sums, axis=axes, keepdims=True)
        return out if keepdims else out[..., 0, 0]
    raise OptionValueError(f"np.linalg.matrix_norm with ord={ord!r}: only 'fro', 1 and inf "
                           "are traced (the others need singular values)")


_DEFINITIONS = {
    np: (vecdot, matvec, vecmat, matrix_transpose, astype, concat, permute_dims,
         cumulative_sum, unstack),
    np.linalg: (vector_norm, matrix_norm),
}
_ALIASES = {"concat": np.concatenate, "permute_dims": np.transpose}   # the same object in
# NumPy 2, whose own rules then apply; NumPy 1 has neither name

# NumPy function -> its definition, for the names this NumPy has that are not aliases
FUNCTIONS = {getattr(module, f.__name__): f for module, definitions in _DEFINITIONS.items()
             for f in definitions if hasattr(module, f.__name__)
             and getattr(module, f.__name__) is not _ALIASES.get(f.__name__)}


def function_definition(func):
    """The definition of the NumPy function ``func`` if it is one of `FUNCTIONS`, else None."""
    return FUNCTIONS.get(func)
