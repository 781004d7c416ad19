"""The array graph: nodes of array operations with their shapes, built through one `Builder`.

A `Node` is one array primitive applied to other nodes: its ``op``, its operands ``args``,
hashable ``params`` (axes, shapes, einsum labels) and its ``shape``. The `Builder` makes every
node, and it is where the graph is kept small: structurally equal nodes are the same object
(hash-consing, so common subexpressions are shared as they are built), and the identities of
each primitive are applied on construction (adding zero, multiplying by one, composing
transposes and broadcasts, contracting an identity matrix out of an einsum). The tracer
(`symhess.arrays.tracer`) and the derivative rules (`symhess.arrays.rules`) both build with it.

Primitives and their params:

=========== =================================================================================
input       ``(leaf index,)``: a kernel input (an argument's array leaf)
const       ``(key,)``: an array constant (``Builder.constants[key]``), or ``("s", value)``
eye         ``(offset,)``: ``E[t, *l] = 1 if t == offset + flat(l) else 0`` (derivative seeds)
unary       ``(name,)``: ``exp``, ``log``, ``tanh``... (`UNARY`), elementwise
binary      ``(name,)``: ``add``, ``mul``, ``pow``, comparisons (`BINARY`); operands of one shape
where       ``()``: ``where(c, a, b)``, operands of one shape
bcast       ``(shape, dims)``: input axis ``k`` becomes output axis ``dims[k]`` (size 1 repeats)
sum, max    ``(axes,)``: reductions over ``axes`` (no kept dimensions)
einsum      ``(labels of each operand, output labels)``; transpose ``(perm,)``; reshape ``(shape,)``
slice       ``(key,)``: per input axis ``("i", k)`` (dropped) or ``("s", start, step, length)``
embed       ``(shape, key)``: zeros of ``shape`` with the operand at the positions ``key`` selects
gather      ``(axis,)``: ``take(a, idx, axis)`` for an integer array ``idx`` (second operand)
scatter     ``(axis, size)``: the adjoint of gather: ``idx`` rows summed into ``size`` slots
            (operands ``g0, idx0, g1, idx1, ...``: every pair summed into one result)
concat      ``(axis,)``
=========== =================================================================================
"""

from __future__ import annotations

import math
from itertools import count

import numpy as np

from .. import errors
from .fold import FOLD_BINARY, FOLD_UNARY

UNARY = ("neg", "exp", "log", "log1p", "expm1", "erf", "erfc", "sin", "cos", "tan", "tanh",
         "sinh", "cosh", "sqrt", "abs", "sign", "arctan", "arcsin", "arccos", "arcsinh",
         "arctanh", "floor", "ceil", "not", "square", "recip", "stop", "held_shape")
ARITHMETIC = ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "arctan2", "fmod")
COMPARISONS = ("gt", "ge", "lt", "le", "eq", "ne", "and", "or")
BINARY = ARITHMETIC + COMPARISONS


Unsupported = errors.ArrayTierUnsupported


class Node:
    """One array operation; made by a `Builder`, never directly."""

    __slots__ = ("op", "args", "params", "shape", "dtype", "id", "builder", "__weakref__")

    def __init__(self, builder, op, args, params, shape, dtype, id_):
        self.builder, self.op, self.args, self.params = builder, op, args, params
        self.shape, self.dtype, self.id = tuple(int(n) for n in shape), dtype, id_

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __repr__(self):
        return f"%{self.id} = {self.op}{list(self.params)}({', '.join(f'%{a.id}' for a in self.args)}) : {self.shape}"

    # Arithmetic reads like the mathematics in the derivative rules.
    def __add__(self, other):
        return self.builder.binary("add", self, other)

    def __radd__(self, other):
        return self.builder.binary("add", other, self)

    def __sub__(self, other):
        return self.builder.binary("sub", self, other)

    def __rsub__(self, other):
        return self.builder.binary("sub", other, self)

    def __mul__(self, other):
        return self.builder.binary("mul", self, other)

    def __rmul__(self, other):
        return self.builder.binary("mul", other, self)

    def __truediv__(self, other):
        return self.builder.binary("div", self, other)

    def __rtruediv__(self, other):
        return self.builder.binary("div", other, self)

    def __neg__(self):
        return self.builder.unary("neg", self)

    def __pow__(self, other):
        return self.builder.binary("pow", self, other)


