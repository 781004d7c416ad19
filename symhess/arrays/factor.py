"""The loops of the linear-algebra nodes (`symhess.arrays.linalg`): factorisations in a kernel.

Each node is materialized by a loop nest over its stack of matrices, written in the loop
program's subset of Python (`symhess.arrays.kernel`), so both the native target and Numba
compile it. One matrix of `LAPACK_FROM` rows or more is inverted and its determinant found by
LAPACK (``np.linalg.inv`` and ``np.linalg.slogdet`` in the program: ``getrf``, ``getri``);
smaller ones and stacks by Gauss-Jordan elimination and LU with partial pivoting in loops. The
Cholesky factor is computed row by row (Cholesky-Banachiewicz: each dot product along two
contiguous rows), the symmetric eigenproblem by LAPACK's ``syev`` (``np.linalg.eigh``). The
operand's expression is read once per element: copied into a work matrix, or (Cholesky) read
where the factor needs it.

Failures give what JAX gives: a singular matrix an ``inv`` of infinities and NaNs and a
``slogdet`` of ``(0, -inf)``; a matrix that is not positive definite a Cholesky factor of NaNs.
"""

from __future__ import annotations

from .linalg import OPS  # noqa: F401  (the primitives this module computes)

#: The order from which a matrix (not a stack of them) is inverted and its determinant found
#: by LAPACK (``np.linalg.inv`` and ``np.linalg.slogdet`` in the loop program: ``getrf`` and
#: ``getri``) rather than by loops. Measured on an hvp reading one inverse and one determinant
#: (2 cores): loops are faster below it (1.6 against 1.9 us at 4 rows, 2.3 against 2.7 at 12),
#: the two equal at 16, LAPACK faster above (5.9 against 7.1 us at 24, 9.2 against 13.8 at 32).
LAPACK_FROM = 16


class _Writer:
    """Statements at increasing depths, appended to a `Lowering`'s lines."""

    def __init__(self, lowering, depth):
        self.lowering, self.depth = lowering, depth

    def __call__(self, depth, text):
        self.lowering.lines.append("    " * (self.depth + depth) + text)


def emit(low, node):
    """The statements computing linear-algebra ``node`` (``low``: the `Lowering`)."""
    a = node.args[0]
    n = a.shape[-1]
    lapack = a.ndim == 2 and n >= LAPACK_FROM          # one matrix, large: inv, slogdet
    if node.op == "inv" and lapack:
        name = low.names[node.id] = f"t{node.id}"       # LAPACK's result
    else:
        name = low.alloc(node, "zeros" if node.op == "cholesky" else "empty")
    work = f"w{node.id}"
    if node.op != "cholesky":
        low.lines.append(f"    {work} = np.empty(({n}, {n}), dtype=np.{low.dtype})")
    heads, stack, depth = low.loops(a.shape[:-2])
    low.lines += heads
    put = _Writer(low, depth)
    if node.op == "cholesky":
        _cholesky(low, put, node, a, stack, n, name)
        return
    if node.op == "eigh":
        _eigh(low, put, node, a, stack, n, name, work)
        return
    i, j = low.fresh(), low.fresh()
    put(0, f"for {i} in range({n}):")
    put(1, f"for {j} in range({n}):")
    put(2, f"{work}[{i}, {j}] = {low.expr(a, stack + [i, j])}")
    if node.op == "inv" and lapack:
        low.lines.append(f"    {name} = np.linalg.inv({work})")
    elif node.op == "inv":
        put(2, f"{low.access(name, stack + [i, j])} = 1.0 if {i} == {j} else 0.0")
        _gauss_jordan(low, put, node.id, work, lambda r, c: low.access(name, stack + [r, c]), n)
    elif lapack:
        tag = node.id
        low.lines += [f"    s{tag}, l{tag} = np.linalg.slogdet({work})",
                      f"    {name}[0] = s{tag}", f"    {name}[1] = l{tag}"]
    else:
        _lu_slogdet(low, put, node.id, work, n, low.access(name, stack + ["0"]),
                    low.access(name, stack + ["1"]))


def _pivot(low, put, tag, work, col, n):
    """Rows ``col..n-1``: ``p{tag}`` becomes the row of the largest magnitude in column ``col``."""
    r = low.fresh()
    put(1, f"p{tag} = {col}")
    put(1, f"big{tag} = abs({work}[{col}, {col}])")
    put(1, f"for {r} in range({col} + 1, {n}):")
    put(2, f"if abs({work}[{r}, {col}]) > big{tag}:")
    put(3, f"big{tag} = abs({work}[{r}, {col}])")
    put(3, f"p{tag} = {r}")


def _swap_rows(low, put, tag, matrices, col, first, n):
    """Rows ``col`` and ``p{tag}`` of each of ``matrices`` (element functions) exchanged, from
    column ``first`` on."""
    j = low.fresh()
    put(2, f"for {j} in range({first}, {n}):")
    for at in matrices:
        put(3, f"v{tag} = {at(col, j)}")
        put(3, f"{at(col, j)} = {at(f'p{tag}', j)}")
        put(3, f"{at(f'p{tag}', j)} = v{tag}")


