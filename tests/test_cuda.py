"""The CUDA target (``target="cuda"``) against JAX, closed forms and the independent autodiff.

Where there is no GPU these kernels run in Numba's CUDA simulator (see conftest.py), which
executes the generated kernel source thread by thread.
"""

import numpy as np
import pytest
import scipy.sparse
from numba import cuda

import symhess
from symhess import autodiff
from symhess.errors import InputTypeError

from conftest import assert_tree_close, neo_hookean, rosenbrock_hessian

rng = np.random.default_rng(11)


def stack_trees(trees):
    """One tree whose leaves stack the leaves of ``trees`` along a new first axis."""
    first = trees[0]
    if isinstance(first, dict):
        return {k: stack_trees([t[k] for t in trees]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(stack_trees([t[i] for t in trees]) for i in range(len(first)))
    return np.stack([np.asarray(t) for t in trees])


def autodiff_per_point(f, *args, in_axes=None, **options):
    """The autodiff's Hessian at each point of the batch (axis 0 of the batched arguments)."""
    in_axes = in_axes or (0,) * len(args)
    n = next(len(a) for a, axis in zip(args, in_axes) if axis is not None)
    return stack_trees([autodiff.hessian(f, **options)(
        *[a[p] if axis is not None else a for a, axis in zip(args, in_axes)]) for p in range(n)])


def deformations(n, dtype=np.float64):
    return (np.eye(3) + 0.1 * rng.standard_normal((n, 3, 3))).astype(dtype)


def test_batched_host_arrays_in_numpy_out(jax, jnp):
    F = deformations(9)
    got = symhess.hessian(neo_hookean(np), batch_axis=0, target="cuda")(F)
    assert isinstance(got, np.ndarray) and got.shape == (9, 3, 3, 3, 3)
    assert_tree_close(got, jax.vmap(jax.hessian(neo_hookean(jnp)))(F))


def test_device_arrays_in_device_array_out():
    F = deformations(7)
    got = symhess.hessian(neo_hookean(np), batch_axis=0, target="cuda")(cuda.to_device(F))
    assert cuda.devicearray.is_cuda_ndarray(got)
    assert got.shape == (7, 3, 3, 3, 3)
    assert_tree_close(got.copy_to_host(), autodiff_per_point(neo_hookean(np), F))


def test_float32_stays_float32():
    F = deformations(5, np.float32)
    got = symhess.hessian(neo_hookean(np), batch_axis=0, target="cuda")(F)
    assert got.dtype == np.float32
    assert_tree_close(got, autodiff_per_point(neo_hookean(np), F.astype(np.float64)), np.float32)


def test_shared_batched_and_scalar_arguments(jax, jnp):
    def f(x, a, w, c, xp):
        return a * xp.sum(w * x ** 3) + x[0] * x[1] + xp.exp(c * a * x[1]) + xp.arctan2(x[0], w[1])
    x, a, w = rng.standard_normal((6, 2)), rng.standard_normal(6), np.array([1.0, -2.0])
    got = symhess.hessian(lambda x, a, w, c: f(x, a, w, c, np), batch_axis=0,
                          in_axes=(0, 0, None, None), target="cuda")(x, a, w, 0.3)
    want = jax.vmap(jax.hessian(lambda x, a, w, c: f(x, a, w, c, jnp)),
                    in_axes=(0, 0, None, None))(x, a, w, 0.3)
    assert_tree_close(got, want)


def test_blocks_of_several_arguments_and_pytrees(jax, jnp):
    def f(d, b, xp):
        return {"e": xp.sum(d["w"] ** 2) * b[0] + xp.sin(d["w"][0] * b[1]),
                "s": xp.cosh(b[0] * d["v"])}
    d = {"w": rng.standard_normal((4, 3)), "v": rng.standard_normal(4)}
    b = rng.standard_normal((4, 2))
    got = symhess.hessian(lambda d, b: f(d, b, np), argnums=(0, 1), batch_axis=0,
                          target="cuda")(d, b)
    want = jax.vmap(jax.hessian(lambda d, b: f(d, b, jnp), argnums=(0, 1)))(d, b)
    assert_tree_close(got, want)


def test_device_blocks_are_device_arrays_of_the_points():
    def f(a, b):
        return np.sum(a ** 2 * b[0]) + np.sin(a[0] * b[1])
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    got = symhess.hessian(f, argnums=(0, 1), batch_axis=0, target="cuda")(
        cuda.to_device(a), cuda.to_device(b))
    want = autodiff_per_point(f, a, b, argnums=(0, 1))
    for i in range(2):
        for j in range(2):
            assert cuda.devicearray.is_cuda_ndarray(got[i][j])
            assert_tree_close(got[i][j].copy_to_host(), want[i][j])


def rosenbrock(xp):
    return lambda x: xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_element_loops_add_atomically(jax, jnp):
    x = rng.standard_normal(40)
    H = symhess.hessian(rosenbrock(np), target="cuda", templates=True)
    compiled = H.compile(x)
    assert compiled.templates and "cuda.atomic.add" in compiled.source
    assert_tree_close(H(x), jax.hessian(rosenbrock(jnp))(x))


def test_lazy_gathers_of_a_pair_energy(jax, jnp):
    def energy(xp):
        def f(X, eps):
            i, j = np.triu_indices(X.shape[0], 1)
            d = X[i] - X[j]
            r2 = xp.sum(d * d, axis=1)
            return eps * xp.sum(1.0 / r2 ** 6 - 2.0 / r2 ** 3)
        return f
    X = np.array([[0, 0, 0], [1.1, 0, 0], [0, 1.2, 0], [0, 0, 1.05], [1, 1, 0.2]], float)
    X = X + 0.01 * rng.standard_normal(X.shape)
    got = symhess.hessian(energy(np), target="cuda", templates=True)(X, 0.7)
    assert_tree_close(got, jax.hessian(energy(jnp))(X, 0.7))


def test_sparse_result_is_a_host_matrix_with_the_cpu_values():
    x = rng.standard_normal(30)
    got = symhess.hessian(rosenbrock(np), sparse=True, target="cuda")(cuda.to_device(x))
    want = rosenbrock_hessian(x)
    assert isinstance(got, scipy.sparse.csr_array)
    # the structural pattern of a chain: the three diagonals, every entry of them stored
    np.testing.assert_array_equal(got.indptr, np.concatenate([[0], np.cumsum(
        [2] + [3] * (len(x) - 2) + [2])]))
    np.testing.assert_array_equal(got.toarray() != 0, want != 0)
    np.testing.assert_allclose(got.toarray(), want, rtol=1e-13, atol=1e-12)


def test_kernels_call_math_functions_not_numpy():
    def f(x):
        return np.exp(x[0]) * np.log1p(x[1] ** 2) + np.arccos(x[2] / 3) + np.abs(x[0] - x[1])
    compiled = symhess.hessian(f, batch_axis=0, target="cuda").compile(np.full((2, 3), 0.5))
    kernels = compiled.source.split("def _points")[1].split("\ndef ")[0]
    assert "math.exp" in kernels and "math.log" in kernels and "np." not in kernels
    x = rng.uniform(0.1, 0.9, (3, 3))
    assert_tree_close(compiled(x), autodiff_per_point(f, x))


def test_gpu_array_to_the_cpu_target_says_which_argument():
    with pytest.raises(InputTypeError, match=r"argument x of .* is a GPU array .*target='cuda'"):
        symhess.hessian(lambda x: np.sum(x ** 3))(cuda.to_device(np.ones(3)))


def test_gpu_array_with_its_batch_axis_last_is_refused():
    F = np.moveaxis(deformations(4), 0, -1).copy()
    H = symhess.hessian(neo_hookean(np), batch_axis=-1, target="cuda")
    assert_tree_close(H(F), autodiff_per_point(neo_hookean(np), np.moveaxis(F, -1, 0)))
    with pytest.raises(ValueError, match="move it to the front"):
        H(cuda.to_device(F))


def test_gpu_arrays_of_another_dtype_are_a_new_signature():
    H = symhess.hessian(lambda x, w: np.sum(w * x ** 3), batch_axis=0, in_axes=(0, None),
                        target="cuda")
    x, w = rng.standard_normal((3, 2)), np.array([1.5, -0.25], np.float32)
    got = H(cuda.to_device(x), cuda.to_device(w))
    want = np.stack([np.diag(6.0 * w.astype(np.float64) * p) for p in x])     # closed form
    np.testing.assert_allclose(got.copy_to_host(), want, rtol=1e-13)


def test_kernel_inputs_are_checked_on_the_device():
    from symhess.codegen.numba_cuda import device_input
    with pytest.raises(TypeError, match="dtype float32, but the kernel was compiled for float64"):
        device_input(cuda.to_device(np.ones(2, np.float32)), np.float64, "in1")
    with pytest.raises(ValueError, match="in0 is not C-contiguous"):
        device_input(cuda.to_device(np.ones((3, 4)))[:, 1:], np.float64, "in0")
    np.testing.assert_array_equal(device_input(np.arange(3), np.float64, "in0").copy_to_host(),
                                  [0.0, 1.0, 2.0])


def test_complex_hessians_stay_on_the_cpu():
    with pytest.raises(ValueError, match="holomorphic=True"):
        symhess.hessian(lambda z: np.sum(z ** 3), holomorphic=True, target="cuda")


def test_hessian_vector_products_stay_on_the_cpu():
    with pytest.raises(ValueError, match="hvp computes on the CPU"):
        symhess.hvp(lambda x: np.sum(x ** 3), target="cuda")


def test_inputs_of_another_shape_are_refused():
    compiled = symhess.hessian(neo_hookean(np), batch_axis=0, target="cuda").compile(deformations(2))
    with pytest.raises(ValueError, match=r"input 0 \(F\) has shape \(4, 2, 3\); it takes \(3, 3\) per point"):
        compiled(np.ones((4, 2, 3)))
