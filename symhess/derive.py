"""Symbolic second derivatives: the upper triangle, exact sparsity, one CSE pass.

This module knows expressions and symbols only: nothing of NumPy, pytrees or code.
"""

from __future__ import annotations

import symengine as se
from symengine.lib.symengine_wrapper import Boolean, BooleanAtom, Relational

from . import errors, special_nodes


def hessian_entries(outputs, wrt) -> dict:
    """Nonzero upper-triangle entries ``{(o, k, l): d2 outputs[o] / d wrt[k] d wrt[l]}``, k <= l.

    Only symbols an expression contains are differentiated, so structural zeros are never
    derived. Each first derivative is taken once and reused for its whole row. A condition used
    as a number (``np.sum(x > 0)``) is piecewise constant: its derivative is zero wherever it
    is defined, as in JAX.
    """
    return _second_derivatives(outputs, wrt, wrt, upper=True)


def derivative_entries(outputs, wrt, second: bool = True) -> tuple[dict, dict]:
    """``(first, second)``: the nonzero first derivatives ``{(o, k): d outputs[o] / d wrt[k]}``
    and, when ``second``, the upper-triangle second derivatives as `hessian_entries` gives them.

    Each first derivative is taken once and serves both (a gradient and a Hessian derived
    together cost what the Hessian alone does).
    """
    first = {}
    entries = _second_derivatives(outputs, wrt, wrt if second else (), upper=True, first=first)
    return first, entries


def block_entries(outputs, rows, cols) -> dict:
    """Nonzero entries ``{(o, r, c): d2 outputs[o] / d rows[r] d cols[c]}`` of one block.

    As `hessian_entries`, for every pair of a row symbol and a column symbol (the whole block,
    not a triangle): a block of the Hessian, or some of its rows, derived alone.
    """
    return _second_derivatives(outputs, rows, cols, upper=False)


def _second_derivatives(outputs, rows, cols, upper, first=None) -> dict:
    """The second derivatives; with a dict ``first``, the nonzero first derivatives
    ``{(o, k): expression}`` by the row symbols are stored in it as well."""
    entries = {}
    if not any(f.free_symbols for f in outputs):
        return entries              # constants (every term in element loops): no derivatives
    row_of = {s: k for k, s in enumerate(rows)}
    col_of = row_of if cols is rows else {s: k for k, s in enumerate(cols)}
    for o, f in enumerate(outputs):
        try:
            entries.update(_entries_of(o, f, rows, cols, row_of, col_of, upper, first))
        except RuntimeError as e:
            if "Derivative doesn't exist" not in str(e):
                raise
            # SymEngine has no derivative of a bare condition: count it as a Piecewise 1 or 0.
            entries.update(_entries_of(o, conditions_as_numbers(f), rows, cols, row_of, col_of,
                                       upper, first))
    return entries


# A second derivative whose top two levels hold more than GROWTH_FACTOR times the function's
# (and at least GROWTH_FLOOR) terms and factors is refused: nested compositions grow
# quadratically in depth when differentiated twice, and CSE and printing then take minutes
# and gigabytes. Counting two levels costs little beside the derivative itself, and shared
# subexpressions (exp(S) for a large sum S) are not counted again.
GROWTH_FACTOR = 10
GROWTH_FLOOR = 50_000


# A function whose outputs, written out as trees, exceed NESTING_LIMIT terms and factors (shared
# subexpressions counted at every use: chained integrator steps whose sums SymEngine flattens)
# is one whose derivatives the scalar tier cannot keep small; tier="auto" gives it to the
# array tier, whose graphs keep every intermediate value once.
NESTING_LIMIT = 10 ** 9


def written_out_size(exprs, limit: int = NESTING_LIMIT) -> int:
    """The number of terms and factors of ``exprs`` written out as trees, counted on their
    shared form (each distinct subexpression once) and given up past ``limit``."""
    size: dict = {}
    total = 0
    for root in exprs:
        _bottom_up(root, size, lambda e: min(1 + sum(size[a] for a in e.args), limit + 1))
        total = min(total + size[root], limit + 1)
    return total


