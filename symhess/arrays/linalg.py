"""Linear algebra in the array tier: matrix functions as array nodes with matrix-calculus rules.

Four primitives are computed numerically in the kernel (`symhess.arrays.factor` prints their
loops and LAPACK calls); each acts on the square matrices in its operand's last two axes,
stacked along the leading ones as NumPy's ``np.linalg`` does:

========== =================================================================================
inv        the inverse (LAPACK's LU, or Gauss-Jordan elimination with partial pivoting)
cholesky   the lower Cholesky factor of the symmetric matrix whose lower triangle is the
           operand's (NumPy's ``np.linalg.cholesky`` reads only that triangle too)
slogdet    shape ``stack + (2,)``: the sign and the logarithm of the absolute value of the
           determinant (LU with partial pivoting)
eigh       shape ``stack + (n + 1, n)``: the eigenvalues (row 0, ascending) and eigenvectors
           (below, as columns) of the symmetric matrix of the lower triangle (LAPACK's syev)
========== =================================================================================

Everything else is built from them: ``solve(A, b) = inv(A) @ b``, ``det`` (a closed form up to
3x3, else ``sign * exp(logabsdet)``). Hash-consing makes one ``inv(A)`` per matrix, whatever
number of solves, log-determinants and derivative terms read it: the factorisation is computed
once per call.

Their derivatives are matrix-calculus rules built from array nodes, so second derivatives come
from the same rules applied again:

- ``d inv(A) = -inv(A) dA inv(A)``;
- ``d logabsdet(A) = tr(inv(A) dA)`` (the sign is piecewise constant);
- ``d chol(A) = L Phi(L^-1 dS L^-T)`` with ``dS`` the symmetric matrix of ``dA``'s lower
  triangle and ``Phi`` the lower triangle with half the diagonal (Murray 2016); its reverse
  rule is ``S = L^-T Phi(L^T Lbar) L^-1`` folded back onto the lower triangle;
- ``eigh``: ``dw = diag(V' dS V)``, ``dV = V (F * V' dS V)`` with ``F[i, j] = 1 / (w[j] -
  w[i])`` (NaN for equal eigenvalues, whose eigenvectors have no derivative).

Cholesky's and ``eigh``'s derivatives are those of the values computed (from the lower
triangle); JAX instead symmetrizes ``dA``, which agrees whenever the matrix is a symmetric
function of the variables.
"""

from __future__ import annotations


import numpy as np

from .. import errors
from ..foreign import EighResult, SlogdetResult
from ..foreign.numpy_names import norm_of_matrices
from .graph import Unsupported
from .numpy_rules import function, kept_dims, reduction_axes
from .tracer import SymArray, lift

OPS = ("inv", "cholesky", "slogdet", "eigh")



