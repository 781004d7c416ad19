"""The floor: what the hardware needs for a problem's result, measured in the same run.

For a batched problem it is the memory-bandwidth floor, a parallel fill of the output array.

A Numba ``prange`` loop writes as many float64 values as the batched Hessian holds into an
array allocated (and touched) beforehand. No Hessian tool can return its result faster than this
on the same machine, so a tool's batch time divided by it says how far the tool is from the
hardware's limit. Allocation is left out on purpose: on a virtual machine first-touch page
faults can cost several times the writes themselves, and they serialise between threads, so
they would measure the kernel's memory manager rather than the bandwidth.

A single-point problem may name a floor of its own (``Problem.floor``): logistic regression's
Hessian ``X' diag(s) X`` is bounded by BLAS's ``dsyrk`` of the same data matrix ``X'X``.
"""

from __future__ import annotations

import numpy as np

from . import NotApplicable, Prepared

NAME = "floor"
DENSE = True
CACHE = "none"


def version() -> str:
    import numba
    return numba.__version__


def _fill_kernel():
    import numba

    @numba.njit(parallel=True, cache=False)
    def fill(out):
        points, per_point = out.shape
        for p in numba.prange(points):
            for k in range(per_point):
                out[p, k] = p + 0.5 * k
        return out
    return fill


def applies(problem) -> bool:
    """Whether the problem has a floor row: batched problems, and those naming their own."""
    return problem.batched or problem.floor is not None


def build(problem, args, cache_dir, sparse=False):
    if problem.floor is None:
        raise NotApplicable("no floor is known for this problem")
    call, note = problem.floor(*args)
    return Prepared(call=call, to_numpy=lambda r: None, note=note)


def build_batched(problem, batch_args, cache_dir) -> Prepared:
    fill = _fill_kernel()
    points = batch_args[0].shape[0]
    out = np.zeros((points, problem.output_bytes(points) // (8 * points)))
    fill(out)       # compiles, and touches every page: the calls time the writes alone
    return Prepared(call=lambda: fill(out), to_numpy=lambda r: None,
                    note="parallel fill of the output bytes")
