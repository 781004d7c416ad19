"""`symhess.grad`, `value_and_grad`, `jacobian` and `value_grad_hessian` against JAX.

Each function is written once for a NumPy-like namespace ``xp``; JAX differentiates the ``jnp``
version with the same arguments. Results are compared leaf by leaf, trees included.
"""

import numpy as np
import pytest

import symhess
from symhess.errors import OptionValueError, OutputShapeError

from conftest import assert_tree_close

RNG = np.random.default_rng(20261130)


def chain(xp):
    """Rosenbrock plus a linear term: element templates with linear instances."""
    return lambda x: xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2) \
        + 0.5 * xp.sum(x)


def python_loop(xp):
    def f(x):
        s = 0.0
        for i in range(len(x) - 1):
            s = s + (x[i + 1] - x[i]) ** 4 + 3.0 * x[i] * x[0]
        return s
    return f


def logistic(xp):
    def nll(w, X, y):
        z = X @ w
        return xp.sum(xp.log1p(xp.exp(-y * z))) + 0.1 * xp.sum(w ** 2)
    return nll


def two_args(xp):
    return lambda x, s: xp.sum(xp.sin(x) * s[0]) + s[1] ** 3 * x[0] + xp.exp(s[0] * s[1])


def tree_arg(xp):
    return lambda p: xp.sum(p["a"] ** 2 * p["b"][0]) + xp.tanh(p["b"][1]) * p["a"][0, 1]


CASES = {
    "chain": (chain, (RNG.normal(size=40),), 0),
    "python_loop": (python_loop, (RNG.normal(size=30),), 0),
    "logistic": (logistic, (RNG.normal(size=3), RNG.normal(size=(50, 3)),
                            np.sign(RNG.normal(size=50))), 0),
    "two_args": (two_args, (RNG.normal(size=4), RNG.normal(size=2)), (0, 1)),
    "tree_arg": (tree_arg, ({"a": RNG.normal(size=(2, 2)), "b": RNG.normal(size=2)},), 0),
}


def _jax_args(jnp, args):
    import jax
    return jax.tree_util.tree_map(jnp.asarray, args)


