"""Host-side helpers of the CUDA target (``target="cuda"``; the kernels are `codegen.numba_cuda`)."""

from __future__ import annotations

import numpy as np

from .codegen.runtime import on_device




def stand_in(x) -> np.ndarray:
    """A host array with the shape and dtype of ``x`` (a GPU or Dask array), to trace with:
    no copy, no memory, and nothing of ``x`` computed."""
    return np.broadcast_to(np.zeros((), dtype=x.dtype), x.shape)


def to_device(array):
    """``array`` copied to the GPU once (index and position tables used by every call)."""
    from numba import cuda
    return cuda.to_device(array)


def to_host(x):
    """A kernel's output as a NumPy array."""
    return x.copy_to_host() if on_device(x) else x
