"""Contractions: the labels of ``matmul``, ``dot``, ``tensordot``, ``inner`` and ``einsum``.

Every contraction is one ``einsum`` node (`symhess.arrays.graph.Builder.einsum`); these
functions turn NumPy's ways of writing one into its labels.
"""

from __future__ import annotations

import math

from .graph import Node, Unsupported


def parse(subscripts: str, shapes: list) -> tuple[list, tuple]:
    """NumPy's ``einsum`` subscripts (no ellipsis) as integer labels per operand and output."""
    if "." in subscripts:
        raise Unsupported("einsum with an ellipsis")
    text = subscripts.replace(" ", "")
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
    sizes = {}
    for ls, x in zip(labels, operands):
        sizes.update(zip(ls, x.shape))
    return sizes


def flops(node: Node) -> int:
    """Iterations of an einsum's loop nest."""
    labels, out = node.params
    return math.prod(size_of(labels, node.args).values())
