"""Functions after autograd's NumPy tests (``tests/test_numpy.py``, ``tests/test_scipy.py``)."""

import numpy as np
import scipy.special as special
from scipy import stats
from scipy.linalg import solve_triangular
from scipy.special import (digamma, erf, erfc, erfcinv, erfinv, expit, gammainc, gammaln, i0, i1,
                           logit, logsumexp, multigammaln, polygamma)

import symhess
from corpus import case, data

SRC = "autograd tests/test_numpy.py"


@case(data.normal(3, 4), source=SRC)
def sum_axis0(x):
    return np.sum(np.sum(x, axis=0) ** 2)


@case(data.positive(4), source="autograd tests/test_scipy.py")
def gammaln_sum(x):
    return np.sum(gammaln(x) * x)


@case(data.normal(4), source=SRC, jax="in-place assignment",
      raises=(symhess.TracerConversionError, "item assignment into a float array"))
def inplace(x):
    y = np.zeros(4)
    y[1:3] = x[:2] ** 2
    return np.sum(y * x)


SYS = "autograd tests/test_systematic.py"
SCI = "autograd tests/test_scipy.py"
LIN = "autograd tests/test_linalg.py"
WRAP = "autograd tests/test_wrappers.py"

MASK = data.binary(3, 4) > 0.5
CONST_B = data.normal(2, 3, 2)
CONST_C = data.normal(3, 2)
CONST_Y = [0.0, float("nan"), float("inf"), -float("inf")]
DIAG_K = data.positive(3)
MVN_COV = data.spd(3)


# elementwise functions (test_systematic's unary and binary ufuncs)

@case(data.uniform(-1.0, 1.0, 5), source=f"{SYS} (test_sin, test_cos, test_tan)")
def trig_unary(x):
    return np.sum(np.sin(x) * np.cos(2.0 * x) + np.tan(x / 3.0))


@case(data.uniform(-0.8, 0.8, 4), source=f"{SYS} (test_arcsinh, test_arctanh, test_arccosh)")
def hyperbolic_inverses(x):
    return np.sum(np.arcsinh(3.0 * x) * np.arctanh(x) + np.arccosh(1.5 + x ** 2) + np.cosh(x))


@case(data.uniform(-0.9, 0.9, 4), source=f"{SYS} (test_arcsin, test_arccos, test_arctan)")
def inverse_trig(x):
    return np.sum(np.arcsin(x) ** 2 + np.arccos(x) * np.arctan(2.0 * x))


@case(data.positive(5), source=f"{SYS} (test_exp2, test_expm1, test_log2, test_log10, test_log1p)")
def exp_log_family(x):
    return np.sum(np.exp2(x) * np.log2(x) + np.expm1(-x) * np.log10(x + 1.0) + np.log1p(x) ** 2)


@case(data.positive(5), source=f"{SYS} (test_sqrt, test_square, test_reciprocal)")
def roots_and_powers(x):
    return np.sum(np.sqrt(x) * np.square(x) + np.cbrt(x) / x + np.reciprocal(1.0 + x))


@case(data.normal(4), source=f"{SYS} (test_tanh, test_sinh)")
def elementwise_vector_output(x):
    return np.tanh(x) * np.sinh(x) + x ** 3


@case(data.normal(4), data.normal(4), argnums=(0, 1), source=f"{SYS} (test_arctan2, test_hypot)")
def arctan2_hypot(x, y):
    return np.sum(np.arctan2(x, y) * np.hypot(x, y))


@case(data.normal(5), data.normal(5), argnums=(0, 1),
      source=f"{SYS} (test_logaddexp, test_logaddexp2)")
def logaddexp_pair(x, y):
    return np.sum(np.logaddexp(x, y) ** 2 + np.logaddexp2(x, 2.0 * y))


@case(data.positive(4), data.uniform(-1.5, 1.5, 4), argnums=(0, 1), source=f"{SYS} (test_power)")
def power_traced_exponent(x, y):
    return np.sum(x ** y + np.power(x, 2.5) * y)


@case(data.normal(3), data.positive(4), argnums=(0, 1),
      source=f"{SYS} (test_true_divide, test_subtract: broadcasting)")
