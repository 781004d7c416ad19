"""Second-order jets: arrays of values, gradients and Hessian rows that run NumPy code.

A `Jet` carries, for every entry of an array, its value, its gradient with respect to all ``n``
differentiated variables and ``c`` rows of its Hessian, packed along one trailing axis of length
``1 + n + c * n``. One run of the user's function on jets thus gives ``c`` rows of the Hessian at
once. Structural NumPy functions act on the leading axes and never touch the packed axis.

This module holds the element-wise rules, each given as its first and second derivative:
``g' = f'(v) g`` and ``H' = f'(v) H + f''(v) g g^T``; `symhess.autodiff.functions` holds the
rules of the other NumPy functions. Complex (holomorphic) inputs run through the same rules.

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

from ..errors import UnsupportedFunctionError

_REASON = "the autodiff cross-check has no rule for it"


class Seed:
    """What the jets of one pass share: n variables, Hessian rows r0:r1, packed length K."""

    __slots__ = ("n", "r0", "r1", "c", "K")

    def __init__(self, n, r0, r1):
        self.n, self.r0, self.r1, self.c = n, r0, r1, r1 - r0
        self.K = 1 + n + self.c * n


class Jet:
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
        seed = Seed(x.size, 0, x.size)
        return _seeded(x, seed, 0)

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
    T = property(lambda s: np.transpose(s))
    real = property(lambda s: np.real(s))
    imag = property(lambda s: np.imag(s))

    def __array_ufunc__(self, uf, method, *inputs, **kwargs):
        return _apply_ufunc(uf, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        rule = FUNCTIONS.get(func)
        if rule is None:
            raise UnsupportedFunctionError(_numpy_name(func), _REASON)
        return rule(func, *args, **kwargs)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d array")
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
        new = _pack(value, self.seed)
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
        raise TypeError(
            f"{what} of a differentiated value would drop its derivatives. Use np.* functions "
            "instead of math.*, build arrays with np.stack/np.concatenate or np.zeros_like(x) "
            "instead of np.array or a float array, and np.where instead of a Python `if`.")

    __bool__ = lambda self: self._no("bool()")
    __float__ = lambda self: self._no("float()")
    __complex__ = lambda self: self._no("complex()")
    __int__ = __index__ = lambda self: self._no("int() or indexing")
    __array__ = lambda self, dtype=None, copy=None: self._no("np.asarray()")

    def sum(self, *a, **k): return np.sum(self, *a, **k)
    def prod(self, *a, **k): return np.prod(self, *a, **k)
    def mean(self, *a, **k): return np.mean(self, *a, **k)
    def var(self, *a, **k): return np.var(self, *a, **k)
    def std(self, *a, **k): return np.std(self, *a, **k)
    def max(self, *a, **k): return np.max(self, *a, **k)
    def min(self, *a, **k): return np.min(self, *a, **k)
    def cumsum(self, *a, **k): return np.cumsum(self, *a, **k)
    def dot(self, other): return np.dot(self, other)
    def trace(self, *a, **k): return np.trace(self, *a, **k)
    def diagonal(self, *a, **k): return np.diagonal(self, *a, **k)
    def squeeze(self, *a, **k): return np.squeeze(self, *a, **k)
    def ravel(self): return np.ravel(self)
    def flatten(self): return np.ravel(self).copy()
    def copy(self): return Jet(self.d.copy(), self.seed, self.m.copy())
    def conj(self): return np.conjugate(self)
    conjugate = conj
    def clip(self, lo=None, hi=None): return np.clip(self, lo, hi)
    def astype(self, dtype, *a, **k): return self     # the reference always runs in float64
    def swapaxes(self, a, b): return np.swapaxes(self, a, b)

    def reshape(self, *shape, **k):
        return np.reshape(self, shape[0] if len(shape) == 1 else shape, **k)

    def transpose(self, *axes):
        return np.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)


def _operator(uf, reflected=False):
    return (lambda s, o: uf(o, s)) if reflected else (lambda s, *o: uf(s, *o))


for _name, _uf in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("pow", np.power), ("matmul", np.matmul)]:
    setattr(Jet, f"__{_name}__", _operator(_uf))
    setattr(Jet, f"__r{_name}__", _operator(_uf, True))
for _name, _uf in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal),
                   ("neg", np.negative), ("pos", np.positive), ("abs", np.absolute)]:
    setattr(Jet, f"__{_name}__", _operator(_uf))


def _check_index(index):
    for item in index if isinstance(index, tuple) else (index,):
        if isinstance(item, Jet):
            raise TypeError("a differentiated value was used as an index; indices must be "
                            "constants")


def _numpy_name(func):
    module = getattr(func, "__module__", None) or "numpy"
    return ("np" + module[5:] if module.startswith("numpy") else module) + "." + func.__name__


# --- building jets ---------------------------------------------------------------------------
def _seeded(x, seed, offset):
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


def _make(seed, v, g=None, h=None, m=None):
    """A jet from its value, gradient (``shape + (n,)``) and Hessian rows (``+ (c, n)``).

    ``m`` is ``(m_v, m_g, m_h)``, the rounding bounds of each part (None: exact data).
    """
    parts = [np.asarray(v)] + [p for p in (g, h) if p is not None]
    d = _pack_parts(seed, v, g, h, np.result_type(np.float64, *parts))
    if m is None:
        return Jet(d, seed)
    mv, mg, mh = m
    return Jet(d, seed, _pack_parts(seed, mv, mg, mh, np.float64, d.shape[:-1]))


def _pack(x, seed):
    """``x`` as a jet: constants get zero derivatives."""
    if isinstance(x, Jet):
        if x.seed is not seed:
            raise ValueError("jets from two different passes met; do not keep differentiated "
                             "values between calls of the function")
        return x
    return _make(seed, np.asarray(x))


def _seed_of(*xs):
    for x in xs:
        if isinstance(x, Jet):
            return x.seed
        if isinstance(x, (list, tuple)):
            s = _seed_of(*x)
            if s is not None:
                return s
    return None


def _value(x):
    return x.v if isinstance(x, Jet) else x


FUNCTIONS: dict = {}


def function(*funcs):
    """Register a rule ``rule(func, *args, **kwargs)`` for NumPy functions."""
    def register(rule):
        for f in funcs:
            FUNCTIONS[f] = rule
        return rule
    return register


# --- element-wise rules: value, first and second derivative ----------------------------------
UNARY: dict = {}
BINARY: dict = {}          # (a, b) -> (f, fa, fb, faa, fab, fbb)
REAL_ONLY: set = set()
_LN2, _LN10 = np.log(2.0), np.log(10.0)


def unary(*ufs, real_only=False):
    """Register ``rule(v) -> (f, f', f'')`` for element-wise ufuncs."""
    def register(rule):
        for uf in ufs:
            UNARY[uf] = rule
            if real_only:
                REAL_ONLY.add(uf)
        return rule
    return register


def binary(*ufs, real_only=False):
    """Register ``rule(a, b) -> (f, fa, fb, faa, fab, fbb)`` for binary ufuncs."""
    def register(rule):
        for uf in ufs:
            BINARY[uf] = rule
            if real_only:
                REAL_ONLY.add(uf)
        return rule
    return register


def _const(c):
    return lambda v: (c * v, np.full_like(v, c), np.zeros_like(v))


unary(np.negative)(_const(-1.0))
unary(np.positive)(_const(1.0))
unary(np.conjugate, real_only=True)(_const(1.0))      # real inputs only: conj is not holomorphic
unary(np.deg2rad, np.radians)(_const(np.pi / 180))
unary(np.rad2deg, np.degrees)(_const(180 / np.pi))
unary(np.square)(lambda v: (v * v, 2 * v, np.full_like(v, 2.0)))
unary(np.reciprocal)(lambda v: (1 / v, -1 / v ** 2, 2 / v ** 3))
unary(np.exp)(lambda v: (e := np.exp(v), e, e))
unary(np.exp2)(lambda v: (e := np.exp2(v), e * _LN2, e * _LN2 ** 2))
unary(np.expm1)(lambda v: (np.expm1(v), e := np.exp(v), e))
unary(np.log)(lambda v: (np.log(v), 1 / v, -1 / v ** 2))
unary(np.log2)(lambda v: (np.log2(v), 1 / (v * _LN2), -1 / (v ** 2 * _LN2)))
unary(np.log10)(lambda v: (np.log10(v), 1 / (v * _LN10), -1 / (v ** 2 * _LN10)))
unary(np.log1p)(lambda v: (np.log1p(v), 1 / (1 + v), -1 / (1 + v) ** 2))
unary(np.sqrt)(lambda v: (s := np.sqrt(v), 0.5 / s, -0.25 / s ** 3))
unary(np.cbrt, real_only=True)(lambda v: (c := np.cbrt(v), 1 / (3 * c * c), -2 / (9 * c ** 5)))
unary(np.sin)(lambda v: (s := np.sin(v), np.cos(v), -s))
unary(np.cos)(lambda v: (c := np.cos(v), -np.sin(v), -c))
unary(np.tan)(lambda v: (t := np.tan(v), 1 + t * t, 2 * t * (1 + t * t)))
unary(np.arcsin)(lambda v: (np.arcsin(v), (1 - v * v) ** -0.5, v * (1 - v * v) ** -1.5))
unary(np.arccos)(lambda v: (np.arccos(v), -(1 - v * v) ** -0.5, -v * (1 - v * v) ** -1.5))
unary(np.arctan)(lambda v: (np.arctan(v), 1 / (1 + v * v), -2 * v / (1 + v * v) ** 2))
unary(np.sinh)(lambda v: (s := np.sinh(v), np.cosh(v), s))
unary(np.cosh)(lambda v: (c := np.cosh(v), np.sinh(v), c))
unary(np.tanh)(lambda v: (t := np.tanh(v), 1 - t * t, -2 * t * (1 - t * t)))
unary(np.arcsinh)(lambda v: (np.arcsinh(v), (1 + v * v) ** -0.5, -v * (1 + v * v) ** -1.5))
unary(np.arccosh)(lambda v: (np.arccosh(v), (v * v - 1) ** -0.5, -v * (v * v - 1) ** -1.5))
unary(np.arctanh)(lambda v: (np.arctanh(v), 1 / (1 - v * v), 2 * v / (1 - v * v) ** 2))
# At the kink, |x| takes the branch x >= 0 (slope +1), the same convention as np.maximum's ties.
unary(np.absolute, np.fabs, real_only=True)(
    lambda v: (np.abs(v), np.where(v >= 0, 1.0, -1.0), np.zeros_like(v)))
unary(np.sign, real_only=True)(lambda v: (np.sign(v), np.zeros_like(v), np.zeros_like(v)))


@binary(np.power, np.float_power)
def _power(a, b):
    complex_ = np.iscomplexobj(a) or np.iscomplexobj(b)
    pw = np.power if complex_ else np.float_power
    a = a + 0j if complex_ else a.astype(float)
    f = pw(a, b)
    # b * a**(b-1) is 0 * inf at a = 0 when b = 0; the exact derivative there is 0.
    fa = np.where(b == 0, 0.0, b * pw(a, b - 1))
    faa = np.where((b == 0) | (b == 1), 0.0, b * (b - 1) * pw(a, b - 2))
    # Used only when the exponent is differentiated. At a = 0, a**b is 0 for every b > 0 (and
    # piecewise constant in b), so its derivatives in b are 0: log(a) is taken as 0 there, as
    # JAX does, instead of 0 * log(0) = NaN.
    zero = a == 0
    la = np.log(np.where(zero, 1.0, a))
    fb = np.where(zero, 0.0, f * la)
    return f, fa, fb, faa, pw(a, b - 1) * (1 + b * la), np.where(zero, 0.0, f * la * la)


@binary(np.arctan2, real_only=True)
def _arctan2(y, x):
    r2 = x * x + y * y
    return (np.arctan2(y, x), x / r2, -y / r2, -2 * x * y / r2 ** 2, (y * y - x * x) / r2 ** 2,
            2 * x * y / r2 ** 2)


@binary(np.hypot, real_only=True)
def _hypot(a, b):
    r = np.hypot(a, b)
    ca, cb = a / r, b / r          # in [-1, 1]: b * b / r ** 3 would overflow at 1e200
    return r, ca, cb, cb * cb / r, -ca * cb / r, ca * ca / r


@binary(np.logaddexp, real_only=True)
def _logaddexp(a, b):
    f = np.logaddexp(a, b)
    pa, pb = np.exp(a - f), np.exp(b - f)
    return f, pa, pb, pa * pb, -pa * pb, pa * pb


@binary(np.logaddexp2, real_only=True)
def _logaddexp2(a, b):
    f = np.logaddexp2(a, b)
    pa, pb = np.exp2(a - f), np.exp2(b - f)
    return f, pa, pb, _LN2 * pa * pb, -_LN2 * pa * pb, _LN2 * pa * pb


# Ties pick the first argument, as np.maximum.reduce does when it folds from the left.
_SELECT = {np.maximum: np.greater_equal, np.fmax: np.greater_equal,
           np.minimum: np.less_equal, np.fmin: np.less_equal}
REAL_ONLY.update(_SELECT)
_COMPARE = {np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
            np.logical_and, np.logical_or, np.logical_xor, np.logical_not, np.isfinite,
            np.isnan, np.isinf, np.signbit}


def _unary(a, rule):
    s = a.seed
    f, f1, f2 = rule(a.v)
    g = a.g
    h = f1[..., None, None] * a.h + f2[..., None, None] * g[..., s.r0:s.r1, None] * g[..., None, :]
    # Rounding bounds: what this step rounds, plus the argument's errors through f' and f''.
    af, a1, a2, mv, mg = np.abs(f), np.abs(f1), np.abs(f2), a.mv, a.mg
    e1 = (a2 * mv)[..., None]                     # the error of f'(v) caused by v's error
    ag, r = np.abs(g), slice(s.r0, s.r1)
    mh = (a1[..., None, None] * a.mh + e1[..., None] * np.abs(a.h) + np.abs(h)
          + a2[..., None, None] * (mg[..., r, None] * ag[..., None, :]
                                   + ag[..., r, None] * mg[..., None, :]
                                   + ag[..., r, None] * ag[..., None, :]))
    return _make(s, f, f1[..., None] * g, h,
                 (af + a1 * mv, a1[..., None] * mg + e1 * ag + np.abs(f1[..., None] * g), mh))


def _binary(a, b, f, fa, fb, faa, fab, fbb):
    """The chain rule for ``f(a, b)``; a constant argument has no gradient terms."""
    s = _seed_of(a, b)
    r = slice(s.r0, s.r1)
    e1 = lambda c: np.asarray(c)[..., None]
    e2 = lambda c: np.asarray(c)[..., None, None]
    g, h = 0, 0
    if isinstance(a, Jet):
        g = g + e1(fa) * a.g
        h = h + e2(fa) * a.h + e2(faa) * a.g[..., r, None] * a.g[..., None, :]
    if isinstance(b, Jet):
        g = g + e1(fb) * b.g
        h = h + e2(fb) * b.h + e2(fbb) * b.g[..., r, None] * b.g[..., None, :]
    if isinstance(a, Jet) and isinstance(b, Jet):
        h = h + e2(fab) * (a.g[..., r, None] * b.g[..., None, :]
                           + b.g[..., r, None] * a.g[..., None, :])
    # Rounding bounds: what this step rounds, plus the arguments' errors through the partial
    # derivatives (f_a's own error: |f_aa| m_a + |f_ab| m_b).
    # (A constant argument's partials are not used: they may be NaN, as log(a) for a < 0.)
    const_a, const_b = not isinstance(a, Jet), not isinstance(b, Jet)
    fa, faa = (0.0, 0.0) if const_a else (fa, faa)
    fb, fbb = (0.0, 0.0) if const_b else (fb, fbb)
    fab = 0.0 if const_a or const_b else fab
    fa, fb, faa, fab, fbb = (np.abs(np.asarray(c)) for c in (fa, fb, faa, fab, fbb))
    ma_v = a.mv if isinstance(a, Jet) else 0.0
    mb_v = b.mv if isinstance(b, Jet) else 0.0
    mv = np.abs(f) + fa * ma_v + fb * mb_v
    jets = [(x, fx, fxx, ex) for x, fx, fxx, ex in (
        (a, fa, faa, faa * ma_v + fab * mb_v), (b, fb, fbb, fab * ma_v + fbb * mb_v))
        if isinstance(x, Jet)]
    mg, mh = np.abs(g), np.abs(h)

    def outer(x, y):          # bound of the error of g_x g_y^T, and its magnitude
        gx, gy = np.abs(x.g), np.abs(y.g)
        return (x.mg[..., r, None] * gy[..., None, :] + gx[..., r, None] * y.mg[..., None, :]
                + gx[..., r, None] * gy[..., None, :])
    for x, fx, fxx, ex in jets:
        mg = mg + e1(fx) * x.mg + e1(ex) * np.abs(x.g)
        mh = mh + e2(fx) * x.mh + e2(ex) * np.abs(x.h) + e2(fxx) * outer(x, x)
    if len(jets) == 2:
        mh = mh + e2(fab) * (outer(a, b) + outer(b, a))
    return _make(s, f, g, h, (mv, mg, mh))


def _linear(a, b, sa, sb):
    """``sa * a + sb * b`` for jets or constants: exact and cheap."""
    s = _seed_of(a, b)
    if isinstance(a, Jet) and isinstance(b, Jet):
        d = sa * a.d + sb * b.d
        return Jet(d, s, abs(sa) * a.m + abs(sb) * b.m + np.abs(d))
    jet, const, sj, sc = (a, b, sa, sb) if isinstance(a, Jet) else (b, a, sb, sa)
    d = sj * jet.d
    const = np.asarray(const)
    shape = np.broadcast_shapes(jet.shape, const.shape) + (s.K,)
    d = np.array(np.broadcast_to(d, shape), dtype=np.result_type(d, const))
    d[..., 0] += sc * const
    m = np.broadcast_to(abs(sj) * jet.m, shape) + np.abs(d)
    return Jet(d, s, m)


def _select(cond, a, b):
    """``a`` where ``cond`` holds, else ``b``, entry by entry, derivatives included."""
    s = _seed_of(a, b)
    a, b = _pack(a, s), _pack(b, s)
    cond = np.asarray(cond, dtype=bool)[..., None]
    return Jet(np.where(cond, a.d, b.d), s, np.where(cond, a.m, b.m))


def _call(uf, inputs):
    if uf in _COMPARE:
        return uf(*map(_value, inputs))
    if uf is np.matmul:
        return FUNCTIONS[np.matmul](np.matmul, *inputs)
    if uf in REAL_ONLY and any(isinstance(x, Jet) and x.d.dtype.kind == "c" for x in inputs):
        raise UnsupportedFunctionError(f"np.{uf.__name__} of a complex value",
                                       "it is not holomorphic")
    if uf in UNARY:
        return _unary(inputs[0], UNARY[uf])
    a, b = inputs
    if uf in (np.add, np.subtract):
        return _linear(a, b, 1.0, 1.0 if uf is np.add else -1.0)
    if uf is np.multiply:
        if not (isinstance(a, Jet) and isinstance(b, Jet)):
            jet, c = (a, b) if isinstance(a, Jet) else (b, a)
            c = np.asarray(c)[..., None]
            d = jet.d * c
            return Jet(d, jet.seed, jet.m * np.abs(c) + np.abs(d))
        return _binary(a, b, a.v * b.v, b.v, a.v, 0.0, 1.0, 0.0)
    if uf is np.true_divide:
        if not isinstance(b, Jet):
            c = np.asarray(b)[..., None]
            d = a.d / c
            return Jet(d, a.seed, a.m / np.abs(c) + np.abs(d))
        return np.multiply(a, _unary(b, UNARY[np.reciprocal]))
    if uf in _SELECT:
        return _select(_SELECT[uf](_value(a), _value(b)), a, b)
    if uf in BINARY:
        return _binary(a, b, *BINARY[uf](np.asarray(_value(a)), np.asarray(_value(b))))
    raise UnsupportedFunctionError(f"np.{uf.__name__}", _REASON)


def _apply_ufunc(uf, method, inputs, kwargs):
    """Dispatch one ufunc call; ``out=`` and ``where=`` would write around the derivatives."""
    if "out" in kwargs or "where" in kwargs:
        raise UnsupportedFunctionError(f"np.{uf.__name__} with out= or where=", _REASON)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "__call__":
            return _call(uf, inputs)
        if method == "reduce":
            return _reduce(uf, inputs[0], kwargs.get("axis", 0), kwargs.get("keepdims", False))
        if method == "accumulate":
            return _accumulate(uf, inputs[0], kwargs.get("axis", 0))
        if method == "outer":
            a, b = inputs
            return uf(np.reshape(a, np.shape(a) + (1,) * np.ndim(b)), b)
    raise UnsupportedFunctionError(f"np.{uf.__name__}.{method}", _REASON)


# --- reductions along axes ---------------------------------------------------------------------
def _axes(a, axis):
    """Axes as a tuple of non-negative ints counted on the value, never the packed axis."""
    if axis is None:
        return tuple(range(a.ndim))
    return tuple(sorted(int(ax) % a.ndim for ax in np.atleast_1d(axis)))


def _fold(uf, a, axis):
    """Left fold of a binary ufunc along one axis: ``((a0 op a1) op a2) ...``."""
    m = np.moveaxis(a, axis, 0)
    if len(m) == 0:
        raise ValueError(f"np.{uf.__name__}.reduce of an empty axis")
    acc, steps = m[0], [m[0]]
    for i in range(1, len(m)):
        acc = uf(acc, m[i])
        steps.append(acc)
    return acc, steps


def _reduce(uf, a, axis=0, keepdims=False):
    a = _pack(a, _seed_of(a))
    if uf is np.add:
        axes = _axes(a, axis)
        # A sum's error: the terms' own, plus a rounding of the size of the sum of |terms|.
        return Jet(np.sum(a.d, axis=axes, keepdims=keepdims), a.seed,
                   np.sum(a.m + np.abs(a.d), axis=axes, keepdims=keepdims))
    out = a
    for ax in reversed(_axes(a, axis)):
        out = _fold(uf, out, ax)[0]
        if keepdims:
            out = np.expand_dims(out, ax)
    return out


def _accumulate(uf, a, axis=0):
    a = _pack(a, _seed_of(a))
    if uf is np.add:
        ax = _axes(a, axis)[0]
        return Jet(np.cumsum(a.d, axis=ax), a.seed, np.cumsum(a.m + np.abs(a.d), axis=ax))
    ax = _axes(a, axis)[0]
    return np.moveaxis(np.stack(_fold(uf, a, ax)[1]), 0, ax)
