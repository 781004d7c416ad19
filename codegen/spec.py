"""`KernelSpec`: what a kernel computes, independent of the language it is printed in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

import numpy as np


def sanitize(text: str, limit: int = 60) -> str:
    """Text safe to put in a generated comment of any target: letters, digits and a few
    punctuation marks on one line: no quotes, no comment delimiters (``#``, ``*/``, ``//``)."""
    text = re.sub(r"[^A-Za-z0-9_.,:()\[\] +\-=<>]", "?", str(text))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def plain_label(label: str) -> str:
    """An argument's label for generated error messages: ``p['w'][1]`` as ``p.w[1]``; a label
    with anything but identifiers, indices and dots in it (a dict key with spaces or quotes)
    gives ''."""
    text = re.sub(r"\['([A-Za-z_][A-Za-z0-9_]*)'\]", r".\1", str(label))
    return text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\[\]]*", text) else ""


def flat_index(shape: tuple, idx: tuple) -> int:
    """The position of element ``idx`` of a C-order array of ``shape`` in its flat buffer."""
    offset = 0
    for n, i in zip(shape, idx):
        offset = offset * n + i
    return offset


# Statements per function of a compiled body. LLVM's optimisation time grows faster than linearly
# with the size of one function, so large kernels are split into functions of this size, called
# in turn; values that cross from one to a later one go through a scratch buffer.
CHUNK = 500

UNROLLED_POSITIONS = 16     # an element with at most this many values computes its positions
TABLE_ENTRIES = 1 << 17     # ... and so does a loop whose position table would hold this many


def arithmetic(column) -> tuple | None:
    """``(start, step)`` when ``column[p] == start + step * p`` for every row ``p``, else None."""
    column = np.asarray(column)
    if column.size == 0:
        return None
    start = int(column[0])
    step = int(column[1] - column[0]) if column.size > 1 else 0
    return (start, step) if np.array_equal(column, start + step * np.arange(column.size)) else None


def _gaps(position_rows, elements: int = 0):
    """The distances ``|p - q|`` of elements ``p != q`` that may add into one position, for
    positions ``start + step * p`` of every element ``p``; None when some position is every
    element's, or when positions of different steps (a gradient's and a Hessian's) do not lie
    in ranges apart over the ``elements`` (0: unknown, then they may not differ). Two elements
    share one of the positions of one step only if their difference is ``(a - b) / step`` for
    the starts ``a, b`` of two of them."""
    rows = [r for pair in position_rows for r in pair if r is not None]
    steps = {step for _, step in rows}
    if not steps or 0 in steps:
        return None                 # some position is every element's
    if len(steps) > 1:
        if elements < 1:
            return None
        spans = [(min(s, s + t * (elements - 1)), max(s, s + t * (elements - 1)), t)
                 for s, t in rows]
        if any(t != u and low <= high2 and low2 <= high
               for low, high, t in spans for low2, high2, u in spans):
            return None             # the steps differ where the positions' ranges meet
    gaps = set()
    for step in steps:
        starts = {start for start, t in rows if t == step}
        gaps |= {abs(a - b) // abs(step) for a in starts for b in starts
                 if a != b and (a - b) % step == 0}
    return gaps


def colours(position_rows, most: int = 16, elements: int = 0) -> int:
    """The least ``C`` (at most ``most``) such that elements ``p != q`` with ``p = q (mod C)``
    never share a position, for positions ``start + step * p`` of every element ``p``; 0 when
    there is none: ``C`` must divide none of the distances of `_gaps`."""
    gaps = _gaps(position_rows, elements)
    if gaps is None:
        return 0
    for c in range(1, most + 1):
        if all(g % c for g in gaps):
            return c
    return 0


def reach(position_rows, elements: int = 0) -> int:
    """The largest distance between two elements that may add into one position, for
    positions as in `colours` (0: no two elements do); -1 when some position is every
    element's or the distances are not known. Elements further apart never meet, so runs of
    consecutive elements at least this long that are not neighbours may run at once."""
    gaps = _gaps(position_rows, elements)
    return -1 if gaps is None else max(gaps, default=0)


