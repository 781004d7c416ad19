"""NumPy functions users reach for, written with the ones the tracers know
(`symhess.foreign.numpy_names`): ``polyval``, ``interp`` with constant knots, ``linspace`` with
traced end points, ``gradient``, ``nan_to_num``, ``angle`` of real values; in both tiers with the
cross-check, against JAX's functions of the same names; and ``apply_along_axis`` refused."""

import numpy as np
import pytest

import symhess
from symhess.errors import OptionValueError, UnsupportedFunctionError

KNOTS, VALUES = [-2.0, -0.5, 0.0, 3.0], [1.0, 2.0, -0.5, 1.5]


def _model(p, xp):
    """Each function once, on 6 parameters; knots between the parameters' values."""
    coef = xp.stack([p[0], 1.0 + 0 * p[0], p[1]])
    grid = xp.linspace(p[2], p[3], 7)
    field = xp.sin(xp.outer(p, p))
    return (xp.sum(xp.polyval(coef, p) ** 2) + xp.sum(xp.polyval(xp.array([1.0, -2.0, 0.5]), p))
            + xp.sum(xp.interp(p * 2, xp.array(KNOTS), p[:4] * xp.array(VALUES)) ** 2)
            + xp.sum(xp.interp(p, xp.array(KNOTS), xp.array(VALUES)) * p)
            + xp.sum(grid ** 3) + xp.sum(xp.linspace(p[:2], p[2:4], 4, endpoint=False) ** 2)
            + xp.sum(xp.gradient(p * p) ** 2) + xp.sum(xp.gradient(field, 0.5)[1] ** 2)
            + xp.sum(xp.gradient(p ** 3, 2.0) ** 2)
            + xp.sum(xp.nan_to_num(xp.log(p ** 2)) * p) + xp.sum(xp.angle(p) * p ** 2)
            + xp.sum(xp.sinc(p * 1.5)) + xp.sinc(p[0] - 0.4) * p[1])


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_against_jax(tier, jax, jnp):
    p = np.array([0.4, -1.1, 0.9, 2.3, -0.2, 1.7])
    if tier == "array":            # (data of 64 elements or more: the auto rule's array tier)
        def f(p, d):
            return _model(p, np) + np.sum(d * 0.0)
        got = symhess.hessian(f, tier=tier, check=True)(p, np.zeros(64))
    else:
        got = symhess.hessian(lambda p: _model(p, np), tier=tier, check=True)(p)
    want = np.asarray(jax.hessian(lambda p: _model(p, jnp))(p))
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11 * np.abs(want).max())


def test_values_against_numpy():
    """The definitions' values where NumPy's are piecewise: outside the knots, at NaN and inf."""
    from symhess.foreign import numpy_names as d

    x = np.array([-5.0, -2.0, -1.0, 0.0, 0.1, 3.0, 9.0])
    np.testing.assert_allclose(d.interp(x, KNOTS, VALUES), np.interp(x, KNOTS, VALUES),
                               rtol=1e-15)
    v = np.array([np.nan, np.inf, -np.inf, 1.5])
    np.testing.assert_array_equal(d.nan_to_num(v), np.nan_to_num(v))
    np.testing.assert_array_equal(d.nan_to_num(v, nan=2.0, posinf=9.0, neginf=-9.0),
                                  np.nan_to_num(v, nan=2.0, posinf=9.0, neginf=-9.0))
    np.testing.assert_array_equal(d.angle(x, deg=True), np.angle(x, deg=True))
    s = np.array([0.0, 1e-12, 9e-5, 1e-4, 0.3, -2.5, 3.0])
    np.testing.assert_allclose(d.sinc(s), np.sinc(s), rtol=1e-15, atol=1e-17)
    f = np.random.default_rng(0).normal(size=(5, 6))
    for args, kw in (((), {}), ((0.5,), {}), ((0.5, 2.0), {}), ((), {"axis": 1}),
                     ((), {"edge_order": 2})):
        for g, w in zip(np.atleast_1d(d.gradient(f, *args, **kw)),
                        np.atleast_1d(np.gradient(f, *args, **kw))):
            np.testing.assert_allclose(g, w, rtol=1e-14)
    out, step = d.linspace(1.0, np.array([2.0, 4.0]), 5, retstep=True, axis=1)
    want, want_step = np.linspace(1.0, np.array([2.0, 4.0]), 5, retstep=True, axis=1)
    np.testing.assert_allclose(out, want, rtol=1e-15)
    np.testing.assert_allclose(step, want_step, rtol=1e-15)


