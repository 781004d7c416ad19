"""Sparse Hessians and Hessian-vector products against JAX's dense Hessian."""

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

import symhess


def rosenbrock(x, xp):
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def chain(x, xp):          # a banded problem with a nonlinear coupling of neighbours
    return xp.sum(xp.exp(0.1 * x[1:] * x[:-1])) + xp.sum(xp.log1p(x ** 2))


def two_args(a, b, xp):
    return xp.sum(a ** 2 * b[0]) + xp.sin(b[1]) * a[0]


PROBLEMS = [(rosenbrock, 12), (chain, 9)]


def dense_reference(jax, jnp, f, x):
    return np.asarray(jax.hessian(lambda x: f(x, jnp))(x))


@pytest.mark.parametrize("f, n", PROBLEMS)
@pytest.mark.parametrize("mode", [True, "upper"])
def test_sparse_values_and_exact_pattern(jax, jnp, f, n, mode):
    x = np.linspace(-1.2, 1.3, n)
    compiled = symhess.hessian(lambda x: f(x, np), sparse=mode).compile(x)
    H = compiled(x)
    assert isinstance(H, scipy.sparse.csr_array) and H.shape == (n, n)
    ref = dense_reference(jax, jnp, f, x)
    want = np.triu(ref) if mode == "upper" else ref
    np.testing.assert_allclose(H.toarray(), want, rtol=1e-12, atol=1e-12)
    # The pattern is the structural one, known before any evaluation: here every structural
    # entry is numerically nonzero at x, so it equals the nonzeros of the reference.
    np.testing.assert_array_equal(compiled.pattern.toarray() != 0, want != 0)
    assert H.nnz == np.count_nonzero(want)


def test_sparse_global_order_over_several_arguments(jax, jnp):
    a, b = np.array([1.0, 2.0]), np.array([0.5, 0.3])
    H = symhess.hessian(lambda a, b: two_args(a, b, np), argnums=(0, 1), sparse=True)(a, b)
    ref = jax.hessian(lambda a, b: two_args(a, b, jnp), argnums=(0, 1))(a, b)
    dense = np.block([[np.asarray(ref[i][j]) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(H.toarray(), dense, rtol=1e-13)


def test_sparse_needs_a_scalar_function():
    with pytest.raises(ValueError, match="scalar"):
        symhess.hessian(lambda x: x ** 2, sparse=True)(np.ones(3))
    with pytest.raises(ValueError, match="sparse must be"):
        symhess.hessian(np.sum, sparse="diagonal")


@pytest.mark.parametrize("f, n", PROBLEMS)
def test_hvp_equals_hessian_times_vector(jax, jnp, f, n):
    x = np.linspace(-1.2, 1.3, n)
    v = np.cos(np.arange(n) * 0.7)
    got = symhess.hvp(lambda x: f(x, np))(x, v)
    np.testing.assert_allclose(got, dense_reference(jax, jnp, f, x) @ v, rtol=1e-12, atol=1e-11)


def test_hvp_tuple_argnums_keeps_the_structure_of_the_arguments(jax, jnp):
    a, b = np.array([1.0, 2.0]), np.array([0.5, 0.3])
    v = (np.array([1.0, -2.0]), np.array([0.25, 1.0]))
    got = symhess.hvp(lambda a, b: two_args(a, b, np), argnums=(0, 1))(a, b, v)
    ref = jax.hessian(lambda a, b: two_args(a, b, jnp), argnums=(0, 1))(a, b)
    dense = np.block([[np.asarray(ref[i][j]) for j in range(2)] for i in range(2)])
    want = dense @ np.concatenate(v)
    assert isinstance(got, tuple) and got[0].shape == (2,) and got[1].shape == (2,)
    np.testing.assert_allclose(np.concatenate(got), want, rtol=1e-13)


def test_hvp_with_an_argument_named_like_the_tangent():
    def f(v, w):
        return np.sum(v ** 3 * w)
    v, w = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_allclose(symhess.hvp(f)(v, w, np.ones(2)), 6 * v * w)


def test_hvp_linear_operator_solves_newton_steps(jax, jnp):
    n = 10
    x = np.linspace(0.5, 1.5, n)
    op = symhess.hvp(lambda x: chain(x, np)).linear_operator(x)
    g = np.asarray(jax.grad(lambda x: chain(x, jnp))(x))
    step, info = scipy.sparse.linalg.cg(op, -g, rtol=1e-12, atol=0)
    assert info == 0
    np.testing.assert_allclose(dense_reference(jax, jnp, chain, x) @ step, -g, rtol=1e-8, atol=1e-10)


def test_hvp_errors_name_the_problem():
    with pytest.raises(ValueError, match="scalar"):
        symhess.hvp(lambda x: x ** 2)(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="shape"):
        symhess.hvp(np.sum)(np.ones(3), np.ones(4))
    with pytest.raises(TypeError, match="tangent v is missing"):
        symhess.hvp(np.sum)()


@pytest.mark.parametrize("group", [1, 3])
def test_cse_in_groups_gives_the_same_hessian(jax, jnp, group, monkeypatch, tmp_path):
    """Large kernels run CSE on groups of entries whose temporaries are renamed apart."""
    from symhess import derive
    monkeypatch.setattr(derive, "CSE_GROUP", group)
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path))
    x = np.linspace(-1.2, 1.3, 9)
    H = symhess.hessian(lambda x: chain(x, np), sparse=True)(x)
    np.testing.assert_allclose(H.toarray(), dense_reference(jax, jnp, chain, x), rtol=1e-12, atol=1e-12)


def test_hvp_linear_operator_is_built_once_per_signature(jax, jnp, monkeypatch):
    Hv = symhess.hvp(lambda x, s: chain(x, np) * s, argnums=(0, 1))
    traces = []
    build = Hv._build
    monkeypatch.setattr(Hv, "_build", lambda *a, **k: traces.append(1) or build(*a, **k))
    n = 6
    for k in range(4):                      # new points of one signature: one trace in all
        x, s = np.linspace(0.5, 1.5 + 0.1 * k, n), np.array(1.0 + k)
        op = Hv.linear_operator(x, s)
        assert op.shape == (n + 1, n + 1) and op.dtype == np.float64
        H = jax.hessian(lambda z: chain(z[:n], jnp) * z[n])(jnp.concatenate([x, s[None]]))
        u = np.cos(np.arange(n + 1.0))
        np.testing.assert_allclose(op @ u, np.asarray(H) @ u, rtol=1e-12, atol=1e-12)
    assert len(traces) == 1
    op32 = Hv.linear_operator(x.astype(np.float32), s.astype(np.float32))
    assert op32.dtype == np.float32 and len(traces) == 2
