"""Gradients and Newton triples of array programs (`symhess.arrays.product.DerivativesProduct`):
`grad`, `value_and_grad` and `value_grad_hessian` compiled by the array tier, against JAX."""

import numpy as np
import pytest

import symhess

from conftest import assert_tree_close
from test_arrays import IDS, PROGRAMS


@pytest.mark.parametrize("name, fun, make, argnums", PROGRAMS, ids=IDS)
def test_value_gradient_and_hessian_against_jax(name, fun, make, argnums, jax):
    import jax.numpy as jnp
    args = make()
    reference = lambda *a: fun(*a, xp=jnp)                       # noqa: E731
    tree = lambda x: jax.tree_util.tree_map(np.asarray, x)       # noqa: E731
    value = float(reference(*args))
    gradient = tree(jax.grad(reference, argnums=argnums)(*args))
    hessian = tree(jax.hessian(reference, argnums=argnums)(*args))
    triple = symhess.value_grad_hessian(fun, argnums=argnums, tier="array")
    assert "array tier" in triple.compile(*args).source
    f, g, H = triple(*args)
    assert float(f) == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert_tree_close(g, gradient)
    assert_tree_close(H, hessian)
    assert_tree_close(symhess.grad(fun, argnums=argnums, tier="array")(*args), gradient)
    f, g = symhess.value_and_grad(fun, argnums=argnums, tier="array")(*args)
    assert float(f) == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert_tree_close(g, gradient)


def test_the_auto_tier_and_has_aux(jax, jnp):
    """Data of 64 values or more sends a gradient to the array tier, as a Hessian; a function
    with an aux output returns it beside the value."""
    rng = np.random.default_rng(5)
    w, X = rng.standard_normal(4), rng.standard_normal((50, 4))

    def f(w, X, xp=np):
        z = X @ w
        return xp.sum(xp.log1p(xp.exp(-z))) + xp.linalg.slogdet(X.T @ X + xp.outer(w, w))[1], z

    triple = symhess.value_grad_hessian(f, has_aux=True)
    assert "array tier" in triple.compile(w, X).source
    (value, aux), g, H = triple(w, X)
    reference = lambda w: f(w, X, jnp)[0]                       # noqa: E731
    np.testing.assert_allclose(aux, X @ w)
    assert float(value) == pytest.approx(float(reference(w)), rel=1e-12)
    np.testing.assert_allclose(g, np.asarray(jax.grad(reference)(w)), rtol=1e-10)
    np.testing.assert_allclose(H, np.asarray(jax.hessian(reference)(w)), rtol=1e-10)
    (value, aux), g = symhess.value_and_grad(f, has_aux=True)(w, X)
    np.testing.assert_allclose(g, np.asarray(jax.grad(reference)(w)), rtol=1e-10)
