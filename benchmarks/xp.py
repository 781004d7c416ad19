"""Array namespaces the problems are written against, one per kind of peer.

A problem is a function ``make(xp)`` returning ``f(x, *data)``; ``xp`` offers the few operations
the problems need (``sum, max, log, exp, sqrt, tanh, cos, arccos, arctan2, det, stack,
reshape``), and the arrays ``f`` is called with support arithmetic, ``@``, ``.T``, ``.shape``
and indexing with ints, slices and integer arrays. NumPy, JAX and PyTorch get thin wrappers over
their own functions; the symbolic peers (CasADi SX, SymEngine, SymPy) get NumPy object arrays of
scalar expressions with element-wise functions mapped over them, which is how a user of those
libraries writes array code.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def numpy_xp():
    """Plain NumPy: what symhess traces (its symbolic arrays dispatch NumPy's own calls)."""
    return SimpleNamespace(
        name="numpy", sum=np.sum, max=np.max, log=np.log, exp=np.exp, sqrt=np.sqrt,
        tanh=np.tanh, cos=np.cos, arccos=np.arccos, arctan2=np.arctan2, det=np.linalg.det,
        stack=np.stack, reshape=np.reshape)


def jax_xp():
    """jax.numpy."""
    import jax.numpy as jnp
    return SimpleNamespace(
        name="jax", sum=jnp.sum, max=jnp.max, log=jnp.log, exp=jnp.exp, sqrt=jnp.sqrt,
        tanh=jnp.tanh, cos=jnp.cos, arccos=jnp.arccos, arctan2=jnp.arctan2,
        det=jnp.linalg.det, stack=jnp.stack, reshape=jnp.reshape)


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

