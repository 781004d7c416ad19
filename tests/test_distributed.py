"""Batched Hessians of Dask arrays, computed chunk by chunk on a `dask.distributed` cluster."""

import os

import numpy as np
import pytest

import symhess
from symhess import autodiff
from symhess.errors import InputTypeError

from conftest import neo_hookean

rng = np.random.default_rng(5)


@pytest.fixture(scope="module")
def da():
    """``dask.array``, or a skip when Dask is not installed."""
    return pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def distributed():
    """``dask.distributed``, or a skip when it is not installed."""
    return pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, distributed):
    """Two worker processes whose disk cache starts empty, so each must rebuild the kernels."""
    worker_cache = str(tmp_path_factory.mktemp("worker-cache"))
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None,
                                       env={"SYMHESS_CACHE_DIR": worker_cache})
    client = distributed.Client(cluster)
    assert set(client.run(lambda: os.environ["SYMHESS_CACHE_DIR"]).values()) == {worker_cache}
    yield client, worker_cache
    client.close()
    cluster.close()


def test_chunks_are_computed_by_kernels_rebuilt_on_the_workers(cluster, da, jax, jnp):
    client, worker_cache = cluster
    F = np.eye(3) + 0.1 * rng.standard_normal((2000, 3, 3))
    H = symhess.hessian(neo_hookean(np), batch_axis=0)
    lazy = H(da.from_array(F, chunks=(500, 3, 3)))
    assert isinstance(lazy, da.Array) and lazy.shape == (2000, 3, 3, 3, 3)
    assert lazy.chunks[0] == (500,) * 4
    got = client.compute(lazy).result()
    want = jax.vmap(jax.hessian(neo_hookean(jnp)))(F)
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-12, atol=1e-12)
    key = H.compile(F[:1]).key
    assert os.path.exists(os.path.join(worker_cache, f"k{key}.py"))
    ran = client.run(lambda: any(m.startswith("symhess_kernel_") for m in __import__("sys").modules))
    assert any(ran.values())


def test_pytrees_shared_arguments_and_other_batch_axes(cluster, da):
    client, _ = cluster

    def f(a, b, w):
        return {"e": np.sum(a ** 2 * b[0] * w) + np.sin(a[0] * b[1]), "c": np.cos(a[1] * w[2])}
    a, b, w = rng.standard_normal((3, 60)), rng.standard_normal((60, 2)), rng.standard_normal(3)
    H = symhess.hessian(f, argnums=(0, 1), batch_axis=0, in_axes=(1, 0, None))
    lazy = H(da.from_array(a, chunks=(3, 25)), b, da.from_array(w))
    got = client.compute(lazy).result()
    # the independent autodiff, one point at a time
    want = [autodiff.hessian(f, argnums=(0, 1))(a[:, p], b[p], w) for p in range(60)]
    for name in ("e", "c"):
        for i in range(2):
            for j in range(2):
                expected = np.stack([h[name][i][j] for h in want])
                np.testing.assert_allclose(got[name][i][j], expected, rtol=1e-13, atol=1e-13)


def test_unbatched_hessians_refuse_dask_arrays(da):
    with pytest.raises(InputTypeError, match="argument x of .* is a Dask array.*batch_axis=0"):
        symhess.hessian(lambda x: np.sum(x ** 3))(da.ones(3))


def test_dask_arrays_are_computed_on_the_cpu_target(da):
    H = symhess.hessian(neo_hookean(np), batch_axis=0, target="cuda")
    with pytest.raises(ValueError, match="Dask arrays are computed with target='cpu'"):
        H(da.from_array(np.eye(3)[None] + np.zeros((4, 3, 3)), chunks=(2, 3, 3)))
