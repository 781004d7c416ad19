"""Which values are traced: the tracers' array types, registered by the tracers themselves."""

from __future__ import annotations

import numpy as np

__all__ = ["register_traced", "is_traced", "holds_traced", "give_ufunc_methods", "HOLD", "hold"]

_TRACED: list = []


def register_traced(kind: type) -> type:
    """Mark ``kind`` as a traced value: an argument of this type sends an interposed call to
    its NumPy definition. Usable as a class decorator."""
    _TRACED.append(kind)
    return kind


def is_traced(x) -> bool:
    """Whether ``x`` is a traced value of any tracer."""
    return isinstance(x, tuple(_TRACED))


#: ``HOLD(v)``: ``v``, as one step of an algorithm (a ufunc of symhess's own). The scalar tier
#: names the value (`symhess.special_nodes.held`) where it prints an algorithm, so that SymEngine
#: neither merges it into the steps around it (a series' terms ``x / (a + k)``, multiplied
#: together, would become ``x^n / ((a + 1) ... (a + n))``, which overflows) nor nests the steps
#: of a long recurrence deeper than a compiler parses; every other tracer takes it as it is.
HOLD = np.frompyfunc(lambda v: v, 1, 1)


def hold(v):
    """``v``, held as one step (`HOLD`) where it is traced."""
    return HOLD(v) if is_traced(v) else v


def holds_traced(x, depth: int = -1) -> bool:
    """Whether ``x`` is a traced value or a list or tuple holding one (at most ``depth`` levels
    down; -1: any depth)."""
    if is_traced(x):
        return True
    if depth != 0 and isinstance(x, (list, tuple)):
        return any(holds_traced(y, depth - 1) for y in x)
    return False


def give_ufunc_methods(kind: type, ufuncs) -> None:
    """Give ``kind`` a method per ufunc (``x.exp()``) that `kind` has no attribute of that name
    for: NumPy's object loops call them on each element of an object array of traced values
    (what ``Traced.__array__`` and ``Jet.__array__`` build)."""
    for uf in ufuncs:
        if isinstance(uf, np.ufunc) and uf.__name__.isidentifier() \
                and not hasattr(kind, uf.__name__):
            setattr(kind, uf.__name__, _ufunc_method(uf))


def _ufunc_method(uf):
    if uf.nin == 1:
        return lambda self: uf(self)
    return lambda self, other: uf(self, other)
