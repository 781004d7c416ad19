"""``scipy.stats`` log-densities in traced functions (`symhess.foreign.scipy_stats`): values
against SciPy's, Hessians against JAX's ``jax.scipy.stats`` in both tiers with the cross-check,
frozen distributions, and the errors that name what is not traced."""

import functools

import numpy as np
import pytest
import scipy.stats as st

import symhess
from symhess.errors import UnsupportedFunctionError
from symhess.foreign import scipy_stats

rng = np.random.default_rng(12)
X = rng.normal(size=7)
K = np.array([0.0, 1.0, 2.0, 4.0, 7.0])
CONTINUOUS = [("norm", (X, 0.3, 1.7)), ("t", (X, 4.5, 0.2, 1.3)), ("cauchy", (X, 0.1, 2.0)),
              ("laplace", (X, 0.1, 2.0)), ("logistic", (X, 0.1, 2.0)),
              ("expon", (np.abs(X), 0.0, 2.0)), ("chi2", (np.abs(X) + 0.1, 3.0)),
              ("gamma", (np.abs(X), 2.5, 0.0, 1.5)), ("beta", (np.abs(X) / 3, 2.0, 3.5)),
              ("lognorm", (np.abs(X) + 0.1, 0.7)), ("norm", (np.array([-40.0, 40.0]),))]
DISCRETE = [("poisson", (K, 2.5)), ("nbinom", (K, 3.5, 0.4)), ("binom", (K, 10, 0.3)),
            ("bernoulli", (np.array([0.0, 1.0]), 0.3)), ("geom", (K + 1, 0.3))]


def test_densities_against_scipy():
    for name, args in CONTINUOUS:
        dist = getattr(st, name)
        np.testing.assert_allclose(scipy_stats.continuous_logpdf(dist, *args),
                                   dist.logpdf(*args), rtol=1e-13, atol=1e-14, err_msg=name)
        np.testing.assert_allclose(scipy_stats.continuous_pdf(dist, *args), dist.pdf(*args),
                                   rtol=1e-13, atol=1e-300, err_msg=name)
    for name, args in DISCRETE:
        dist = getattr(st, name)
        np.testing.assert_allclose(scipy_stats.discrete_logpmf(dist, *args), dist.logpmf(*args),
                                   rtol=1e-13, atol=1e-14, err_msg=name)
    x, m = rng.normal(size=(6, 3)), rng.normal(size=3)
    a = rng.normal(size=(3, 3))
    for cov in (a @ a.T + np.eye(3), np.array([1.0, 2.0, 3.0]), 2.0):
        np.testing.assert_allclose(
            scipy_stats.multivariate_normal_logpdf(st.multivariate_normal, x, m, cov),
            st.multivariate_normal.logpdf(x, m, cov), rtol=1e-13)
    p, alpha = rng.dirichlet([1.0, 2.0, 3.0], size=4).T, np.array([1.5, 2.0, 0.7])
    np.testing.assert_allclose(scipy_stats.dirichlet_logpdf(st.dirichlet, p, alpha),
                               st.dirichlet.logpdf(p, alpha), rtol=1e-13)


def _likelihood(theta, x, k, stats, special, xp):
    """Location, scale and shape parameters of several families at once."""
    loc, scale, shape = theta[0], xp.exp(theta[1]), xp.exp(theta[2])
    u = special.expit(x)
    cov = xp.array([[scale, 0.3], [0.3, 2.0]]) ** 2 + xp.eye(2)
    return -(xp.sum(stats.norm.logpdf(x, loc, scale)) + xp.sum(stats.t.logpdf(x, shape, loc))
             + xp.sum(stats.cauchy.logpdf(x, loc, scale))
             + xp.sum(stats.logistic.logpdf(x, loc=loc, scale=scale))
             + xp.sum(stats.laplace.logpdf(x, loc, scale))
             + xp.sum(stats.gamma.logpdf(x * x + 0.1, shape, scale=scale))
             + xp.sum(stats.chi2.logpdf(x * x + 0.1, shape))
             + xp.sum(stats.expon.logpdf(x * x, scale=scale))
             + xp.sum(stats.poisson.logpmf(k, scale)) + xp.sum(stats.geom.logpmf(k + 1, u[0]))
             + xp.sum(stats.bernoulli.logpmf(k > 2, u[1]))
             + xp.sum(stats.multivariate_normal.logpdf(xp.reshape(x[:6], (3, 2)),
                                                       xp.array([loc, 0.5]), cov))
             + stats.dirichlet.logpdf(xp.array([0.2, 0.3, 0.5]), xp.exp(theta)))


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_a_likelihood_against_jax(tier, jax, jnp):
    import jax.scipy.special as jsp
    import jax.scipy.stats as jst
    import scipy.special

    x = rng.normal(size=70 if tier == "array" else 8)
    theta = np.array([0.2, -0.3, 0.9])
    f = functools.partial(_likelihood, stats=st, special=scipy.special, xp=np)
    got = symhess.hessian(f, tier=tier, check=True)(theta, x, K[:4] if tier == "scalar" else K)
    want = np.asarray(jax.hessian(_likelihood)(theta, x, K[:4] if tier == "scalar" else K,
                                               jst, jsp, jnp))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_beta_binomial_and_negative_binomial_against_closed_forms(jax, jnp):
    """The families whose JAX densities go through JAX's betaln (second derivatives off by
    1e-7): against the same densities written with ``gammaln`` in JAX."""
    from jax.scipy.special import gammaln

    def ours(t):
        a, b, p = np.exp(t[0]), np.exp(t[1]), 1 / (1 + np.exp(-t[2]))
        return (np.sum(st.beta.logpdf(np.array([0.2, 0.7]), a, b))
                + np.sum(st.nbinom.logpmf(K, a, p)) + np.sum(st.binom.logpmf(K, 10, p)))

    def reference(t):
        a, b, p = jnp.exp(t[0]), jnp.exp(t[1]), 1 / (1 + jnp.exp(-t[2]))
        z = jnp.array([0.2, 0.7])
        beta = jnp.sum((a - 1) * jnp.log(z) + (b - 1) * jnp.log1p(-z)
                       - gammaln(a) - gammaln(b) + gammaln(a + b))
        nbinom = jnp.sum(gammaln(K + a) - gammaln(a) - gammaln(K + 1) + a * jnp.log(p)
                         + K * jnp.log1p(-p))
        binom = jnp.sum(gammaln(11.0) - gammaln(K + 1) - gammaln(11 - K) + K * jnp.log(p)
                        + (10 - K) * jnp.log1p(-p))
        return beta + nbinom + binom

    t = np.array([0.3, 0.8, -0.4])
    np.testing.assert_allclose(symhess.hessian(ours, check=True)(t), jax.hessian(reference)(t),
                               rtol=1e-11, atol=1e-12)


