"""The primitive table: each supported NumPy function has one entry here, with its symbolic rule.

Element-wise ufuncs map to a scalar rule on SymEngine expressions (`UFUNCS`); NumPy broadcasts
them over object arrays. Other NumPy functions map to a rule that takes the call's arguments
(`FUNCTIONS`). Structural functions (reshape, sum, einsum, ...) need no rule of their own: NumPy
runs them on object arrays directly, so their entry is `_delegate`. Anything not in the tables
raises `UnsupportedFunctionError` naming the function. Derivatives are not defined here: they are
taken from the resulting expressions by `symhess.derive`.
"""

from __future__ import annotations

import functools

import numpy as np
import symengine as se
from symengine.lib.symengine_wrapper import Boolean, BooleanAtom

from . import complex_parts, errors, foreign, special, special_nodes
from .registry import registrar
from .trace import (Rules, Traced, constant, current_context, object_array, trace_context,
                    wrap)

UFUNCS: dict = {}
FUNCTIONS: dict = {}
_REAL_ONLY: set = set()


def numpy_name(func) -> str:
    """``np.linalg.det`` for numpy.linalg.det, for error messages."""
    module = getattr(func, "__module__", None) or "numpy"
    module = "np" + module[len("numpy"):] if module.startswith("numpy") else module
    return f"{module}.{func.__name__}"


#: ``@ufunc(*ufuncs, real_only=False)``: register a scalar rule for NumPy ufuncs.
ufunc = registrar(UFUNCS, _REAL_ONLY)
#: ``@function(*funcs)``: register a rule for NumPy functions.
function = registrar(FUNCTIONS)


def _is_zero(x) -> bool:
    """Whether ``x`` is the number 0 (SymEngine's ``RealDouble(0.0) == 0`` is False)."""
    return isinstance(x, se.Number) and x.is_real and float(x) == 0


def select(cond, a, b):
    """``a`` where ``cond`` holds, else ``b``: a Piecewise unless the condition is known.

    ``And``, ``Or`` and ``Not`` become nested selections of their operands: SymEngine crashes
    rebuilding a function node kept whole (`symhess.special`) around a Piecewise whose
    condition is an ``And`` with an equation it simplifies (``log1p`` of
    ``np.where(np.logical_and(x == 0, y <= -1), 0, y)`` substituted in an element template).
    """
    if isinstance(cond, BooleanAtom):
        return a if cond == se.true else b
    if isinstance(cond, se.And):
        first, *rest = cond.args
        return select(first, select(se.And(*rest) if len(rest) > 1 else rest[0], a, b), b)
    if isinstance(cond, se.Or):
        first, *rest = cond.args
        return select(first, a, select(se.Or(*rest) if len(rest) > 1 else rest[0], a, b))
    if isinstance(cond, se.Not):
        return select(cond.args[0], b, a)
    return se.Piecewise((a, cond), (b, True))


# --- arithmetic ------------------------------------------------------------------------------
ufunc(np.add)(lambda a, b: a + b)
ufunc(np.subtract)(lambda a, b: a - b)
ufunc(np.multiply)(lambda a, b: a * b)
ufunc(np.true_divide)(lambda a, b: a / b)
ufunc(np.negative)(lambda a: -a)
ufunc(np.positive)(lambda a: a)
ufunc(np.reciprocal)(lambda a: 1 / a)
ufunc(np.square)(lambda a: a ** 2)


@ufunc(np.power, np.float_power)
def _power(a, b):
    # Integral float exponents print as multiplications, so normalise them to integers.
    if isinstance(b, se.RealDouble):
        value = float(b)
        if value.is_integer():
            b = se.Integer(int(value))
        elif (2 * value).is_integer():
            b = se.Rational(int(2 * value), 2)
    if isinstance(a, se.Number) and a.is_real and not isinstance(b, se.Number) \
            and not current_context().holomorphic:
        return _constant_base_power(a, b)
    return a ** b


