"""``scipy.linalg`` in traced functions (`symhess.foreign`): the NumPy definitions' values
against SciPy's, Hessians against ``jax.hessian`` of ``jax.scipy.linalg``, the interposition of
the names a function reaches SciPy through, and the errors that name SciPy functions."""

import functools
import threading
import types

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
from scipy.linalg import cho_factor, cho_solve, solve_triangular

import symhess
from symhess.errors import OptionValueError, TracerConversionError, UnsupportedFunctionError
from symhess.foreign import scipy_linalg

rng = np.random.default_rng(5)


def _spd(n):
    a = rng.normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


# --- values: each NumPy definition computes SciPy's value ------------------------------------
@pytest.mark.parametrize("n", [1, 3, 7])
def test_the_definitions_compute_scipys_values(n):
    a, s = rng.normal(size=(n, n)) + 3 * np.eye(n), _spd(n)
    b, B = rng.normal(size=n), rng.normal(size=(n, 2))
    close = np.testing.assert_allclose
    for lower in (False, True):
        close(scipy_linalg.cholesky(s, lower), scipy.linalg.cholesky(s, lower), rtol=1e-12)
        c, low = scipy_linalg.cho_factor(s, lower)
        want = scipy.linalg.cho_factor(s, lower)
        assert low == want[1]
        close(c, want[0], rtol=1e-12)
        for rhs in (b, B):
            close(scipy_linalg.cho_solve((c, low), rhs), cho_solve(want, rhs), rtol=1e-10)
            for trans in (0, 1, "T", "C"):
                for unit in (False, True):
                    close(scipy_linalg.solve_triangular(a, rhs, trans, lower, unit),
                          solve_triangular(a, rhs, trans, lower, unit), rtol=1e-10)
        for assume_a in (None, "gen", "sym", "her", "pos", "diagonal", "tridiagonal",
                         "upper triangular", "lower triangular", "banded"):
            m = s if assume_a == "pos" else a
            for transposed in (False, True):
                close(scipy_linalg.solve(m, B, lower, assume_a=assume_a, transposed=transposed),
                      scipy.linalg.solve(m, B, lower, assume_a=assume_a, transposed=transposed),
                      rtol=1e-10, err_msg=str(assume_a))
        for assume_a in (None, "sym", "pos", "upper triangular", "lower triangular"):
            m = s if assume_a == "pos" else a
            close(scipy_linalg.inv(m, assume_a=assume_a, lower=lower),
                  scipy.linalg.inv(m, assume_a=assume_a, lower=lower), rtol=1e-10)
        w, v = scipy_linalg.eigh(a, lower=lower)
        want_w, want_v = scipy.linalg.eigh(a, lower=lower)
        close(w, want_w, rtol=1e-10, atol=1e-12)
        close(np.abs(v), np.abs(want_v), atol=1e-8)     # eigenvectors up to sign
        k = min(n - 1, 1)
        close(scipy_linalg.eigh(a, lower=lower, eigvals_only=True, subset_by_index=(0, k)),
              scipy.linalg.eigh(a, lower=lower, eigvals_only=True, subset_by_index=(0, k)),
              rtol=1e-10, atol=1e-12)
        close(scipy_linalg.eigvalsh(a, lower=lower), scipy.linalg.eigvalsh(a, lower=lower),
              rtol=1e-10, atol=1e-12)
    close(scipy_linalg.det(a), scipy.linalg.det(a), rtol=1e-10)


# --- Hessians against JAX --------------------------------------------------------------------
def _gp(theta, X, y, xp, sl):
    """A Gaussian process's negative log marginal likelihood through cho_factor/cho_solve."""
    d2 = (X[:, None] - X[None, :]) ** 2
    K = xp.exp(theta[0] - 0.5 * d2 * xp.exp(-2 * theta[1])) + xp.exp(theta[2]) * xp.eye(len(X))
    c = sl.cho_factor(K, lower=True)
    return 0.5 * y @ sl.cho_solve(c, y) + xp.sum(xp.log(xp.diag(c[0])))


