"""Sparse Hessians: the CSR layout of the exact symbolic pattern."""

from __future__ import annotations

import numpy as np


def _unique(a: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array (by sorting: several times faster than
    `np.unique`'s hashing on millions of values)."""
    a = np.sort(a)
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a


class CSRLayout:
    """Where each nonzero Hessian entry lives in the data array of a CSR matrix.

    Built from the upper-triangle coordinates ``rows[i] <= cols[i]`` of the structurally
    nonzero entries of a scalar function of ``n`` variables (repeats are allowed). With
    ``upper=True`` only the upper triangle is stored, for solvers that take one; otherwise both.
    """

    def __init__(self, rows, cols, n: int, upper: bool):
        self.n, self.upper = n, upper
        key = _unique(np.asarray(rows, dtype=np.int64) * n + np.asarray(cols, dtype=np.int64))
        rows, cols = np.divmod(key, n)
        if not upper:
            off = rows != cols
            rows, cols = np.concatenate([rows, cols[off]]), np.concatenate([cols, rows[off]])
        self._keys = _unique(rows * n + cols)            # sorted: the CSR data order
        rows, cols = np.divmod(self._keys, n)
        self.indices = cols.astype(np.int32 if n < 2 ** 31 else np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(self.indices.dtype)
        self.size = len(self._keys)

    def _slot(self, k, l):
        return np.searchsorted(self._keys, np.asarray(k, dtype=np.int64) * self.n + l)

    def positions(self, o, k, l) -> tuple:
        """Data-array positions of entry (k, l) and, for the full pattern, its mirror (l, k)."""
        first = int(self._slot(k, l))
        if self.upper or k == l:
            return (first,)
        return (first, int(self._slot(l, k)))

    def position_arrays(self, k, l):
        """`positions` for arrays of coordinates ``k <= l``: ``(first, mirror)``, mirror -1
        where the entry is stored once (the diagonal, or every entry of an upper pattern)."""
        first = self._slot(k, l)
        if self.upper:
            return first, np.full_like(first, -1)
        return first, np.where(k == l, -1, self._slot(l, k))

    def matrix(self, data):
        """The CSR matrix with these values."""
        import scipy.sparse
        m = scipy.sparse.csr_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))
        m.has_sorted_indices = True
        return m
