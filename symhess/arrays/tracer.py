"""Symbolic arrays that record NumPy calls as an array graph.

A `SymArray` wraps one `symhess.arrays.graph.Node`. Like `symhess.trace.Traced` it implements
NumPy's dispatch protocols, but each call adds one node for the whole array, so tracing costs
O(number of NumPy calls), not O(number of elements), and runtime data stays one node. The
NumPy functions it knows are the table in `symhess.arrays.numpy_rules`; anything else raises
`Unsupported`, and the caller falls back to the scalar tier.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import errors, foreign
from ..array_methods import ArrayMethods
from .graph import Builder, Node, Unsupported


class Rules:
    """What a `SymArray` dispatches to; `symhess.arrays.numpy_rules` registers it (the tracer
    knows no rule, as in the scalar tier's `symhess.trace.Rules`)."""

    ufunc = None          # (ufunc, method, inputs, kwargs) -> result
    function = None       # (func, args, kwargs) -> result
    getitem = None        # (array, key) -> result
    own: frozenset = frozenset()      # ufuncs whose rule goes before their definition in NumPy


@foreign.register_traced
class SymArray(ArrayMethods):
    """An array value of a traced function: a node of the array graph."""

    __array_priority__ = 1000

    def __init__(self, node: Node):
        self.node = node

    shape = property(lambda self: self.node.shape)
    ndim = property(lambda self: self.node.ndim)
    size = property(lambda self: self.node.size)
    dtype = property(lambda self: np.dtype({"f": np.float64, "i": np.int64, "b": bool}[self.node.dtype]))

    def __len__(self):
        if not self.shape:
            raise errors.OperandTypeError("len() of a 0-d traced array")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        return f"SymArray({self.node!r})"

    def __bool__(self):
        raise Unsupported("a Python `if` (or and/or/not) on a traced value, whose truth is not "
                          "known while tracing: use np.where(condition, a, b) instead")

    def __float__(self):
        raise Unsupported("a conversion of a traced value to a Python number (float(), int(), "
                          "an index), whose value is not known while tracing")

    __int__ = __index__ = __float__

    # --- NumPy's protocols ------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        definition = None if ufunc in Rules.own else foreign.ufunc_definition(ufunc, method, kwargs)
        if definition is not None:
            return definition(*inputs)             # scipy.special's and NumPy 2's, in NumPy
        return Rules.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        definition = foreign.function_definition(func)
        if definition is not None:
            return definition(*args, **kwargs)     # NumPy 2's names, in NumPy
        return Rules.function(func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        foreign.refuse_scipy_conversion()
        raise Unsupported("a traced array was converted to a NumPy array")

    # --- operators ---------------------------------------------------------------------------
    def _ufunc(name):
        def method(self, *others):
            return getattr(np, name)(self, *others)
        return method

    def _reflected(name):
        def method(self, other):
            return getattr(np, name)(other, self)
        return method

    __add__, __radd__ = _ufunc("add"), _reflected("add")
    __sub__, __rsub__ = _ufunc("subtract"), _reflected("subtract")
    __mul__, __rmul__ = _ufunc("multiply"), _reflected("multiply")
    __truediv__, __rtruediv__ = _ufunc("true_divide"), _reflected("true_divide")
    __pow__, __rpow__ = _ufunc("power"), _reflected("power")
    __matmul__, __rmatmul__ = _ufunc("matmul"), _reflected("matmul")
    __gt__, __ge__, __lt__, __le__ = (_ufunc("greater"), _ufunc("greater_equal"),
                                      _ufunc("less"), _ufunc("less_equal"))
    __eq__, __ne__ = _ufunc("equal"), _ufunc("not_equal")
    __and__, __or__ = _ufunc("logical_and"), _ufunc("logical_or")
    __neg__, __abs__ = _ufunc("negative"), _ufunc("absolute")
    __pos__ = lambda self: self                                              # noqa: E731
    __invert__ = _ufunc("logical_not")
    __hash__ = object.__hash__

    __floordiv__, __rfloordiv__ = _ufunc("floor_divide"), _reflected("floor_divide")
    __mod__, __rmod__ = _ufunc("remainder"), _reflected("remainder")
    __divmod__, __rdivmod__ = _ufunc("divmod"), _reflected("divmod")

    # --- indexing and methods ----------------------------------------------------------------
    def __getitem__(self, key):
        return Rules.getitem(self, key)

    def __setitem__(self, key, value):
        raise Unsupported("item assignment")

    # --- the other methods NumPy users call on arrays: `symhess.array_methods` ----------------
    def astype(self, dtype, **kw):
        if np.dtype(dtype).kind != "f":
            raise Unsupported(f"astype({dtype})")
        return self if self.node.dtype == "f" else self * 1.0

    def copy(self):
        return self


def lift(b: Builder, x):
    """A node for ``x``: a traced array's node, or a constant for a number or NumPy array."""
    if isinstance(x, SymArray):
        return x.node
    if isinstance(x, Node):
        return x
    if isinstance(x, (numbers.Number, np.ndarray, np.generic, list, tuple)):
        arr = np.asarray(x)
        if arr.dtype.kind == "c":
            raise Unsupported("complex constants")
        if arr.dtype.kind not in "biuf":
            raise Unsupported(f"a value of type {type(x).__name__}")
        return b.const(arr)
    raise Unsupported(f"a value of type {type(x).__name__}")
