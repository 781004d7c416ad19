"""`KernelSpec`: what a kernel computes, independent of the language it is printed in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def sanitize(text: str, limit: int = 60) -> str:
    """Text safe to put in a generated comment of any target: letters, digits and a few
    punctuation marks on one line: no quotes, no comment delimiters (``#``, ``*/``, ``//``)."""
    text = re.sub(r"[^A-Za-z0-9_.,:()\[\] +\-=<>]", "?", str(text))
    return text if len(text) <= limit else text[:limit - 3] + "..."


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

    def writes_every_position(self) -> bool:
        """Whether the outputs cover every position (else a body must zero ``out`` first)."""
        written = set()
        for _, positions in self.outputs:
            written.update(positions)
        return len(written) == self.out_size

    @property
    def statement_count(self) -> int:
        return len(self.assignments) + len(self.outputs)
