"""Pytrees: nested dict, list, tuple, namedtuple and None, with array or scalar leaves.

The rules are JAX's: dict children are ordered by sorted key, None is a node with no children,
and everything else is a leaf. A `TreeDef` is hashable, so it can be part of a cache key.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from .errors import ArgumentValueError, InputTypeError


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


class TreeDef(NamedTuple):
    """The structure of a pytree: a node kind, its static data and its children's structures."""

    kind: str                 # "leaf", "none", "tuple", "list", "dict" or "namedtuple"
    data: Any                 # dict keys, the namedtuple class, or None
    children: tuple

    @property
    def num_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)

    def unflatten(self, leaves):
        """Rebuild a tree of this structure from a flat sequence of leaves."""
        it = iter(leaves)
        tree = self._build(it)
        if next(it, _SENTINEL) is not _SENTINEL:
            raise ArgumentValueError(f"too many leaves for a tree with {self.num_leaves} leaves")
        return tree

    def _build(self, it):
        if self.kind == "leaf":
            return next(it)
        if self.kind == "none":
            return None
        kids = [c._build(it) for c in self.children]
        if self.kind == "tuple":
            return tuple(kids)
        if self.kind == "list":
            return kids
        if self.kind == "dict":
            return dict(zip(self.data, kids))
        return self.data(*kids)

    def paths(self, prefix: str = "") -> list[str]:
        """A readable access path per leaf, e.g. ``['w'][2]`` or ``.bias``.

        Paths are distinct per leaf position: dict keys that print alike (distinct NaN keys,
        objects with one repr) get their position among the keys, e.g. ``[nan #0]``.
        """
        if self.kind == "leaf":
            return [prefix]
        out = []
        if self.kind == "dict":
            names = [repr(key) for key in self.data]
            repeated = {n for n, count in Counter(names).items() if count > 1}
            for i, (name, child) in enumerate(zip(names, self.children)):
                if name in repeated:          # distinct keys that print alike (two NaNs)
                    name = f"{name} #{i}"
                out += child.paths(f"{prefix}[{name}]")
        elif self.kind == "namedtuple":
            for field, child in zip(self.data._fields, self.children):
                out += child.paths(f"{prefix}.{field}")
        else:
            for i, child in enumerate(self.children):
                out += child.paths(f"{prefix}[{i}]")
        return out


_SENTINEL = object()
LEAF = TreeDef("leaf", None, ())


def flatten(tree, is_leaf=None) -> tuple[list, TreeDef]:
    """Split a pytree into its leaves (in JAX's order) and its structure."""
    leaves: list = []
    return leaves, _flatten(tree, leaves, is_leaf)


def _flatten(x, leaves, is_leaf) -> TreeDef:
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return LEAF
    if x is None:
        return TreeDef("none", None, ())
    if isinstance(x, dict):
        try:
            keys = tuple(sorted(x))
        except TypeError:
            raise InputTypeError(
                f"dict keys of a pytree must be sortable; got keys {list(x)!r}") from None
        return TreeDef("dict", keys, tuple(_flatten(x[k], leaves, is_leaf) for k in keys))
    if _is_namedtuple(x):
        return TreeDef("namedtuple", type(x), tuple(_flatten(c, leaves, is_leaf) for c in x))
    if isinstance(x, tuple):
        return TreeDef("tuple", None, tuple(_flatten(c, leaves, is_leaf) for c in x))
    if isinstance(x, list):
        return TreeDef("list", None, tuple(_flatten(c, leaves, is_leaf) for c in x))
    leaves.append(x)
    return LEAF


def tree_map(fn, tree, is_leaf=None):
    """Apply ``fn`` to every leaf and keep the structure."""
    leaves, treedef = flatten(tree, is_leaf)
    return treedef.unflatten([fn(leaf) for leaf in leaves])