def divide_broadcast(x, y):
    return np.sum((x[:, None] - y[None, :]) ** 2 / (y[None, :] + x[:, None] ** 2))


@case(data.normal(6), data.normal(6), argnums=(0, 1), source=f"{SYS} (test_maximum, test_minimum)")
def maximum_minimum(x, y):
    return np.sum(np.maximum(x, y) ** 3 + np.minimum(x, 0.3) * y)


@case(data.normal(5), data.normal(5), argnums=(0, 1), source=f"{SYS} (test_fmax, test_fmin)")
def fmax_fmin(x, y):
    return np.sum(np.fmax(x, y) * np.fmin(x ** 2, y ** 2))


@case(data.normal(6), source=f"{SYS} (test_abs, test_sign, test_fabs)")
def abs_sign(x):
    return np.sum(np.abs(x) ** 3 * np.sign(x) + np.fabs(x) * x)


@case(data.normal(6), source=f"{SRC} (test_clip)")
def clip_values(x):
    return np.clip(x, 0.1, 1.1) ** 2


@case(data.normal(6), source=f"{SRC} (test_clip: NumPy's a_min/a_max keywords)",
      jax="jax.numpy.clip has no a_min/a_max keywords")
def clip_keywords_one_sided(x):
    return np.sum(np.clip(x, a_min=None, a_max=0.5) ** 3 * x)


@case(data.normal(3, 4), data.normal(3, 4), argnums=(0, 1), source=f"{SRC} (test_where)")
def where_constant_mask(x, y):
    return np.sum(np.where(MASK, x, y) ** 3 + np.where(MASK, y, 0.0) * x)


@case(data.normal(7), source="autograd docs/tutorial.md (control flow with np.where)")
def where_traced_condition(x):
    return np.sum(np.where(x > 0, x ** 2, np.sin(x)) * np.exp(-x))


@case(data.normal(4), data.normal(4), argnums=(0, 1),
      source=f"{SYS} (test_deg2rad, test_rad2deg, test_radians, test_degrees)")
def angle_conversions(x, y):
    return np.sum(np.sin(np.radians(30.0 * x)) * np.deg2rad(y)
                  + np.degrees(x) * np.rad2deg(y) / 1e3)


# reductions

@case(data.normal(2, 3, 2), source=f"{SRC} (test_max_axis_keepdims)")
def max_axis_keepdims(x):
    return np.max(x, axis=1, keepdims=True) * x


@case(data.normal(3, 4), source=f"{SRC} (test_min_axis, test_max)")
def min_axis_and_max(x):
    return np.sum(np.min(x, axis=1) ** 3) + np.max(x) * np.amin(x)


@case(data.normal(2, 3, 2), source=f"{SRC} (test_sum_with_axis_tuple)")
def sum_axis_tuple(x):
    return np.sum(np.sin(x), axis=(1, 2))


@case(data.normal(4, 3), source=f"{SRC} (test_mean_3)")
def mean_keepdims_centered(x):
    centred = x - np.mean(x, axis=0, keepdims=True)
    return np.mean(centred ** 4) + np.mean(x, axis=1) @ np.mean(x, axis=1)


@case(data.positive(2, 3), source=f"{SRC} (test_prod_2)")
def prod_axis0(x):
    return np.prod(x, axis=0)


@case(data.positive(2, 3), source=f"{SRC} (test_prod_1, test_prod_3)")
def prod_all_keepdims(x):
    return np.sum(np.prod(x, axis=1, keepdims=True) * x) + np.prod(x)


@case(data.normal(3, 4), source=f"{SRC} (test_var_ddof)")
def var_ddof_keepdims(x):
    return np.var(x, axis=1, ddof=1, keepdims=True)


@case(data.normal(3, 4), source=f"{SRC} (test_std_ddof)")
def std_ddof(x):
    return np.std(x, ddof=2) + np.std(x, axis=0) @ np.std(x, axis=0) + np.var(x)


@case(data.normal(2, 3), source=f"{SRC} (test_cumsum_axis1)")
def cumsum_axis1(x):
    return np.cumsum(x, axis=1) ** 2


