"""Errors: each names the value or function involved and says what to do instead."""

from __future__ import annotations

import math

import numpy as np
import pytest

import symhess

X = np.array([0.5, -1.5, 2.0])


def hess(fun, *args, **options):
    return symhess.hessian(fun, **options)(*(args or (X,)))


def test_every_error_is_a_symhess_error_and_a_builtin():
    pairs = [(symhess.TracerBoolConversionError, TypeError),
             (symhess.TracerConversionError, TypeError),
             (symhess.TracerIndexError, IndexError),
             (symhess.UnsupportedFunctionError, NotImplementedError),
             (symhess.InputTypeError, TypeError), (symhess.HasAuxError, TypeError),
             (symhess.StrictModeError, ValueError)]
    for cls, builtin in pairs:
        assert issubclass(cls, symhess.SymhessError) and issubclass(cls, builtin), cls


# --- control flow and conversions -----------------------------------------------------------------
@pytest.mark.parametrize("fun, shown", [
    (lambda x: x[0] ** 2 if x[0] > 0 else x[1], "x[0]"),
    (lambda x: x[1] if x[1] else x[0], "x[1]"),
    (lambda x: x[0] if bool(x[2] * x[0] < 1) else x[1], "x[2]"),
    (lambda x: x[0] if x else x[1], "shape (3,)"),
    (lambda x: x[0] if (x[0] > 0) and (x[1] > 0) else x[2], "x[0]"),
])
def test_python_if_on_traced_value(fun, shown):
    with pytest.raises(symhess.TracerBoolConversionError) as info:
        hess(fun)
    message = str(info.value)
    assert shown in message
    assert "np.where" in message and "static_argnums" in message


def test_python_while_on_traced_value():
    def f(x):
        y = x[0]
        while y < 10.0:
            y = y * 2.0
        return y
    with pytest.raises(symhess.TracerBoolConversionError, match="np.where"):
        hess(f)


def test_if_on_a_known_condition_is_allowed():
    """A condition that does not depend on the inputs is decided while tracing."""
    def f(x):
        c = np.sum(np.ones(3) * 2.0)
        return np.sum(x ** 3) if c > 5 else np.sum(x ** 2)
    np.testing.assert_allclose(hess(f), np.diag(6 * X), rtol=1e-14)


@pytest.mark.parametrize("fun, what", [
    (lambda x: math.exp(x[0]), "math"),
    (lambda x: math.sin(x[1]) * x[0], "math"),
    (lambda x: float(x[0]) * x[1], "float()"),
    (lambda x: np.sum(np.array(x, dtype=int) ** 2), "dtype=int64"),
    (lambda x: np.mean([x[0], x[1]]), "np.mean(np.stack"),
])
def test_conversion_of_traced_value(fun, what):
    with pytest.raises(symhess.TracerConversionError) as info:
        hess(fun)
    message = str(info.value)
    assert what in message
    assert "x[" in message                    # names the value
    assert "np.stack" in message              # and what to use instead


@pytest.mark.parametrize("fun", [
    lambda x: x[x[0]],
    lambda x: x[1:x[0]],
    lambda x: np.sum(np.ones(x[0])),
    lambda x: sum(x[:1] for _ in range(x[2])),
    lambda x: [1.0, 2.0, 3.0][x[0]] * x[1],
], ids=["index", "slice", "shape", "range", "list-index"])
def test_traced_value_as_index_or_size(fun):
    with pytest.raises(symhess.TracerIndexError) as info:
        hess(fun)
    message = str(info.value)
    assert "x[" in message and "static_argnums" in message


# --- unsupported functions ------------------------------------------------------------------------
@pytest.mark.parametrize("fun, name", [
    (lambda x: np.sum(np.fft.fft(x).real), "np.fft.fft"),
    (lambda x: np.sum(np.unique(x) * X), "np.unique"),
    (lambda x: np.sum(np.linalg.eig(np.outer(x, x))[0].real), "np.linalg.eig"),
    (lambda x: np.sum(np.linalg.svd(np.outer(x, x))[1]), "np.linalg.svd"),
    (lambda x: x[np.argsort(x)], "np.argsort"),
    (lambda x: np.sum(np.nextafter(x, 2.0)), "np.nextafter"),
    (lambda x: np.sum(np.add(x, 1.0, out=np.empty(3))), "out="),
    (lambda x: np.sum(np.where(x > 0)), "np.where with one argument"),
    (lambda x: np.sum(np.linalg.pinv(np.outer(x, x))), "np.linalg.pinv"),
])
def test_unsupported_function_is_named(fun, name):
    with pytest.raises(symhess.UnsupportedFunctionError) as info:
        hess(fun)
    message = str(info.value)
    assert name in message
    assert "supported_functions" in message


@pytest.mark.parametrize("fun, name", [
    (lambda z: np.sum(np.abs(z) * z), "np.absolute"),
    (lambda z: np.sum(np.maximum(z, 0.0) * z), "np.maximum"),
    (lambda z: np.sum(np.real(z) ** 2), "np.real"),
    (lambda z: np.sum(np.where(z > 0, z, z ** 2)), "np.greater"),
])
def test_non_holomorphic_function_with_holomorphic_true(fun, name):
    with pytest.raises(symhess.UnsupportedFunctionError, match="holomorphic") as info:
        hess(fun, X + 0.5j, holomorphic=True)
    assert name in str(info.value)


