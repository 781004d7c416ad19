"""symhess, through its public API only: ``symhess.hessian(f)`` and its options.

Batched problems ask for ``batch_axis=0``; sparse sizes (a dense Hessian too large to hold) ask
for ``sparse=True``; Hessian-vector products use ``symhess.hvp(f)``. An option symhess does not accept yet is reported as n/a, not as a crash.
"""

from __future__ import annotations

import numpy as np

from . import NotApplicable, Prepared
from ..xp import numpy_xp

NAME = "symhess"
DENSE = False       # dense by default; sizes past the dense limit ask for sparse=True
CACHE = "disk"      # $SYMHESS_CACHE_DIR (set by the runner) plus Numba's cache next to it


def version() -> str:
    # symhess loads its modules on first use; load the public API here, with the other imports,
    # so that compile figures, like the other tools', start after the imports
    import symhess
    symhess.hessian, symhess.hvp, symhess.check
    return symhess.__version__


def _to_numpy(result):
    if hasattr(result, "toarray"):      # a SciPy sparse matrix or array
        return result.toarray()
    return np.asarray(result)


def _hessian(f, **options):
    import symhess
    try:
        return symhess.hessian(f, argnums=0, **options)
    except (TypeError, ValueError) as e:
        if options:
            raise NotApplicable(f"{', '.join(f'{k}={v!r}' for k, v in options.items())} not "
                                f"accepted ({type(e).__name__})") from None
        raise


def _first_call(H, args, options):
    """The first call, where an unknown option may only be rejected once inputs are seen."""
    try:
        return H.compile(*args) if hasattr(H, "compile") else H
    except (TypeError, ValueError) as e:
        if options and any(k in str(e) for k in options):
            raise NotApplicable(f"{', '.join(options)} rejected: {e}") from None
        raise


def build(problem, args, cache_dir, sparse=False) -> Prepared:
    options = {"sparse": True} if sparse else {}
    H = _hessian(problem.make(numpy_xp()), **options)
    compiled = _first_call(H, args, options)
    shape = np.shape(args[0]) * 2

    def to_numpy(r):
        return _to_numpy(r).reshape(shape)
    return Prepared(call=lambda: compiled(*args), to_numpy=to_numpy,
                    note="sparse=True" if sparse else "")


def build_batched(problem, batch_args, cache_dir) -> Prepared:
    options = {"batch_axis": 0}
    H = _hessian(problem.make(numpy_xp()), **options)
    compiled = _first_call(H, batch_args, options)
    shape = (batch_args[0].shape[0],) + batch_args[0].shape[1:] * 2
    return Prepared(call=lambda: compiled(*batch_args),
                    to_numpy=lambda r: _to_numpy(r).reshape(shape), note="batch_axis=0")


def build_hvp(problem, args, cache_dir) -> Prepared:
    import symhess
    compiled = symhess.hvp(problem.make(numpy_xp())).compile(*args)
    return Prepared(call=lambda: compiled(*args), to_numpy=np.asarray, note="hvp")