# --- the primitives ------------------------------------------------------------------------
def _square(name, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise errors.OperandError(
            f"{name} needs square matrices in the last two axes; got shape {a.shape}")
    if a.dtype != "f":
        a = a * 1.0
    return a


def inv(b, a):
    return b.node("inv", (_square("np.linalg.inv", a),), (), a.shape)


def cholesky(b, a):
    return b.node("cholesky", (_square("np.linalg.cholesky", a),), (), a.shape)


def slogdet(b, a):
    """The (sign, log|det|) of each matrix: two nodes reading one ``slogdet`` node."""
    a = _square("np.linalg.slogdet", a)
    both = b.node("slogdet", (a,), (), a.shape[:-2] + (2,))
    stack = _full(a.shape[:-2])
    return (b.slice(both, stack + (("i", 0),)), b.slice(both, stack + (("i", 1),)))


def eigh(b, a):
    """The eigenvalues (ascending) and eigenvectors (columns) of each symmetric matrix whose
    lower triangle is ``a``'s: two nodes reading one ``eigh`` node, shape ``stack + (n + 1,
    n)``: the eigenvalues in row 0, the eigenvectors' matrix below."""
    a = _square("np.linalg.eigh", a)
    n, stack = a.shape[-1], _full(a.shape[:-2])
    both = b.node("eigh", (a,), (), a.shape[:-2] + (n + 1, n))
    return (b.slice(both, stack + (("i", 0), ("s", 0, 1, n))),
            b.slice(both, stack + (("s", 1, 1, n), ("s", 0, 1, n))))


def _full(shape):
    return tuple(("s", 0, 1, n) for n in shape)


def _swap(b, x):
    """``x`` with its last two axes swapped (each matrix transposed)."""
    perm = list(range(x.ndim))
    perm[-2:] = perm[-1], perm[-2]
    return b.transpose(x, perm)


def _mask(b, matrix, shape):
    return b.broadcast_to(b.const(np.asarray(matrix, dtype=float)), shape)


# --- derivatives ---------------------------------------------------------------------------
def _labels(nb, ns):
    return tuple(1000 + i for i in range(nb)), tuple(500 + i for i in range(ns))


def jvp_rule(b, node, tangents, batch):
    """The tangent of a linear-algebra ``node`` (shape ``batch + node.shape``)."""
    a, t = node.args[0], tangents[0]
    if t is None:
        return None
    ns = a.ndim - 2
    bl, sl = _labels(len(batch), ns)
    if node.op == "inv":                     # -X dA X
        p = b.einsum([t, node], [bl + sl + (0, 1), sl + (1, 2)], bl + sl + (0, 2))
        return -b.einsum([node, p], [sl + (3, 0), bl + sl + (0, 2)], bl + sl + (3, 2))
    if node.op == "slogdet":                 # (0, tr(X dA))
        x = inv(b, a)
        trace = b.einsum([x, t], [sl + (1, 0), bl + sl + (0, 1)], bl + sl)
        shape = batch + node.shape
        trace = b.reshape(trace, shape[:-1] + (1,))
        return b.embed(trace, shape, _full(shape[:-1]) + (("s", 1, 1, 1),))
    if node.op == "eigh":                    # dw = diag(P), dV = V (F * P), P = V' dS V
        n = a.shape[-1]
        w, v = eigh(b, a)
        p = b.einsum([v, _lower_symmetric(b, t)], [sl + (0, 1), bl + sl + (0, 2)],
                     bl + sl + (1, 2))
        p = b.einsum([p, v], [bl + sl + (1, 2), sl + (2, 3)], bl + sl + (1, 3))
        dw = b.sum(p * _mask(b, np.eye(n), p.shape), [p.ndim - 1])
        dv = b.einsum([v, p * _gaps(b, w, batch)], [sl + (0, 1), bl + sl + (1, 2)],
                      bl + sl + (0, 2))
        return b.concat([b.reshape(dw, dw.shape[:-1] + (1, n)), dv], p.ndim - 2)
    if node.op == "cholesky":                # L Phi(L^-1 dS L^-T)
        k = a.shape[-1]
        ds = _lower_symmetric(b, t)
        li = inv(b, node)
        y = b.einsum([li, ds], [sl + (0, 1), bl + sl + (1, 2)], bl + sl + (0, 2))
        y = b.einsum([y, li], [bl + sl + (0, 2), sl + (3, 2)], bl + sl + (0, 3))
        y = y * _mask(b, _phi(k), y.shape)
        return b.einsum([node, y], [sl + (0, 1), bl + sl + (1, 2)], bl + sl + (0, 2))
    raise errors.InternalError(f"no forward rule for {node.op}")


def vjp_rule(b, node, g, k):
    """The cotangent of the operand of a linear-algebra ``node`` from the output's ``g``."""
    a = node.args[0]
    _, sl = _labels(0, a.ndim - 2)
    if node.op == "inv":                     # -X^T G X^T
        q = b.einsum([node, g], [sl + (3, 0), sl + (3, 2)], sl + (0, 2))
        return -b.einsum([q, node], [sl + (0, 2), sl + (1, 2)], sl + (0, 1))
    if node.op == "slogdet":                 # g_logabsdet X^T
        key = _full(a.shape[:-2]) + (("i", 1),)
        if g.op == "embed" and g.params[1] == key:    # only log|det| is read
            weight = g.args[0]
        else:
            weight = b.slice(g, key)
        weight = b.bcast(weight, a.shape, tuple(range(a.ndim - 2)))
        return weight * _swap(b, inv(b, a))
    if node.op == "cholesky":
        n = a.shape[-1]
        li = inv(b, node)
        p = b.einsum([node, g], [sl + (0, 1), sl + (0, 2)], sl + (1, 2))
        p = p * _mask(b, _phi(n), p.shape)
        z = b.einsum([li, p], [sl + (0, 1), sl + (0, 2)], sl + (1, 2))
        s = b.einsum([z, li], [sl + (1, 2), sl + (2, 3)], sl + (1, 3))
        return _onto_lower(b, s)
    if node.op == "eigh":                    # V (diag(gw) + F * V' gV) V'
        n = a.shape[-1]
        w, v = eigh(b, a)
        stack = _full(a.shape[:-2])
        gw = b.slice(g, stack + (("i", 0), ("s", 0, 1, n)))
        gv = b.slice(g, stack + (("s", 1, 1, n), ("s", 0, 1, n)))
        inner = b.einsum([v, gv], [sl + (0, 1), sl + (0, 2)], sl + (1, 2)) * _gaps(b, w, ())
        inner = inner + b.bcast(gw, a.shape, tuple(range(a.ndim - 2)) + (a.ndim - 1,)) \
            * _mask(b, np.eye(n), a.shape)
        s = b.einsum([v, inner], [sl + (0, 1), sl + (1, 2)], sl + (0, 2))
        s = b.einsum([s, v], [sl + (0, 2), sl + (3, 2)], sl + (0, 3))
        return _onto_lower(b, s)
    raise errors.InternalError(f"no reverse rule for {node.op}")


def _lower_symmetric(b, t):
    """The symmetric matrices of the lower triangles of ``t``'s (what NumPy's ``cholesky`` and
    ``eigh`` read): the tangent of the matrix they factor."""
    n = t.shape[-1]
    lower = t * _mask(b, np.tril(np.ones((n, n))), t.shape)
    return lower + _swap(b, t * _mask(b, np.tril(np.ones((n, n)), -1), t.shape))


def _onto_lower(b, s):
    """The cotangent of a matrix read through its lower triangle (`_lower_symmetric`) from
    the cotangent ``s`` of the symmetric matrix read."""
    n = s.shape[-1]
    strict = _mask(b, np.tril(np.ones((n, n)), -1), s.shape)
    return strict * (s + _swap(b, s)) + _mask(b, np.eye(n), s.shape) * s


def _gaps(b, w, batch):
    """``F[i, j] = 1 / (w[j] - w[i])`` for eigenvalues ``w`` (lifted along ``batch``); 0 on
    the diagonal, and NaN for two equal eigenvalues, whose eigenvectors have no derivative
    (as JAX gives: never a finite number that is wrong)."""
    ns = w.ndim - 1
    n = w.shape[-1]
    shape = w.shape + (n,)
    stack = tuple(range(ns))
    gap = b.bcast(w, shape, stack + (ns + 1,)) - b.bcast(w, shape, stack + (ns,))
    undefined = _mask(b, np.where(np.eye(n) > 0, 0.0, np.nan), shape)
    f = b.where(b.binary("ne", gap, 0.0), 1.0 / gap, undefined)
    nb = len(batch)
    return b.bcast(f, batch + shape, tuple(range(nb, nb + len(shape))))


def _phi(n):
    """The weights of ``Phi``: the lower triangle, half the diagonal."""
    return np.tril(np.ones((n, n))) - 0.5 * np.eye(n)


# --- NumPy's functions ---------------------------------------------------------------------
def _mm(b, x, y):
    """``x @ y`` for stacks of matrices (``y`` may be a stack of vectors)."""
    ns = x.ndim - 2
    sl = tuple(500 + i for i in range(ns))
    if y.ndim == ns + 1:
        return b.einsum([x, y], [sl + (0, 1), sl + (1,)], sl + (0,))
    return b.einsum([x, y], [sl + (0, 1), sl + (1, 2)], sl + (0, 2))


@function(np.linalg.inv)
def _inv(b, a):
    return inv(b, lift(b, a))


@function(np.linalg.solve)
def _solve(b, a, rhs):
    a, rhs = lift(b, a), lift(b, rhs)
    x = inv(b, a)
    vector = rhs.ndim == 1 or (np.lib.NumpyVersion(np.__version__) < "2.0.0"
                               and rhs.ndim == a.ndim - 1)
    if rhs.ndim == 1:
        return b.einsum([x, rhs], [tuple(range(2, a.ndim)) + (0, 1), (1,)],
                        tuple(range(2, a.ndim)) + (0,))
    stack = a.shape[:-2]
    want = stack + a.shape[-1:] + (() if vector else rhs.shape[-1:])
    if rhs.shape != want:
        raise Unsupported(f"np.linalg.solve of a {a.shape} matrix and a {rhs.shape} right-hand "
                          "side with broadcasting")
    return _mm(b, x, rhs)


@function(np.linalg.det)
def _det(b, a):
    a = _square("np.linalg.det", lift(b, a))
    n, stack = a.shape[-1], _full(a.shape[:-2])
    if n <= 3:                               # the closed form: exact at singular matrices
        m = [[b.slice(a, stack + (("i", i), ("i", j))) for j in range(n)] for i in range(n)]
        if n == 1:
            return m[0][0]
        if n == 2:
            return m[0][0] * m[1][1] - m[0][1] * m[1][0]
        return (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))
    sign, logabsdet = slogdet(b, a)
    return sign * b.unary("exp", logabsdet)


