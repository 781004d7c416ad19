"""NumPy 2's array-API names on traced values (`symhess.foreign.numpy_names`), in both tiers
and the cross-check, against JAX's functions of the same names."""

import numpy as np
import pytest

import symhess
from symhess.errors import OptionValueError, TracerConversionError

pytestmark = pytest.mark.skipif(not hasattr(np, "matvec"), reason="NumPy < 2.2 lacks the names")


def _names(p, A, xp, cumulative=True):
    """Every name, on a vector ``p`` of 12 parameters and a constant 3x4 matrix ``A``
    (``cumulative_sum`` where the tier has a cumulative sum)."""
    M = xp.reshape(p, (3, 4))
    v = p[:4]
    w = xp.astype(p[4:7], xp.float64)
    s = xp.concat([M[0], v ** 2], axis=0)
    t = xp.permute_dims(xp.reshape(p, (2, 3, 2)), (2, 0, 1))
    c = xp.cumulative_sum(v, include_initial=True) if cumulative else v
    rows = xp.unstack(M, axis=0)
    return (xp.sum(xp.vecdot(M, A) ** 2) + xp.sum(xp.matvec(M, v) ** 3)
            + xp.sum(xp.vecmat(w, M) * v) + xp.sum(xp.matrix_transpose(M) @ A[:, :3] ** 2)
            + xp.sum(M.mT ** 3) + xp.sum(w ** 2) + xp.sum(xp.sin(s)) + xp.sum(t[0] * t[1])
            + xp.sum(c ** 2) + xp.sum(rows[1] * rows[2])
            + xp.sum(xp.moveaxis(t, 0, -1) ** 2 * xp.reshape(xp.arange(12.0), (2, 3, 2)))
            + xp.sum(xp.moveaxis(t, (0, 2), (2, 0)) ** 3)
            + xp.linalg.vector_norm(p) + xp.linalg.vector_norm(M, axis=1, ord=3).sum()
            + xp.linalg.vector_norm(v, ord=1) + xp.linalg.matrix_norm(M)
            + xp.linalg.matrix_norm(M * M, ord=1) + xp.linalg.matrix_norm(M * M, ord=np.inf))


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_numpy2_names_against_jax(tier, jax, jnp):
    rng = np.random.default_rng(6)
    p, A = rng.normal(size=12) + 0.5, rng.normal(size=(3, 4))
    cumulative = tier == "scalar"
    got = symhess.hessian(lambda p: _names(p, A, np, cumulative), tier=tier, check=True)(p)
    want = np.asarray(jax.hessian(lambda p: _names(p, A, jnp, cumulative))(p))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


@pytest.mark.parametrize("fun, error, match", [
    (lambda x: np.sum(np.astype(x, np.int32)), TracerConversionError, "int32"),
    (lambda x: np.linalg.vector_norm(x, ord=0), OptionValueError, "ord=0"),
    (lambda x: np.linalg.matrix_norm(np.reshape(x, (2, 2)), ord=3), OptionValueError,
     "ord=3"),
])
def test_what_has_no_traced_meaning_is_refused(fun, error, match):
    with pytest.raises(error, match=match):
        symhess.hessian(fun)(np.ones(4))