@pytest.mark.parametrize("n", [1, 2, 6, 30])
def test_a_gaussian_process_through_cho_factor_and_cho_solve(n, jax, jnp):
    X, y = rng.normal(size=n), rng.normal(size=n)
    theta = np.array([0.3, -0.2, -1.0])
    got = symhess.hessian(functools.partial(_gp, xp=np, sl=scipy.linalg), check=True)(theta, X, y)
    want = np.asarray(jax.hessian(_gp)(theta, X, y, jnp, jax.scipy.linalg))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10 * np.abs(want).max())


def _triangular(a, b, xp, sl):
    """Triangular solves with the factor's other triangle holding entries SciPy never reads."""
    x = sl.solve_triangular(a, b, lower=True)
    y = sl.solve_triangular(a, b, trans="T", unit_diagonal=True)
    z = sl.solve_triangular(a, x, trans=1, lower=False)
    return xp.sum(x ** 3) + xp.sum(y * z) + xp.sum(sl.solve(a, b) ** 2)


@pytest.mark.parametrize("n", [1, 3, 10])
@pytest.mark.parametrize("tier", ["auto", "array"])
def test_triangular_and_general_solves(n, tier, jax, jnp):
    a = rng.normal(size=(n, n)) + 4 * np.eye(n)
    b = rng.normal(size=n)
    f = functools.partial(_triangular, xp=np, sl=scipy.linalg)
    got = symhess.hessian(f, argnums=(0, 1), tier=tier, check=True)(a, b)
    want = jax.hessian(_triangular, argnums=(0, 1))(a, b, jnp, jax.scipy.linalg)
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(got[i][j], np.asarray(want[i][j]), rtol=1e-9,
                                       atol=1e-9 * max(1.0, np.abs(want[i][j]).max()))


def _symmetric(p, xp, sl):
    """Factor, solve, invert and diagonalize a symmetric matrix built from ``p``."""
    n = 4
    a = xp.reshape(p, (n, n))
    s = a @ a.T + 2.0 * xp.eye(n)
    u = sl.cholesky(s)
    w = sl.eigh(s, eigvals_only=True)
    w2, v = sl.eigh(s, lower=False)
    x = sl.solve(s, xp.arange(1.0, n + 1), assume_a="pos")
    return (xp.sum(u ** 3) + xp.sum(xp.log(w)) + xp.sum(w2 * v[0] ** 2) + xp.sum(x ** 2)
            + xp.sum(sl.inv(s) ** 2) + sl.det(s) ** 0.5)


def test_cholesky_eigh_solve_and_inv_of_a_symmetric_matrix(jax, jnp):
    p = rng.normal(size=16)
    got = symhess.hessian(functools.partial(_symmetric, xp=np, sl=scipy.linalg))(p)
    want = np.asarray(jax.hessian(_symmetric)(p, jnp, jax.scipy.linalg))
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-9 * np.abs(want).max())


def test_the_triangle_scipy_reads_sets_the_derivative():
    """``scipy.linalg.cholesky(a)`` reads the upper triangle: entries below the diagonal have no
    derivative, and the Hessian is that of the mirrored upper triangle (finite differences of
    SciPy itself)."""
    a = _spd(4) + np.tril(rng.normal(size=(4, 4)), -1)

    def f(a):
        return np.sum(scipy.linalg.cholesky(a) ** 3)

    g = symhess.grad(f)(a)
    assert np.all(np.tril(g, -1) == 0.0)
    h, e = 1e-6, np.eye(16).reshape(16, 4, 4)
    fd = np.array([(f(a + h * d) - f(a - h * d)) / (2 * h) for d in e]).reshape(4, 4)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)


# --- how functions reach SciPy ---------------------------------------------------------------
ORIGINAL_SOLVE_TRIANGULAR = scipy.linalg.solve_triangular


