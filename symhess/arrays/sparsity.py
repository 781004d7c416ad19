"""Sparse Hessians in the array tier: the exact pattern from the graph, and a coloring of it.

The Hessian of ``f`` is the Jacobian of its gradient graph. `hessian_pattern` finds which
entries can be nonzero by carrying, through that graph, which variables each element of each
node depends on: a sparse 0/1 matrix of ``node.size`` rows by ``n`` columns per node, moved by
the same index maps the values move by (a gather selects rows, a reduction or a scatter adds
them, an elementwise operation joins its operands'). The pattern is structural: it holds every
entry that is nonzero at some point (and no others, up to cancellations such as ``x - x``), it
is found in time proportional to the graph's nonzeros, and it does not depend on the point.
Index arrays must then be constants of the trace: a gather by a runtime index array has a
pattern that depends on the data, which `Unsupported` reports.

`color_columns` partitions the variables into groups of which no two appear in one row of the
pattern (a distance-2 coloring, as CasADi and SparseDiffTools color Hessians); the Hessian's
product with the 0/1 matrix of each group holds every entry of those columns unmixed. The
kernel computes the products of all groups at once (forward over reverse with ``c`` directions
instead of ``n``) and reads the entries out (`symhess.arrays.product`).
"""

from __future__ import annotations

import numpy as np

from .graph import Unsupported, topological
from .linalg import OPS as LINEAR_ALGEBRA

#: Elementwise functions whose derivative is zero: the dependence stops at them.
FLAT = frozenset({"sign", "floor", "ceil", "not", "stop", "held_shape"})
#: Binary functions with a zero derivative (comparisons and logic).
FLAT_BINARY = frozenset({"gt", "ge", "lt", "le", "eq", "ne", "and", "or"})
#: The most nonzeros a dependency matrix may have: beyond it the array tier leaves the sparse
#: Hessian to the scalar tier (`Unsupported`).
MAX_NONZEROS = 5 * 10 ** 7


def hessian_pattern(grads: list, inputs: list, constants: list, upper: bool = True) -> tuple:
    """``(rows, cols)`` with ``rows <= cols``: the upper triangle of the Hessian's structurally
    nonzero entries, for the gradient graphs ``grads`` of the differentiated ``inputs`` (with
    ``upper=False``: both triangles)."""
    import scipy.sparse as sp
    n = sum(x.size for x in inputs)
    deps, offset = {}, 0
    for x in inputs:
        deps[x.id] = sp.csr_array((np.ones(x.size, np.float32),
                                   (np.arange(x.size), offset + np.arange(x.size))),
                                  shape=(x.size, n))
        offset += x.size
    for node in topological(grads):
        if node.id not in deps:
            deps[node.id] = _dependence(node, [deps.get(a.id) for a in node.args], constants, n)
    empty = sp.csr_array((0, n), dtype=np.float32)
    rows = [deps[g.id] if deps.get(g.id) is not None
            else sp.csr_array((g.size, n), dtype=np.float32) for g in grads]
    pattern = sp.vstack(rows or [empty], format="csr")
    pattern = (pattern + pattern.T).tocsr()              # a pattern is symmetric
    if upper:
        pattern = sp.triu(pattern, format="csr")
    pattern.sort_indices()
    r = np.repeat(np.arange(n, dtype=np.int64), np.diff(pattern.indptr))
    return r, pattern.indices.astype(np.int64)