def test_frozen_distributions(jax, jnp):
    def ours(theta, x):
        return np.sum(st.norm(theta[0], np.exp(theta[1])).logpdf(x))

    def reference(theta, x):
        return jnp.sum(jax.scipy.stats.norm.logpdf(x, theta[0], jnp.exp(theta[1])))

    theta = np.array([0.4, -0.2])
    np.testing.assert_allclose(symhess.hessian(ours)(theta, X),
                               jax.hessian(reference)(theta, X), rtol=1e-12)


def test_what_is_not_traced_is_named():
    with pytest.raises(UnsupportedFunctionError, match=r"scipy\.stats\.cauchy\.logcdf"):
        symhess.hessian(lambda m: np.sum(st.cauchy.logcdf(X, m)))(np.array(0.1))
    with pytest.raises(UnsupportedFunctionError, match=r"scipy\.stats\.gumbel_r\.logpdf"):
        symhess.hessian(lambda m: np.sum(st.gumbel_r.logpdf(X, m)))(np.array(0.1))
    assert "scipy.stats.poisson.logpmf" in symhess.supported_functions()


@pytest.mark.parametrize("family", ["norm", "logistic", "expon"])
def test_distribution_functions_against_scipy_and_the_autodiff(family):
    """cdf, logcdf, sf and logsf, loc and scale traced: values against SciPy's far in both
    tails, and Hessians against the autodiff (check=True compares the traced value with
    SciPy's too)."""
    from symhess.foreign import scipy_stats
    dist = getattr(st, family)
    x = np.array([-40.0, -3.0, -0.2, 0.0, 0.5, 2.5, 45.0])
    methods = scipy_stats.METHODS[("scipy.stats._distn_infrastructure", "rv_continuous")]
    for method in ("cdf", "logcdf", "sf", "logsf"):
        with np.errstate(divide="ignore"):
            want = getattr(dist, method)(x, 0.3, 1.7)
            got = methods[method](dist, x, 0.3, 1.7)
        np.testing.assert_allclose(got, want, rtol=2e-14, atol=0, err_msg=method)
        finite = np.isfinite(want) & (want != 0)

        def f(theta, method=method, finite=finite):
            return np.sum(getattr(dist, method)(x[finite], theta[0], np.exp(theta[1])))
        symhess.hessian(f, check=True)(np.array([0.3, -0.1]))


@pytest.mark.parametrize("family", ["norm", "logistic", "expon"])
def test_quantile_functions_against_scipy_and_jax(family, jax, jnp):
    """ppf and isf with loc and scale traced: values against SciPy's in both tails (and
    outside [0, 1]), Hessians in the quantile, loc and log scale against JAX's."""
    from jax.scipy import special as jsp

    from symhess.foreign import scipy_stats
    dist = getattr(st, family)
    q = np.array([1e-300, 1e-12, 0.02, 0.3, 0.5, 0.8, 1 - 1e-9, 0.0, 1.0, 1.3])
    methods = scipy_stats.METHODS[("scipy.stats._distn_infrastructure", "rv_continuous")]
    for method in ("ppf", "isf"):
        with np.errstate(all="ignore"):
            want = getattr(dist, method)(q, 0.3, 1.7)
            got = methods[method](dist, q, 0.3, 1.7)
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0, err_msg=method)
    standard = {"norm": jsp.ndtri, "logistic": jsp.logit, "expon": lambda u: -jnp.log1p(-u)}
    inner = q[1:7]

    def ours(theta):
        return np.sum(dist.ppf(inner * theta[0], theta[1], np.exp(theta[2])) ** 2
                      + dist.isf(inner * theta[0], theta[1], np.exp(theta[2])))

    def reference(theta):
        z = standard[family](inner * theta[0])
        z_isf = -standard[family](inner * theta[0]) if family != "expon" \
            else -jnp.log(inner * theta[0])
        scale = jnp.exp(theta[2])
        return jnp.sum((theta[1] + scale * z) ** 2 + theta[1] + scale * z_isf)
    theta = np.array([0.9, 0.3, -0.2])
    got = symhess.hessian(ours, check=True)(theta)
    np.testing.assert_allclose(got, jax.hessian(reference)(theta), rtol=1e-11)
