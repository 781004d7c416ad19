"""PyTorch: ``torch.func.hessian(f)`` and ``torch.vmap`` of it, float64 tensors, eager mode;
Hessian-vector products as ``torch.func.jvp`` of ``torch.func.grad``."""

from __future__ import annotations

from . import Prepared
from ..xp import torch_xp

NAME = "torch"
DENSE = True
CACHE = "none"      # eager functorch transforms build nothing that outlives the process


def version() -> str:
    import torch
    return torch.__version__


def _numpy(result):
    return result.detach().numpy()


def build(problem, args, cache_dir, sparse=False) -> Prepared:
    import torch
    h = torch.func.hessian(problem.make(torch_xp()), argnums=0)
    targs = [torch.from_numpy(a) for a in args]
    return Prepared(call=lambda: h(*targs), to_numpy=_numpy)


def build_batched(problem, batch_args, cache_dir) -> Prepared:
    import torch
    h = torch.vmap(torch.func.hessian(problem.make(torch_xp()), argnums=0))
    targs = [torch.from_numpy(a) for a in batch_args]
    return Prepared(call=lambda: h(*targs), to_numpy=_numpy)


def build_hvp(problem, args, cache_dir) -> Prepared:
    import torch
    f = problem.make(torch_xp())
    x, *data, v = [torch.from_numpy(a) for a in args]
    grad = torch.func.grad(f, argnums=0)
    return Prepared(call=lambda: torch.func.jvp(lambda y: grad(y, *data), (x,), (v,))[1],
                    to_numpy=_numpy, note="jvp of grad")
