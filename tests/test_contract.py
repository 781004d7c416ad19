"""The contract of `symhess.hessian`, compared with ``jax.hessian`` under the same options.

Each function is written once as ``fun(m, ...)`` for a NumPy-like module ``m``; symhess traces
``fun(numpy, ...)`` and JAX differentiates ``fun(jax.numpy, ...)``.
"""

from __future__ import annotations

import functools
import pathlib
from collections import namedtuple

import numpy as np
import pytest

import symhess
from conftest import assert_tree_close

Params = namedtuple("Params", ["w", "b"])


def jax_hessian(jax, fun, args, **options):
    """``jax.hessian(fun(jax.numpy, ...), **options)(*args)``, with NumPy leaves made JAX arrays."""
    import jax.numpy as jnp
    jargs = jax.tree_util.tree_map(jnp.asarray, args)
    hessian = jax.jit(jax.hessian(functools.partial(fun, jnp), **options))
    return jax.tree_util.tree_map(np.asarray, hessian(*jargs))


def both(jax, fun, args, dtype=np.float64, **options):
    """Symhess's and JAX's Hessians of ``fun`` at ``args``, checked to agree."""
    got = symhess.hessian(functools.partial(fun, np), **options)(*args)
    expected = jax_hessian(jax, fun, args, **options)
    if options.get("has_aux"):
        assert isinstance(got, tuple) and len(got) == 2
        assert_tree_close(got[0], expected[0], dtype)
        assert_tree_close(got[1], expected[1], dtype, path="aux")
    else:
        assert_tree_close(got, expected, dtype)
    return got


RNG = np.random.default_rng(7)
X3 = RNG.uniform(0.5, 1.5, 3)
M23 = RNG.uniform(-1.0, 1.0, (2, 3))


# --- output structure -------------------------------------------------------------------------
def _dict_in_tuple_out(m, p):
    a, b = p["a"], p["b"]
    return (m.sum(a ** 2) * b, m.sin(a) * b ** 2)


def _nested_in_nested_out(m, p):
    w, b = p[0].w, p[0].b
    v = p[1]["v"]
    s = m.sum(w * v) + b ** 3
    return {"s": s, "pair": [m.exp(w) * b, None], "nt": Params(w=v ** 2 * b, b=s * b)}


def test_tree_product_dict_in_tuple_out(jax):
    p = {"b": np.float64(0.7), "a": X3}
    H = both(jax, _dict_in_tuple_out, (p,))
    # A leaf is (out..., in_i..., in_j...): output 1 is (3,), inputs a (3,) and b ().
    assert H[1]["a"]["b"].shape == (3, 3)
    assert H[1]["b"]["a"].shape == (3, 3)
    assert H[1]["a"]["a"].shape == (3, 3, 3)
    assert H[0]["b"]["b"].shape == ()


def test_tree_product_list_namedtuple_none(jax):
    p = [Params(w=X3, b=np.float64(0.4)), {"v": X3[::-1].copy(), "unused": None}]
    H = both(jax, _nested_in_nested_out, (p,))
    assert H["pair"][1] is None
    assert isinstance(H["nt"], Params) and isinstance(H["nt"].w[0], Params)
    assert isinstance(H["s"][0].w[1], dict)
    assert H["nt"].w[0].w[1]["v"].shape == (3, 3, 3)


def test_scalars_zero_d_and_python_float(jax):
    f = lambda m, x, y: m.sin(x) * y ** 3 + x ** 2
    H = both(jax, f, (np.float64(0.3), np.array(1.2)), argnums=(0, 1))
    assert H[0][1].shape == ()
    both(jax, f, (0.3, 1.2), argnums=(0, 1))


@pytest.mark.parametrize("argnums", [0, 1, (0,), (1, 0), (0, 2), (0, 1, 2)])
def test_argnums(jax, argnums):
    f = lambda m, x, y, z: m.sum(x ** 2 * y[:3]) * z + m.prod(y) * m.sum(x) + z ** 3
    H = both(jax, f, (X3, M23.ravel(), np.float64(1.3)), argnums=argnums)
    if isinstance(argnums, tuple):
        assert isinstance(H, tuple) and len(H) == len(argnums)
        assert all(isinstance(row, tuple) and len(row) == len(argnums) for row in H)


