"""The gamma function's family on the whole real line, ``polygamma``, the inverse error functions
(``erfinv``, ``erfcinv``, ``ndtri``), ``erfcx`` and the modified Bessel functions (``i0``,
``i1``, ``i0e``, ``i1e``, ``np.i0``): values against SciPy and mpmath at extreme arguments,
first and second derivatives against mpmath's closed forms in both tiers, Hessians of models
against JAX with the cross-check."""

import functools

import mpmath
import numpy as np
import pytest
import scipy.special as sp

import symhess
from symhess.errors import OperandTypeError
from symhess.foreign import bessel, error_functions, gamma_functions

TIERS = ["scalar", "array"]


def _close(got, want, rtol):
    """Equal where SciPy is infinite or NaN, within ``rtol`` elsewhere."""
    got, want = np.asarray(got), np.asarray(want)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=0)


def _second_derivative(f, x, tier):
    """``f''`` at each entry of ``x``, from the Hessian of ``sum(f(x))`` (diagonal, checked)."""
    H = symhess.hessian(lambda v: np.sum(f(v)), tier=tier, check=True)(x)
    assert np.count_nonzero(H - np.diag(np.diag(H))) == 0
    return np.diag(H)


# --- the gamma function's family -----------------------------------------------------------------
NEGATIVE = np.array([-170.3, -100.5, -10.5, -3.7, -2.5, -1.5, -1.0, -0.5, -1e-20, 0.0, 1e-20,
                     0.3, 2.5, 171.0])


def test_gamma_family_below_zero_against_scipy():
    """Reflection through ``x - rint(x)``, which is exact: values, signs and SciPy's values at
    the poles (NaN or infinite as SciPy has them)."""
    with np.errstate(all="ignore"):
        for name, rtol in [("gammaln", 1e-13), ("loggamma", 1e-13), ("digamma", 1e-13),
                           ("gamma", 2e-13)]:
            got = getattr(gamma_functions, name)(NEGATIVE)
            want = getattr(sp, name)(NEGATIVE)
            small = np.abs(want) < 1.0               # (absolute below 1, as SciPy's own error)
            _close(np.where(small, 0.0, got), np.where(small, 0.0, want), rtol)
            np.testing.assert_allclose(got[small], want[small], atol=2e-15)
        a = np.array([-0.5, 1.2, -2.5, 3.0, -7.25])
        b = np.array([1.2, -0.7, 0.4, 2.0, 3.5])
        for name in ("beta", "betaln"):
            _close(getattr(gamma_functions, name)(a, b), getattr(sp, name)(a, b), 1e-13)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 6])
def test_polygamma_against_mpmath(n):
    """From 1e-3 to 1e6 and below 0 (where the reflection's cotangent is exactly 0 at the
    half-integers), and SciPy's infinities at the poles."""
    mpmath.mp.dps = 40
    for x in (1e-3, 0.3, 1.0, 2.5, 9.9, 11.5, 25.0, 1e3, 1e6, -0.5, -3.7, -10.5, -2.75, -1e-9):
        want = float(mpmath.psi(n, x))
        got = float(gamma_functions.polygamma(n, np.float64(x)))
        # (psi(x) passes through 0 at 1.46 and -0.50: its error there is absolute)
        assert abs(got - want) <= 4e-16 * max(abs(want), 40.0 if n == 0 else 0.0) * 4, (n, x)
    with np.errstate(all="ignore"):
        _close(gamma_functions.polygamma(n, np.array([0.0, -1.0, -4.0])),
               sp.polygamma(n, np.array([0.0, -1.0, -4.0])), 0)
    np.testing.assert_allclose(gamma_functions.polygamma(np.array([1, 2]), np.array([0.4, 2.0])),
                               sp.polygamma(np.array([1, 2]), np.array([0.4, 2.0])), rtol=1e-14)


@pytest.mark.parametrize("tier", TIERS)
def test_gamma_family_derivatives_below_zero_against_mpmath(tier):
    """gammaln'' = psi(1, x), digamma'' = psi(2, x) and polygamma(2, x)'' = psi(4, x), for
    negative and positive x, and Gamma'' = Gamma (psi^2 + psi_1) with Gamma's sign."""
    mpmath.mp.dps = 40
    x = np.array([-7.3, -2.5, -0.4, 0.6, 12.0])
    checks = [(sp.gammaln, 1), (sp.digamma, 2), (lambda v: sp.polygamma(2, v), 4)]
    for f, order in checks:
        want = [float(mpmath.psi(order, v)) for v in x]
        np.testing.assert_allclose(_second_derivative(f, x, tier), want, rtol=1e-12)
    want = [float(mpmath.diff(mpmath.gamma, v, 2)) for v in x]
    np.testing.assert_allclose(_second_derivative(sp.gamma, x, tier), want, rtol=1e-11)


