"""Sparse Hessians from the array tier (`symhess.arrays.sparsity`): the structural pattern
found from the graph, the coloring of its columns, and the values read out of one
Hessian-vector product per color, each against ``jax.hessian``'s dense matrix."""

import numpy as np
import pytest
import scipy.sparse as sp

import symhess
from symhess.arrays.sparsity import color_columns
from symhess.errors import UnsupportedFunctionError

rng = np.random.default_rng(11)


def _mesh(side):
    """Triangles of a ``side`` x ``side`` grid of squares (node (i, j) is ``i (side+1) + j``)."""
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    a = (i * (side + 1) + j).ravel()
    b, c, d = a + 1, a + side + 1, a + side + 2
    return np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])


def _fem(u, X0, Dinv, area, xp=np):
    """A neo-Hookean triangle mesh; its connectivity is a constant made from the shapes."""
    x = (X0 + u).reshape(-1, 2)
    tri = _mesh(int(round(np.sqrt(x.shape[0]))) - 1)
    edges = xp.stack([x[tri[:, 1]] - x[tri[:, 0]], x[tri[:, 2]] - x[tri[:, 0]]], axis=2)
    F = edges @ Dinv.reshape(-1, 2, 2)               # one 2x2 deformation gradient a triangle
    logJ = xp.log(F[:, 0, 0] * F[:, 1, 1] - F[:, 0, 1] * F[:, 1, 0])
    return xp.sum(area * (0.5 * (xp.sum(F ** 2, axis=(1, 2)) - 2) - logJ + 2.0 * logJ ** 2))


def _fem_args(side=6):
    grid = np.arange(side + 1) / side
    Y, X = np.meshgrid(grid, grid, indexing="ij")
    X0 = np.stack([X.ravel(), Y.ravel()], 1)
    tri = _mesh(side)
    Dm = np.stack([X0[tri[:, 1]] - X0[tri[:, 0]], X0[tri[:, 2]] - X0[tri[:, 0]]], axis=2)
    u = 0.02 * rng.standard_normal(X0.shape)
    return (u.ravel(), X0.ravel(), np.linalg.inv(Dm).reshape(-1, 4),
            0.5 * np.abs(np.linalg.det(Dm)))


def _chain(x, c, xp=np):            # slices: a banded Hessian
    return xp.sum(c * (x[1:] - x[:-1] ** 2) ** 2) + xp.sum((1 - x) ** 2)


def _blocks(x, W, xp=np):           # reshape, transpose, einsum, max, where: 4x4 dense blocks
    X = x.reshape(5, 4)
    z = xp.einsum("ij,jk->ik", X, W)
    m = xp.max(X ** 2, axis=1)
    return xp.sum(xp.tanh(z) ** 2) + xp.sum(m) + xp.sum(xp.where(X > 0, X ** 3, -X))


def _stacked(x, y, xp=np):          # two arguments, concatenate, stack and broadcasting
    v = xp.concatenate([x, y[:2] * y[1:]])
    M = xp.stack([x * y[0], xp.sin(x)])
    return xp.sum(v ** 3) + xp.sum(M[:, :, None] * M[:, None, :2])


def _slogdet(x, xp=np):             # a determinant couples one block; the rest is diagonal
    A = x[:9].reshape(3, 3) + 4.0 * xp.eye(3)
    return xp.linalg.slogdet(A)[1] + xp.sum(xp.exp(x[9:]))


CASES = {
    "fem": (_fem, _fem_args, 0),
    "chain": (_chain, lambda: (rng.standard_normal(30), rng.uniform(1, 2, 29)), 0),
    "blocks": (_blocks, lambda: (rng.standard_normal(20), rng.standard_normal((4, 3))), 0),
    "stacked": (_stacked, lambda: (rng.standard_normal(4), rng.standard_normal(3)), (0, 1)),
    "slogdet": (_slogdet, lambda: (0.3 * rng.standard_normal(14),), 0),
}


def _dense_jax(jax, fun, args, argnums):
    import jax.numpy as jnp
    H = jax.hessian(lambda *a: fun(*a, xp=jnp), argnums=argnums)(*args)
    if isinstance(argnums, tuple):
        return np.block([[np.asarray(H[i][j]).reshape(args[i].size, args[j].size)
                          for j in argnums] for i in argnums])
    return np.asarray(H)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_pattern_against_jax(name, jax):
    fun, make, argnums = CASES[name]
    args = make()
    H = symhess.hessian(fun, argnums=argnums, sparse=True, tier="array")(*args)
    assert isinstance(H, sp.csr_array) and H.has_sorted_indices
    expected = _dense_jax(jax, fun, args, argnums)
    np.testing.assert_allclose(H.toarray(), expected, rtol=1e-10, atol=1e-10)
    # The pattern is structural: every entry nonzero at two random points, and nothing else.
    other = [a + 0.01 * rng.standard_normal(a.shape) if i in np.atleast_1d(argnums) else a
             for i, a in enumerate(args)]
    nonzero = (expected != 0) | (_dense_jax(jax, fun, other, argnums) != 0)
    pattern = H.copy()
    pattern.data[:] = 1
    assert np.array_equal(pattern.toarray() != 0, nonzero)


