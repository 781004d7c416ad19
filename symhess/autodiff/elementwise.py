"""The element-wise rules of the autodiff's jets: each ufunc's first and second derivative.

A unary rule gives ``f(v), f'(v), f''(v)``; the chain rule makes ``g' = f'(v) g`` and
``H' = f'(v) H + f''(v) g g^T`` of them, and the same for the partial derivatives of a binary
ufunc. Sums, differences and products with constants are exact and cheap special cases.
Complex (holomorphic) inputs run through the same rules; ufuncs that are not holomorphic accept
real inputs only. Every rule also carries the rounding bounds (see `symhess.autodiff.jet`).
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedFunctionError
from ..foreign import ERF, ERFC, give_ufunc_methods, ufunc_name
from ..registry import registrar
from .jet import FUNCTIONS, REASON, Jet, make, seed_of, select, ufunc_method, value


# --- the rules: value, first and second derivative ------------------------------------------
UNARY: dict = {}
BINARY: dict = {}          # (a, b) -> (f, fa, fb, faa, fab, fbb)
REAL_ONLY: set = set()
_LN2, _LN10 = np.log(2.0), np.log(10.0)
_TWO_OVER_SQRT_PI = 2 / np.sqrt(np.pi)


#: ``@unary(*ufuncs, real_only=False)``: register ``rule(v) -> (f, f', f'')``.
unary = registrar(UNARY, REAL_ONLY)
#: ``@binary(*ufuncs, real_only=False)``: register ``rule(a, b) -> (f, fa, fb, faa, fab, fbb)``.
binary = registrar(BINARY, REAL_ONLY)


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


def _erf_family(complement: bool):
    """The jet rule of erf (or erfc): value, and derivatives +-2/sqrt(pi) exp(-v^2) and
    -+4 v/sqrt(pi) exp(-v^2)."""
    def rule(v):
        from scipy import special
        slope = _TWO_OVER_SQRT_PI * np.exp(-v * v) * (-1.0 if complement else 1.0)
        return (special.erfc(v) if complement else special.erf(v)), slope, -2 * v * slope
    return rule


unary(ERF, real_only=True)(_erf_family(False))
unary(ERFC, real_only=True)(_erf_family(True))
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
unary(np.floor, real_only=True)(lambda v: (np.floor(v), np.zeros_like(v), np.zeros_like(v)))


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


@binary(np.fmod, real_only=True)
def _fmod(a, b):
    """``a - trunc(a / b) b``: slopes 1 and minus the quotient of the value's piece,
    ``(a - fmod(a, b)) / b`` rounded (``a / b`` itself may round to the next integer)."""
    zero = np.zeros(np.broadcast_shapes(np.shape(a), np.shape(b)))
    f = np.fmod(a, b)
    return f, zero + 1.0, -np.rint((a - f) / b) + zero, zero, zero, zero


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


# --- the chain rule ----------------------------------------------------------------------------
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
    return make(s, f, f1[..., None] * g, h,
                (af + a1 * mv, a1[..., None] * mg + e1 * ag + np.abs(f1[..., None] * g), mh))


def _binary(a, b, f, fa, fb, faa, fab, fbb):
    """The chain rule for ``f(a, b)``; a constant argument has no gradient terms."""
    s = seed_of(a, b)
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
    return make(s, f, g, h, (mv, mg, mh))


def _linear(a, b, sa, sb):
    """``sa * a + sb * b`` for jets or constants: exact and cheap."""
    s = seed_of(a, b)
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


@ufunc_method("__call__")
def _call(uf, inputs, kwargs):
    """One ufunc call on jets or constants (other keyword arguments are ignored)."""
    if uf in _COMPARE:
        return uf(*map(value, inputs))
    if uf is np.matmul:
        return FUNCTIONS[np.matmul](np.matmul, *inputs)
    if uf in REAL_ONLY and any(isinstance(x, Jet) and x.d.dtype.kind == "c" for x in inputs):
        if uf in (np.absolute, np.conjugate) and inputs[0].seed.real:
            z = inputs[0]                       # a complex value computed from real variables
            return (np.hypot(np.real(z), np.imag(z)) if uf is np.absolute
                    else Jet(np.conj(z.d), z.seed, z.m))
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
        va, vb = np.asarray(value(a)), np.asarray(value(b))
        chosen = select(_SELECT[uf](va, vb), a, b)
        unordered = np.isnan(va) | np.isnan(vb)
        if not np.any(unordered):
            return chosen
        # A NaN operand: NaN for maximum and minimum (its derivatives 0, as JAX's), the other
        # operand for fmax and fmin.
        nan = np.nan if uf in (np.maximum, np.minimum) else select(np.isnan(va), b, a)
        return select(unordered, nan, chosen)
    if uf in BINARY:
        return _binary(a, b, *BINARY[uf](np.asarray(value(a)), np.asarray(value(b))))
    raise UnsupportedFunctionError(ufunc_name(uf), REASON)


@ufunc_method("outer")
def _outer(uf, inputs, kwargs):
    """``uf.outer(a, b)``: ``a`` with ``b``'s axes added, broadcast against ``b``."""
    a, b = inputs
    return uf(np.reshape(a, np.shape(a) + (1,) * np.ndim(b)), b)

give_ufunc_methods(Jet, (*UNARY, *BINARY))     # for object arrays of jets (`Jet.__array__`)
