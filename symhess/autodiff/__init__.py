"""An independent automatic differentiation: second-order forward mode on NumPy arrays.

This is the reference that `symhess.check` compares compiled Hessians against, so it shares no
code with the symbolic path: no tracer, primitive table, derivation, code generation, or even
pytree module. The user's own Python function runs on `Jet` arrays (`symhess.autodiff.jet`),
which carry values, gradients and Hessian rows through every NumPy call with their own
derivative rules (`symhess.autodiff.elementwise` for the ufuncs, `symhess.autodiff.reductions`
for sums and folds along axes, `symhess.autodiff.functions` for the other NumPy functions).

All ``n`` differentiated variables are seeded at once, so a function of ``n`` variables runs
once when ``n * n`` packed components fit in ``max_components`` (``n <= 89`` by default) and in
a few passes of Hessian rows beyond that: never ``n ** 2`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HasAuxError, InputTypeError, OptionValueError
from ..foreign import interposed
from . import elementwise, functions, linalg, reductions  # noqa: F401  (they register rules)
from .jet import Jet, Seed, seeded

__all__ = ["Jet", "Variables", "Derivatives", "derivatives", "hessian", "tree_flatten",
           "tree_unflatten", "tree_paths"]

MAX_COMPONENTS = 8192


# --- pytrees with JAX's rules, written out here so that the reference shares nothing -----------
def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree, is_leaf=None):
    """``(leaves, structure)`` by JAX's rules: sorted dict keys, None has no leaves.

    >>> tree_flatten({"b": 1.0, "a": (2.0, None)})[0]
    [2.0, 1.0]
    """
    leaves = []

    def walk(x):
        if is_leaf is not None and is_leaf(x):
            leaves.append(x)
            return ("leaf",)
        if x is None:
            return ("none",)
        if isinstance(x, dict):
            keys = tuple(sorted(x))
            return ("dict", keys, tuple(walk(x[k]) for k in keys))
        if _is_namedtuple(x):
            return ("namedtuple", type(x), tuple(walk(c) for c in x))
        if isinstance(x, (tuple, list)):
            return (type(x).__name__, None, tuple(walk(c) for c in x))
        leaves.append(x)
        return ("leaf",)
    return leaves, walk(tree)


def tree_unflatten(structure, leaves):
    """The tree of ``structure`` with ``leaves`` in flattening order."""
    it = iter(leaves)

    def build(s):
        kind = s[0]
        if kind == "leaf":
            return next(it)
        if kind == "none":
            return None
        kids = [build(c) for c in s[2]]
        if kind == "dict":
            return dict(zip(s[1], kids))
        if kind == "namedtuple":
            return s[1](*kids)
        return kids if kind == "list" else tuple(kids)
    return build(structure)


def tree_paths(structure, prefix=""):
    """A readable path per leaf, such as ``['w'][0]`` or ``.bias``."""
    kind = structure[0]
    if kind == "leaf":
        return [prefix]
    if kind == "none":
        return []
    names = ([f"[{k!r}]" for k in structure[1]] if kind == "dict" else
             [f".{f}" for f in structure[1]._fields] if kind == "namedtuple" else
             [f"[{i}]" for i in range(len(structure[2]))])
    return [p for name, c in zip(names, structure[2]) for p in tree_paths(c, prefix + name)]


# --- the differentiated inputs as one vector ------------------------------------------------------
class Variables:
    """The differentiated inputs of one call, flattened (in JAX's order) into ``n`` variables."""

    def __init__(self, args, argnums=0, static_argnums=(), holomorphic=False):
        nargs = len(args)
        self.many = isinstance(argnums, (tuple, list))
        nums = list(argnums) if self.many else [argnums]
        static = {s % nargs for s in np.atleast_1d(static_argnums).astype(int).tolist()
                  if -nargs <= s < nargs}
        for a in nums:
            if not isinstance(a, (int, np.integer)) or not -nargs <= a < nargs:
                raise OptionValueError(
                    f"argnums={argnums!r} names argument {a!r}, but the function "
                    f"was called with {nargs} positional argument(s)")
        self.positions = [int(a) % nargs for a in nums]
        if len(set(self.positions)) != len(self.positions) or static & set(self.positions):
            raise OptionValueError(f"argnums={argnums!r} repeats an argument or names a static one")
        self.trees, self.shapes, self.offsets, self.values = {}, [], [], []
        n = 0
        for pos in self.positions:
            leaves, structure = tree_flatten(args[pos])
            self.trees[pos] = (len(self.shapes), structure)
            for path, leaf in zip(tree_paths(structure), leaves):
                arr = _differentiable(leaf, f"argument {pos}{path}", holomorphic)
                self.shapes.append(arr.shape)
                self.offsets.append(n)
                self.values.append(arr)
                n += arr.size
        self.n = n

    def structure(self):
        """The tree of the differentiated inputs: one argument's, or a tuple of them."""
        trees = [self.trees[p][1] for p in self.positions]
        return ("tuple", None, tuple(trees)) if self.many else trees[0]

    def flat(self) -> np.ndarray:
        """All variables as one vector."""
        parts = [v.ravel() for v in self.values]
        return np.concatenate(parts) if parts else np.zeros(0)

    def substitute(self, args, x=None, seed=None) -> list:
        """``args`` with the differentiated leaves replaced by ``x``'s entries or seeded jets."""
        out = list(args)
        for pos in self.positions:
            first, structure = self.trees[pos]
            leaves = []
            for k in range(first, first + len(tree_flatten(args[pos])[0])):
                off, shape = self.offsets[k], self.shapes[k]
                if seed is not None:
                    leaves.append(seeded(self.values[k], seed, off))
                else:
                    leaves.append(np.asarray(x[off:off + int(np.prod(shape))]).reshape(shape))
            out[pos] = tree_unflatten(structure, leaves)
        return out


def _differentiable(leaf, label, holomorphic):
    if isinstance(leaf, (bool, np.bool_)) or not isinstance(leaf, (int, float, complex, np.ndarray,
                                                                   np.generic)):
        raise InputTypeError(f"{label} is a {type(leaf).__name__}, not a numeric array")
    arr = np.asarray(leaf)
    kind = arr.dtype.kind
    if holomorphic and kind != "c":
        raise InputTypeError(f"holomorphic=True requires complex inputs, but {label} has dtype "
                             f"{arr.dtype}")
    if not holomorphic and kind not in "f":
        raise InputTypeError(
            f"{label} has dtype {arr.dtype}; differentiated inputs need a floating dtype "
            + ("(pass holomorphic=True for complex inputs)" if kind == "c"
               else "(convert it with .astype(float))"))
    return arr.astype(np.complex128 if kind == "c" else np.float64)


# --- running the function on jets ---------------------------------------------------------------
@dataclass
class Derivatives:
    """Values, gradients and Hessians of every output leaf with respect to all ``n`` variables.

    ``gradients[o]`` has shape ``out.shape + (n,)`` and ``hessians[o]`` ``out.shape + (n, n)``
    (None when only first derivatives were asked for). ``value_bounds`` and ``hessian_bounds``
    have the shapes of ``values`` and ``hessians``: running bounds of each entry's rounding
    error in units of the unit roundoff (`symhess.autodiff.jet`), large where an entry is a
    difference of large terms.
    """

    values: list
    gradients: list
    hessians: list
    out_structure: tuple
    variables: Variables
    aux: object = None
    value_bounds: list = None
    hessian_bounds: list = None

    def _blocks(self, arrays, depth):
        var = self.variables
        structure = var.structure()

        def block(arr, idx):
            sl = tuple(slice(var.offsets[i], var.offsets[i] + int(np.prod(var.shapes[i])))
                       for i in idx)
            out = arr[(Ellipsis,) + sl]
            return out.reshape(out.shape[:out.ndim - depth] + sum((var.shapes[i] for i in idx), ()))

        def nest(arr, idx):
            if len(idx) == depth:
                return block(arr, idx)
            kids = [nest(arr, idx + (i,)) for i in range(len(var.shapes))]
            return tree_unflatten(structure, kids)
        return tree_unflatten(self.out_structure, [nest(a, ()) for a in arrays])

    def value_tree(self):
        """The function's output, as plain arrays."""
        return tree_unflatten(self.out_structure, self.values)

    def gradient_tree(self):
        """The Jacobian in ``jax.jacobian``'s layout: leaf shapes ``out.shape + in.shape``."""
        return self._blocks(self.gradients, 1)

    def hessian_tree(self):
        """The Hessian in ``jax.hessian``'s layout: leaf shapes ``out + in_i + in_j``."""
        return self._blocks(self.hessians, 2)

    def hessian_bound_tree(self):
        """``hessian_bounds`` in the layout of `hessian_tree`."""
        return self._blocks(self.hessian_bounds, 2)

    def value_bound_tree(self):
        """``value_bounds`` in the layout of `value_tree`."""
        return tree_unflatten(self.out_structure, self.value_bounds)


def derivatives(fun, args, argnums=0, has_aux=False, holomorphic=False, static_argnums=(),
                order=2, max_components=MAX_COMPONENTS) -> Derivatives:
    """Run ``fun(*args)`` on jets and collect first (and second) derivatives of every output.

    Args:
        fun: a function written with ordinary NumPy (the same subset symhess traces).
        args: its positional arguments; ``argnums`` of them are differentiated (pytrees allowed).
        order: 2 for Hessians, 1 for gradients only (one cheap pass).
        max_components: the packed length per array entry; the Hessian rows are split into
            passes so that ``1 + n + rows * n`` stays below it.

    Returns:
        A `Derivatives`; computed in float64 (complex128 when ``holomorphic``).

    >>> import numpy as np
    >>> d = derivatives(lambda x: np.sum(x ** 3), (np.array([1.0, 2.0]),))
    >>> d.hessians[0]
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    var = Variables(args, argnums, static_argnums, holomorphic)
    n = var.n
    rows = max(1, min(n, (max_components - 1 - n) // max(n, 1))) if order == 2 else 0
    passes = [(r0, min(n, r0 + rows)) for r0 in range(0, n, rows)] if rows else [(0, 0)]
    result = None
    for r0, r1 in passes or [(0, 0)]:
        seed = Seed(n, r0, r1, not holomorphic)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"), interposed(fun):
            out = fun(*var.substitute(args, seed=seed))
        aux = None
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise HasAuxError(f"has_aux=True, so {_name(fun)} must return a pair "
                                  f"(output, aux); it returned {type(out).__name__}")
            out, aux = out
        leaves, structure = tree_flatten(out, is_leaf=lambda x: isinstance(x, Jet))
        jets = [_as_jet(leaf, seed, path, fun) for path, leaf in zip(tree_paths(structure), leaves)]
        if result is None:
            hess = [np.zeros(j.shape + (n, n), j.d.dtype) for j in jets] if order == 2 else None
            result = Derivatives([j.v.copy() for j in jets], [j.g.copy() for j in jets], hess,
                                 structure, var, aux, [np.array(j.mv) for j in jets],
                                 [np.zeros(j.shape + (n, n)) for j in jets] if order == 2 else None)
        if order == 2:
            for h, m, j in zip(result.hessians, result.hessian_bounds, jets):
                h[..., r0:r1, :] = j.h
                m[..., r0:r1, :] = j.mh
    return result


def _as_jet(leaf, seed, path, fun):
    if isinstance(leaf, Jet):
        return leaf
    arr = np.asarray(leaf)
    if arr.dtype.kind not in "biufc":
        raise InputTypeError(f"{_name(fun)} returned {type(leaf).__name__} at output{path}; the "
                             "output must be a pytree of arrays or numbers")
    return Jet(np.concatenate([arr[..., None], np.zeros(arr.shape + (seed.K - 1,))], -1), seed)


def _name(fun):
    return getattr(fun, "__name__", type(fun).__name__)


def hessian(fun, argnums=0, has_aux=False, holomorphic=False, static_argnums=()):
    """The reference Hessian of ``fun``, with ``jax.hessian``'s contract and layout.

    Leaf shapes are ``out.shape + x_i.shape + x_j.shape``; a tuple ``argnums`` nests ``H[i][j]``.
    With ``has_aux`` the call returns ``(hessian, aux)``. Always float64 (complex128 with
    ``holomorphic``), whatever the inputs' precision.

    >>> import numpy as np
    >>> hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 3.0]))
    array([[6., 2.],
           [2., 0.]])
    """
    def call(*args):
        d = derivatives(fun, args, argnums, has_aux, holomorphic, static_argnums)
        return (d.hessian_tree(), d.aux) if has_aux else d.hessian_tree()
    return call
