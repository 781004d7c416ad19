"""Linear algebra in the array tier (`symhess.arrays.linalg`): solve, inv, det, slogdet,
cholesky, norms, traces and diagonals at any size, checked against ``jax.hessian`` and NumPy."""

import numpy as np
import pytest

import symhess
from symhess.arrays.evaluate import evaluate
from symhess.arrays.product import trace_arrays

rng = np.random.default_rng(11)


def _gaussian(L, Y, xp=np):
    """The negative log-likelihood of rows ``Y`` under N(0, L L^T + 0.5 I), three ways."""
    k = L.shape[0]
    S = L @ L.T + 0.5 * xp.eye(k)
    _, logdet = xp.linalg.slogdet(S)
    quad = xp.sum(Y * xp.linalg.solve(S, Y.T).T)
    C = xp.linalg.cholesky(S)
    return (0.5 * Y.shape[0] * logdet + 0.5 * quad + xp.sum(xp.log(xp.diag(C)))
            + 0.01 * xp.sum(xp.linalg.inv(S) ** 2))


@pytest.mark.parametrize("k", [1, 2, 3, 6, 10, 30])
def test_the_gaussian_likelihood_against_jax(k, jax, jnp):
    L = np.tril(rng.normal(size=(k, k))) + np.eye(k)
    Y = rng.normal(size=(8, k))
    H = symhess.hessian(_gaussian)
    got = H(L, Y)
    want = np.asarray(jax.hessian(lambda L: _gaussian(L, Y, jnp))(L))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def _determinants(A, xp=np):
    sign, logdet = xp.linalg.slogdet(A)
    return xp.sum(xp.linalg.det(A[..., :2, :2]) ** 2) + xp.sum(xp.linalg.det(A[..., :3, :3])) \
        + xp.sum(sign * logdet) + xp.sum(xp.linalg.det(A))


@pytest.mark.parametrize("shape", [(5, 5), (3, 4, 4), (2, 2, 6, 6)])
def test_stacked_determinants_and_solves_against_jax(shape, jax, jnp):
    A = rng.normal(size=shape) + 3 * np.eye(shape[-1])
    b = rng.normal(size=shape[-1])

    def f(A, xp=np):
        x = xp.linalg.solve(A, b)
        return _determinants(A, xp) + xp.sum(x ** 3) \
            + xp.sum(xp.linalg.inv(A) @ xp.swapaxes(A, -1, -2))

    got = symhess.hessian(f, tier="array")(A)
    want = np.asarray(jax.hessian(lambda A: f(A, jnp))(A))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def test_a_matrix_of_right_hand_sides_and_an_upper_factor(jax, jnp):
    def f(A, B, xp=np):
        S = A @ A.T + xp.eye(4)
        U = xp.linalg.cholesky(S, upper=True) if xp is np else xp.linalg.cholesky(S).T
        return xp.sum(xp.linalg.solve(S, B) * B) + xp.sum(xp.triu(U, 1) ** 2) \
            + xp.trace(U @ U) + xp.linalg.norm(U) + xp.linalg.norm(B[:, 0], 1)

    A, B = rng.normal(size=(4, 4)), rng.normal(size=(4, 3))
    got = symhess.hessian(f, argnums=(0, 1), tier="array")(A, B)
    want = jax.hessian(lambda A, B: f(A, B, jnp), argnums=(0, 1))(A, B)
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(got[i][j], np.asarray(want[i][j]), rtol=1e-9, atol=1e-9)


def test_cholesky_reads_the_lower_triangle(jax, jnp):
    """NumPy's factor of a matrix that is not symmetric is that of its lower triangle mirrored:
    the Hessian is that of the values computed (JAX's, of the mirrored matrix)."""
    A = rng.normal(size=(5, 5)) + 6 * np.eye(5)

    def f(A):
        return np.sum(np.linalg.cholesky(A) ** 3)

    def mirrored(A):
        S = jnp.tril(A) + jnp.tril(A, -1).T
        return jnp.sum(jnp.linalg.cholesky(S) ** 3)

    got = symhess.hessian(f, tier="array")(A)
    want = np.asarray(jax.hessian(mirrored)(A))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)


def test_ill_conditioned_and_nearly_degenerate_matrices(jax, jnp):
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    for values in ([1e-6, 1e-3, 1, 1, 10, 1e2], [1.0, 1.0 + 1e-9, 2, 2, 3, 3]):
        A = Q @ np.diag(values) @ Q.T

        def f(A, xp=np):
            S = xp.tril(A) + xp.tril(A, -1).T        # symmetric: JAX's convention agrees
            return xp.linalg.slogdet(A)[1] + xp.sum(xp.log(xp.diag(xp.linalg.cholesky(S)))) \
                + 1e-3 * xp.sum(xp.linalg.solve(A, xp.ones(6))) + xp.sum(xp.linalg.inv(A))

        got = symhess.hessian(f, tier="array")(A)
        want = np.asarray(jax.hessian(lambda A: f(A, jnp))(A))
        scale = np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7 * scale)


