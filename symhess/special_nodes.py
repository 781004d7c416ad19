"""The nodes of `symhess.special` inside expressions: finding them (`nodes`), rebuilding
them when their arguments change (`xreplace`), writing out the ones no code printer has for a
kernel (`lowered`, with the steps an algorithm holds, `held`), and evaluating expressions that
hold them (`evaluate`)."""

from __future__ import annotations

import threading

import numpy as np
import symengine as se

from .special import is_special

__all__ = ["nodes", "xreplace", "lowered", "held", "ITERATIVE", "reads_iterative", "evaluate"]


def lowered(exprs) -> tuple[list, list]:
    """``(exprs, definitions)``: ``exprs`` with every node that has a lowering (`Special.lower`)
    replaced by a symbol of its own, and ``[(symbol, the expression that computes it)]``,
    innermost first, each written with the symbols of the nodes in its arguments: what a kernel
    is printed from. (Substituted into ``exprs`` instead, the lowerings' shared steps, written
    out as trees, made SymEngine's CSE take minutes.)"""
    exprs = list(exprs)
    pending = _lowerable(exprs)
    if not pending:
        return exprs, []
    done, definitions = {}, []

    def lower(node):
        args = xreplace(node.args, done) if done else list(node.args)
        _holding.steps, _holding.prefix = [], f"#held{len(definitions)}_"
        try:
            definition = node.pyobject().kind.lower(*args)
            steps = _holding.steps
        finally:
            _holding.steps = None
        # each step after the nodes it writes (an incomplete gamma's gammaln), which come after
        # the steps their arguments read
        for symbol, step in steps + [(None, definition)]:
            inner = _lowerable([step])
            for n in inner:
                if n not in done:
                    lower(n)
            if symbol is None:
                symbol = done[node] = se.Symbol(f"#special{len(definitions)}")
            definitions.append((symbol, xreplace([step], done)[0] if inner else step))

    for node in pending:
        if node not in done:
            lower(node)
    return xreplace(exprs, done), definitions


_holding = threading.local()        # .steps: the held steps of the lowering being written


def held(expr):
    """``expr`` as one named step of the lowering being written (`symhess.foreign.HOLD`): a
    symbol of its own, defined before the lowering's value; ``expr`` itself elsewhere."""
    steps = getattr(_holding, "steps", None)
    if steps is None or isinstance(expr, se.Number):
        return expr
    symbol = se.Symbol(f"{_holding.prefix}{len(steps)}")
    steps.append((symbol, expr))
    return symbol


#: Functions computed by hundreds of steps (series and continued fractions), which a scalar
#: kernel writes out at every call: ``tier="auto"`` gives a function that reads one to the
#: array tier, whose loops compute them once per element in the same code.
ITERATIVE = frozenset({"incomplete_gamma", "incomplete_beta"})


def reads_iterative(exprs) -> bool:
    """Whether ``exprs`` hold a node of `ITERATIVE`."""
    return any(n.pyobject().kind.name in ITERATIVE for n in nodes(exprs))


def xreplace(exprs, mapping) -> list:
    """``[e.xreplace(mapping) for e in exprs]`` for a ``mapping`` of symbols (or of nodes), with
    the nodes whose arguments change rebuilt here. SymEngine rebuilds such a node by calling its
    `Special` with the arguments converted to SymPy, which is slow for piecewise arguments and,
    where SymPy raises (a condition on a NaN: ``np.where(np.where(x > 0, x, nan) < 0.5, ...)``),
    ends the process inside SymEngine. Each node becomes a placeholder symbol first, innermost
    first, and is rebuilt from its arguments in SymEngine."""
    exprs = list(exprs)
    found = nodes(exprs)
    if not found:
        return [e.xreplace(mapping) for e in exprs]
    hidden, rebuilt = {}, {}                # node -> placeholder -> its new value
    for k, node in enumerate(found):
        placeholder = se.Symbol(f"#node{k}")
        if node in mapping:
            rebuilt[placeholder] = mapping[node]
        else:
            args = [a.xreplace(hidden).xreplace(mapping).xreplace(rebuilt) for a in node.args]
            rebuilt[placeholder] = node.pyobject().kind(*args)
        hidden[node] = placeholder
    return [e.xreplace(hidden).xreplace(mapping).xreplace(rebuilt) for e in exprs]


def _lowerable(exprs) -> list:
    """The nodes in ``exprs`` that have a lowering, innermost first."""
    return [n for n in nodes(exprs) if n.pyobject().kind.lower is not None]



# --- numerical evaluation with SymEngine's Lambdify, which knows no PyFunction -------------------
def evaluate(symbols, exprs, values, dtype=float):
    """``exprs`` at ``symbols = values``, as a 1-d array; nodes of `NODES` evaluated by NumPy.

    Each node is evaluated once, innermost first, and stands as a number in the expressions
    around it: ``se.Lambdify`` cannot evaluate a ``PyFunction`` itself.
    """
    exprs = list(exprs)
    found = nodes(exprs)
    known = {}                                  # node -> placeholder symbol
    syms, vals = list(symbols), list(np.asarray(values, dtype=dtype))
    for k, node in enumerate(found):
        args = xreplace(node.args, known) if known else list(node.args)
        arg_values = _lambdify(syms, args, vals, dtype)
        with np.errstate(all="ignore"):
            value = node.pyobject().kind.numeric(*arg_values)
        placeholder = se.Symbol(f"_special{k}")
        known[node] = placeholder
        syms.append(placeholder)
        vals.append(value)
    if known:
        exprs = xreplace(exprs, known)
    return _lambdify(syms, exprs, vals, dtype)


def _lambdify(syms, exprs, vals, dtype):
    if not exprs:
        return np.zeros(0, dtype=dtype)
    f = se.Lambdify(syms, exprs, backend="lambda", real=dtype is not complex, cse=True)
    return np.asarray(f(np.asarray(vals, dtype=dtype)), dtype=dtype).ravel()


def nodes(exprs) -> list:
    """The special nodes in ``exprs``, each once, every node after the nodes in its arguments."""
    seen, order = set(), []

    def walk(e):
        stack = [(e, False)]
        while stack:
            x, done = stack.pop()
            if done:
                order.append(x)
                continue
            if x in seen or isinstance(x, (se.Symbol, se.Number)):
                continue
            seen.add(x)
            if is_special(x):
                stack.append((x, True))
            stack.extend((a, False) for a in x.args)
    for e in exprs:
        walk(e)
    return order


def find(exprs, predicate):
    """A node of ``exprs`` for which ``predicate`` holds, or None: a walk of their graph that
    visits each node once (a walk of the tree, as SymEngine's ``has`` makes, is exponential in
    the depth of chains that read each step twice)."""
    seen, stack = set(), [e for e in exprs if isinstance(e, se.Basic)]
    while stack:
        x = stack.pop()
        if isinstance(x, (se.Symbol, se.Number)) or x in seen:
            continue
        if predicate(x):
            return x
        seen.add(x)
        stack.extend(x.args)
    return None
