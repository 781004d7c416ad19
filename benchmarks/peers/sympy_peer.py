"""SymPy: ``sympy.hessian`` then ``sympy.lambdify(..., modules="numpy", cse=True)``.

Only small problems: SymPy's differentiation and printing are slow past a few dozen variables.
"""

from __future__ import annotations

import numpy as np

from . import NotApplicable, Prepared
from ..xp import object_xp, symbol_array

NAME = "sympy"
DENSE = True
CACHE = "none"
MAX_VARIABLES = 60      # beyond this the run only measures the timeout
MAX_INPUTS = 2000       # the same for all input values, data included (each is a symbol)


def version() -> str:
    import sympy
    return sympy.__version__


def build(problem, args, cache_dir, sparse=False) -> Prepared:
    import sympy as sp
    if np.size(args[0]) > MAX_VARIABLES:
        raise NotApplicable(f"more than {MAX_VARIABLES} variables")
    values = sum(int(np.size(a)) for a in args)
    if values > MAX_INPUTS:
        raise NotApplicable(f"{values} input values, data included, would each be a symbol "
                            f"(limit {MAX_INPUTS})")
    xp = object_xp("sympy", log=sp.log, exp=sp.exp, sqrt=sp.sqrt, cos=sp.cos, acos=sp.acos,
                   atan2=sp.atan2, tanh=sp.tanh, maximum=lambda xs: sp.Max(*xs))
    arrays = [symbol_array(lambda i, k=k: sp.Symbol(f"a{k}_{i}"), np.shape(a))
              for k, a in enumerate(args)]
    energy = problem.make(xp)(*arrays)
    H = sp.hessian(energy, list(arrays[0].ravel()))
    inputs = [s for a in arrays for s in a.ravel()]
    f = sp.lambdify([inputs], H, modules="numpy", cse=True)
    flat = np.concatenate([np.ravel(a) for a in args])
    shape = np.shape(args[0]) * 2
    return Prepared(call=lambda: f(flat), to_numpy=lambda r: np.asarray(r).reshape(shape))


def build_batched(problem, batch_args, cache_dir) -> Prepared:
    raise NotApplicable("lambdify of a Hessian has no batched form")
