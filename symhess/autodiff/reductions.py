"""Reductions and cumulative folds of the autodiff's jets along the leading axes.

Sums are taken on the packed arrays at once; other ufuncs (``np.prod``, ``np.max``, ...) fold
from the left, one element-wise step at a time, so each step runs the element-wise rules and
ties pick the first argument, as NumPy's own folds do.
"""

from __future__ import annotations

import numpy as np

from ..errors import OperandError
from .jet import Jet, pack, seed_of, ufunc_method


def axes(a, axis):
    """Axes as a tuple of non-negative ints counted on the value, never the packed axis."""
    if axis is None:
        return tuple(range(a.ndim))
    return tuple(sorted(int(ax) % a.ndim for ax in np.atleast_1d(axis)))


def _fold(uf, a, axis):
    """Left fold of a binary ufunc along one axis: ``((a0 op a1) op a2) ...``."""
    m = np.moveaxis(a, axis, 0)
    if len(m) == 0:
        raise OperandError(f"np.{uf.__name__}.reduce of an empty axis")
    acc, steps = m[0], [m[0]]
    for i in range(1, len(m)):
        acc = uf(acc, m[i])
        steps.append(acc)
    return acc, steps


def reduce(uf, a, axis=0, keepdims=False):
    """``uf.reduce(a, axis)``: the sum at once, other ufuncs as left folds."""
    a = pack(a, seed_of(a))
    if uf is np.add:
        over = axes(a, axis)
        # A sum's error: the terms' own, plus a rounding of the size of the sum of |terms|.
        return Jet(np.sum(a.d, axis=over, keepdims=keepdims), a.seed,
                   np.sum(a.m + np.abs(a.d), axis=over, keepdims=keepdims))
    out = a
    for ax in reversed(axes(a, axis)):
        out = _fold(uf, out, ax)[0]
        if keepdims:
            out = np.expand_dims(out, ax)
    return out


def accumulate(uf, a, axis=0):
    """``uf.accumulate(a, axis)``: the partial results of a left fold along one axis."""
    a = pack(a, seed_of(a))
    if uf is np.add:
        ax = axes(a, axis)[0]
        return Jet(np.cumsum(a.d, axis=ax), a.seed, np.cumsum(a.m + np.abs(a.d), axis=ax))
    ax = axes(a, axis)[0]
    return np.moveaxis(np.stack(_fold(uf, a, ax)[1]), 0, ax)


@ufunc_method("reduce")
def _reduce_method(uf, inputs, kwargs):
    return reduce(uf, inputs[0], kwargs.get("axis", 0), kwargs.get("keepdims", False))


@ufunc_method("accumulate")
def _accumulate_method(uf, inputs, kwargs):
    return accumulate(uf, inputs[0], kwargs.get("axis", 0))
