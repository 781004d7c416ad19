"""Real functions of real arguments that compute through complex numbers (``x + 1j * y``,
``np.exp(1j * t)``), against ``jax.hessian``; `symhess.complex_parts` takes the parts, and the
cross-check's jets take them too.

``np.imag`` of such a value was 0 (a Hessian of zeros, no error), and ``np.abs``, ``np.real``
and ``np.conj`` of one ended in the code generator.
"""

import numpy as np
import pytest

import symhess
from symhess import autodiff
from symhess.errors import OperandTypeError, UnsupportedFunctionError

X = np.array([0.3, 1.2, -0.7, 0.45])


def cases(xp):
    def z(x):
        return x[0] + 1j * x[1]
    return {
        "imag": lambda x: xp.imag(z(x) * (x[2] - 1j * x[3])) * x[2] ** 2,
        "real-exp": lambda x: xp.real(xp.exp(1j * x[0] * x[3]) * z(x)) * x[1],
        "abs": lambda x: xp.abs(z(x) ** 3 - x[2]) * x[3],
        "angle": lambda x: xp.angle(z(x) / (x[2] + 1j * x[3])) * x[0],
        "conj": lambda x: xp.real(z(x) * xp.conj(z(x)) * xp.exp(1j * x[2])) + x[3] ** 3,
        "log-sqrt": lambda x: xp.imag(xp.log(z(x)) + xp.sqrt(x[2] + 1j * x[3])) * x[0],
        "trig": lambda x: xp.real(xp.sin(z(x)) * xp.cosh(z(x)) + xp.cos(1j * x[2])
                                  - xp.sinh(x[3] - 2j * x[0])),
        "powers": lambda x: xp.real(z(x) ** -2 + z(x) ** 2.5 + (x[2] + 1j) ** (0.5 + 0.5j)),
        "arrays": lambda x: xp.sum(xp.abs(xp.fft.fft(x) if xp is not np else _dft(x)) ** 2),
    }


def _dft(x):
    """The discrete Fourier transform as a product with the DFT matrix (np.fft has no rule)."""
    n = x.shape[0]
    k = np.arange(n)
    return np.exp(-2j * np.pi * np.outer(k, k) / n) @ x


@pytest.mark.parametrize("name", list(cases(np)))
@pytest.mark.parametrize("tier", ["auto", "scalar"])
def test_against_jax(jax, jnp, name, tier):
    want = jax.hessian(cases(jnp)[name])(jnp.asarray(X))
    got = symhess.hessian(cases(np)[name], tier=tier, check=True)(X)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", list(cases(np)))
def test_the_cross_check_takes_the_parts_too(jax, jnp, name):
    """The cross-check's jets of a complex value of real variables: their parts are the jets of
    the value's parts."""
    want = jax.hessian(cases(jnp)[name])(jnp.asarray(X))
    np.testing.assert_allclose(autodiff.hessian(cases(np)[name])(X), want, rtol=1e-10,
                               atol=1e-10)


def test_a_complex_output_of_real_arguments_is_refused():
    """JAX refuses it too ("grad requires real-valued outputs"); symhess ended in the code
    generator ("LLVMPrinter prints real kernels only")."""
    with pytest.raises(OperandTypeError, match=r"returned a complex value at output.*np\.real"):
        symhess.hessian(lambda x: (x[0] + 1j * x[1]) * x[2])(X)


def test_a_function_without_a_rule_for_complex_values_is_named():
    with pytest.raises(UnsupportedFunctionError, match="tanh of a complex value"):
        symhess.hessian(lambda x: np.real(np.tanh(x[0] + 1j * x[1])))(X)


def test_angle_of_real_values_as_numpy(jax, jnp):
    """NumPy's angle is arctan2(imag, real): pi below 0 and at -0.0, 0 at 0.0 and above (JAX's
    derivatives at the zeros are NaN, 0/0, so its Hessian is compared away from them)."""
    f = lambda xp: (lambda v: xp.sum(xp.angle(v) * v ** 2))
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    np.testing.assert_allclose(symhess.hessian(f(np))(x), jax.hessian(f(jnp))(jnp.asarray(x)),
                               rtol=1e-12)
    x = np.array([-2.0, -0.0, 0.0, 3.0])
    g = symhess.grad(lambda v: np.sum(np.angle(v) * v))
    np.testing.assert_array_equal(g(x), np.angle(x))
