"""Array namespaces the problems are written against, one per kind of peer.

A problem is a function ``make(xp)`` returning ``f(x, *data)``; ``xp`` offers the few operations
the problems need (``sum, max, log, exp, sqrt, tanh, cos, arccos, arctan2, det, stack,
reshape``), and the arrays ``f`` is called with support arithmetic, ``@``, ``.T``, ``.shape``
and indexing with ints, slices and integer arrays. NumPy, JAX and PyTorch get thin wrappers over
their own functions; the symbolic peers (CasADi SX, SymEngine, SymPy) get NumPy object arrays of
scalar expressions with element-wise functions mapped over them, which is how a user of those
libraries writes array code; CasADi MX gets `MXArray`, an ``MX`` matrix with NumPy's shape rules
(C order, 1-D vectors, broadcasting), so that a problem becomes one graph of MX matrix
operations (``mtimes``, ``repmat``, ``reshape``, ``sum1``/``sum2``, slices).
"""

from __future__ import annotations

import operator
from types import SimpleNamespace

import numpy as np


def numpy_xp():
    """Plain NumPy: what symhess traces (its symbolic arrays dispatch NumPy's own calls)."""
    return SimpleNamespace(
        name="numpy", sum=np.sum, max=np.max, log=np.log, exp=np.exp, sqrt=np.sqrt,
        tanh=np.tanh, cos=np.cos, arccos=np.arccos, arctan2=np.arctan2, det=np.linalg.det,
        stack=np.stack, reshape=np.reshape, linalg=np.linalg, concatenate=np.concatenate)


def jax_xp():
    """jax.numpy."""
    import jax.numpy as jnp
    return SimpleNamespace(
        name="jax", sum=jnp.sum, max=jnp.max, log=jnp.log, exp=jnp.exp, sqrt=jnp.sqrt,
        tanh=jnp.tanh, cos=jnp.cos, arccos=jnp.arccos, arctan2=jnp.arctan2,
        det=jnp.linalg.det, stack=jnp.stack, reshape=jnp.reshape, linalg=jnp.linalg,
        concatenate=jnp.concatenate)


def torch_xp():
    """PyTorch; ``stack`` takes NumPy's ``axis`` keyword, ``max`` is the full reduction."""
    import torch
    return SimpleNamespace(
        name="torch", sum=torch.sum, max=torch.amax, log=torch.log, exp=torch.exp,
        sqrt=torch.sqrt, tanh=torch.tanh, cos=torch.cos, arccos=torch.arccos,
        arctan2=torch.arctan2, det=torch.linalg.det,
        stack=lambda seq, axis=0: torch.stack(list(seq), dim=axis),
        reshape=lambda x, shape: torch.reshape(x, tuple(shape)))


def _elementwise(fn):
    """Map a scalar symbolic function over object arrays; scalars pass straight through."""
    mapped = np.vectorize(fn, otypes=[object])

    def apply(*args):
        if any(isinstance(a, np.ndarray) for a in args):
            return mapped(*args)
        return fn(*args)
    return apply


def det3(F):
    """Determinant of a 3x3 object array by cofactor expansion (what a symbolic user writes)."""
    return (F[0, 0] * (F[1, 1] * F[2, 2] - F[1, 2] * F[2, 1])
            - F[0, 1] * (F[1, 0] * F[2, 2] - F[1, 2] * F[2, 0])
            + F[0, 2] * (F[1, 0] * F[2, 1] - F[1, 1] * F[2, 0]))


def object_xp(name, *, log, exp, sqrt, cos, acos, atan2, tanh, maximum):
    """Object arrays of scalar expressions of a symbolic library.

    ``maximum(values)`` is the library's maximum of a list of scalar expressions.
    """
    def largest(x):
        return maximum(list(np.ravel(x))) if isinstance(x, np.ndarray) else x
    return SimpleNamespace(
        name=name, sum=lambda x, axis=None: np.sum(x, axis=axis), max=largest,
        log=_elementwise(log), exp=_elementwise(exp), sqrt=_elementwise(sqrt),
        tanh=_elementwise(tanh), cos=_elementwise(cos), arccos=_elementwise(acos),
        arctan2=_elementwise(atan2), det=det3, stack=np.stack, reshape=np.reshape)


