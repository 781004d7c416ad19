"""SymEngine: differentiate with ``diff``/``jacobian``, then ``Lambdify(backend="llvm", cse=True)``.

The Hessian is the Jacobian of the gradient (n^2 derivatives: what the library offers), compiled
by LLVM into one function of all inputs; batched inputs broadcast over leading axes.
"""

from __future__ import annotations

import numpy as np

from . import NotApplicable, Prepared
from ..xp import object_xp, symbol_array

NAME = "symengine"
DENSE = True
CACHE = "none"
# Every input value, runtime data included, is a symbol; past this the Hessian of n^2 scalar
# derivatives of sums over thousands of data symbols only measures the timeout.
MAX_INPUTS = 5000


def version() -> str:
    import symengine
    return symengine.__version__


def _maximum(values):
    # se.Max(...).diff(x) stays an unevaluated Derivative, which Lambdify cannot compile
    raise NotApplicable("SymEngine leaves the derivative of Max unevaluated")


def _lambdified(problem, args):
    import symengine as se
    values = sum(int(np.size(a)) for a in args)
    if values > MAX_INPUTS:
        raise NotApplicable(f"{values} input values, data included, would each be a symbol "
                            f"(limit {MAX_INPUTS})")
    xp = object_xp("symengine", log=se.log, exp=se.exp, sqrt=se.sqrt, cos=se.cos, acos=se.acos,
                   atan2=se.atan2, tanh=se.tanh, maximum=_maximum)
    arrays = [symbol_array(lambda i, k=k: se.Symbol(f"a{k}_{i}"), np.shape(a))
              for k, a in enumerate(args)]
    energy = problem.make(xp)(*arrays)
    x = list(arrays[0].ravel())
    gradient = se.DenseMatrix([energy.diff(s) for s in x])
    H = gradient.jacobian(se.DenseMatrix(x))
    inputs = [s for a in arrays for s in a.ravel()]
    return se.Lambdify(inputs, H, backend="llvm", cse=True)


def build(problem, args, cache_dir, sparse=False) -> Prepared:
    f = _lambdified(problem, args)
    flat = np.concatenate([np.ravel(a) for a in args])
    shape = np.shape(args[0]) * 2
    return Prepared(call=lambda: f(flat), to_numpy=lambda r: np.asarray(r).reshape(shape))


def build_batched(problem, batch_args, cache_dir) -> Prepared:
    points = batch_args[0].shape[0]
    f = _lambdified(problem, [a[0] for a in batch_args])
    flat = np.concatenate([a.reshape(points, -1) for a in batch_args], axis=1)
    shape = (points,) + batch_args[0].shape[1:] * 2
    return Prepared(call=lambda: f(flat), to_numpy=lambda r: np.asarray(r).reshape(shape))
