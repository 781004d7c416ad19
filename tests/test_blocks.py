"""Lazy blocks (``HessianFunction.block``) against JAX's full Hessian."""

import numpy as np
import pytest

import symhess


def f(d, y, xp):
    return {"e": xp.sum(d["w"] ** 2 * y[0]) * d["b"] + xp.sin(y[1]) * d["w"][0, 1],
            "s": d["b"] ** 3 * y}


D = {"w": np.arange(1.0, 7.0).reshape(2, 3) / 5, "b": np.array(0.7)}
Y = np.array([0.3, 0.9])
# The differentiated leaves in order: d["b"], d["w"] (dict keys sorted), then y.
LEAVES = [("d", "b"), ("d", "w"), ("y", None)]


def reference_block(H, i, j, out):
    (ai, ki), (aj, kj) = LEAVES[i], LEAVES[j]
    block = H[out][0 if ai == "d" else 1]
    block = block[ki] if ki else block
    block = block[0 if aj == "d" else 1]
    return np.asarray(block[kj] if kj else block)


@pytest.mark.parametrize("i, j", [(0, 0), (1, 1), (1, 2), (2, 1), (0, 2)])
def test_each_block_matches_the_full_hessian(jax, jnp, i, j):
    H = jax.hessian(lambda d, y: f(d, y, jnp), argnums=(0, 1))(D, Y)
    got = symhess.hessian(lambda d, y: f(d, y, np), argnums=(0, 1)).block(i, j)(D, Y)
    assert sorted(got) == ["e", "s"]
    for out in ("e", "s"):
        np.testing.assert_allclose(got[out], reference_block(H, i, j, out), rtol=1e-13, atol=1e-13)


def test_a_range_of_rows_derives_only_those_rows(jax, jnp):
    g = lambda x: np.sum(np.exp(x[:-1] * x[1:])) + np.sum(x ** 4)
    x = np.linspace(0.1, 0.9, 6)
    full = np.asarray(jax.hessian(lambda x: jnp.sum(jnp.exp(x[:-1] * x[1:])) + jnp.sum(x ** 4))(x))
    H = symhess.hessian(g)
    block = H.block(0, 0, rows=slice(2, 5))
    np.testing.assert_allclose(block(x), full[2:5], rtol=1e-13)
    assert H._compiled == {}                           # the full Hessian was never compiled
    (compiled,) = block._compiled.values()
    assert "18 output value(s)" in compiled.source     # 3 rows of 6: nothing else computed


def test_block_errors():
    H = symhess.hessian(lambda x: np.sum(x ** 3))
    with pytest.raises(IndexError, match="differentiated leaves"):
        H.block(0, 1)(np.ones(2))
    with pytest.raises(TypeError, match="slice"):
        H.block(0, 0, rows=[0, 1])
    with pytest.raises(ValueError, match="dense, unbatched"):
        symhess.hessian(np.sum, batch_axis=0).block(0, 0)
