"""The loops of a contraction: one einsum node of the array graph as a loop nest, or BLAS.

`emit` prints an einsum the lowering (`symhess.arrays.kernel.Lowering`) materializes: an
identity-matrix operand fixes an index instead of being looped over; factors are ordered by the
deepest loop they depend on (so LLVM hoists the rest); a symmetric result is computed as its
upper triangle and mirrored; an outer reduction is unrolled `UNROLL` times; a large product of
two matrices with weights on the contracted index goes to BLAS (`matrix_product`).
"""

from __future__ import annotations

import math

from .einsum import size_of

CACHE_BYTES = 1 << 18    # an array larger than this is streamed from memory, not reread
BLAS_WORK = 1 << 20      # multiply-adds from which a matrix product goes to BLAS
UNROLL = 4               # terms of an outer reduction added per load and store of the output


def emit(self, node):
    """The statements computing einsum ``node`` into an array (``self``: the `Lowering`)."""
    labels, out = node.params
    if matrix_product(self, node):
        return
    name = self.alloc(node, "zeros")
    sizes = size_of(labels, node.args)
    # An identity-matrix operand E[t, l...] fixes t from l: t is assigned, not looped.
    fixed, factors = {}, []
    for ls, x in zip(labels, node.args):
        if x.op == "eye" and x.id not in self.materialized and ls[0] not in ls[1:] \
                and ls[0] not in fixed and not any(l in fixed for l in ls[1:]):
            fixed[ls[0]] = (x, ls)
        else:
            factors.append((x, ls))
    looped = [l for l in sizes if l not in fixed]
    # The innermost loop runs along the last axis of the most matrices (contiguous reads
    # and writes, which LLVM vectorizes); vectors are read once per outer iteration.
    last = {}
    for ls in [out] + [ls for _, ls in factors]:
        if len(ls) >= 2:
            last[ls[-1]] = last.get(ls[-1], 0) + 1
    inner = max(looped, key=lambda l: (last.get(l, 0), l in out), default=None)
    reduced = [l for l in looped if l not in out and l != inner]
    outer = [l for l in out if l in looped and l != inner]
    order = reduced + outer + ([inner] if inner is not None else [])
    biggest = max(factors, key=lambda f: f[0].size, default=None)
    if biggest is not None and 8 * biggest[0].size > CACHE_BYTES:
        # An operand larger than the cache is read once, in its storage order: the loops
        # follow its axes (its last one innermost), the other indices nested inside.
        own = [l for l in dict.fromkeys(biggest[1]) if l in looped]
        order = own[:-1] + [l for l in order if l not in own] + own[-1:]
    var = {l: self.fresh() for l in sizes}
    heads, _, depth = self.loops([sizes[l] for l in order], names=[var[l] for l in order])
    half = node.id in self.symmetric and all(l in order for l in out)
    if half:            # a symmetric result: the upper triangle, then its mirror image
        first, second = sorted(out, key=order.index)
        k = order.index(second)
        start = var[first] if second == out[1] else "0"
        stop = f"{var[first]} + 1" if second == out[0] else str(sizes[second])
        heads[k] = f"{'    ' * (1 + k)}for {var[second]} in range({start}, {stop}):"
    # Factors in the order of the deepest loop they depend on: the product of those an
    # inner loop does not change is then a prefix LLVM computes once, outside it.
    depth_of = {l: k for k, l in enumerate(order)}
    for t, (x, ls) in fixed.items():
        depth_of[t] = max((depth_of[l] for l in ls[1:]), default=-1)
    factors.sort(key=lambda f: max((depth_of[l] for l in f[1]), default=-1))

    # The factors an inner loop does not change are multiplied into a scalar before it, loop
    # by loop (LLVM cannot hoist them itself when the array written may be one they are read
    # from). The product keeps its order, so its value is the same.
    depths = [max((depth_of[l] for l in ls), default=-1) for _, ls in factors]

    def statements(offset):
        """The body for reduction index ``order[0] + offset``: ``(lines, product, target,
        before)``, ``before[d]`` the line computing the factors hoisted into loop ``d``."""
        at = dict(var)
        if offset:
            at[order[0]] = f"{var[order[0]]} + {offset}"
        lines = []
        for t, (x, ls) in fixed.items():        # (a seed's t stays below its row count)
            position = flat([at[l] for l in ls[1:]], x.shape[1:])
            lines.append(f"{var[t]}_{offset} = {x.params[0]} + {position}")
            at[t] = f"{var[t]}_{offset}"
        terms = [self.expr(x, [at[l] for l in ls]) for x, ls in factors]
        before, running, used = {}, [], 0
        for d in range(len(order) - 1 if not fixed else 0):
            k = sum(1 for depth in depths if depth <= d)
            if k >= 2 and k > used:
                scalar = f"h{node.id}_{offset}_{d}"
                before[d] = f"{scalar} = {' * '.join(running + terms[used:k])}"
                running, used = [scalar], k
        product = " * ".join(running + terms[used:])
        return lines, product or "1.0", self.access(name, [at[l] for l in out]), before

    # A reduction over the outermost loop adds into every output many times: unrolled by
    # UNROLL, each output value is loaded and stored once per UNROLL terms.
    unroll = UNROLL if order and order[0] not in out and len(order) >= 3 \
        and sizes[order[0]] >= 4 * UNROLL and not fixed else 1
    pad = "    " * depth

    def nest(heads, bodies):
        """The loop heads, each followed by the lines ``bodies`` hoist into it."""
        lines = []
        for d, head in enumerate(heads):
            lines.append(head)
            lines += ["    " * (d + 2) + b[3][d] for b in bodies if d in b[3]]
        return lines
    if unroll > 1:
        r, n = order[0], sizes[order[0]]
        main = n - n % unroll
        heads[0] = f"    for {var[r]} in range(0, {main}, {unroll}):"
        bodies = [statements(u) for u in range(unroll)]
        target = bodies[0][2]
        self.lines += nest(heads, bodies) + [
            pad + f"{target} += " + " + ".join(f"({b[1]})" for b in bodies)]
        if main < n:
            heads[0] = f"    for {var[r]} in range({main}, {n}):"
            body = statements(0)
            self.lines += nest(heads, [body]) + [pad + f"{target} += {body[1]}"]
    else:
        lines, product, target, before = statements(0)
        self.lines += nest(heads, [(lines, product, target, before)]) + \
            [pad + line for line in lines] + [pad + f"{target} += {product}"]
    if half:
        n = node.shape[0]
        self.lines += [f"    for p in range({n}):", "        for q in range(p):",
                       f"            {name}[p, q] = {name}[q, p]"]

