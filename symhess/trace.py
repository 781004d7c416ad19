"""The tracer: symbolic arrays that run ordinary NumPy code.

A `Traced` holds an object array of SymEngine expressions. It implements NumPy's dispatch
protocols (``__array_ufunc__`` and ``__array_function__``) and hands every call to the primitive
table in `symhess.primitives`; it knows nothing about derivatives. `trace` runs a function once
on such arrays and returns its outputs as object arrays of expressions.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import numbers
from dataclasses import dataclass, field

import numpy as np
import symengine as se
from symengine.lib.symengine_wrapper import BooleanAtom

from . import errors, foreign
from .array_methods import ArrayMethods

_MAX_SHOWN = 80


def describe(expr) -> str:
    """A short readable form of an expression for error messages."""
    text = str(expr)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN - 3] + "..."


def constant(value):
    """A NumPy or Python number as a SymEngine number (integral floats become integers)."""
    if isinstance(value, se.Basic):
        return value
    if isinstance(value, (Traced, np.ndarray)) and np.ndim(value) == 0:
        return constant(value.a[()] if isinstance(value, Traced) else value[()])  # an element
        # of `Traced.__array__`, or of a list of traced values that NumPy nested
    if isinstance(value, (bool, np.bool_)):
        return se.true if value else se.false
    if isinstance(value, numbers.Integral):
        return se.Integer(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if value != value:
            # SymEngine's own NaN: a RealDouble NaN is unequal to itself, and expressions
            # holding one break SymEngine's maps of terms (wrong derivatives)
            return se.nan
        if value.is_integer() and abs(value) < 2.0 ** 53:
            return se.Integer(int(value))
        return se.RealDouble(value)
    if isinstance(value, numbers.Complex):
        value = complex(value)
        return constant(value.real) + constant(value.imag) * se.I
    raise errors.OperandTypeError(
        f"cannot use {value!r} of type {type(value).__name__} in a traced "
        "computation; only numbers and arrays of numbers are supported")


_to_constants = np.frompyfunc(constant, 1, 1)


class Rules:
    """What the tracer dispatches to, registered by the modules that define it.

    The tracer knows no rule (autograd's pattern): `symhess.primitives` registers the ufunc and
    array-function rules, `symhess.lazy` the gather of many rows and its array type; the
    tracing entry (`symhess.signature`) imports both, so a trace always finds them.
    """

    ufunc = None          # (ufunc, method, inputs, kwargs) -> traced result
    own: frozenset = frozenset()      # ufuncs whose rule goes before their definition
    function = None       # (func, args, kwargs) -> traced result
    gather = None         # (traced input, index) -> a lazy array, or None to index it plainly
    arrays: dict = {}     # other array types that stand for traced values -> their object array


def register_array(kind: type, to_objects) -> None:
    """Register ``kind`` as an array type of traced values; ``to_objects(x)`` materializes one.

    Traced values defer NumPy's dispatch to such arrays, whose own rules go first.
    """
    Rules.arrays[kind] = to_objects


def is_traced(x) -> bool:
    """Whether ``x`` is a traced value (a `Traced`, or a registered array type)."""
    return isinstance(x, Traced) or type(x) in Rules.arrays


def object_array(x) -> np.ndarray:
    """Any traced value, array, or number as an object array of SymEngine expressions."""
    if isinstance(x, Traced):
        return x.a
    if type(x) in Rules.arrays:                    # e.g. a lazy element array (symhess.lazy)
        return Rules.arrays[type(x)](x)
    if isinstance(x, se.Basic):
        out = np.empty((), dtype=object)
        out[()] = x
        return out
    arr = np.asarray(x)
    if arr.dtype == object:
        with np.errstate(invalid="ignore"):
            return np.asarray(_to_constants(arr), dtype=object).reshape(arr.shape)
    if arr.dtype.kind not in "biufc":
        raise errors.OperandTypeError(
            f"cannot use an array of dtype {arr.dtype} in a traced computation")
    out = np.empty(arr.shape, dtype=object)
    with np.errstate(invalid="ignore"):         # (making SymEngine's NaN raises the flag)
        out[...] = _to_constants(arr)
    return out


@dataclass
class TraceContext:
    """What a running trace knows: the floating dtype of traced values and holomorphy."""

    dtype: np.dtype
    holomorphic: bool
    sums: dict = None        # element sums of lazy gathers (symhess.lazy); None: no lazy gathers
    made: itertools.count = field(default_factory=itertools.count)   # symbols made so far

    def fresh_symbol(self, kind: str) -> se.Symbol:
        """A new symbol for the trace's own use (a slot, a placeholder), never an input's.

        Its name is ``#<kind><n>``, n counting within this trace: input symbols are named after
        Python identifiers, so they cannot collide, and a trace repeated in another process, or
        after other traces, makes the same symbols, hence the same generated code (a Dummy's
        hash, and so the order of a sum's terms, would depend on the process's history).
        """
        return se.Symbol(f"#{kind}{next(self.made)}")


# The running trace's context. A context variable, not a module global: each thread (and each
# asyncio task) traces in a context of its own, so concurrent traces never read each other's
# dtype, holomorphy or lazy element sums.
_CONTEXT: contextvars.ContextVar = contextvars.ContextVar("symhess_trace_context", default=None)
_NO_TRACE = TraceContext(np.dtype(np.float64), False)


def current_context() -> TraceContext:
    """The context of the trace running in this thread (float64, not holomorphic, if none)."""
    context = _CONTEXT.get()
    return _NO_TRACE if context is None else context


@contextlib.contextmanager
def trace_context(dtype, holomorphic: bool, sums=None):
    """Run the body under a new trace context, visible to this thread only."""
    token = _CONTEXT.set(TraceContext(np.dtype(dtype), holomorphic, sums))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def wrap(result):
    """Turn the result of a NumPy call on object arrays back into traced values."""
    if isinstance(result, np.ndarray):
        if result.dtype != object:
            return result
        return Traced(object_array(result))
    if isinstance(result, se.Basic):
        return Traced(object_array(result))
    if isinstance(result, (list, tuple)) and any(isinstance(r, np.ndarray) for r in result):
        return type(result)(wrap(r) for r in result)
    return result


def _ufunc_method(ufunc):
    return lambda self, *others: ufunc(self, *others)


def _reflected(ufunc):
    return lambda self, other: ufunc(other, self)


@foreign.register_traced
class Traced(ArrayMethods):
    """A symbolic NumPy array: an object array of SymEngine expressions.

    Arithmetic, ufuncs and the supported NumPy functions return new `Traced` values. Converting
    one to a Python bool, float or concrete array raises an error that says what to use instead.
    """

    __slots__ = ("a", "source")
    __array_priority__ = 1000
    __hash__ = None
    #: each entry is an expression of its own, written out (NumPy definitions whose
    #: expressions would grow too deep here refuse such values: `symhess.foreign`)
    unrolled = True

    def __init__(self, a: np.ndarray, source=None):
        self.a = a
        self.source = source        # for a function's input: its leaf index, else None

    # --- NumPy dispatch: everything goes through the primitive table ---------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any(type(x) in Rules.arrays for x in inputs):
            return NotImplemented                  # a registered array type's rules go first
        definition = None if ufunc in Rules.own else foreign.ufunc_definition(ufunc, method, kwargs)
        if definition is not None:
            return definition(*inputs)             # scipy.special's and NumPy 2's, in NumPy
        return Rules.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if any(t in Rules.arrays for t in types):
            return NotImplemented
        definition = foreign.function_definition(func)
        if definition is not None:
            return definition(*args, **kwargs)     # NumPy 2's names, in NumPy
        return Rules.function(func, args, kwargs)

    # --- array attributes -------------------------------------------------------------------
    shape = property(lambda self: self.a.shape)
    ndim = property(lambda self: self.a.ndim)
    size = property(lambda self: self.a.size)
    dtype = property(lambda self: current_context().dtype)

    def __len__(self):
        if self.a.ndim == 0:
            raise errors.OperandTypeError("len() of a 0-d traced array")
        return self.a.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index):
        items = index if isinstance(index, tuple) else (index,)
        if any(isinstance(item, Traced) for item in items):
            return self._select(list(items))
        if self.source is not None and current_context().sums is not None \
                and Rules.gather is not None:
            gathered = Rules.gather(self, index)
            if gathered is not None:
                return gathered
        return Traced(object_array(self.a[index]))

    def _select(self, items):
        """``self[items]`` where one item is a traced index (``np.argmax``'s, a piecewise
        constant of integers): a selection among the entries it can name."""
        traced = [(i, x) for i, x in enumerate(items) if isinstance(x, Traced)]
        p, at = traced[0]
        others = [x for i, x in enumerate(items) if i != p]
        if (len(traced) > 1 or at.a.ndim != 0 or p >= self.ndim
                or not _integer_valued(at.a[()])
                or any(x is None or x is Ellipsis or np.asarray(x).dtype == bool
                       for x in others)):
            raise errors.TracerIndexError(describe(at.a.tolist()))
        out = None
        for k in reversed(range(self.shape[p])):
            items[p] = k
            out = self[tuple(items)] if out is None else np.where(at == k, self[tuple(items)], out)
        return out

    def __setitem__(self, index, value):
        _check_index(index)
        self.source = None          # no longer the input as passed: gathers read it entry by entry
        value = object_array(value)
        # An object array stores a 0-d array given for one element as the element itself.
        self.a[index] = value[()] if value.ndim == 0 else value

    def __repr__(self):
        return f"Traced(shape={self.shape}, {describe(self.a.tolist())})"

    # --- conversions that cannot work while tracing ------------------------------------------
    def _concrete(self, what):
        if self.a.size == 1:
            value = self.a.reshape(-1)[0]
            if isinstance(value, BooleanAtom):
                return value == se.true
            if not value.free_symbols:
                try:
                    return complex(value) if what == "complex()" else float(value)
                except (TypeError, RuntimeError, ValueError):
                    pass
            raise errors.TracerConversionError(describe(value), what)
        raise errors.TracerConversionError(f"of shape {self.shape}", what)

    def __bool__(self):
        if self.a.size == 1:
            value = self.a.reshape(-1)[0]
            if isinstance(value, BooleanAtom):
                return value == se.true
            if isinstance(value, se.Number):
                return value != 0
            raise errors.TracerBoolConversionError(describe(value))
        raise errors.TracerBoolConversionError(f"of shape {self.shape}")

    def __float__(self):
        return float(self._concrete("float()"))

    def __complex__(self):
        return complex(self._concrete("complex()"))

    def __int__(self):
        raise errors.TracerIndexError(describe(self.a.tolist()))

    __index__ = __int__

    def __array__(self, dtype=None, copy=None):
        """An object array of this array's elements, each a 0-d `Traced`: what NumPy builds
        ``np.r_[a, b]`` or ``np.append(x, [x[0] * x[1]])`` from (``np.array`` and ``np.asarray``
        of traced values are `symhess.foreign`'s). Their arithmetic runs element by element
        through the elements' operators (and NumPy's object loops call the ufunc methods
        `symhess.primitives` gives `Traced`); the rules take such arrays back as traced values.
        A numeric dtype cannot be had while tracing."""
        foreign.refuse_scipy_conversion()
        if dtype is not None and np.dtype(dtype) != object:
            raise errors.TracerConversionError(
                describe(self.a.tolist()), f"np.asarray(..., dtype={np.dtype(dtype)}) (which "
                "np.mean, np.var and np.std of a list do: write np.mean(np.stack([a, b])))")
        out = np.empty(self.a.shape, dtype=object)
        for index, value in np.ndenumerate(self.a):
            out[index] = Traced(np.array(value, dtype=object))
        return out

    # --- operators as ufuncs --------------------------------------------------------------------
    def __add__(self, other):
        result = _accumulate(self, other, 1)
        return np.add(self, other) if result is None else result

    def __radd__(self, other):
        result = _accumulate(self, other, 1)
        return np.add(other, self) if result is None else result

    def __sub__(self, other):
        result = _accumulate(self, other, -1)
        return np.subtract(self, other) if result is None else result

    __rsub__ = _reflected(np.subtract)
    __mul__, __rmul__ = _ufunc_method(np.multiply), _reflected(np.multiply)
    __truediv__, __rtruediv__ = _ufunc_method(np.true_divide), _reflected(np.true_divide)
    __pow__, __rpow__ = _ufunc_method(np.power), _reflected(np.power)
    __matmul__, __rmatmul__ = _ufunc_method(np.matmul), _reflected(np.matmul)
    __lt__, __le__ = _ufunc_method(np.less), _ufunc_method(np.less_equal)
    __gt__, __ge__ = _ufunc_method(np.greater), _ufunc_method(np.greater_equal)
    __eq__, __ne__ = _ufunc_method(np.equal), _ufunc_method(np.not_equal)
    __and__, __or__ = _ufunc_method(np.logical_and), _ufunc_method(np.logical_or)
    __invert__ = _ufunc_method(np.logical_not)
    __neg__, __pos__, __abs__ = (_ufunc_method(np.negative), _ufunc_method(np.positive),
                                 _ufunc_method(np.absolute))

    # piecewise constant (//) and piecewise linear (%): `symhess.foreign.numpy_rounding`
    __floordiv__, __rfloordiv__ = _ufunc_method(np.floor_divide), _reflected(np.floor_divide)
    __mod__, __rmod__ = _ufunc_method(np.remainder), _reflected(np.remainder)
    __divmod__, __rdivmod__ = _ufunc_method(np.divmod), _reflected(np.divmod)

    # --- the other methods NumPy users call on arrays: `symhess.array_methods` ----------------
    def copy(self): return Traced(self.a.copy())
    def astype(self, dtype, *a, **k): return self


class RunningSum(Traced):
    """A 0-d traced sum built term by term (``s = s + term`` in a Python loop).

    Rebuilding a SymEngine ``Add`` at each step costs O(terms), so a loop of n additions would
    cost O(n**2) (10 s for 10,000 terms). A running sum keeps its terms in a list that the
    next sum of the chain extends in place, and becomes one ``Add`` (the same expression, in
    SymEngine's canonical form) the first time anything reads it.
    """

    __slots__ = ("terms", "count", "_value")

    def __init__(self, terms: list):
        self.terms, self.count, self._value, self.source = terms, len(terms), None, None

    @property
    def a(self) -> np.ndarray:
        if self._value is None:
            self._value = object_array(se.Add(*self.terms[:self.count]))
        return self._value

    def plus(self, term) -> RunningSum:
        """This sum plus ``term``: the list is extended in place unless an earlier step of
        the chain already extended it (then it is copied)."""
        terms = self.terms if len(self.terms) == self.count else self.terms[:self.count]
        terms.append(term)
        return RunningSum(terms)


def _term(x):
    """``x`` as one SymEngine term when it is a 0-d traced value or a real number, else None."""
    if isinstance(x, RunningSum):
        return x.a[()]
    if isinstance(x, Traced):
        return x.a[()] if x.a.ndim == 0 else None
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return object_array(x)[()]
    return None


def _accumulate(traced, other, sign):
    """``traced + sign * other`` as a `RunningSum` when both are scalars (``other`` may be a
    number); None for anything else, which then goes through NumPy's ufunc."""
    if sign > 0 and isinstance(other, RunningSum) and not isinstance(traced, RunningSum):
        traced, other = other, traced                  # addition commutes: extend the sum
    if not isinstance(traced, RunningSum) and traced.a.ndim != 0:
        return None
    term = _term(other)
    if term is None:
        return None
    if sign < 0:
        term = -term
    if isinstance(traced, RunningSum):
        return traced.plus(term)
    return RunningSum([traced.a[()], term])


def _integer_valued(e) -> bool:
    """Whether ``e`` is an integer, or a selection among integers (``np.argmax``'s index)."""
    stack = [e]
    while stack:
        e = stack.pop()
        if isinstance(e, se.Piecewise):
            stack.extend(e.args[::2])
        elif not isinstance(e, se.Integer):
            return False
    return True


def _check_index(index):
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if isinstance(item, Traced):
            raise errors.TracerIndexError(describe(item.a.tolist()))


def symbols(name: str, shape: tuple) -> np.ndarray:
    """An object array of fresh symbols named like NumPy would print the entries: ``F[0, 1]``."""
    out = np.empty(shape, dtype=object)
    if shape == ():
        out[()] = se.Symbol(name)
        return out
    indices = [""]
    for n in shape:                 # the index strings in C order, built axis by axis
        digits = [str(i) for i in range(n)]
        indices = [f"{head}, {d}" if head else d for head in indices for d in digits]
    out.reshape(-1)[:] = [se.Symbol(f"{name}[{index}]") for index in indices]
    return out


def trace(fun, args: tuple, kwargs: dict, dtype, holomorphic: bool, sums=None):
    """Run ``fun(*args, **kwargs)`` under a trace context and return what it returned.

    With a dict ``sums``, gathers of many rows from inputs stay lazy (`symhess.lazy`) and the
    element sums they end in are recorded there, keyed by their placeholder symbols.
    """
    with trace_context(dtype, holomorphic, sums), foreign.interposed(fun):
        try:
            return fun(*args, **kwargs)
        except ValueError as exc:
            # NumPy storing a traced value into a float array (``out[0] = x[0] ** 2`` with
            # ``out = np.zeros(3)``) replaces float()'s error with "setting an array element
            # with a sequence"; the error it replaced says what happened.
            cause = exc.__cause__
            if isinstance(cause, errors.TracerConversionError):
                raise errors.TracerConversionError(
                    cause.value, "item assignment into a float array (np.zeros, np.empty)") \
                    from None
            raise
