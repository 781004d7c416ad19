"""Sparse Hessians of sums over elements, in the array tier: a mesh's or a molecule's energy.

Many functions read their variables only through gathers of rows: the corners of each
triangle ``x[tri[:, 0]]``, the two atoms of each bond. When every use of the variables is such
a gather (of the variables themselves, a reshape of them, or them plus data, as ``X0 + u``),
all along one axis of ``E`` elements, and the function is a sum of terms each of which reads
one element's rows, the Hessian is a sum of small ones: with ``y_e`` the ``K`` values element
``e`` gathers,

    ``H = sum_e P_e^T (d^2 f / d y_e^2) P_e``

where ``P_e`` picks the variables of ``y_e``. `element_hessian` recognizes that form from the
graph (the separability is checked on the structural pattern of the gathered values, never
assumed), computes every element's ``K x K`` block at once by forward over reverse with
``K`` directions (one per gathered value, the same for every element), and adds the blocks
into the CSR layout with one scatter. That is ``K`` directions where a coloring of the
variables needs one per color (6 for a triangle with two unknowns a corner, against 22 to 27
colors), and no work on the entries an element does not touch.
"""

from __future__ import annotations

import numpy as np

from . import rules
from .graph import topological
from .sparsity import constant_index, hessian_pattern


def _identity_of(node, inputs, live):
    """The differentiated input ``node`` equals up to a reshape or added data (its values in
    the same flat order), else None (``live``: the ids of the nodes depending on an input)."""
    while True:
        if node.op == "input":
            return node if node.id in inputs else None
        if node.op == "reshape":
            node = node.args[0]
        elif node.op == "binary" and node.params[0] in ("add", "sub"):
            variable = [a for a in node.args if a.id in live]
            if len(variable) != 1 or (node.params[0] == "sub" and variable[0] is not node.args[0]):
                return None
            node = variable[0]
        else:
            return None


def _gathers(output, inputs, constants):
    """``[(gather node, its input, index values)]`` when the variables are read only by
    gathers along axis 0 by one constant index vector each, all of one length; else None."""
    ids = {x.id: x for x in inputs}
    live = rules.depends([output], inputs)
    found, length = [], None
    for node in topological([output]):
        if node.id not in live or node.id in ids or _identity_of(node, ids, live) is not None:
            continue                # (the variables plus data, reshaped: read by gathers)
        for a in node.args:
            if a.id not in live or node.op == "gather":
                continue
            if _identity_of(a, ids, live) is not None:
                return None         # the variables (not a gather of them) used directly
        if node.op != "gather" or node.args[0].id not in live:
            continue
        source = _identity_of(node.args[0], ids, live)
        index = constant_index(node.args[1], constants)
        if source is None or node.params[0] != 0 or index is None or index.ndim != 1:
            return None
        if length is not None and len(index) != length:
            return None
        length = len(index)
        found.append((node, source, index))
    return found or None


def element_hessian(trace, triangle: str = "both", format: str = "csr_array", dense=None):
    """``(root, layout)``: the nonzeros of the Hessian of a sum over elements in the
    `symhess.layout.CSRLayout` of ``triangle``, or with ``dense`` (a `symhess.layout.Layout`)
    the whole Hessian in it; None when the function is not a sum over elements."""
    b, inputs, constants = trace.builder, trace.diff_inputs, trace.builder.constants
    found = _gathers(trace.output, inputs, constants)
    if found is None:
        return None
    gathered = [g for g, _, _ in found]
    grads = rules.grad(b, trace.output, gathered)
    p, s = hessian_pattern(grads, gathered, constants, upper=False)     # ordered pairs
    sizes = np.array([g.size // g.shape[0] for g in gathered])  # values of one element
    counts = np.array([g.size for g in gathered])
    starts = np.concatenate([[0], np.cumsum(counts)])
    # each gathered value (flat over the gathers): its gather, element, value and variable
    which = np.repeat(np.arange(len(found)), counts)
    within = np.arange(starts[-1]) - starts[which]
    element, r = within // sizes[which], within % sizes[which]
    if np.any(element[p] != element[s]):
        return None                 # terms coupling two elements: not a sum over elements
    offsets = np.cumsum([0] + [x.size for x in inputs])
    position = {x.id: offsets[k] for k, x in enumerate(inputs)}
    base = np.array([position[source.id] for _, source, _ in found])
    index = np.concatenate([ix for _, _, ix in found])
    first = np.concatenate([[0], np.cumsum([len(ix) for _, _, ix in found])])
    variable = base[which] + index[first[which] + element] * sizes[which] + r
    local_start = np.concatenate([[0], np.cumsum(sizes)])
    local = local_start[which] + r                          # its slot among the element's K
    K = int(local_start[-1])
    seeds = {}
    for k, g in enumerate(gathered):
        onehot = np.zeros((K, sizes[k]))
        onehot[local_start[k] + np.arange(sizes[k]), np.arange(sizes[k])] = 1.0
        rest = g.shape[1:]
        seeds[g.id] = b.bcast(b.const(onehot.reshape((K,) + rest)), (K,) + g.shape,
                              (0,) + tuple(range(2, 2 + len(rest))))
    blocks = rules.jvp(b, grads, seeds, (K,))      # blocks[k][q, e, r]: d2 f / dy_q dg_k[e, r]
    # every ordered pair (p, s) of the pattern adds its value to H[variable p, variable s]
    at = K * starts[which[p]] + local[s] * counts[which[p]] + within[p]
    R, C = variable[p], variable[s]
    if triangle != "both" and dense is None:
        keep = R <= C if triangle == "upper" else R >= C
        at, R, C = at[keep], R[keep], C[keep]
    layout, where = _place(R, C, int(offsets[-1]), triangle, format, dense)
    if layout.size == 0:
        return b.zeros((0,)), layout
    # each value of the blocks goes to its entry's slot, or (a structural zero of the block,
    # or an entry of the other triangle) to one slot past the end, dropped
    slots = np.full(K * int(starts[-1]), layout.size, dtype=np.int64)
    slots[at] = where
    parts = [b.const(slots[K * starts[k]:K * starts[k + 1]].reshape((K,) + g.shape))
             for k, g in enumerate(gathered)]
    added = b.scatter(list(blocks), parts, 0, layout.size + 1)
    return b.slice(added, [("s", 0, 1, layout.size)]), layout


def _place(R, C, n, triangle, format, dense):
    """``(layout, slots)``: where the values of entries ``(R[i], C[i])`` go: in ``dense``, or
    in the CSR layout of these entries (each once, in CSR order; looked up in that matrix)."""
    import scipy.sparse as sp

    from ..layout import CSRLayout
    if dense is not None:
        return dense, dense.position_arrays(R, C)[0]
    entries = sp.csr_array((np.ones(len(R), np.int64), (R, C)), shape=(n, n))
    entries.sum_duplicates()
    layout = CSRLayout.of_keys(np.repeat(np.arange(n, dtype=np.int64) * n,
                                         np.diff(entries.indptr)) + entries.indices, n,
                               triangle, format)
    entries.data = np.arange(layout.size, dtype=np.int64)
    return layout, entries[R, C] if layout.size else np.zeros(0, np.int64)
