"""The NumPy functions the array tier traces: one table, one entry per function.

Each entry turns a NumPy call on `SymArray` values into graph nodes (`symhess.arrays.graph`).
Functions not in the table raise `Unsupported`: the scalar tier, which knows more functions,
then traces the function instead.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..foreign import ERF, ERFC, KEPT_WHOLE, ufunc_name
from ..registry import registrar
from .einsum import matmul_labels, parse, tensordot_labels
from .graph import Builder, Node, Unsupported
from .tracer import Rules, SymArray, lift

# --- ufuncs ----------------------------------------------------------------------------------
UNARY_UFUNCS = {
    np.negative: "neg", np.exp: "exp", np.log: "log", np.log1p: "log1p", np.expm1: "expm1",
    np.sin: "sin", np.cos: "cos", np.tan: "tan", np.tanh: "tanh", np.sinh: "sinh",
    np.cosh: "cosh", np.sqrt: "sqrt", np.absolute: "abs", np.fabs: "abs", np.sign: "sign",
    np.arctan: "arctan", np.arcsin: "arcsin", np.arccos: "arccos", np.arcsinh: "arcsinh",
    np.arctanh: "arctanh", np.floor: "floor", np.ceil: "ceil", np.logical_not: "not",
    np.square: "square", np.reciprocal: "recip", ERF: "erf", ERFC: "erfc",
}
BINARY_UFUNCS = {
    np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div",
    np.power: "pow", np.maximum: "maximum", np.minimum: "minimum",
    np.arctan2: "arctan2", np.fmod: "fmod", np.greater: "gt",
    np.greater_equal: "ge",
    np.less: "lt", np.less_equal: "le", np.equal: "eq", np.not_equal: "ne",
    np.logical_and: "and", np.logical_or: "or",
}


def _builder(values) -> Builder:
    for v in values:
        if isinstance(v, SymArray):
            return v.node.builder
        if isinstance(v, (list, tuple)):
            found = _builder(v)
            if found is not None:
                return found
    return None


def wrap(node):
    return SymArray(node) if isinstance(node, Node) else node


def apply_ufunc(ufunc, method, inputs, kwargs):
    if method != "__call__" or kwargs.get("out") is not None or kwargs.get("where") is not None:
        raise Unsupported(f"{ufunc_name(ufunc)}.{method}")
    b = _builder(inputs)
    nodes = [lift(b, x) for x in inputs]
    if ufunc in UNARY_UFUNCS:
        return wrap(b.unary(UNARY_UFUNCS[ufunc], nodes[0]))
    if ufunc in BINARY_UFUNCS:
        return wrap(b.binary(BINARY_UFUNCS[ufunc], nodes[0], nodes[1]))
    if ufunc is np.matmul:
        return wrap(_matmul(b, *nodes))
    if ufunc is np.conjugate:           # the array tier's values are real
        return wrap(nodes[0])
    if ufunc in (np.fmax, np.fmin):     # a NaN operand gives the other one (x != x: a NaN)
        x, y = nodes
        extreme = b.binary("maximum" if ufunc is np.fmax else "minimum", x, y)
        return wrap(b.where(b.binary("ne", x, x), y,
                             b.where(b.binary("ne", y, y), x, extreme)))
    if ufunc in (np.log2, np.log10):
        return wrap(b.unary("log", nodes[0]) * (1.0 / math.log(2.0 if ufunc is np.log2 else 10.0)))
    if ufunc is np.exp2:
        return wrap(b.unary("exp", nodes[0] * math.log(2.0)))
    if ufunc is np.hypot:
        return wrap(b.unary("sqrt", nodes[0] * nodes[0] + nodes[1] * nodes[1]))
    if ufunc is np.logaddexp:
        # The larger operand plus softplus of the other minus it, with one selection for
        # both: each branch is the whole smooth function, so its derivatives hold at ties
        # too (max and |x - y| differentiated apart would give (1, 0), not (1/2, 1/2)).
        x, y = nodes
        first = b.binary("ge", x, y)
        big, small = b.where(first, x, y), b.where(first, y, x)
        return wrap(big + b.unary("log1p", b.unary("exp", small - big)))
    if ufunc in KEPT_WHOLE:             # its value as computed, its derivatives in closed form
        # (a shape of an incomplete gamma or beta function is held with ``shape=True``: a
        # derivative with respect to it is refused, `rules`)
        stop = lambda v, shape=False: SymArray(                              # noqa: E731
            b.unary("held_shape" if shape else "stop", v.node))
        return KEPT_WHOLE[ufunc](inputs, [SymArray(n) for n in nodes], stop)
    if ufunc is np.logical_xor:         # truth values that differ
        x, y = (v if v.dtype == "b" else b.binary("ne", v, b.const(0.0)) for v in nodes)
        return wrap(b.binary("ne", x, y))
    raise Unsupported(ufunc_name(ufunc))


def _matmul(b, x, y):
    la, lb, out = matmul_labels(x.ndim, y.ndim)
    if x.ndim > 2 and y.ndim > 2 and x.shape[:-2] != y.shape[:-2]:
        raise Unsupported("matmul with broadcast batch axes")
    return b.einsum([x, y], [la, lb], out)


# --- functions -------------------------------------------------------------------------------
FUNCTIONS = {}
function = registrar(FUNCTIONS)     # @function(*numpy_functions): rule(builder, *args, **kw)


def apply_function(func, args, kwargs):
    rule = FUNCTIONS.get(func)
    if rule is None:
        raise Unsupported(f"np.{getattr(func, '__name__', func)}")
    b = _builder(list(args) + list(kwargs.values()))
    result = rule(b, *args, **kwargs)
    if isinstance(result, (list, tuple)):
        wrapped = [wrap(r) for r in result]
        return type(result)(*wrapped) if hasattr(result, "_fields") else type(result)(wrapped)
    return wrap(result)


def reduction_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, numbers.Integral):
        axis = (axis,)
    return tuple(int(a) % max(ndim, 1) for a in axis)


def kept_dims(b, result, x, axes, keepdims):
    if not keepdims:
        return result
    return b.reshape(result, tuple(1 if k in axes else n for k, n in enumerate(x.shape)))


def _no_extras(name, **extras):
    for key, value in extras.items():
        if value is not None:
            raise Unsupported(f"np.{name} with {key}=")


function(np.shape)(lambda b, a: lift(b, a).shape)
function(np.ndim)(lambda b, a: lift(b, a).ndim)
function(np.size)(lambda b, a, axis=None: lift(b, a).size if axis is None
                  else lift(b, a).shape[axis])
# the array tier's values are real (a complex constant is refused)
function(np.real)(lambda b, a: lift(b, a))
function(np.imag)(lambda b, a: b.zeros(lift(b, a).shape))


@function(np.sum)
def _sum(b, a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _no_extras("sum", out=out, initial=initial, where=where)
    x = lift(b, a)
    axes = reduction_axes(axis, x.ndim)
    return kept_dims(b, b.sum(x, axes), x, axes, keepdims)


@function(np.mean)
def _mean(b, a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    _no_extras("mean", out=out, where=where)
    x = lift(b, a)
    axes = reduction_axes(axis, x.ndim)
    count = math.prod(x.shape[k] for k in axes)
    return kept_dims(b, b.sum(x, axes) * (1.0 / count), x, axes, keepdims)


@function(np.var)
def _var(b, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None):
    _no_extras("var", out=out, where=where)
    x = lift(b, a)
    axes = reduction_axes(axis, x.ndim)
    count = math.prod(x.shape[k] for k in axes)
    mean = b.sum(x, axes) * (1.0 / count)
    kept = tuple(k for k in range(x.ndim) if k not in axes)
    d = x - b.bcast(mean, x.shape, kept)
    var = b.sum(d * d, axes) * (1.0 / (count - ddof))
    return kept_dims(b, var, x, axes, keepdims)


@function(np.std)
def _std(b, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None):
    return b.unary("sqrt", _var(b, a, axis, dtype, out, ddof, keepdims, where))


@function(np.max, np.amax)
def _max(b, a, axis=None, out=None, keepdims=False, initial=None, where=None):
    _no_extras("max", out=out, initial=initial, where=where)
    x = lift(b, a)
    axes = reduction_axes(axis, x.ndim)
    return kept_dims(b, b.max(x, axes), x, axes, keepdims)


@function(np.min, np.amin)
def _min(b, a, axis=None, out=None, keepdims=False, initial=None, where=None):
    _no_extras("min", out=out, initial=initial, where=where)
    x = lift(b, a)
    axes = reduction_axes(axis, x.ndim)
    return kept_dims(b, -b.max(-x, axes), x, axes, keepdims)


@function(np.dot)
def _dot(b, a, c, out=None):
    _no_extras("dot", out=out)
    x, y = lift(b, a), lift(b, c)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if y.ndim <= 2:
        return _matmul(b, x, y)
    la, lb, out = tensordot_labels(x.ndim, y.ndim, ([-1], [-2]))
    return b.einsum([x, y], [la, lb], out)


@function(np.matmul)
def _matmul_function(b, a, c, **kwargs):
    return _matmul(b, lift(b, a), lift(b, c))


@function(np.vdot, np.inner)
def _inner(b, a, c):
    x, y = lift(b, a), lift(b, c)
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return x * y
    la, lb, out = tensordot_labels(x.ndim, y.ndim, ([-1], [-1]))
    return b.einsum([x, y], [la, lb], out)


@function(np.outer)
def _outer(b, a, c, out=None):
    x, y = lift(b, a), lift(b, c)
    x, y = b.reshape(x, (x.size,)), b.reshape(y, (y.size,))
    return b.einsum([x, y], [(0,), (1,)], (0, 1))


@function(np.tensordot)
def _tensordot(b, a, c, axes=2):
    x, y = lift(b, a), lift(b, c)
    la, lb, out = tensordot_labels(x.ndim, y.ndim, axes)
    return b.einsum([x, y], [la, lb], out)


@function(np.einsum)
def _einsum(b, subscripts, *operands, optimize=False, **kwargs):
    if not isinstance(subscripts, str) or kwargs:
        raise Unsupported("np.einsum in its interleaved form or with options")
    nodes = [lift(b, x) for x in operands]
    labels, out = parse(subscripts, [x.shape for x in nodes])
    return b.einsum(nodes, labels, out)


# --- shapes ----------------------------------------------------------------------------------
def _shape_of(shape, size):
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    shape = [int(n) for n in shape]
    if shape.count(-1) == 1:
        known = math.prod(n for n in shape if n != -1)
        shape[shape.index(-1)] = size // known if known else 0
    return tuple(shape)


@function(np.reshape)
def _reshape(b, a, newshape=None, order="C", shape=None, **kwargs):
    if order != "C":
        raise Unsupported("reshape with order other than C")
    x = lift(b, a)
    return b.reshape(x, _shape_of(newshape if shape is None else shape, x.size))


@function(np.ravel)
def _ravel(b, a, order="C"):
    x = lift(b, a)
    return b.reshape(x, (x.size,))


@function(np.transpose)
def _transpose(b, a, axes=None):
    x = lift(b, a)
    perm = tuple(reversed(range(x.ndim))) if axes is None else tuple(int(p) % x.ndim for p in axes)
    return b.transpose(x, perm)


@function(np.moveaxis)
def _moveaxis(b, a, source, destination):
    x = lift(b, a)
    src = [int(s) % x.ndim for s in np.atleast_1d(source)]
    dst = [int(d) % x.ndim for d in np.atleast_1d(destination)]
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return b.transpose(x, tuple(order))


@function(np.swapaxes)
def _swapaxes(b, a, axis1, axis2):
    x = lift(b, a)
    perm = list(range(x.ndim))
    i, j = axis1 % x.ndim, axis2 % x.ndim
    perm[i], perm[j] = perm[j], perm[i]
    return b.transpose(x, perm)


@function(np.squeeze)
def _squeeze(b, a, axis=None):
    x = lift(b, a)
    axes = [k for k, n in enumerate(x.shape) if n == 1] if axis is None \
        else reduction_axes(axis, x.ndim)
    return b.reshape(x, tuple(n for k, n in enumerate(x.shape) if k not in axes))


@function(np.expand_dims)
def _expand_dims(b, a, axis):
    x = lift(b, a)
    shape = list(x.shape)
    for ax in sorted(reduction_axes(axis, x.ndim + (1 if isinstance(axis, int) else len(axis)))):
        shape.insert(ax, 1)
    return b.reshape(x, tuple(shape))


@function(np.broadcast_to)
def _broadcast_to(b, a, shape, subok=False):
    return b.broadcast_to(lift(b, a), _shape_of(shape, 0))


@function(np.broadcast_arrays)
def _broadcast_arrays(b, *arrays, subok=False):
    nodes = [lift(b, x) for x in arrays]
    shape = np.broadcast_shapes(*(x.shape for x in nodes))
    return tuple(b.broadcast_to(x, shape) for x in nodes)


@function(np.concatenate)
def _concatenate(b, arrays, axis=0, out=None, **kwargs):
    _no_extras("concatenate", out=out)
    nodes = [lift(b, x) for x in arrays]
    if axis is None:
        nodes, axis = [b.reshape(x, (x.size,)) for x in nodes], 0
    return b.concat(nodes, int(axis) % nodes[0].ndim)


@function(np.copy)
def _copy(b, a, order="K", subok=False):
    return lift(b, a)          # nodes are values: a new array object is the copy


@function(np.stack)
def _stack(b, arrays, axis=0, out=None, **kwargs):
    _no_extras("stack", out=out)
    nodes = [lift(b, x) for x in arrays]
    axis = int(axis) % (nodes[0].ndim + 1)
    expanded = [b.reshape(x, x.shape[:axis] + (1,) + x.shape[axis:]) for x in nodes]
    return b.concat(expanded, axis)


@function(np.hstack)
def _hstack(b, arrays, **kwargs):
    nodes = [lift(b, x) for x in arrays]
    return b.concat(nodes, 0 if nodes[0].ndim == 1 else 1)


@function(np.vstack)
def _vstack(b, arrays, **kwargs):
    nodes = [lift(b, x) for x in arrays]
    nodes = [b.reshape(x, (1, x.size)) if x.ndim == 1 else x for x in nodes]
    return b.concat(nodes, 0)


@function(np.where)
def _where(b, cond, *values):
    if len(values) != 2:
        raise Unsupported("np.where with one argument")
    return b.where(lift(b, cond), lift(b, values[0]), lift(b, values[1]))


@function(np.clip)
def _clip(b, a, a_min=None, a_max=None, out=None, **kwargs):
    _no_extras("clip", out=out)
    x = lift(b, a)
    if a_min is not None:
        x = b.binary("maximum", x, lift(b, a_min))
    if a_max is not None:
        x = b.binary("minimum", x, lift(b, a_max))
    return x


@function(np.zeros_like, np.ones_like)
def _like(b, a, dtype=None, **kwargs):
    raise Unsupported("np.zeros_like of a traced array")


Rules.ufunc, Rules.function = apply_ufunc, apply_function
Rules.own = frozenset(KEPT_WHOLE)
