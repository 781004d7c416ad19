"""Rules of the NumPy functions that are not element-wise, for the autodiff's jets.

Reductions and cumulative sums act on the leading axes of the packed arrays; structural functions
(reshape, transpose, concatenate, indexing, ...) run on arrays of row numbers and gather the
packed rows; multilinear functions (dot, matmul, einsum, ...) use the product rule. Matrix
functions (det, inv, cholesky, eigh, ...) are in `symhess.autodiff.linalg`.
"""

from __future__ import annotations

import itertools
import string

import numpy as np

from ..errors import OperandError, UnsupportedFunctionError
from ..foreign.numpy_names import norm_of_matrices
from .jet import FUNCTIONS, REASON, Jet, function, make, pack, seed_of, select, value
from .reductions import accumulate, axes, reduce


@function(np.sum)
def _sum(func, a, axis=None, dtype=None, out=None, keepdims=False, initial=0, where=None):
    if out is not None or where is not None:
        raise UnsupportedFunctionError("np.sum with out= or where=", REASON)
    return reduce(np.add, a, axis, keepdims) + initial


@function(np.prod)
def _prod(func, a, axis=None, dtype=None, out=None, keepdims=False):
    return reduce(np.multiply, a, axis, keepdims)


@function(np.max, np.amax)
def _max(func, a, axis=None, out=None, keepdims=False):
    return reduce(np.maximum, a, axis, keepdims)


@function(np.min, np.amin)
def _min(func, a, axis=None, out=None, keepdims=False):
    return reduce(np.minimum, a, axis, keepdims)


def _count(a, axis):
    return int(np.prod([np.shape(a)[i] for i in axes(pack(a, seed_of(a)), axis)]))


