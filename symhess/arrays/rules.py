"""Derivative rules of the array primitives, and the two passes that apply them.

Each primitive has its forward rule (``jvp``: the tangent of its output from its operands'
tangents) and its reverse rule (``vjp``: its operands' cotangents from its output's), side by
side. Elementwise primitives share one table of partial derivatives. Tangents carry leading
*batch* axes ``B``: ``()`` for a Hessian-vector product (one direction), ``(n,)`` for a full
Hessian (all ``n`` directions at once, seeded with an identity). The Hessian of ``f`` is then
`jvp` of the `grad` graph: forward over reverse, built once as an array graph whose size does
not depend on the data's.
"""

from __future__ import annotations

import math

from .. import errors
from . import linalg
from .graph import ARITHMETIC, Builder, Node, Unsupported, topological
from ..foreign.incomplete import SHAPE_ADVICE, SHAPE_DERIVATIVE


# --- elementwise partial derivatives ---------------------------------------------------------
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)

def _unary_partial(b: Builder, node: Node):
    """d out / d a for a unary node ``out = f(a)``; None where it is zero."""
    name, a, out = node.params[0], node.args[0], node
    if name == "held_shape":
        raise Unsupported(f"{SHAPE_DERIVATIVE} ({SHAPE_ADVICE})")
    one = 1.0
    table = {
        "neg": lambda: b.const(-1.0),
        "exp": lambda: out,
        "log": lambda: one / a,
        "log1p": lambda: one / (one + a),
        "expm1": lambda: out + one,
        "erf": lambda: _TWO_OVER_SQRT_PI * b.unary("exp", -(a * a)),
        "erfc": lambda: -_TWO_OVER_SQRT_PI * b.unary("exp", -(a * a)),
        "sin": lambda: b.unary("cos", a),
        "cos": lambda: -b.unary("sin", a),
        "tan": lambda: one + out * out,
        "tanh": lambda: one - out * out,
        "sinh": lambda: b.unary("cosh", a),
        "cosh": lambda: b.unary("sinh", a),
        "sqrt": lambda: 0.5 / out,
        "abs": lambda: b.unary("sign", a),
        "arctan": lambda: one / (one + a * a),
        "arcsin": lambda: one / b.unary("sqrt", one - a * a),
        "arccos": lambda: -one / b.unary("sqrt", one - a * a),
        "arcsinh": lambda: one / b.unary("sqrt", one + a * a),
        "arctanh": lambda: one / (one - a * a),
        "square": lambda: 2.0 * a,
        "recip": lambda: -(out * out),
    }
    rule = table.get(name)
    return None if rule is None else b.broadcast_to(rule(), node.shape)


def _binary_partials(b: Builder, node: Node):
    """(d out / d a, d out / d b) for a binary node; None where zero."""
    name, (x, y), out = node.params[0], node.args, node
    if name not in ARITHMETIC:
        return None, None
    if name == "add":
        return b.const(1.0), b.const(1.0)
    if name == "sub":
        return b.const(1.0), b.const(-1.0)
    if name == "mul":
        return y, x
    if name == "div":
        return 1.0 / y, -(out / y)
    if name == "pow":
        dx = y * (x ** (y - 1.0))
        dy = None if b.number(y) is not None else b.unary("log", x) * out
        return dx, dy
    if name == "arctan2":               # arctan2(x, y) = angle of (y, x): d/dx y/r2, d/dy -x/r2
        r2 = x * x + y * y
        return y / r2, -(x / r2)
    if name == "fmod":                  # x - trunc(x / y) y: the value's piece's quotient
        q = (x - out) / y               # (x / y itself may round to the next integer)
        low = b.unary("floor", q)
        return b.const(1.0), -b.where(b.binary("gt", q - low, b.const(0.5)), low + 1.0, low)
    raise errors.InternalError(f"no partial derivatives for {name}")


def _select_first(b, node):
    """For maximum/minimum: where the output takes its first operand."""
    x, y = node.args
    return b.binary("ge" if node.params[0] == "maximum" else "le", x, y)