def _result_dtype(*dtypes) -> str:
    """``"f"`` (floating), ``"i"`` (integer) or ``"b"`` (bool) for combined operands."""
    for kind in "fib":
        if kind in dtypes:
            return kind
    return "f"


class Builder:
    """Makes the nodes of one graph: hash-consed, simplified on construction."""

    def __init__(self):
        self._memo: dict = {}
        self._ids = count()
        self.constants: list = []         # array constants, by key
        self._constant_keys: dict = {}

    # --- making nodes ------------------------------------------------------------------------
    def node(self, op, args, params, shape, dtype="f") -> Node:
        key = (op, tuple(a.id for a in args), params, tuple(shape))
        found = self._memo.get(key)
        if found is None:
            found = Node(self, op, tuple(args), params, shape, dtype, next(self._ids))
            self._memo[key] = found
        return found

    def input(self, index: int, shape, dtype: str) -> Node:
        return self.node("input", (), (index,), shape, dtype)

    def const(self, value) -> Node:
        """A constant: a number, or an array (stored once per distinct content)."""
        if isinstance(value, Node):
            return value
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise Unsupported(f"a constant of dtype {arr.dtype}")
        kind = "b" if arr.dtype.kind == "b" else "i" if arr.dtype.kind in "iu" else "f"
        if arr.ndim == 0:
            number = bool(arr) if kind == "b" else int(arr) if kind == "i" else float(arr)
            return self.node("const", (), ("s", number), (), kind)
        if arr.size and np.all(arr == arr.flat[0]):        # a uniform array: a broadcast number
            return self.bcast(self.const(arr.flat[0]), arr.shape, ())
        arr = np.ascontiguousarray(arr, dtype=np.int64 if kind == "i" else
                                   bool if kind == "b" else np.float64)
        digest = (arr.shape, arr.dtype.char, arr.tobytes())
        key = self._constant_keys.get(digest)
        if key is None:
            key = self._constant_keys[digest] = len(self.constants)
            self.constants.append(arr)
        return self.node("const", (), (key,), arr.shape, kind)

    def zeros(self, shape) -> Node:
        return self.bcast(self.const(0.0), shape, ())

    def eye(self, rows: int, shape, offset: int) -> Node:
        """``E[t, *l] = 1 if t == offset + flat(l) else 0``, of shape ``(rows,) + shape``: the
        seed of a differentiated input of ``shape`` at ``offset`` among ``rows`` variables."""
        return self.node("eye", (), (int(offset),), (int(rows),) + tuple(shape))

    # --- what a node is --------------------------------------------------------------------
    @staticmethod
    def number(node):
        """The number a node holds everywhere (a scalar constant, broadcast or not), else None."""
        while node.op == "bcast":
            node = node.args[0]
        if node.op == "const" and node.params[0] == "s":
            return node.params[1]
        return None

    def is_zero(self, node) -> bool:
        n = self.number(node)
        return n is not None and n == 0

    def is_one(self, node) -> bool:
        n = self.number(node)
        return n is not None and n == 1 and node.dtype != "b"

    # --- elementwise -------------------------------------------------------------------------
    def unary(self, name, a) -> Node:
        a = self.const(a)
        n = self.number(a)
        if n is not None and name in FOLD_UNARY:
            with np.errstate(all="ignore"):
                return self.bcast(self.const(FOLD_UNARY[name](float(n))), a.shape, ())
        if name == "neg" and a.op == "unary" and a.params[0] == "neg":
            return a.args[0]
        if a.op == "bcast":              # elementwise before broadcasting: on fewer elements
            return self.bcast(self.unary(name, a.args[0]), a.shape, a.params[1])
        dtype = "b" if name == "not" else "f"
        return self.node("unary", (a,), (name,), a.shape, dtype)

    def binary(self, name, a, b) -> Node:
        a, b = self.const(a), self.const(b)
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
        a, b = self.broadcast_to(a, shape), self.broadcast_to(b, shape)
        simpler = self._simplify_binary(name, a, b, shape)
        if simpler is not None:
            return simpler
        lower = self._before_broadcast(name, a, b, shape)
        if lower is not None:
            return lower
        if name in ("add", "sub"):
            factored = self._common_factors(name, a, b)
            if factored is not None:
                return factored
        if name in ("add", "mul", "maximum", "minimum", "eq", "ne", "and", "or") \
                and a.id > b.id:
            a, b = b, a                    # commutative: one order, so CSE finds both
        dtype = "b" if name in COMPARISONS else _result_dtype(a.dtype, b.dtype)
        if name in ("div", "pow", "arctan2", "fmod"):
            dtype = "f"
        return self.node("binary", (a, b), (name,), shape, dtype)

    def _before_broadcast(self, name, a, b, shape):
        """``f(bcast(p), bcast(q)) = bcast(f(p, q))`` for broadcasts along the same axes (or
        a number): the elementwise work is done on the smaller arrays."""
        if a.op != "bcast" and b.op != "bcast":
            return None
        na, nb = self.number(a), self.number(b)
        if a.op == "bcast" and b.op == "bcast" and na is None and nb is None:
            (p, q), dims = (a.args[0], b.args[0]), a.params[1]
            if dims != b.params[1] or p.shape != q.shape:
                return None
            return self.bcast(self.binary(name, p, q), shape, dims)
        if na is not None and b.op == "bcast" and nb is None:
            return self.bcast(self.binary(name, self.const(na), b.args[0]), shape, b.params[1])
        if nb is not None and a.op == "bcast" and na is None:
            return self.bcast(self.binary(name, a.args[0], self.const(nb)), shape, a.params[1])
        return None

    def _common_factors(self, name, a, b):
        """``f g + f h = f (g + h)``: a factor both products share is multiplied once (so a
        tangent times the partials of a sum is one product, and a contraction of it one
        einsum)."""
        ca, fa = _factors(a)
        cb, fb = _factors(b)
        common = []
        rest_b = list(fb)
        for f in fa:
            for k, g in enumerate(rest_b):
                if g is f:
                    common.append(f)
                    del rest_b[k]
                    break
        if not common:
            return None
        rest_a = list(fa)
        for f in common:
            rest_a.remove(f)
        left = _product(self, ca, rest_a, a.shape)
        right = _product(self, cb, rest_b, b.shape)
        return _product(self, 1.0, common, a.shape) * self.binary(name, left, right)

    def _simplify_binary(self, name, a, b, shape):
        na, nb = self.number(a), self.number(b)
        if na is not None and nb is not None and name in FOLD_BINARY:
            with np.errstate(all="ignore"):
                return self.bcast(self.const(FOLD_BINARY[name](na, nb)), shape, ())
        if name == "add":
            if self.is_zero(a):
                return b
            if self.is_zero(b):
                return a
        elif name == "sub":
            if self.is_zero(b):
                return a
            if self.is_zero(a):
                return self.unary("neg", b)
        elif name == "mul":
            if (self.is_zero(a) and b.dtype != "b") or (self.is_zero(b) and a.dtype != "b"):
                return self.zeros(shape)
            if self.is_one(a) and b.dtype == "f":
                return b
            if self.is_one(b) and a.dtype == "f":
                return a
            for x, y, n in ((a, b, na), (b, a, nb)):   # c1 * (c2 * z) = (c1 c2) * z
                if n is not None and y.op == "binary" and y.params[0] == "mul":
                    for k in (0, 1):
                        m = self.number(y.args[k])
                        if m is not None and y.args[1 - k].dtype == "f":
                            return self.binary("mul", self.const(float(n) * float(m)),
                                               y.args[1 - k])
            for x, y, n in ((a, b, na), (b, a, nb)):   # c * (z * bcast(s)) = z * bcast(c s)
                if n is not None and y.op == "binary" and y.params[0] == "mul":
                    for k in (0, 1):
                        z = y.args[k]
                        if z.op == "bcast" and z.args[0].ndim == 0 and z.args[0].dtype == "f" \
                                and self.number(z) is None:
                            scalar = self.binary("mul", self.const(float(n)), z.args[0])
                            return self.binary("mul", y.args[1 - k],
                                               self.bcast(scalar, z.shape, ()))
            if na == -1:
                return self.unary("neg", b)
            if nb == -1:
                return self.unary("neg", a)
        elif name == "div":
            if self.is_one(b) and a.dtype == "f":
                return a
            if self.is_zero(a):
                return self.zeros(shape)
        elif name == "pow":
            if nb == 1 and a.dtype == "f":
                return a
            if nb == 0:
                return self.bcast(self.const(1.0), shape, ())
        return None

    def where(self, c, a, b) -> Node:
        c, a, b = self.const(c), self.const(a), self.const(b)
        shape = tuple(np.broadcast_shapes(c.shape, a.shape, b.shape))
        c, a, b = (self.broadcast_to(x, shape) for x in (c, a, b))
        if a is b:
            return a
        return self.node("where", (c, a, b), (), shape, _result_dtype(a.dtype, b.dtype))

    # --- shapes ------------------------------------------------------------------------------
    def bcast(self, a, shape, dims) -> Node:
        """``a`` with input axis ``k`` placed at output axis ``dims[k]`` of ``shape``."""
        a, shape, dims = self.const(a), tuple(int(n) for n in shape), tuple(dims)
        if a.shape == shape and dims == tuple(range(len(shape))):
            return a
        if a.op == "bcast":                     # compose
            inner_shape, inner_dims = a.params
            return self.bcast(a.args[0], shape, tuple(dims[d] for d in inner_dims))
        return self.node("bcast", (a,), (shape, dims), shape, a.dtype)

    def broadcast_to(self, a, shape) -> Node:
        """NumPy's broadcasting of ``a`` to ``shape`` (trailing axes aligned)."""
        a = self.const(a)
        lead = len(shape) - a.ndim
        if lead < 0 or any(n not in (1, m) for n, m in zip(a.shape, shape[lead:])):
            raise errors.OperandError(f"cannot broadcast shape {a.shape} to {tuple(shape)}")
        return self.bcast(a, shape, tuple(range(lead, len(shape))))

    def transpose(self, a, perm) -> Node:
        perm = tuple(int(p) for p in perm)
        if perm == tuple(range(a.ndim)):
            return a
        if a.op == "transpose":
            inner = a.params[0]
            return self.transpose(a.args[0], tuple(inner[p] for p in perm))
        if a.op == "bcast" and self.number(a) is not None:
            return self.bcast(self.const(self.number(a)), tuple(a.shape[p] for p in perm), ())
        return self.node("transpose", (a,), (perm,), tuple(a.shape[p] for p in perm), a.dtype)

    def reshape(self, a, shape) -> Node:
        shape = tuple(int(n) for n in shape)
        if math.prod(shape) != a.size:
            raise errors.OperandError(f"cannot reshape an array of shape {a.shape} to {shape}")
        if shape == a.shape:
            return a
        if a.op == "reshape":
            return self.reshape(a.args[0], shape)
        if a.op == "eye" and shape and shape[0] == a.shape[0]:
            return self.node("eye", (), a.params, shape)
        n = self.number(a)
        if n is not None:
            return self.bcast(self.const(n), shape, ())
        return self.node("reshape", (a,), (shape,), shape, a.dtype)

    def sum(self, a, axes, contract: bool = True) -> Node:
        """The sum over ``axes`` (with ``contract``, of a seeded product: a contraction)."""
        axes = tuple(sorted({int(x) % max(a.ndim, 1) for x in axes})) if a.ndim else ()
        if not axes:
            return a
        shape = tuple(n for k, n in enumerate(a.shape) if k not in axes)
        if self.is_zero(a):
            return self.zeros(shape)
        if contract and a.op == "binary" and a.params[0] in ("mul", "add", "sub") \
                and a.dtype == "f":
            from .einsum import seeded
            if seeded(a):       # a contraction, whose seeds fix indices (einsum.py)
                kept = tuple(k for k in range(a.ndim) if k not in axes)
                return self.einsum([a], [tuple(range(a.ndim))], kept)
        if a.op == "bcast":
            # Summing over an axis the broadcast made: a multiplication by its length.
            src, (_, dims) = a.args[0], a.params
            made = [k for k in axes if k not in dims or src.shape[dims.index(k)] == 1]
            if made and len(made) == len(axes):
                scale = math.prod(a.shape[k] for k in made)
                kept = [k for k in range(a.ndim) if k not in axes]
                inner_axes = [i for i, d in enumerate(dims) if d in axes]
                inner = self.sum(src, inner_axes)
                new_dims = tuple(kept.index(d) for d in dims if d not in axes)
                return self.bcast(inner, shape, new_dims) * float(scale)
        return self.node("sum", (a,), (axes,), shape, "f" if a.dtype == "b" else a.dtype)

    def max(self, a, axes) -> Node:
        axes = tuple(sorted({int(x) % max(a.ndim, 1) for x in axes})) if a.ndim else ()
        if not axes:
            return a
        shape = tuple(n for k, n in enumerate(a.shape) if k not in axes)
        return self.node("max", (a,), (axes,), shape, a.dtype)

    # --- indexing ----------------------------------------------------------------------------
    def slice(self, a, key) -> Node:
        """``key``: per axis ``("i", k)`` or ``("s", start, step, length)`` (normalized)."""
        key = tuple(key)
        if all(k[0] == "s" and k[1] == 0 and k[2] == 1 and k[3] == n
               for k, n in zip(key, a.shape)):
            return a
        shape = tuple(k[3] for k in key if k[0] == "s")
        n = self.number(a)
        if n is not None:
            return self.bcast(self.const(n), shape, ())
        if a.op == "eye" and a.ndim == 2 and key[0] == ("s", 0, 1, a.shape[0]) \
                and key[1][0] == "s" and key[1][2] == 1:
            # Columns start..start+len of a seed: the seed of those variables.
            return self.eye(a.shape[0], (key[1][3],), a.params[0] + key[1][1])
        return self.node("slice", (a,), (key,), shape, a.dtype)

    def embed(self, g, shape, key) -> Node:
        """Zeros of ``shape`` holding ``g`` where `slice` with ``key`` reads."""
        if self.is_zero(g):
            return self.zeros(shape)
        if all(k[0] == "s" and k[1] == 0 and k[2] == 1 and k[3] == n
               for k, n in zip(key, shape)):
            return g
        return self.node("embed", (g,), (tuple(shape), tuple(key)), shape, g.dtype)

    def gather(self, a, idx, axis) -> Node:
        idx = self.const(idx)
        if idx.dtype != "i":
            raise Unsupported("indexing with a non-integer array")
        shape = a.shape[:axis] + idx.shape + a.shape[axis + 1:]
        n = self.number(a)
        if n is not None:
            return self.bcast(self.const(n), shape, ())
        return self.node("gather", (a, idx), (int(axis),), shape, a.dtype)

    def scatter(self, g, idx, axis, size) -> Node:
        gs, idxs = (g, idx) if isinstance(g, list) else ([g], [idx])
        shape = gs[0].shape[:axis] + (int(size),) + gs[0].shape[axis + idxs[0].ndim:]
        pairs = tuple(x for g, i in zip(gs, idxs) if not self.is_zero(g) for x in (g, i))
        if not pairs:
            return self.zeros(shape)
        return self.node("scatter", pairs, (int(axis), int(size)), shape, gs[0].dtype)

    def concat(self, parts, axis) -> Node:
        parts = [self.const(p) for p in parts]
        if len(parts) == 1:
            return parts[0]
        shape = list(parts[0].shape)
        shape[axis] = sum(p.shape[axis] for p in parts)
        return self.node("concat", tuple(parts), (int(axis),), tuple(shape),
                         _result_dtype(*(p.dtype for p in parts)))

    # --- contraction -------------------------------------------------------------------------
    def einsum(self, operands, labels, out) -> Node:
        """``sum over the labels not in out of prod_k operands[k][labels[k]]``."""
        from .einsum import canonical_einsum      # (einsum.py builds with this builder)
        return canonical_einsum(self, list(operands), [tuple(l) for l in labels], tuple(out))