def symbol_array(make, shape) -> np.ndarray:
    """An object array of the given shape filled, in C order, by ``make(flat_index)``."""
    size = int(np.prod(shape, dtype=np.int64))
    out = np.empty(size, dtype=object)
    for i in range(size):
        out[i] = make(i)
    return out.reshape(shape)


# --- CasADi MX ----------------------------------------------------------------------------

class MXArray:
    """A CasADi ``MX`` matrix read as a NumPy array of 0, 1 or 2 dimensions.

    A scalar is a 1x1 ``MX``, a vector of length n an n x 1 column, a 2-D array an ``MX`` of
    the same shape. Operations follow NumPy (C-order reshape, a 1-D vector broadcast as a row,
    ``@`` with 1-D operands) and map to MX matrix operations; what has no such mapping (3-D
    arrays, two index arrays at once) raises ``NotImplementedError``.
    """

    __array_ufunc__ = None      # NumPy scalars and arrays defer to the reflected operators

    def __init__(self, mx, shape):
        self.mx = mx
        self.shape = tuple(int(s) for s in shape)
        if len(self.shape) > 2:
            raise NotImplementedError("MX arrays have at most 2 dimensions")

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def T(self):
        return MXArray(self.mx.T, self.shape[::-1]) if self.ndim == 2 else self

    def __len__(self):
        return self.shape[0]

    def __neg__(self):
        return MXArray(-self.mx, self.shape)

    def __matmul__(self, other):
        return _matmul(self, _lift(other))

    def __rmatmul__(self, other):
        return _matmul(_lift(other), self)

    def __getitem__(self, key):
        return _getitem(self, key if isinstance(key, tuple) else (key,))

    def reshape(self, *shape):
        return mx_reshape(self, shape[0] if len(shape) == 1 else shape)


def _binary(op):
    def forward(a, b):
        return _broadcast(op, a, b)

    def reflected(a, b):
        return _broadcast(op, b, a)
    return forward, reflected


for _name, _op in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("pow", operator.pow)):
    _f, _r = _binary(_op)
    setattr(MXArray, f"__{_name}__", _f)
    setattr(MXArray, f"__r{_name}__", _r)


def _lift(value) -> MXArray:
    """An MXArray from an MXArray, a Python or NumPy number, or a NumPy array (a constant)."""
    import casadi as ca
    if isinstance(value, MXArray):
        return value
    value = np.asarray(value, dtype=float)
    if value.ndim > 2:
        raise NotImplementedError("MX arrays have at most 2 dimensions")
    matrix = value.reshape(-1, 1) if value.ndim < 2 else value
    return MXArray(ca.MX(ca.DM(matrix)), value.shape)