def _constant_base_power(c, y):
    """``c ** y`` for a real constant ``c`` and a traced exponent, right at ``c <= 0`` too.

    ``c > 0``: ``c ** y``, whose derivative is ``c ** y log(c)``. ``c == 0``: NumPy's values (0
    for ``y > 0``, 1 at ``y == 0``, inf below) as constants, so every derivative is 0, as JAX
    gives; SymEngine's own rule, ``0 ** y log(0)``, is NaN. ``c < 0``: NumPy defines the value at
    integer ``y`` only, where it has no derivative, so the value is kept and every derivative
    with respect to ``y`` is NaN.
    """
    if float(c) > 0:
        return c ** y
    if float(c) == 0:
        return select(se.Gt(y, 0), se.Integer(0),
                      select(se.Eq(y, 0), se.Integer(1), se.oo))
    return special.no_derivative(c ** y)


# --- exponentials, logarithms, roots ----------------------------------------------------------
ufunc(np.sqrt)(se.sqrt)
ufunc(np.exp)(se.exp)
ufunc(np.exp2)(lambda a: se.Integer(2) ** a)
ufunc(np.expm1)(special.expm1)
ufunc(np.log)(se.log)
ufunc(np.log2)(lambda a: se.log(a) / se.log(2))
ufunc(np.log10)(lambda a: se.log(a) / se.log(10))


# scipy.special.erf and erfc (`symhess.foreign`'s ufuncs): kept whole, printed as libm's
ufunc(foreign.ERF, real_only=True)(special.erf)
ufunc(foreign.ERFC, real_only=True)(special.erfc)
ufunc(foreign.INVERSE_ERF, real_only=True)(special.inverse_erf)
ufunc(np.floor, real_only=True)(special.floor)
ufunc(foreign.POLYGAMMA, real_only=True)(
    lambda n, x: special.gammaln(x) if n == -1 else special.polygamma(n, x))


def _lowered_by_tracing(algorithm):
    """A lowering (`symhess.special.Special.lower`) that runs ``algorithm``, a NumPy program of
    a constant integer (an order, or which of two functions) and arguments, on this tier's
    values; an argument that is a number stays one (the shape of an incomplete gamma function,
    from which its algorithm counts the terms it needs)."""
    def lower(n, *args):
        with trace_context(np.float64, holomorphic=False):
            values = [float(a) if isinstance(a, se.Number) else Traced(object_array(a))
                      for a in args]
            return algorithm(int(n), *values).a[()]
    return lower


special.polygamma.lower = _lowered_by_tracing(foreign.ALGORITHMS[foreign.POLYGAMMA])
special.gammaln.lower = functools.partial(special.polygamma.lower, -1)
special.bessel_i.lower = _lowered_by_tracing(foreign.ALGORITHMS[foreign.BESSEL_I])
special.bessel_ie.lower = _lowered_by_tracing(foreign.ALGORITHMS[foreign.BESSEL_IE])
special.incomplete_gamma.lower = _lowered_by_tracing(
    foreign.ALGORITHMS[foreign.INCOMPLETE_GAMMA])
special.incomplete_beta.lower = _lowered_by_tracing(foreign.ALGORITHMS[foreign.INCOMPLETE_BETA])
ufunc(foreign.HOLD)(special_nodes.held)
ufunc(foreign.INCOMPLETE_GAMMA, real_only=True)(special.incomplete_gamma)
ufunc(foreign.INCOMPLETE_BETA, real_only=True)(special.incomplete_beta)
ufunc(foreign.BESSEL_I, real_only=True)(special.bessel_i)
ufunc(foreign.BESSEL_IE, real_only=True)(special.bessel_ie)
ufunc(np.fmod, real_only=True)(special.fmod)


@ufunc(np.log1p)
def _log1p(a):
    # log1p(exp(u)) is softplus(u): kept whole, it neither overflows nor loses its derivatives
    # to cancellation (sigmoid(u) (1 - sigmoid(u)) at large u). Softplus has no complex form.
    if isinstance(a, se.Pow) and a.args[0] == se.E and not current_context().holomorphic:
        return special.softplus(a.args[1])
    return special.log1p(a)


@ufunc(np.cbrt, real_only=True)
def _cbrt(a):
    third = se.Rational(1, 3)
    return select(se.Ge(a, 0), a ** third, -((-a) ** third))


