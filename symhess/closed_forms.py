"""The scalar tier's linear algebra, in closed form: det, slogdet, inv and solve of matrices up to
5x5 (cofactor expansions), solve with a constant matrix of any size, and norms.

Larger traced matrices are the array tier's (`symhess.arrays.linalg`). The rules register in
`symhess.primitives`' table, as its own do.
"""

from __future__ import annotations

import itertools

import numpy as np
import symengine as se

from . import errors
from .primitives import check_holomorphic, function
from .foreign import SlogdetResult
from .foreign.numpy_names import norm_of_matrices
from .trace import Traced, is_traced, object_array

_MAX_LINALG = 5


def _square_matrices(name, a):
    a = object_array(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise errors.OperandError(
            f"{name} needs square matrices in the last two axes; got shape {a.shape}")
    if a.shape[-1] > _MAX_LINALG:
        raise errors.UnsupportedFunctionError(
            f"{name} of a traced {a.shape[-1]}x{a.shape[-1]} matrix",
            f"the scalar tier's closed forms stop at {_MAX_LINALG}x{_MAX_LINALG}; the array tier "
            "takes any size (tier='auto' or 'array', for dense unbatched Hessians on the CPU)")
    return a


def _det(m):
    """Determinant of a small object matrix by cofactor expansion along the first row."""
    n = m.shape[0]
    if n == 1:
        return m[0, 0]
    if n == 2:
        return m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
    total = se.Integer(0)
    for j in range(n):
        if m[0, j] != 0:
            minor = np.delete(m[1:], j, axis=1)
            total += (-1) ** j * m[0, j] * _det(minor)
    return total


def _inv(m):
    n = m.shape[0]
    det = _det(m)
    out = np.empty((n, n), dtype=object)
    for i, j in itertools.product(range(n), range(n)):
        minor = np.delete(np.delete(m, j, axis=0), i, axis=1)
        out[i, j] = (-1) ** (i + j) * (_det(minor) if n > 1 else se.Integer(1)) / det
    return out


def _per_matrix(rule, a, trailing):
    out = np.empty(a.shape[:-2] + trailing, dtype=object)
    for idx in np.ndindex(*a.shape[:-2]):
        out[idx] = rule(a[idx])
    return Traced(out)


@function(np.linalg.det)
def _linalg_det(func, a):
    a = _square_matrices("np.linalg.det", a)
    return _per_matrix(_det, a, ())


@function(np.linalg.slogdet)
def _linalg_slogdet(func, a):
    """``(sign, log|det|)`` of the closed-form determinant (NumPy 2's named pair)."""
    det = _linalg_det(np.linalg.det, a)
    return SlogdetResult(np.sign(det), np.log(np.abs(det)))


@function(np.linalg.inv)
def _linalg_inv(func, a):
    a = _square_matrices("np.linalg.inv", a)
    return _per_matrix(_inv, a, a.shape[-2:])


def _cholesky(m):
    """The lower Cholesky factor of a small object matrix, reading its lower triangle (as
    LAPACK's ``potrf``, which ``np.linalg.cholesky`` calls)."""
    n = m.shape[0]
    out = np.full((n, n), se.Integer(0), dtype=object)
    for j in range(n):
        diagonal = m[j, j] - sum((out[j, k] ** 2 for k in range(j)), se.Integer(0))
        out[j, j] = se.sqrt(diagonal)
        for i in range(j + 1, n):
            off = m[i, j] - sum((out[i, k] * out[j, k] for k in range(j)), se.Integer(0))
            out[i, j] = off / out[j, j]
    return out


@function(np.linalg.cholesky)
def _linalg_cholesky(func, a, upper=False):
    a = _square_matrices("np.linalg.cholesky", a)
    factor = _per_matrix(_cholesky, a, a.shape[-2:])
    return np.swapaxes(factor, -1, -2) if upper else factor


@function(np.linalg.solve)
def _linalg_solve(func, a, b):
    if not is_traced(a):            # a constant matrix of any size: its inverse is a constant
        a = np.asarray(a)
        if a.dtype.kind in "biuf":
            return np.matmul(np.linalg.inv(a), b)
    return np.matmul(_linalg_inv(np.linalg.inv, a), b)


@function(np.linalg.norm)
def _linalg_norm(func, x, ord=None, axis=None, keepdims=False):
    check_holomorphic("np.linalg.norm", (x,))
    matrix = (axis is None and np.ndim(x) == 2) or (isinstance(axis, tuple) and len(axis) == 2)
    if axis is None:
        axis = tuple(range(np.ndim(x))) if ord in (None, "fro") else None
    if ord in (None, 2, "fro") and not (matrix and ord == 2):
        return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
    if matrix:
        return norm_of_matrices(x, ord, axis, keepdims)
    if ord == 1:
        return np.sum(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, (int, float)) and ord > 0:
        return np.sum(np.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)
    raise errors.UnsupportedFunctionError(f"np.linalg.norm with ord={ord!r}")
