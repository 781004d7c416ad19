"""Indexing in the array tier: ``a[key]`` (basic indexing as a slice, integer arrays as a
gather), ``np.take`` and ``np.repeat`` (a gather with a constant index)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .graph import Unsupported
from .numpy_rules import wrap, function
from .tracer import Rules, SymArray, lift


@function(np.take)
def _take(b, a, indices, axis=None, out=None, mode="raise"):
    if out is not None:
        raise Unsupported("np.take with out=")
    x = lift(b, a)
    if axis is None:
        x, axis = b.reshape(x, (x.size,)), 0
    return _gather(b, x, indices, int(axis) % x.ndim)


@function(np.repeat)
def _repeat(b, a, repeats, axis=None):
    """``np.repeat``: each entry ``repeats`` times along ``axis`` (of the flattened array when
    None), a gather of the entries ``np.repeat(np.arange(n), repeats)``."""
    if isinstance(repeats, SymArray):
        raise Unsupported("np.repeat with traced repeats")
    x = lift(b, a)
    if axis is None:
        x, axis = b.reshape(x, (x.size,)), 0
    axis = int(axis) % max(x.ndim, 1)
    if x.ndim == 0:
        x = b.reshape(x, (1,))
    return _gather(b, x, np.repeat(np.arange(x.shape[axis]), repeats), axis)


def _gather(b, x, indices, axis):
    if isinstance(indices, SymArray):
        if indices.node.dtype != "i":
            raise Unsupported("indexing with a traced non-integer array")
        return b.gather(x, indices.node, axis)
    idx = np.asarray(indices)
    if idx.dtype.kind == "b":
        if idx.shape != (x.shape[axis],):
            raise Unsupported("a boolean mask over several axes")
        idx = np.flatnonzero(idx)
    if idx.dtype.kind not in "iu":
        raise Unsupported(f"indexing with an array of dtype {idx.dtype}")
    n = x.shape[axis]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise Unsupported(f"index {int(idx.max() if idx.max() >= n else idx.min())} out of "
                          f"bounds for axis {axis} with size {n}")
    idx = np.where(idx < 0, idx + n, idx).astype(np.int64)
    if idx.ndim == 1 and idx.size and np.array_equal(idx, idx[0] + np.arange(idx.size)):
        key = tuple(("s", int(idx[0]), 1, idx.size) if k == axis else ("s", 0, 1, m)
                    for k, m in enumerate(x.shape))
        return b.slice(x, key)                 # a contiguous run: a slice, not a gather
    return b.gather(x, idx, axis)


def getitem(array: SymArray, key):
    """``array[key]``: basic indexing as a slice, one (or adjacent) integer arrays as a gather."""
    b, x = array.node.builder, array.node
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        used = sum(1 for k in key if k is not None and k is not Ellipsis)
        key = key[:i] + (slice(None),) * (x.ndim - used) + key[i + 1:]
    advanced = [i for i, k in enumerate(key) if _is_array_index(k)]
    basic, new_axes, axis_out, adv_out = [], [], 0, None
    axis = 0
    for i, k in enumerate(key):
        if k is None:
            new_axes.append(axis_out)
            axis_out += 1
            continue
        if axis >= x.ndim:
            raise Unsupported(f"too many indices for an array of shape {x.shape}")
        n = x.shape[axis]
        if i in advanced:
            basic.append(("s", 0, 1, n))
            if adv_out is None:
                adv_out = axis_out
            axis_out += 1
        elif isinstance(k, slice):
            start, stop, step = k.indices(n)
            basic.append(("s", start, step, len(range(start, stop, step))))
            axis_out += 1
        elif isinstance(k, (numbers.Integral, np.integer)) and not isinstance(k, bool):
            if not -n <= int(k) < n:
                raise Unsupported(f"index {int(k)} out of bounds for axis {axis} with size {n}")
            basic.append(("i", int(k) % n))
        else:
            raise Unsupported(f"an index of type {type(k).__name__}")
        axis += 1
    basic += [("s", 0, 1, n) for n in x.shape[axis:]]
    result = b.slice(x, tuple(basic))
    if advanced:
        if len(advanced) > 1 and advanced != list(range(advanced[0], advanced[-1] + 1)):
            raise Unsupported("integer arrays at non-adjacent axes")
        if new_axes:
            raise Unsupported("np.newaxis together with integer-array indexing")
        first = adv_out
        if len(advanced) > 1:                     # adjacent integer arrays: one flat gather
            dims = [result.shape[first + j] for j in range(len(advanced))]
            arrays = np.broadcast_arrays(*[_index_array(key[i]) for i in advanced])
            flat = np.ravel_multi_index([np.where(a < 0, a + n, a) for a, n in zip(arrays, dims)],
                                        dims)
            result = b.reshape(result, result.shape[:first] + (math.prod(dims),)
                               + result.shape[first + len(dims):])
            return wrap(_gather(b, result, flat, first))
        return wrap(_gather(b, result, key[advanced[0]], first))
    for pos in new_axes:
        shape = list(result.shape)
        shape.insert(pos, 1)
        result = b.reshape(result, tuple(shape))
    return wrap(result)


def _is_array_index(k) -> bool:
    return isinstance(k, (list, np.ndarray, SymArray)) and not (
        isinstance(k, np.ndarray) and k.ndim == 0)


def _index_array(k):
    if isinstance(k, SymArray):
        raise Unsupported("several traced integer arrays in one index")
    return np.asarray(k)


Rules.getitem = getitem
