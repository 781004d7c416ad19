"""Lazy element arrays: vectorized code over many elements, traced once per element.

Vectorized energies gather rows of an input (``x[1:]``, ``x[:-1]``, ``X[i]`` with an index
array), compute element by element, and sum. Traced entry by entry, a gather of P rows makes P
expressions and every later operation P more, so tracing and everything after it grows with P.

While a Hessian is traced, a gather of at least `LAZY_MIN` rows from an input array returns a
`Lazy` array instead: one *form* (the expressions of a single row, in slot symbols) plus, per
slot, the flat indices it reads in each of the P rows. Element-wise operations between lazy
arrays of the same P, and with values shared by every row (numbers, constants, traced scalars),
act on the form alone. ``np.sum`` over the rows turns a form into an *element sum*: a
placeholder symbol standing for the sum over rows, recorded with its form and index table, that
the compiler turns into an element loop (`symhess.templates`). Anything else materializes the
lazy array into the ordinary traced array it stands for, so every program traces as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import symengine as se

from .foreign import register_traced
from .trace import Rules, Traced, current_context, object_array, register_array

# Gathers of fewer rows are traced entry by entry: below this, unrolling is cheap.
LAZY_MIN = 256


@dataclass
class Slot:
    """What a slot symbol reads: entry ``flat[p]`` of the flattened input ``leaf`` in row p."""

    leaf: int
    flat: np.ndarray
    symbols: np.ndarray      # the input's symbols, flattened


@dataclass
class ElementSum:
    """The placeholder of ``sum over p of expr(slots in row p)``."""

    expr: object
    slots: dict              # slot symbol -> Slot, the slots expr reads
    rows: int

    def materialize(self):
        """The sum written out, one term per row."""
        form = np.empty((), dtype=object)
        form[()] = self.expr
        return se.Add(*_rows(form, self.slots, self.rows))


def _rows(form, slots, rows) -> np.ndarray:
    """The (rows, *form.shape) object array of ``form`` evaluated in every row."""
    out = np.empty((rows,) + form.shape, dtype=object)
    columns = [(d, s.symbols[s.flat]) for d, s in slots.items()]
    entries = list(np.ndindex(*form.shape))
    for p in range(rows):
        rename = {d: column[p] for d, column in columns}
        for idx in entries:
            expr = form[idx]
            out[(p,) + idx] = expr.xreplace(rename) if isinstance(expr, se.Basic) else expr
    return out


def enabled() -> bool:
    return current_context().sums is not None


def gather(array: Traced, index):
    """A `Lazy` for ``array[index]`` when it selects many rows of an input; else None."""
    items = index if isinstance(index, tuple) else (index,)
    if not items or array.a.ndim == 0:
        return None
    first, rest = items[0], items[1:]
    if any(not isinstance(item, (slice, int, np.integer)) for item in rest):
        return None
    n_rows = array.a.shape[0]
    if isinstance(first, slice):
        rows = np.arange(n_rows)[first]
    elif isinstance(first, (list, np.ndarray)):
        rows = np.asarray(first)
        if rows.ndim != 1 or rows.dtype.kind not in "iu":
            return None
        rows = np.arange(n_rows)[rows]               # NumPy's bounds checks and negative indices
    else:
        return None
    if len(rows) < LAZY_MIN:
        return None
    inner = array.a.shape[1:]
    offsets = np.arange(int(np.prod(inner, dtype=np.int64)), dtype=np.int64).reshape(inner)[tuple(rest)]
    offsets = np.asarray(offsets)
    stride = int(np.prod(inner, dtype=np.int64))
    symbols = array.a.reshape(-1).copy()
    form = np.empty(offsets.shape, dtype=object)
    slots = {}
    for idx in np.ndindex(*offsets.shape):
        d = current_context().fresh_symbol("e")
        slots[d] = Slot(array.source, rows.astype(np.int64) * stride + int(offsets[idx]), symbols)
        form[idx] = d
    return Lazy(form, slots, len(rows))


@register_traced
class Lazy:
    """An array of shape ``(rows,) + form.shape`` whose row p is ``form`` with each slot symbol
    replaced by the input entry its `Slot` reads in row p."""

    __array_priority__ = 1001
    __hash__ = None

    def __init__(self, form: np.ndarray, slots: dict, rows: int):
        self.form, self.slots, self.rows = form, slots, rows

    shape = property(lambda self: (self.rows,) + self.form.shape)
    ndim = property(lambda self: 1 + self.form.ndim)
    size = property(lambda self: self.rows * self.form.size)
    dtype = property(lambda self: current_context().dtype)

    def __len__(self):
        return self.rows

    def materialize(self) -> Traced:
        """The ordinary traced array this stands for."""
        return Traced(_rows(self.form, self.slots, self.rows))

    def __getattr__(self, name):
        # Everything not handled lazily (reshape, T, methods, conversions) works on the
        # materialized array, so every program traces as it would without lazy gathers.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.materialize(), name)

    def __repr__(self):
        return f"Lazy(shape={self.shape})"

    # --- NumPy dispatch --------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "reduce" and ufunc is np.add and inputs[0] is self and len(inputs) == 1:
            return self._sum(**kwargs)
        # Element-wise ufuncs act on the forms; one with a core signature (matmul: v @ X[:])
        # contracts across rows, so it sees the materialized array.
        if method == "__call__" and not kwargs and ufunc.signature is None:
            combined = _combine(inputs)
            if combined is not None:
                forms, slots, rows = combined
                result = ufunc(*forms)
                return Lazy(object_array(result), slots, rows)
        return getattr(ufunc, method)(*_materialized(inputs), **_materialized(kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if func is np.sum and args and args[0] is self:
            return self._sum(*args[1:], **kwargs)
        if func is np.mean and args and args[0] is self:
            from .primitives import FUNCTIONS
            return FUNCTIONS[np.mean](func, *args, **kwargs)
        return func(*_materialized(args), **_materialized(kwargs))

    def _sum(self, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
        if out is not None or keepdims or initial is not None or where is not None:
            return np.sum(self.materialize(), axis=axis, out=out, keepdims=keepdims,
                          **({} if initial is None else {"initial": initial}),
                          **({} if where is None else {"where": where}))
        axes = range(self.ndim) if axis is None else np.atleast_1d(axis)
        axes = {int(a) % self.ndim for a in axes}
        inner = tuple(a - 1 for a in sorted(axes) if a > 0)
        form = object_array(np.sum(Traced(self.form), axis=inner)) if inner else self.form
        if 0 not in axes:
            return Lazy(form, self.slots, self.rows)
        sums = current_context().sums
        out = np.empty(form.shape, dtype=object)
        for idx in np.ndindex(*form.shape):
            expr = form[idx]
            used = expr.free_symbols if isinstance(expr, se.Basic) else set()
            placeholder = current_context().fresh_symbol("sum")
            sums[placeholder] = ElementSum(expr, {d: s for d, s in self.slots.items() if d in used},
                                           self.rows)
            out[idx] = placeholder
        return Traced(out)

    def __getitem__(self, index):
        items = index if isinstance(index, tuple) else (index,)
        first, rest = (items[0], items[1:]) if items else (slice(None), ())
        if isinstance(first, (slice, list, np.ndarray)) and \
                all(isinstance(i, (slice, int, np.integer)) for i in rest):
            rows = np.arange(self.rows)[first]
            if rows.ndim == 1 and len(rows):
                slots = {d: Slot(s.leaf, s.flat[rows], s.symbols) for d, s in self.slots.items()}
                return Lazy(np.asarray(self.form[tuple(rest)], dtype=object).reshape(
                    np.shape(self.form[tuple(rest)])), slots, len(rows))
        return self.materialize()[index]

    # --- operators as ufuncs ----------------------------------------------------------------
    def __add__(self, o): return np.add(self, o)
    def __radd__(self, o): return np.add(o, self)
    def __sub__(self, o): return np.subtract(self, o)
    def __rsub__(self, o): return np.subtract(o, self)
    def __mul__(self, o): return np.multiply(self, o)
    def __rmul__(self, o): return np.multiply(o, self)
    def __truediv__(self, o): return np.true_divide(self, o)
    def __rtruediv__(self, o): return np.true_divide(o, self)
    def __pow__(self, o): return np.power(self, o)
    def __rpow__(self, o): return np.power(o, self)
    def __matmul__(self, o): return np.matmul(self, o)
    def __rmatmul__(self, o): return np.matmul(o, self)
    def __lt__(self, o): return np.less(self, o)
    def __le__(self, o): return np.less_equal(self, o)
    def __gt__(self, o): return np.greater(self, o)
    def __ge__(self, o): return np.greater_equal(self, o)
    def __eq__(self, o): return np.equal(self, o)
    def __ne__(self, o): return np.not_equal(self, o)
    def __neg__(self): return np.negative(self)
    def __pos__(self): return np.positive(self)
    def __abs__(self): return np.absolute(self)

    def __iter__(self):
        return iter(self.materialize())

    def __bool__(self):
        return bool(self.materialize())

    def __float__(self):
        return float(self.materialize())

    def __array__(self, dtype=None, copy=None):
        return self.materialize().__array__(dtype, copy)

    def sum(self, *a, **k): return np.sum(self, *a, **k)
    def mean(self, *a, **k): return np.mean(self, *a, **k)


def _materialized(value):
    if isinstance(value, Lazy):
        return value.materialize()
    if isinstance(value, (list, tuple)):
        return type(value)(_materialized(v) for v in value)
    if isinstance(value, dict):
        return {k: _materialized(v) for k, v in value.items()}
    return value


def _combine(inputs):
    """``(forms, slots, rows)`` for an element-wise operation on these inputs, or None when it
    cannot stay lazy: lazy inputs of different row counts or form ranks, or another input with
    a row axis of its own."""
    rows = next(x.rows for x in inputs if isinstance(x, Lazy))
    inputs = [_rows_of_input(x, rows) for x in inputs]
    lazies = [x for x in inputs if isinstance(x, Lazy)]
    rank = lazies[0].form.ndim
    if any(l.rows != rows or l.form.ndim != rank for l in lazies):
        return None
    for x in inputs:
        if not isinstance(x, Lazy) and np.ndim(x) > rank:
            return None
    slots = dict(lazies[0].slots)
    forms = []
    for x in inputs:
        if not isinstance(x, Lazy):
            forms.append(x)
            continue
        rename = {}
        for d, s in x.slots.items():
            if d in slots:
                continue
            twin = next((e for e, t in slots.items() if t.leaf == s.leaf and _same(t.flat, s.flat)), None)
            if twin is None:
                slots[d] = s
            else:
                rename[d] = twin
        form = x.form
        if rename:
            form = np.empty(x.form.shape, dtype=object)
            for idx in np.ndindex(*x.form.shape):
                form[idx] = x.form[idx].xreplace(rename)
        forms.append(Traced(form))
    return forms, slots, rows


def _rows_of_input(x, rows):
    """An input array whose first axis has ``rows`` entries (multipliers ``lam`` in
    ``np.sum(lam * c(x))``) as the lazy gather of all its rows, so that the operation stays
    lazy; anything else as it is."""
    if isinstance(x, Traced) and x.source is not None and x.a.ndim >= 1 and x.a.shape[0] == rows:
        lazy = gather(x, (slice(None),))
        if lazy is not None:
            return lazy
    return x


def _same(a, b) -> bool:
    return a.shape == b.shape and a[0] == b[0] and a[-1] == b[-1] and np.array_equal(a, b)


Rules.gather = gather
register_array(Lazy, lambda x: x.materialize().a)
