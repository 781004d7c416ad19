"""Lazy blocks: derive and compile one block of a Hessian, or a range of its rows, alone.

As paddle's lazily evaluated Hessian, ``H.block(i, j)`` asks for the block of the
differentiated leaves ``i`` and ``j`` only; nothing else of the Hessian is derived or compiled.
"""

from __future__ import annotations

import numpy as np

from . import pytree
from .compiler import _source, kernel_spec, load_or_emit
from .progress import Progress


class BlockFunction:
    """The callable returned by `HessianFunction.block`: one block, compiled per signature.

    Leaves ``i`` and ``j`` count the differentiated leaves in order: the arguments in
    ``argnums`` order, each pytree's leaves in pytree order. The result has shape
    ``out.shape + x_i.shape + x_j.shape``, or ``out.shape + (len(rows),) + x_j.shape`` when
    ``rows`` selects rows of ``x_i`` flattened in C order.
    """

    def __init__(self, hessian, i: int, j: int, rows=None):
        if rows is not None and not isinstance(rows, (slice, range)):
            raise TypeError(f"rows must be a slice or a range of flat row indices; got {rows!r}")
        self.hessian, self.i, self.j, self.rows = hessian, i, j, rows
        self._compiled = {}

    def __call__(self, *args, **kwargs):
        key = self.hessian._signature(args, kwargs)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._build(args, kwargs)
        return compiled(*args, **kwargs)

    def _build(self, args, kwargs):
        owner = self.hessian
        progress = Progress(f"block ({self.i}, {self.j}) of {owner._name}", owner.verbose)
        with progress.stage("trace"):
            traced = owner._trace(args, kwargs)
        diff = traced["diff_leaves"]
        for index in (self.i, self.j):
            if not -len(diff) <= index < len(diff):
                raise IndexError(f"block index {index} is out of range: {owner._name} has "
                                 f"{len(diff)} differentiated leaves")
        a, b = diff[self.i], diff[self.j]
        rows = range(a.size) if self.rows is None else range(a.size)[self.rows]
        row_shape = a.shape if self.rows is None else (len(rows),)
        shapes = [out.shape + row_shape + b.shape for out in traced["outputs"]]
        sizes = [int(np.prod(sh, dtype=np.int64)) for sh in shapes]
        dtype = traced["dtype"]
        def make_spec():
            xs, ys = a.symbols().ravel(), b.symbols().ravel()
            values, offset = [], 0
            with progress.stage("differentiate"):
                for out, size in zip(traced["outputs"], sizes):
                    for o, f in enumerate(out.ravel()):
                        free = f.free_symbols
                        for r, k in enumerate(rows):
                            if xs[k] not in free:
                                continue
                            g = f.diff(xs[k])
                            g_free = g.free_symbols
                            for l, y in enumerate(ys):
                                if y in g_free:
                                    h = g.diff(y)
                                    if h != 0:
                                        position = offset + (o * len(rows) + r) * len(ys) + l
                                        values.append((h, (position,)))
                    offset += size
            with progress.stage("CSE"):
                return kernel_spec(f"block of the Hessian of {owner._name}", traced["leaves"],
                                   values, sum(sizes), (sum(sizes),), dtype)

        module = load_or_emit(make_spec, progress, traced["leaves"])
        return CompiledBlock(module.kernel, _source(module), traced["arg_pytrees"],
                             traced["out_tree"], shapes)


class CompiledBlock:
    """One block for one signature; call it with the function's arguments.

    The result has the function's output tree; each output leaf gets its block.
    """

    def __init__(self, kernel, source, arg_pytrees, out_tree, shapes):
        self.kernel, self.source, self._arg_pytrees = kernel, source, arg_pytrees
        self._out_tree, self._shapes = out_tree, shapes

    def __call__(self, *args, **kwargs):
        leaves = []
        for arg, treedef in self._arg_pytrees:
            value = args[arg] if isinstance(arg, int) else kwargs[arg]
            leaves.extend([value] if treedef == pytree.LEAF else pytree.flatten(value)[0])
        flat = self.kernel(*leaves)
        blocks, offset = [], 0
        for shape in self._shapes:
            size = int(np.prod(shape, dtype=np.int64))
            blocks.append(flat[offset:offset + size].reshape(shape))
            offset += size
        return self._out_tree.unflatten(blocks)