def test_polygamma_takes_a_constant_integer_order():
    with pytest.raises(OperandTypeError, match="constant integer order"):
        symhess.hessian(lambda x: np.sum(sp.polygamma(1.5, x)))(np.ones(2))


# --- the inverse error functions -----------------------------------------------------------------
def test_inverse_error_functions_against_scipy_and_mpmath():
    """erfinv to one unit near 0 and 1 - 2^-52; ndtri down to 1e-300, where 2p - 1 rounds to
    -1 (SciPy's ndtri is itself a few units off there: mpmath's root is the reference)."""
    x = np.array([-1.0, -0.999999, -0.5000001, -0.5, -0.2, 0.0, 1e-10, 0.3, 0.5, 0.7, 0.99,
                  1 - 1e-10, 1 - 2 ** -52, 1.0, 1.5, np.nan])
    with np.errstate(all="ignore"):
        _close(error_functions.erfinv(x), sp.erfinv(x), 4e-16)
        y = np.array([0.0, 1e-300, 1e-10, 0.3, 1.0, 1.7, 2 - 1e-12, 2.0, -0.1])
        _close(error_functions.erfcinv(y), sp.erfcinv(y), 4e-15)
        p = np.array([0.0, 0.2, 0.25, 0.5, 0.75, 0.9, 1 - 1e-12, 1.0, 1.2])
        _close(error_functions.ndtri(p), sp.ndtri(p), 4e-16)
    mpmath.mp.dps = 50
    for p in (1e-300, 1e-200, 1e-50, 1e-10, 0.01):
        root = mpmath.findroot(lambda v: mpmath.ncdf(v) - mpmath.mpf(p), float(sp.ndtri(p)))
        assert abs(error_functions.ndtri(p) - float(root)) <= 3e-16 * abs(float(root)), p


@pytest.mark.parametrize("tier", TIERS)
def test_inverse_error_function_derivatives_against_mpmath(tier):
    """erfinv' = sqrt(pi)/2 exp(y^2), erfinv'' = 2 y erfinv'^2, and ndtri'' = y / phi(y)^2, at
    1 - 1e-12 and 1e-100 too."""
    mpmath.mp.dps = 50
    x = np.array([-0.999999, -0.3, 0.0, 0.45, 0.51, 0.9, 1 - 1e-12])
    want = []
    for v in x:
        y = mpmath.erfinv(mpmath.mpf(v))
        slope = mpmath.sqrt(mpmath.pi) / 2 * mpmath.exp(y * y)
        want.append(float(2 * y * slope ** 2))
    np.testing.assert_allclose(_second_derivative(sp.erfinv, x, tier), want, rtol=4e-15,
                               atol=1e-300)
    p = np.array([1e-100, 1e-8, 0.3, 0.5, 0.97])
    want = []
    for v in p:
        y = mpmath.findroot(lambda u: mpmath.ncdf(u) - mpmath.mpf(v), float(sp.ndtri(v)))
        want.append(float(y / mpmath.npdf(y) ** 2))
    np.testing.assert_allclose(_second_derivative(sp.ndtri, p, tier), want, rtol=4e-14, atol=1e-300)


def test_the_scalar_tier_prints_erfinv_as_its_iterations_in_every_target(tmp_path):
    """Kept whole while differentiated (its closed form reads erfinv), printed as Halley's
    iterations in the native kernel, the Numba one and the C99 export (compiled with gcc)."""
    import shutil
    import subprocess
    f = lambda x: np.sum(sp.erfinv(x) ** 2)
    x = np.array([0.3, -0.8, 0.999])
    c = symhess.hessian(f, tier="scalar").compile(x)
    assert "inverse_erf(" in str(c.entries()[(0, 0, 0)])
    y = sp.erfinv(x)
    slope = np.sqrt(np.pi) / 2 * np.exp(y * y)
    want = np.diag(2 * slope ** 2 + 2 * y * 2 * y * slope ** 2)
    np.testing.assert_allclose(c(x), want, rtol=1e-14)
    source, _ = c.save(tmp_path / "k.c", name="k")
    text = source.read_text()
    assert "erfc(" in text and "inverse_erf" not in text
    if shutil.which("gcc"):
        subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-c", str(source), "-o",
                        str(tmp_path / "k.o")], check=True)


# --- erfcx ---------------------------------------------------------------------------------------
def test_erfcx_against_scipy_and_its_derivative_against_mpmath():
    x = np.array([-30.0, -26.0, -5.0, -1.0, 0.0, 0.5, 3.0, 7.99, 8.0, 10.0, 50.0, 1e5, 1e150,
                  1e300])
    with np.errstate(over="ignore"):
        _close(error_functions.erfcx(x), sp.erfcx(x), 4e-15)
    mpmath.mp.dps = 50
    v = np.array([-3.0, 0.2, 5.0, 7.9, 8.1, 40.0])
    erfcx = lambda u: mpmath.exp(u * u) * mpmath.erfc(u)
    for tier in TIERS:
        # (below 8, erfcx'' = 2 erfcx + 2 x (2 x erfcx - 2/sqrt(pi)) cancels about x^2 / 64 of
        # its digits)
        want = [float(mpmath.diff(erfcx, mpmath.mpf(u), 2)) for u in v]
        np.testing.assert_allclose(_second_derivative(sp.erfcx, v, tier), want, rtol=3e-11)


