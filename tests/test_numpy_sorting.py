"""``np.sort`` and ``np.median`` of traced values (`symhess.foreign.numpy_sorting`): values equal
to NumPy's for every axis, length (powers of two and not) and ties, Hessians against JAX's in
both tiers with the cross-check, and the index functions refused by name."""

import numpy as np
import pytest

import symhess
from symhess.errors import UnsupportedFunctionError

TIERS = ["scalar", "array"]


@pytest.mark.parametrize("tier", TIERS)
def test_values_equal_numpys(tier):
    rng = np.random.default_rng(0)
    cases = [((1,), -1), ((5,), 0), ((8,), -1), ((3, 7), 1), ((3, 7), 0), ((2, 3, 4), 1),
             ((2, 2, 3), None)]
    for shape, axis in cases:
        x = rng.normal(size=shape)
        x.flat[0] = x.flat[-1]                     # a tie

        def parts(v, axis=axis):
            return (np.sort(v, axis=axis), np.median(v, axis=axis),
                    np.median(v, axis=axis, keepdims=True))

        def weighted(v):              # each entry of each part with a weight of its own
            return sum(np.sum(p * np.arange(1.0, 1 + np.size(p)).reshape(np.shape(p)) * 10 ** k)
                       for k, p in enumerate(parts(v)))
        for got, want in zip(parts(x), (np.sort(x, axis=axis), np.median(x, axis=axis),
                                        np.median(x, axis=axis, keepdims=True))):
            assert np.shape(got) == np.shape(want)
        value, _ = symhess.value_and_grad(weighted, tier=tier)(x)
        np.testing.assert_allclose(value, weighted(x), rtol=1e-14, err_msg=f"{shape} {axis}")


@pytest.mark.parametrize("tier", TIERS)
def test_hessians_against_jax(tier, jax, jnp):
    """Order statistics weighted unequally (so the Hessian depends on the permutation), a
    median, and a sort along the first axis of a matrix."""
    def f(xp, x):
        s = xp.sort(x)
        w = xp.arange(1.0, x.size + 1) ** 2
        return (xp.sum(w * s * s) + xp.median(x) ** 3
                + xp.sum(xp.sort(xp.reshape(x, (2, -1)), axis=0)[0] ** 3))
    for n in (2, 6) if tier == "scalar" else (2, 6, 8):
        x = np.random.default_rng(n).normal(size=n)
        H = symhess.hessian(lambda x: f(np, x), tier=tier, check=True)(x)
        np.testing.assert_allclose(H, jax.hessian(lambda x: f(jnp, x))(x), rtol=1e-12,
                                   atol=1e-12)


def test_a_long_sort_goes_to_the_array_tier():
    """The scalar tier refuses a sort of more than 16 values (its selections, written out as
    expression trees, would nest 15 deep) and says so; the default tier sorts it in the
    array tier."""
    x = np.random.default_rng(1).normal(size=(2, 3, 4))

    def f(v):
        return np.sum(np.sort(v, axis=None) * np.arange(24.0)) + np.median(v) ** 2
    with pytest.raises(UnsupportedFunctionError, match=r"24 traced values in the scalar tier"):
        symhess.value_and_grad(f, tier="scalar")(x)
    value, g = symhess.value_and_grad(f)(x)
    np.testing.assert_allclose(value, f(x), rtol=1e-14)
    order = np.argsort(x, axis=None, kind="stable")
    want = np.zeros(24)
    want[order] = np.arange(24.0)
    middle = order[11:13]
    want[middle] += np.median(x)                   # d/dx (mean of the middle two)^2
    np.testing.assert_allclose(g.ravel(), want, rtol=1e-13)


@pytest.mark.parametrize("name", ["argmax", "argmin", "argsort"])
def test_index_functions_are_refused_by_name(name):
    with pytest.raises(UnsupportedFunctionError, match=rf"np\.{name} of a traced value.*np\.max"):
        symhess.hessian(lambda x: np.sum(x) * getattr(np, name)(x))(np.ones(3))
    assert f"np.{name}" not in symhess.supported_functions()
    assert "np.sort" in symhess.supported_functions()