@case(data.normal(2, 3), source=f"{SRC} (test_cumsum_no_axis)")
def cumsum_no_axis(x):
    return np.sum(np.cumsum(x) ** 3)


@case(data.positive(3, 2), source=f"{SYS} (test_cumprod)")
def cumprod_axis0(x):
    return np.cumprod(x, axis=0)


@case(data.normal(3, 2), data.normal(3, 2), argnums=(0, 1), source=f"{SRC} (test_non_numpy_sum)")
def builtin_sum(x, y):
    return np.sum(sum([x, y, x * y]) ** 2)


@case(data.normal(6), source=f"{SYS} (test_diff)")
def diff_squares(x):
    return np.sum(np.diff(x) ** 2) + np.sum(np.diff(x, n=2) ** 3)


# products

@case(data.normal(3, 4), data.normal(4), argnums=(0, 1), source=f"{SRC} (test_dot)")
def dot_matrix_vector(a, v):
    return np.tanh(np.dot(a, v))


@case(data.normal(3, 2), data.normal(), argnums=(0, 1), source=f"{SRC} (test_dot_with_floats)")
def dot_with_float(m, s):
    return np.sum(np.dot(m, s) ** 2 + np.dot(s, m) * m)


@case(data.normal(3), data.normal(2), argnums=(0, 1), source=f"{SRC} (test_outer)")
def outer_product(x, y):
    return np.outer(x, y)


@case(data.normal(4), data.normal(4), argnums=(0, 1), source=f"{SYS} (test_inner)")
def inner_squared(x, y):
    return np.inner(x, y) ** 2 + np.inner(x, x) * np.inner(y, y)


@case(data.normal(2, 2, 3), data.normal(2, 3, 2), argnums=(0, 1), source=f"{SYS} (test_matmul)")
def matmul_batched(a, b):
    return np.sum(np.sin(a @ b))


@case(data.normal(3, 2, 2), data.normal(2, 2, 3), source=f"{SYS} (test_tensordot)")
def tensordot_axes(a, b):
    return np.sum(np.tensordot(a, b, axes=([1, 2], [0, 1])) ** 2)


@case(1.3, source=f"{SRC} (test_tensordot_kwargs_by_position)")
def tensordot_positional(x):
    return np.tensordot(x * np.ones((2, 2)), x ** 2 * np.ones((2, 2)), 2)


@case(data.normal(2, 3), data.normal(3, 3), argnums=(0, 1), source=f"{SYS} (test_einsum)")
def einsum_contractions(a, b):
    return (np.einsum("ij,jk->ik", a, b) ** 2).sum() + np.einsum("ii->", b) ** 2 \
        + np.einsum("ij,ij,kj->", a, a, a)


@case(data.normal(2, 3, 3), source=f"{SYS} (test_einsum: batched diagonal)")
def einsum_batched_diagonal(x):
    return np.einsum("bii->b", x) * np.einsum("bij,bij->b", x, x)


@case(data.normal(2, 2), data.normal(2, 2), argnums=(0, 1), source=f"{SYS} (test_kron)")
def kron_product(a, b):
    return np.kron(a, b)


@case(data.normal(3), data.normal(3), argnums=(0, 1), source=f"{SYS} (test_cross)")
def cross_product(x, y):
    return np.cross(x, y) ** 2


@case(data.normal(3, 4), source=f"{SRC} (test_trace2)")
def trace_offset(x):
    return np.trace(x, offset=1) ** 2 + np.trace(x, offset=-1) * np.trace(x)


@case(data.normal(2, 3, 3), source=f"{SRC} (test_diagonal)")
def diagonal_last_axes(x):
    return np.diagonal(x, axis1=-1, axis2=-2) ** 3


@case(data.normal(3, 3), source=f"{SRC} (test_diag)")
def diag_roundtrip(x):
    return np.sum(np.diag(np.diag(x) ** 2) @ x)


# shapes

@case(data.normal(2, 3, 2), source=f"{SRC} (test_reshape_method, test_reshape_method_nolist)")
def reshape_forms(x):
    return np.sum(x.reshape((4, 3)) @ x.reshape(3, 4)) + np.sum(np.reshape(x, (6, 2)) ** 3)