def matrix_product(self, node) -> bool:
    """Print a large contraction of two arrays as one BLAS product: with ``A`` the output
    labels of one operand, ``B`` those of the other and ``R`` the labels they share and sum
    over, ``C[A, B] = sum_R X[A, R] w[R] Y[R, B]`` is ``np.dot`` of the operands as matrices
    (a side may be a product of several operands, as ``Y[R, B] = u[R, b] v[b']``),
    each read in place where it is an array laid out as ``(A, R)`` or ``(R, A)`` (a transpose
    is BLAS's flag, not a copy), else first computed into one (weights on ``R`` are multiplied
    into ``X``). ``C`` is the output when its labels are ``A + B`` (or ``B + A``: the operands
    swap sides), else it is copied into the output's order. False when the contraction is not
    one of this form."""
    labels, out = node.params
    sizes = size_of(labels, node.args)
    if len(out) < 2 or math.prod(sizes.values()) < BLAS_WORK \
            or self.dtype not in ("float64", "float32") \
            or any(x.op == "eye" or len(set(ls)) != len(ls) for x, ls in zip(node.args, labels)):
        return False
    reduced = tuple(l for l in sizes if l not in out)
    weights = [(x, ls) for x, ls in zip(node.args, labels) if set(ls) <= set(reduced)]
    sides = _sides([(x, ls) for x, ls in zip(node.args, labels) if not set(ls) <= set(reduced)],
                   out)
    if sides is None or not reduced:
        return False
    groups = [tuple(l for l in out if any(l in ls for _, ls in side)) for side in sides]
    if len(groups[0]) + len(groups[1]) != len(out) \
            or any(all(l not in ls for _, ls in side) for l in reduced for side in sides):
        return False
    if groups[1] + groups[0] == tuple(out):          # C[B, A]: the operands swap sides
        sides, groups = sides[::-1], groups[::-1]
    # Each side's largest operand is its matrix; the others multiply into it (and the
    # weights into the left one).
    sides = [sorted(side, key=lambda f: -len(f[1])) for side in sides]
    extras = (sides[0][1:] + weights, sides[1][1:])
    operands = [_matrix(self, node, k, side[0], group, sizes, reduced, extra)
                for k, (side, group, extra) in enumerate(zip(sides, groups, extras))]
    name, product = f"t{node.id}", f"g{node.id}"
    self.names[node.id] = name
    self.lines.append(f"    {product} = np.dot({operands[0]}, {operands[1]})")
    left, right = groups
    if left + right == tuple(out):
        self.lines.append(f"    {name} = {product}.reshape({node.shape!r})")
        return True
    self.lines.append(f"    {name} = np.empty({node.shape!r}, dtype=np.{self.dtype})")
    heads, idx, depth = self.loops(node.shape)
    at = dict(zip(out, idx))
    row = flat([at[l] for l in left], [sizes[l] for l in left])
    column = flat([at[l] for l in right], [sizes[l] for l in right])
    self.lines += heads + ["    " * depth + f"{name}[{', '.join(idx)}] = {product}[{row}, {column}]"]
    return True


