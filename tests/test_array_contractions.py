"""Contractions of the array tier's derivatives: derivative seeds kept operands of the
contraction they reach (so each fixes an index instead of being tested in a loop), and BLAS
products whose sides are products of several arrays (`symhess.arrays.einsum`,
`symhess.arrays.contraction`). Every value is checked against ``jax.hessian``."""

import numpy as np
import pytest

import symhess

rng = np.random.default_rng(11)


def _mlp(p, X, y, xp=np):
    """Squared error of a k-h-1 tanh network whose parameters are one flat vector."""
    k = X.shape[1]
    h = (p.shape[0] - 1) // (k + 2)
    W1 = xp.reshape(p[:h * k], (h, k))
    b1, w2, b2 = p[h * k:h * k + h], p[h * k + h:h * k + 2 * h], p[h * k + 2 * h]
    return 0.5 * xp.sum((xp.tanh(X @ W1.T + b1) @ w2 + b2 - y) ** 2)


def _mlp_data(hidden=40, rows=400, k=3):
    X = rng.standard_normal((rows, k))
    y = np.sin(X @ np.linspace(1.0, -0.5, k)) + 0.1 * rng.standard_normal(rows)
    return rng.standard_normal(hidden * (k + 2) + 1) / np.sqrt(hidden), X, y


@pytest.mark.parametrize("native", ["1", "0"], ids=["native", "numba"])
def test_mlp_hessian_against_jax(native, jax, jnp, monkeypatch):
    """201 parameters over 400 rows: the Gauss-Newton blocks ``J' J`` are BLAS products of
    a Jacobian block and a product of three arrays (the data, the output weights, tanh')."""
    monkeypatch.setenv("SYMHESS_NATIVE", native)
    p, X, y = _mlp_data()
    compiled = symhess.hessian(_mlp, tier="array").compile(p, X, y)
    assert "np.dot" in compiled.source
    want = np.asarray(jax.hessian(lambda p: _mlp(p, X, y, jnp))(p))
    np.testing.assert_allclose(compiled(p, X, y), want, rtol=1e-10,
                               atol=1e-12 * np.abs(want).max())


def test_mlp_value_gradient_hessian_against_jax(jax, jnp):
    p, X, y = _mlp_data(hidden=12, rows=300, k=4)
    value, grad, hess = symhess.value_grad_hessian(_mlp, tier="array")(p, X, y)
    f = lambda p: _mlp(p, X, y, jnp)          # noqa: E731
    scale = np.abs(np.asarray(jax.hessian(f)(p))).max()
    np.testing.assert_allclose(value, float(f(p)), rtol=1e-12)
    np.testing.assert_allclose(grad, np.asarray(jax.grad(f)(p)), rtol=1e-10, atol=1e-12 * scale)
    np.testing.assert_allclose(hess, np.asarray(jax.hessian(f)(p)), rtol=1e-10,
                               atol=1e-12 * scale)


def _masked(x, A, xp=np):
    """Sums of products with a boolean factor and of sums (what np.sum of a seeded product
    becomes a contraction of), a matrix product of the variables twice, and a slice."""
    z = A @ x
    mask = z > 0.0
    return (xp.sum(mask * z ** 3) + xp.sum((z + x[0]) * xp.tanh(z) * x[1:2])
            + xp.sum(xp.outer(x, x) * (A.T @ A)) + xp.sum(xp.sin(x[1:]) * x[:-1]))


def test_sums_of_seeded_products_against_jax(jax, jnp):
    x, A = rng.standard_normal(6), rng.standard_normal((80, 6))
    got = symhess.hessian(_masked, tier="array")(x, A)
    want = np.asarray(jax.hessian(lambda x: _masked(x, A, jnp))(x))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


def _assert_blocks_close(got, want):
    """Every block of two arguments' Hessian (``got[i][j]``) against JAX's."""
    for i in range(2):
        for j in range(2):
            w = np.asarray(want[i][j])
            np.testing.assert_allclose(got[i][j], w, rtol=1e-10,
                                       atol=1e-12 * max(np.abs(w).max(), 1.0))


def test_two_arguments_blocks_against_jax(jax, jnp):
    """Seeds of two arguments (offsets in the rows of the directions) and their cross blocks."""
    W, v = rng.standard_normal((5, 3)), rng.standard_normal(5)
    X = rng.standard_normal((200, 3))

    def f(W, v, X, xp=np):
        return xp.sum(xp.log1p(xp.exp(xp.tanh(X @ W.T) @ v)))
    got = symhess.hessian(f, argnums=(0, 1), tier="array")(W, v, X)
    want = jax.hessian(lambda W, v: f(W, v, X, jnp), argnums=(0, 1))(W, v)
    _assert_blocks_close(got, want)


def test_broadcast_scalar_in_a_seeded_sum_against_jax(jax, jnp):
    """A scalar argument broadcast over data rows inside a sum with seeded terms (a negative
    binomial's ``r (log r - log(r + mu))``): each term's contraction keeps the rows' length."""
    X = rng.standard_normal((150, 3))
    y = rng.poisson(3.0, 150).astype(float)

    def f(beta, log_r, xp=np):
        r, mu = xp.exp(log_r), xp.exp(X @ beta)
        return -xp.sum(r * (xp.log(r) - xp.log(r + mu)) + y * (xp.log(mu) - xp.log(r + mu)))
    beta, log_r = 0.1 * rng.standard_normal(3), np.float64(0.4)
    got = symhess.hessian(f, argnums=(0, 1), tier="array")(beta, log_r)
    want = jax.hessian(lambda b, s: f(b, s, jnp), argnums=(0, 1))(beta, log_r)
    _assert_blocks_close(got, want)


def test_long_arithmetic_chain_against_jax(jax, jnp):
    """Thirty steps of a map whose every step reads the last twice: its graph shares nodes
    along 2^30 paths, which deciding where seeds are must not walk one by one."""
    y = np.linspace(0.9, 1.0, 3)

    def f(x, xp=np):
        for _ in range(30):
            x = 3.7 * x * (1.0 - x) * y
        return xp.sum(x)
    x = np.full(3, 0.3)
    got = symhess.hessian(f, tier="array")(x)
    want = np.asarray(jax.hessian(lambda x: f(x, jnp))(x))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("steps", [60, 150])
def test_chain_deeper_than_one_expression_against_jax(steps, jax, jnp):
    """Euler steps of an ODE, each reading the last state twice: the tangent of the chain,
    inlined step after step, would nest deeper than Python's parser takes (200 parentheses),
    so the loop program names the step where a run gets too deep and reads it by name."""
    w = np.linspace(0.5, 1.5, 4)

    def f(x, xp=np):
        for _ in range(steps):
            x = x + 0.05 * (xp.sin(x) * x - 0.5 * x)
        return xp.sum(w * x * x)
    x = np.linspace(0.2, 0.8, 4)
    got = symhess.hessian(f, tier="array")(x)
    want = np.asarray(jax.hessian(lambda x: f(x, jnp))(x))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())
