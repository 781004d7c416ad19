"""Symbolic second derivatives: the upper triangle, exact sparsity, one CSE pass.

This module knows expressions and symbols only: nothing of NumPy, pytrees or code.
"""

from __future__ import annotations

import symengine as se


def hessian_entries(outputs, wrt) -> dict:
    """Nonzero upper-triangle entries ``{(o, k, l): d2 outputs[o] / d wrt[k] d wrt[l]}``, k <= l.

    Only symbols an expression contains are differentiated, so structural zeros are never
    derived. Each first derivative is taken once and reused for its whole row.
    """
    position = {s: k for k, s in enumerate(wrt)}
    entries = {}
    for o, f in enumerate(outputs):
        active = sorted(position[s] for s in f.free_symbols if s in position)
        for k in active:
            g = f.diff(wrt[k])
            if g == 0:
                continue
            g_free = g.free_symbols
            for l in active:
                if l >= k and wrt[l] in g_free:
                    h = g.diff(wrt[l])
                    if h != 0:
                        entries[(o, k, l)] = h
    return entries


def cse(exprs):
    """Common-subexpression elimination over all expressions of a kernel at once.

    Returns ``(replacements, reduced)`` with the replacements in dependency order, as SymPy's
    `cse` does. SymEngine's C++ implementation is linear-time in practice on kernels of
    thousands of entries, where SymPy's takes minutes.
    """
    if not exprs:
        return [], []
    return se.cse(list(exprs))
