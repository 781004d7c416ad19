"""Second-order jets: arrays of values, gradients and Hessian rows that run NumPy code.

A `Jet` carries, for every entry of an array, its value, its gradient with respect to all ``n``
differentiated variables and ``c`` rows of its Hessian, packed along one trailing axis of length
``1 + n + c * n``. One run of the user's function on jets thus gives ``c`` rows of the Hessian at
once. Structural NumPy functions act on the leading axes and never touch the packed axis.

This module holds the jets themselves, how they are built, and the two tables NumPy dispatches
through: `FUNCTIONS` for ``__array_function__`` (filled by `symhess.autodiff.functions`) and
`UFUNC_METHODS` for ``__array_ufunc__`` (filled by `symhess.autodiff.elementwise`, the
element-wise rules, and by `symhess.autodiff.reductions` for ``reduce`` and ``accumulate``).

Beside every packed component a jet carries a running bound of its rounding error, in units of
the unit roundoff (``Jet.m``, real and non-negative, same shape as ``Jet.d``; 0 for exact data).
Each operation adds the magnitude of what it rounds (``|a + b|`` for a sum, the sum of
``|terms|`` for a reduction) to the errors its arguments bring, each scaled by the derivative it
passes through (``|f'(v)| m_v`` for an element-wise value, ``|f''(v)| m_v |g|`` for its slope).
A small entry computed as the difference of large terms so gets a large bound, an entry computed
from small terms a small one: `symhess.check` scales each entry's tolerance by it. Terms of the
third order (the error of ``f''`` itself) are left out.
"""

from __future__ import annotations

import numpy as np

from ..array_methods import ArrayMethods
from ..errors import OperandError, OperandTypeError, UnsupportedFunctionError
from ..foreign import (function_definition, refuse_scipy_conversion, register_traced,
                       ufunc_definition, ufunc_name)
from ..registry import registrar

REASON = "the autodiff cross-check has no rule for it"


class Seed:
    """What the jets of one pass share: n variables, Hessian rows r0:r1, packed length K;
    ``real``: the variables are real, so a complex jet's parts are the jets of its value's parts
    (taking them is real-linear)."""

    __slots__ = ("n", "r0", "r1", "c", "K", "real")

    def __init__(self, n, r0, r1, real=True):
        self.n, self.r0, self.r1, self.c = n, r0, r1, r1 - r0
        self.K, self.real = 1 + n + self.c * n, real