@ufunc(np.logaddexp, real_only=True)
def _logaddexp(a, b):
    # m + softplus(-|a - b|) with m the larger argument, as NumPy computes it: no overflow, and
    # log(1 + exp(0)) = log 2 + softplus's own rules at a tie.
    if _is_zero(a) or _is_zero(b):
        return special.softplus(b if _is_zero(a) else a)
    return select(se.Ge(a, b), a + special.softplus(b - a), b + special.softplus(a - b))


ufunc(np.logaddexp2, real_only=True)(
    lambda a, b: _logaddexp(a * se.log(2), b * se.log(2)) / se.log(2))

# --- trigonometric and hyperbolic -------------------------------------------------------------
for _np_f, _se_f in [(np.sin, se.sin), (np.cos, se.cos), (np.tan, se.tan),
                     (np.arcsin, se.asin), (np.arccos, se.acos), (np.arctan, se.atan),
                     (np.sinh, se.sinh), (np.cosh, se.cosh), (np.tanh, se.tanh),
                     (np.arcsinh, se.asinh), (np.arccosh, se.acosh), (np.arctanh, se.atanh)]:
    ufunc(_np_f)(_se_f)
ufunc(np.arctan2, real_only=True)(se.atan2)
ufunc(np.hypot, real_only=True)(special.hypot)
ufunc(np.deg2rad, np.radians)(lambda a: a * se.pi / 180)
ufunc(np.rad2deg, np.degrees)(lambda a: a * 180 / se.pi)


# --- comparisons and logic: they build conditions for np.where ---------------------------------
def _comparison(relation, with_nan):
    """``relation`` as NumPy compares numbers that may be NaN: with a NaN constant it is
    ``with_nan`` (SymEngine refuses to order NaN), and a value compared with itself is compared
    at run time (``x != x`` is NumPy's NaN test, which SymEngine would fold to False). A side
    holding a selection with a NaN branch (``np.where(c, x, np.nan)``) is compared branch by
    branch, so that no relation on NaN is left for SymPy, which refuses to build one."""
    def rule(a, b):
        if a == se.nan or b == se.nan:
            return se.true if with_nan else se.false
        if a == b and not isinstance(a, se.Number):
            return relation(special.no_derivative(a), a)    # printed as a, never folded
        chosen = _selection_with_nan(a) or _selection_with_nan(b)
        if chosen is None:
            return relation(a, b)
        pieces, held, before = chosen.args, [], se.true
        for value, condition in zip(pieces[::2], pieces[1::2]):
            a_k, b_k = special_nodes.xreplace([se.sympify(a), se.sympify(b)], {chosen: value})
            held.append(se.And(before, condition, rule(a_k, b_k)))
            before = se.And(before, se.Not(condition))
        return se.Or(*held)
    return rule


def _selection_with_nan(e):
    """A Piecewise in ``e`` with a NaN among its values, or None."""
    return special_nodes.find([e], lambda x: isinstance(x, se.Piecewise)
                              and se.nan in x.args[::2])


_GT, _GE, _LT, _LE = (_comparison(r, False) for r in (se.Gt, se.Ge, se.Lt, se.Le))
_NE = _comparison(se.Ne, True)
ufunc(np.greater, real_only=True)(_GT)
ufunc(np.greater_equal, real_only=True)(_GE)
ufunc(np.less, real_only=True)(_LT)
ufunc(np.less_equal, real_only=True)(_LE)
ufunc(np.equal)(_comparison(se.Eq, False))
ufunc(np.not_equal)(_NE)

# --- piecewise (real only: none of these has a complex derivative) ----------------------------
ufunc(np.absolute, np.fabs, real_only=True)(
    lambda a: complex_parts.absolute(a) if complex_parts.is_complex(a)
    else select(_GE(a, 0), a, -a))
ufunc(np.sign, real_only=True)(
    lambda a: select(_GT(a, 0), se.Integer(1), select(_LT(a, 0), se.Integer(-1), se.Integer(0))))


