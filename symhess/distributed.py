"""Batched Hessians of Dask arrays: each chunk of points computed by the compiled kernel.

A batched `symhess.hessian` (``batch_axis=``) called with a Dask array among its batched
arguments returns a Dask array (or a pytree of them) instead of computing anything. Each task
calls a `RemoteKernel`, which pickles as the kernel's disk-cache key and generated source: a
worker loads the kernel from its own disk cache (``SYMHESS_CACHE_DIR``), or writes the source
there and compiles it, once per process. Nothing of the user's function travels to the workers.

Dask is an optional dependency (``pip install "symhess[dask]"``); this module imports it only
when a Dask array is passed.
"""

from __future__ import annotations

import string
import sys

import numpy as np

from . import cache


def is_dask(x) -> bool:
    """Whether ``x`` is a Dask collection (without importing Dask when it is not loaded)."""
    if "dask" not in sys.modules:
        return False
    import dask
    return dask.is_dask_collection(x)


class RemoteKernel:
    """A batched kernel module that travels as ``(key, source)`` and is rebuilt where it runs."""

    def __init__(self, key: str, source: str):
        self.key = key
        self.source = source
        self._kernel = None

    def __reduce__(self):
        return RemoteKernel, (self.key, self.source)

    def __call__(self, *inputs):
        if self._kernel is None:
            module = cache.module(self.source)
            self._kernel = module.kernel
        return self._kernel(*inputs)


def batched_call(kernel: RemoteKernel, inputs, batched, out_shape, dtype):
    """The kernel over Dask chunks of points: a Dask array of shape ``(points,) + out_shape``.

    ``inputs`` are the kernel's inputs, batch axis first where ``batched``; the points are
    chunked as the first Dask array among them, every other axis is one chunk, and shared
    inputs that are Dask arrays are computed first (they are the same for every chunk).
    """
    import dask.array as da

    chunks = next(x for x, b in zip(inputs, batched) if b and is_dask(x)).chunks[0]
    letters = iter(string.ascii_letters[1:])         # "a" is the points axis
    args = []
    for x, b in zip(inputs, batched):
        if not b:
            args += [x.compute() if is_dask(x) else x, None]
            continue
        x = da.asarray(x)
        x = x.rechunk((chunks,) + tuple(-1 for _ in x.shape[1:]))
        args += [x, "a" + "".join(next(letters) for _ in x.shape[1:])]
    out_axes = "".join(next(letters) for _ in out_shape)
    return da.blockwise(kernel, "a" + out_axes, *args, new_axes=dict(zip(out_axes, out_shape)),
                        concatenate=True, dtype=dtype,
                        meta=np.empty((0,) * (1 + len(out_shape)), dtype=dtype))
