"""Contractions: the labels of ``matmul``, ``dot``, ``tensordot``, ``inner`` and ``einsum``.

Every contraction is one ``einsum`` node (`symhess.arrays.graph.Builder.einsum`); these
functions turn NumPy's ways of writing one into its labels.
"""

from __future__ import annotations

import math
import string
import weakref

from ..errors import ArrayTierUnsupported as Unsupported


def canonical_einsum(b, operands: list, labels: list, out: tuple, merge: bool = True,
                     sizes: dict | None = None):
    """A contraction in the form the lowering wants: broadcasts, transposes and numbers among
    the operands are absorbed into the labels (a broadcast operand is simply not indexed by the
    labels it repeats along), an identity matrix is contracted away by renaming its labels, and
    a contraction of one operand becomes a sum and a transpose. What remains is a product of
    distinct arrays summed over the labels not in the output. A sum holding a derivative seed
    becomes one contraction per term, and (with ``merge``) a contraction holding a seed joins
    this one, so that the seed fixes an index (see `seeded`, `_fixes`). ``sizes``: lengths of
    labels a caller's operands had (a broadcast it absorbed), summed over or output here."""
    sizes = dict(sizes or {})
    for x, ls in zip(operands, labels):
        if len(ls) != x.ndim:
            raise Unsupported(f"einsum labels {ls} for an operand of shape {x.shape}")
        for label, n in zip(ls, x.shape):
            if sizes.setdefault(label, n) != n:
                if n == 1 or sizes[label] == 1:
                    raise Unsupported("einsum with broadcasting of size-1 axes")
                raise Unsupported(f"einsum axes of label {label} differ: {sizes[label]} and {n}")
    if len(set(out)) != len(out) or any(label not in sizes for label in out):
        raise Unsupported(f"einsum output labels {out}")
    scale = 1.0
    changed = True
    while changed:
        changed = False
        for k, (x, ls) in enumerate(zip(operands, labels)):
            if x.op == "binary" and x.params[0] == "mul" and x.dtype == "f" and \
                    all(a.dtype == "f" for a in x.args):
                # A product of arrays is multilinear: each factor becomes an operand.
                operands[k:k + 1] = list(x.args)
                labels[k:k + 1] = [ls, ls]
                changed = True
                break
            if x.op == "unary" and x.params[0] == "neg":
                operands[k], scale = x.args[0], -scale
                changed = True
                break
            number = b.number(x)
            if number is not None:
                if number == 0:
                    return b.zeros(tuple(sizes[label] for label in out))
                scale *= number
                del operands[k], labels[k]
                changed = True
                break
            if x.op == "einsum" and _splits(x, k, labels, out):
                # A product without a sum (an outer product) some of whose factors are summed
                # and some not: its factors become operands (the latter then multiply the sum).
                rename = dict(zip(x.params[1], ls))
                operands[k:k + 1] = list(x.args)
                labels[k:k + 1] = [tuple(rename[label] for label in inner)
                                   for inner in x.params[0]]
                changed = True
                break
            if x.op == "binary" and x.params[0] in ("add", "sub") and x.dtype == "f" \
                    and seeded(x):
                # A sum one of whose terms holds a derivative seed: one contraction per term,
                # so that the seed's identity fixes an index of that term's loops instead of
                # being tested at every iteration of them.
                parts = [canonical_einsum(b, operands[:k] + [a] + operands[k + 1:],
                                          list(labels), out, sizes=sizes) for a in x.args]
                total = parts[0] + parts[1] if x.params[0] == "add" else parts[0] - parts[1]
                return total * scale if scale != 1.0 else total
            if merge and x.op == "einsum" and (_fixes(x, ls, out) or _product(x)):
                # A contraction holding a seed whose direction is an output label, or a
                # product without a sum: its operands join this one's (its summed labels
                # renamed apart).
                fresh = iter(range(max(sizes, default=0) + 1, 1 << 30))
                rename = dict(zip(x.params[1], ls))
                for inner in x.params[0]:
                    for label in inner:
                        if label not in rename:
                            rename[label] = next(fresh)
                operands[k:k + 1] = list(x.args)
                labels[k:k + 1] = [tuple(rename[label] for label in inner)
                                   for inner in x.params[0]]
                for j, a in enumerate(x.args):
                    sizes.update(zip(labels[k + j], a.shape))
                changed = True
                break
            if x.op == "transpose":
                perm = x.params[0]
                inner = [None] * x.ndim
                for j, p in enumerate(perm):
                    inner[p] = ls[j]
                operands[k], labels[k] = x.args[0], tuple(inner)
                changed = True
                break
            if x.op == "bcast":
                src, (_, dims) = x.args[0], x.params
                keep = [i for i, d in enumerate(dims) if src.shape[i] != 1 or x.shape[d] == 1]
                if len(keep) != src.ndim:
                    src = b.reshape(src, tuple(src.shape[i] for i in keep))
                operands[k], labels[k] = src, tuple(ls[dims[i]] for i in keep)
                changed = True
                break
            if x.op == "eye" and x.ndim == 2 and x.params[0] == 0 and x.shape[0] == x.shape[1] \
                    and not (ls[0] in out and ls[1] in out) and ls[0] != ls[1]:
                keep, gone = (ls[0], ls[1]) if ls[0] in out else (ls[1], ls[0])
                del operands[k], labels[k]
                labels = [tuple(keep if label == gone else label for label in l) for l in labels]
                out = tuple(keep if label == gone else label for label in out)
                del sizes[gone]
                changed = True
                break
    for k, (x, ls) in enumerate(zip(operands, labels)):
        if _embeds(x, k, labels, out):
            # A seed E[t, l...] whose direction t only the output has: the contraction of the
            # others over (l...) in t's place, a block of rows from the seed's offset on
            # (a plain contraction, which may go to BLAS, and a copy).
            at, length = out.index(ls[0]), math.prod(x.shape[1:])
            inner = canonical_einsum(b, operands[:k] + operands[k + 1:],
                                     labels[:k] + labels[k + 1:], out[:at] + ls[1:] + out[at + 1:],
                                     sizes={l: n for l, n in sizes.items() if l != ls[0]})
            shape = tuple(sizes[label] for label in out)
            block = b.reshape(inner, shape[:at] + (length,) + shape[at + 1:])
            key = [("s", 0, 1, n) for n in shape]
            key[at] = ("s", x.params[0], 1, length)
            result = b.embed(block, shape, key)
            return result * scale if scale != 1.0 else result
    # A label indexing nothing any more (it was broadcast) contributes its length to the sum.
    used = {label for ls in labels for label in ls}
    for label in set(sizes) - used - set(out):
        scale *= sizes[label]
    shape = tuple(sizes[label] for label in out)
    missing = [label for label in out if label not in used]
    if missing:                             # an output axis only a broadcast had
        inner_out = tuple(label for label in out if label in used)
        inner = canonical_einsum(b, operands, labels, inner_out) if operands else b.const(1.0)
        dims = tuple(out.index(label) for label in inner_out)
        return b.bcast(inner, shape, dims) * scale
    if not operands:
        return b.bcast(b.const(scale), shape, ())
    if len(operands) == 1 and len(set(labels[0])) == len(labels[0]):
        x, ls = operands[0], labels[0]
        summed = b.sum(x, [i for i, label in enumerate(ls) if label not in out], contract=False)
        kept = [label for label in ls if label in out]
        result = b.transpose(summed, [kept.index(label) for label in out])
        return result * scale if scale != 1.0 else result
    # Factors indexed by no summed label multiply the contraction of the others: the sum
    # of a rank-one matrix against another is then a product with a matrix-vector product.
    outside = [k for k in _separable(labels, out) if operands[k].op != "eye"]
    if outside and len(outside) < len(operands):
        inner = [k for k in range(len(operands)) if k not in outside]
        inner_out = tuple(label for label in out if any(label in labels[k] for k in inner))
        core = canonical_einsum(b, [operands[k] for k in inner], [labels[k] for k in inner],
                                inner_out)
        product = canonical_einsum(b, [operands[k] for k in outside] + [core],
                                   [labels[k] for k in outside] + [inner_out], out, merge=False)
        return product * scale if scale != 1.0 else product
    # One order of operands and one numbering of labels, so equal contractions are one node.
    order = sorted(range(len(operands)), key=lambda k: operands[k].id)
    operands = [operands[k] for k in order]
    labels = [labels[k] for k in order]
    rename = {}
    for label in list(out) + [label for ls in labels for label in ls]:
        rename.setdefault(label, len(rename))
    labels = tuple(tuple(rename[label] for label in ls) for ls in labels)
    out = tuple(rename[label] for label in out)
    node = b.node("einsum", tuple(operands), (labels, out), shape,
                  "f" if any(x.dtype == "f" for x in operands) else operands[0].dtype)
    return node * scale if scale != 1.0 else node