def _gauss_jordan(low, put, tag, work, x, n):
    """``x`` (an element function, holding the identity) becomes the inverse of ``work``."""
    w = lambda r, c: f"{work}[{r}, {c}]"          # noqa: E731
    col, j, r, j2 = low.fresh(), low.fresh(), low.fresh(), low.fresh()
    put(0, f"for {col} in range({n}):")
    _pivot(low, put, tag, work, col, n)
    put(1, f"if p{tag} != {col}:")
    _swap_rows(low, put, tag, [w, x], col, "0", n)
    put(1, f"d{tag} = 1.0 / {w(col, col)}")
    put(1, f"for {j} in range({n}):")
    put(2, f"{w(col, j)} = {w(col, j)} * d{tag}")
    put(2, f"{x(col, j)} = {x(col, j)} * d{tag}")
    put(1, f"for {r} in range({n}):")
    put(2, f"if {r} != {col}:")
    put(3, f"f{tag} = {w(r, col)}")
    put(3, f"for {j2} in range({col} + 1, {n}):")  # columns up to col are done
    put(4, f"{w(r, j2)} = {w(r, j2)} - f{tag} * {w(col, j2)}")
    put(3, f"for {j2} in range({n}):")
    put(4, f"{x(r, j2)} = {x(r, j2)} - f{tag} * {x(col, j2)}")


def _lu_slogdet(low, put, tag, work, n, sign, logabsdet):
    w = lambda r, c: f"{work}[{r}, {c}]"          # noqa: E731
    col, r, j = low.fresh(), low.fresh(), low.fresh()
    put(0, f"s{tag} = 1.0")
    put(0, f"l{tag} = 0.0")
    put(0, f"for {col} in range({n}):")
    _pivot(low, put, tag, work, col, n)
    put(1, f"if p{tag} != {col}:")
    put(2, f"s{tag} = -s{tag}")
    _swap_rows(low, put, tag, [w], col, col, n)
    put(1, f"d{tag} = {w(col, col)}")
    put(1, f"if d{tag} < 0.0:")
    put(2, f"s{tag} = -s{tag}")
    put(1, f"if d{tag} == 0.0:")
    put(2, f"s{tag} = 0.0")
    put(1, f"l{tag} = l{tag} + math.log(abs(d{tag}))")
    put(1, f"if d{tag} != 0.0:")
    put(2, f"for {r} in range({col} + 1, {n}):")
    put(3, f"f{tag} = {w(r, col)} / d{tag}")
    put(3, f"for {j} in range({col} + 1, {n}):")
    put(4, f"{w(r, j)} = {w(r, j)} - f{tag} * {w(col, j)}")
    put(0, f"{sign} = s{tag}")
    put(0, f"{logabsdet} = l{tag}")


def _cholesky(low, put, node, a, stack, n, name):
    tag = node.id
    at = lambda r, c: low.access(name, stack + [r, c])   # noqa: E731
    j, m, i, m2 = low.fresh(), low.fresh(), low.fresh(), low.fresh()
    put(0, f"for {j} in range({n}):")
    put(1, f"s{tag} = {low.expr(a, stack + [j, j])}")
    put(1, f"for {m} in range({j}):")
    put(2, f"s{tag} = s{tag} - {at(j, m)} * {at(j, m)}")
    put(1, f"d{tag} = math.sqrt(s{tag})")
    put(1, f"{at(j, j)} = d{tag}")
    put(1, f"for {i} in range({j} + 1, {n}):")
    put(2, f"s{tag} = {low.expr(a, stack + [i, j])}")
    put(2, f"for {m2} in range({j}):")
    put(3, f"s{tag} = s{tag} - {at(i, m2)} * {at(j, m2)}")
    put(2, f"{at(i, j)} = s{tag} / d{tag}")
    put(0, f"if d{tag} != d{tag}:")                # not positive definite: all NaN, as JAX
    put(1, f"for {i} in range({n}):")
    put(2, f"for {m} in range({n}):")
    put(3, f"{at(i, m)} = np.nan")


def _eigh(low, put, node, a, stack, n, name, work):
    """LAPACK's symmetric eigensolver (``syev``) on the symmetric matrix of ``a``'s lower
    triangle; eigenvalues into row 0 of the output, eigenvectors below."""
    tag = node.id
    i, j = low.fresh(), low.fresh()
    put(0, f"for {i} in range({n}):")
    put(1, f"for {j} in range({i} + 1):")
    put(2, f"v{tag} = {low.expr(a, stack + [i, j])}")
    put(2, f"{work}[{i}, {j}] = v{tag}")
    put(2, f"{work}[{j}, {i}] = v{tag}")
    put(0, f"e{tag}, q{tag} = np.linalg.eigh({work})")
    put(0, f"for {i} in range({n}):")
    put(1, f"{low.access(name, stack + ['0', i])} = e{tag}[{i}]")
    put(1, f"for {j} in range({n}):")
    put(2, f"{low.access(name, stack + [f'1 + {i}', j])} = q{tag}[{i}, {j}]")


def iterations(node) -> int:
    """How many multiply-adds the node's loops take."""
    n = node.args[0].shape[-1]
    stack = node.args[0].size // max(n * n, 1)
    work = {"inv": 2 * n ** 3, "eigh": 9 * n ** 3}.get(node.op, n ** 3 // 3 + n * n)
    return stack * work