@pytest.mark.parametrize("triangle", ["upper", "lower"])
def test_one_triangle_and_coo(triangle, jax):
    args = _fem_args(4)
    expected = _dense_jax(jax, _fem, args, 0)
    H = symhess.hessian(_fem, sparse=triangle, tier="array", sparse_format="coo_array")(*args)
    assert isinstance(H, sp.coo_array)
    keep = np.triu if triangle == "upper" else np.tril
    np.testing.assert_allclose(H.toarray(), keep(expected), rtol=1e-10, atol=1e-10)


def test_value_grad_hessian_sparse(jax):
    import jax.numpy as jnp
    args = _fem_args(5)
    value, grad, H = symhess.value_grad_hessian(_fem, sparse=True, tier="array")(*args)
    f = lambda u: _fem(u, *args[1:], xp=jnp)
    np.testing.assert_allclose(value, float(f(args[0])), rtol=1e-12)
    np.testing.assert_allclose(grad, np.asarray(jax.grad(f)(args[0])), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H.toarray(), np.asarray(jax.hessian(f)(args[0])),
                               rtol=1e-10, atol=1e-10)


def test_linear_function_has_an_empty_pattern():
    H = symhess.hessian(lambda x, a: np.sum(a * x), sparse=True, tier="array")(
        np.ones(70), np.arange(70.0))
    assert H.shape == (70, 70) and H.nnz == 0


def test_runtime_index_arrays_are_refused_and_closures_work():
    """A gather by a runtime index array has a data-dependent pattern: both tiers refuse it
    with a clear error; the same indices by closure are constants of the trace."""
    from symhess.errors import TracerIndexError
    f = lambda x, idx, w: np.sum(w * x[idx] ** 3)
    x, idx, w = rng.standard_normal(10), rng.integers(0, 10, 80), rng.uniform(size=80)
    with pytest.raises(UnsupportedFunctionError, match="runtime index array"):
        symhess.hessian(f, sparse=True, tier="array")(x, idx, w)
    with pytest.raises(TracerIndexError, match="closure"):
        symhess.hessian(f, sparse=True)(x, idx, w)
    H = symhess.hessian(lambda x, w: f(x, idx, w), sparse=True, tier="array")(x, w)
    expected = np.zeros(10)
    np.add.at(expected, idx, 6 * w * x[idx])
    np.testing.assert_allclose(H.toarray(), np.diag(expected), rtol=1e-12, atol=1e-12)
    assert H.nnz == len(np.unique(idx))


def test_auto_gives_the_array_tier_what_the_scalar_tier_has_no_rule_for(jax):
    """A sparse Hessian of a function without runtime data stays with the scalar tier, except
    for a function it cannot trace: a 20x20 log-determinant, which the array tier compiles."""
    import jax.numpy as jnp

    def f(x, xp=np):
        A = x[:400].reshape(20, 20)
        return xp.linalg.slogdet(A @ A.T + xp.eye(20))[1] + xp.sum(x[400:] ** 4)
    x = 0.1 * rng.standard_normal(410)
    H = symhess.hessian(f, sparse=True)(x)
    expected = np.asarray(jax.hessian(lambda x: f(x, xp=jnp))(x))
    np.testing.assert_allclose(H.toarray(), expected, rtol=1e-9, atol=1e-10)
    assert H.nnz == 400 * 400 + 10