def test_singular_and_indefinite_matrices_give_non_finite_values():
    """Never a finite wrong number: a singular matrix's inverse and an indefinite matrix's
    Cholesky factor are NaN or infinite, and log|det| of a singular matrix is -inf."""
    singular = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    indefinite = np.diag([1.0, -1.0, 2.0])
    inverse = symhess.hessian(lambda A, x: x @ np.linalg.inv(A) @ x, argnums=1, tier="array")
    assert not np.all(np.isfinite(inverse(singular, np.ones(3))))
    factor = symhess.hessian(lambda A, x: x @ np.linalg.cholesky(A) @ x, argnums=1,
                             tier="array")
    assert np.all(np.isnan(factor(indefinite, np.ones(3))))

    def signed(x, A):                       # exactly singular in floating point: (0, -inf)
        sign, logabsdet = np.linalg.slogdet(A)
        return x[0] ** 2 * (sign + 2.0 + 0.1 * np.maximum(logabsdet, -50.0))

    assert symhess.hessian(signed, tier="array")(np.ones(1), singular) == pytest.approx(-6.0)


def test_the_numpy_interpreter_agrees_with_numpy():
    A = rng.normal(size=(3, 4, 4)) + 4 * np.eye(4)

    def f(A):
        return np.sum(np.linalg.inv(A)) + np.sum(np.linalg.slogdet(A)[1]) \
            + np.sum(np.linalg.cholesky(A @ np.swapaxes(A, -1, -2)))

    trace = trace_arrays(symhess.hessian(f), (A,), {})
    (value,) = evaluate([trace.output], [A], trace.builder.constants)
    assert value == pytest.approx(f(A), rel=1e-12)


def test_without_the_native_target(monkeypatch, jax, jnp):
    """Numba compiles the same loop program where the native target is off (with NumPy's
    LAPACK for the 20x20 inverse and determinant)."""
    monkeypatch.setenv("SYMHESS_NATIVE", "0")
    L = np.tril(rng.normal(size=(20, 20))) + np.eye(20)
    Y = rng.normal(size=(4, 20))
    got = symhess.hessian(_gaussian, tier="array")(L, Y)
    want = np.asarray(jax.hessian(lambda L: _gaussian(L, Y, jnp))(L))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def test_hvp_and_the_auto_tier(jax, jnp):
    """Functions the scalar tier has no rule for (slogdet; a 10x10 solve) go to the array
    tier whatever their data's size; its Hessian-vector product matches JAX's."""
    k = 10
    L, v = np.tril(rng.normal(size=(k, k))) + np.eye(k), rng.normal(size=(k, k))
    Y = rng.normal(size=(3, k))
    got = symhess.hessian(_gaussian)(L, Y)
    want = np.asarray(jax.hessian(lambda L: _gaussian(L, Y, jnp))(L))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
    hv = symhess.hvp(_gaussian)(L, Y, v)
    np.testing.assert_allclose(hv, np.tensordot(want, v, 2), rtol=1e-9,
                               atol=1e-9 * np.abs(want).max())


def test_the_closed_form_reads_with_an_inverse():
    def nll(theta, Y):
        S = np.diag(np.exp(theta)) + 0.5
        return 0.5 * Y.shape[0] * np.linalg.slogdet(S)[1] \
            + 0.5 * np.sum(Y * np.linalg.solve(S, Y.T).T)

    c = symhess.hessian(nll).compile(np.zeros(4), rng.normal(size=(40, 4)))
    text = c.matrix()
    assert "inv(" in text and "det" not in text
    assert "^{-1}" in c.matrix(latex=True)