def table_colours(positions, most: int = 16, limit: int = 10_000_000) -> int:
    """`colours` for a position table of shape (elements, outputs, 2) (-1: no position); 0 also
    when the table has more than ``limit`` entries. ``C`` works when no position has two
    elements of one class modulo ``C``."""
    flat = np.asarray(positions).reshape(positions.shape[0], -1)
    if flat.size > limit:
        return 0
    flat = np.sort(flat, axis=1)
    keep = flat >= 0
    keep[:, 1:] &= flat[:, 1:] != flat[:, :-1]          # an element's position counts once
    k = flat[keep]
    p = np.broadcast_to(np.arange(flat.shape[0])[:, None], flat.shape)[keep]
    if k.size == 0:
        return 1
    if (int(k.max()) + 1) * most > 8 * k.size:          # sparse positions: number them densely
        k = np.unique(k, return_inverse=True)[1].reshape(-1)
    shared = int(np.bincount(k).max())                   # elements on the busiest position
    for c in range(max(1, shared), most + 1):
        if np.bincount(k * c + p % c).max() <= 1:
            return c
    return 0


def _row_text(start: int, step: int, row: str) -> str:
    """``start + step * row`` as short code."""
    scaled = "" if step == 0 else row if step == 1 else f"{step} * {row}"
    if not scaled:
        return str(start)
    return scaled if start == 0 else f"{scaled} + {start}" if start > 0 else f"{scaled} - {-start}"


@dataclass(frozen=True)
class KernelInput:
    """One input of a kernel: an array of ``shape`` and ``dtype``, or a scalar number."""

    shape: tuple
    dtype: str = "float64"
    scalar: bool = False        # passed as a number (a Python float or int), not an array
    batched: bool = False       # has a leading batch axis; the kernel runs once per point
    label: str = ""             # the argument it comes from, for error messages (sanitized)


