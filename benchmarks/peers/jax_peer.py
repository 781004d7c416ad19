"""JAX: ``jax.jit(jax.hessian(f))`` and ``jax.jit(jax.vmap(jax.hessian(f)))`` on the CPU, float64;
Hessian-vector products as ``jax.jit`` of ``jax.jvp`` of ``jax.grad`` (forward over reverse).
A sparse Hessian of a problem given as a sum over elements (``Problem.elements``) is
``jax.vmap`` of the element's ``jax.hessian``, added into the CSR values with ``.at[].add``
(the pattern and each value's slot found with NumPy while building).

Its persistent compilation cache stands in for a disk cache: a fresh process with the same cache
folder skips XLA compilation (tracing still runs).
"""

from __future__ import annotations

import os

import numpy as np

from . import Prepared
from ..xp import jax_xp

NAME = "jax"
DENSE = True
ELEMENTS = True         # sparse Hessians of sums over elements, by vmap and scatter
CACHE = "disk"


def _jax(cache_dir):
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    jax.config.update("jax_enable_x64", True)
    if cache_dir:
        jax.config.update("jax_compilation_cache_dir", os.path.join(cache_dir, "jax"))
        # Cache every executable, however small or quick to compile, so warm starts are warm.
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    return jax


def version() -> str:
    import jax
    return jax.__version__


def build(problem, args, cache_dir, sparse=False) -> Prepared:
    jax = _jax(cache_dir)
    if sparse and problem.elements is not None:
        return _build_elements(jax, problem, args)
    h = jax.jit(jax.hessian(problem.make(jax_xp()), argnums=0))
    jargs = [jax.numpy.asarray(a) for a in args]
    return Prepared(call=lambda: h(*jargs).block_until_ready(), to_numpy=np.asarray)


def build_batched(problem, batch_args, cache_dir) -> Prepared:
    jax = _jax(cache_dir)
    h = jax.jit(jax.vmap(jax.hessian(problem.make(jax_xp()), argnums=0)))
    jargs = [jax.numpy.asarray(a) for a in batch_args]
    return Prepared(call=lambda: h(*jargs).block_until_ready(), to_numpy=np.asarray)


def build_hvp(problem, args, cache_dir) -> Prepared:
    jax = _jax(cache_dir)
    f = problem.make(jax_xp())

    def hvp(x, v, *data):
        return jax.jvp(lambda y: jax.grad(f)(y, *data), (x,), (v,))[1]
    h = jax.jit(hvp)
    x, *data, v = [jax.numpy.asarray(a) for a in args]
    return Prepared(call=lambda: h(x, v, *data).block_until_ready(), to_numpy=np.asarray,
                    note="jvp of grad")


def _build_elements(jax, problem, args) -> Prepared:
    import scipy.sparse
    element, split = problem.elements(jax_xp())
    unknowns, offset, data = split(*args)
    n, k = args[0].size, unknowns.shape[1]
    rows = np.repeat(unknowns, k, axis=1).ravel()
    cols = np.tile(unknowns, (1, k)).ravel()
    keys, slot = np.unique(rows * n + cols, return_inverse=True)
    block = jax.vmap(jax.hessian(element))

    def values(u, offset, *data):
        local = (offset + u)[unknowns]
        return jax.numpy.zeros(len(keys)).at[slot].add(block(local, *data).ravel())
    h = jax.jit(values)
    jargs = [jax.numpy.asarray(a) for a in (args[0], offset, *data)]
    shape = (n, n)
    return Prepared(call=lambda: h(*jargs).block_until_ready(),
                    to_numpy=lambda v: scipy.sparse.csr_array(
                        (np.asarray(v), np.divmod(keys, n)), shape=shape).toarray(),
                    note="vmap of element Hessians, scattered")