@register_traced
class Jet(ArrayMethods):
    """An array of second-order jets: values, gradients and Hessian rows, packed on a last axis.

    It runs ordinary NumPy code through ``__array_ufunc__`` and ``__array_function__``.

    >>> import numpy as np
    >>> x = Jet.variables(np.array([2.0, 3.0]))
    >>> y = np.sin(x[0]) * x[1]
    >>> bool(np.allclose(y.hessian, [[-np.sin(2.0) * 3, np.cos(2.0)], [np.cos(2.0), 0.0]]))
    True
    """

    __slots__ = ("d", "seed", "m")
    __array_priority__ = 1000
    __hash__ = None

    def __init__(self, d, seed, m=None):
        self.d, self.seed = d, seed
        self.m = np.zeros(np.shape(d)) if m is None else m      # rounding bound; exact data: 0

    @classmethod
    def variables(cls, x):
        """Seed every entry of ``x`` as a variable, with all Hessian rows (a one-pass jet)."""
        x = np.asarray(x)
        seed = Seed(x.size, 0, x.size, x.dtype.kind != "c")
        return seeded(x, seed, 0)

    v = property(lambda s: s.d[..., 0])
    g = property(lambda s: s.d[..., 1:1 + s.seed.n])
    h = property(lambda s: s.d[..., 1 + s.seed.n:].reshape(s.d.shape[:-1] + (s.seed.c, s.seed.n)))
    value, gradient, hessian = v, g, h
    mv = property(lambda s: s.m[..., 0])
    mg = property(lambda s: s.m[..., 1:1 + s.seed.n])
    mh = property(lambda s: s.m[..., 1 + s.seed.n:].reshape(s.m.shape[:-1] + (s.seed.c, s.seed.n)))
    shape = property(lambda s: s.d.shape[:-1])
    ndim = property(lambda s: s.d.ndim - 1)
    size = property(lambda s: int(np.prod(s.d.shape[:-1], dtype=np.int64)))
    dtype = property(lambda s: s.d.dtype)

    def __array_ufunc__(self, uf, method, *inputs, **kwargs):
        # out= and where= would write around the derivatives
        if "out" in kwargs or "where" in kwargs:
            raise UnsupportedFunctionError(f"np.{uf.__name__} with out= or where=", REASON)
        rule = UFUNC_METHODS.get(method)
        if rule is None:
            raise UnsupportedFunctionError(f"{ufunc_name(uf)}.{method}", REASON)
        inputs = _assembled(inputs, self.seed)
        definition = ufunc_definition(uf, method, kwargs)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if definition is not None:
                return definition(*inputs)         # scipy.special's and NumPy 2's, in NumPy
            return rule(uf, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        definition = function_definition(func)
        if definition is not None:
            return definition(*args, **kwargs)     # NumPy 2's names, in NumPy
        rule = FUNCTIONS.get(func)
        if rule is None:
            raise UnsupportedFunctionError(_numpy_name(func), REASON)
        return rule(func, *_assembled(args, self.seed), **kwargs)

    def __len__(self):
        if self.ndim == 0:
            raise OperandTypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index):
        _check_index(index)
        pos = np.arange(self.size).reshape(self.shape)[index]
        return Jet(self.d.reshape(-1, self.seed.K)[pos], self.seed,
                   self.m.reshape(-1, self.seed.K)[pos])

    def __setitem__(self, index, value):
        _check_index(index)
        pos = np.arange(self.size).reshape(self.shape)[index]
        new = pack(value, self.seed)
        dtype = np.result_type(self.d, new.d)
        if dtype != self.d.dtype or not self.d.flags.c_contiguous:
            self.d = np.ascontiguousarray(self.d, dtype=dtype)
        if not self.m.flags.c_contiguous or not self.m.flags.writeable:
            self.m = np.ascontiguousarray(self.m).copy()
        self.d.reshape(-1, self.seed.K)[pos] = np.broadcast_to(new.d, pos.shape + (self.seed.K,))
        self.m.reshape(-1, self.seed.K)[pos] = np.broadcast_to(new.m, pos.shape + (self.seed.K,))

    def __repr__(self):
        return f"Jet(shape={self.shape}, value={self.v!r})"

    def _no(self, what):
        raise OperandTypeError(
            f"{what} of a differentiated value would drop its derivatives. Use np.* functions "
            "instead of math.*, build arrays with np.stack/np.concatenate or np.zeros_like(x) "
            "instead of np.array or a float array, and np.where instead of a Python `if`.")

    __bool__ = lambda self: self._no("bool()")
    __float__ = lambda self: self._no("float()")
    __complex__ = lambda self: self._no("complex()")
    __int__ = __index__ = lambda self: self._no("int() or indexing")
    def __array__(self, dtype=None, copy=None):
        """An object array of 0-d jets (what NumPy builds ``np.array([x[0], x[1] ** 2])``
        from; the rules take it back as one jet); never numbers."""
        refuse_scipy_conversion()
        if dtype is not None and np.dtype(dtype) != object:
            self._no(f"np.asarray(..., dtype={np.dtype(dtype)})")
        out = np.empty(self.shape, dtype=object)
        for index in np.ndindex(*self.shape):
            out[index] = self[index]
        return out

    # --- the other methods NumPy users call on arrays: `symhess.array_methods` ----------------
    def copy(self): return Jet(self.d.copy(), self.seed, self.m.copy())
    def astype(self, dtype, *a, **k): return self     # the reference always runs in float64


def _operator(uf, reflected=False):
    return (lambda s, o: uf(o, s)) if reflected else (lambda s, *o: uf(s, *o))


for _name, _uf in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("pow", np.power), ("matmul", np.matmul),
                   ("floordiv", np.floor_divide), ("mod", np.remainder), ("divmod", np.divmod)]:
    setattr(Jet, f"__{_name}__", _operator(_uf))
    setattr(Jet, f"__r{_name}__", _operator(_uf, True))
for _name, _uf in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal),
                   ("neg", np.negative), ("pos", np.positive), ("abs", np.absolute)]:
    setattr(Jet, f"__{_name}__", _operator(_uf))


def _check_index(index):
    for item in index if isinstance(index, tuple) else (index,):
        if isinstance(item, Jet):
            raise OperandTypeError("a differentiated value was used as an index; indices must be "
                                   "constants")


def _numpy_name(func):
    module = getattr(func, "__module__", None) or "numpy"
    return ("np" + module[5:] if module.startswith("numpy") else module) + "." + func.__name__


