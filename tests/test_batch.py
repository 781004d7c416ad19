"""Batched evaluation (``batch_axis``, ``in_axes``) against ``jax.vmap(jax.hessian(...))``."""

import numpy as np
import pytest

import symhess

from conftest import neo_hookean

rng = np.random.default_rng(7)


def leaves(tree):
    """The array leaves of a tree of dicts, lists and tuples, in JAX's order (sorted keys)."""
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in leaves(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [leaf for t in tree for leaf in leaves(t)]
    return [] if tree is None else [tree]


def assert_trees_close(got, want, rtol=1e-12, atol=1e-12):
    got_leaves, want_leaves = leaves(got), leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, np.asarray(w), rtol=rtol, atol=atol)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_batch_axis_matches_vmap(jax, jnp, axis):
    F = np.eye(3) + 0.1 * rng.standard_normal((5, 3, 3))
    want = jax.vmap(jax.hessian(neo_hookean(jnp)))(F)
    got = symhess.hessian(neo_hookean(np), batch_axis=axis)(np.moveaxis(F, 0, axis))
    assert got.shape == (5, 3, 3, 3, 3)
    assert_trees_close(got, want)


def test_one_kernel_serves_every_number_of_points(jax, jnp):
    H = symhess.hessian(neo_hookean(np), batch_axis=0)
    for n in (1, 4, 9):
        F = np.eye(3) + 0.1 * rng.standard_normal((n, 3, 3))
        assert_trees_close(H(F), jax.vmap(jax.hessian(neo_hookean(jnp)))(F))
    assert len(H._compiled) == 1


def test_shared_and_batched_runtime_arguments(jax, jnp):
    def f(x, a, w, xp):
        return a * xp.sum(w * x ** 3) + x[0] * x[1] + xp.exp(a * x[1])
    x, a, w = rng.standard_normal((6, 2)), rng.standard_normal(6), np.array([1.0, -2.0])
    got = symhess.hessian(lambda x, a, w: f(x, a, w, np), batch_axis=0, in_axes=(0, 0, None))(x, a, w)
    want = jax.vmap(jax.hessian(lambda x, a, w: f(x, a, w, jnp)), in_axes=(0, 0, None))(x, a, w)
    assert_trees_close(got, want)


def test_pytree_arguments_and_outputs_keep_the_points_axis_first(jax, jnp):
    def p(d, xp):
        return {"e": xp.sum(d["w"] ** 2) * d["b"], "s": (d["b"] ** 3, xp.sin(d["w"]))}
    d = {"w": rng.standard_normal((4, 2)), "b": rng.standard_normal(4)}
    got = symhess.hessian(lambda d: p(d, np), batch_axis=0)(d)
    assert_trees_close(got, jax.vmap(jax.hessian(lambda d: p(d, jnp)))(d))


def test_float32_points_give_float32(jax, jnp):
    F = (np.eye(3) + 0.1 * rng.standard_normal((3, 3, 3))).astype(np.float32)
    got = symhess.hessian(neo_hookean(np), batch_axis=0)(F)
    assert got.dtype == np.float32
    want = jax.vmap(jax.hessian(neo_hookean(jnp)))(F.astype(np.float64))
    assert_trees_close(got, want, rtol=1e-5, atol=1e-5)


def test_complex_holomorphic_points(jax, jnp):
    g = lambda z, xp: xp.sum(xp.exp(z) * z ** 2)
    z = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
    got = symhess.hessian(lambda z: g(z, np), holomorphic=True, batch_axis=0)(z)
    assert_trees_close(got, jax.vmap(jax.hessian(lambda z: g(z, jnp), holomorphic=True))(z))


def test_a_linear_function_has_a_zero_hessian_per_point():
    np.testing.assert_array_equal(symhess.hessian(np.sum, batch_axis=0)(np.ones((2, 3))),
                                  np.zeros((2, 3, 3)))


# Each is a ValueError, as jax.vmap raises for sizes and axes that do not fit.
@pytest.mark.parametrize("call, message", [
    (lambda: symhess.hessian(lambda x, y: np.sum(x * y), batch_axis=0, in_axes=(0, 0))(
        np.ones((2, 3)), np.ones((4, 3))), "disagree on the number of points"),
    (lambda: symhess.hessian(np.sum, batch_axis=3)(np.ones((2, 3))), "no batch axis 3"),
    (lambda: symhess.hessian(np.sum, in_axes=(0,)), "in_axes needs batch_axis"),
    (lambda: symhess.hessian(lambda x: (np.sum(x), 1), has_aux=True, batch_axis=0), "has_aux"),
])
def test_batching_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_into_writes_the_batch_into_the_given_array(jax, jnp):
    F = np.eye(3) + 0.1 * rng.standard_normal((8, 3, 3))
    H = symhess.hessian(neo_hookean(np), batch_axis=0)
    out = np.full((8, 3, 3, 3, 3), np.nan)
    assert H.into(out, F) is out
    assert_trees_close(out, jax.vmap(jax.hessian(neo_hookean(jnp)))(F))
    G = np.eye(3) + 0.1 * rng.standard_normal((8, 3, 3))          # reused for new points
    H.into(out, G)
    assert_trees_close(out, jax.vmap(jax.hessian(neo_hookean(jnp)))(G))


@pytest.mark.parametrize("out", [np.empty((8, 81)), np.empty((8, 3, 3, 3, 3), np.float32),
                                 np.empty((3, 3, 3, 3, 8)).T, np.empty((7, 3, 3, 3, 3))])
def test_into_refuses_an_array_of_another_shape_dtype_or_layout(out):
    F = np.eye(3) + 0.1 * rng.standard_normal((8, 3, 3))
    with pytest.raises(ValueError, match=r"writeable C-contiguous float64 array of shape \(8, 3, 3, 3, 3\)"):
        symhess.hessian(neo_hookean(np), batch_axis=0).into(out, F)


def test_into_refuses_an_output_overlapping_an_argument():
    def f(x):
        return np.sum(x ** 3)
    buf = rng.standard_normal((4, 2, 2))
    with pytest.raises(ValueError, match="shares memory with an argument"):
        symhess.hessian(f, batch_axis=0).into(buf, buf[:, 0])


def test_into_is_for_batched_single_array_results():
    F = np.eye(3) + 0.1 * rng.standard_normal((2, 3, 3))
    with pytest.raises(ValueError, match="into\\(\\) writes batched Hessians that are one array"):
        symhess.hessian(neo_hookean(np)).into(np.empty((3, 3, 3, 3)), F[0])
    with pytest.raises(ValueError, match="into\\(\\) writes batched Hessians that are one array"):
        symhess.hessian(lambda a, b: np.sum(a * b ** 2), argnums=(0, 1), batch_axis=0).into(
            np.empty((2, 3, 3)), F[:, 0], F[:, 1])
