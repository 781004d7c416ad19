"""Element templates: a sum of many terms of one shape, kept as one template plus an index table.

An energy summed over elements (pairs, bonds, data rows, cells of a mesh) traces into a sum of
P terms that differ only in which input entries they read. Derived and printed term by term,
its Hessian makes a kernel of P copies of the same code, and compile time grows with P. Here
the terms of a scalar output are grouped by shape instead:

1. terms that read the same set of symbols form one element (an element's energy may trace
   into several terms of the sum);
2. an element's symbols are renamed to slots in the order of (input, flat index), and elements
   whose renamed forms are equal are instances of one template, whose index table lists, per
   instance, the flat index each slot reads;
3. a template with enough instances is derived once, and the kernel evaluates its small
   Hessian in a loop over the index table, adding into the output. Everything else stays a
   remainder that is derived entry by entry, as an unrolled kernel is.

The split is exact: the output equals the remainder plus every instance of every template, so
the result is correct whatever is recognised. Elements whose symbols play their roles in a
different order (a mesh cell numbered the other way round) are instances of another template.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import symengine as se

from . import special_nodes

# A template is used when it has at least MIN_INSTANCES instances, or at least two whose
# unrolled Hessians hold MIN_WORK entries in all (instances x slots**2): below that, unrolling
# costs little compile time and gives the faster kernel.
MIN_INSTANCES = 16
MIN_WORK = 512


@dataclass
class Template:
    """``expr`` in the slot symbols ``slots``; instance ``p`` reads slot ``j`` from the kernel
    input ``slot_input[j]`` at flat index ``index[p, j]``."""

    expr: object
    slots: list
    slot_input: tuple
    index: np.ndarray

    @property
    def instances(self) -> int:
        return self.index.shape[0]


_SLOTS: dict = {}


def _slot(inp: int, j: int):
    """The slot symbol for column ``j`` reading kernel input ``inp`` (one object per pair, so
    that equal templates compare equal; named as no input can be, and alike in every process:
    see `symhess.trace.TraceContext.fresh_symbol`)."""
    try:
        return _SLOTS[inp, j]
    except KeyError:
        return _SLOTS.setdefault((inp, j), se.Symbol(f"#slot{j}_{inp}"))


# A factor of a sum (``sigma * (t1 + t2 + ...)``) that reads at most this many symbols is
# multiplied into the sum's terms, which then become elements like any others.
MAX_FACTOR_SYMBOLS = 8


def terms(f) -> list:
    """The terms of ``f`` as a sum, with a small factor of a sum of many terms multiplied
    into them: ``sigma * (t1 + ... + tn)`` (an objective factor, a runtime scale, a weight)
    gives ``sigma*t1, ..., sigma*tn``, so that a sum a runtime number multiplies keeps its
    element templates."""
    out = []
    for term in (f.args if isinstance(f, se.Add) else (f,)):
        if isinstance(term, se.Mul):
            args = term.args
            sums = [a for a in args if isinstance(a, se.Add) and len(a.args) >= MIN_INSTANCES]
            if len(sums) == 1:
                factor = se.Mul(*[a for a in args if a is not sums[0]])
                if len(factor.free_symbols) <= MAX_FACTOR_SYMBOLS:
                    out.extend(factor * t for t in sums[0].args)
                    continue
        out.append(term)
    return out


def _by_form(items, where: dict) -> tuple[list, dict]:
    """``(unplaced, groups)`` of ``items`` ``(key, expression, its free symbols)``: each
    expression with its array-input symbols renamed to slots in the order of (input, flat
    index); ``groups`` maps a renamed form to ``(inputs of its slots, [flat indices of each
    member], [member keys])``, ``unplaced`` lists the keys of expressions that read no array
    input."""
    groups, unplaced = {}, []
    for key, expr, symbols in items:
        placed = sorted((where[s], s) for s in symbols if s in where)
        if not placed:
            unplaced.append(key)
            continue
        rename = {s: _slot(inp, j) for j, ((inp, _), s) in enumerate(placed)}
        group = groups.setdefault(special_nodes.xreplace([expr], rename)[0],
                                  (tuple(inp for (inp, _), _ in placed), [], []))
        group[1].append([flat for (_, flat), _ in placed])
        group[2].append(key)
    return unplaced, groups


def _template(form, inputs, index) -> Template:
    return Template(form, [_slot(inp, j) for j, inp in enumerate(inputs)], inputs,
                    np.asarray(index, dtype=np.int64))


def split(parts, where: dict, min_instances: int = MIN_INSTANCES):
    """``(remainder, templates)`` with ``f == remainder + sum of all template instances``, for
    the ``parts`` of a scalar output ``f`` (`terms`).

    ``where`` maps each array-input symbol to ``(kernel input, flat index)``; other symbols
    (scalar inputs) stay as they are in a template and are shared by its instances.
    """
    elements = {}
    for term in parts:
        elements.setdefault(frozenset(term.free_symbols), []).append(term)
    items = []
    for symbols, same in elements.items():       # the terms that read one set of symbols
        element = same[0] if len(same) == 1 else se.Add(*same)
        items.append((element, element, symbols))
    rest, groups = _by_form(items, where)
    templates = []
    for form, (inputs, rows, members) in groups.items():
        if len(rows) < min_instances and (len(rows) < 2 or len(rows) * len(inputs) ** 2 < MIN_WORK):
            rest.extend(members)
            continue
        template = _template(form, inputs, rows)
        # Instances in the order of their indices, not of the terms in the sum: a chain's
        # tables become arithmetic, so loops compute them and may run in parallel classes.
        template.index = template.index[np.lexsort(template.index.T[::-1])]
        templates.append(template)
    remainder = se.Add(*rest) if rest else se.Integer(0)
    return remainder, templates


def templates_of_rows(outputs, where: dict, min_instances: int = MIN_INSTANCES):
    """``(rest, [(template, rows)])``: the outputs of a vector function grouped by form.

    Output ``o`` is renamed to slots as an element of `split` is; outputs of one form with at
    least ``min_instances`` members are instances of a template, ``rows[p]`` being the output
    that instance ``p`` computes. ``rest`` lists the other outputs' indices.
    """
    rest, groups = _by_form(((o, e, e.free_symbols) for o, e in enumerate(outputs)), where)
    found = []
    for form, (inputs, index, members) in groups.items():
        if len(members) < min_instances:
            rest.extend(members)
            continue
        found.append((_template(form, inputs, index), np.asarray(members, dtype=np.int64)))
    return sorted(rest), found
