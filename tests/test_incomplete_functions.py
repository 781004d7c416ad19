"""The regularized incomplete gamma and beta functions (``gammainc``, ``gammaincc``, ``betainc``,
``betaincc``) and the distribution functions of the gamma, chi2, beta and t families: values
against mpmath and SciPy across the shapes' range, second derivatives in ``x`` against mpmath's
closed forms in both tiers, Hessians of models against JAX, and the refusal of derivatives in a
shape (which JAX has no Hessian of either)."""

import mpmath
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

import symhess
from symhess.errors import OperandTypeError, UnsupportedFunctionError
from symhess.foreign import incomplete, scipy_stats

TIERS = ["scalar", "array"]
SHAPES = [1e-3, 0.1, 0.5, 1.0, 2.5, 10.0, 37.0, 100.0, 300.0, 1000.0]


def _relative(got, want):
    return abs(got - want) / abs(want)


def _tolerance(shape, want):
    """The prefactors are exp of sums as large as ``a log x``: their error grows with the
    shape; a value computed as one less its complement has that one's absolute error."""
    return 5e-14 * max(1.0, shape / 10.0) + 2e-16 / want


def test_incomplete_gamma_against_mpmath():
    """P and Q, each where it is the smaller too, from the series' end to the continued
    fraction's slowest point (x = a + 1) and far beyond."""
    mpmath.mp.dps = 40
    for a in SHAPES:
        for r in (1e-3, 0.1, 0.5, 0.9, 1.0, 1.1, 1.5, 3.0, 10.0, 50.0):
            x = r * (a + 1)
            p = mpmath.gammainc(a, 0, x, regularized=True)
            q = mpmath.gammainc(a, x, mpmath.inf, regularized=True)
            for got, want in ((incomplete.gammainc(a, x), p), (incomplete.gammaincc(a, x), q)):
                if want > 1e-300:
                    want = float(want)
                    assert _relative(got, want) < _tolerance(a, want), (a, x, got, want)


def test_incomplete_beta_against_mpmath():
    """I and 1 - I about the switch between the two continued fractions, where they converge
    slowest, and near both ends."""
    mpmath.mp.dps = 40
    for a in SHAPES[::2] + [1000.0]:
        for b in (0.1, 0.5, 2.5, 37.0, 1000.0):
            switch = (a + 1) / (a + b + 2)
            for x in (1e-6, 0.01, 0.3, 0.7, 0.99, 1 - 1e-6, 0.999 * switch, 1.001 * switch):
                if not 0 < x < 1:
                    continue
                x = mpmath.mpf(x)
                i = mpmath.betainc(a, b, 0, x, regularized=True)
                j = mpmath.betainc(b, a, 0, 1 - x, regularized=True)   # (1 - I, not cancelled)
                for got, want in ((incomplete.betainc(a, b, float(x)), i),
                                  (incomplete.betaincc(a, b, float(x)), j)):
                    if want > 1e-290:
                        want = float(want)
                        # (a value computed as one less its complement has that one's error)
                        rtol = _tolerance(a + b, 1.0) * (1.0 + 1.0 / want)
                        assert _relative(got, want) < rtol, (a, b, x, got, want)


def test_edges_are_scipys():
    with np.errstate(all="ignore"):
        a = np.array([0.0, 0.0, 1.5, 1.5, 1.5, -1.0, 1.5, np.nan, 2.0])
        x = np.array([1.0, 0.0, 0.0, np.inf, -1.0, 1.0, np.nan, 1.0, 1e-300])
        for ours, theirs in ((incomplete.gammainc, sp.gammainc),
                             (incomplete.gammaincc, sp.gammaincc)):
            np.testing.assert_allclose(ours(a, x), theirs(a, x), rtol=1e-14, atol=0)
        a = np.array([0.0, 2.0, 0.0, 2.0, 2.0, 2.0, -1.0, 2.0])
        b = np.array([1.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 3.0])
        x = np.array([0.3, 0.3, 0.3, 0.0, 1.0, 1.2, 0.3, -0.1])
        for ours, theirs in ((incomplete.betainc, sp.betainc),
                             (incomplete.betaincc, sp.betaincc)):
            np.testing.assert_allclose(ours(a, b, x), theirs(a, b, x), rtol=1e-14, atol=0)


