"""NumPy's rounding and remainder functions on traced values (`symhess.foreign.numpy_rounding`):
values equal to NumPy's to the last bit (ties, signs, exact multiples, large quotients),
derivatives against JAX's in both tiers with the cross-check, and the ``%``, ``//`` and
``divmod`` operators."""

import numpy as np
import pytest

import symhess

TIERS = ["scalar", "array"]

# (name, f(a, b) in NumPy, the same in jax.numpy): each smooth in a and b between its jumps
FUNCTIONS = [
    ("floor", lambda np_, a, b: np_.floor(a) * b ** 2),
    ("ceil", lambda np_, a, b: np_.ceil(a) * b ** 2),
    ("trunc", lambda np_, a, b: np_.trunc(a) * b ** 2),
    ("fix", lambda np_, a, b: (np_.fix if np_ is np else np_.trunc)(a) * b ** 2),
    ("rint", lambda np_, a, b: np_.rint(a) * b ** 2),
    ("round", lambda np_, a, b: np_.round(a) * b ** 2),
    ("round 2", lambda np_, a, b: np_.round(a, 2) * b),
    ("round -1", lambda np_, a, b: np_.round(a * 30.0, -1) * b),
    ("around", lambda np_, a, b: (np_.around if np_ is np else np_.round)(a, 1) * b),
    ("remainder", lambda np_, a, b: np_.remainder(a, b) * a),
    ("mod", lambda np_, a, b: np_.mod(a, b) ** 2),
    ("%", lambda np_, a, b: (a % b) ** 2 + (3.5 % b) * a),
    ("fmod", lambda np_, a, b: np_.fmod(a, b) * b),
    ("floor_divide", lambda np_, a, b: np_.floor_divide(a, b) * a * b),
    ("//", lambda np_, a, b: (a // b) * b ** 2 + (7.0 // b) * a),
    ("divmod", lambda np_, a, b: np_.divmod(a, b)[0] * np_.divmod(a, b)[1] ** 2),
]
# ties of rint (half to even), every sign of a remainder, exact multiples, a quotient past 2**52
# (JAX's slope of a remainder in its divisor is -trunc(a / b) of the rounded quotient, which at
# (5.3, 0.1) is not the piece of the value: those points are in the test below)
POINTS = [(2.5, 0.75), (-2.5, 1.25), (3.5, -2.0), (0.625, 3.0), (-7.0, 3.0), (7.0, -3.0),
          (-7.0, -3.0), (6.0, 3.0), (1e10 + 0.3, 0.7), (1e17, 3.0), (0.0049999999999999992, 1.5),
          (-0.015, 2.0), (123.456, 0.0625)]


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("name, fn", FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_values_are_numpys_and_derivatives_jaxs(name, fn, tier, jax, jnp):
    f = lambda v: fn(np, v[0], v[1])
    reference = lambda v: fn(jnp, v[0], v[1])
    compiled = symhess.value_grad_hessian(f, tier=tier, check=True)
    for point in POINTS:
        v = np.array(point)
        value, g, H = compiled(v)
        with np.errstate(all="ignore"):
            want = f(v)
        # (the kernel multiplies in its own order: within a unit in the last place)
        np.testing.assert_allclose(value, want, rtol=4.5e-16, atol=0, err_msg=f"{name} at {point}")
        if not np.isfinite(want):
            continue
        np.testing.assert_allclose(g, jax.grad(reference)(jnp.asarray(v)), rtol=1e-13,
                                   atol=1e-300, err_msg=f"{name} at {point}")
        np.testing.assert_allclose(H, jax.hessian(reference)(jnp.asarray(v)), rtol=1e-13,
                                   atol=1e-300, err_msg=f"{name} at {point}")


BARE = {"floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "rint": np.rint,
        "round -1": lambda a: np.round(a, -1), "round 2": lambda a: np.round(a, 2),
        "remainder": lambda a: np.remainder(a, 0.37), "fmod": lambda a: np.fmod(-3.1, a),
        "floor_divide": lambda a: np.floor_divide(a, -0.37)}


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("name", sorted(BARE))
def test_values_equal_numpys_bit_for_bit(name, tier):
    """Each function alone at 300 points of every magnitude, values equal to NumPy's. (The
    scalar tier prints a division by 10**decimals as a product with its reciprocal, which can
    differ by a unit in the last place.)"""
    fn = BARE[name]
    value_and_grad = symhess.value_and_grad(lambda v: fn(v[0]), tier=tier)
    rng = np.random.default_rng(7)
    points = rng.normal(size=300) * 10.0 ** rng.integers(-4, 12, 300)
    points[:6] = [0.5, -0.5, 2.5, 0.125, -3.1, 0.37 * 7]
    got = np.array([value_and_grad(np.array([p]))[0] for p in points])
    if tier == "scalar" and name == "round 2":
        np.testing.assert_allclose(got, fn(points), rtol=2.3e-16, atol=0)
    else:
        np.testing.assert_array_equal(got, fn(points))


@pytest.mark.parametrize("tier", TIERS)
def test_remainder_slope_in_the_divisor_is_minus_the_quotient_of_the_values_piece(tier):
    """d/db (a mod b) = -floor(a / b) of the piece NumPy's value is on: at exact multiples, and
    where a / b rounds up to an integer the value's piece does not reach (5.3 / 0.1 is 53.0,
    np.remainder(5.3, 0.1) is 5.3 - 52 * 0.1); against NumPy's own quotient and against
    finite differences on the side that piece extends to."""
    a = np.array([6.0, -7.0, 7.3, 5.3, 0.3, 3.5, -5.3])
    b = np.array([3.0, 3.0, -2.0, 0.1, 0.1, 0.1, 0.1])
    n = len(a)
    for name, fn in [("remainder", np.remainder), ("fmod", np.fmod)]:
        g = symhess.grad(lambda v: np.sum(fn(v[:n], v[n:])), tier=tier)(np.concatenate([a, b]))
        np.testing.assert_array_equal(g[:n], 1.0)
        quotient = np.floor_divide(a, b) if fn is np.remainder else np.trunc(
            np.rint((a - np.fmod(a, b)) / b))
        np.testing.assert_array_equal(g[n:], -quotient, err_msg=name)
        for k in range(n):
            step = 1e-7 * (-np.sign(a[k] / b[k]) if fn(a[k], b[k]) == 0 else 1.0)
            slope = (fn(a[k], b[k] + step) - fn(a[k], b[k])) / step
            assert slope == pytest.approx(g[n + k], rel=1e-6, abs=1e-6), (name, k)


@pytest.mark.parametrize("tier", TIERS)
def test_rounding_inside_a_model(tier, jax, jnp):
    """A periodic potential on wrapped coordinates (minimum image, as molecular codes write it)
    against JAX."""
    box = 2.5

    def energy(xp, x):
        d = x[1:] - x[:-1]
        d = d - box * xp.round(d / box)          # minimum image
        return xp.sum(xp.cos(2 * xp.pi * xp.mod(x, box) / box) * x) + xp.sum(d ** 4 - d ** 2)
    x = np.array([0.3, 2.2, 4.9, -1.1, 7.4])
    H = symhess.hessian(lambda x: energy(np, x), tier=tier, check=True)(x)
    want = jax.hessian(lambda x: energy(jnp, x))(jnp.asarray(x))
    np.testing.assert_allclose(H, want, rtol=1e-12, atol=1e-12)
