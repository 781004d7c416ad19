"""``scipy.special`` in traced functions (`symhess.foreign.scipy_special`): values against SciPy
and mpmath (extreme arguments included), Hessians against JAX in both tiers with the
cross-check, and errors that name SciPy's functions as users call them."""

import functools

import mpmath
import numpy as np
import pytest
import scipy.special as sp
from scipy.special import log_softmax, logsumexp

LOGSUMEXP = sp.logsumexp            # SciPy's own, before any trace

import symhess
from symhess.errors import UnsupportedFunctionError
from symhess.foreign import scipy_special

X_EDGES = np.array([-800.0, -40.0, -1.0, -1e-12, 0.0, 1e-12, 0.5, 3.0, 40.0, 800.0])


# --- values --------------------------------------------------------------------------------
def test_unary_definitions_against_scipy_at_extreme_arguments():
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for name in ("expit", "log_expit", "exp10"):
            got, want = scipy_special.UFUNCS[name](X_EDGES / 10 if name == "exp10" else X_EDGES), \
                getattr(sp, name)(X_EDGES / 10 if name == "exp10" else X_EDGES)
            np.testing.assert_allclose(got, want, rtol=4e-14, atol=0, err_msg=name)
        p = np.array([0.0, 1e-300, 1e-9, 0.25, 0.5, 0.999, 1 - 1e-12, 1.0])
        np.testing.assert_allclose(scipy_special.logit(p), sp.logit(p), rtol=1e-12)
        e = np.array([-1.0, 0.0, 1e-300, 1e-8, 0.5, 1.0, 7.0])
        np.testing.assert_allclose(scipy_special.entr(e), sp.entr(e), rtol=1e-14)


def test_binary_definitions_against_scipy_on_their_edges():
    v = np.array([-2.0, -1.0, 0.0, 1e-300, 0.3, 1.0, 5.0])
    a, b = np.meshgrid(v, v)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for name in ("xlogy", "xlog1py", "rel_entr", "kl_div", "huber"):
            got = scipy_special.UFUNCS[name](a, b)
            np.testing.assert_allclose(got, getattr(sp, name)(a, b), rtol=1e-13, atol=1e-300,
                                       err_msg=name)
        # pseudo_huber against mpmath: SciPy's is NaN at delta = 1e-300, r = 2 (0 * inf), where
        # the function is 2e-300
        mpmath.mp.dps = 50
        want = [[np.inf if d < 0 else 0.0 if d == 0 else
                 float(mpmath.mpf(d) ** 2 * (mpmath.sqrt(1 + (mpmath.mpf(r) / d) ** 2) - 1))
                 for d, r in zip(row_a, row_b)] for row_a, row_b in zip(a, b)]
        np.testing.assert_allclose(scipy_special.pseudo_huber(a, b), want, rtol=1e-13,
                                   atol=1e-300)


def test_careful_forms_against_mpmath():
    """expit and log_expit at both tails, pseudo_huber for tiny residuals: to the last few
    digits, where the naive formulas lose them all."""
    mpmath.mp.dps = 50
    for x in (-700.0, -40.0, -1e-8, 1e-8, 40.0, 700.0):
        want = mpmath.mpf(1) / (1 + mpmath.exp(-x))
        assert abs(scipy_special.expit(x) - float(want)) <= 1e-15 * float(want) * max(1, abs(x))
        want = -mpmath.log1p(mpmath.exp(-x))
        assert abs(scipy_special.log_expit(x) - float(want)) <= 2e-16 * abs(float(want))
    for r in (1e-12, 1e-6, 1e3):
        want = mpmath.mpf(2.0) ** 2 * (mpmath.sqrt(1 + (mpmath.mpf(r) / 2) ** 2) - 1)
        assert abs(scipy_special.pseudo_huber(2.0, r) - float(want)) <= 4e-16 * float(want)


