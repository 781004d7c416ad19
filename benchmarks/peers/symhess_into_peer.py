"""symhess writing a batch into a preallocated array: ``H.into(out, *args)``.

The same kernel as the ``symhess`` peer, without allocating (and first touching) the output at
every call, as a Newton loop over many points would use it. It exists for batched problems
only.
"""

from __future__ import annotations

import numpy as np

from . import NotApplicable, Prepared
from ..xp import numpy_xp
from .symhess_peer import CACHE, version  # noqa: F401  (same library, same cache)

NAME = "symhess-into"
DENSE = False


def applies(problem) -> bool:
    """A row for batched problems only."""
    return problem.batched


def build(problem, args, cache_dir, sparse=False):
    raise NotApplicable("into() is for batched Hessians")


def build_batched(problem, batch_args, cache_dir) -> Prepared:
    import symhess
    H = symhess.hessian(problem.make(numpy_xp()), batch_axis=0)
    compiled = H.compile(*batch_args)
    shape = (batch_args[0].shape[0],) + batch_args[0].shape[1:] * 2
    out = np.empty(shape, dtype=np.result_type(batch_args[0]))
    return Prepared(call=lambda: compiled.into(out, *batch_args), to_numpy=np.asarray,
                    note="into a reused array")