def _separable(labels, out) -> list:
    """Positions of the operands of a contraction (``labels -> out``) that can multiply the
    contraction of the others, making it smaller: operands that carry no summed label and
    carry a label no other operand does (so the others' loops do not run over it)."""
    summed = {label for ls in labels for label in ls} - set(out)
    found = []
    for k, ls in enumerate(labels):
        others = {label for j, l in enumerate(labels) if j != k for label in l}
        if summed and not set(ls) & summed and set(ls) - others:
            found.append(k)
    return found


_SEEDED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # node -> holds a seed


def seeded(x) -> bool:
    """Whether ``x`` is, or is a sum with a term that is, a product holding a derivative seed
    (an `eye` node of an offset or of more than two axes, read through broadcasts, transposes,
    negations, products and contractions). Remembered per node (nodes never change), and
    found without recursion: a chain of arithmetic shares its nodes, and a walk of its paths
    would be exponential in its length."""
    stack = [x]
    while stack:
        node = stack[-1]
        if node in _SEEDED:
            stack.pop()
            continue
        below = _reads(node)
        if isinstance(below, bool):
            _SEEDED[node] = below
        else:
            todo = [a for a in below if a not in _SEEDED]
            if todo:
                stack.extend(todo)
                continue
            _SEEDED[node] = any(_SEEDED[a] for a in below)
        stack.pop()
    return _SEEDED[x]


