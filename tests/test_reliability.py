"""Reliability: inputs and functions that once gave wrong numbers or unclear errors.

Every result is compared with an independent reference (a closed form or JAX); every error is
checked for the class and for the words that name the value and the fix.
"""

import numpy as np
import pytest

import symhess
from symhess import errors, pytree


# --- dict keys that print alike -----------------------------------------------------------------
def test_distinct_nan_keys_are_distinct_leaves():
    k1, k2 = float("nan"), float("nan")
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    d = {k1: a, k2: b}
    leaves, tree = pytree.flatten(d)
    # Keys are sorted as JAX sorts them; NaNs compare unequal to everything, so a stable sort
    # keeps them in insertion order.
    assert leaves[0] is a and leaves[1] is b
    x, y = k1, k2

    def f(p):
        return np.sum(p[x] ** 2) + np.sum(p[y] ** 3)
    H = symhess.hessian(f)(d)
    px, py = d[x], d[y]
    np.testing.assert_array_equal(H[x][x], np.diag(2.0 + 0 * px))
    np.testing.assert_array_equal(H[y][y], np.diag(6.0 * py))
    np.testing.assert_array_equal(H[x][y], np.zeros((len(px), len(py))))
    assert len(set(tree.paths())) == 2


def test_paths_are_unique_per_leaf_whatever_the_keys():
    class Key:
        def __init__(self, n):
            self.n = n

        def __lt__(self, other):
            return self.n < other.n

        def __repr__(self):
            return "key"
    tree = pytree.flatten({Key(1): 1.0, Key(2): {Key(3): 2.0, Key(4): 3.0}, Key(5): 4.0})[1]
    paths = tree.paths()
    assert len(set(paths)) == len(paths) == 4


# --- conditions used as numbers, the remainder, verbose progress --------------------------------
CONDITIONS = {
    "count plus zero": (lambda xp: lambda x, y: xp.sum(x < y) + 0.0, 3),
    "count times one plus squares": (lambda xp: lambda x, y: xp.sum(x > 0) * 1.0 + xp.sum(x ** 2), 3),
    "indicator times cube": (lambda xp: lambda x, y: xp.sum((x > y) * x ** 3), 4),
    "lazy indicator": (lambda xp: lambda x, y: xp.sum((x[1:] > x[:-1]) * x[1:] ** 2 * y[0]), 300),
}


@pytest.mark.parametrize("name", sorted(CONDITIONS))
def test_a_condition_used_as_a_number_has_zero_derivative(jax, jnp, name):
    make, n = CONDITIONS[name]
    x = np.sin(np.arange(n) * 1.3) + 0.1
    y = np.cos(np.arange(n) * 0.7)
    got = symhess.hessian(make(np))(x, y)
    expected = jax.hessian(make(jnp))(x, y)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", [lambda x: x % 2.0, lambda x: 2.0 % x, lambda x: x // 0.7],
                         ids=["x % c", "c % x", "x // c"])
def test_the_remainder_and_floor_division_take_the_piece_of_the_point(op, jax, jnp):
    """``%`` and ``//`` of traced values, values NumPy's, derivatives those of the piece each
    entry lies in, as JAX's (in the tier the default picks and in the scalar one)."""
    x = np.array([0.3, 2.5, -1.75, 5.0, 0.7])
    f = lambda x: np.sum(op(x) * x ** 2)
    want = np.asarray(jax.hessian(lambda x: jnp.sum(op(x) * x ** 2))(x))
    for tier in ("auto", "scalar"):
        value, g, H = symhess.value_grad_hessian(f, tier=tier)(x)
        np.testing.assert_allclose(value, f(x), rtol=1e-15)
        np.testing.assert_allclose(H, want, rtol=1e-13, atol=1e-13)


def test_verbose_reports_stages_when_stderr_is_not_a_terminal(tmp_path):
    import os
    import subprocess
    import sys
    code = ("import numpy as np, symhess\n"
            "print(symhess.hessian(lambda x: np.sum(x ** 4))(np.array([1.0, 2.0]))[1, 1])\n")
    env = dict(os.environ, SYMHESS_VERBOSE="1", SYMHESS_CACHE_DIR=str(tmp_path))
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) == 48.0
    lines = [line for line in run.stderr.splitlines() if line.startswith("[symhess]")]
    assert any(": trace..." in line for line in lines), run.stderr
    assert "compiled in" in lines[-1] and "\r" not in run.stderr