def test_auto_gives_sparse_hessians_reading_data_to_the_array_tier(jax):
    """The tier rule is the dense Hessians': runtime data of 64 values or more (the mesh's
    reference shapes) sends the mesh energy to the array tier; without data, the scalar tier
    compiles it (element templates)."""
    args = _fem_args(5)
    expected = _dense_jax(jax, _fem, args, 0)
    compiled = symhess.hessian(_fem, sparse=True).compile(*args)
    assert "array tier" in compiled.source
    np.testing.assert_allclose(compiled(*args).toarray(), expected, rtol=1e-10, atol=1e-10)
    u, X0, Dinv, area = args
    alone = symhess.hessian(lambda u: _fem(u, X0, Dinv, area), sparse=True).compile(u)
    assert "array tier" not in alone.source
    np.testing.assert_allclose(alone(u).toarray(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n, density", [(200, 0.02), (120, 0.6), (1, 1.0), (50, 0.0)])
def test_coloring_separates_columns_that_share_a_row(n, density):
    """No two columns of one color share a row, whatever the number of colors (more than the
    63 chosen at a time)."""
    upper = sp.random(n, n, density=density, random_state=3, format="coo")
    rows, cols = np.minimum(upper.row, upper.col), np.maximum(upper.row, upper.col)
    color = color_columns(rows.astype(np.int64), cols.astype(np.int64), n)
    pattern = sp.coo_array((np.ones(len(rows) + n), (np.r_[rows, np.arange(n)],
                                                     np.r_[cols, np.arange(n)])), shape=(n, n))
    pattern = ((pattern + pattern.T) != 0).tocsr()
    for row in range(n):
        members = pattern.indices[pattern.indptr[row]:pattern.indptr[row + 1]]
        assert len(set(color[members])) == len(members)
    assert color.min() >= 0 and color.max() < n


# --- sums over elements ----------------------------------------------------------------------
def _fem_flat(u, X0, Dinv, area, xp=np):
    """The mesh energy with the corners gathered from the flat vector (x[2 k], x[2 k + 1])."""
    x = X0.ravel() + u
    tri = 2 * _mesh(int(round(np.sqrt(x.shape[0] // 2))) - 1)
    x0, y0 = x[tri[:, 0]], x[tri[:, 0] + 1]
    ex = [x[tri[:, k]] - x0 for k in (1, 2)]
    ey = [x[tri[:, k] + 1] - y0 for k in (1, 2)]
    F = [[ex[0] * Dinv[:, 0] + ex[1] * Dinv[:, 2], ex[0] * Dinv[:, 1] + ex[1] * Dinv[:, 3]],
         [ey[0] * Dinv[:, 0] + ey[1] * Dinv[:, 2], ey[0] * Dinv[:, 1] + ey[1] * Dinv[:, 3]]]
    J = F[0][0] * F[1][1] - F[0][1] * F[1][0]
    return xp.sum(area * (F[0][0] ** 2 + F[1][1] ** 2 + 0.5 * F[0][1] ** 2 - xp.log(J)))


def _bonds(x, r0, pairs):
    def energy(x, r0, xp=np):
        p = x.reshape(-1, 3)
        d = p[pairs[:, 0]] - p[pairs[:, 1]]
        r = xp.sqrt(xp.sum(d * d, axis=1))
        return xp.sum((r - r0) ** 2 + 0.1 * (r - r0) ** 4)
    return energy


_PAIRS = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2], [4, 5], [0, 1], [1, 4]])


def _two(x, y, w, xp=np):           # two arguments, each gathered by its own index vector
    i, j = np.array([0, 2, 4, 1, 3]), np.array([1, 1, 0, 2, 2])
    return xp.sum(w * xp.exp(x[i] * y[j]) * xp.cos(x[i + 1] - y[j]))


ELEMENTS = {
    "fem rows": (_fem, _fem_args, 0, True),
    "fem flat": (_fem_flat, _fem_args, 0, True),
    "bonds": (_bonds(None, None, _PAIRS), lambda: (rng.standard_normal(18), rng.uniform(
        0.5, 1.0, len(_PAIRS))), 0, True),
    "two arguments": (_two, lambda: (rng.standard_normal(6), rng.standard_normal(3),
                                     rng.uniform(size=5)), (0, 1), True),
    # not sums over elements: the coloring computes them
    "coupled": (lambda u, X0, Dinv, area, xp=np: _fem(u, X0, Dinv, area, xp) ** 2,
                lambda: _fem_args(3), 0, False),
    "regularized": (lambda u, X0, Dinv, area, xp=np: _fem(u, X0, Dinv, area, xp)
                    + xp.sum(u ** 4), lambda: _fem_args(3), 0, False),
}


@pytest.mark.parametrize("name", sorted(ELEMENTS))
@pytest.mark.parametrize("triangle", [True, "upper", False])
def test_sums_over_elements_against_jax(name, triangle, jax):
    """Sparse (and dense: ``False``) Hessians of sums over elements, block by block."""
    from symhess.arrays.elements import element_hessian
    from symhess.arrays.product import trace_arrays
    fun, make, argnums, is_sum = ELEMENTS[name]
    args = make()
    h = symhess.hessian(fun, argnums=argnums, sparse=triangle, tier="array")
    assert (element_hessian(trace_arrays(h, args, {}), "both", "csr_array") is not None) \
        == is_sum
    H = h(*args)
    expected = _dense_jax(jax, fun, args, argnums)
    if triangle == "upper":
        expected = np.triu(expected)
    if not triangle:
        dense = np.block([[np.reshape(H[i][j], (args[i].size, args[j].size)) for j in argnums]
                          for i in argnums]) if isinstance(argnums, tuple) else H
        np.testing.assert_allclose(dense, expected, rtol=1e-10, atol=1e-10)
        return
    np.testing.assert_allclose(H.toarray(), expected, rtol=1e-10, atol=1e-10)
    nonzero = expected != 0
    pattern = H.copy()
    pattern.data[:] = 1
    assert np.all(pattern.toarray()[nonzero] != 0) and H.has_sorted_indices


@pytest.mark.parametrize("triangle", [True, "lower"])
def test_sparsity_is_the_layouts_pattern(triangle, jax):
    """``c.sparsity`` of a sparse Hessian is read from its layout (the scalar tier's per-entry
    derivation would take as long as that tier's compile)."""
    args = _fem_args(4)
    c = symhess.hessian(_fem, sparse=triangle, tier="array").compile(*args)
    expected = _dense_jax(jax, _fem, args, 0) != 0
    assert np.array_equal(c.sparsity.toarray(), expected)