def test_negative_argnums():
    f = lambda x, y: np.sum(x * y ** 2)
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_allclose(symhess.hessian(f, argnums=-1)(x, y), 2 * np.diag(x))


def test_has_aux(jax):
    def f(m, x, y):
        value = m.sum(m.exp(x) * y)
        return value, {"value": value, "scaled": 2.0 * x}
    x, y = X3, X3 ** 2
    H, aux = both(jax, f, (x, y), has_aux=True)
    np.testing.assert_allclose(aux["value"], np.sum(np.exp(x) * y), rtol=1e-14)
    # aux follows new data with the same shapes
    H2, aux2 = symhess.hessian(functools.partial(f, np), has_aux=True)(x + 1.0, y)
    np.testing.assert_allclose(aux2["scaled"], 2.0 * (x + 1.0), rtol=1e-14)
    np.testing.assert_allclose(H2, np.diag(np.exp(x + 1.0) * y), rtol=1e-12)


@pytest.mark.parametrize("returned", ["scalar", "triple"])
def test_has_aux_without_a_pair_raises(returned):
    def f(x):
        s = np.sum(x ** 2)
        return s if returned == "scalar" else (s, s, s)
    with pytest.raises(symhess.HasAuxError, match=r"(?i)pair") as info:
        symhess.hessian(f, has_aux=True)(X3)
    assert "has_aux" in str(info.value)


def test_holomorphic_complex(jax):
    f = lambda m, z, w: m.sum(m.exp(z[:2]) * w ** 3) + m.sum(z ** 2) * w[0]
    z = X3 + 0.5j * X3[::-1]
    w = np.array([0.3 - 0.2j, 1.1 + 0.4j])
    H = both(jax, f, (z, w), dtype=np.complex128, argnums=(0, 1), holomorphic=True)
    assert H[0][1].dtype == np.complex128 and H[0][1].shape == (3, 2)


def test_holomorphic_complex64_stays_complex64(jax):
    f = lambda m, z: m.sum(m.sin(z) * z)
    z = (X3 + 0.5j).astype(np.complex64)
    got = symhess.hessian(functools.partial(f, np), holomorphic=True)(z)
    assert got.dtype == np.complex64
    expected = jax_hessian(jax, f, (z.astype(np.complex128),), holomorphic=True)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("value, dtype_name", [
    (np.array([1.0 + 1j, 2.0]), "complex128"),
    (np.array([1, 2], dtype=np.int64), "int64"),
    (np.array([1, 2], dtype=np.int32), "int32"),
    (np.array([True, False]), "bool"),
    (np.float32(2) + np.complex64(1j), "complex64"),
])
def test_non_float_inputs_to_differentiate_raise_type_error(value, dtype_name):
    with pytest.raises(TypeError, match=dtype_name):
        symhess.hessian(lambda x: np.sum(x * x))(value)


def test_holomorphic_with_real_input_raises_type_error():
    with pytest.raises(TypeError, match="float64"):
        symhess.hessian(lambda x: np.sum(x ** 3), holomorphic=True)(X3)


def test_integer_argument_outside_argnums_is_fine():
    f = lambda x, n: np.sum(x ** 3 * n)
    n = np.array([1, 2, 3])
    np.testing.assert_allclose(symhess.hessian(f)(X3, n), np.diag(6 * X3 * n), rtol=1e-14)


@pytest.mark.parametrize("dtypes, expected", [
    ((np.float32, np.float32), np.float32),
    ((np.float32, np.float64), np.float64),
    ((np.float64, np.float32), np.float64),
])
def test_dtype_follows_the_inputs(jax, dtypes, expected):
    f = lambda m, x, y: m.sum(m.sin(x) * y ** 2)
    x, y = X3.astype(dtypes[0]), X3[::-1].astype(dtypes[1])
    got = symhess.hessian(functools.partial(f, np), argnums=(0, 1))(x, y)
    ref = jax_hessian(jax, f, (x.astype(np.float64), y.astype(np.float64)), argnums=(0, 1))
    for i in range(2):
        for j in range(2):
            assert got[i][j].dtype == expected
    assert_tree_close(got, ref, np.dtype(expected))


def test_python_scalar_does_not_promote_float32():
    got = symhess.hessian(lambda x, s: np.sum(x ** 3) * s)(X3.astype(np.float32), 2.0)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.diag(12 * X3), rtol=1e-5)