def test_names_bound_by_import_in_closures_and_through_partials_are_traced(jax, jnp):
    solve = scipy.linalg.solve_triangular
    a = rng.normal(size=(3, 3)) + 3 * np.eye(3)

    def closure(b, scale):
        return scale * np.sum(solve(a, b, lower=True) ** 2) \
            + np.sum(cho_solve(cho_factor(a @ a.T), b))

    def reference(b):
        x = jax.scipy.linalg.solve_triangular(a, b, lower=True)
        return 2.0 * jnp.sum(x ** 2) + jnp.sum(jnp.linalg.solve(a @ a.T, b))

    b = rng.normal(size=3)
    got = symhess.hessian(functools.partial(closure, scale=2.0))(b)
    np.testing.assert_allclose(got, jax.hessian(reference)(b), rtol=1e-10, atol=1e-12)
    # every binding holds SciPy's own function again
    assert solve is ORIGINAL_SOLVE_TRIANGULAR is scipy.linalg.solve_triangular
    assert cho_solve is scipy.linalg.cho_solve and cho_factor is scipy.linalg.cho_factor
    assert cho_solve.__module__.startswith("scipy")


def test_untraced_calls_during_a_trace_get_scipys_own_results():
    """While a trace interposes ``scipy.linalg.solve``, calls on NumPy arrays, in the traced
    function and in another thread, still run SciPy (same bits as SciPy outside a trace)."""
    m, v = _spd(5), rng.normal(size=5)
    want = scipy.linalg.solve(m, v)
    seen = {}

    def other_thread():
        seen["thread"] = scipy.linalg.solve(m, v)

    def f(x):
        seen["inside"] = scipy.linalg.solve(m, v)
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        return np.sum(scipy.linalg.solve(m, x) ** 2)

    got = symhess.hessian(f)(v)
    np.testing.assert_allclose(got, 2 * np.linalg.inv(m).T @ np.linalg.inv(m), rtol=1e-10)
    assert np.array_equal(seen["inside"], want) and np.array_equal(seen["thread"], want)


# --- errors ----------------------------------------------------------------------------------
def test_a_scipy_function_without_a_definition_is_named():
    def f(a):
        return np.sum(scipy.linalg.expm(a))

    with pytest.raises(UnsupportedFunctionError, match=r"scipy\.linalg\.expm"):
        symhess.hessian(f)(np.eye(2))


def test_a_scipy_function_bound_in_another_module_is_named():
    helper = types.ModuleType("helper_module")
    exec("from scipy.linalg import solve_triangular\n"
         "def solve(a, b):\n    return solve_triangular(a, b)\n", helper.__dict__)

    def f(b):
        return np.sum(helper.solve(np.eye(2) * 2.0, b) ** 2)

    with pytest.raises(UnsupportedFunctionError, match=r"scipy\.linalg\.solve_triangular"):
        symhess.hessian(f)(np.ones(2))


def test_a_conversion_under_a_scipy_caller_further_up_is_not_blamed_on_it():
    """A function compiled inside a SciPy optimizer's callback that converts a traced value
    itself gets the conversion error, not one naming ``scipy.optimize``."""
    def bad(x):
        return np.sum(np.asarray(x, dtype=np.int64))

    def objective(x):
        return float(symhess.hessian(bad)(x)[0, 0])

    with pytest.raises(TracerConversionError):
        scipy.optimize.minimize(objective, np.ones(2))


@pytest.mark.parametrize("call, match", [
    (lambda a: scipy.linalg.solve(a, a[0], assume_a="orthogonal"), "assume_a='orthogonal'"),
    (lambda a: scipy.linalg.solve_triangular(a, a[0], trans=3), "trans=3"),
    (lambda a: scipy.linalg.eigh(a, np.eye(2)), "generalized eigenproblem"),
    (lambda a: scipy.linalg.eigh(a, subset_by_value=(0, 1)), "subset_by_value"),
])
def test_options_without_a_traced_meaning_are_refused_by_name(call, match):
    with pytest.raises(OptionValueError, match=match):
        symhess.hessian(lambda a: np.sum(call(a)))(np.eye(2) * 2.0)


def test_supported_functions_lists_the_scipy_functions_traced():
    names = [n for n in symhess.supported_functions() if n.startswith("scipy.linalg.")]
    assert names == sorted(f"scipy.linalg.{f}" for f in scipy_linalg.DEFINITIONS)
    for name in names:          # each is a public SciPy function of the same name
        assert callable(getattr(scipy.linalg, name.rsplit(".", 1)[1]))