# maximum and minimum take the second operand where the first is NaN (NumPy's value is NaN):
# a NaN test in each would make the sorting network's selections grow past use.
ufunc(np.maximum, real_only=True)(lambda a, b: select(_GE(a, b), a, b))
ufunc(np.minimum, real_only=True)(lambda a, b: select(_LE(a, b), a, b))
# fmax and fmin: the first operand where it is the larger (smaller) or the second is NaN.
ufunc(np.fmax, real_only=True)(lambda a, b: select(_GE(a, b), a, select(_NE(b, b), a, b)))
ufunc(np.fmin, real_only=True)(lambda a, b: select(_LE(a, b), a, select(_NE(b, b), a, b)))
ufunc(np.conjugate, real_only=True)(
    lambda a: complex_parts.conjugate(a) if complex_parts.is_complex(a) else a)

# --- logic
ufunc(np.logical_and)(lambda a, b: se.And(a, b))
ufunc(np.logical_or)(lambda a, b: se.Or(a, b))
ufunc(np.logical_xor)(lambda a, b: se.Xor(a, b))
ufunc(np.logical_not)(se.Not)


@functools.lru_cache(maxsize=None)
def _elementwise(rule, nin):
    return np.frompyfunc(rule, nin, 1)


def check_holomorphic(name, inputs):
    if current_context().holomorphic and any(isinstance(x, Traced) for x in inputs):
        raise errors.UnsupportedFunctionError(
            name, "it is not holomorphic, so it has no complex derivative; it cannot be used "
                  "with holomorphic=True")


def apply_ufunc(uf, method, inputs, kwargs):
    """Evaluate a NumPy ufunc call on traced inputs."""
    name = foreign.ufunc_name(uf) + ("" if method == "__call__" else f".{method}")
    if "out" in kwargs or "where" in kwargs:
        raise errors.UnsupportedFunctionError(f"{name} with out= or where=",
                                              "traced arrays are never written in place")
    kwargs = {k: v for k, v in kwargs.items() if k not in ("dtype", "casting", "order")}
    arrays = [(_as_condition if uf in _LOGICAL else _as_number)(object_array(x)) for x in inputs]
    if uf is np.matmul and method == "__call__":
        return wrap(np.matmul(*arrays, **kwargs))
    rule = UFUNCS.get(uf)
    if rule is None or method not in ("__call__", "reduce", "accumulate", "outer"):
        raise errors.UnsupportedFunctionError(name)
    if uf in _REAL_ONLY:
        check_holomorphic(name, inputs)
    if method == "__call__" and not kwargs and all(a.ndim == 0 for a in arrays):
        # Scalars (a Python loop over entries): the rule itself, without NumPy's object-array
        # dispatch, which costs more than the symbolic arithmetic
        return wrap(rule(*[a[()] for a in arrays]))
    if method == "reduce" and arrays[0].size == 0 and uf.identity is not None \
            and kwargs.get("initial") is None:
        kwargs["initial"] = uf.identity           # np.sum of nothing is 0, np.prod's 1
    elif method in ("reduce", "accumulate") and arrays[0].size == 0:
        raise errors.UnsupportedFunctionError(f"{name} of an empty array")
    if method == "reduce":
        combine = _NARY.get(uf) or (lambda terms: functools.reduce(rule, terms))
        return wrap(_reduce(combine, *arrays, **kwargs))
    return wrap(getattr(_elementwise(rule, uf.nin), method)(*arrays, **kwargs))


_LOGICAL = (np.logical_and, np.logical_or, np.logical_xor, np.logical_not)
_to_number = np.frompyfunc(lambda v: select(v, se.Integer(1), se.Integer(0))
                           if isinstance(v, Boolean) else v, 1, 1)
_to_condition = np.frompyfunc(lambda v: v if isinstance(v, Boolean) else se.Ne(v, 0), 1, 1)


def _as_number(a: np.ndarray) -> np.ndarray:
    """``a`` with its conditions (``x > 2``, True) as the numbers 1 and 0, as NumPy computes
    with booleans: arithmetic and comparisons then see numbers only."""
    if not any(isinstance(v, Boolean) for v in a.flat):
        return a
    return np.asarray(_to_number(a), dtype=object).reshape(a.shape)