def _bottom_up(root, memo: dict, value) -> None:
    """``memo[node] = value(node)`` for each node of ``root`` not in ``memo`` yet, after its
    arguments': a walk of the graph with a stack of its own (chains run deeper than Python's
    recursion), each node once."""
    stack = [root]
    while stack:
        e = stack[-1]
        if e in memo:
            stack.pop()
            continue
        pending = [a for a in e.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[e] = value(e)


def _two_level_size(e) -> int:
    args = e.args
    return len(args) + sum(len(a.args) for a in args)


def _entries_of(o, f, rows, cols, row_of, col_of, upper, first=None) -> dict:
    entries = {}
    limit = max(GROWTH_FLOOR, GROWTH_FACTOR * _two_level_size(f))
    active = sorted(row_of[s] for s in f.free_symbols if s in row_of)
    terms = _terms_by_symbol(f, row_of)
    fold = _constant_selections_folded if special_nodes.find(
        [f], lambda x: isinstance(x, se.Piecewise)) is not None else (lambda e: e)
    for k in active:
        g = fold(terms[rows[k]].diff(rows[k]) if terms is not None else f.diff(rows[k]))
        if g == 0:
            continue
        if first is not None:
            first[o, k] = g
        for l in sorted(col_of[s] for s in g.free_symbols if s in col_of):
            if l >= k or not upper:
                h = fold(g.diff(cols[l]))
                if h != 0:
                    size = _two_level_size(h)
                    if size > limit:
                        raise errors.ExpressionGrowthError(size, limit)
                    entries[(o, k, l)] = h
    return entries


def _constant_selections_folded(e):
    """``e`` with each selection whose values are all one expression replaced by it, innermost
    first. SymEngine differentiates a selection value by value, so by a variable the
    selection does not read its derivative is a selection of zeros, not 0; where that
    multiplies a NaN or an infinity of the selection's own term (``3 m**2 m'`` of ``m**3``),
    0 * NaN made every entry of a sum with one NaN term NaN, where JAX's are numbers."""
    def constant(x):
        return isinstance(x, se.Piecewise) and len(set(x.args[::2])) == 1
    if special_nodes.find([e], constant) is None:
        return e
    done = {}                       # node -> itself folded

    def folded(x):
        args = [done[a] for a in x.args]
        if isinstance(x, se.Piecewise) and len(set(args[::2])) == 1:
            return args[0]
        if all(a == b for a, b in zip(args, x.args)):
            return x
        if special_nodes.is_special(x):
            return x.pyobject().kind(*args)
        if isinstance(x, se.Piecewise):
            return se.Piecewise(*zip(args[::2], args[1::2]))
        return x.xreplace(dict(zip(x.args, args)))      # any node: relations have no func
    _bottom_up(e, done, folded)
    return done[e]


def conditions_as_numbers(expr):
    """``expr`` with each condition that is used as a number (a term or factor, not the
    condition of a Piecewise) written ``Piecewise((1, condition), (0, True))``."""
    memo = {}

    def number(e):
        if isinstance(e, Boolean):
            return se.Piecewise((se.Integer(1), condition(e)), (se.Integer(0), se.true))
        if not e.args:
            return e
        if e not in memo:
            if isinstance(e, se.Piecewise):
                a = e.args
                memo[e] = se.Piecewise(*[(number(a[i]), condition(a[i + 1]))
                                         for i in range(0, len(a), 2)])
            else:
                memo[e] = e.func(*[number(a) for a in e.args])
        return memo[e]

    def condition(e):
        if isinstance(e, BooleanAtom):
            return e
        if isinstance(e, Relational):
            return type(e)(*[number(a) for a in e.args])
        return type(e)(*[condition(a) for a in e.args])      # And, Or, Not, Xor

    return number(expr)


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
    `cse` does. Functions kept whole that no printer has (the inverse error function, the
    gamma and Bessel families) are computed first, each by the steps of its own expression
    (`symhess.special_nodes.lowered`), and stand as symbols in the others. Up to
    `CSE_GROUP` expressions are reduced in one pass; more are reduced in groups of that many,
    whose temporaries are renamed apart. SymEngine's C++ implementation
    takes well under a second for a group, where SymPy's takes minutes.
    """
    exprs, definitions = special_nodes.lowered(exprs)
    replacements, reduced = [], []
    for k, (symbol, definition) in enumerate(definitions):      # each node's steps on its own
        steps, (value,) = se.cse([definition])
        rename = {sym: se.Symbol(f"#step{k}_{i}") for i, (sym, _) in enumerate(steps)}
        replacements += [(rename[sym], _renamed(expr, rename)) for sym, expr in steps]
        replacements.append((symbol, _renamed(value, rename)))
    if len(exprs) <= CSE_GROUP:
        group_replacements, reduced = se.cse(exprs) if exprs else ([], [])
        return replacements + group_replacements, reduced
    for start in range(0, len(exprs), CSE_GROUP):
        group_replacements, group_reduced = se.cse(exprs[start:start + CSE_GROUP])
        rename = {sym: se.Symbol(f"#cse{start}_{i}") for i, (sym, _) in enumerate(group_replacements)}
        replacements += [(rename[sym], _renamed(expr, rename)) for sym, expr in group_replacements]
        reduced += [_renamed(expr, rename) for expr in group_reduced]
    return replacements, reduced


def _renamed(expr, rename):
    """``expr`` with the temporaries it contains renamed (a small dict: xreplace's cost grows
    with the size of the dict it is given)."""
    own = {s: rename[s] for s in expr.free_symbols if s in rename}
    return special_nodes.xreplace([expr], own)[0] if own else expr
