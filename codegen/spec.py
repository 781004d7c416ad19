"""`KernelSpec`: what a kernel computes, independent of the language it is printed in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


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
    """

    slots: list
    reads: dict
    assignments: list
    outputs: list
    uniform: bool = False

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