# --- compiled objects: arguments and dtypes ---------------------------------------------------
def cubes(x, y):
    return np.sum(x ** 3 * y)


def cubes_hessian(x, y):
    return np.diag(6.0 * np.asarray(x, dtype=np.float64) * np.asarray(y, dtype=np.float64))


@pytest.mark.parametrize("args", [(), (np.ones(2),), (np.ones(2), np.ones(2), np.ones(2))],
                         ids=["none", "too few", "too many"])
def test_a_compiled_hessian_refuses_other_arguments(args):
    c = symhess.hessian(cubes).compile(np.ones(2), np.ones(2))
    with pytest.raises(errors.ArgumentCountError, match=r"compiled for \(x, y\); got "
                                                        f"{len(args)} positional"):
        c(*args)
    with pytest.raises(errors.ArgumentCountError, match="keyword"):
        c(np.ones(2), np.ones(2), z=1.0)


@pytest.mark.parametrize("dtype", ["<f8", ">f8", ">f4", "float16"])
def test_dtypes_are_converted_and_rounded(dtype):
    x = np.array([0.5, 1.25, 2.0], dtype=dtype)
    y = np.array([3.0, -1.0, 0.25], dtype=dtype)
    H = symhess.hessian(cubes)
    for _ in range(2):                        # the first call compiles, the second is the fast path
        got = H(x, y)
        assert got.dtype == np.dtype(dtype).newbyteorder("=")
        np.testing.assert_allclose(got, cubes_hessian(x, y).astype(got.dtype), rtol=1e-3)
    np.testing.assert_array_equal(H.compile(x, y)(x, y), got)
    # after a native float64 call, a big-endian array must not take the fast path unconverted
    H(np.array(x, dtype="<f8"), np.array(y, dtype="<f8"))
    np.testing.assert_array_equal(H(x, y), got)


def test_extended_precision_is_refused_with_the_supported_dtypes():
    x = np.ones(2, dtype=np.longdouble)
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("longdouble is double on this platform")
    with pytest.raises(errors.InputTypeError, match="float32, float64.*astype"):
        symhess.hessian(cubes)(x, np.ones(2))


@pytest.mark.parametrize("axis", [1.5, (0,), (0, 1), True])
def test_batch_axis_is_one_int(axis):
    with pytest.raises(TypeError, match="batch_axis must be an int .* or None; got"):
        symhess.hessian(cubes, batch_axis=axis)


# --- expression growth ---------------------------------------------------------------------------
def nested(xp, depth):
    def f(v):
        u = v[0] * v[1]
        for _ in range(depth):
            u = xp.sin(u)
        return u
    f.__name__ = f"nested_sin_{depth}"
    return f


def test_deep_nesting_stops_quickly_with_a_clear_error(caplog):
    """The growth is refused while differentiating: CSE, code generation and Numba's compile
    (minutes and gigabytes for this Hessian) never start."""
    import logging
    with caplog.at_level(logging.DEBUG, logger="symhess"):
        with pytest.raises(errors.ExpressionGrowthError) as info:
            symhess.hessian(nested(np, 1000))(np.array([0.3, 0.4]))
    stages = {r.getMessage().split(": ", 1)[1].rsplit(" took ", 1)[0]
              for r in caplog.records if " took " in r.getMessage()}
    assert "differentiate" in stages, stages
    assert not stages & {"CSE", "emit", "cache", "compile"}, stages
    message = str(info.value)
    assert "nested_sin_1000" in message and "jax.hessian" in message
    assert info.value.size > info.value.limit


@pytest.mark.parametrize("case", ["nested 20", "product of 40",
                                  pytest.param("log of a long sum", marks=pytest.mark.slow)])
def test_ordinary_functions_are_not_refused(jax, jnp, case):
    make, x = {
        "nested 20": (lambda xp: nested(xp, 20), np.array([0.3, 0.4])),
        "product of 40": (lambda xp: lambda x: xp.prod(x), np.linspace(0.9, 1.1, 40)),
        "log of a long sum": (lambda xp: lambda x: xp.log(xp.sum(x ** 2) + 1.0) ** 2,
                              np.linspace(-1.0, 1.0, 60)),
    }[case]
    got = symhess.hessian(make(np))(x)
    np.testing.assert_allclose(got, jax.hessian(make(jnp))(x), rtol=1e-10, atol=1e-12)