def _reads(x):
    """What decides whether ``x`` holds a seed: True or False, or the operands that do."""
    if x.op in ("bcast", "transpose") or (x.op == "unary" and x.params[0] == "neg"):
        return [x.args[0]]
    if x.op == "eye":
        return x.params[0] != 0 or x.ndim != 2 or x.shape[0] != x.shape[1]
    if (x.op == "binary" and x.params[0] in ("add", "sub", "mul") and x.dtype == "f") \
            or x.op == "einsum":
        return list(x.args)
    return False


def _fixes(x, ls, out) -> bool:
    """Whether einsum ``x``, an operand labelled ``ls`` of a contraction with output labels
    ``out``, holds a seed (itself, or in a contraction it holds) whose direction (its first
    label) is one of ``out``: then, made operands of the contraction, the seed fixes that
    label and its loop goes away."""
    rename = dict(zip(x.params[1], ls))
    for a, inner in zip(x.args, x.params[0]):
        outer = tuple(rename.get(label) for label in inner)
        if a.op == "eye" and outer[0] in out and inner[0] not in inner[1:]:
            return True
        if a.op == "einsum" and None not in outer and _fixes(a, outer, out):
            return True
    return False


def _product(x) -> bool:
    """Whether einsum ``x`` is a product without a sum (every label it has is an output)."""
    return set(x.params[1]) == {label for ls in x.params[0] for label in ls}


def _embeds(x, k, labels, out) -> bool:
    """Whether operand ``k``, ``x``, of a contraction (``labels -> out``) is a seed whose
    direction only the output has and whose other labels only the other operands have."""
    ls = labels[k]
    if x.op != "eye" or len(labels) < 2 or ls[0] not in out or len(set(ls)) != len(ls):
        return False
    others = {label for j, l in enumerate(labels) if j != k for label in l}
    return ls[0] not in others and not set(ls[1:]) & set(out)


def _splits(x, k, labels, out) -> bool:
    """Whether einsum ``x``, operand ``k`` of a contraction (``labels -> out``),
    is a product without a sum with a factor that, made an operand, would be `_separable`
    (an outer product of a summed vector and one that is not)."""
    inner, inner_out = x.params
    if set(inner_out) != {label for l in inner for label in l}:
        return False
    rename = dict(zip(inner_out, labels[k]))
    factors = [tuple(rename[label] for label in l) for l in inner]
    whole = labels[:k] + factors + labels[k + 1:]
    return any(k <= j < k + len(factors) for j in _separable(whole, out))