# --- runtime inputs, retracing and static arguments -------------------------------------------
class Counted:
    """A function that counts how often it is traced (has_aux=False: only tracing calls it)."""

    def __init__(self, fun):
        self.fun, self.calls = fun, 0
        functools.update_wrapper(self, fun)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fun(*args, **kwargs)


def _kernel_files(cache_dir):
    import pathlib
    return sorted(p.name for p in pathlib.Path(cache_dir).glob("k*.py"))


def test_runtime_arguments_do_not_recompile(jax, cache_dir):
    def f(m, x, p, q):
        return m.sum(p["scale"] * x ** 3) + q * m.sum(m.sin(x) * p["shift"])
    fun = Counted(functools.partial(f, np))
    H = symhess.hessian(fun)
    x = X3
    args1 = (x, {"scale": np.array([1.0, 2.0, 3.0]), "shift": np.array([0.1, 0.2, 0.3])}, 0.5)
    args2 = (x + 0.25, {"scale": np.array([-1.0, 0.5, 4.0]), "shift": np.array([1.0, -2.0, 3.0])}, -2.0)
    assert_tree_close(H(*args1), jax_hessian(jax, f, args1))
    compiled = H.compile(*args1)
    kernel = compiled.kernel
    files = _kernel_files(cache_dir)
    objects = sorted(pathlib.Path(cache_dir).glob("__pycache__/*.o"))
    assert_tree_close(H(*args2), jax_hessian(jax, f, args2))
    assert fun.calls == 1
    assert H.compile(*args2) is compiled
    assert compiled.kernel is kernel
    assert _kernel_files(cache_dir) == files
    assert sorted(pathlib.Path(cache_dir).glob("__pycache__/*.o")) == objects
    jitted = getattr(kernel, "func", kernel)   # with element tables, a partial of the kernel
    if hasattr(jitted, "signatures"):
        assert len(jitted.signatures) == 1      # Numba compiled one machine-code version
    else:
        assert type(jitted).__name__ == "builtin_function_or_method" and objects  # native


def test_changed_shape_dtype_or_tree_retraces(jax):
    def f(m, p):
        return m.sum(m.exp(p["a"]) * p["a"]) * m.sum(p["b"] ** 2)
    fun = Counted(functools.partial(f, np))
    H = symhess.hessian(fun)
    cases = [
        {"a": X3, "b": X3[:2]},
        {"a": X3, "b": X3[:2] + 1.0},                                    # same signature
        {"a": X3[:2], "b": X3[:2]},                                      # new shape
        {"a": X3.astype(np.float32), "b": X3[:2].astype(np.float32)},   # new dtype
        {"a": X3, "b": X3[:2], "c": X3},                                 # new tree structure
    ]
    traces = []
    for p in cases:
        got = H(p)
        dtype = np.float32 if p["a"].dtype == np.float32 else np.float64
        ref = jax_hessian(jax, f, (jax.tree_util.tree_map(lambda v: v.astype(np.float64), p),))
        assert_tree_close(got, ref, np.dtype(dtype))
        traces.append(fun.calls)
    assert traces == [1, 1, 2, 3, 4]


def test_static_argnums_is_configuration(jax):
    def f(m, mode, n, x):
        y = x ** 3 if mode == "cube" else m.sin(x)
        return m.sum(y[:n] * m.arange(1, n + 1))
    fun = Counted(functools.partial(f, np))
    H = symhess.hessian(fun, argnums=2, static_argnums=(0, 1))
    for mode, n in [("cube", 3), ("sin", 3), ("cube", 2), ("cube", 3)]:
        ref = jax_hessian(jax, lambda m, x: f(m, mode, n, x), (X3,))
        assert_tree_close(H(mode, n, X3), ref)
    assert fun.calls == 3                       # the repeated ("cube", 3) reuses its kernel


def test_static_argnums_hashes_by_value():
    f = Counted(lambda k, x: np.sum(x ** k[0]) * k[1])
    H = symhess.hessian(f, argnums=1, static_argnums=0)
    np.testing.assert_allclose(H((3, 2.0), X3), np.diag(12 * X3), rtol=1e-14)
    np.testing.assert_allclose(H((3, 2.0), X3), np.diag(12 * X3), rtol=1e-14)
    np.testing.assert_allclose(H((2, 1.0), X3), 2 * np.eye(3), rtol=1e-14)
    assert f.calls == 2