@case(data.normal(2, 3), source=f"{SRC} (test_ravel_method, test_flatten_method)")
def ravel_flatten(x):
    return x.ravel() * np.ravel(x ** 2) + x.flatten()[::-1]


@case(data.normal(2, 3, 2), source=f"{SYS} (test_transpose, test_swapaxes, test_moveaxis)")
def transpose_forms(x):
    return np.sum(np.transpose(x, (2, 0, 1)) * np.moveaxis(x, -1, 0)) \
        + np.sum(np.swapaxes(x, 0, 2) ** 3) + np.sum(x.T[0] ** 2)


@case(data.normal(2, 3, 2), source=f"{SRC} (test_concatenate_axis_1)")
def concatenate_axis1(x):
    return np.sum(np.sin(np.concatenate((CONST_B, x, CONST_B), axis=1))
                  * np.arange(18.0).reshape(2, 9, 1))


@case(data.normal(2, 3, 2), source=f"{SRC} (test_concatenate_axis_1_unnamed)")
def concatenate_unnamed_axis(x):
    y = np.concatenate((CONST_B, x ** 2, x), 1)
    return np.sum(y[:, 1:] * y[:, :-1])


@case(data.normal(3), data.normal(3), argnums=(0, 1),
      source=f"{SYS} (test_stack, test_vstack, test_hstack)")
def stack_forms(x, y):
    s = np.stack([x, y ** 2], axis=1)
    v = np.vstack([x, y])
    h = np.hstack([x, x * y])
    return np.sum(s @ v) + np.sum(h ** 3)


@case(data.normal(6), source=f"{SRC} (test_split)")
def split_halves(x):
    a, b = np.split(x, 2)
    return np.sum(a * b ** 2) + np.sum(np.array_split(x, 3)[1] ** 4)


@case(data.normal(2, 1, 3), source=f"{SRC} (test_squeeze_func, test_expand_dims)")
def squeeze_expand(x):
    y = np.expand_dims(np.squeeze(x), 2)
    return np.sum(y * x.squeeze()[:, None, :] ** 2)


@case(data.normal(2, 3), source=f"{SRC} (test_repeat, test_tile)")
def repeat_tile(x):
    return np.sum(np.repeat(x, 2, axis=1) * np.tile(x, (1, 2)) ** 2)


@case(data.normal(3, 4), source=f"{SRC} (test_roll)")
def roll_axis1(x):
    return np.sum(x * np.roll(x, 2, axis=1) ** 2) + np.sum(np.roll(x, -1) * x)


@case(data.normal(3, 4), source=f"{SRC} (test_flipud, test_fliplr, test_rot90)")
def flips_rot90(x):
    return np.sum(np.flipud(x) * x ** 2) + np.sum(np.fliplr(x) * np.sin(x)) \
        + np.sum(np.rot90(x) ** 2 * np.rot90(x, -1))


@case(data.normal(4, 4), source=f"{SRC} (test_triu, test_tril)")
def triu_tril(x):
    return np.sum(np.triu(x, k=1) @ np.tril(x, k=-1)) + np.sum(np.tril(x) ** 3)


# arrays built from traced values

@case(3.0, source=f"{SRC} (test_2d_array)")
def array_2d_from_scalar(x):
    return np.array([[x, x * 1.0, x + 2.5], [x ** 2, x, x / 2.0]])


@case(data.normal(3, 2), source=f"{SRC} (test_array_from_arrays_2)")
def array_from_arrays(x):
    a = np.array([[2 * x, x + 1], [x, x]])
    return np.sum(a ** 3)


@case(data.normal(3, 2), source=f"{SRC} (test_r_mixed, test_c_mixed)")
def r_and_c(x):
    return np.sum(np.r_[x, CONST_C, x] ** 3) + np.sum(np.c_[x, CONST_C, x ** 2] ** 2)


@case(data.normal(3), 4.0, argnums=(0, 1), source=f"{SRC} (test_simple_append_arr)")
def append_scalar(a, b):
    return np.append(a, b) ** 2