@function(np.mean)
def _mean(func, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(a, axis=axis, keepdims=keepdims) / _count(a, axis)


@function(np.var)
def _var(func, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    d = a - np.mean(a, axis=axis, keepdims=True)
    return np.sum(d * d, axis=axis, keepdims=keepdims) / (_count(a, axis) - ddof)


@function(np.std)
def _std(func, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return np.sqrt(np.var(a, axis=axis, ddof=ddof, keepdims=keepdims))


@function(np.cumsum, np.cumprod)
def _cumulative(func, a, axis=None, dtype=None, out=None):
    if axis is None:
        a, axis = np.ravel(a), 0
    return accumulate(np.add if func is np.cumsum else np.multiply, a, axis)


@function(np.diff)
def _diff(func, a, n=1, axis=-1, prepend=None, append=None):
    a = pack(a, seed_of(a))
    ax = axes(a, axis)[0]
    edge = a.shape[:ax] + (1,) + a.shape[ax + 1:]
    parts = [np.broadcast_to(p, edge) if np.ndim(p) == 0 else p for p in (prepend, append)]
    if prepend is not None or append is not None:
        a = np.concatenate([p for p in (parts[0], a, parts[1]) if p is not None], axis=ax)
    # Rounding bound: each difference adds its operands' bounds and rounds their magnitudes.
    m = a.m + np.abs(a.d)
    for _ in range(n):
        m = np.delete(m, 0, axis=ax) + np.delete(m, -1, axis=ax)
    return Jet(np.diff(a.d, n=n, axis=ax), a.seed, m)


@function(np.trace)
def _trace(func, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return np.sum(np.diagonal(a, offset, axis1, axis2), axis=-1)


@function(np.where)
def _where(func, cond, *values):
    if len(values) != 2:
        raise UnsupportedFunctionError("np.where with one argument", REASON)
    return select(np.asarray(value(cond)) != 0, *values)


@function(np.clip)
def _clip(func, a, a_min=None, a_max=None, **kwargs):
    a_min, a_max = kwargs.get("min", a_min), kwargs.get("max", a_max)
    a = a if a_min is None else np.maximum(a, a_min)
    return a if a_max is None else np.minimum(a, a_max)


@function(np.real, np.imag)
def _real_imag(func, a):
    if isinstance(a, Jet) and a.d.dtype.kind == "c":
        if not a.seed.real:
            raise UnsupportedFunctionError(f"np.{func.__name__} of a complex value",
                                           "it is not holomorphic")
        return Jet(func(a.d), a.seed, a.m)      # a complex value computed from real variables
    return a if func is np.real else make(a.seed, np.zeros(a.shape))


@function(np.zeros_like, np.ones_like, np.empty_like, np.full_like)
def _like(func, a, *args, **kwargs):
    shape = kwargs.get("shape", np.shape(a))
    fill = {np.zeros_like: 0.0, np.empty_like: 0.0, np.ones_like: 1.0}.get(func)
    if fill is None:
        fill = args[0] if args else kwargs["fill_value"]
    return make(a.seed, np.full(shape, value(fill)))


@function(np.shape, np.ndim, np.size)
def _meta(func, a, *args):
    return func(np.empty(a.shape), *args)


# --- structural functions: run them on index arrays, then gather the packed rows -------------
def _structural(data):
    """A rule for a function that only moves entries: ``data`` says which arguments are arrays.

    The function runs once on the values (right for constants mixed in) and once on arrays of
    row numbers (1-based; 0 stands for an entry that is a constant), and the packed rows are
    gathered with the result.
    """
    def rule(func, *args, **kwargs):
        seed = seed_of(*args, *kwargs.values())
        if data != "seq":           # a list holding jets where an array goes: one jet
            args = tuple(pack(np.array(a, dtype=object), seed)
                         if isinstance(a, (list, tuple)) and seed_of(a) else a for a in args)
        rows, offset, bounds = [np.zeros((1, seed.K))], [1], [np.zeros((1, seed.K))]

        def index(x):
            if isinstance(x, Jet):
                rows.append(x.d.reshape(-1, seed.K))
                bounds.append(x.m.reshape(-1, seed.K))
                offset[0] += x.size
                return np.arange(offset[0] - x.size, offset[0]).reshape(x.shape)
            return np.zeros(np.shape(x), dtype=np.intp)

        def over(fn):
            if data == "seq":
                return (type(args[0])(map(fn, args[0])),) + args[1:]
            if data == "all":
                return tuple(map(fn, args))
            return (fn(args[0]),) + args[1:]

        ikwargs = dict(kwargs)
        if func is np.pad:
            mode = kwargs.get("mode", "constant")
            # Modes that compute new values (mean, linear_ramp, odd reflection) are not moves.
            if mode not in ("constant", "edge", "wrap", "reflect", "symmetric") \
                    or kwargs.get("reflect_type", "even") != "even":
                raise UnsupportedFunctionError(f"np.pad with mode={kwargs.get('mode')!r}", REASON)
            ikwargs["constant_values"] = 0
        values = func(*over(value), **kwargs)
        indices = func(*over(index), **ikwargs)
        table, bound_table = np.concatenate(rows), np.concatenate(bounds)

        def gather(val, idx):
            d = np.array(table[idx], dtype=np.result_type(table, val))
            d[..., 0] = val
            return Jet(d, seed, bound_table[idx])

        if isinstance(indices, (list, tuple)):
            return type(indices)(gather(v, i) for v, i in zip(values, indices))
        return gather(values, indices)
    return rule


function(np.reshape, np.ravel, np.transpose, np.swapaxes, np.moveaxis, np.rollaxis, np.squeeze,
         np.expand_dims, np.broadcast_to, np.split, np.array_split, np.hsplit, np.vsplit,
         np.diagonal, np.diag, np.diagflat, np.triu, np.tril, np.flip, np.fliplr, np.flipud,
         np.roll, np.rot90, np.tile, np.repeat, np.take, np.take_along_axis, np.copy,
         np.pad)(_structural("first"))
function(np.concatenate, np.stack, np.hstack, np.vstack, np.dstack,
         np.column_stack)(_structural("seq"))
function(np.append, np.broadcast_arrays, np.atleast_1d, np.atleast_2d,
         np.atleast_3d)(_structural("all"))


# --- multilinear functions: the product rule over einsum ----------------------------------------
def einsum(subscripts, *operands, bound=True):
    """``np.einsum`` of jets and constants (explicit or implicit output, ``...`` allowed).

    The product rule is multilinear in the operands' packed parts, so the rounding bound is the
    same einsum in absolute values (what the products and sums round) plus, per jet operand, the
    einsum with that operand's bound in its place and the others' absolute values.
    """
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
    else:
        ins = subscripts
        letters = ins.replace(".", "").replace(",", "")
        out = ("..." if "..." in ins else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    specs = ins.split(",")
    y, z = [c for c in string.ascii_letters if c not in subscripts][:2]
    seed = seed_of(*operands)
    jets = [i for i, x in enumerate(operands) if isinstance(x, Jet)]
    vals = [value(x) for x in operands]

    def term(replace, extra):
        ops, sp = list(vals), list(specs)
        for i, (arr, letters) in replace.items():
            ops[i], sp[i] = arr, sp[i] + letters
        return np.einsum(",".join(sp) + "->" + out + extra, *ops, optimize=len(ops) > 2)

    r = slice(seed.r0, seed.r1)
    v = term({}, "")
    g = sum(term({i: (operands[i].g, z)}, z) for i in jets)
    h = sum(term({i: (operands[i].h, y + z)}, y + z) for i in jets)
    for i, j in itertools.permutations(jets, 2):
        h = h + term({i: (operands[i].g[..., r], y), j: (operands[j].g, z)}, y + z)
    out = make(seed, v, g, h)
    if bound:
        absolute = [Jet(np.abs(x.d), seed) if isinstance(x, Jet) else np.abs(x)
                    for x in operands]
        m = einsum(subscripts, *absolute, bound=False).d
        for i in jets:
            perturbed = list(absolute)
            perturbed[i] = Jet(operands[i].m, seed)
            m = m + einsum(subscripts, *perturbed, bound=False).d
        out.m = np.broadcast_to(m, out.d.shape)
    return out


FUNCTIONS[np.einsum] = lambda func, subscripts, *ops, **kw: einsum(subscripts, *ops)
_L = string.ascii_lowercase


@function(np.matmul)
def _matmul(func, a, b, **kwargs):
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        raise OperandError("np.matmul: operands must not be 0-d; use * instead")
    sa = "k" if na == 1 else "...mk"
    sb = "k" if nb == 1 else "...kn"
    so = ("..." if max(na, nb) > 1 else "") + ("m" if na > 1 else "") + ("n" if nb > 1 else "")
    return einsum(f"{sa},{sb}->{so}", a, b)


@function(np.dot)
def _dot(func, a, b, out=None):
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    la, lb = _L[:na], list(_L[na:na + nb])
    lb[0 if nb == 1 else -2] = la[-1]
    return einsum(f"{la},{''.join(lb)}->{la[:-1]}{''.join(c for c in lb if c != la[-1])}", a, b)


@function(np.inner)
def _inner(func, a, b):
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    la, lb = _L[:na], _L[na:na + nb - 1] + _L[na - 1]
    return einsum(f"{la},{lb}->{la[:-1]}{lb[:-1]}", a, b)


@function(np.outer)
def _outer(func, a, b, out=None):
    return einsum("i,j->ij", np.ravel(a), np.ravel(b))


@function(np.tensordot)
def _tensordot(func, a, b, axes=2):
    na, nb = np.ndim(a), np.ndim(b)
    if isinstance(axes, int):
        axes = (list(range(na - axes, na)), list(range(axes)))
    ax_a, ax_b = ([x % n for x in np.atleast_1d(ax)] for ax, n in zip(axes, (na, nb)))
    la, lb = list(_L[:na]), list(_L[na:na + nb])
    for i, j in zip(ax_a, ax_b):
        lb[j] = la[i]
    out = ([c for k, c in enumerate(la) if k not in ax_a]
           + [c for k, c in enumerate(lb) if k not in ax_b])
    return einsum(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", a, b)


@function(np.kron)
def _kron(func, a, b):
    nd = max(np.ndim(a), np.ndim(b))
    a = np.reshape(a, (1,) * (nd - np.ndim(a)) + np.shape(a))
    b = np.reshape(b, (1,) * (nd - np.ndim(b)) + np.shape(b))
    la, lb = _L[:nd], _L[nd:2 * nd]
    outer = einsum(f"{la},{lb}->{''.join(x + y for x, y in zip(la, lb))}", a, b)
    return np.reshape(outer, tuple(x * y for x, y in zip(np.shape(a), np.shape(b))))


@function(np.cross)
def _cross(func, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b = np.moveaxis(a, axis or axisa, -1), np.moveaxis(b, axis or axisb, -1)
    if np.shape(a)[-1] == 2 and np.shape(b)[-1] == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    i, j = [1, 2, 0], [2, 0, 1]
    return np.moveaxis(a[..., i] * b[..., j] - a[..., j] * b[..., i], -1, axis or axisc)


@function(np.linalg.norm)
def _norm(func, x, ord=None, axis=None, keepdims=False):
    if isinstance(x, Jet) and x.d.dtype.kind == "c":
        raise UnsupportedFunctionError("np.linalg.norm of a complex value", "it is not holomorphic")
    matrix = (axis is None and np.ndim(x) == 2) or (isinstance(axis, tuple) and len(axis) == 2)
    if ord in (None, "fro") or (ord == 2 and not matrix):
        return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
    if matrix:
        return norm_of_matrices(x, ord, axis, keepdims)
    if ord == np.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(np.abs(x), axis=axis, keepdims=keepdims)
    return np.sum(np.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)