def _sides(factors, out):
    """The operands of a contraction that carry output labels, in two groups no output label
    spans (the left and right matrix of a product), or None when there are not two. Groups
    joined by no output label are sides of their own; of more than two, the one holding the
    largest operand is one side and the rest are the other."""
    sides = []
    for f in factors:
        own = set(f[1]) & set(out)
        joined = [side for side in sides if any(own & set(ls) for _, ls in side)]
        merged = [f] + [g for side in joined for g in side]
        sides = [side for side in sides if side not in joined] + [merged]
    if len(sides) > 2:
        largest = max(factors, key=lambda f: f[0].size)
        big = next(side for side in sides if any(f is largest for f in side))
        sides = [big, [f for side in sides if side is not big for f in side]]
    return sides if len(sides) == 2 else None


def _matrix(self, node, k, side, group, sizes, reduced, extra) -> str:
    """Operand ``k`` (0: left, 1: right) of a BLAS product as a matrix expression: ``(group,
    reduced)`` for the left one, ``(reduced, group)`` for the right one, possibly transposed
    (``.T``). An array already laid out so is viewed in place; anything else is computed into
    a matrix in the order of its own labels (its loops then read and write along memory)."""
    z, lz = side
    blocks = [(group, reduced), (reduced, group)]
    wanted = blocks[k]
    for first, second in blocks:
        if not extra and lz == first + second and z.dtype == "f" and z.op != "reshape" \
                and (z.op == "input" or z.id in self.materialized):
            view = f"v{node.id}_{k}"
            self.lines.append(f"    {view} = {self.var(z)}.reshape(({_size(sizes, first)}, "
                              f"{_size(sizes, second)}))")
            return view if (first, second) == wanted else f"{view}.T"
    # Computed: in the order its labels come in (group first if its first label is one).
    first, second = blocks[0] if lz[0] in group else blocks[1]
    tmp = f"m{node.id}_{k}"
    self.lines.append(f"    {tmp} = np.empty(({_size(sizes, first)}, {_size(sizes, second)}), "
                      f"dtype=np.{self.dtype})")
    heads, idx, depth = self.loops([sizes[l] for l in first + second])
    at = dict(zip(first + second, idx))
    value = " * ".join(self.expr(v, [at[l] for l in ls]) for v, ls in [side] + extra)
    row = flat(idx[:len(first)], [sizes[l] for l in first])
    column = flat(idx[len(first):], [sizes[l] for l in second])
    self.lines += heads + ["    " * depth + f"{tmp}[{row}, {column}] = {value}"]
    return tmp if (first, second) == wanted else f"{tmp}.T"


def _size(sizes, group) -> int:
    return math.prod(sizes[l] for l in group)


def flat(idx, shape) -> str:
    """The flat C-order index of ``idx`` (expressions) in an array of ``shape``."""
    if not idx:
        return "0"
    text = idx[0]
    for i, n in zip(idx[1:], shape[1:]):
        text = f"({text}) * {n} + {i}"
    return text
