"""Which values are traced: the tracers' array types, registered by the tracers themselves."""

from __future__ import annotations

__all__ = ["register_traced", "is_traced", "holds_traced"]

_TRACED: list = []


def register_traced(kind: type) -> type:
    """Mark ``kind`` as a traced value: an argument of this type sends an interposed call to
    its NumPy definition. Usable as a class decorator."""
    _TRACED.append(kind)
    return kind


def is_traced(x) -> bool:
    """Whether ``x`` is a traced value of any tracer."""
    return isinstance(x, tuple(_TRACED))


def holds_traced(x, depth: int = -1) -> bool:
    """Whether ``x`` is a traced value or a list or tuple holding one (at most ``depth`` levels
    down; -1: any depth)."""
    if is_traced(x):
        return True
    if depth != 0 and isinstance(x, (list, tuple)):
        return any(holds_traced(y, depth - 1) for y in x)
    return False