def _expand(a: MXArray, shape) -> object:
    """``a.mx`` repeated to ``shape`` (NumPy broadcasting); 1x1 stays as it is."""
    import casadi as ca
    if a.shape == shape or a.mx.numel() == 1:
        return a.mx         # CasADi broadcasts a 1x1 operand itself
    if len(shape) == 1:
        return ca.repmat(a.mx, shape[0], 1)
    matrix = a.mx if a.ndim == 2 else a.mx.T        # a 1-D vector broadcasts as a row
    return ca.repmat(matrix, shape[0] // matrix.shape[0], shape[1] // matrix.shape[1])


def _broadcast(op, a, b) -> MXArray:
    # A number stays a number: CasADi then builds x**2 as a constant power, as a user's would.
    if isinstance(b, (int, float, np.number)):
        a = _lift(a)
        return MXArray(op(a.mx, float(b)), a.shape)
    if isinstance(a, (int, float, np.number)):
        b = _lift(b)
        return MXArray(op(float(a), b.mx), b.shape)
    a, b = _lift(a), _lift(b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    return MXArray(op(_expand(a, shape), _expand(b, shape)), shape)


def _matmul(a: MXArray, b: MXArray) -> MXArray:
    import casadi as ca
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: scalar operand")
    left = a.mx if a.ndim == 2 else a.mx.T          # a 1-D left operand is a row
    out = ca.mtimes(left, b.mx)
    shape = a.shape[:-1] + b.shape[1:]
    if a.ndim == 1 and b.ndim == 2:
        out = out.T                                  # 1-D results are stored as columns
    return MXArray(out, shape)


def _index(item, n):
    """``(casadi index, length or None)``: None when the axis is dropped (an int)."""
    if isinstance(item, (int, np.integer)):
        return int(item) % n, None
    if isinstance(item, slice):
        s = slice(*item.indices(n))
        return s, len(range(s.start, s.stop, s.step))
    index = np.asarray(item)
    if index.dtype.kind not in "iu" or index.ndim != 1:
        raise NotImplementedError("MX indexing takes ints, slices and 1-D integer arrays")
    return [int(i) for i in np.mod(index, n)], len(index)


def _getitem(a: MXArray, key) -> MXArray:
    new_axes = [i for i, k in enumerate(key) if k is None]
    key = tuple(k for k in key if k is not None)
    if a.ndim == 1 and len(key) == 1:
        index, length = _index(key[0], a.shape[0])
        out = MXArray(a.mx[index], () if length is None else (length,))
    elif a.ndim == 2 and 1 <= len(key) <= 2:
        key = key + (slice(None),) * (2 - len(key))
        (rows, nr), (cols, nc) = _index(key[0], a.shape[0]), _index(key[1], a.shape[1])
        if isinstance(rows, list) and isinstance(cols, list):
            raise NotImplementedError("MX indexing with two index arrays")
        mx = a.mx[rows, cols]
        if nr is None and nc is not None:
            mx = mx.T                               # a row comes back as a 1-D column
        out = MXArray(mx, tuple(n for n in (nr, nc) if n is not None))
    else:
        raise NotImplementedError(f"MX indexing of a {a.ndim}-D array with {len(key)} items")
    if not new_axes:
        return out
    if out.ndim != 1 or len(new_axes) != 1:
        raise NotImplementedError("MX indexing: None only to turn a vector into a matrix")
    if new_axes[0] == 0:
        return MXArray(out.mx.T, (1,) + out.shape)
    return MXArray(out.mx, out.shape + (1,))


def _flat(a: MXArray):
    """The C-order flattening of ``a`` as an MX column."""
    import casadi as ca
    return ca.vec(a.mx.T) if a.ndim == 2 else a.mx


def mx_reshape(a, shape) -> MXArray:
    """NumPy's (C-order) reshape: CasADi's own ``reshape`` is column-major."""
    import casadi as ca
    a = _lift(a)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    size = int(np.prod(a.shape, dtype=np.int64))
    shape = tuple(size // -int(np.prod(shape)) if s == -1 else int(s) for s in shape)
    if len(shape) == 2:
        return MXArray(ca.reshape(_flat(a), shape[1], shape[0]).T, shape)
    return MXArray(_flat(a), shape)


def _mx_sum(a, axis=None) -> MXArray:
    import casadi as ca
    a = _lift(a)
    if a.ndim < 2 or axis is None:
        return MXArray(ca.sum1(ca.sum2(a.mx)), ())
    if axis % 2 == 0:
        return MXArray(ca.sum1(a.mx).T, a.shape[1:])
    return MXArray(ca.sum2(a.mx), a.shape[:1])


def _mx_stack(seq, axis=0) -> MXArray:
    import casadi as ca
    items = [_lift(s) for s in seq]
    shape = items[0].shape
    if len(shape) == 0:
        return MXArray(ca.vertcat(*[s.mx for s in items]), (len(items),))
    if len(shape) != 1:
        raise NotImplementedError("MX stack of 2-D arrays")
    if axis % 2 == 1:
        return MXArray(ca.horzcat(*[s.mx for s in items]), (shape[0], len(items)))
    return MXArray(ca.vertcat(*[s.mx.T for s in items]), (len(items), shape[0]))


def _mx_unary(fn):
    def apply(a):
        a = _lift(a)
        return MXArray(fn(a.mx), a.shape)
    return apply


def _mx_det(a) -> MXArray:
    import casadi as ca
    a = _lift(a)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise NotImplementedError("MX det of a batch of matrices")
    return MXArray(ca.det(a.mx), ())


def mx_xp():
    """CasADi MX matrices with NumPy's shape rules (see `MXArray`)."""
    import casadi as ca
    return SimpleNamespace(
        name="casadi-mx", sum=_mx_sum, max=lambda a: MXArray(ca.mmax(_lift(a).mx), ()),
        log=_mx_unary(ca.log), exp=_mx_unary(ca.exp), sqrt=_mx_unary(ca.sqrt),
        tanh=_mx_unary(ca.tanh), cos=_mx_unary(ca.cos), arccos=_mx_unary(ca.acos),
        arctan2=lambda a, b: _broadcast(ca.atan2, a, b), det=_mx_det, stack=_mx_stack,
        reshape=mx_reshape)