def test_logsumexp_softmax_and_log_softmax_against_scipy():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(3, 4)) * 300, rng.normal(size=(3, 4))
    for axis in (None, 0, 1, (0, 1)):
        for keepdims in (False, True):
            np.testing.assert_allclose(scipy_special.logsumexp(a, axis, keepdims=keepdims),
                                       sp.logsumexp(a, axis, keepdims=keepdims), rtol=1e-14)
            got = scipy_special.logsumexp(a, axis, b, keepdims, return_sign=True)
            want = sp.logsumexp(a, axis, b, keepdims, return_sign=True)
            np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
            np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_allclose(scipy_special.softmax(a, axis), sp.softmax(a, axis),
                                   rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(scipy_special.log_softmax(a, axis), sp.log_softmax(a, axis),
                                   rtol=1e-13)


# --- derivatives ---------------------------------------------------------------------------
def _statistics(x, X, special, nn, xp):
    """A little of everything a statistician writes with scipy.special."""
    z = X @ x
    return (xp.sum(special.expit(x) ** 2) + xp.sum(nn.log_sigmoid(z))
            + xp.sum(special.logit(special.expit(x) * 0.5 + 0.2))
            + xp.sum(special.xlogy(x ** 2, x ** 2 + 1)) + xp.sum(special.xlog1py(x, x ** 2))
            + xp.sum(special.entr(x ** 2 + 0.1))
            + xp.sum(special.rel_entr(x ** 2 + 0.5, xp.exp(x)))
            + xp.sum(special.kl_div(x ** 2 + 0.5, xp.exp(x)))
            + special.logsumexp(x * 2) + xp.sum(nn.softmax(x) * x)
            + xp.sum(nn.log_softmax(x ** 2)) + xp.sum(special.logsumexp(X * x, axis=1))
            + xp.sum(special.logsumexp(X, axis=0, b=xp.exp(x))))


class _SciPyNN:          # scipy.special spelled like jax.nn for the test's one function
    log_sigmoid = staticmethod(lambda z: sp.log_expit(z))
    softmax = staticmethod(lambda x: sp.softmax(x))
    log_softmax = staticmethod(lambda x: sp.log_softmax(x))


@pytest.mark.parametrize("tier", ["scalar", "array"])
@pytest.mark.parametrize("x", [np.array([0.3, -1.2, 2.0]), np.array([0.0, 35.0, -35.0])])
def test_hessians_against_jax(tier, x, jax, jnp):
    import jax.scipy.special as jsp

    # (the scalar tier differentiates the maximum logsumexp subtracts entry by entry: few rows)
    X = np.random.default_rng(1).normal(size=(80 if tier == "array" else 4, 3))
    f = functools.partial(_statistics, special=sp, nn=_SciPyNN, xp=np)
    got = symhess.hessian(f, tier=tier, check=True)(x, X)
    want = np.asarray(jax.hessian(_statistics)(x, X, jsp, jax.nn, jnp))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_huber_and_pseudo_huber_against_their_closed_form_derivatives():
    """``huber(d, r)'' = 1`` inside ``|r| <= d``, 0 beyond; ``pseudo_huber(d, r)'' =
    (1 + (r/d)^2)^(-3/2)``."""
    r = np.array([-3.0, -0.5, 0.0, 0.7, 2.5])

    def f(r):
        return np.sum(sp.huber(1.0, r)) + np.sum(sp.pseudo_huber(2.0, r))

    H = symhess.hessian(f, check=True)(r)
    want = np.where(np.abs(r) <= 1.0, 1.0, 0.0) + (1 + (r / 2.0) ** 2) ** -1.5
    np.testing.assert_allclose(H, np.diag(want), rtol=1e-13, atol=1e-15)
    g = symhess.grad(f)(r)
    np.testing.assert_allclose(g, np.clip(r, -1, 1) + r / np.sqrt(1 + (r / 2.0) ** 2),
                               rtol=1e-13, atol=1e-15)


def test_log_expit_stays_finite_and_exact_far_in_the_tails():
    """The log-likelihood of a logistic model at margins of +-800: value, gradient and
    Hessian finite and exact (softplus's, not 1 / (1 + exp(800)) turned into NaN)."""
    def f(z):
        return np.sum(sp.log_expit(z))

    z = np.array([-800.0, 800.0, 0.0])
    value, grad, hess = symhess.value_grad_hessian(f)(z)
    assert value == -800.0 + -np.log(2.0)
    np.testing.assert_allclose(grad, [1.0, 0.0, 0.5], rtol=0, atol=0)
    np.testing.assert_allclose(np.diag(hess), [0.0, 0.0, -0.25], rtol=0, atol=1e-300)


def test_functions_imported_by_name_trace(jax, jnp):
    """``from scipy.special import logsumexp`` in the traced function's module."""
    import jax.scipy.special as jsp

    def f(x):
        return logsumexp(x, b=np.arange(1.0, 4.0)) + np.sum(log_softmax(x) ** 2)

    def g(x):
        return jsp.logsumexp(x, b=jnp.arange(1.0, 4.0)) + jnp.sum(jax.nn.log_softmax(x) ** 2)

    x = np.array([0.5, -2.0, 1.0])
    np.testing.assert_allclose(symhess.hessian(f, check=True)(x), jax.hessian(g)(x),
                               rtol=1e-12, atol=1e-13)
    assert logsumexp is sp.logsumexp is LOGSUMEXP       # SciPy's own again after the trace


# --- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("tier", ["auto", "array", "scalar"])
def test_a_special_function_without_a_definition_is_named_as_scipys(tier):
    with pytest.raises(UnsupportedFunctionError, match=r"scipy\.special\.j0") as info:
        symhess.hessian(lambda x: np.sum(sp.j0(x)), tier=tier)(np.full(3, 0.5))
    assert "np.j0" not in str(info.value)


def test_supported_functions_lists_scipy_special():
    names = set(symhess.supported_functions())
    for name in ("expit", "log_expit", "xlogy", "logsumexp", "softmax", "log_softmax"):
        assert f"scipy.special.{name}" in names and callable(getattr(sp, name))


# --- the gamma function's family -------------------------------------------------------------
def test_the_gamma_family_against_scipy_and_mpmath():
    """``gammaln`` and ``digamma`` (shifted asymptotic series) from 1e-300 to 1e8: within 1e-14
    of SciPy's (absolutely below 1, relatively above). (Below 0: tests/test_special_functions.py.)"""
    x = np.concatenate([np.logspace(-300, 8, 3000), np.linspace(0.01, 30, 3000)])
    for name in ("gammaln", "digamma", "psi"):
        got, want = scipy_special.UFUNCS[name](x), getattr(sp, name)(x)
        assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1.0)) < 1e-14, name
    mpmath.mp.dps = 40
    for v in (1e-12, 0.5, 1.4616321449683623, 7.25, 99.5, 1e6):
        assert abs(scipy_special.digamma(v) - float(mpmath.digamma(v))) \
            <= 1e-14 * max(1.0, abs(float(mpmath.digamma(v))))
        assert abs(scipy_special.gammaln(v) - float(mpmath.loggamma(v))) \
            <= 1e-14 * max(1.0, abs(float(mpmath.loggamma(v))))
    a, b = np.meshgrid(np.logspace(-3, 3, 25), np.logspace(-3, 3, 25))
    np.testing.assert_allclose(scipy_special.betaln(a, b), sp.betaln(a, b), rtol=1e-12,
                               atol=1e-13)
    np.testing.assert_allclose(scipy_special.gamma(x[x < 150]), sp.gamma(x[x < 150]),
                               rtol=1e-12)