def _gamma_second(a, x):
    """d^2/dx^2 of P(a, x)^2 (a closed form with mpmath's P)."""
    x = mpmath.mpf(x)
    p = mpmath.gammainc(a, 0, x, regularized=True)
    d1 = x ** (a - 1) * mpmath.exp(-x) / mpmath.gamma(a)
    return float(2 * d1 ** 2 + 2 * p * d1 * ((a - 1) / x - 1))


def _beta_second(a, b, x):
    """d^2/dx^2 of (1 - I_x(a, b))^2."""
    x = mpmath.mpf(x)
    j = 1 - mpmath.betainc(a, b, 0, x, regularized=True)
    d1 = -x ** (a - 1) * (1 - x) ** (b - 1) / mpmath.beta(a, b)
    return float(2 * d1 ** 2 + 2 * j * d1 * ((a - 1) / x - (b - 1) / (1 - x)))


@pytest.mark.parametrize("tier", TIERS)
def test_second_derivatives_against_mpmath(tier):
    """Constant shapes, and shapes that are data (an argument not differentiated)."""
    mpmath.mp.dps = 40
    x = np.array([0.05, 0.4, 0.7, 0.95])

    def f(v, shapes):
        return np.sum(sp.gammainc(2.5, 9.0 * v) ** 2 + sp.betaincc(shapes[0], shapes[1], v) ** 2)
    shapes = np.array([3.0, 0.7])
    got = np.diag(symhess.hessian(f, tier=tier)(x, shapes))
    want = [81 * _gamma_second(2.5, 9 * v) + _beta_second(3.0, 0.7, v) for v in x]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("tier", TIERS)
def test_a_derivative_in_a_shape_is_refused(tier):
    x = np.array([0.5, 2.0])
    with pytest.raises(UnsupportedFunctionError, match="with respect to a shape parameter"):
        symhess.hessian(lambda v: np.sum(sp.gammainc(v, 1.5)), tier=tier)(x)
    with pytest.raises(UnsupportedFunctionError, match="with respect to a shape parameter"):
        symhess.hessian(lambda v: np.sum(st.beta.logcdf(0.3, v, 2.0)), tier=tier)(x)


@pytest.mark.parametrize("tier", TIERS)
def test_shapes_beyond_the_limits(tier):
    """A shape that is data above `TRACED_SHAPE_LIMIT`: NaN, with the derivatives that read
    the value (the scalar tier's kernel, whose entries share terms, gives NaN in the others'
    entries too); below, the values; a constant one above `SHAPE_LIMIT`: refused."""
    x = np.array([1.5, 900.0, 3.0])
    a = np.array([2.0, 1500.0, 0.5])
    f = symhess.hessian(lambda v, s: np.sum(sp.gammaincc(s, v) * v), tier=tier)
    h = f(x, a)
    assert np.isnan(h[1, 1])
    if tier == "array":
        assert np.isfinite(h[[0, 2], [0, 2]]).all()
    a[1] = 900.0
    h = f(x, a)
    mpmath.mp.dps = 30
    for k in (0, 1, 2):
        want = mpmath.diff(lambda t: t * mpmath.gammainc(a[k], t, mpmath.inf, regularized=True),
                           x[k], 2)
        assert _relative(h[k, k], float(want)) < 1e-12
    with pytest.raises(OperandTypeError, match="shapes up to"):
        symhess.hessian(lambda v: np.sum(sp.gammainc(2e4, v)), tier=tier)(x)


FAMILIES = [("gamma", (2.5,), np.array([1e-5, 0.3, 1.0, 2.5, 9.0, 40.0])),
            ("chi2", (3.0,), np.array([1e-5, 0.3, 1.0, 2.5, 9.0, 60.0])),
            ("beta", (0.5, 2.5), np.array([1e-5, 0.05, 0.3, 0.5, 0.9, 0.999])),
            ("t", (3.5,), np.array([-40.0, -3.0, -0.5, -1e-4, 0.0, 1e-4, 0.7, 2.5, 30.0]))]