@dataclass
class LoopSpec:
    """An element loop: one small Hessian evaluated per row of an index table and scatter-added.

    The loop's function takes the kernel's inputs (flat), an index table ``idx`` of shape
    (elements, slots), a position table ``pos`` of shape (elements, outputs, 2) and ``out``. For
    element ``p``, slot ``j`` reads ``inputs[slots[j]][idx[p, j]]``; output ``e`` is added at
    ``out[pos[p, e, 0]]`` and, where ``pos[p, e, 1] >= 0``, at ``out[pos[p, e, 1]]`` too.

    Attributes:
        slots: ``[(symbol, input position)]``: the per-element reads, in index-table column order.
        reads: ``{symbol: (input position, index tuple)}``: values shared by every element.
        assignments: ``[(symbol, expression)]`` in dependency order.
        outputs: ``[expression]``: the element's values, in position-table order.
        uniform: every element adds into the same positions (a sum over data rows with shared
            parameters): the loop sums the values and adds them once, at ``pos[0]``.
        slot_rows: ``[(start, step)]`` per slot when every column of the index table is
            ``start + step * p`` (``x[1:]``, ``x[:-1]``): the loop computes the index instead of
            reading the table. None: it reads the table.
        position_rows: ``[(first, mirror)]`` per output, the same for the position table, with
            ``mirror`` None where no element has a mirror position. None: it reads the table.
        elements: the number of elements (rows of the tables); 0 when not known.
        colours: ``C >= 1`` when elements ``p`` and ``p + k * C`` never add into the same
            position (``C == 1``: no two elements do), so that each class of elements modulo
            ``C`` may run in parallel; 0 when no such ``C`` is known.
        summed: in a loop that is not uniform, the outputs every element adds at the same
            positions: a value's terms beside their derivatives (``value_grad_hessian`` of an
            element sum). A target may keep their sums in registers and add them once (else
            each element waits for the previous one's addition into the same entry).
        scatter_colours: `colours` of the outputs but the `summed` ones: the classes whose
            elements may run at once when each range of them sums the `summed` outputs apart.
        reach: `reach` of the outputs but the `summed` ones, where the positions are computed:
            runs of consecutive elements at least this long that are not neighbours add into
            disjoint positions (runs two apart may run at once); -1 when it is not known.
    """

    slots: list
    reads: dict
    assignments: list
    outputs: list
    uniform: bool = False
    slot_rows: list = None
    position_rows: list = None
    elements: int = 0
    colours: int = 0
    summed: tuple = ()
    scatter_colours: int = 0
    reach: int = -1

    @property
    def statements(self) -> int:
        """Statements one element runs: its assignments and its values (the loop's work per
        element, which decides whether it runs on threads and in what chunks)."""
        return len(self.assignments) + len(self.outputs)

    def slot_index(self, j: int, row: str = "p") -> str:
        """Code for the input position of slot ``j`` of element ``row``."""
        if self.slot_rows:
            return _row_text(*self.slot_rows[j], row)
        return f"idx[{row}, {j}]"

    def position(self, e: int, which: int, row: str = "p"):
        """Code for the output position of value ``e`` (``which``: 0 first, 1 mirror) of element
        ``row``; None when there is no mirror. A mirror read from the table may be -1."""
        if self.position_rows:
            place = self.position_rows[e][which]
            return None if place is None else _row_text(*place, row)
        return f"pos[{row}, {e}, {which}]"

    @staticmethod
    def rows(index, positions) -> dict:
        """``slot_rows``, ``position_rows``, ``elements``, ``colours``, ``summed``,
        ``scatter_colours`` and ``reach`` for an index table and a position table. Affine
        positions become ``position_rows`` only where printing them pays (`UNROLLED_POSITIONS`,
        `TABLE_ENTRIES`); the colours are found either way."""
        slot_rows = [arithmetic(index[:, j]) for j in range(index.shape[1])]
        position_rows = []
        for e in range(positions.shape[1]):
            first, mirror = positions[:, e, 0], positions[:, e, 1]
            position_rows.append((arithmetic(first),
                                  None if np.all(mirror < 0) else arithmetic(mirror) or False))
        affine_positions = all(f is not None and m is not False for f, m in position_rows)
        elements, values = positions.shape[:2]

        def colours_of(kept):
            if affine_positions:
                return colours([position_rows[e] for e in kept], elements=elements)
            return table_colours(positions[:, kept])
        colours_ = colours_of(list(range(values)))
        # Computed positions are printed as one statement per value, which Numba compiles at
        # some milliseconds each (a 12-slot element has 78 values): worth it for a few values,
        # or when the table they replace would be large enough to cost memory and bandwidth.
        printed = values <= UNROLLED_POSITIONS or elements * values >= TABLE_ENTRIES
        # Summed apart where the positions are printed (a table's loop over its row would test
        # each value for it: slower than the sum through memory it saves).
        same = np.all(positions == positions[:1], axis=(0, 2)) if elements else np.ones(values, bool)
        summed = tuple(int(e) for e in np.flatnonzero(same)) \
            if affine_positions and printed and not same.all() else ()
        scattered = [e for e in range(values) if e not in summed]
        scatter = colours_of(scattered) if summed else colours_
        computed = affine_positions and printed
        return dict(slot_rows=slot_rows if None not in slot_rows else None,
                    position_rows=position_rows if computed else None,
                    elements=int(index.shape[0]), colours=colours_, summed=summed,
                    scatter_colours=scatter,
                    reach=reach([position_rows[e] for e in scattered], elements)
                    if computed else -1)

    def shared_inputs(self) -> list:
        """The kernel inputs the shared reads come from, in order."""
        return sorted({pos for pos, _ in self.reads.values()})

    def element_spec(self, kernel: "KernelSpec") -> "KernelSpec":
        """One element as a straight-line kernel: its input 0 holds the slot values, then come
        the `shared_inputs`; output ``e`` is the element's value ``e``."""
        shared = self.shared_inputs()
        reads = {sym: (0, (j,)) for j, (sym, _) in enumerate(self.slots)}
        reads.update({sym: (1 + shared.index(pos), idx) for sym, (pos, idx) in self.reads.items()})
        return KernelSpec(
            inputs=[KernelInput((len(self.slots),))] + [kernel.inputs[pos] for pos in shared],
            reads=reads, assignments=self.assignments,
            outputs=[(expr, (e,)) for e, expr in enumerate(self.outputs)],
            out_size=len(self.outputs), out_shape=(len(self.outputs),), dtype=kernel.dtype,
            title=kernel.title)


