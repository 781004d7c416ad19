"""Element loops: a scalar output's element templates and lazy element sums as `LoopSpec`s.

`symhess.templates` finds the sums of many terms of one shape; `symhess.lazy` keeps vectorized
gathers as element sums. Here each becomes a loop of one element's Hessian entries, with an
index table (which inputs each element reads) and a position table (where it adds in the
output), for the Hessian kernels of `symhess.lower` and the products of `symhess.hvp`.
"""

from __future__ import annotations


import numpy as np
import symengine as se

from . import special_nodes
from .codegen.spec import LoopSpec

from .derive import cse, derivative_entries
from .templates import Template, split, templates_of_rows, terms


def applicable(leaves, dtype) -> bool:
    """Whether a scalar output over ``leaves`` may be evaluated in element loops at all.

    Real dtypes only, unbatched, and no differentiated Python number: element loops derive
    their slots only, so a differentiated number read in them would lose its derivatives.
    """
    return np.dtype(dtype).kind == "f" and not any(
        l.batch_axis is not None or (l.weak and l.differentiated) for l in leaves)


# The most symbols an element sum's coefficient may read and still be shared by its instances.
MAX_SHARED = 8


def linear_sums(f, sums) -> dict:
    """``{placeholder: coefficient}`` when ``f`` is linear in each element sum (a coefficient
    free of element sums times each, plus terms without them), so that every sum can be an
    element loop; else ``{}``.

    A coefficient may read inputs: a runtime factor (``sigma * np.sum(...)``, the objective
    factor of a Lagrangian) or a variable (``x[0] * np.sum(...)``) becomes a slot every
    instance of the sum's template shares (`_sum_template`), so the sum is never written out.
    A coefficient reading more than `MAX_SHARED` symbols would put them all in every instance;
    its sums are written out instead.
    """
    coefficients = {}
    for s in sums:
        try:
            c = f.diff(s)
        except RuntimeError:        # a condition used as a number: written out, then derived
            return {}
        if c == 0 or len(c.free_symbols) > MAX_SHARED or any(t in sums for t in c.free_symbols):
            return {}
        coefficients[s] = c
    return coefficients


def keep_linear_sums(outputs, sums, templated) -> tuple[list, dict, dict]:
    """``(outputs, sums, coefficients)``: the element sums the outputs refer to stay sums when
    ``templated`` and the one output is linear in each (``coefficients``: `linear_sums`);
    otherwise every one is written out, and no sums remain."""
    sums = {s: sums[s] for e in outputs for s in e.free_symbols if s in sums}
    coefficients = linear_sums(outputs[0], sums) if templated and sums else {}
    if sums and not coefficients:
        return written_out(outputs, sums), {}, {}
    return list(outputs), sums, coefficients


def element_loops(f, sums, coefficients, leaves, diff_leaves, min_instances, first=False):
    """``(remainder, loops)`` of the scalar output ``f``: its element templates and those of its
    element sums (placeholders in ``f``, with their ``coefficients``). With ``first``, each
    loop derives its element's first derivatives too, and templates linear in the variables
    are kept (for a value or a gradient)."""
    rest = special_nodes.xreplace([f], {s: 0 for s in sums})[0] if sums else f
    return template_loops(rest, leaves, diff_leaves, min_instances,
                          [(sums[s], c) for s, c in coefficients.items()], first)


def written_out(flat_outputs, sums) -> list:
    """The outputs with each element sum's placeholder replaced by the sum written out."""
    if not sums:
        return list(flat_outputs)
    written = {s: es.materialize() for s, es in sums.items()}
    return special_nodes.xreplace(flat_outputs, written)


class TemplateLoop:
    """A template's derivation for one kernel: its Hessian entries (and, with ``first``, its
    first derivatives ``{(0, a): expression}`` by differentiated slot), variables and tables."""

    def __init__(self, template, leaves, offsets, first=False, second=True):
        self.template = template
        self.diff = diff = [j for j, inp in enumerate(template.slot_input) if leaves[inp].differentiated]
        self.first, self.entries = derivative_entries([template.expr],
                                                      [template.slots[j] for j in diff], second)
        if not first:
            self.first = None
        pairs = list(self.entries)
        self.var = var = np.stack([offsets[template.slot_input[j]] + template.index[:, j] for j in diff],
                       axis=1) if diff else np.zeros((template.instances, 0), dtype=np.int64)
        a = np.array([p[1] for p in pairs], dtype=np.int64)
        b = np.array([p[2] for p in pairs], dtype=np.int64)
        k, l = var[:, a], var[:, b]
        self.lo, self.hi = np.minimum(k, l), np.maximum(k, l)
        # Two slots may read one variable (a sum's shared slot x[0] and an element's own x[0]):
        # their entry (a < b) is then a diagonal entry that counts twice, as (a, b) and (b, a).
        self.twice = (k == l) & (a != b)
        self.index = np.ascontiguousarray(template.index)

    def positions(self, layout) -> np.ndarray:
        """The (instances, entries, 2) position table of this template in ``layout``."""
        first, mirror = layout.position_arrays(self.lo, self.hi)
        mirror = np.where(self.twice, first, mirror)
        return np.ascontiguousarray(np.stack([first, mirror], axis=-1), dtype=np.int64)

    def spec(self, leaves, positions) -> LoopSpec:
        """The loop of the template's Hessian entries, adding at ``positions`` (`positions`)."""
        t = self.template
        return loop_spec(list(zip(t.slots, t.slot_input)), list(self.entries.values()), leaves,
                         uniform(positions), LoopSpec.rows(self.index, positions))