@pytest.mark.parametrize("fun, error, match", [
    (lambda x: np.sum(np.apply_along_axis(np.sum, 0, x)), UnsupportedFunctionError,
     "apply_along_axis.*axis="),
    (lambda x: np.sum(np.interp(x, [1.0, 0.0], [1.0, 2.0])), OptionValueError, "increasing"),
    (lambda x: np.sum(np.gradient(x, np.arange(4.0))), OptionValueError, "uniform spacings"),
])
def test_refusals_name_the_function_and_the_way(fun, error, match):
    with pytest.raises(error, match=match):
        symhess.hessian(fun)(np.arange(1.0, 5.0))


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_einsum_with_an_ellipsis_against_jax(tier, jax, jnp):
    """Explicit and implicit outputs, operands with different numbers of ellipsis axes."""
    A = np.random.default_rng(9).normal(size=(2, 3, 4))

    def f(w, A, xp=np):
        W = xp.reshape(w, (4, 3))
        return (xp.sum(xp.einsum("...i,...i->...", A, A * w[:4]) ** 2)
                + xp.sum(xp.einsum("...ij,jk", A, W) ** 2)
                + xp.sum(xp.einsum("ij...,j->i...", xp.transpose(A, (1, 2, 0)), w[:4]) ** 3))

    w = np.linspace(-1.0, 1.0, 12)
    got = symhess.hessian(f, tier=tier, check=True)(w, A)
    want = np.asarray(jax.hessian(lambda w: f(w, A, jnp))(w))
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11 * np.abs(want).max())


def test_sinc_at_zero_has_its_derivatives():
    """``np.sinc`` at 0: value 1, gradient 0, second derivative -pi^2/3 (not a guard's 0)."""
    value, grad, hess = symhess.value_grad_hessian(lambda x: np.sum(np.sinc(x)))(np.zeros(1))
    assert value == 1.0 and grad[0] == 0.0
    np.testing.assert_allclose(hess, [[-np.pi ** 2 / 3]], rtol=1e-14)


@pytest.mark.parametrize("tier", ["auto", "array"])
def test_matrix_norms_of_every_order_against_jax(tier, jax, jnp):
    """``np.linalg.norm`` of matrices: the largest or smallest absolute column and row sums,
    and through the eigenvalues of ``x^T x`` the extreme singular values and their sum, on
    two axes of a 3-d array too (with ``keepdims``)."""
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(3, 4, 2))

    def norms(x, y, xp):
        total = sum(xp.linalg.norm(x, ord=o) * (k + 1)
                    for k, o in enumerate((1, -1, np.inf, -np.inf, 2, -2, "nuc")))
        return total + xp.sum(xp.linalg.norm(y, ord=1, axis=(0, 2), keepdims=True) ** 2)

    got = symhess.hessian(lambda x, y: norms(x, y, np), argnums=(0, 1), tier=tier,
                          check=True)(x, y)
    want = jax.hessian(lambda x, y: norms(x, y, jnp), argnums=(0, 1))(x, y)
    for i in range(2):
        for j in range(2):
            w = np.asarray(want[i][j])
            np.testing.assert_allclose(got[i][j], w, rtol=1e-9, atol=1e-9 * np.abs(w).max())


@pytest.mark.parametrize("tier", ["auto", "scalar"])
def test_cholesky_factor_as_the_output_against_jax(tier, jax, jnp):
    """``np.linalg.cholesky`` of a small matrix in the scalar tier (Cholesky-Banachiewicz on
    the lower triangle), its factor the output (a 4-d Hessian) and ``upper=True``."""
    a = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, 0.2], [0.1, 0.2, 1.8]])
    make = lambda xp: lambda a: (                                             # noqa: E731
        xp.linalg.cholesky(0.5 * (a + a.T)) + xp.linalg.cholesky(0.5 * (a + a.T), upper=True))
    got = symhess.hessian(make(np), tier=tier, check=True)(a)
    want = np.asarray(jax.hessian(make(jnp))(a))
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_matrix_power_against_jax(tier, jax, jnp):
    """``np.linalg.matrix_power`` by repeated squaring: powers 0 to 5, -2 (of the inverse),
    of a matrix and of a stack; values against NumPy's own."""
    from symhess.foreign.numpy_names import matrix_power

    def f(w, xp):
        a = xp.reshape(w[:9], (3, 3)) * 0.4 + xp.eye(3)
        stack = xp.stack([a, a.T * 0.5])
        return (sum(xp.sum(xp.linalg.matrix_power(a, n) * (n + 3)) for n in range(6))
                + xp.sum(xp.linalg.matrix_power(a, -2)) + xp.sum(xp.linalg.matrix_power(stack, 3)))

    w = np.linspace(-0.9, 0.8, 10)
    got = symhess.hessian(lambda w: f(w, np), tier=tier, check=True)(w)
    want = np.asarray(jax.hessian(lambda w: f(w, jnp))(w))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())
    a = np.random.default_rng(2).normal(size=(2, 4, 4))
    for n in (-3, -1, 0, 1, 2, 7):
        np.testing.assert_allclose(matrix_power(a, n), np.linalg.matrix_power(a, n), rtol=1e-12)
    with pytest.raises(OptionValueError, match="square"):
        symhess.hessian(lambda w: np.sum(np.linalg.matrix_power(np.outer(w, w[:2]), 2)))(w)