def _counts(theta, y, special, xp):
    """Poisson and negative-binomial log-likelihoods (log link) and a beta-binomial one."""
    mu, r = xp.exp(theta[0] + 0.1 * y), xp.exp(theta[1])
    poisson = xp.sum(y * xp.log(mu) - mu - special.gammaln(y + 1))
    nbinom = xp.sum(special.gammaln(y + r) - special.gammaln(r) - special.gammaln(y + 1)
                    + r * xp.log(r / (r + mu)) + y * xp.log(mu / (r + mu)))
    a, b = xp.exp(theta[2]), xp.exp(theta[1] - theta[2])
    betabin = xp.sum(special.betaln(y + a, 10 - y + b) - special.betaln(a, b))
    return -(poisson + nbinom + betabin) + xp.sum(special.digamma(a + y))


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_count_likelihoods_against_jax(tier, jax, jnp):
    import types

    import jax.scipy.special as jsp

    # JAX's own betaln has second derivatives off by 1e-7 (against mpmath); its gammaln's are
    # exact to rounding, so the reference spells betaln with them
    special = types.SimpleNamespace(gammaln=jsp.gammaln, digamma=jsp.digamma,
                                    betaln=lambda a, b: jsp.gammaln(a) + jsp.gammaln(b)
                                    - jsp.gammaln(a + b))
    y = np.random.default_rng(3).poisson(3.0, size=80 if tier == "array" else 6).astype(float)
    theta = np.array([0.8, -0.3, 0.4])
    got = symhess.hessian(functools.partial(_counts, special=sp, xp=np), tier=tier,
                          check=True)(theta, y)
    want = np.asarray(jax.hessian(_counts)(theta, y, special, jnp))
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11 * np.abs(want).max())