@case(data.normal(4), source=f"{SRC} (test_nan_to_num)")
def nan_to_num_sin(x):
    return np.sum(np.sin(np.nan_to_num(x + np.array(CONST_Y))))


# indexing

@case(data.normal(4, 3, 2),
      source=f"{SRC} (test_index_ints, test_index_slice, test_index_lists, "
             "test_index_mixed)")
def index_forms(x):
    return x[3, 0, 1] ** 2 * x[0, 0, 0] + np.sum(x[::-1, 1:3, :] ** 3) \
        + np.sum(x[[0, 1, 2], :, :] * x[[1, 2, 3], :]) + np.sum(x[1, 1:, [0, 1]] ** 4)


@case(data.normal(4, 5, 2), source=f"{SRC} (test_index_slice_fanout)")
def index_slice_fanout(x):
    y = x[::-1, 2:4, :]
    z = x[::-1, 3:5, :]
    return np.sum((y + z) ** 2 * y)


@case(data.normal(3), source=f"{SRC} (test_multi_index2)",
      jax="JAX refuses a list as the whole index (x[[0, 1, 0]])")
def repeated_integer_index(x):
    return np.sum(x[[0, 1, 0]] ** 3) * x[2]


@case(data.normal(4), source=f"{SRC} (test_index_dot_slices)")
def index_dot_slices(x):
    return np.dot(x[:2], x[2:]) ** 2


@case(data.normal(3, 4), source="autograd docs/tutorial.md (indexing: negative, Ellipsis, None)")
def index_negative_ellipsis_none(x):
    return np.sum(x[..., -1] * x[:, -2]) + np.sum(x[None, :, 1] * x[:, None, 0] ** 2) \
        + np.sum(x[-1, ::-2] ** 3)


@case(data.normal(3, 4), source=f"{SRC} (boolean-mask indexing by a constant mask)")
def index_boolean_mask(x):
    return np.sum(x[MASK] ** 3) + np.sum(x[~MASK] * 2.0) ** 2


# linear algebra

@case(data.spd(3), source=f"{LIN} (test_inv)")
def linalg_inv(a):
    return np.linalg.inv(a)


@case(data.normal(2, 2, 2) + data.spd(2), source=f"{LIN} (test_inv_3d)")
def linalg_inv_batched(a):
    return np.sum(np.linalg.inv(a) ** 2)


@case(data.normal(3, 3), source=f"{LIN} (test_det)")
def linalg_det(a):
    return np.linalg.det(a)


@case(data.normal(2, 3, 3), source=f"{LIN} (test_det_3d)")
def linalg_det_batched(a):
    return np.linalg.det(a)


