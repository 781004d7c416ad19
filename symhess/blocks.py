"""Lazy blocks: derive and compile one block of a Hessian, or a range of its rows, alone.

As paddle's lazily evaluated Hessian, ``H.block(i, j)`` asks for the block of the
differentiated leaves ``i`` and ``j`` only; nothing else of the Hessian is derived or compiled.
"""

from __future__ import annotations

import functools

import numpy as np

from .derive import block_entries
from .errors import BlockIndexError, OptionTypeError
from .layout import Parts
from .lower import Plan, kernel_spec
from .runtime import Compiled
from .signature import Trace


class BlockFunction:
    """The callable returned by `HessianFunction.block`: one block, compiled per signature.

    Leaves ``i`` and ``j`` count the differentiated leaves in order: the arguments in
    ``argnums`` order, each pytree's leaves in pytree order. The result has shape
    ``out.shape + x_i.shape + x_j.shape``, or ``out.shape + (len(rows),) + x_j.shape`` when
    ``rows`` selects rows of ``x_i`` flattened in C order.
    """

    def __init__(self, hessian, i: int, j: int, rows=None):
        if rows is not None and not isinstance(rows, (slice, range)):
            raise OptionTypeError(
                f"rows must be a slice or a range of flat row indices; got {rows!r}")
        self.hessian, self.product = hessian, BlockProduct(i, j, rows)
        self._compiled = {}

    def __call__(self, *args, **kwargs):
        args, kwargs = self.hessian.arrays(args, kwargs)
        key = self.hessian.signature(args, kwargs)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self.compile(*args, **kwargs)
        return compiled(*args, **kwargs)

    def compile(self, *args, **kwargs) -> Compiled:
        """Trace and compile the block for the signature of these arguments."""
        args, kwargs = self.hessian.arrays(args, kwargs)
        product = self.product
        return self.hessian.trace_and_build(
            args, kwargs, product, f"block ({product.i}, {product.j}) of {self.hessian.name}",
            lazy_gathers=False)


class BlockProduct:
    """Block ``(i, j)`` of the Hessian (of differentiated leaves i and j), or some of its rows."""

    def __init__(self, i: int, j: int, rows=None):
        self.i, self.j, self.rows = i, j, rows

    def plan(self, trace: Trace, progress) -> Plan:
        diff = trace.diff_leaves
        for index in (self.i, self.j):
            if not -len(diff) <= index < len(diff):
                raise BlockIndexError(f"block index {index} is out of range: {trace.name} has "
                                      f"{len(diff)} differentiated leaves")
        a, b = diff[self.i], diff[self.j]
        rows = range(a.size) if self.rows is None else range(a.size)[self.rows]
        row_shape = a.shape if self.rows is None else (len(rows),)
        shapes = [out.shape + row_shape + b.shape for out in trace.outputs]
        layout = Parts(shapes, trace.out_tree)
        xs, ys = a.symbols().ravel(), b.symbols().ravel()

        def spec():
            with progress.stage("differentiate"):
                entries = block_entries(trace.flat_outputs, [xs[k] for k in rows], list(ys))
            # Entry (o, r, l) of the flat outputs: output leaf, then its own flat index.
            starts = np.cumsum([0] + [out.size for out in trace.outputs]).tolist()
            values = []
            for (o, r, l), h in entries.items():
                leaf = int(np.searchsorted(starts, o, side="right")) - 1
                position = layout.offsets[leaf] + ((o - starts[leaf]) * len(rows) + r) * len(ys) + l
                values.append((h, (position,)))
            with progress.stage("CSE"):
                return kernel_spec(f"block of the Hessian of {trace.name}", trace.leaves, values,
                                   layout, trace.dtype)

        return Plan(leaves=trace.leaves, layout=layout, dtype=trace.dtype, spec=spec,
                    make=functools.partial(Compiled, what="block of the Hessian"))