@function(np.linalg.slogdet)
def _slogdet(b, a):
    return SlogdetResult(*slogdet(b, lift(b, a)))


@function(np.linalg.eigh)
def _eigh(b, a, UPLO="L"):
    a = lift(b, a)
    return EighResult(*eigh(b, a if UPLO == "L" else _swap(b, a)))


@function(np.linalg.eigvalsh)
def _eigvalsh(b, a, UPLO="L"):
    return _eigh(b, a, UPLO)[0]


@function(np.linalg.cholesky)
def _cholesky(b, a, upper=False):
    factor = cholesky(b, lift(b, a))
    return _swap(b, factor) if upper else factor


@function(np.linalg.norm)
def _norm(b, x, ord=None, axis=None, keepdims=False):
    node = lift(b, x)
    matrix = (axis is None and node.ndim == 2) or \
        (isinstance(axis, (tuple, list)) and len(axis) == 2)
    axes = reduction_axes(axis, node.ndim)
    if ord in (None, "fro") and (matrix or ord is None) or (ord == 2 and not matrix):
        value = b.unary("sqrt", b.sum(node * node, axes))
    elif matrix:
        return norm_of_matrices(SymArray(node), ord, axis, keepdims)
    elif ord == 1:
        value = b.sum(b.unary("abs", node), axes)
    elif ord in (np.inf, float("inf")):
        value = b.max(b.unary("abs", node), axes)
    elif isinstance(ord, (int, float)) and ord > 0:
        value = b.sum(b.unary("abs", node) ** float(ord), axes) ** (1.0 / ord)
    else:
        raise Unsupported(f"np.linalg.norm with ord={ord!r}")
    return kept_dims(b, value, node, axes, keepdims)