@case(data.spd(3) + data.normal(3, 3, scale=0.3), source=f"{LIN} (test_slogdet)")
def linalg_slogdet(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet


@case(data.spd(3), data.normal(3), argnums=(0, 1),
      source=f"{LIN} (test_solve_arg1, test_solve_arg2)")
def linalg_solve(a, b):
    return np.linalg.solve(a, b)


@case(data.spd(3), data.normal(3, 2), argnums=(0, 1), source=f"{LIN} (test_solve_arg1_broadcast)")
def linalg_solve_matrix_rhs(a, b):
    return np.sum(np.linalg.solve(a, b) * b)


@case(data.spd(3), source=f"{LIN} (test_cholesky)")
def linalg_cholesky(a):
    return np.linalg.cholesky(0.5 * (a + a.T))


@case(data.spd(3), data.normal(3), argnums=(0, 1), source=f"{LIN} (test_solve_triangular)")
def scipy_solve_triangular(a, b):
    lower = np.linalg.cholesky(0.5 * (a + a.T))
    return np.sum(solve_triangular(lower, b, lower=True) ** 2)


@case(data.spd(3) + data.normal(3, 3, scale=0.2), source=f"{LIN} (test_eigh)")
def linalg_eigh(a):
    w, v = np.linalg.eigh(0.5 * (a + a.T))
    return np.sum(w ** 3) + np.sum(v ** 2 * w)


@case(data.normal(3, 3), source=f"{LIN} (test_eigh: eigenvalues only)",
      raises=(symhess.UnsupportedFunctionError, "np.linalg.eigvalsh .* one traced scalar"))
def linalg_eigvalsh(a):
    return np.linalg.eigvalsh(a @ a.T + np.eye(3))


@case(data.normal(5), source=f"{LIN} (test_vector_2norm, test_vector_norm_ord)")
def vector_norms(x):
    return np.linalg.norm(x) + np.linalg.norm(x, ord=3) ** 2 + np.linalg.norm(x, 1) * x[0]


@case(data.normal(3, 4),
      source=f"{LIN} (test_frobenius_norm, test_frobenius_norm_axis, test_norm_axis)")
def matrix_norms(x):
    return np.linalg.norm(x) * np.linalg.norm(x, axis=0) + np.linalg.norm(x, ord="fro", axis=(0, 1))


# scipy.special

@case(data.uniform(1.3, 3.0, 5), source=f"{SCI} (test_digamma, test_polygamma)")
def digamma_polygamma(x):
    return np.sum(digamma(x) * x + polygamma(1, x) + polygamma(0, x) ** 2)


@case(data.uniform(0.3, 2.0, 4), data.uniform(1.1, 3.0, 4), argnums=(0, 1),
      source=f"{SCI} (test_gamma, test_gammaln, test_beta, test_betaln)")
def gamma_beta_family(a, b):
    return np.sum(special.gamma(a) * special.gammaln(b) + special.betaln(a, b)
                  + special.beta(a, b) ** 2)


@case(data.uniform(0.3, 2.0, 4), source=f"{SCI} (test_psi)", jax="jax.scipy.special has no psi")
def psi_alias(x):
    return np.sum(special.psi(x) ** 2 * x)


@case(data.uniform(-2.5, 2.5, 5), source=f"{SCI} (test_erf, test_erfc)")
def erf_erfc(x):
    return np.sum(erf(x) ** 2 + erfc(x) * x)


@case(data.uniform(-0.9, 0.9, 4), data.uniform(0.1, 1.9, 4), argnums=(0, 1),
      source=f"{SCI} (test_erfinv, test_erfcinv)", jax="jax.scipy.special has no erfcinv")
def erfinv_erfcinv(x, y):
    return np.sum(erfinv(x) * erfcinv(y) + erfinv(x) ** 3)


@case(data.uniform(0.1, 0.9, 5), source=f"{SCI} (test_logit, test_expit)")
def logit_expit(p):
    return np.sum(logit(p) ** 2 + expit(3.0 * p) * logit(p))


@case(data.uniform(0.2, 5.0, 5), source=f"{SCI} (test_i0, test_i1)")
def bessel_i0_i1(x):
    return np.sum(np.log(i0(x)) + i1(x) / x + np.i0(x / 2.0))


@case(data.normal(3, 4), source=f"{SCI} (test_logsumexp2: axis, keepdims)")
def logsumexp_axis_keepdims(x):
    return logsumexp(x, axis=0, keepdims=True) * logsumexp(x, axis=1)[:, None]


@case(data.normal(3, 4), source=f"{SCI} (test_logsumexp4: weights b)")
def logsumexp_weighted(x):
    return logsumexp(x, b=np.exp(x / 2.0)) + np.sum(logsumexp(x, axis=1, b=DIAG_K[:, None]))


@case(data.normal(1, 5), source=f"{SCI} (test_logsumexp6)")
def logsumexp_row(a):
    return logsumexp(a, axis=1, keepdims=True)


@case(data.uniform(1.0, 4.0, 4), source=f"{SCI} (test_gammainc)")
def gammainc_x(x):
    return np.sum(gammainc(1.5, x) ** 2)


@case(data.uniform(1.0, 4.0, 4), source=f"{SCI} (test_gammainc, in the shape)",
      raises=(symhess.UnsupportedFunctionError, "shape parameter"),
      jax="JAX has no Hessian of gammainc in its shape (igamma_grad_a has no derivative rule)")
def gammainc_a(a):
    return np.sum(gammainc(a, 2.0) ** 2)


@case(data.uniform(4.0, 5.0, 3), source=f"{SCI} (test_multigammaln)")
def multigammaln_d2(a):
    return np.sum(multigammaln(a, 2))


# scipy.stats

@case(data.normal(4, 3), data.normal(1, 3), data.normal(4, 1) ** 2 + 1.1, argnums=(0, 1, 2),
      source=f"{SCI} (test_norm_logpdf_broadcast)")
def norm_logpdf_broadcast(x, loc, scale):
    return np.sum(stats.norm.logpdf(x, loc, scale))


@case(data.normal(4), data.normal(4), data.positive(4) + 0.5, argnums=(0, 1, 2),
      source=f"{SCI} (test_norm_cdf, test_norm_sf, test_norm_logcdf, test_norm_logsf)")
def norm_cdf_family(x, loc, scale):
    return np.sum(stats.norm.cdf(x, loc, scale) * stats.norm.logsf(x, loc, scale)
                  + stats.norm.logcdf(x, loc, scale) + stats.norm.sf(x, loc, scale) ** 2)


@case(data.uniform(0.05, 0.95, 4), data.normal(4), data.positive(4) + 0.5, argnums=(0, 1, 2),
      source=f"{SCI} (test_norm_ppf, test_norm_isf)")
def norm_ppf_isf(q, loc, scale):
    return np.sum(stats.norm.ppf(q, loc, scale) * stats.norm.isf(q, loc, scale))


@case(data.normal(4), data.positive(4) ** 2 + 2.1, data.normal(4), data.positive(4) ** 2 + 2.1,
      argnums=(0, 1, 2, 3), source=f"{SCI} (test_t_logpdf)")
def t_logpdf(x, df, loc, scale):
    return np.sum(stats.t.logpdf(x, df, loc, scale))


@case(data.normal(4, 3), data.positive(1, 3) + 2.1, argnums=(0, 1),
      source=f"{SCI} (test_t_pdf_broadcast)")
def t_pdf_broadcast(x, df):
    return np.sum(stats.t.pdf(x, df))


@case(data.counts(4, 3), data.positive(4, 1) ** 2 + 1.1, argnums=1,
      source=f"{SCI} (test_poisson_logpmf_broadcast, test_poisson_pmf)")
def poisson_logpmf_pmf(k, mu):
    return np.sum(stats.poisson.logpmf(k, mu) + stats.poisson.pmf(k, mu))


@case(data.positive(4) ** 2 + 1.1, data.positive(4) ** 2 + 1.1, argnums=(0, 1),
      source=f"{SCI} (test_gamma_logpdf, test_gamma_pdf)")
def gamma_logpdf_pdf(x, a):
    return np.sum(stats.gamma.logpdf(x, a) + stats.gamma.pdf(x, a))


@case(data.uniform(0.1, 0.9, 4), data.positive(4) ** 2 + 1.1, data.positive(4) ** 2 + 1.1,
      argnums=(0, 1, 2), source=f"{SCI} (test_beta_logpdf)")
def beta_logpdf(x, a, b):
    return np.sum(stats.beta.logpdf(x, a, b))


@case(data.positive(4) ** 2 + 1.1, source=f"{SCI} (test_chi2_logpdf, test_chi2_pdf)")
def chi2_logpdf_pdf(x):
    return np.sum(stats.chi2.logpdf(x, 3) * stats.chi2.pdf(x, 2))


@case(data.normal(3), data.normal(3), data.normal(3, 3), argnums=(0, 1, 2),
      source=f"{SCI} (test_mvn_logpdf)")
def mvn_logpdf(x, mean, a):
    cov = np.dot(a.T, a) + np.eye(3)
    return stats.multivariate_normal.logpdf(x, mean, 0.5 * (cov + cov.T))


@case(data.normal(5, 3), data.normal(3), argnums=(0, 1), source=f"{SCI} (test_mvn_pdf_broadcast)")
def mvn_pdf_broadcast(x, mean):
    return np.sum(stats.multivariate_normal.pdf(x, mean, MVN_COV))


@case(data.simplex(4), data.positive(4) ** 2 + 1.2, argnums=(0, 1),
      source=f"{SCI} (test_dirichlet_logpdf_x, test_dirichlet_logpdf_alpha)")
def dirichlet_logpdf(x, alpha):
    return stats.dirichlet.logpdf(x / np.sum(x), alpha)


# wrappers, tutorial and examples

@case(data.normal(2, 2, 2), source=f"{WRAP} (test_hessian_tensor_product)")
def hessian_tensor_input(a):
    return np.sum(np.sin(a)) + np.sum(a ** 2) * a[0, 1, 1]


@case(data.normal(4), has_aux=True, source=f"{WRAP} (test_grad_and_aux)")
def with_aux(x):
    value = np.sum(np.sin(x) * x ** 2)
    return value, {"norm": np.sqrt(np.sum(x ** 2)), "first": x[0]}


@case(0.7, -0.4, 0.3, argnums=(0, 2), source=f"{WRAP} (test_multigrad)")
def multigrad_scalars(a, b, c):
    return np.sin(a) * np.cos(b) + np.tan(c) * a ** 2 + b * c ** 3


@case(data.normal(3), 5, static_argnums=1,
      source="autograd docs/tutorial.md (taylor_sine, fixed number of terms)")
def taylor_sine_terms(x, terms):
    ans = 0.0
    currterm = x
    for i in range(terms):
        ans = ans + currterm
        currterm = -currterm * x ** 2 / ((2 * i + 3) * (2 * i + 2))
    return np.sum(ans * x)


@case(0.8, source="autograd docs/tutorial.md (taylor_sine: while loop on the term's size)",
      jax="a Python while on a traced value",
      raises=(symhess.TracerBoolConversionError, "np.where"))
def taylor_sine_while(x):
    ans = currterm = x
    i = 0
    while np.abs(currterm) > 0.001:
        currterm = -currterm * x ** 2 / ((2 * i + 3) * (2 * i + 2))
        ans = ans + currterm
        i += 1
    return ans


@case(data.normal(2, 3), source="autograd docs/tutorial.md (array methods)")
def array_methods(x):
    return (x.T.dot(x) ** 2).sum() + x.mean(axis=1).dot(x.sum(axis=1)) + x.max() * x.min()


LR_INPUTS = data.normal(12, 3)
LR_TARGETS = data.binary(12)


@case(data.normal(3), LR_INPUTS, LR_TARGETS, source="autograd examples/logistic_regression.py")
def logistic_regression_loss(weights, inputs, targets):
    preds = 0.5 * (np.tanh(np.dot(inputs, weights) / 2.0) + 1.0)
    label_probabilities = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probabilities))


