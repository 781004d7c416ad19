"""symhess's value, gradient and Hessian from one kernel: ``symhess.value_grad_hessian(f)``.

What a Newton step needs, beside the ``symhess`` peer's Hessian alone: the difference between
the two rows is what the value and the gradient cost on top of the Hessian. Only the Hessian
part is compared with JAX's.
"""

from __future__ import annotations

import numpy as np

from . import NotApplicable, Prepared
from ..xp import numpy_xp
from .symhess_peer import CACHE, version  # noqa: F401  (same library, same cache)

NAME = "symhess-vgh"
DENSE = False


def build(problem, args, cache_dir, sparse=False) -> Prepared:
    import symhess
    f = problem.make(numpy_xp())
    compiled = symhess.value_grad_hessian(f, sparse=bool(sparse)).compile(*args)
    shape = np.shape(args[0]) * 2

    def hessian_part(result):
        H = result[2]
        return (H.toarray() if hasattr(H, "toarray") else np.asarray(H)).reshape(shape)
    return Prepared(call=lambda: compiled(*args), to_numpy=hessian_part,
                    note="value_grad_hessian" + (", sparse=True" if sparse else ""))


def build_batched(problem, batch_args, cache_dir) -> Prepared:
    raise NotApplicable("value_grad_hessian computes one point (no batch_axis)")
