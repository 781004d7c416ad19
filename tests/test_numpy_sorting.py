"""``np.sort`` and ``np.median`` of traced values (`symhess.foreign.numpy_sorting`): values equal
to NumPy's for every axis, length (powers of two and not) and ties, Hessians against JAX's in
both tiers with the cross-check; np.argmax and np.argmin, and indexing by them; np.argsort refused
by name."""

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


@pytest.mark.parametrize("tier", ["auto", "scalar", "array"])
def test_argsort_is_refused_by_name(tier):
    with pytest.raises(UnsupportedFunctionError, match=r"np\.argsort of a traced value.*np\.sort"):
        symhess.hessian(lambda x: np.sum(x) * np.argsort(x), tier=tier)(np.ones(3))
    assert "np.argsort" not in symhess.supported_functions()
    assert "np.sort" in symhess.supported_functions()


def test_argmax_and_argmin_values_equal_numpys():
    """Of numbers (as the cross-check's jets compare): NumPy's integers, first of ties, first
    NaN, every axis and keepdims."""
    from symhess.foreign.numpy_sorting import argmax, argmin
    x = np.array([[1.0, 3.0, 3.0, -2.0], [np.nan, 0.5, np.nan, 0.5], [-1.0, -1.0, 4.0, 2.0]])
    for f, g in ((argmax, np.argmax), (argmin, np.argmin)):
        for axis in (None, 0, 1, -1):
            for keepdims in (False, True):
                got, want = f(x, axis, keepdims=keepdims), g(x, axis, keepdims=keepdims)
                assert got.dtype == np.int64 and got.shape == np.shape(want), (axis, keepdims)
                np.testing.assert_array_equal(got, want)


def _indexed_by_extremes(xp):
    def f(x):
        X = xp.reshape(x, (3, 4))
        i, j = xp.argmax(x), xp.argmin(X, axis=1)
        best = X[1, xp.argmax(X[1])] * X[2, j[2]] + x[i] ** 3
        return best + xp.sum(X[:, xp.argmin(X[0])] ** 2) + xp.sum(xp.argmax(X, axis=0) * x[:4])
    return f


@pytest.mark.parametrize("tier", ["auto", "scalar"])
def test_indexing_by_argmax_and_argmin_against_jax(tier, jax, jnp):
    """The index is a piecewise constant (derivative 0) that selects the entry it names: the
    Hessian is that of the active entries, as JAX's; ties take the first, as NumPy's."""
    for x in (np.array([0.3, 1.2, -0.7, 2.1, -1.4, 0.8, 0.1, 0.9, 1.5, -0.2, 0.4, 0.6]),
              np.array([1.0, 1.0, -1.0, 2.0, 2.0, 0.5, -3.0, -3.0, 0.7, 0.7, 0.7, 0.7])):
        got = symhess.hessian(_indexed_by_extremes(np), tier=tier, check=True)(x)
        want = jax.hessian(_indexed_by_extremes(jnp))(x)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(symhess.grad(_indexed_by_extremes(np))(x),
                                   jax.grad(_indexed_by_extremes(jnp))(x), rtol=1e-12)


def test_an_index_that_is_not_an_argmax_is_refused():
    """A differentiated value, or arithmetic on an index, cannot select entries."""
    from symhess.errors import TracerIndexError
    x = np.array([0.3, 1.2, 2.0])
    for f in (lambda x: x[x[0]] ** 2, lambda x: x[np.argmax(x) - 1] ** 2,
              lambda x: x[np.argmax(x), None] ** 2):
        with pytest.raises(TracerIndexError, match="used as an index"):
            symhess.hessian(f, tier="scalar")(x)