@pytest.mark.parametrize("v", [1e-3, 0.5, 1.4616321449683623, 4.3, 9.999, 10.0, 250.0])
def test_gamma_family_derivatives_against_mpmath(v):
    """The series' derivatives: gammaln'' = trigamma and digamma'' = polygamma(2, x) to 1e-13,
    on both sides of the shift at 10."""
    mpmath.mp.dps = 40
    x = np.array([v])
    trigamma = symhess.hessian(lambda x: np.sum(sp.gammaln(x)))(x)[0, 0]
    tetragamma = symhess.hessian(lambda x: np.sum(sp.digamma(x)))(x)[0, 0]
    assert abs(trigamma - float(mpmath.psi(1, v))) <= 1e-13 * abs(float(mpmath.psi(1, v)))
    assert abs(tetragamma - float(mpmath.psi(2, v))) <= 1e-13 * abs(float(mpmath.psi(2, v)))


# --- the error function's family -------------------------------------------------------------
ERF_POINTS = np.array([-45.0, -38.0, -30.5, -29.5, -8.0, -1.0, -1e-9, 0.0, 1e-9, 0.7, 3.0,
                       9.0, 40.0])


def test_error_function_family_against_scipy_and_mpmath():
    # (ndtr's tail is as exact as its argument -x/sqrt(2): its rounding, times the slope x^2
    # of log Phi, is a few units in the 15th digit at -30; SciPy flushes 3e-316 to 0 at -38)
    for name in ("erf", "erfc", "ndtr", "log_ndtr"):
        np.testing.assert_allclose(scipy_special.UFUNCS[name](ERF_POINTS),
                                   getattr(sp, name)(ERF_POINTS), rtol=1e-14, atol=1e-300,
                                   err_msg=name)
    # log_ndtr's branches and the tail series (below -20), to the accuracy its condition
    # allows: a relative change e of x changes log Phi(x) by about x^2 e relative
    mpmath.mp.dps = 50
    for x in (-1e3, -100.0, -38.5, -20.01, -19.99, -5.0, 0.0, 2.0, 12.0):
        want = float(mpmath.log(mpmath.ncdf(x)))
        bound = 4e-16 * abs(want) * max(1.0, x * x) if abs(x) < 20 else 4e-16 * abs(want)
        assert abs(scipy_special.log_ndtr(x) - want) <= bound, x