def _as_condition(a: np.ndarray) -> np.ndarray:
    """``a`` with its numbers as conditions (``x != 0``), for the logical functions."""
    if all(isinstance(v, Boolean) for v in a.flat):
        return a
    return np.asarray(_to_condition(a), dtype=object).reshape(a.shape)


# Sums and products of many terms are built in one call: folding them one term at a time, as
# NumPy's reduce does, copies the growing sum at every step and takes quadratic time.
_NARY = {np.add: lambda terms: se.Add(*terms), np.multiply: lambda terms: se.Mul(*terms)}


def _reduce(combine, a, axis=0, keepdims=False, initial=None):
    """``ufunc.reduce`` over any set of axes, ``combine`` turning each list of terms into one."""
    if axis is None:
        axes = tuple(range(a.ndim))
    else:
        axes = tuple(sorted({int(ax) % a.ndim for ax in np.atleast_1d(axis)})) if a.ndim else ()
    if not axes:
        return a.copy()
    kept = [n for i, n in enumerate(a.shape) if i not in axes]
    rows = np.moveaxis(a, axes, range(a.ndim - len(axes), a.ndim)).reshape(
        int(np.prod(kept, dtype=np.int64)), int(np.prod([a.shape[i] for i in axes],
                                                         dtype=np.int64)))
    first = [] if initial is None else [constant(initial)]
    result = np.empty(len(rows), dtype=object)
    for k, row in enumerate(rows):
        result[k] = combine(first + list(row))
    result = result.reshape(kept)
    if keepdims:
        result = result.reshape([1 if i in axes else n for i, n in enumerate(a.shape)])
    return result


