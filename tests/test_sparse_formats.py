"""`sparse_format=`: what a sparse Hessian or Jacobian is returned as, each checked against JAX.

SciPy's ``csr_array`` (the default), ``csr_matrix``, ``coo_array``, and the triplets
``(rows, cols, values)`` that solvers such as IPOPT take: the same values in the same order
(CSR: row by row, columns increasing), whatever the form.
"""

import numpy as np
import pytest
import scipy.sparse

import symhess
from symhess.errors import OptionValueError

RNG = np.random.default_rng(20261201)
KINDS = {"csr_array": scipy.sparse.csr_array, "csr_matrix": scipy.sparse.csr_matrix,
         "coo_array": scipy.sparse.coo_array}


def chain(xp):
    return lambda x: xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2) \
        + xp.sum(xp.sin(x) * x[0])


def constraints(xp):
    return lambda x: xp.concatenate([x[1:] ** 2 - x[:-1] * xp.exp(x[1:]), xp.sum(x ** 2)[None]])


def dense(result, shape):
    """A sparse result of any format as a dense array (triplets added up by NumPy)."""
    if isinstance(result, tuple):
        rows, cols, values = result
        out = np.zeros(shape)
        np.add.at(out, (rows, cols), values)
        return out
    return result.toarray()


@pytest.mark.parametrize("form", ["csr_array", "csr_matrix", "coo_array", "triplets"])
@pytest.mark.parametrize("triangle", [True, "lower"])
def test_hessian_formats_against_jax(form, triangle, jax, jnp):
    x = RNG.normal(size=9)
    expected = np.asarray(jax.hessian(chain(jnp))(jnp.asarray(x)))
    if triangle == "lower":
        expected = np.tril(expected)
    H = symhess.hessian(chain(np), sparse=triangle, sparse_format=form)
    got = H(x)
    if form == "triplets":
        rows, cols, values = got
        assert rows.dtype == cols.dtype == np.int64 and len(rows) == len(values)
        order = rows * 9 + cols                       # CSR order, each entry once
        assert np.all(np.diff(order) > 0)
    else:
        assert type(got) is KINDS[form]
    np.testing.assert_allclose(dense(got, (9, 9)), expected, rtol=1e-12, atol=1e-12)
    # the same structure (and values in the same order) in every form
    reference = symhess.hessian(chain(np), sparse=triangle)(x).tocoo()
    flat = got if form == "triplets" else (got.tocoo().row, got.tocoo().col, got.tocoo().data)
    np.testing.assert_array_equal(flat[0], reference.row)
    np.testing.assert_array_equal(flat[1], reference.col)
    np.testing.assert_allclose(flat[2], reference.data, rtol=0, atol=0)
    pattern = H.compile(x).pattern
    np.testing.assert_array_equal(dense(pattern, (9, 9)) != 0, expected != 0)


def test_triplets_share_read_only_structure(jax, jnp):
    """The rows and columns of triplets are fixed: the same read-only arrays at every call,
    the values new ones."""
    H = symhess.hessian(chain(np), sparse="lower", sparse_format="triplets")
    x, y = RNG.normal(size=6), RNG.normal(size=6)
    r1, c1, v1 = H(x)
    r2, c2, v2 = H(y)
    assert r1 is r2 and c1 is c2 and v1 is not v2
    assert not r1.flags.writeable and not c1.flags.writeable
    with pytest.raises(ValueError):
        r1[0] = 3
    expected = np.tril(np.asarray(jax.hessian(chain(jnp))(jnp.asarray(y))))
    np.testing.assert_allclose(dense((r2, c2, v2), (6, 6)), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("form", ["csr_array", "csr_matrix", "coo_array", "triplets"])
def test_jacobian_and_newton_triple_formats(form, jax, jnp):
    x = RNG.normal(size=7)
    J_expected = np.asarray(jax.jacobian(constraints(jnp))(jnp.asarray(x)))
    J = symhess.jacobian(constraints(np), sparse=True, sparse_format=form)(x)
    np.testing.assert_allclose(dense(J, (7, 7)), J_expected, rtol=1e-12, atol=1e-12)
    value, g, H = symhess.value_grad_hessian(chain(np), sparse=True, sparse_format=form)(x)
    np.testing.assert_allclose(value, chain(np)(x), rtol=1e-13)
    np.testing.assert_allclose(g, jax.grad(chain(jnp))(jnp.asarray(x)), rtol=1e-12)
    np.testing.assert_allclose(dense(H, (7, 7)), jax.hessian(chain(jnp))(jnp.asarray(x)),
                               rtol=1e-12, atol=1e-12)


def test_lagrangian_triplets(jax, jnp):
    f, c = chain(np), constraints(np)
    x, lam = RNG.normal(size=5), RNG.normal(size=5)
    H = symhess.lagrangian_hessian(f, c, sparse_format="triplets")
    got = dense(H(x, 0.7, lam), (5, 5))
    lagrangian = lambda z: 0.7 * chain(jnp)(z) + jnp.sum(jnp.asarray(lam) * constraints(jnp)(z))
    np.testing.assert_allclose(got, np.tril(jax.hessian(lagrangian)(jnp.asarray(x))),
                               rtol=1e-12, atol=1e-12)


def test_bad_formats_are_named():
    with pytest.raises(OptionValueError, match="sparse_format must be one of"):
        symhess.hessian(chain(np), sparse=True, sparse_format="csc")
    with pytest.raises(OptionValueError, match="is for sparse results: pass sparse=True"):
        symhess.hessian(chain(np), sparse_format="triplets")
    with pytest.raises(OptionValueError, match="sparse_format must be one of"):
        symhess.jacobian(constraints(np), sparse=True, sparse_format="dok")