# --- building jets ---------------------------------------------------------------------------
def seeded(x, seed, offset):
    """Variables ``offset .. offset + x.size`` of a pass, as a jet shaped like ``x``."""
    dtype = np.result_type(x.dtype, np.float64)
    d = np.zeros((x.size, seed.K), dtype=dtype)
    d[:, 0] = x.ravel()
    d[np.arange(x.size), 1 + offset + np.arange(x.size)] = 1
    return Jet(d.reshape(x.shape + (seed.K,)), seed)


def _pack_parts(seed, v, g, h, dtype, shape=None):
    v = np.asarray(v)
    if shape is None:
        shape = np.broadcast_shapes(v.shape, *(() if g is None else (np.shape(g)[:-1],)),
                                    *(() if h is None else (np.shape(h)[:-2],)))
    d = np.zeros(shape + (seed.K,), dtype=dtype)
    d[..., 0] = v
    if g is not None:
        d[..., 1:1 + seed.n] = g
    if h is not None:
        h = np.asarray(h)
        d[..., 1 + seed.n:] = h.reshape(h.shape[:-2] + (seed.c * seed.n,))
    return d


def make(seed, v, g=None, h=None, m=None):
    """A jet from its value, gradient (``shape + (n,)``) and Hessian rows (``+ (c, n)``).

    ``m`` is ``(m_v, m_g, m_h)``, the rounding bounds of each part (None: exact data).
    """
    parts = [np.asarray(v)] + [p for p in (g, h) if p is not None]
    d = _pack_parts(seed, v, g, h, np.result_type(np.float64, *parts))
    if m is None:
        return Jet(d, seed)
    mv, mg, mh = m
    return Jet(d, seed, _pack_parts(seed, mv, mg, mh, np.float64, d.shape[:-1]))


def pack(x, seed):
    """``x`` as a jet: constants get zero derivatives."""
    if isinstance(x, Jet):
        if x.seed is not seed:
            raise OperandError("jets from two different passes met; do not keep differentiated "
                               "values between calls of the function")
        return x
    if isinstance(x, np.ndarray) and x.dtype == object:      # `Jet.__array__`'s elements
        parts = [pack(e, seed) for e in x.reshape(-1)]
        if not parts:
            return make(seed, np.zeros(x.shape))
        d = np.stack([np.broadcast_to(p.d, (seed.K,)) for p in parts])
        m = np.stack([np.broadcast_to(p.m, (seed.K,)) for p in parts])
        return Jet(d.reshape(x.shape + (seed.K,)), seed, m.reshape(x.shape + (seed.K,)))
    return make(seed, np.asarray(x))


def _assembled(xs, seed):
    """``xs`` with each object array (of jets and numbers: `Jet.__array__`'s) made one jet,
    searched into lists and tuples."""
    def one(x):
        if isinstance(x, np.ndarray) and x.dtype == object:
            return pack(x, seed)
        if isinstance(x, (list, tuple)):
            return type(x)(one(y) for y in x)
        return x
    return tuple(one(x) for x in xs)


def seed_of(*xs):
    """The `Seed` of the first jet among ``xs`` (searched into lists and tuples), or None."""
    for x in xs:
        if isinstance(x, Jet):
            return x.seed
        if isinstance(x, (list, tuple)):
            s = seed_of(*x)
            if s is not None:
                return s
    return None


def value(x):
    """The value of ``x`` without its derivatives (``x`` itself when it is not a jet)."""
    return x.v if isinstance(x, Jet) else x


def select(cond, a, b):
    """``a`` where ``cond`` holds, else ``b``, entry by entry, derivatives included."""
    s = seed_of(a, b)
    a, b = pack(a, s), pack(b, s)
    cond = np.asarray(cond, dtype=bool)[..., None]
    return Jet(np.where(cond, a.d, b.d), s, np.where(cond, a.m, b.m))


# --- the tables NumPy dispatches through ------------------------------------------------------
FUNCTIONS: dict = {}        # NumPy function -> rule(func, *args, **kwargs)
UFUNC_METHODS: dict = {}    # "__call__", "reduce", ... -> rule(ufunc, inputs, kwargs)


#: ``@function(*funcs)``: register ``rule(func, *args, **kwargs)`` for NumPy functions.
function = registrar(FUNCTIONS)
#: ``@ufunc_method(method)``: register ``rule(ufunc, inputs, kwargs)`` for a ufunc method
#: (``"reduce"``, ...).
ufunc_method = registrar(UFUNC_METHODS)