NN_INPUTS = data.normal(6, 3)
NN_TARGETS = data.binary(6, 2)


@case([(data.normal(3, 4, scale=0.5), data.normal(4, scale=0.5)),
       (data.normal(4, 2, scale=0.5), data.normal(2, scale=0.5))], NN_INPUTS, NN_TARGETS,
      source="autograd examples/neural_net.py (log_posterior)")
def neural_net_log_posterior(params, inputs, targets):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    log_probs = outputs - logsumexp(outputs, axis=1, keepdims=True)
    log_prior = -0.5 * sum(np.sum(W ** 2) + np.sum(b ** 2) for W, b in params)
    return log_prior + np.sum(log_probs * targets)


GP_X = data.uniform(-2.0, 2.0, 8, 1)
GP_Y = data.normal(8)


@case(data.normal(4, scale=0.3), GP_X, GP_Y, source="autograd examples/gaussian_process.py")
def gp_log_marginal_likelihood(params, x, y):
    mean, noise_scale = params[0], np.exp(params[1]) + 1e-4
    output_scale, lengthscales = np.exp(params[2]), np.exp(params[3:])
    diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(x / lengthscales, 0)
    cov = output_scale * np.exp(-0.5 * np.sum(diffs ** 2, axis=2))
    cov_y = cov + noise_scale * np.eye(len(y))
    prior_mean = mean * np.ones(len(y))
    return stats.multivariate_normal.logpdf(y, prior_mean, cov_y)
