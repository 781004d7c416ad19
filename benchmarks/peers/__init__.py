"""The tools under comparison, one module per tool, all with the same small interface.

A peer module defines:

- ``NAME``, ``DENSE`` (returns dense Hessians only), ``CACHE`` (``"disk"`` when a fresh process
  can reuse an earlier build, else ``"none"``), optionally ``applies(problem)`` (no row
  where it is false, as for single-point problems in a batched-only peer);
- ``version()``: its version string (raises ImportError when it is not installed);
- ``build(problem, args, cache_dir, sparse=False)``: a `Prepared` single-point Hessian;
- ``build_batched(problem, batch_args, cache_dir)``: a `Prepared` Hessian over a leading axis;
- optionally ``build_hvp(problem, args, cache_dir)``: a `Prepared` Hessian-vector product
  ``H(x) @ v`` for ``args = (x, *data, v)``, computed without forming ``H``.

Either build may raise `NotApplicable` for a combination the tool cannot express.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

TOOLS = ("jax", "torch", "casadi", "casadi-mx", "casadi-codegen", "symengine", "sympy",
         "symhess", "symhess-into", "symhess-vgh")
FLOOR = "floor"      # the hardware reference: memory bandwidth (batched) or a BLAS kernel

_MODULES = {"jax": "jax_peer", "torch": "torch_peer", "casadi": "casadi_peer",
            "casadi-mx": "casadi_mx_peer",
            "casadi-codegen": "casadi_codegen_peer", "symengine": "symengine_peer",
            "sympy": "sympy_peer", "symhess": "symhess_peer", "symhess-into": "symhess_into_peer",
            "symhess-vgh": "symhess_vgh_peer",
            FLOOR: "floor"}


class NotApplicable(Exception):
    """The tool has no way to express this problem or option (reported as n/a)."""


@dataclass
class Prepared:
    """A built Hessian: ``call()`` evaluates it on the prepared inputs and waits for the result.

    ``to_numpy(result)`` turns a result into a NumPy array shaped like JAX's Hessian (or the
    batch of them), or returns None when that would be too large to compare.
    """

    call: Callable
    to_numpy: Callable
    note: str = ""


def load(tool: str):
    """The peer module of ``tool``."""
    return importlib.import_module(f"{__name__}.{_MODULES[tool]}")