@dataclass
class KernelSpec:
    """A straight-line kernel: read inputs, evaluate assignments, write output slots.

    Attributes:
        inputs: the kernel's arguments, in order.
        reads: ``{symbol: (input position, index tuple)}``: where each free symbol comes from.
        assignments: ``[(symbol, expression)]`` in dependency order (the CSE replacements).
        outputs: ``[(expression, (flat positions...))]``: each value is stored at every
            position listed (a Hessian entry and its mirror image).
        out_size: length of the flat output buffer; positions not written are zero.
        out_shape: the shape the buffer is returned in (per point, for batched kernels).
        dtype: NumPy name of the output dtype ("float64", "float32", "complex128", ...).
        title: a description for the generated file's header (sanitized when printed).
        loops: `LoopSpec` element loops that add into ``out`` after the straight-line part;
            the kernel then takes an index table and a position table per loop after its inputs.
        out_blocks: the sizes of the output's blocks, in order, for targets that store each
            block of every point contiguously (`codegen.numba_cuda`); empty: one block.
        parts: ``[(offset, shape)]``: a target that can (`codegen.native`'s unbatched
            entries) returns the tuple of these parts of the output, a shape ``()`` one as a
            NumPy scalar and the others as arrays viewing it, and says so in its module
            (``RETURNS_PARTS``); None, or another target: the flat output.
    """

    inputs: list
    reads: dict
    assignments: list
    outputs: list
    out_size: int
    out_shape: tuple
    dtype: str = "float64"
    title: str = "Hessian kernel"
    notes: list = field(default_factory=list)
    loops: list = field(default_factory=list)
    out_blocks: list = field(default_factory=list)
    parts: Optional[list] = None

    def writes_every_position(self) -> bool:
        """Whether the outputs cover every position (else a body must zero ``out`` first)."""
        written = set()
        for _, positions in self.outputs:
            written.update(positions)
        return len(written) == self.out_size

    @property
    def statement_count(self) -> int:
        """Statements of the straight-line part (element loops are printed apart)."""
        return len(self.assignments) + len(self.outputs)

    def statements(self) -> list:
        """The straight-line part in order: ``("let", symbol, expression)`` per assignment,
        then ``("out", positions, expression)`` per output."""
        return ([("let", sym, expr) for sym, expr in self.assignments]
                + [("out", positions, expr) for expr, positions in self.outputs])


def spills(statements: list, chunk: int = CHUNK) -> dict:
    """``{symbol: scratch slot}`` of the temporaries of `KernelSpec.statements` that are used in
    a later function than their own when the statements are split into functions of ``chunk``."""
    if len(statements) <= chunk:
        return {}
    home, slots = {}, {}
    for n, (kind, target, expr) in enumerate(statements):
        part = n // chunk
        for sym in expr.free_symbols:
            if sym in home and home[sym] < part and sym not in slots:
                slots[sym] = len(slots)
        if kind == "let":
            home[target] = part
    return slots


def scratch_size(spec: KernelSpec, chunk: int = CHUNK) -> int:
    """Doubles of scratch memory a body split into functions of ``chunk`` statements needs (0
    when it is one function)."""
    return len(spills(spec.statements(), chunk))