@pytest.mark.parametrize("templates", [None, False], ids=["templates", "unrolled"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_value_grad_hessian_against_jax(case, templates, jax, jnp):
    make, args, argnums = CASES[case]
    f, fj, jargs = make(np), make(jnp), _jax_args(jnp, args)
    value, g, H = symhess.value_grad_hessian(f, argnums, templates=templates)(*args)
    assert np.ndim(value) == 0
    assert_tree_close(value, fj(*jargs), path="value")
    assert_tree_close(g, jax.grad(fj, argnums)(*jargs), path="grad")
    assert_tree_close(H, jax.hessian(fj, argnums)(*jargs), path="H")
    assert_tree_close(symhess.grad(f, argnums, templates=templates)(*args),
                      jax.grad(fj, argnums)(*jargs), path="grad alone")
    v2, g2 = symhess.value_and_grad(f, argnums, templates=templates)(*args)
    assert_tree_close((v2, g2), jax.value_and_grad(fj, argnums)(*jargs), path="value_and_grad")


def test_one_kernel_shares_the_derivation():
    """value_grad_hessian is one kernel; its Hessian part equals symhess.hessian's."""
    f = chain(np)
    x = RNG.normal(size=40)
    c = symhess.value_grad_hessian(f).compile(x)
    assert c.source.count("\ndef kernel(") + c.source.count("\nkernel = native_kernel(") == 1
    np.testing.assert_allclose(c(x)[2], symhess.hessian(f)(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sparse", [True, "upper", "lower"])
def test_sparse_hessian_triangles(sparse, jax, jnp):
    f = chain(np)
    x = RNG.normal(size=12)
    expected = np.asarray(jax.hessian(chain(jnp))(jnp.asarray(x)))
    keep = {True: expected, "upper": np.triu(expected), "lower": np.tril(expected)}[sparse]
    H = symhess.hessian(f, sparse=sparse)(x)
    np.testing.assert_allclose(H.toarray(), keep, rtol=1e-12, atol=1e-12)
    value, g, H2 = symhess.value_grad_hessian(f, sparse=sparse)(x)
    np.testing.assert_allclose(H2.toarray(), keep, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, jax.grad(chain(jnp))(jnp.asarray(x)), rtol=1e-12)
    # the stored pattern is the structural one: tridiagonal, in the asked triangle
    pattern = symhess.hessian(f, sparse=sparse).compile(x).pattern.toarray() != 0
    structural = np.abs(np.subtract.outer(np.arange(12), np.arange(12))) <= 1
    want = {True: structural, "upper": np.triu(structural),
            "lower": np.tril(structural)}[sparse]
    np.testing.assert_array_equal(pattern, want)


def constraints(xp):
    return lambda x: xp.concatenate([x[1:] ** 2 - x[:-1] * xp.exp(x[1:]), xp.sum(x ** 2)[None]])


def test_jacobian_dense_and_sparse(jax, jnp):
    x = RNG.normal(size=8)
    expected = np.asarray(jax.jacobian(constraints(jnp))(jnp.asarray(x)))
    np.testing.assert_allclose(symhess.jacobian(constraints(np))(x), expected, rtol=1e-12)
    J = symhess.jacobian(constraints(np), sparse=True)
    got = J(x)
    assert got.shape == (8, 8)
    np.testing.assert_allclose(got.toarray(), expected, rtol=1e-12)
    # the pattern: the chain's two diagonals and the full last row
    pattern = J.compile(x).pattern.toarray() != 0
    want = np.zeros((8, 8), bool)
    want[np.arange(7), np.arange(7)] = want[np.arange(7), np.arange(1, 8)] = True
    want[7] = True
    np.testing.assert_array_equal(pattern, want)


def test_jacobian_trees(jax, jnp):
    """A tuple output and tuple argnums: J[out][arg] of shape out.shape + arg.shape."""
    def make(xp):
        return lambda A, b: (A @ b, xp.sum(A * A) * b[0])
    A, b = RNG.normal(size=(3, 2)), RNG.normal(size=2)
    got = symhess.jacobian(make(np), argnums=(0, 1))(A, b)
    expected = jax.jacobian(make(jnp), argnums=(0, 1))(jnp.asarray(A), jnp.asarray(b))
    assert_tree_close(got, expected, path="J")


def test_has_aux_follows_jax(jax, jnp):
    def make(xp):
        return lambda x: (xp.sum(x ** 3), {"norm": xp.sum(x * x)})
    x = RNG.normal(size=3)
    fj, xj = make(jnp), jnp.asarray(x)
    (value, aux), g = symhess.value_and_grad(make(np), has_aux=True)(x)
    ((value_j, aux_j), g_j) = jax.value_and_grad(fj, has_aux=True)(xj)
    assert_tree_close((value, g), (value_j, g_j))
    assert_tree_close(aux, aux_j)
    g, aux = symhess.grad(make(np), has_aux=True)(x)
    assert_tree_close(g, jax.grad(fj, has_aux=True)(xj)[0])
    (value, aux), g, H = symhess.value_grad_hessian(make(np), has_aux=True)(x)
    assert_tree_close(H, jax.hessian(lambda x: fj(x)[0])(xj))
    assert_tree_close(aux, aux_j)


def test_integers_and_numbers_are_differentiated_as_floats(jax, jnp):
    g = symhess.grad(lambda x, y: x ** 2 * y, argnums=(0, 1))(3.0, 2.0)
    assert_tree_close(g, jax.grad(lambda x, y: x ** 2 * y, argnums=(0, 1))(3.0, 2.0))


def test_static_and_keyword_arguments(jax, jnp):
    def make(xp):
        def f(x, power, *, scale):
            return scale * xp.sum(x ** power)
        return f
    x = RNG.normal(size=3)
    g = symhess.grad(make(np), static_argnums=1)
    for scale in (1.0, 2.5):
        expected = jax.grad(lambda x: make(jnp)(x, 3, scale=scale))(jnp.asarray(x))
        assert_tree_close(g(x, 3, scale=np.float64(scale)), expected)


def test_errors():
    x = np.ones(3)
    with pytest.raises(OutputShapeError, match="returning one scalar.*jacobian"):
        symhess.grad(lambda x: x ** 2)(x)
    with pytest.raises(OutputShapeError, match="returning one scalar"):
        symhess.value_grad_hessian(lambda x: (x[0], x[1]))(x)
    with pytest.raises(OptionValueError, match="sparse must be False or True"):
        symhess.jacobian(lambda x: x, sparse="upper")
    with pytest.raises(OptionValueError, match="sparse must be"):
        symhess.hessian(lambda x: x, sparse="middle")


def test_the_direct_and_general_calls_agree(jax, jnp):
    """A call with plain float64 arrays takes the direct path (the kernel, then the result
    split by a function made once); a big-endian array is converted on the general path.
    Both give JAX's values, in the same structure."""
    f = chain(np)
    x = RNG.normal(size=40)
    fj = chain(jnp)
    expected = (fj(jnp.asarray(x)), jax.grad(fj)(jnp.asarray(x)), jax.hessian(fj)(jnp.asarray(x)))
    for sparse in (False, "lower"):
        c = symhess.value_grad_hessian(f, sparse=sparse).compile(x)
        for arg in (x, x.astype(">f8")):
            value, g, H = c(arg)
            H = H.toarray() if sparse else H
            want = np.tril(expected[2]) if sparse else expected[2]
            assert_tree_close((value, g, H), (expected[0], expected[1], want))
    with pytest.raises(TypeError, match="x"):
        symhess.value_and_grad(f).compile(x)(np.ones(40, dtype=complex))