# --- shapes of batched tangents ----------------------------------------------------------------
def lift(b: Builder, x: Node, batch: tuple) -> Node:
    """``x`` broadcast along leading batch axes ``batch``."""
    nb = len(batch)
    return b.bcast(x, batch + x.shape, tuple(range(nb, nb + x.ndim)))


def _full(batch):
    return tuple(("s", 0, 1, n) for n in batch)


# --- forward: jvp ----------------------------------------------------------------------------
def jvp_rule(b: Builder, node: Node, tangents: list, batch: tuple):
    """The tangent of ``node`` (shape ``batch + node.shape``) from its operands' (None: zero)."""
    op, nb = node.op, len(batch)
    if all(t is None for t in tangents):
        return None
    if op in linalg.OPS:
        return linalg.jvp_rule(b, node, tangents, batch)
    if op == "unary":
        partial = _unary_partial(b, node)
        return None if partial is None else tangents[0] * lift(b, partial, batch)
    if op == "binary":
        if node.params[0] in ("maximum", "minimum"):
            take = lift(b, _select_first(b, node), batch)
            t0, t1 = (t if t is not None else b.zeros(batch + node.shape) for t in tangents)
            return b.where(take, t0, t1)
        result = None
        for t, partial in zip(tangents, _binary_partials(b, node)):
            if t is not None and partial is not None:
                term = t * lift(b, b.broadcast_to(partial, node.shape), batch)
                result = term if result is None else result + term
        return result
    if op == "where":
        c = lift(b, node.args[0], batch)
        t1, t2 = (t if t is not None else b.zeros(batch + node.shape) for t in tangents[1:])
        return b.where(c, t1, t2)
    if op == "bcast":
        shape, dims = node.params
        return b.bcast(tangents[0], batch + shape, tuple(range(nb)) + tuple(d + nb for d in dims))
    if op == "sum":
        return b.sum(tangents[0], [a + nb for a in node.params[0]])
    if op == "max":
        mask, count, kept = _max_parts(b, node)
        axes = [a + nb for a in node.params[0]]
        return b.sum(tangents[0] * lift(b, mask, batch), axes) / lift(b, count, batch)
    if op == "einsum":
        # Operands with the same labels multiply elementwise: the tangent of their product is
        # one array (the product rule inside it), so the einsum's tangent is one einsum per
        # group of labels rather than one per operand.
        labels, out = node.params
        blabels = tuple(1000 + i for i in range(nb))
        groups = {}
        for k, ls in enumerate(labels):
            groups.setdefault(ls, []).append(k)
        result = None
        for ls, ks in groups.items():
            tangent = None
            for k in ks:
                if tangents[k] is None:
                    continue
                term = tangents[k]
                for j in ks:
                    if j != k:
                        term = term * lift(b, node.args[j], batch)
                tangent = term if tangent is None else tangent + term
            if tangent is None:
                continue
            rest = [j for j in range(len(labels)) if j not in ks]
            term = b.einsum([node.args[j] for j in rest] + [tangent],
                            [labels[j] for j in rest] + [blabels + ls], blabels + out)
            result = term if result is None else result + term
        return result
    if op == "transpose":
        return b.transpose(tangents[0], tuple(range(nb)) + tuple(p + nb for p in node.params[0]))
    if op == "reshape":
        return b.reshape(tangents[0], batch + node.shape)
    if op == "slice":
        return b.slice(tangents[0], _full(batch) + node.params[0])
    if op == "embed":
        shape, key = node.params
        return b.embed(tangents[0], batch + shape, _full(batch) + key)
    if op == "gather":
        return b.gather(tangents[0], node.args[1], node.params[0] + nb)
    if op == "scatter":
        axis, size = node.params
        pairs = [(t, i) for t, i in zip(tangents[0::2], node.args[1::2]) if t is not None]
        return b.scatter([t for t, _ in pairs], [i for _, i in pairs], axis + nb, size)
    if op == "concat":
        parts = [t if t is not None else b.zeros(batch + a.shape)
                 for t, a in zip(tangents, node.args)]
        return b.concat(parts, node.params[0] + nb)
    raise Unsupported(f"no forward rule for {op}")