# --- Bessel functions ----------------------------------------------------------------------------
BESSEL_POINTS = np.array([-800.0, -30.0, -20.0001, -20.0, -5.0, -1e-3, 0.0, 0.7, 3.0, 15.0,
                          19.999, 20.001, 25.0, 100.0, 700.0, 710.0, 1e5])


@pytest.mark.parametrize("name", ["i0", "i1", "i0e", "i1e"])
def test_bessel_functions_against_scipy(name):
    with np.errstate(over="ignore"):
        _close(getattr(bessel, name)(BESSEL_POINTS), getattr(sp, name)(BESSEL_POINTS), 2e-15)


def test_bessel_derivatives_against_mpmath():
    """Second derivatives on both sides of 20, in the scalar tier, of one function of five
    variables (the array tier's, through the same definitions, are in the model below). (The
    scaled forms' series, times exp(-|x|), cancel about log10(x^2) digits of their second
    derivative.)"""
    mpmath.mp.dps = 40
    scaled = lambda nu: lambda u: mpmath.exp(-abs(u)) * mpmath.besseli(nu, u)   # noqa: E731
    functions = [(sp.i0, lambda u: mpmath.besseli(0, u)), (sp.i1, lambda u: mpmath.besseli(1, u)),
                 (sp.i0e, scaled(0)), (sp.i1e, scaled(1)), (np.i0, lambda u: mpmath.besseli(0, u))]
    H = symhess.hessian(lambda v: sum(f(v[k]) for k, (f, _) in enumerate(functions)),
                        tier="scalar", check=True).compile(np.ones(5))
    for x in (-25.0, -3.0, 0.4, 7.0, 19.0, 21.0, 60.0):
        got = np.diag(H(np.full(5, x)))
        want = [float(mpmath.diff(f, mpmath.mpf(x), 2)) for _, f in functions]
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=str(x))
        np.testing.assert_allclose(got[[0, 1, 4]], np.array(want)[[0, 1, 4]], rtol=1e-13)


def _von_mises(theta, angles, special, xp):
    """The negative log-likelihood of a von Mises sample in (mu, log kappa), and a regression
    with an inverse-normal link and a gamma-family term that reads negative arguments."""
    mu, kappa = theta[0], xp.exp(theta[1])
    vm = -xp.sum(kappa * xp.cos(angles - mu) - xp.log(special.i0e(kappa)) - kappa)
    probit = xp.sum(special.ndtri(0.5 + 0.4 * xp.tanh(theta[2] * angles)) ** 2)
    return vm + probit + xp.sum(special.gammaln(theta[2] - 3.5 + 0.1 * angles))


@pytest.mark.parametrize("tier", TIERS)
def test_models_against_jax(tier, jax, jnp):
    import jax.scipy.special as jsp
    angles = np.random.default_rng(5).vonmises(0.4, 2.0, size=30 if tier == "array" else 6)
    theta = np.array([0.3, 0.5, 0.8])
    got = symhess.hessian(functools.partial(_von_mises, special=sp, xp=np), tier=tier,
                          check=True)(theta, angles)
    want = np.asarray(jax.hessian(_von_mises)(theta, angles, jsp, jnp))
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11 * np.abs(want).max())


def test_supported_functions_lists_them():
    names = set(symhess.supported_functions())
    for name in ("erfinv", "erfcinv", "ndtri", "erfcx", "polygamma", "loggamma", "i0", "i1",
                 "i0e", "i1e"):
        assert f"scipy.special.{name}" in names
    assert "np.i0" in names


def _nan_in_a_condition(v, w, special, xp):
    u = xp.where(v > 0, v, xp.nan)
    return xp.sum(special.gammaln(xp.where(u < 0.5, v + w, 2 * v + w)) * v)


def test_a_nan_in_a_condition_around_a_kept_whole_function(jax, jnp):
    """SymEngine rebuilt a node whose arguments changed through SymPy, which raises on a
    condition on NaN (NumPy's ``np.where(..., np.nan)``): the process ended. symhess rebuilds its
    nodes itself (`symhess.special_nodes.xreplace`)."""
    import jax.scipy.special as jsp
    v, w = np.array([0.3, 0.7, 1.4]), np.ones(3)
    got = symhess.hessian(functools.partial(_nan_in_a_condition, special=sp, xp=np),
                          tier="scalar")(v, w)
    want = jax.hessian(_nan_in_a_condition)(v, w, jsp, jnp)
    np.testing.assert_allclose(got, want, rtol=1e-12)