def _without_ellipsis(text: str, shapes: list) -> str:
    """Explicit subscripts for ones with ``...``: letters of their own for the axes it stands
    for, right-aligned across the operands as NumPy broadcasts them."""
    inputs, arrow, output = text.partition("->")
    parts = inputs.split(",")
    if len(parts) != len(shapes):
        raise Unsupported(f"einsum subscripts {text!r} for {len(shapes)} operands")
    used = set(text)
    free = [c for c in string.ascii_letters if c not in used]
    counts = [len(shape) - (len(p) - 3) if "..." in p else 0 for p, shape in zip(parts, shapes)]
    if min(counts, default=0) < 0:
        raise Unsupported(f"einsum subscripts {text!r} for operands of shapes {shapes}")
    ellipsis = "".join(free[:max(counts, default=0)])
    parts = [p.replace("...", ellipsis[len(ellipsis) - c:]) for p, c in zip(parts, counts)]
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        letters = "".join(parts)
        output = ellipsis + "".join(sorted(c for c in set(letters) - set(ellipsis)
                                           if letters.count(c) == 1))
    return ",".join(parts) + "->" + output


def parse(subscripts: str, shapes: list) -> tuple[list, tuple]:
    """NumPy's ``einsum`` subscripts as integer labels per operand and output."""
    text = subscripts.replace(" ", "")
    if "." in text:
        text = _without_ellipsis(text, shapes)
    if "->" in text:
        inputs, output = text.split("->")
    else:
        inputs = text
        letters = inputs.replace(",", "")
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    parts = inputs.split(",")
    if len(parts) != len(shapes):
        raise Unsupported(f"einsum subscripts {subscripts!r} for {len(shapes)} operands")
    code = {c: i for i, c in enumerate(sorted(set(inputs.replace(",", ""))))}
    return [tuple(code[c] for c in p) for p in parts], tuple(code[c] for c in output)


def matmul_labels(a_ndim: int, b_ndim: int) -> tuple[tuple, tuple, tuple]:
    """Labels of ``a @ b`` (NumPy's rules; batch axes must match, not broadcast)."""
    if a_ndim == 0 or b_ndim == 0:
        raise Unsupported("matmul of a scalar")
    k = 100                                   # the contracted label
    if a_ndim == 1 and b_ndim == 1:
        return (k,), (k,), ()
    if a_ndim == 1:
        batch = tuple(range(b_ndim - 2))
        return (k,), batch + (k, 50), batch + (50,)
    if b_ndim == 1:
        batch = tuple(range(a_ndim - 2))
        return batch + (40, k), (k,), batch + (40,)
    nb = max(a_ndim, b_ndim) - 2
    batch = tuple(range(nb))
    la = batch[nb - (a_ndim - 2):] + (40, k)
    lb = batch[nb - (b_ndim - 2):] + (k, 50)
    return la, lb, batch + (40, 50)


def tensordot_labels(a_ndim, b_ndim, axes) -> tuple[tuple, tuple, tuple]:
    if isinstance(axes, int):
        axes_a = list(range(a_ndim - axes, a_ndim))
        axes_b = list(range(axes))
    else:
        axes_a, axes_b = ([axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                          [axes[1]] if isinstance(axes[1], int) else list(axes[1]))
    axes_a = [x % a_ndim for x in axes_a]
    axes_b = [x % b_ndim for x in axes_b]
    la = list(range(a_ndim))
    lb = [100 + i for i in range(b_ndim)]
    for i, j in zip(axes_a, axes_b):
        lb[j] = la[i]
    out = tuple(l for i, l in enumerate(la) if i not in axes_a) + \
        tuple(l for j, l in enumerate(lb) if j not in axes_b)
    return tuple(la), tuple(lb), out


def size_of(labels, operands) -> dict:
    """``{label: length}`` of the axes ``labels`` name in ``operands``, in order of appearance."""
    sizes = {}
    for ls, x in zip(labels, operands):
        sizes.update(zip(ls, x.shape))
    return sizes