def _max_parts(b, node):
    """For a max reduction: the mask of the maxima, their count, and the kept axes."""
    a, axes = node.args[0], node.params[0]
    kept = tuple(k for k in range(a.ndim) if k not in axes)
    mask = b.binary("eq", a, b.bcast(node, a.shape, kept)) * 1.0
    return mask, b.sum(mask, axes), kept


# --- reverse: vjp ----------------------------------------------------------------------------
def vjp_rule(b: Builder, node: Node, g: Node, k: int):
    """The cotangent of operand ``k`` of ``node`` from the output's cotangent ``g``."""
    op, a = node.op, node.args[k]
    if op in linalg.OPS:
        return linalg.vjp_rule(b, node, g, k)
    if op == "unary":
        partial = _unary_partial(b, node)
        return None if partial is None else g * partial
    if op == "binary":
        if node.params[0] in ("maximum", "minimum"):
            take = _select_first(b, node)
            zero = b.zeros(node.shape)
            return b.where(take, g, zero) if k == 0 else b.where(take, zero, g)
        partial = _binary_partials(b, node)[k]
        return None if partial is None else g * b.broadcast_to(partial, node.shape)
    if op == "where":
        if k == 0:
            return None
        zero = b.zeros(node.shape)
        return b.where(node.args[0], g, zero) if k == 1 else b.where(node.args[0], zero, g)
    if op == "bcast":
        return unbroadcast(b, g, a, node.params[1])
    if op == "sum":
        axes = node.params[0]
        return b.bcast(g, a.shape, tuple(i for i in range(a.ndim) if i not in axes))
    if op == "max":
        mask, count, kept = _max_parts(b, node)
        return b.bcast(g / count, a.shape, kept) * mask
    if op == "einsum":
        return _einsum_vjp(b, node, g, k)
    if op == "transpose":
        perm = node.params[0]
        return b.transpose(g, tuple(perm.index(i) for i in range(len(perm))))
    if op == "reshape":
        return b.reshape(g, a.shape)
    if op == "slice":
        return b.embed(g, a.shape, node.params[0])
    if op == "embed":
        return b.slice(g, node.params[1])
    if op == "gather":
        return None if k == 1 else b.scatter(g, node.args[1], node.params[0], a.shape[node.params[0]])
    if op == "scatter":
        return None if k % 2 else b.gather(g, node.args[k + 1], node.params[0])
    if op == "concat":
        axis = node.params[0]
        start = sum(x.shape[axis] for x in node.args[:k])
        key = tuple(("s", start, 1, n) if i == axis else ("s", 0, 1, n)
                    for i, n in enumerate(node.shape))
        key = key[:axis] + (("s", start, 1, a.shape[axis]),) + key[axis + 1:]
        return b.slice(g, key)
    raise Unsupported(f"no reverse rule for {op}")


def unbroadcast(b, g, a, dims):
    """The cotangent of ``a`` from that of ``bcast(a, g.shape, dims)``: sums over the axes the
    broadcast made, back in ``a``'s shape."""
    summed = [d for d in range(g.ndim) if d not in dims]
    summed += [d for i, d in enumerate(dims) if a.shape[i] == 1 and g.shape[d] != 1]
    reduced = b.sum(g, summed)
    kept = [d for d in range(g.ndim) if d not in summed]        # in output order
    inputs = [i for i, d in enumerate(dims) if d in kept]       # input axes still there
    order = sorted(inputs, key=lambda i: dims[i])               # as they sit in ``reduced``
    reduced = b.transpose(reduced, [order.index(i) for i in inputs])
    return b.reshape(reduced, a.shape)