@pytest.mark.parametrize("family, shapes, x", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_distribution_functions_against_scipy(family, shapes, x):
    """cdf, logcdf, sf and logsf, each in its own tail (and outside the support)."""
    dist = getattr(st, family)
    methods = scipy_stats.METHODS[("scipy.stats._distn_infrastructure", "rv_continuous")]
    outside = np.array([-1.0, 2.0]) if family == "beta" else np.array([-1.0, np.inf])
    for z in (x, outside):
        for method in ("cdf", "logcdf", "sf", "logsf"):
            with np.errstate(divide="ignore"):
                want = getattr(dist, method)(z, *shapes)
                got = methods[method](dist, z, *shapes)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=method)


def _t_cdf(z, df):
    return 0.5 + z * mpmath.gamma((df + 1) / 2) / (mpmath.sqrt(df * mpmath.pi)
                                                  * mpmath.gamma(df / 2)) \
        * mpmath.hyp2f1(0.5, (df + 1) / 2, 1.5, -z ** 2 / df)


@pytest.mark.parametrize("tier", TIERS)
def test_t_distribution_functions_against_mpmath(tier):
    """JAX has no t.cdf: the second derivatives of t.logcdf and t.logsf against mpmath's, at
    0 itself and about it (the Taylor series), and in both tails."""
    mpmath.mp.dps = 40
    df = 3.5
    z = FAMILIES[3][2]
    got = np.diag(symhess.hessian(
        lambda v: np.sum(st.t.logcdf(v, df) + 2.0 * st.t.logsf(v, df)), tier=tier)(z))
    want = [float(mpmath.diff(lambda q: mpmath.log(_t_cdf(q, df))
                              + 2 * mpmath.log(1 - _t_cdf(q, df)), mpmath.mpf(v), 2)) for v in z]
    np.testing.assert_allclose(got, want, rtol=1e-11)


def _censored_gamma(theta, x, y, observed, shape, stats, xp):
    """A gamma regression with right-censored responses: log-density of the observed ones,
    log survival of the censored, the scale a log-linear function of the covariates."""
    scale = xp.exp(x @ theta)
    return xp.sum(xp.where(observed, stats.gamma.logpdf(y, shape, scale=scale),
                           stats.gamma.logsf(y, shape, scale=scale)))


def _chi2_beta(theta, y, stats, xp):
    u = 1.0 / (1.0 + xp.exp(-theta[1] * y))
    return xp.sum(stats.chi2.logcdf(y * xp.exp(theta[0]), 4.0)
                  + stats.beta.logcdf(u, 2.5, 1.5) + stats.gamma.cdf(y, 1.5, scale=theta[2]))


def test_models_against_jax(jax, jnp):
    """The shape is data in the censored model and constant in the other. ``tier="auto"``
    gives both to the array tier (`symhess.special_nodes.ITERATIVE`): a scalar kernel would
    write the functions' hundreds of steps out for every observation."""
    from jax.scipy import stats as jstats
    rng = np.random.default_rng(4)
    n, tier = 40, "auto"
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = rng.gamma(2.0, 1.5, size=n)
    observed = rng.uniform(size=n) < 0.6
    theta = np.array([0.3, -0.2])
    got = symhess.hessian(lambda t, *a: _censored_gamma(t, *a, st, np), tier=tier)(
        theta, x, y, observed, 2.0)
    want = jax.hessian(lambda t: _censored_gamma(t, x, y, observed, 2.0, jstats, jnp))(theta)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    theta = np.array([0.2, 0.8, 1.3])
    got = symhess.hessian(lambda t, v: _chi2_beta(t, v, st, np), tier=tier)(theta, y)
    want = jax.hessian(lambda t: _chi2_beta(t, y, jstats, jnp))(theta)
    np.testing.assert_allclose(got, want, rtol=1e-10)


DISCRETE = [("poisson", (2.5,)), ("poisson", (30.0,)), ("nbinom", (3.5, 0.4)),
            ("binom", (10, 0.3)), ("geom", (0.3,))]