def _factors(node) -> tuple[float, list]:
    """``node`` as a number times a product of nodes (flattening multiplications and negations)."""
    builder = node.builder
    n = builder.number(node)
    if n is not None and node.dtype == "f":
        return float(n), []
    if node.op == "unary" and node.params[0] == "neg":
        c, fs = _factors(node.args[0])
        return -c, fs
    if node.op == "binary" and node.params[0] == "mul" and node.dtype == "f" \
            and all(a.dtype == "f" for a in node.args):
        c1, f1 = _factors(node.args[0])
        c2, f2 = _factors(node.args[1])
        return c1 * c2, f1 + f2
    return 1.0, [node]


def _product(builder, coefficient, factors, shape):
    result = builder.bcast(builder.const(float(coefficient)), shape, ())
    for f in sorted(factors, key=lambda f: f.id):
        result = result * f
    return result


def topological(roots) -> list:
    """The nodes ``roots`` depend on, each after its operands (iteratively: graphs are deep)."""
    order, seen = [], set()
    stack = [(r, False) for r in reversed(list(roots))]
    while stack:
        node, expanded = stack.pop()
        if node.id in seen:
            continue
        if expanded:
            seen.add(node.id)
            order.append(node)
            continue
        stack.append((node, True))
        for a in reversed(node.args):
            if a.id not in seen:
                stack.append((a, False))
    return order