def _einsum_vjp(b, node, g, k):
    labels, out = node.params
    mine = labels[k]
    if len(set(mine)) != len(mine):
        raise Unsupported("the derivative of an einsum with a repeated index in one operand")
    operands = [g] + [x for i, x in enumerate(node.args) if i != k]
    ls = [out] + [l for i, l in enumerate(labels) if i != k]
    have = {label for l in ls for label in l}
    target = tuple(label for label in mine if label in have)
    result = b.einsum(operands, ls, target)
    if len(target) != len(mine):            # a label only this operand had: the sum broadcasts
        result = b.bcast(result, node.args[k].shape, tuple(mine.index(l) for l in target))
    return result


# --- the passes ------------------------------------------------------------------------------
def depends(roots, inputs) -> set:
    """Ids of the nodes among ``roots``' dependencies that depend on one of ``inputs``."""
    live = {x.id for x in inputs}
    for node in topological(roots):
        if any(a.id in live for a in node.args):
            live.add(node.id)
    return live


def grad(b: Builder, f: Node, inputs: list) -> list:
    """The gradient of scalar ``f`` with respect to each of ``inputs`` (reverse mode): input
    nodes, or any nodes ``f`` reads other inputs only through (the gathers of a sum over
    elements, `symhess.arrays.elements`)."""
    live = depends([f], inputs)
    wanted = {x.id for x in inputs}
    cotangent = {f.id: b.const(1.0)}
    for node in reversed(topological([f])):
        g = cotangent.pop(node.id, None)
        if g is None or node.op in ("input", "const", "eye") or node.id in wanted:
            if node.op == "input" or node.id in wanted:
                cotangent[node.id] = g        # keep it: it is a result
            continue
        for k, a in enumerate(node.args):
            if a.id not in live:
                continue
            contribution = vjp_rule(b, node, g, k)
            if contribution is None:
                continue
            have = cotangent.get(a.id)
            cotangent[a.id] = contribution if have is None else have + contribution
    return [cotangent.get(x.id) if cotangent.get(x.id) is not None else b.zeros(x.shape)
            for x in inputs]


def jvp(b: Builder, outputs: list, seeds: dict, batch: tuple) -> list:
    """The tangents of ``outputs`` for input tangents ``seeds`` (``{input id: tangent}``)."""
    tangent = dict(seeds)
    live = depends(outputs, [n for n in topological(outputs) if n.id in seeds])
    for node in topological(outputs):
        if node.id in tangent or node.id not in live:
            continue
        tangent[node.id] = jvp_rule(b, node, [tangent.get(a.id) for a in node.args], batch)
    return [tangent.get(o.id) if tangent.get(o.id) is not None else b.zeros(batch + o.shape)
            for o in outputs]


def hessian(b: Builder, f: Node, inputs: list) -> list:
    """Blocks ``H[i][j]`` (shape ``x_i.shape + x_j.shape``) of scalar ``f``'s Hessian."""
    grads = grad(b, f, inputs)
    n = sum(x.size for x in inputs)
    seeds, offset = {}, 0
    for x in inputs:
        seeds[x.id] = b.eye(n, x.shape, offset)
        offset += x.size
    columns = jvp(b, grads, seeds, (n,))            # d grad_j / d z: shape (n,) + x_j.shape
    blocks, offset = [], 0
    for xi in inputs:
        row = []
        for xj, col in zip(inputs, columns):
            key = (("s", offset, 1, xi.size),) + tuple(("s", 0, 1, m) for m in xj.shape)
            part = b.slice(col, key) if len(inputs) > 1 else col
            row.append(b.reshape(part, xi.shape + xj.shape))
        blocks.append(row)
        offset += xi.size
    return blocks


def hvp(b: Builder, f: Node, inputs: list, directions: list) -> list:
    """``H v`` for scalar ``f``: the derivative of the gradient along ``directions``."""
    grads = grad(b, f, inputs)
    return jvp(b, grads, {x.id: v for x, v in zip(inputs, directions)}, ())