def test_static_array_is_refused_as_unhashable():
    """A static argument is part of the cache key, so it must be hashable: an array is refused
    on the first call (as jax.jit refuses it), never cached by identity to give a stale answer."""
    H = symhess.hessian(lambda s, x: np.sum(s * x ** 3), argnums=1, static_argnums=0)
    for s in (np.array([1.0, 1.0, 1.0]), np.array([5.0, 5.0, 5.0])):
        with pytest.raises(TypeError, match="must be hashable"):
            H(s, X3)
    # the hashable spelling of the same configuration works, and follows its value
    H = symhess.hessian(lambda s, x: np.sum(np.array(s) * x ** 3), argnums=1, static_argnums=0)
    np.testing.assert_allclose(H((1.0, 1.0, 1.0), X3), np.diag(6 * X3), rtol=1e-14)
    np.testing.assert_allclose(H((5.0, 5.0, 5.0), X3), np.diag(30 * X3), rtol=1e-14)


def test_static_argument_after_the_runtime_arguments():
    H = symhess.hessian(lambda x, k: np.sum(x ** k), static_argnums=1)
    np.testing.assert_allclose(H(X3, 3), np.diag(6 * X3), rtol=1e-14)


def test_strict_mode_names_unused_input():
    f = lambda x, y: np.sum(x ** 3)
    with pytest.raises(symhess.StrictModeError, match=r"\by\b"):
        symhess.hessian(f, argnums=(0, 1), strict=True)(X3, np.array([1.0, 2.0]))
    g = lambda p: np.sum(p["used"] ** 2)
    with pytest.raises(symhess.StrictModeError, match="unused"):
        symhess.hessian(g, strict=True)({"used": X3, "unused": X3})


def test_strict_mode_accepts_inputs_with_an_effect(jax):
    f = lambda m, x, y: m.sum(x ** 3) + m.sum(y)           # y enters linearly: still an effect
    H = symhess.hessian(functools.partial(f, np), argnums=(0, 1), strict=True)(X3, X3[:2])
    assert_tree_close(H, jax_hessian(jax, f, (X3, X3[:2]), argnums=(0, 1)))


def test_unused_input_gives_zero_blocks_by_default(jax):
    f = lambda m, x, y: m.sum(x ** 3)
    y = np.array([1.0, 2.0])
    H = both(jax, f, (X3, y), argnums=(0, 1))
    assert H[1][1].shape == (2, 2) and not H[1][1].any()
    assert H[0][1].shape == (3, 2) and not H[0][1].any()


def test_closure_constants(jax):
    weights = np.array([0.5, -1.0, 2.0])
    scale = 1.75

    def f(m, x):
        return scale * m.sum(weights * x ** 3) + np.pi * m.sum(m.cos(x) * weights[::-1])
    both(jax, f, (X3,))


def test_keyword_arguments_are_runtime_inputs(jax):
    def f(x, *, w):
        return np.sum(w * np.exp(x))
    fun = Counted(f)
    H = symhess.hessian(fun)
    for w in (X3, -2.0 * X3):
        np.testing.assert_allclose(H(X3, w=w), np.diag(w * np.exp(X3)), rtol=1e-13)
    assert fun.calls == 1


def test_vector_output_leaf_shapes():
    f = lambda x, y: np.outer(x, y) ** 2
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    H = symhess.hessian(f, argnums=(0, 1))(x, y)
    assert H[0][0].shape == (2, 3, 2, 2)
    assert H[0][1].shape == (2, 3, 2, 3)
    assert H[1][0].shape == (2, 3, 3, 2)
    assert H[1][1].shape == (2, 3, 3, 3)
    # d2 (x_i y_j)^2 / dx_i dy_j = 4 x_i y_j
    for i in range(2):
        for j in range(3):
            assert H[0][1][i, j, i, j] == pytest.approx(4 * x[i] * y[j])
            assert H[1][0][i, j, j, i] == pytest.approx(4 * x[i] * y[j])
            assert H[0][0][i, j, i, i] == pytest.approx(2 * y[j] ** 2)