def _error_functions(special):
    def f(x, w):
        return (w[0] * special.erf(x) + w[1] * special.erfc(0.5 * x) + special.ndtr(x) ** 2
                + special.log_ndtr(x * x - 3.0))
    return f


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_error_function_family_hessians_against_jax(tier, jax, jnp):
    """Hessians in both tiers with the cross-check, against JAX's (whose log_ndtr is
    accurate above -20, where these arguments are)."""
    import jax.scipy.special as jsp
    x = np.array([-2.0, -0.3, 0.0, 0.4, 1.0, 1.7, 3.0])
    w = np.array([0.7, -1.3])

    def ours(x, w):
        return np.sum(_error_functions(sp)(x, w))

    def reference(x, w):
        return jnp.sum(_error_functions(jsp)(x, w))
    got = symhess.hessian(ours, tier=tier, check=True)(x, w)
    want = jax.hessian(reference)(jnp.asarray(x), jnp.asarray(w))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    value, g = symhess.value_and_grad(ours, tier=tier)(x, w)
    np.testing.assert_allclose(value, reference(x, w), rtol=1e-14)
    np.testing.assert_allclose(g, jax.grad(reference)(jnp.asarray(x), jnp.asarray(w)),
                               rtol=1e-13)


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_log_ndtr_derivatives_in_both_tails_against_mpmath(tier):
    """Through every branch of log_ndtr (the tail series below -20, erfc down to it, log1p
    above 0): gradient and Hessian against mpmath's derivatives of log(ncdf)."""
    x = np.array([-1e3, -45.0, -29.0, -20.5, -19.5, -8.0, 0.0, 6.0])
    value, g, H = symhess.value_grad_hessian(lambda x: np.sum(sp.log_ndtr(x)), tier=tier)(x)
    mpmath.mp.dps = 60
    log_phi = lambda v: mpmath.log(mpmath.ncdf(v))
    want_g = [float(mpmath.diff(log_phi, mpmath.mpf(v), 1)) for v in x]
    want_h = [float(mpmath.diff(log_phi, mpmath.mpf(v), 2)) for v in x]
    np.testing.assert_allclose(value, float(sum(log_phi(mpmath.mpf(v)) for v in x)), rtol=1e-15)
    np.testing.assert_allclose(g, want_g, rtol=1e-13)
    # (d2/dx2 log Phi = -r (x + r), r = phi/Phi: a difference that loses about x^2 / 100 digits)
    np.testing.assert_allclose(np.diag(H), want_h, rtol=1e-11)
    assert np.count_nonzero(H - np.diag(np.diag(H))) == 0


def test_error_functions_print_in_every_cpu_target(tmp_path, monkeypatch):
    """erf and erfc are the C library's in the native kernel, C99 export and Numba."""
    import shutil
    import subprocess
    f = lambda x: np.sum(sp.erf(x) ** 2 + sp.erfc(x) ** 2)
    x = np.array([0.3, -0.8, 1.5])
    c = symhess.hessian(f, tier="scalar").compile(x)
    want = c(x)
    slope = (2 / np.sqrt(np.pi)) * np.exp(-x * x)          # erf' = -erfc'; erf'' = -2 x erf'
    closed = np.diag(4 * slope ** 2 - 4 * x * slope * sp.erf(x) + 4 * x * slope * sp.erfc(x))
    np.testing.assert_allclose(want, closed, rtol=1e-13, atol=1e-14)
    source, _ = c.save(tmp_path / "k.c", name="k")
    assert "erf(" in source.read_text() and "erfc(" in source.read_text()
    if shutil.which("gcc"):
        subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-c", str(source), "-o",
                        str(tmp_path / "k.o")], check=True)
    monkeypatch.setenv("SYMHESS_NATIVE", "0")
    numba = symhess.hessian(f, tier="scalar").compile(x)
    assert "math.erf" in numba.source or "@erf" in numba.source
    np.testing.assert_allclose(numba(x), want, rtol=1e-14, atol=1e-15)
