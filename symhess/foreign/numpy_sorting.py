"""``np.sort`` and ``np.median`` of traced values, by a sorting network; ``np.argmax`` and
``np.argmin`` by a pass that keeps the best entry so far; ``np.argsort`` refused by name.

A sorted array is piecewise a permutation of its input: its derivatives are those of the
permutation the point lies in, as JAX's are (ties take the first operand, as ``np.minimum``'s
rule does). The network is Batcher's bitonic sort along the last axis, padded with ``+inf`` to a
power of two: ``log2(n) (log2(n) + 1) / 2`` stages of ``np.minimum`` and ``np.maximum`` of two
halves, each one array operation, so the array tier's graph grows with ``log^2 n`` and each
entry of the scalar tier's result is a selection that deep: the scalar tier, whose expressions
are trees, sorts at most 16 values (about a second to compile a Hessian) and refuses more, which
``tier='auto'`` then hands to the array tier. NaNs are not moved to the end as NumPy moves them:
a comparison with NaN keeps the first operand.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedFunctionError

__all__ = ["DEFINITIONS", "REFUSED"]


_UNROLLED = 16          # the longest sort written out in scalar expressions (10 stages)


def _depth(n: int) -> int:
    k = n.bit_length() - 1
    return k * (k + 1) // 2


def _stages(n: int):
    """For each stage of the bitonic network on ``n`` (a power of two) entries: ``(lower,
    upper, ascending)``, the pairs it compares and whether each pair is put in order."""
    idx = np.arange(n)
    k = 2
    while k <= n:
        j = k // 2
        while j >= 1:
            lower = idx[idx < (idx ^ j)]
            yield lower, lower ^ j, (lower & k) == 0
            j //= 2
        k *= 2


def _sorted_last(a):
    """``a`` sorted along its last axis."""
    n = np.shape(a)[-1]
    size = 1 << max(n - 1, 0).bit_length()
    if size > _UNROLLED and getattr(a, "unrolled", False):
        raise UnsupportedFunctionError(
            f"np.sort or np.median of {n} traced values in the scalar tier",
            f"the sorting network's selections nest {_depth(size)} deep, and written out as "
            f"expressions they grow exponentially with that depth; tier='array' sorts any "
            f"length (tier='auto' takes it there)")
    if size > n:
        pad = np.full(np.shape(a)[:-1] + (size - n,), np.inf)
        a = np.concatenate([a, pad], axis=-1)
    for lower, upper, ascending in _stages(size):
        x, y = a[..., lower], a[..., upper]
        small, large = np.minimum(x, y), np.maximum(x, y)
        placed = np.concatenate([np.where(ascending, small, large),
                                 np.where(ascending, large, small)], axis=-1)
        a = placed[..., np.argsort(np.concatenate([lower, upper]))]
    return a[..., :n]


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``np.sort``: ascending along ``axis`` (flattened for ``axis=None``)."""
    if order is not None:
        raise UnsupportedFunctionError("np.sort with order=", "traced arrays have no fields")
    if axis is None:
        return _sorted_last(np.reshape(a, (-1,)))
    return np.moveaxis(_sorted_last(np.moveaxis(a, axis, -1)), -1, axis)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``np.median``: the middle entry of the sorted values, or the mean of the middle two."""
    if out is not None:
        raise UnsupportedFunctionError("np.median with out=", "traced arrays are never "
                                       "written in place")
    if axis is None:
        result = median(np.reshape(a, (-1,)), axis=0)
        return np.reshape(result, (1,) * np.ndim(a)) if keepdims else result
    s = _sorted_last(np.moveaxis(a, axis, -1))
    n = np.shape(s)[-1]
    result = 0.5 * (s[..., (n - 1) // 2] + s[..., n // 2])
    return np.expand_dims(result, axis) if keepdims else result


def _refuse(name):
    def refuse(*args, **kwargs):
        raise UnsupportedFunctionError(
            f"np.{name} of a traced value",
            "its result is a permutation of integer indices, which symhess cannot use to "
            "index: write np.sort (its Hessian is that of the active permutation), or pass "
            "the indices as data computed outside the traced function")
    refuse.__name__ = name
    return refuse


def argmax(a, axis=None, out=None, *, keepdims=False):
    """The index of the first largest entry (of the first NaN, as NumPy's), along ``axis``."""
    return _first_extreme(a, axis, out, keepdims, np.greater)


def argmin(a, axis=None, out=None, *, keepdims=False):
    """The index of the first smallest entry (of the first NaN, as NumPy's), along ``axis``."""
    return _first_extreme(a, axis, out, keepdims, np.less)


def _first_extreme(a, axis, out, keepdims, better):
    """A pass over the entries keeping the best so far and its index: of traced entries a
    piecewise-constant traced index (its derivative is 0) that indexes by selection
    (`symhess.trace`); of numbers, NumPy's integers."""
    if out is not None:
        raise UnsupportedFunctionError(f"np.arg{'max' if better is np.greater else 'min'} "
                                       "with out=", "use the returned array")
    x = np.reshape(a, (-1,)) if axis is None else np.moveaxis(a, axis, -1)
    best, index = x[..., 0], np.zeros(np.shape(x)[:-1])
    for k in range(1, np.shape(x)[-1]):
        entry = x[..., k]
        take = better(entry, best) | ((entry != entry) & (best == best))
        best, index = np.where(take, entry, best), np.where(take, float(k), index)
    if keepdims:
        index = (np.reshape(index, (1,) * np.ndim(a)) if axis is None
                 else np.expand_dims(index, axis))
    return index.astype(np.int64) if isinstance(index, np.ndarray) else index


DEFINITIONS = {np.sort: sort, np.median: median, np.argmax: argmax, np.argmin: argmin}
REFUSED = {np.argsort: _refuse("argsort")}
