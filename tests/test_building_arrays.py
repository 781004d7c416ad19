"""Arrays built from traced values with NumPy's constructors (``np.array([x[0], x[1] ** 2])``,
``np.asarray`` of a list, ``np.r_``, ``np.c_``, ``np.append`` of a list, ``np.sum`` of a list):
Hessians and gradients against JAX's, with the cross-check, and the conversions that stay
refused."""

import numpy as np
import pytest

import symhess
from symhess.errors import TracerConversionError

ARRAY, ASARRAY, ASANYARRAY = np.array, np.asarray, np.asanyarray


def _built(x, xp):
    """Every way of building an array from traced entries that NumPy offers and JAX mirrors."""
    v = xp.array([x[0], x[1] ** 2, xp.sin(x[2])])
    w = xp.asarray([x[0] * x[1], 3.0])
    m = xp.array([[x[0], x[1]], [x[1] * x[2], 2.0]])
    r = xp.r_[x[:2], x[2] ** 3]
    c = xp.c_[x, x ** 2]
    a = xp.append(x, xp.array([x[0] * x[2]]) if xp is not np else [x[0] * x[2]])
    s = sum([x[0], x[1], x[2] ** 2]) if xp is not np else np.sum([x[0], x[1], x[2] ** 2])
    return (xp.sum(xp.exp(v) * x) + xp.sum(w ** 2) + xp.sum((m @ x[:2]) ** 2) + xp.dot(r, r)
            + xp.sum(xp.log(a ** 2 + 1.0)) + xp.sum(xp.tanh(c)) + s ** 3
            + xp.linalg.det(m))


@pytest.mark.parametrize("x", [np.array([0.3, -0.7, 1.1]), np.array([-1.2, 0.4, 0.05])])
def test_arrays_built_from_traced_entries_against_jax(x, jax, jnp):
    got = symhess.hessian(lambda x: _built(x, np), check=True)(x)
    want = np.asarray(jax.hessian(lambda x: _built(x, jnp))(x))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    np.testing.assert_allclose(symhess.grad(lambda x: _built(x, np))(x),
                               np.asarray(jax.grad(lambda x: _built(x, jnp))(x)), rtol=1e-12)


def test_a_copy_by_np_array_takes_item_assignment(jax, jnp):
    """``np.array(x)`` copies traced entries into an object array that takes assignments."""
    def f(x):
        y = np.array(x)
        y[1] = x[0] * x[2]
        return np.sum(y ** 3) + np.prod(np.asarray([y[0], y[1]]))

    def g(x):
        y = x.at[1].set(x[0] * x[2])
        return jnp.sum(y ** 3) + y[0] * y[1]

    x = np.array([0.5, 2.0, -1.5])
    np.testing.assert_allclose(symhess.hessian(f, check=True)(x), jax.hessian(g)(x),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(x, [0.5, 2.0, -1.5])       # the argument is untouched


def test_a_jacobian_of_an_output_built_with_np_array(jax, jnp):
    def f(x):
        return np.array([x[0] * x[1], np.exp(x[1]), x[0] ** 2])

    def g(x):
        return jnp.array([x[0] * x[1], jnp.exp(x[1]), x[0] ** 2])

    x = np.array([0.7, -0.3])
    np.testing.assert_allclose(symhess.jacobian(f)(x), jax.jacobian(g)(x), rtol=1e-13)


@pytest.mark.parametrize("fun, match", [
    (lambda x: np.sum(np.array([x[0], x[1]], dtype=int)), "int"),
    (lambda x: np.sum(np.asarray(x, dtype=np.int32)), "dtype=int32"),
    (lambda x: np.std([x[0], x[1]]), r"np.mean\(np.stack"),
    (lambda x: float(np.array([x[0]])[0]), r"float\(\)"),
])
def test_numbers_are_still_refused(fun, match):
    with pytest.raises(TracerConversionError, match=match):
        symhess.hessian(fun)(np.array([1.0, 2.0]))


def _assigned(x, make=np.empty):
    out = make(3)
    out[0] = x[0] ** 2
    out[1], out[2] = x[1], 1.0
    return np.sum(out)


@pytest.mark.parametrize("make", [np.empty, np.zeros])
def test_item_assignment_into_a_float_array_names_itself(make):
    """NumPy replaces float()'s error with "setting an array element with a sequence" when it
    stores one traced value into a float array; the error says what happened instead."""
    x = np.array([1.0, 2.0])
    with pytest.raises(TracerConversionError, match=r"item assignment into a float array "
                                                    r"\(np.zeros, np.empty\) of a traced value "
                                                    r"x\[0\]\*\*2"):
        symhess.hessian(lambda x: _assigned(x, make))(x)
    with pytest.raises(symhess.UnsupportedFunctionError, match="item assignment of a traced "
                                                               "value into a float array"):
        symhess.hessian(lambda x: _assigned(x, make), tier="array")(x)
    # the same function in NumPy alone: the error is only about tracing
    assert _assigned(x, make) == 1.0 + 2.0 + 1.0


def test_both_tiers_take_np_array_and_np_asarray_of_traced_values(jax, jnp):
    """``x = np.asarray(x)`` at the top of a function and ``np.array`` of traced entries (with a
    floating dtype, or ``ndmin``) trace in the array tier too, on data of any size."""
    X = np.random.default_rng(2).normal(size=(200, 3))

    def f(w, X, xp=np):
        w = xp.asarray(w)
        v = xp.array([w[0] * w[1], w[2] ** 2, 1.0], dtype=float)
        m = xp.array(w, ndmin=2)
        return xp.sum(xp.log1p(xp.exp(X @ v))) + xp.sum(m ** 4)

    w = np.array([0.2, -0.4, 0.3])
    want = np.asarray(jax.hessian(lambda w: f(w, X, jnp))(w))
    for tier in ("array", "scalar"):
        got = symhess.hessian(f, tier=tier, check=True)(w, X)
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11 * np.abs(want).max())
    # NumPy's own constructors again after the traces
    assert np.array is ARRAY and np.asarray is ASARRAY and np.asanyarray is ASANYARRAY


def test_other_threads_build_arrays_with_numpy_itself_during_a_trace():
    import threading

    seen = {}

    def other():
        seen["array"] = np.array([[1, 2], [3, 4]], dtype=np.int8)

    def f(x):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        return np.sum(np.array([x[0] ** 2, x[1]]) ** 2)

    np.testing.assert_allclose(symhess.hessian(f)(np.array([1.0, 2.0])),
                               [[12.0, 0.0], [0.0, 2.0]])
    assert seen["array"].dtype == np.int8 and seen["array"].tolist() == [[1, 2], [3, 4]]
