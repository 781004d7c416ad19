"""CasADi: an SX graph of the problem, ``casadi.hessian``, then a ``Function`` call or ``map``;
Hessian-vector products as ``casadi.jtimes`` of the gradient.

The SX Hessian is sparse with its exact pattern, so CasADi is run at every size (no dense
output is formed except to compare small results).
"""

from __future__ import annotations

import numpy as np

from . import Prepared
from ..xp import object_xp, symbol_array

NAME = "casadi"
DENSE = False
CACHE = "none"      # an SX Function lives in memory; see casadi_codegen_peer for the cached form


def version() -> str:
    import casadi
    return casadi.__version__


def _energy(problem, args):
    """``(energy, vectors)``: the SX energy and one SX vector per argument."""
    import casadi as ca
    # An SX element meeting an object array (``array + p[-1]``, ``z - max(z)``) goes through
    # CasADi's NumPy dispatch, which makes an SX matrix of the same element-wise expressions;
    # keep its long-standing behaviour, without the notice CasADi prints about it.
    if hasattr(ca.GlobalOptions, "setNumpyMode"):
        ca.GlobalOptions.setNumpyMode(-1)
    xp = object_xp("casadi", log=ca.log, exp=ca.exp, sqrt=ca.sqrt, cos=ca.cos, acos=ca.acos,
                   atan2=ca.atan2, tanh=ca.tanh, maximum=lambda xs: ca.mmax(ca.vertcat(*xs)))
    vectors = [ca.SX.sym(f"a{k}", int(np.size(a))) for k, a in enumerate(args)]
    arrays = [symbol_array(lambda i, v=v: v[i], np.shape(a)) for v, a in zip(vectors, args)]
    return problem.make(xp)(*arrays), vectors


def hessian_function(problem, args):
    """``casadi.Function("hessian", [x, *data], [H])`` with one SX vector per argument."""
    import casadi as ca
    energy, vectors = _energy(problem, args)
    H, _ = ca.hessian(energy, vectors[0])
    return ca.Function("hessian", vectors, [H])


def flat_inputs(args):
    """Arguments as the column vectors the Function takes (C order, like the symbols)."""
    return [np.ascontiguousarray(np.ravel(a)) for a in args]


def single_call(function, args) -> Prepared:
    """Call ``function`` on one point; the result is CasADi's (sparse) DM."""
    inputs = flat_inputs(args)
    shape = np.shape(args[0]) * 2
    return Prepared(call=lambda: function(*inputs),
                    to_numpy=lambda r: np.asarray(r.full()).reshape(shape))


def mapped_call(function, batch_args) -> Prepared:
    """``function.map(P)`` over the leading axis: inputs side by side as columns."""
    points = batch_args[0].shape[0]
    mapped = function.map(points)
    inputs = [np.ascontiguousarray(a.reshape(points, -1).T) for a in batch_args]
    point_shape = batch_args[0].shape[1:]
    n = int(np.prod(point_shape))

    def to_numpy(r):
        # The result is [H_0 H_1 ...] side by side: an n x (n P) matrix.
        blocks = np.asarray(r.full()).reshape(n, points, n).transpose(1, 0, 2)
        return blocks.reshape((points,) + point_shape * 2)
    return Prepared(call=lambda: mapped(*inputs), to_numpy=to_numpy, note="map, serial")


def build(problem, args, cache_dir, sparse=False) -> Prepared:
    return single_call(hessian_function(problem, args), args)


def build_batched(problem, batch_args, cache_dir) -> Prepared:
    point = [a[0] for a in batch_args]
    return mapped_call(hessian_function(problem, point), batch_args)


def build_hvp(problem, args, cache_dir) -> Prepared:
    import casadi as ca
    energy, vectors = _energy(problem, args[:-1])
    v = ca.SX.sym("v", int(np.size(args[-1])))
    hv = ca.jtimes(ca.gradient(energy, vectors[0]), vectors[0], v)
    function = ca.Function("hvp", vectors + [v], [hv])
    inputs = flat_inputs(args)
    return Prepared(call=lambda: function(*inputs), to_numpy=lambda r: np.asarray(r.full()).ravel(),
                    note="jtimes of gradient")
