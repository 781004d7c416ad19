"""CasADi MX: the problem as one graph of MX matrix operations, ``casadi.hessian``, then a
``Function`` call or ``map``; Hessian-vector products as ``casadi.jtimes`` of the gradient.

Unlike the SX peer, which builds a scalar expression per array element, every argument is one
MX symbol and the problem's array code maps to MX matrix operations (`xp.MXArray`): ``@`` is
``mtimes``, a broadcast bias ``repmat``, a reshape ``reshape`` in C order. Runtime data (``X``,
``y``, ``A``, ``Q`` ...) are symbolic inputs of the Function, never constants baked into it.
The differentiated argument is a flat vector symbol (the Hessian is ordered as NumPy's C order,
like JAX's), reshaped inside the graph when it is a matrix; 1-D and 2-D data are symbols of
their own shape, passed as ``DM`` values converted once, as JAX's and torch's inputs are.
Array code with no MX counterpart (3-D arrays, two index arrays at once) is n/a.
"""

from __future__ import annotations

import numpy as np

from . import NotApplicable, Prepared
from .casadi_peer import mapped_call
from ..xp import MXArray, mx_reshape, mx_xp

NAME = "casadi-mx"
DENSE = False       # the Hessian is a sparse DM with the pattern CasADi derives
CACHE = "none"      # an MX Function lives in memory


def version() -> str:
    import casadi
    return casadi.__version__


def _symbol(name, arg, flat):
    """``(MX symbol, MXArray)`` for one argument; ``flat``: a C-order vector symbol."""
    import casadi as ca
    shape = np.shape(arg)
    if len(shape) > 2:
        raise NotApplicable(f"a {len(shape)}-D argument: MX symbols are matrices")
    if flat or len(shape) < 2:
        symbol = ca.MX.sym(name, int(np.size(arg)))
        view = MXArray(symbol, (int(np.size(arg)),))
        return symbol, (mx_reshape(view, shape) if len(shape) == 2 else
                        MXArray(symbol, shape))
    symbol = ca.MX.sym(name, *shape)
    return symbol, MXArray(symbol, shape)


def _energy(problem, args, flat_data=False):
    """``(energy, symbols)``: the scalar MX energy and one MX symbol per argument."""
    symbols, arrays = [], []
    for k, a in enumerate(args):
        symbol, view = _symbol(f"a{k}", a, flat=(k == 0 or flat_data))
        symbols.append(symbol)
        arrays.append(view)
    try:
        energy = problem.make(mx_xp())(*arrays)
    except NotImplementedError as e:
        raise NotApplicable(f"no MX form: {e}") from None
    return energy.mx, symbols


def _inputs(args, flat_data=False):
    """The Function's inputs as DM, converted once (as the symbols are shaped)."""
    import casadi as ca
    return [ca.DM(np.ravel(a) if k == 0 or flat_data or np.ndim(a) < 2 else a)
            for k, a in enumerate(args)]


def hessian_function(problem, args, flat_data=False):
    """``casadi.Function("hessian", [x, *data], [H])`` of MX symbols."""
    import casadi as ca
    energy, symbols = _energy(problem, args, flat_data)
    H, _ = ca.hessian(energy, symbols[0])
    return ca.Function("hessian", symbols, [H])


def build(problem, args, cache_dir, sparse=False) -> Prepared:
    function = hessian_function(problem, args)
    inputs = _inputs(args)
    shape = np.shape(args[0]) * 2
    return Prepared(call=lambda: function(*inputs),
                    to_numpy=lambda r: np.asarray(r.full()).reshape(shape))


def build_batched(problem, batch_args, cache_dir) -> Prepared:
    # map() takes each point's arguments as flat columns side by side, as the SX peer does
    point = [a[0] for a in batch_args]
    return mapped_call(hessian_function(problem, point, flat_data=True), batch_args)


def build_hvp(problem, args, cache_dir) -> Prepared:
    import casadi as ca
    energy, symbols = _energy(problem, args[:-1])
    v = ca.MX.sym("v", int(np.size(args[-1])))
    hv = ca.jtimes(ca.gradient(energy, symbols[0]), symbols[0], v)
    function = ca.Function("hvp", symbols + [v], [hv])
    inputs = _inputs(args[:-1]) + [ca.DM(np.ravel(args[-1]))]
    return Prepared(call=lambda: function(*inputs),
                    to_numpy=lambda r: np.asarray(r.full()).ravel(), note="jtimes of gradient")