def _diagonal_block(b, x, offset, axis1, axis2):
    """``x`` with axes ``axis1, axis2`` moved last and cut to the square block whose diagonal is
    the ``offset`` diagonal of ``x``."""
    if x.ndim < 2:
        raise errors.OperandError(f"a diagonal needs at least two axes; got shape {x.shape}")
    axis1, axis2 = axis1 % x.ndim, axis2 % x.ndim
    rest = [k for k in range(x.ndim) if k not in (axis1, axis2)]
    x = b.transpose(x, rest + [axis1, axis2])
    n, m = x.shape[-2:]
    rows, cols = (0, offset) if offset >= 0 else (-offset, 0)
    length = max(0, min(n - rows, m - cols))
    return b.slice(x, _full(x.shape[:-2]) + (("s", rows, 1, length), ("s", cols, 1, length)))


def _diagonal_of(b, x, offset=0, axis1=0, axis2=1):
    x = _diagonal_block(b, x, offset, axis1, axis2)
    return b.sum(x * _mask(b, np.eye(x.shape[-1]), x.shape), [x.ndim - 1])


@function(np.trace)
def _trace(b, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    d = _diagonal_of(b, lift(b, a), offset, axis1, axis2)
    return b.sum(d, [d.ndim - 1])


@function(np.diagonal)
def _diagonal(b, a, offset=0, axis1=0, axis2=1):
    return _diagonal_of(b, lift(b, a), offset, axis1, axis2)


@function(np.diag)
def _diag(b, v, k=0):
    x = lift(b, v)
    if x.ndim == 2:
        return _diagonal_of(b, x, k)
    if x.ndim != 1:
        raise errors.OperandError(f"np.diag needs a vector or a matrix; got shape {x.shape}")
    n, size = x.shape[0], x.shape[0] + abs(k)
    square = b.bcast(x, (n, n), (0,)) * _mask(b, np.eye(n), (n, n))
    rows, cols = (0, k) if k >= 0 else (-k, 0)
    return b.embed(square, (size, size), (("s", rows, 1, n), ("s", cols, 1, n)))


def _triangle(lower):
    """``np.tril`` or ``np.triu``: a mask multiplying each matrix."""
    def rule(b, m, k=0):
        x = lift(b, m)
        if x.ndim < 2:
            raise errors.OperandError(f"np.{'tril' if lower else 'triu'} needs a matrix; got "
                                      f"shape {x.shape}")
        shape = x.shape[-2:]
        mask = np.tril(np.ones(shape), k) if lower else np.triu(np.ones(shape), k)
        return x * _mask(b, mask, x.shape)
    return rule


function(np.tril)(_triangle(True))
function(np.triu)(_triangle(False))