def _spectral(A, xp=np):
    S = xp.tril(A) + xp.swapaxes(xp.tril(A, -1), -1, -2)       # JAX's convention agrees
    w, V = xp.linalg.eigh(S)
    n = A.shape[-1]
    return xp.sum(w ** 3) + xp.sum(V[..., -1] ** 2 * xp.arange(n)) \
        + xp.sum(xp.sin(xp.linalg.eigvalsh(S)))


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (6, 6), (20, 20), (2, 4, 4)])
def test_eigenvalues_and_eigenvectors_against_jax(shape, jax, jnp):
    A = rng.normal(size=shape)
    # the cross-check too, up to 6x6 (at 20x20 its jets of 400 variables take a minute)
    got = symhess.hessian(_spectral, tier="array", check=shape[-1] <= 6)(A)
    want = np.asarray(jax.hessian(lambda A: _spectral(A, jnp))(A))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def test_the_cross_checks_eigh_reads_the_triangle_numpy_reads(jax, jnp):
    """The autodiff's own ``eigh`` rule (values, first and second derivatives of eigenvalues and
    eigenvectors) against JAX's, on the upper triangle of a matrix that is not symmetric."""
    from symhess import autodiff

    def f(A, xp=np):
        w, V = xp.linalg.eigh(A, UPLO="U")
        return xp.sum(w ** 3) + xp.sum(V[..., 0] ** 2 * w) \
            + xp.sum(xp.cos(xp.linalg.eigvalsh(A, UPLO="U")))

    def upper(A):
        return jnp.triu(A) + jnp.swapaxes(jnp.triu(A, 1), -1, -2)

    A = rng.normal(size=(2, 5, 5))
    want = np.asarray(jax.hessian(lambda A: f(upper(A), jnp))(A))
    own = np.asarray(autodiff.hessian(f)(A))
    np.testing.assert_allclose(own, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
    got = symhess.hessian(f, check=True)(A)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def test_repeated_eigenvalues_give_nans_not_wrong_numbers(jax, jnp):
    """At exactly repeated eigenvalues the eigenvectors have no derivative: the Hessian is NaN
    there (as JAX's), never a finite number that is wrong; nearby it matches JAX's."""
    def f(A):
        return np.sum(np.linalg.eigvalsh(A) ** 3)

    H = symhess.hessian(f, tier="array")
    assert np.isnan(H(np.diag([1.0, 1.0, 2.0, 3.0]))).any()
    near = np.diag([1.0, 1.0 + 1e-6, 2.0, 3.0])
    lower = lambda A: jnp.tril(A) + jnp.tril(A, -1).T        # noqa: E731  (what NumPy reads)
    want = np.asarray(jax.hessian(lambda A: jnp.sum(jnp.linalg.eigvalsh(lower(A)) ** 3))(near))
    np.testing.assert_allclose(H(near), want, rtol=1e-6, atol=1e-6)


def test_eigh_without_the_native_target(monkeypatch, jax, jnp):
    monkeypatch.setenv("SYMHESS_NATIVE", "0")
    A = rng.normal(size=(5, 5))
    got = symhess.hessian(_spectral, tier="array")(A)
    want = np.asarray(jax.hessian(lambda A: _spectral(A, jnp))(A))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def test_the_cross_check_covers_slogdet_solve_and_cholesky(jax, jnp):
    """``check=True`` runs the independent autodiff, which has its own second-order rules for
    slogdet and cholesky (checked here against JAX too)."""
    from symhess import autodiff

    B = rng.normal(size=(2, 4, 4))

    def f(B, xp=np):
        S = B @ xp.swapaxes(B, -1, -2) + xp.eye(4)
        C = xp.linalg.cholesky(S)
        return xp.sum(xp.linalg.slogdet(S)[1]) + xp.sum(C ** 3) \
            + xp.sum(xp.linalg.solve(S, xp.ones(4)) ** 2)

    want = np.asarray(jax.hessian(lambda B: f(B, jnp))(B))
    own = np.asarray(autodiff.hessian(f)(B))
    np.testing.assert_allclose(own, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())
    got = symhess.hessian(f, check=True)(B)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def test_float32_kernels_call_the_single_precision_lapack():
    """A float32 kernel inverts, factors and diagonalizes in single precision (sgetrf, sgetri,
    ssyev): within float32's rounding of the float64 kernel's Hessian."""
    k = 20
    L = np.tril(rng.normal(size=(k, k))) / np.sqrt(k) + np.eye(k)
    Y = rng.normal(size=(30, k))

    def f(L, Y):
        S = L @ L.T + 0.5 * np.eye(k)
        return np.linalg.slogdet(S)[1] + 0.5 * np.sum(Y * np.linalg.solve(S, Y.T).T) \
            + 0.01 * np.sum(np.linalg.eigvalsh(S) ** 2)

    H = symhess.hessian(f, tier="array")
    want = H(L, Y)
    got = H(L.astype(np.float32), Y.astype(np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())


def test_a_constant_matrix_of_any_size_solves_in_the_scalar_tier():
    """``np.linalg.solve(A, b)`` with a constant 8x8 ``A`` needs no closed form: in the scalar
    tier (here through ``sparse=True``) its inverse is a constant, the Hessian exact; a traced
    matrix beyond 5x5 is refused with the way to the array tier."""
    A = rng.normal(size=(8, 8)) + 8 * np.eye(8)
    b = rng.normal(size=8)
    H = symhess.hessian(lambda b: np.sum(np.linalg.solve(A, b) ** 3), sparse=True)(b)
    Ai = np.linalg.inv(A)
    np.testing.assert_allclose(H.toarray(), Ai.T @ np.diag(6 * (Ai @ b)) @ Ai, rtol=1e-12,
                               atol=1e-15)
    with pytest.raises(symhess.UnsupportedFunctionError, match="array tier takes any size"):
        symhess.hessian(lambda M: np.sum(np.linalg.solve(M, b)), tier="scalar")(A)