def _discrete_reference(family, k, shapes):
    """``P(X <= k)`` by summing the pmf in mpmath (and ``P(X > k)`` likewise, not as 1 - it)."""
    pmf = {"poisson": lambda j, mu: mpmath.exp(-mu) * mpmath.mpf(mu) ** j / mpmath.factorial(j),
           "nbinom": lambda j, n, p: mpmath.binomial(j + n - 1, j) * mpmath.mpf(p) ** n
           * (1 - mpmath.mpf(p)) ** j,
           "binom": lambda j, n, p: mpmath.binomial(n, j) * mpmath.mpf(p) ** j
           * (1 - mpmath.mpf(p)) ** (n - j),
           "geom": lambda j, p: (1 - mpmath.mpf(p)) ** (j - 1) * p}[family]
    low = 1 if family == "geom" else 0
    below = mpmath.fsum(pmf(j, *shapes) for j in range(low, int(np.floor(k)) + 1))
    above = mpmath.nsum(lambda j: pmf(int(j), *shapes), [int(np.floor(k)) + 1, mpmath.inf]) \
        if family != "binom" else mpmath.fsum(pmf(j, *shapes)
                                               for j in range(int(np.floor(k)) + 1, shapes[0] + 1))
    return below, above


@pytest.mark.parametrize("family, shapes", DISCRETE, ids=[f"{f}{s}" for f, s in DISCRETE])
def test_discrete_distribution_functions_against_mpmath(family, shapes):
    """The count at or below ``k`` (floor, shifted by ``loc``), each tail by its own sum: more
    accurate than SciPy's logsf and logcdf near 0 (``poisson.logsf(0, 30)`` is ``-exp(-30)``,
    SciPy's is off by 2e-5 of it)."""
    mpmath.mp.dps = 40
    dist = getattr(st, family)
    methods = scipy_stats.METHODS[("scipy.stats._distn_infrastructure", "rv_discrete")]
    for k in (0.0, 0.5, 1.0, 2.0, 3.7, 7.0, 9.0, 25.0):
        below, above = _discrete_reference(family, k, shapes)
        for method, want in (("cdf", below), ("sf", above), ("logcdf", mpmath.log(below)),
                             ("logsf", mpmath.log(above) if above > 0 else -mpmath.inf)):
            with np.errstate(divide="ignore"):
                got = methods[method](dist, k, *shapes)
            want = float(want)
            assert got == want or _relative(got, want) < 1e-11, (method, k, got, want)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(methods["cdf"](dist, -1.0, *shapes), 0.0)
        np.testing.assert_allclose(methods["logsf"](dist, -1.0, *shapes), 0.0)


def _count_model(theta, k, stats, xp):
    mu = xp.exp(theta[0] + theta[1] * xp.log1p(k))
    return xp.sum(xp.log(stats.poisson.cdf(k, mu)) + stats.poisson.cdf(k + 2.0, 0.5 * mu))


def test_count_distribution_functions_against_jax(jax, jnp):
    """A censored count model's Poisson cdf, in the parameters of its mean."""
    from jax.scipy import stats as jstats
    k = np.array([0.0, 1.0, 3.0, 4.0, 8.0, 12.0])
    theta = np.array([0.8, 0.3])
    got = symhess.hessian(lambda t, v: _count_model(t, v, st, np))(theta, k)
    want = jax.hessian(lambda t: _count_model(t, k, jstats, jnp))(theta)
    np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("tier", TIERS)
def test_nbinom_and_binom_distribution_functions_against_the_autodiff(tier):
    """In the success probability (an incomplete beta function's x): the cross-check's autodiff
    runs the continued fractions as written."""
    k = np.array([0.0, 2.0, 5.0, 9.0])

    def f(q):
        p = 1.0 / (1.0 + np.exp(-q))
        return np.sum(st.nbinom.logcdf(k, 3.5, p) + st.binom.logsf(k, 10, p) * p
                      + st.geom.logcdf(k + 1.0, p))
    h = symhess.hessian(f, tier=tier, check=True)(np.array([0.3]))
    assert np.isfinite(h).all()


def test_cross_check_differentiates_the_algorithms():
    """The cross-check's autodiff runs the series and fractions as written (its own derivatives
    in x), the scalar tier the densities: they agree."""
    x = np.array([0.3, 2.0, 4.5, 9.0])
    h = symhess.hessian(lambda v: np.sum(sp.gammainc(2.5, v) ** 2
                                         + sp.betaincc(1.5, 3.0, v / (1 + v))), check=True)(x)
    assert np.isfinite(h).all()


def test_supported_functions_lists_them():
    names = set(symhess.supported_functions())
    for name in ("gammainc", "gammaincc", "betainc", "betaincc"):
        assert f"scipy.special.{name}" in names
    for family in ("gamma", "chi2", "beta", "t", "poisson", "nbinom", "binom", "geom"):
        assert f"scipy.stats.{family}.logcdf" in names
