"""Other libraries' arrays as arguments (JAX arrays, ``array.array``, any object with
``__array__`` such as pandas and xarray objects): read by NumPy once at the call, results as
NumPy arrays, the same numbers as for NumPy arguments; and the errors for what cannot be read."""

import array

import numpy as np
import pytest

import symhess
from symhess.errors import InputTypeError


class Frame:
    """An array-like as pandas and xarray objects are: NumPy reads it through ``__array__``."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


def _f(x, d):
    return np.sum(x ** 3 * d) + np.sum(np.sin(x) * d ** 2)


def _array_likes(jnp):
    return [jnp.array([0.5, 2.0]), array.array("d", [0.5, 2.0]), Frame([0.5, 2.0])]


@pytest.mark.parametrize("k", range(3))
def test_every_transform_reads_array_likes(k, jnp):
    x = _array_likes(jnp)[k]
    ref = np.array([0.5, 2.0])
    for transform, extra in ((symhess.hessian, ()), (symhess.grad, ()), (symhess.hvp, (x,)),
                             (symhess.value_grad_hessian, ())):
        got, want = transform(_f)(x, x, *extra), transform(_f)(ref, ref, *(ref,) * len(extra))
        for g, w in zip(*(t if isinstance(t, tuple) else (t,) for t in (got, want))):
            assert type(g) in (np.ndarray, np.float64)
            np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(symhess.hessian(_f).compile(ref, ref)(x, x),
                                  symhess.hessian(_f)(ref, ref))      # a compiled kernel too
    np.testing.assert_array_equal(symhess.hessian(_f).block(0, 0)(x, x),
                                  symhess.hessian(_f)(ref, ref))


def test_array_likes_in_pytrees_and_keywords(jnp):
    def f(params, data=None):
        return np.sum(params["w"] ** 2 * data) + params["b"] ** 3

    params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(0.5)}
    got = symhess.hessian(f)(params, data=Frame([3.0, 4.0]))
    want = symhess.hessian(f)({"w": np.array([1.0, 2.0]), "b": np.array(0.5)},
                              data=np.array([3.0, 4.0]))
    np.testing.assert_array_equal(got["w"]["w"], want["w"]["w"])
    np.testing.assert_array_equal(got["b"]["b"], want["b"]["b"])


def test_what_numpy_cannot_read_is_named_with_what_to_pass():
    class Unreadable:
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("Can't call numpy() on Tensor that requires grad")

    with pytest.raises(InputTypeError, match=r"argument x of _f is a .*Unreadable that NumPy "
                                             r"cannot read .*requires grad"):
        symhess.hessian(_f)(Unreadable(), np.ones(2))
    with pytest.raises(InputTypeError, match=r"builtins\.object, which is not an array of "
                                             r"numbers: pass a NumPy array"):
        symhess.hessian(_f)(object(), np.ones(2))