def uniform(positions) -> bool:
    """Whether every element adds at the same positions (a sum of one output's entries)."""
    return bool(np.all(positions == positions[:1]))


def loop_spec(slots, values, leaves, uniform, rows=None) -> LoopSpec:
    """A `LoopSpec` computing ``values`` (after CSE) from ``slots`` and the scalar inputs;
    ``rows`` as `LoopSpec.rows` of its tables."""
    replacements, reduced = cse(values)
    shared = {}
    for leaf in leaves:
        if leaf.weak:
            shared[leaf.symbols()[()]] = (leaf.index, ())
    used = set()
    for expr in [e for _, e in replacements] + list(reduced):
        used |= expr.free_symbols
    return LoopSpec(slots=slots, reads={s: r for s, r in shared.items() if s in used},
                    assignments=list(replacements), outputs=list(reduced), uniform=uniform,
                    **(rows or {}))


def template_loops(f, leaves, diff_leaves, min_instances, element_sums=None, first=False):
    """``(remainder, loops)``: the element templates of the scalar output ``f`` (see
    `symhess.templates`) and of the element sums ``[(ElementSum, coefficient)]`` that have a
    nonzero Hessian (with ``first``: all of them), and what is left of ``f``."""
    where = _Where(leaves)
    parts = terms(f)
    if len(parts) >= 2:
        remainder, templates = split(parts, where, min_instances)
    else:                       # not a sum: all of f is the remainder
        remainder, templates = f, []
    for element_sum, coefficient in element_sums or ():
        templates.append(_sum_template(element_sum, coefficient, where))
    offsets = _variable_offsets(diff_leaves)
    loops = []
    for template in templates:
        loop = TemplateLoop(template, leaves, offsets, first)
        if loop.entries or first:
            loops.append(loop)
    return remainder, loops


def row_loops(outputs, leaves, diff_leaves, min_instances) -> tuple[list, list, list]:
    """``(outputs, loops, rows)`` for a vector output: outputs of one form (``c[i]`` of a
    vectorized constraint ``c(x)``) are instances of a template (`symhess.templates.rows`)
    whose value and first derivatives (``loops``) are evaluated for each output index in
    ``rows``; those outputs are zero in the returned ``outputs``, the rest as they were."""
    rest, groups = templates_of_rows(outputs, _Where(leaves), min_instances)
    offsets = _variable_offsets(diff_leaves)
    loops = [TemplateLoop(t, leaves, offsets, first=True, second=False) for t, _ in groups]
    keep = set(rest)
    outputs = [e if o in keep else se.Integer(0) for o, e in enumerate(outputs)]
    return outputs, loops, [rows for _, rows in groups]


def _variable_offsets(diff_leaves) -> dict:
    """``{kernel input: index of its first variable}`` over the differentiated inputs."""
    offsets, start = {}, 0
    for leaf in diff_leaves:
        offsets[leaf.index] = start
        start += leaf.size
    return offsets


class _Where(dict):
    """``{symbol: (kernel input, flat index)}`` of the array inputs, filled on first use (a
    lazy chain over a million entries may never need it)."""

    def __init__(self, leaves):
        super().__init__()
        self._leaves = leaves

    def _fill(self):
        if self._leaves is not None:
            for leaf in self._leaves:
                if not leaf.weak:
                    for k, sym in enumerate(leaf.symbols().ravel()):
                        self[sym] = (leaf.index, k)
            self._leaves = None

    def __contains__(self, key):
        self._fill()
        return super().__contains__(key)

    def __getitem__(self, key):
        self._fill()
        return super().__getitem__(key)


def _sum_template(element_sum, coefficient, where) -> Template:
    """The template of ``coefficient * element_sum``.

    Its slots are the element sum's own, plus one per array-input entry that every row shares
    (a 0-d array ``s`` in ``np.sum(s * (x[1:] - x[:-1]))``): such an entry is read like any
    slot, at the same flat index in every row, so the loop reads it from its input and, when
    that input is differentiated, derives it like the other slots.
    """
    slots = list(element_sum.slots.items())
    columns = [slot.flat for _, slot in slots]
    inputs = [slot.leaf for _, slot in slots]
    expr = coefficient * element_sum.expr
    outside = [s for s in expr.free_symbols if s not in element_sum.slots]
    shared = sorted((where[s], s) for s in outside if s in where) if outside else []
    rename = {}
    for (leaf, flat), s in shared:
        rename[s] = d = se.Symbol(f"#shared{len(slots)}")      # named as no slot is
        slots.append((d, None))
        columns.append(np.full(element_sum.rows, flat, dtype=np.int64))
        inputs.append(leaf)
    if rename:
        expr = special_nodes.xreplace([expr], rename)[0]
    return Template(expr, [d for d, _ in slots], tuple(inputs),
                    np.stack(columns, axis=1).astype(np.int64))
