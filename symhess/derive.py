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
        terms = _terms_by_symbol(f, position)
        for k in active:
            g = terms[wrt[k]].diff(wrt[k]) if terms is not None else f.diff(wrt[k])
            if g == 0:
                continue
            for l in sorted(position[s] for s in g.free_symbols if s in position):
                if l >= k:
                    h = g.diff(wrt[l])
                    if h != 0:
                        entries[(o, k, l)] = h
    return entries


def _terms_by_symbol(f, position):
    """For a sum, ``{symbol: the sum of the terms that contain it}``; else None.

    Differentiating a sum of n terms walks all n of them. An energy summed over elements has
    each variable in a few terms only, so differentiating just those makes a gradient O(n)
    instead of O(n**2).
    """
    if not isinstance(f, se.Add) or len(f.args) < 16:
        return None
    groups = {}
    for term in f.args:
        for s in term.free_symbols:
            if s in position:
                groups.setdefault(s, []).append(term)
    return {s: se.Add(*ts) for s, ts in groups.items()}


# SymEngine's cse takes time roughly quadratic in the number of expressions; beyond this many
# it runs on groups of consecutive ones (neighbouring entries share their subexpressions, far
# apart ones rarely do).
CSE_GROUP = 2000


def cse(exprs):
    """Common-subexpression elimination over the expressions of a kernel.

    Returns ``(replacements, reduced)`` with the replacements in dependency order, as SymPy's
    `cse` does. Up to `CSE_GROUP` expressions are reduced in one pass; more are reduced in
    groups of that many, whose temporaries are renamed apart. SymEngine's C++ implementation
    takes well under a second for a group, where SymPy's takes minutes.
    """
    exprs = list(exprs)
    if len(exprs) <= CSE_GROUP:
        return se.cse(exprs) if exprs else ([], [])
    replacements, reduced = [], []
    for start in range(0, len(exprs), CSE_GROUP):
        group_replacements, group_reduced = se.cse(exprs[start:start + CSE_GROUP])
        rename = {sym: se.Symbol(f"_cse{start}_{i}") for i, (sym, _) in enumerate(group_replacements)}
        replacements += [(rename[sym], _renamed(expr, rename)) for sym, expr in group_replacements]
        reduced += [_renamed(expr, rename) for expr in group_reduced]
    return replacements, reduced


def _renamed(expr, rename):
    """``expr`` with the temporaries it contains renamed (a small dict: xreplace's cost grows
    with the size of the dict it is given)."""
    own = {s: rename[s] for s in expr.free_symbols if s in rename}
    return expr.xreplace(own) if own else expr
