"""Evaluating an array graph with NumPy: the array tier's reference semantics.

The compiled kernel (`symhess.arrays.kernel`) must agree with this interpreter; it also gives
the traced function's value for the cross-check.
"""

from __future__ import annotations

import numpy as np

from .. import errors
from .graph import topological
from .linalg import OPS as LINEAR_ALGEBRA

def _erf(a):
    from scipy.special import erf
    return erf(a)


def _erfc(a):
    from scipy.special import erfc
    return erfc(a)


_UNARY = {"neg": np.negative, "exp": np.exp, "log": np.log, "log1p": np.log1p,
          "erf": _erf, "erfc": _erfc,
          "expm1": np.expm1, "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
          "sinh": np.sinh, "cosh": np.cosh, "sqrt": np.sqrt, "abs": np.abs, "sign": np.sign,
          "arctan": np.arctan, "arcsin": np.arcsin, "arccos": np.arccos,
          "arcsinh": np.arcsinh, "arctanh": np.arctanh, "floor": np.floor, "ceil": np.ceil,
          "not": np.logical_not, "square": np.square, "recip": np.reciprocal,
          "stop": lambda a: a, "held_shape": lambda a: a}
_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
           "pow": np.power, "maximum": np.maximum, "minimum": np.minimum,
           "arctan2": np.arctan2, "fmod": np.fmod, "gt": np.greater, "ge": np.greater_equal,
           "lt": np.less, "le": np.less_equal, "eq": np.equal, "ne": np.not_equal,
           "and": np.logical_and, "or": np.logical_or}


def evaluate(roots, inputs, constants) -> list:
    """The values of ``roots`` for the kernel inputs ``inputs`` (a list of arrays)."""
    values = {}
    with np.errstate(all="ignore"):
        for node in topological(roots):
            values[node.id] = np.asarray(_value(node, [values[a.id] for a in node.args],
                                                inputs, constants))
    return [values[r.id] for r in roots]


def apply(node, args, constants):
    """The value of one node, not an input, for the values ``args`` of its operands."""
    return _value(node, args, (), constants)


def _value(node, args, inputs, constants):
    op, p = node.op, node.params
    if op == "input":
        return np.asarray(inputs[p[0]], dtype=float if node.dtype == "f" else None)
    if op == "const":
        return p[1] if p[0] == "s" else constants[p[0]]
    if op == "eye":
        rows, size = node.shape[0], int(np.prod(node.shape[1:]))
        return np.eye(rows, size, -p[0]).reshape(node.shape)
    if op == "unary":
        return _UNARY[p[0]](args[0])
    if op == "binary":
        return _BINARY[p[0]](*args)
    if op == "where":
        return np.where(*args)
    if op == "bcast":
        shape, dims = p
        x = args[0]
        expanded = np.reshape(x, [x.shape[dims.index(d)] if d in dims else 1
                                  for d in range(len(shape))]) if dims == tuple(sorted(dims)) \
            else np.expand_dims(np.transpose(x, np.argsort(dims)),
                                [d for d in range(len(shape)) if d not in dims])
        return np.broadcast_to(expanded, shape)
    if op == "sum":
        return np.sum(args[0], axis=p[0])
    if op == "max":
        return np.max(args[0], axis=p[0])
    if op == "einsum":
        labels, out = p
        letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        spec = ",".join("".join(letters[i] for i in ls) for ls in labels)
        return np.einsum(spec + "->" + "".join(letters[i] for i in out), *args)
    if op == "transpose":
        return np.transpose(args[0], p[0])
    if op == "reshape":
        return np.reshape(args[0], p[0])
    if op == "slice":
        return args[0][_numpy_key(p[0])]
    if op == "embed":
        shape, key = p
        out = np.zeros(shape, dtype=args[0].dtype)
        out[_numpy_key(key)] = args[0]
        return out
    if op == "gather":
        return np.take(args[0], args[1], axis=p[0])
    if op == "scatter":
        axis, size = p
        out = np.zeros(node.shape, dtype=args[0].dtype)
        moved = np.moveaxis(out, axis, 0)
        for g, idx in zip(args[0::2], args[1::2]):
            gm = np.moveaxis(g.reshape(g.shape[:axis] + (idx.size,)
                                       + g.shape[axis + idx.ndim:]), axis, 0)
            np.add.at(moved, idx.ravel(), gm)
        return out
    if op == "concat":
        return np.concatenate(args, axis=p[0])
    if op in LINEAR_ALGEBRA:
        return _linalg(op, args[0], node.shape)
    raise errors.InternalError(f"no NumPy evaluation of {op}")


def _linalg(op, a, shape):
    """NumPy's value of a linear-algebra node; NaN where NumPy raises (a singular matrix, one
    not positive definite), as the kernel gives."""
    out = np.empty(shape)
    for at in np.ndindex(*a.shape[:-2]):
        try:
            if op == "inv":
                out[at] = np.linalg.inv(a[at])
            elif op == "cholesky":
                out[at] = np.linalg.cholesky(a[at])
            elif op == "eigh":
                w, v = np.linalg.eigh(a[at])
                out[at] = np.concatenate([w[None], v])
            else:
                out[at] = np.linalg.slogdet(a[at])
        except np.linalg.LinAlgError:
            out[at] = np.nan
    return out


def _numpy_key(key):
    return tuple(k[1] if k[0] == "i" else slice(k[1], k[1] + k[2] * k[3] if k[2] > 0 or
                                                k[1] + k[2] * k[3] >= 0 else None, k[2])
                 for k in key)
