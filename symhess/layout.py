"""Where each computed value lives in a kernel's flat output, and how results are assembled.

A layout answers two questions: at build time, which flat positions an entry is stored at
(`positions`), and at call time, how the flat buffer the kernel returns becomes the result the
user asked for (`assemble`): a tree of dense blocks, a CSR matrix, or a tree of arrays.
"""

from __future__ import annotations

import bisect

import numpy as np

from . import pytree

__all__ = ["Parts", "Layout", "Values", "JacobianLayout", "SparseLayout", "SparseJacobianLayout",
           "CSRLayout", "Sections"]


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _offsets(sizes) -> list:
    """Where each of consecutive parts of ``sizes`` starts."""
    return np.cumsum([0] + list(sizes[:-1])).tolist()


def _unique(a: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array (by sorting: several times faster than
    `np.unique`'s hashing on millions of values)."""
    a = np.sort(a)
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a


class Parts:
    """A flat buffer of consecutive arrays of ``shapes``, arranged as the leaves of ``tree``.

    ``assemble`` slices it into views; with a batch, each part keeps the points axis first
    (``block_major``: the buffer holds each part for every point, one part after the other).
    """

    def __init__(self, shapes, tree: pytree.TreeDef):
        self.shapes = [tuple(s) for s in shapes]
        self.tree = tree
        sizes = [_size(s) for s in self.shapes]
        self.offsets = _offsets(sizes)
        self.size = sum(sizes)
        self.blocks = list(zip(self.offsets, self.shapes))      # (offset, shape) of each part
        self.out_blocks = sizes
        self.direct = self._direct()
        self.out_shape = self.shapes[0] if self.direct else (self.size,)

    def _direct(self) -> bool:
        """Whether the kernel's output is the result itself (one array, nothing to arrange)."""
        return self.tree == pytree.LEAF and len(self.shapes) == 1

    def views(self, flat, batched=False, block_major=False) -> list:
        """The parts of ``flat`` as arrays of their shapes (views, no copy)."""
        if block_major:
            n = flat.shape[0] // self.size if self.size else 0
            return [flat[off * n:(off + _size(shape)) * n].reshape((n,) + shape)
                    for off, shape in self.blocks]
        if batched:
            return [flat[:, off:off + _size(shape)].reshape(flat.shape[:1] + shape)
                    for off, shape in self.blocks]
        return [flat[off:off + _size(shape)].reshape(shape) for off, shape in self.blocks]

    def arrange(self, parts: list):
        """``parts`` (one per shape, in order) as the result's tree."""
        return self.tree.unflatten(list(parts))

    def assemble(self, flat, batched=False, block_major=False):
        """The result for the kernel's output ``flat``."""
        if self.direct:
            return flat
        return self.arrange(self.views(flat, batched, block_major))


def _locate(offsets, k) -> tuple:
    """``(part, index within it)`` of flat index ``k`` over parts starting at ``offsets``."""
    i = bisect.bisect_right(offsets, k) - 1
    return i, k - offsets[i]


class _DerivativeBlocks(Parts):
    """Blocks of derivatives of the outputs (``out_shapes``, in ``out_tree``) by the
    differentiated leaves (``diff_shapes``, in ``diff_tree``), one per part of ``shapes``."""

    def __init__(self, shapes, out_shapes, diff_shapes, out_tree, diff_tree):
        self.out_shapes, self.diff_shapes = list(out_shapes), list(diff_shapes)
        self.out_tree, self.diff_tree = out_tree, diff_tree
        self.diff_sizes = [_size(s) for s in self.diff_shapes]
        self.diff_offsets = _offsets(self.diff_sizes)
        self.out_sizes = [_size(s) for s in self.out_shapes]
        self.out_offsets = _offsets(self.out_sizes)
        super().__init__(shapes, out_tree)

    def _direct(self) -> bool:
        return self.out_tree == pytree.LEAF and self.diff_tree == pytree.LEAF


class Layout(_DerivativeBlocks):
    """Where each Hessian block lives in the kernel's flat output buffer.

    Blocks come in ``(o, i, j)`` order: output leaf ``o``, differentiated leaves ``i`` and
    ``j``; the result is the tree product ``out_tree`` of ``diff_tree`` of ``diff_tree``.
    """

    def __init__(self, out_shapes, diff_shapes, out_tree=pytree.LEAF, diff_tree=pytree.LEAF):
        shapes = [tuple(so) + tuple(si) + tuple(sj) for so in out_shapes
                  for si in diff_shapes for sj in diff_shapes]
        super().__init__(shapes, out_shapes, diff_shapes, out_tree, diff_tree)
        n = len(self.diff_shapes)
        self.block_offset = {}
        for number, offset in enumerate(self.offsets):
            o, rest = divmod(number, n * n)
            self.block_offset[o, rest // n, rest % n] = offset

    def arrange(self, blocks: list):
        """Blocks in ``(o, i, j)`` order as the Hessian's tree ``H[out][i][j]``."""
        blocks = iter(blocks)
        n_diff = self.diff_tree.num_leaves
        per_out = []
        for _ in range(self.out_tree.num_leaves):
            rows = [self.diff_tree.unflatten([next(blocks) for _ in range(n_diff)])
                    for _ in range(n_diff)]
            per_out.append(self.diff_tree.unflatten(rows))
        return self.out_tree.unflatten(per_out)

    def position_arrays(self, k, l):
        """`positions` for arrays of coordinates ``k <= l`` of a scalar output:
        ``(first, mirror)``, mirror -1 on the diagonal."""
        offsets = np.asarray(self.diff_offsets, dtype=np.int64)
        sizes = np.asarray(self.diff_sizes, dtype=np.int64)
        n = len(sizes)
        block = np.array([[self.block_offset[0, i, j] for j in range(n)] for i in range(n)],
                         dtype=np.int64).reshape(n, n)
        i = np.searchsorted(offsets, k, side="right") - 1
        j = np.searchsorted(offsets, l, side="right") - 1
        kk, ll = k - offsets[i], l - offsets[j]
        first = block[i, j] + kk * sizes[j] + ll
        mirror = block[j, i] + ll * sizes[i] + kk
        return first, np.where(k == l, -1, mirror)

    def positions(self, o_flat, k, l) -> tuple:
        """Flat buffer positions of entry (output o_flat, variables k <= l) and its mirror."""
        o, oo = _locate(self.out_offsets, o_flat)
        i, kk = _locate(self.diff_offsets, k)
        j, ll = _locate(self.diff_offsets, l)
        ni, nj = self.diff_sizes[i], self.diff_sizes[j]
        first = self.block_offset[o, i, j] + (oo * ni + kk) * nj + ll
        mirror = self.block_offset[o, j, i] + (oo * nj + ll) * ni + kk
        return (first,) if first == mirror else (first, mirror)


class Values(Parts):
    """The function's own outputs in its output tree; a scalar output is a NumPy scalar."""

    def _direct(self) -> bool:
        return super()._direct() and self.shapes[0] != ()

    def views(self, flat, batched=False, block_major=False) -> list:
        return [flat[off] if shape == () else flat[off:off + _size(shape)].reshape(shape)
                for off, shape in self.blocks]

    def positions(self, o_flat) -> tuple:
        """Flat buffer position of output entry ``o_flat`` (outputs are stored in order)."""
        return (o_flat,)


class JacobianLayout(_DerivativeBlocks):
    """Where each Jacobian block lives: ``J[out][i]`` of shape ``out.shape + x_i.shape``, the
    tree of ``jax.jacobian`` (for a scalar output, the gradient in the inputs' tree)."""

    def __init__(self, out_shapes, diff_shapes, out_tree=pytree.LEAF, diff_tree=pytree.LEAF):
        super().__init__([tuple(so) + tuple(si) for so in out_shapes for si in diff_shapes],
                         out_shapes, diff_shapes, out_tree, diff_tree)

    def arrange(self, blocks: list):
        """Blocks in ``(o, i)`` order as the tree ``J[out][i]``."""
        blocks = iter(blocks)
        n_diff = self.diff_tree.num_leaves
        return self.out_tree.unflatten(
            [self.diff_tree.unflatten([next(blocks) for _ in range(n_diff)])
             for _ in range(self.out_tree.num_leaves)])

    def positions(self, o_flat, k) -> tuple:
        """Flat buffer position of entry (output ``o_flat``, variable ``k``)."""
        o, oo = _locate(self.out_offsets, o_flat)
        i, kk = _locate(self.diff_offsets, k)
        n = len(self.diff_sizes)
        return (self.offsets[o * n + i] + oo * self.diff_sizes[i] + kk,)

    def position_arrays(self, k, o=0) -> np.ndarray:
        """`positions` for arrays of variables ``k`` and outputs ``o`` (broadcast together)."""
        o, k = np.broadcast_arrays(np.asarray(o, dtype=np.int64), np.asarray(k, dtype=np.int64))
        out_offsets = np.asarray(self.out_offsets, dtype=np.int64)
        diff_offsets = np.asarray(self.diff_offsets, dtype=np.int64)
        leaf_o = np.searchsorted(out_offsets, o, side="right") - 1
        i = np.searchsorted(diff_offsets, k, side="right") - 1
        block = np.asarray(self.offsets, dtype=np.int64)[leaf_o * len(self.diff_sizes) + i]
        sizes = np.asarray(self.diff_sizes, dtype=np.int64)
        return block + (o - out_offsets[leaf_o]) * sizes[i] + k - diff_offsets[i]


#: What a sparse result is returned as (the ``sparse_format=`` option): SciPy's sparse array or
#: matrix in CSR form, a COO array, or the triplets ``(rows, cols, values)`` a solver such as
#: IPOPT takes (``rows`` and ``cols`` are the same read-only arrays at every call).
SPARSE_FORMATS = ("csr_array", "csr_matrix", "coo_array", "triplets")


class SparseLayout:
    """The values of a sparse matrix of ``shape`` whose nonzeros are ``keys`` (``row * columns +
    column``, sorted, distinct), in CSR order (row by row, columns increasing): the result is
    the matrix in ``format`` (one of `SPARSE_FORMATS`)."""

    direct = False
    on_host = True          # assembled by SciPy, on the host

    def __init__(self, keys, shape, format: str = "csr_array"):
        self.shape = tuple(int(s) for s in shape)
        self.keys = keys
        self.format = format
        rows, cols = np.divmod(keys, max(self.shape[1], 1))
        big = max(self.shape) >= 2 ** 31
        self.indices = cols.astype(np.int64 if big else np.int32)
        self.indptr = np.concatenate(
            [[0], np.cumsum(np.bincount(rows, minlength=self.shape[0]))]).astype(self.indices.dtype)
        # the coordinates themselves, for the formats that return them (read-only: shared by
        # every result)
        self.rows = self.cols = None
        if format in ("coo_array", "triplets"):
            self.rows = rows.astype(np.int64, copy=False)
            self.cols = cols.astype(np.int64, copy=False)
            self.rows.flags.writeable = self.cols.flags.writeable = False
        self.size = len(keys)
        self.out_shape = (self.size,)
        self.out_blocks = [self.size]

    @property
    def sparse(self) -> SparseLayout:
        """The sparse part of the result: this layout."""
        return self

    def _slot(self, r, c):
        return np.searchsorted(self.keys, np.asarray(r, dtype=np.int64) * self.shape[1] + c)

    def matrix(self, data):
        """The sparse result with these values, in this layout's ``format``."""
        if self.format == "triplets":
            return self.rows, self.cols, data
        import scipy.sparse
        if self.format == "coo_array":
            m = scipy.sparse.coo_array((data, (self.rows, self.cols)), shape=self.shape)
            m.has_canonical_format = True
            return m
        kind = scipy.sparse.csr_array if self.format == "csr_array" else scipy.sparse.csr_matrix
        m = kind((data, self.indices, self.indptr), shape=self.shape)
        m.has_sorted_indices = True
        return m

    def assemble(self, flat, batched=False, block_major=False):
        return self.matrix(flat)


class SparseJacobianLayout(SparseLayout):
    """The Jacobian as a CSR matrix (flat outputs by variables) with the pattern ``rows, cols``
    of its structurally nonzero entries."""

    def __init__(self, rows, cols, m: int, n: int, format: str = "csr_array"):
        super().__init__(_unique(np.asarray(rows, dtype=np.int64) * n
                                 + np.asarray(cols, dtype=np.int64)), (m, n), format)

    def positions(self, o, k) -> tuple:
        return (int(self._slot(o, k)),)

    def position_arrays(self, k, o=0) -> np.ndarray:
        """`positions` for arrays of variables ``k`` and outputs ``o`` (broadcast together)."""
        o, k = np.broadcast_arrays(np.asarray(o, dtype=np.int64), np.asarray(k, dtype=np.int64))
        return self._slot(o, k)


class CSRLayout(SparseLayout):
    """Where each nonzero Hessian entry lives in the data array of a CSR matrix.

    Built from the upper-triangle coordinates ``rows[i] <= cols[i]`` of the structurally
    nonzero entries of a scalar function of ``n`` variables (repeats are allowed).
    ``triangle`` is ``"both"`` (the symmetric matrix), or ``"upper"`` or ``"lower"`` for
    solvers that take one triangle (IPOPT takes the lower one).
    """

    def __init__(self, rows, cols, n: int, triangle: str = "both", format: str = "csr_array"):
        self.n, self.triangle = n, triangle
        key = _unique(np.asarray(rows, dtype=np.int64) * n + np.asarray(cols, dtype=np.int64))
        rows, cols = np.divmod(key, n)
        if triangle == "lower":
            rows, cols = cols, rows
        elif triangle == "both":
            off = rows != cols
            rows, cols = np.concatenate([rows, cols[off]]), np.concatenate([cols, rows[off]])
        super().__init__(_unique(rows * n + cols), (n, n), format)

    @classmethod
    def of_keys(cls, keys, n: int, triangle: str = "both", format: str = "csr_array"):
        """The layout of the sorted, distinct ``keys`` (``row * n + column``), already the
        entries of ``triangle``."""
        layout = cls.__new__(cls)
        layout.n, layout.triangle = n, triangle
        SparseLayout.__init__(layout, keys, (n, n), format)
        return layout

    upper = property(lambda self: self.triangle == "upper")
    lower = property(lambda self: self.triangle == "lower")

    def pattern(self):
        """The symmetric boolean pattern of the Hessian (both triangles), as a CSR array."""
        import scipy.sparse
        rows, cols = np.divmod(self.keys, self.n)
        if self.triangle != "both":
            off = rows != cols
            rows, cols = np.concatenate([rows, cols[off]]), np.concatenate([cols, rows[off]])
        return scipy.sparse.csr_array((np.ones(len(rows), dtype=bool), (rows, cols)),
                                      shape=(self.n, self.n))

    def positions(self, o, k, l) -> tuple:
        """Data-array positions of entry (k, l), k <= l, and, for both triangles, its mirror."""
        if self.triangle == "lower":
            return (int(self._slot(l, k)),)
        first = int(self._slot(k, l))
        if self.triangle == "upper" or k == l:
            return (first,)
        return (first, int(self._slot(l, k)))

    def position_arrays(self, k, l):
        """`positions` for arrays of coordinates ``k <= l``: ``(first, mirror)``, mirror -1
        where the entry is stored once (the diagonal, or every entry of one triangle)."""
        if self.triangle == "lower":
            first = self._slot(l, k)
            return first, np.full_like(first, -1)
        first = self._slot(k, l)
        if self.triangle == "upper":
            return first, np.full_like(first, -1)
        return first, np.where(k == l, -1, self._slot(l, k))


class Sections:
    """Several results in one flat buffer, one after the other (a value, its gradient and its
    Hessian from one kernel): ``sections[i]`` is a layout whose positions start at
    ``offsets[i]``; the result is the tuple of their results."""

    direct = False

    def __init__(self, sections):
        self.sections = list(sections)
        sizes = [s.size for s in self.sections]
        self.offsets = _offsets(sizes)
        self.size = sum(sizes)
        self.out_shape = (self.size,)
        self.out_blocks = [b for s in self.sections for b in s.out_blocks]
        self.on_host = any(getattr(s, "on_host", False) for s in self.sections)
        # the sparse part of the result (`Compiled.pattern`), if any
        self.sparse = next((s for s in self.sections if isinstance(s, SparseLayout)), None)
        self.split = self._splitter()
        self.parts = self._parts()

    def _parts(self):
        """``[(offset, shape)]`` of each section when each is one array (a scalar value, a
        gradient or Hessian of one argument): a kernel can then return them itself
        (`codegen.KernelSpec.parts`), as `split` would; else None."""
        parts = []
        for s, a in zip(self.sections, self.offsets):
            if isinstance(s, SparseLayout) or s.tree != pytree.LEAF or len(s.shapes) != 1 \
                    or not (s.direct or s.shapes == [()]):
                return None
            parts.append((a, s.shapes[0]))
        return parts

    def _splitter(self):
        """A function from the kernel's flat output to the result, each section's part made
        by the cheapest means its layout allows (a scalar, a reshaped view, a CSR matrix):
        what a call of a small kernel from Python costs beside the kernel itself."""
        parts = []
        for s, a in zip(self.sections, self.offsets):
            b = a + s.size
            if isinstance(s, SparseLayout):
                parts.append(lambda flat, s=s, a=a, b=b: s.matrix(flat[a:b]))
            elif s.shapes == [()] and s.tree == pytree.LEAF:
                parts.append(lambda flat, a=a: flat[a])
            elif s.direct:
                parts.append(lambda flat, a=a, b=b, shape=s.shapes[0]: flat[a:b].reshape(shape))
            else:
                parts.append(lambda flat, s=s, a=a, b=b: s.arrange(s.views(flat[a:b])))
        if len(parts) == 2:
            first, second = parts
            return lambda flat: (first(flat), second(flat))
        if len(parts) == 3:
            first, second, third = parts
            return lambda flat: (first(flat), second(flat), third(flat))
        return lambda flat: tuple(part(flat) for part in parts)

    def assemble(self, flat, batched=False, block_major=False):
        return self.split(flat)
