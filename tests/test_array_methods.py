"""The ``ndarray`` methods users call on traced arrays (`symhess.array_methods`), in both tiers
(the array tier's with the cross-check), against JAX's arrays' methods of the same names."""

import numpy as np
import pytest

import symhess
from symhess.errors import ArgumentValueError, UnsupportedFunctionError


def _methods(p, xp, scalar_tier=True):
    """Every method once, on a vector ``p`` of 12 parameters (the cumulative ones, products and
    ``argmax`` where the tier has them: the array tier leaves them to the scalar tier)."""
    M, v = p.reshape(3, 4), p[:4]
    value = ((v.repeat(2) * xp.arange(8.0)).sum() + (M.repeat(2, axis=0) ** 2).sum()
             + (p.take(xp.array([0, 3, 3, 7])) ** 3).sum()
             + (M.take(xp.array([1, 2]), axis=1) ** 2).sum() + (v.round() * v ** 2).sum()
             + M.var(axis=0).sum() + M.std() + (M.mean(axis=1) ** 2).sum()
             + M.max(axis=1).sum() + M.min() + (M.clip(-0.5, 0.8) ** 2).sum()
             + (M.clip(min=-0.2) ** 3).sum() + (M.T @ M).trace()
             + ((M @ M.mT).diagonal() ** 2).sum()
             + (M.swapaxes(0, 1) ** 2 * xp.arange(12.0).reshape(4, 3)).sum()
             + (M.conj() * M.conjugate()).sum() + M.dot(v).sum() ** 2 + (M.flatten() ** 3).sum()
             + (M.ravel() * p).sum() + M.transpose(1, 0)[0].sum() ** 2
             + (M.transpose((1, 0))[1] ** 2).sum()
             + (M.reshape(4, 3) ** 2 * xp.arange(12.0).reshape(4, 3)).sum()
             + M.reshape((2, 6))[1].sum() ** 2 + M[:1].squeeze().sum() ** 2 + M.real.sum() ** 2)
    if scalar_tier:
        value = value + (v.cumsum() ** 2).sum() + v.cumprod().sum() + v.prod() \
            + v[(v * 1.0).argmax()] ** 3 + v[v.argmin()] * v[0]
    return value


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_array_methods_against_jax(tier, jax, jnp):
    rng = np.random.default_rng(8)
    p = rng.normal(size=12) + 0.3
    scalar = tier == "scalar"
    got = symhess.hessian(lambda p: _methods(p, np, scalar), tier=tier, check=not scalar)(p)
    want = np.asarray(jax.jit(jax.hessian(lambda p: _methods(p, jnp, scalar)))(p))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_tolist_and_item_give_the_traced_entries(tier, jax, jnp):
    """``tolist`` and ``item`` give traced entries, as NumPy's give numbers: against the same
    function written with indexing."""
    def with_methods(p):
        a, b, c = p.reshape(2, 3).tolist()[1]
        return (a * b ** 2 + c * p.item(0) + p.reshape(2, 3).item(1, 2) ** 3
                + p[:1].item() * p.item((4,)) + p[2:3].tolist()[0] ** 4)

    def with_indexing(p):
        a, b, c = p[3], p[4], p[5]
        return a * b ** 2 + c * p[0] + p[5] ** 3 + p[0] * p[4] + p[2] ** 4
    p = np.linspace(0.3, 1.4, 6)
    got = symhess.hessian(with_methods, tier=tier)(p)
    np.testing.assert_allclose(got, np.asarray(jax.hessian(with_indexing)(jnp.asarray(p))),
                               rtol=1e-12)


@pytest.mark.parametrize("tier", ["scalar", "array"])
@pytest.mark.parametrize("fun, error, match", [
    (lambda x: x.sort(), UnsupportedFunctionError, "ndarray.sort .*in place.*np.sort"),
    (lambda x: x.item() ** 2, ArgumentValueError, r"item\(\) of a traced array of 4 entries"),
])
def test_methods_without_a_traced_meaning_are_refused(tier, fun, error, match):
    with pytest.raises(error, match=match):
        symhess.hessian(fun, tier=tier)(np.ones(4))
