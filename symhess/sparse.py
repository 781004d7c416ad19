"""Sparse Hessians: the CSR layout of the exact symbolic pattern."""

from __future__ import annotations

import numpy as np


class CSRLayout:
    """Where each nonzero Hessian entry lives in the data array of a CSR matrix.

    Built from the derived upper-triangle entries ``{(0, k, l): expr}`` of a scalar function of
    ``n`` variables. With ``upper=True`` only the upper triangle (``k <= l``) is stored, for
    solvers that take one; otherwise both triangles.
    """

    def __init__(self, entries: dict, n: int, upper: bool):
        self.entries, self.n, self.upper = entries, n, upper
        rows, cols = [], []
        for _, k, l in entries:
            rows.append(k)
            cols.append(l)
            if not upper and k != l:
                rows.append(l)
                cols.append(k)
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        order = np.lexsort((cols, rows))
        self.indices = cols[order].astype(np.int32 if n < 2 ** 31 else np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(self.indices.dtype)
        slot = np.empty(len(order), dtype=np.int64)
        slot[order] = np.arange(len(order))
        self._slot = dict(zip(zip(rows.tolist(), cols.tolist()), slot.tolist()))
        self.size = len(order)

    def positions(self, o, k, l) -> tuple:
        """Data-array positions of entry (k, l) and, for the full pattern, its mirror (l, k)."""
        first = self._slot[k, l]
        if self.upper or k == l:
            return (first,)
        return (first, self._slot[l, k])

    def matrix(self, data):
        """The CSR matrix with these values."""
        import scipy.sparse
        m = scipy.sparse.csr_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))
        m.has_sorted_indices = True
        return m