def _dependence(node, deps, constants, n):
    """The dependency matrix of ``node`` from its operands' (None: depends on no variable)."""
    op, p = node.op, node.params
    if op in ("input", "const", "eye"):
        return None
    if op == "unary" and p[0] in FLAT or op == "binary" and p[0] in FLAT_BINARY:
        return None
    live = [(a, d) for a, d in zip(node.args, deps) if d is not None]
    if op == "where":
        live = [(a, d) for a, d in zip(node.args[1:], deps[1:]) if d is not None]
    if not live:
        return None
    if op in ("unary", "binary", "where"):
        grid = _grid(node.shape)
        return _join([_move(d, np.broadcast_to(_grid(a.shape), node.shape).ravel(),
                                  grid.ravel(), node.size) if a.shape != node.shape else d
                            for a, d in live])
    if op in ("bcast", "transpose", "reshape", "slice", "gather", "embed", "concat"):
        return _join([_index_map(node, k, deps[k], constants)
                            for k in range(len(node.args)) if deps[k] is not None])
    if op in ("sum", "max"):
        a, d = live[0]
        kept = [i for i in range(a.ndim) if i not in p[0]]
        grid = _grid(tuple(a.shape[i] for i in kept))
        where = np.broadcast_to(np.expand_dims(grid, tuple(p[0])), a.shape)
        return _move(d, np.arange(a.size), where.ravel(), node.size)
    if op == "scatter":
        parts = []
        for k in range(0, len(node.args), 2):
            dest = np.take(_grid(node.shape), _index_values(node.args[k + 1], constants), p[0])
            parts.append(_move(deps[k], np.arange(node.args[k].size), dest.ravel(), node.size))
        return _join(parts)
    if op == "einsum":
        return _join([_einsum_map(node, k, deps[k])
                            for k in range(len(node.args)) if deps[k] is not None])
    if op in LINEAR_ALGEBRA:        # every entry of each matrix out depends on its matrix in
        a, d = node.args[0], deps[0]
        stacks = max(int(np.prod(a.shape[:-2])), 1)
        per_in, per_out = a.size // stacks, node.size // stacks
        by_stack = _move(d, np.arange(a.size), np.arange(a.size) // per_in, stacks)
        return _move(by_stack, np.arange(node.size) // per_out, np.arange(node.size), node.size)
    raise Unsupported(f"a sparse pattern through {op}")


def _grid(shape):
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)


def _move(d, source, dest, size):
    """``D_out[dest[k]] |= D[source[k]]`` for every ``k``: an index map, a sum or a scatter."""
    import scipy.sparse as sp
    if d is None or len(source) == 0:
        return None
    m = sp.csr_array((np.ones(len(source), np.float32), (dest, source)),
                     shape=(size, d.shape[0]))
    out = (m @ d).tocsr()
    if out.nnz > MAX_NONZEROS:
        raise Unsupported(f"a sparse pattern of more than {MAX_NONZEROS} dependencies")
    out.data[:] = 1.0
    return out


def _join(parts):
    parts = [d for d in parts if d is not None]
    if not parts:
        return None
    out = parts[0]
    for d in parts[1:]:
        if d is out or (d.nnz == out.nnz and np.array_equal(d.indptr, out.indptr)
                        and np.array_equal(d.indices, out.indices)):
            continue            # the same dependencies (operands of one elementwise node)
        out = out + d
    out = out.tocsr()
    out.data[:] = 1.0
    return out


def constant_index(idx, constants):
    """The values of an index array that does not depend on the kernel's inputs, else None."""
    from .evaluate import evaluate
    if any(n.op == "input" for n in topological([idx])):
        return None
    value, = evaluate([idx], [], constants)
    return np.asarray(value, dtype=np.int64)


def _index_values(idx, constants):
    """The values of an index array, which must not depend on the kernel's inputs."""
    value = constant_index(idx, constants)
    if value is None:
        raise Unsupported("a sparse Hessian of a gather by a runtime index array (its pattern "
                          "would depend on the data)")
    return value


def _index_map(node, k, d, constants):
    """The dependency of ``node`` through operand ``k`` of an index map (a broadcast,
    transpose, reshape, slice, gather, embed or concatenation): the map applied to the flat
    positions of the operand (and -1 to the other operands, and to what an embed fills)."""
    from .evaluate import apply
    op = node.op
    if op == "gather" and k == 1:
        return None
    operands = []
    for j, a in enumerate(node.args):
        if op == "gather" and j == 1:
            operands.append(_index_values(a, constants))
        elif j == k:
            operands.append(_grid(a.shape) + 1)
        else:
            operands.append(np.zeros(a.shape, dtype=np.int64))
    source = np.asarray(apply(node, operands, constants)).ravel() - 1
    dest = np.flatnonzero(source >= 0)
    return _move(d, source[dest], dest, node.size)


def _einsum_map(node, k, d):
    """The dependency of an einsum's output through operand ``k``: each element of the
    operand (on the diagonal of its repeated labels) reaches every output element that agrees
    with it on the labels they share."""
    labels, out = node.params
    a, ls = node.args[k], labels[k]
    coords = np.unravel_index(np.arange(a.size), a.shape) if a.size else [()] * a.ndim
    first = {}
    on_diagonal = np.ones(a.size, dtype=bool)
    for axis, label in enumerate(ls):
        if label in first:
            on_diagonal &= coords[axis] == coords[first[label]]
        else:
            first[label] = axis
    kept = [label for label in out if label in first]
    sizes = {label: node.shape[i] for i, label in enumerate(out)}
    kept_shape = tuple(sizes[label] for label in kept)
    source = np.flatnonzero(on_diagonal)
    middle = (np.ravel_multi_index([coords[first[label]][source] for label in kept], kept_shape)
              if kept else np.zeros(len(source), dtype=np.int64))
    reduced = _move(d, source, middle, int(np.prod(kept_shape)))
    if reduced is None:
        return None
    out_coords = np.unravel_index(np.arange(node.size), node.shape) if node.shape else []
    back = (np.ravel_multi_index([out_coords[out.index(label)] for label in kept], kept_shape)
            if kept else np.zeros(node.size, dtype=np.int64))
    return _move(reduced, back, np.arange(node.size), node.size)


def color_columns(rows, cols, n: int, seed: int = 0) -> np.ndarray:
    """A color for each of ``n`` columns of the symmetric pattern whose upper triangle is
    ``(rows, cols)``, no two columns of one color sharing a row: Jones and Plassmann's rounds
    (every uncolored column whose random priority beats those of the uncolored columns it
    shares a row with takes the smallest color none of them has), vectorized over columns."""
    import scipy.sparse as sp
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    off = rows != cols
    r = np.concatenate([rows, cols[off], np.arange(n)])
    c = np.concatenate([cols, rows[off], np.arange(n)])     # a column shares a row with itself
    pattern = sp.csr_array((np.ones(len(r), np.int8), (r, c)), shape=(n, n))
    pattern.sum_duplicates()
    indptr, indices = pattern.indptr.astype(np.int64), pattern.indices.astype(np.int64)
    entry_row = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    priority = np.random.default_rng(seed).permutation(n).astype(np.int64)
    color = np.full(n, -1, dtype=np.int64)
    base = 0                    # colors are chosen 63 at a time, from base on
    while (color < 0).any():
        waiting = color < 0
        taken = np.zeros(n, dtype=np.int64)      # per row: the window's colors in it, as bits
        er, ec = entry_row, indices
        while waiting.any():
            keep = waiting[ec]
            er, ec = er[keep], ec[keep]
            # the largest priority of the waiting columns in each row
            starts = np.flatnonzero(np.concatenate([[True], er[1:] != er[:-1]]))
            best = np.repeat(np.maximum.reduceat(priority[ec], starts),
                             np.diff(np.append(starts, len(er))))
            beaten = np.zeros(n, dtype=bool)
            beaten[ec[best > priority[ec]]] = True
            wins = np.flatnonzero(waiting & ~beaten)
            # the colors of the rows each winner is in (by symmetry, the columns of its row)
            degree = indptr[wins + 1] - indptr[wins]
            first = np.repeat(indptr[wins] - np.cumsum(degree) + degree, degree)
            at = indices[first + np.arange(len(first))]
            near = np.bitwise_or.reduceat(taken[at], np.cumsum(degree) - degree)
            free = ~near & np.iinfo(np.int64).max
            has = free != 0
            bit = free[has] & -free[has]
            color[wins[has]] = base + np.log2(bit).round().astype(np.int64)
            np.bitwise_or.at(taken, at, np.repeat(np.where(has, free & -free, 0), degree))
            waiting[wins] = False       # a winner with no free color waits for the next 63
        base += 63
    return color