def test_supported_functions_lists_the_table():
    names = symhess.supported_functions()
    for name in ("np.exp", "np.sum", "np.einsum", "np.linalg.det", "np.where", "np.matmul"):
        assert name in names
    assert "np.unique" not in names and "np.fft.fft" not in names


# --- arguments ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, shown", [
    ("text", "str"), (object(), "object"), ({"a": "text"}, "str"),
    ([np.ones(2), None, "text"], "str"), (np.array(["a", "b"]), "<U1"),
])
def test_non_numeric_argument(value, shown):
    f = lambda x, y: np.sum(x ** 3)
    with pytest.raises(TypeError) as info:
        hess(f, X, value)
    message = str(info.value)
    assert shown in message and "y" in message
    assert isinstance(info.value, symhess.SymhessError)


def test_non_numeric_argument_to_differentiate():
    with pytest.raises(symhess.InputTypeError, match="str"):
        hess(lambda x: x, "text")


@pytest.mark.parametrize("argnums, error, match", [
    ("0", TypeError, "argnums"),
    (1.0, TypeError, "argnums"),
    (True, TypeError, "argnums"),
    ((0, "1"), TypeError, "argnums"),
    ((), ValueError, "empty"),
    (2, ValueError, "argument 2"),
    (-3, ValueError, "argument -3"),
    ((0, 0), ValueError, "repeats"),
])
def test_bad_argnums(argnums, error, match):
    with pytest.raises(error, match=match):
        symhess.hessian(lambda x, y: np.sum(x * y), argnums=argnums)(X, X)


def test_argnums_also_static():
    with pytest.raises(ValueError, match="static_argnums"):
        symhess.hessian(lambda x, y: np.sum(x * y), argnums=(0, 1), static_argnums=1)(X, 2.0)


def test_bad_static_argnums_type():
    with pytest.raises(TypeError, match="static_argnums"):
        symhess.hessian(lambda x, y: np.sum(x), static_argnums="1")


@pytest.mark.parametrize("static", [[1, 2], {"k": 1}, np.array([1.0, 2.0])],
                         ids=["list", "dict", "ndarray"])
def test_unhashable_static_argument(static):
    H = symhess.hessian(lambda s, x: np.sum(x ** 3), argnums=1, static_argnums=0)
    with pytest.raises(TypeError, match="hashable"):
        H(static, X)


def test_not_callable():
    with pytest.raises(TypeError, match="callable"):
        symhess.hessian(np.ones(3))


def test_non_numeric_output():
    with pytest.raises(TypeError, match="str"):
        hess(lambda x: (np.sum(x ** 2), "label"))


# --- a compiled object serves one signature ------------------------------------------------

def _rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _rosenbrock_hessian(x):
    """The closed form: tridiagonal."""
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        H[i + 1, i + 1] += 200.0
        H[i, i + 1] = H[i + 1, i] = -400.0 * x[i]
    return H


@pytest.mark.parametrize("bad", [np.ones(5), np.ones(12), np.ones((2, 5))])
def test_compiled_object_refuses_another_shape(bad):
    compiled = symhess.hessian(_rosenbrock).compile(np.ones(10))
    with pytest.raises(ValueError, match=r"input 0 \(x\) has the wrong shape; it takes \(10,\)"):
        compiled(bad)


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_compiled_object_converts_other_dtypes_to_its_own(dtype):
    x = (np.arange(10) % 3).astype(dtype)
    got = symhess.hessian(_rosenbrock).compile(np.ones(10))(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _rosenbrock_hessian(x.astype(np.float64)), rtol=1e-13)


def test_compiled_object_names_its_signature_for_arguments_it_cannot_take():
    compiled = symhess.hessian(_rosenbrock).compile(np.ones(10))
    with pytest.raises(symhess.InputTypeError, match=r"takes \(x: float64\[10\]\); got \(str\)"):
        compiled("ten numbers")


def test_compiled_object_takes_any_layout_of_its_signature():
    x = np.linspace(0.5, 1.5, 20)[::2]                 # a strided view
    compiled = symhess.hessian(_rosenbrock).compile(np.ones(10))
    np.testing.assert_allclose(compiled(x), _rosenbrock_hessian(x), rtol=1e-13)


def test_compiled_hvp_refuses_a_tangent_of_another_shape():
    compiled = symhess.hvp(_rosenbrock).compile(np.ones(10), np.ones(10))
    x = np.linspace(0.5, 1.5, 10)
    np.testing.assert_allclose(compiled(x, np.ones(10)), _rosenbrock_hessian(x) @ np.ones(10))
    with pytest.raises(ValueError, match=r"input 1 \(v\) has the wrong shape"):
        compiled(x, np.ones(5))


def test_compiled_batch_refuses_points_of_another_shape():
    compiled = symhess.hessian(lambda F: np.sum(F ** 3), batch_axis=0).compile(np.ones((4, 3, 3)))
    with pytest.raises(ValueError, match=r"input 0 \(F\) has the wrong shape; it takes \(3, 3\) per point"):
        compiled(np.ones((4, 2, 3)))