@function(np.sum, np.prod)
def _sum_prod(func, a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    if out is not None or where is not None:
        raise errors.UnsupportedFunctionError(f"{numpy_name(func)} with out= or where=",
                                              "traced arrays are never written in place")
    kwargs = {"axis": axis, "keepdims": keepdims}
    if initial is not None:
        kwargs["initial"] = initial
    return apply_ufunc(np.add if func is np.sum else np.multiply, "reduce", (a,), kwargs)


def apply_function(func, args, kwargs):
    """Evaluate a NumPy function call (``__array_function__``) on traced inputs."""
    rule = FUNCTIONS.get(func)
    if rule is None:
        raise errors.UnsupportedFunctionError(numpy_name(func))
    return rule(func, *args, **kwargs)


def _unwrap(x):
    if isinstance(x, Traced):
        return x.a
    if isinstance(x, np.ndarray) and x.dtype == object:     # built by `Traced.__array__`
        return object_array(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    return x


def _delegate(func, *args, **kwargs):
    """Run the NumPy function itself on object arrays: right for structural functions."""
    # A dtype= (np.sum(x, dtype=np.float64)) would make NumPy convert the symbols to numbers;
    # traced values take the dtype of the trace anyway.
    kwargs.pop("dtype", None)
    return wrap(func(*_unwrap(args), **_unwrap(kwargs)))


function(
    np.reshape, np.ravel, np.transpose, np.swapaxes, np.moveaxis, np.rollaxis, np.squeeze,
    np.expand_dims, np.atleast_1d, np.atleast_2d, np.atleast_3d, np.broadcast_to,
    np.broadcast_arrays, np.concatenate, np.stack, np.hstack, np.vstack, np.dstack,
    np.column_stack, np.split, np.array_split, np.hsplit, np.vsplit, np.cumsum, np.cumprod, np.diff, np.dot, np.inner, np.outer, np.tensordot, np.einsum,
    np.kron, np.cross, np.trace, np.diagonal, np.diag, np.diagflat, np.triu, np.tril, np.flip,
    np.fliplr, np.flipud, np.roll, np.rot90, np.tile, np.repeat, np.take, np.take_along_axis,
    np.copy, np.shape, np.ndim, np.size, np.append, np.pad,
)(_delegate)


def _like(value):
    def rule(func, a, *args, **kwargs):
        fill = (args[0] if args else kwargs["fill_value"]) if value is None else value
        shape = kwargs.get("shape", a.shape if isinstance(a, Traced) else np.shape(a))
        return Traced(object_array(np.full(shape, constant(fill), dtype=object)))
    return rule


function(np.zeros_like, np.empty_like)(_like(0))
function(np.ones_like)(_like(1))
function(np.full_like)(_like(None))


@function(np.mean)
def _mean(func, a, axis=None, dtype=None, out=None, keepdims=False):
    count = np.size(a) if axis is None else np.prod([np.shape(a)[i] for i in np.atleast_1d(axis)])
    return np.sum(a, axis=axis, keepdims=keepdims) / count


@function(np.var)
def _var(func, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    count = np.size(a) if axis is None else np.prod([np.shape(a)[i] for i in np.atleast_1d(axis)])
    d = a - np.mean(a, axis=axis, keepdims=True)
    return np.sum(d * d, axis=axis, keepdims=keepdims) / (count - ddof)


@function(np.std)
def _std(func, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return np.sqrt(np.var(a, axis=axis, ddof=ddof, keepdims=keepdims))


def _extremum(ufunc, a, axis, out, keepdims, initial, where):
    if out is not None or where is not None:
        raise errors.UnsupportedFunctionError(f"np.{ufunc.__name__[:3]} with out= or where=")
    result = ufunc.reduce(a, axis=axis, keepdims=keepdims)
    return result if initial is None else ufunc(result, initial)


@function(np.max, np.amax, np.min, np.amin)
def _max_or_min(func, a, axis=None, out=None, keepdims=False, initial=None, where=None):
    ufunc = np.maximum if func in (np.max, np.amax) else np.minimum
    return _extremum(ufunc, a, axis, out, keepdims, initial, where)


@function(np.where)
def _where(func, cond, *values):
    if len(values) != 2:
        raise errors.UnsupportedFunctionError("np.where with one argument",
                                              "it returns indices; use np.where(cond, a, b)")
    if any(isinstance(v, Traced) for v in (cond, *values)):
        check_holomorphic("np.where", (cond,))
    c, a, b = (object_array(v) for v in (cond, *values))
    return wrap(_elementwise(select, 3)(_as_condition(c), _as_number(a), _as_number(b)))


@function(np.clip)
def _clip(func, a, a_min=None, a_max=None, **kwargs):
    a_min, a_max = kwargs.get("min", a_min), kwargs.get("max", a_max)
    if a_min is not None:
        a = np.maximum(a, a_min)
    if a_max is not None:
        a = np.minimum(a, a_max)
    return a


@function(np.real, np.imag)
def _parts(func, a):
    """Of a real value, the value and 0; of a complex value computed from real arguments
    (``x + 1j * y``), its parts (`symhess.complex_parts`)."""
    check_holomorphic(numpy_name(func), (a,))
    values = object_array(a)
    if complex_parts.is_complex(*values.flat):
        return wrap(_elementwise(getattr(complex_parts, func.__name__), 1)(values))
    return a if func is np.real else np.zeros_like(a)


def supported_functions() -> list[str]:
    """Names of the NumPy and SciPy functions and ufuncs that symhess can trace (in either
    tier: the array tier's linear algebra, ``np.linalg.slogdet`` and ``cholesky``, is included;
    SciPy's functions as `symhess.foreign` defines them)."""
    from .arrays import indexing, linalg, numpy_rules  # noqa: F401  (they register rules)
    names = {foreign.ufunc_name(u) for u in UFUNCS} | {"np.matmul"}
    names |= {numpy_name(f) for f in FUNCTIONS}
    names |= {numpy_name(f) for f in numpy_rules.FUNCTIONS}
    names |= {foreign.ufunc_name(u)
              for u in (*numpy_rules.UNARY_UFUNCS, *numpy_rules.BINARY_UFUNCS)}
    names |= set(foreign.scipy_names())
    names |= {numpy_name(f) for f in foreign.numpy_names.FUNCTIONS}
    return sorted(names)


Rules.ufunc = apply_ufunc
Rules.own = frozenset(foreign.KEPT_WHOLE) | {foreign.HOLD}  # kept whole here (`special`)
Rules.function = apply_function

foreign.give_ufunc_methods(Traced, UFUNCS)     # for object arrays of traced elements
