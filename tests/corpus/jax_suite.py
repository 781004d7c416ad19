"""Functions after JAX's documentation and test suite: the Autodiff Cookbook, the Quickstart and
"Advanced autodiff" pages, ``jax.hessian``'s docstring, and the gradient tests of
``tests/lax_autodiff_test.py``, ``tests/lax_numpy_test.py``, ``tests/scipy_special_test.py``,
``tests/scipy_stats_test.py`` and ``tests/linalg_test.py``, written with NumPy and SciPy."""

import numpy as np
from scipy import stats
from scipy.special import (betaln, digamma, entr, erf, erfc, erfinv, expit, gammaln, i0e, i1e,
                           log_ndtr, log_softmax, logit, logsumexp, multigammaln, ndtr, ndtri,
                           polygamma, softmax, xlog1py, xlogy)

from corpus import case, data

COOKBOOK = "JAX docs: autodiff cookbook"
ADVANCED = "JAX docs: advanced autodiff"
QUICKSTART = "JAX docs: quickstart"
HESSIAN_DOC = "JAX jax.hessian docstring"
LAX = "JAX tests/lax_autodiff_test.py"
LNP = "JAX tests/lax_numpy_test.py"
SPECIAL = "JAX tests/scipy_special_test.py"
STATS = "JAX tests/scipy_stats_test.py"
LINALG = "JAX tests/linalg_test.py"

# The cookbook's toy data set (Python literals: plain constants in both loads).
INPUTS = [[0.52, 1.12, 0.77],
          [0.88, -1.08, 0.15],
          [0.52, 0.06, -1.30],
          [0.74, -2.49, 1.39]]
TARGETS = [1.0, 1.0, 0.0, 1.0]

WEIGHTS = data.normal(3, 4)
SPD3 = data.spd(3)


# --- jax.hessian's docstring and the autodiff cookbook ----------------------------------------

@case(data.normal(2), source=f"{HESSIAN_DOC} (g = x0**3 - 2 x0 x1 - x1**6)")
def hessian_docstring_polynomial(x):
    return x[0] ** 3 - 2 * x[0] * x[1] - x[1] ** 6


@case({"a": data.positive(2) + 0.5, "b": data.uniform(2.0, 3.0, 2)},
      source=f"{HESSIAN_DOC} (pytree example: dict in, dict out)")
def hessian_docstring_pytree(dct):
    return {"c": np.power(dct["a"], dct["b"])}


def _sigmoid(x):
    return 0.5 * (np.tanh(x / 2) + 1)


def _predict(W, b, inputs):
    return _sigmoid(np.dot(inputs, W) + b)


@case(data.normal(3), 0.3, source=f"{COOKBOOK} (logistic regression loss, argnums=(0, 1))",
      argnums=(0, 1))
def cookbook_logistic_loss(W, b):
    targets = np.asarray(TARGETS)
    preds = _predict(W, b, np.asarray(INPUTS))
    label_probs = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probs))


@case({"W": data.normal(3), "b": data.normal()}, source=f"{COOKBOOK} (loss2 of a params dict)")
def cookbook_loss_dict(params):
    targets = np.asarray(TARGETS)
    preds = _predict(params["W"], params["b"], np.asarray(INPUTS))
    label_probs = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probs))


@case(data.normal(3), source=f"{COOKBOOK} (hessian of f = lambda W: predict(W, b, inputs))")
def cookbook_predict_vector(W):
    return _predict(W, -0.4, np.asarray(INPUTS))


@case(data.normal(4), source=f"{COOKBOOK} (grad(grad(jnp.tanh)) made elementwise)")
def cookbook_tanh(x):
    return np.sum(np.tanh(x))


@case(data.normal(3), data.normal(3),
      source=f"{COOKBOOK} (hvp: grad of vdot(grad f(x), v), f written out)", argnums=(0, 1))
def cookbook_vdot_sin(x, v):
    return np.vdot(np.sin(x) * np.cos(v), v) + np.sum(x ** 2 * v)


# --- Quickstart and Advanced autodiff -------------------------------------------------------

@case(data.normal(5), source=f"{QUICKSTART} (sum_logistic)")
def quickstart_sum_logistic(x):
    return np.sum(1.0 / (1.0 + np.exp(-x)))


@case(data.uniform(0.2, 1.5, 5) * [1.0, -1.0, 1.0, -1.0, 1.0],
      source=f"{QUICKSTART} (selu, summed)")
def quickstart_selu(x, alpha=1.67, lmbda=1.05):
    return np.sum(lmbda * np.where(x > 0, x, alpha * np.exp(x) - alpha) ** 2)


@case(1.3, source=f"{ADVANCED} (f(x) = x**3 + 2 x**2 - 3 x + 1 on a Python float)")
def advanced_cubic_scalar(x):
    return x ** 3 + 2 * x ** 2 - 3 * x + 1


@case(data.normal(3, 2), source=f"{ADVANCED} (hvp example: sum(tanh(X)**2) of a matrix)")
def advanced_tanh_squared_matrix(X):
    return np.sum(np.tanh(X) ** 2)


@case(data.normal(3, 4), data.normal(3), data.normal(4),
      source=f"{ADVANCED} (Jacobian of tanh(W x + b): vector output, argnums=(0, 2))",
      argnums=(0, 2))
def advanced_tanh_layer(W, b, x):
    return np.tanh(W @ x + b)


@case(data.normal(3), source=f"{ADVANCED} (per-example loss with has_aux)", has_aux=True)
def advanced_loss_with_aux(w):
    X = np.asarray(INPUTS)
    y = np.asarray(TARGETS)
    logits = X @ w
    losses = np.logaddexp(0.0, logits) - y * logits
    return np.mean(losses), {"logits": logits, "max": np.max(losses)}


@case((data.normal(3), data.positive(2)), source=f"{ADVANCED} (tuple of arguments as a pytree)")
def advanced_tuple_params(params):
    w, s = params
    return np.sum(np.sin(w)) * s[0] + np.log(s[1]) * np.sum(w ** 2)


@case({"layer": {"w": data.normal(2, 3), "b": data.normal(2)}, "scale": data.positive(1)},
      data.normal(3), source=f"{ADVANCED} (nested dict params, MLP-style)")
def advanced_nested_params(params, x):
    h = np.tanh(params["layer"]["w"] @ x + params["layer"]["b"])
    return params["scale"][0] * np.sum(h ** 2) + 0.1 * np.sum(params["layer"]["w"] ** 2)


# --- lax_autodiff_test: elementwise primitives ----------------------------------------------

@case(data.uniform(-1.0, 1.0, 4), data.uniform(0.5, 2.0, 4),
      source=f"{LAX} (atan2, hypot grads)", argnums=(0, 1))
def lax_atan2_hypot(y, x):
    return np.sum(np.arctan2(y, x) * np.hypot(y, x))


@case(data.positive(4), data.uniform(0.5, 2.5, 4), source=f"{LAX} (pow with traced exponent)",
      argnums=(0, 1))
def lax_pow(x, y):
    return np.sum(x ** y)


@case(data.uniform(-0.8, 0.8, 4), source=f"{LAX} (asin, acos, atan)")
def lax_inverse_trig(x):
    return np.sum(np.arcsin(x) * np.arccos(x / 2) + np.arctan(x) ** 2)


@case(data.uniform(1.2, 2.5, 4), source=f"{LAX} (sinh, cosh, asinh, acosh, atanh)")
def lax_hyperbolic(x):
    return np.sum(np.sinh(x) / np.cosh(x) + np.arcsinh(x) * np.arccosh(x)
                  + np.arctanh(1.0 / x))


@case(data.positive(4), source=f"{LAX} (rsqrt, cbrt, expm1, log1p)")
def lax_roots_and_logs(x):
    return np.sum(1.0 / np.sqrt(x) + np.cbrt(x) * np.expm1(x / 3) + np.log1p(x) ** 2)


@case(data.normal(4), data.normal(4), source=f"{LAX} (max, min grads away from ties)",
      argnums=(0, 1))
def lax_max_min(x, y):
    return np.sum(np.maximum(x, y) ** 2 + np.minimum(x, y) ** 3)


@case(data.uniform(-2.0, 2.0, 6), source=f"{LAX} (clamp)")
def lax_clamp(x):
    return np.sum(np.clip(x * 1.3, -1.1, 1.2) ** 2 + np.sin(x))


@case(data.normal(3, 4), source=f"{LAX} (reduce_window-free cumulative reductions: cumsum axis=1)")
def lax_cumsum_axis1(x):
    return np.sum(np.cumsum(x, axis=1) ** 3)


@case(data.positive(3, 3), source=f"{LAX} (cumprod axis=0)")
def lax_cumprod_axis0(x):
    return np.sum(np.log(np.cumprod(x, axis=0)) ** 2 + np.cumprod(x, axis=0))


@case(data.normal(6), source=f"{LAX} (sort gradient)")
def lax_sort(x):
    s = np.sort(x)
    return np.sum(s * np.arange(1.0, 7.0) * s)


@case(data.normal(2, 3), data.normal(3, 4), source=f"{LAX} (dot_general: matmul, vector output)")
def lax_dot_general(a, b):
    return np.tanh(a @ b)


# --- lax_numpy_test: reductions with axes and array manipulation ----------------------------

@case(data.normal(4, 3), source=f"{LNP} (testVar: axis=0, ddof=1)")
def lnp_var_axis0_ddof(x):
    return np.sum(np.var(x, axis=0, ddof=1) ** 2)


@case(data.normal(3, 4), source=f"{LNP} (testStd: axis=1, keepdims; vector output)")
def lnp_std_keepdims(x):
    return np.std(x, axis=1, keepdims=True)


@case(data.positive(3, 4), source=f"{LNP} (testProd: axis=0)")
def lnp_prod_axis0(x):
    return np.sum(np.prod(x, axis=0) * np.arange(4.0))


@case(data.normal(5), source=f"{LNP} (testNorm: vector ord=3)")
def lnp_norm_ord3(x):
    return np.linalg.norm(x, ord=3)


@case(data.normal(3, 4), source=f"{LNP} (testNorm: matrix 'fro' and rows with axis=1)")
def lnp_norm_fro_axis(x):
    return np.linalg.norm(x, ord="fro") + np.sum(np.linalg.norm(x, axis=1) ** 3)


@case(data.normal(4, 4), source=f"{LNP} (testNorm: matrix ord=1 and ord=inf)")
def lnp_norm_matrix_1_inf(x):
    return np.linalg.norm(x, ord=1) * np.linalg.norm(x, ord=np.inf)


@case(data.normal(2, 4, 4), source=f"{LNP} (testTrace: offset=1, axis1=1, axis2=2)")
def lnp_trace_offset(x):
    return np.sum(np.trace(x, offset=1, axis1=1, axis2=2) ** 2)


@case(data.normal(3, 4, 2), source=f"{LNP} (testDiagonal: offset=-1, axes (0, 1))")
def lnp_diagonal_axes(x):
    return np.sum(np.exp(np.diagonal(x, offset=-1, axis1=0, axis2=1)))


@case(data.normal(4, 4), source=f"{LNP} (testTriLU: triu k=1 and tril k=-1)")
def lnp_triu_tril(x):
    return np.sum(np.triu(x, k=1) ** 2 * np.tril(x, k=-1).T) + np.sum(np.tril(x) ** 3)


@case(data.normal(2, 3, 2), data.normal(2, 2, 3),
      source=f"{LNP} (testEinsum: ellipsis batch matmul)", argnums=(0, 1))
def lnp_einsum_ellipsis(a, b):
    c = np.einsum("...ij,...jk->...ik", a, b)
    return np.einsum("...ii->...", c) @ np.array([1.0, 2.0]) + np.sum(c ** 2)


@case(data.normal(3, 4), data.normal(4), source=f"{LNP} (testEinsum: 'ij,j,ij->i' vector output)",
      argnums=(0, 1))
def lnp_einsum_repeated(a, v):
    return np.einsum("ij,j,ij->i", a, v, a)


@case(data.normal(3, 4), data.normal(3, 4), source=f"{LNP} (testVecdot and testMatvec)",
      argnums=(0, 1))
def lnp_vecdot_matvec(a, b):
    d = np.vecdot(a, b, axis=-1)
    m = np.matvec(a.T @ b, b[0])
    return np.sum(d ** 2) + np.sum(np.sin(m))


@case(data.normal(3, 4), source=f"{LNP} (testMatrixTranspose, testCumulativeSum)")
def lnp_matrix_transpose_cumulative_sum(x):
    return np.sum(np.cumulative_sum(np.matrix_transpose(x), axis=0) ** 2 * x.T)


@case(data.normal(3), data.normal(4), source=f"{LNP} (testOuter, testKron)", argnums=(0, 1))
def lnp_outer_kron(a, b):
    return np.sum(np.outer(a, b) ** 3) + np.sum(np.kron(a, b[:2]) * np.tanh(np.kron(a, b[2:])))


@case(data.normal(4, 3), data.normal(4, 3), source=f"{LNP} (testCross: axis=-1)", argnums=(0, 1))
def lnp_cross(a, b):
    return np.sum(np.cross(a, b) ** 2)


@case(data.normal(3, 2, 2), data.normal(2, 2, 3), source=f"{LNP} (testTensordot axes=2)")
def lnp_tensordot(a, b):
    return np.sum(np.tensordot(a, b, axes=([1, 2], [0, 1])) ** 2)


@case(data.normal(6), source=f"{LNP} (testDiff, testRoll, testFlip)")
def lnp_diff_roll_flip(x):
    return np.sum(np.diff(x, n=2) ** 2 + np.roll(x, 2)[1:5] * np.flip(x)[1:5] ** 2)


@case(data.normal(2, 3), source=f"{LNP} (testTile, testRepeat, testConcatenate, testStack)")
def lnp_tile_repeat_stack(x):
    t = np.tile(x, (2, 1))
    r = np.repeat(x, 2, axis=1)
    s = np.stack([x, x ** 2], axis=0)
    return np.sum(t[:, 0] ** 3) + np.sum(r * r[::-1]) + np.sum(np.concatenate([s, s ** 2]))


@case(data.normal(5), source=f"{LNP} (testTake, fancy indexing)")
def lnp_take_indexing(x):
    idx = np.array([0, 2, 4, 2])
    return np.sum(np.take(x, idx) ** 2 * x[np.array([1, 3, 1, 0])]) + x[-1] ** 3


@case(data.normal(4), source=f"{LNP} (testPolyval, testWhere: vector output)")
def lnp_polyval_where(x):
    p = np.polyval(np.array([1.0, -2.0, 0.5, 3.0]), x)
    return np.where(x > 0, p, np.exp(x) * p)


@case(data.uniform(0.1, 0.9, 4), data.normal(3), source=f"{LNP} (testInterp with traced fp)",
      argnums=1)
def lnp_interp(x, fp):
    return np.sum(np.interp(x, np.array([0.0, 0.5, 1.0]), fp) ** 2)


@case(data.normal(3, 4), source=f"{LNP} (testMean with axis tuple and keepdims)")
def lnp_mean_axes(x):
    m = np.mean(x ** 2, axis=(0, 1), keepdims=True)
    return np.sum((x - m) ** 2 * m)


@case(data.normal(2, 5), 1, source=f"{LNP} (reduction over a static axis)", static_argnums=1)
def lnp_static_axis(x, axis):
    if axis == 0:
        return np.sum(np.max(x, axis=0) ** 2)
    return np.sum(np.max(np.sin(x), axis=axis) ** 3)


# --- scipy_special_test --------------------------------------------------------------------

@case(data.positive(5), source=f"{SPECIAL} (gammaln, digamma)")
def special_gammaln_digamma(x):
    return np.sum(gammaln(x) + digamma(x) * x)


@case(data.positive(4), data.positive(4), source=f"{SPECIAL} (betaln)", argnums=(0, 1))
def special_betaln(a, b):
    return np.sum(betaln(a, b))


@case(data.normal(5), source=f"{SPECIAL} (erf, erfc)")
def special_erf_erfc(x):
    return np.sum(erf(x) * erfc(x / 2))


@case(data.uniform(-0.8, 0.8, 5), source=f"{SPECIAL} (erfinv)")
def special_erfinv(x):
    return np.sum(erfinv(x) ** 2 + erfinv(x))


@case(data.uniform(-3.0, 3.0, 5), source=f"{SPECIAL} (ndtr, log_ndtr)")
def special_ndtr_log_ndtr(x):
    return np.sum(log_ndtr(x) + ndtr(x) ** 2)


@case(data.uniform(0.05, 0.95, 5), source=f"{SPECIAL} (ndtri)")
def special_ndtri(p):
    return np.sum(ndtri(p) * p)


@case(data.normal(5), source=f"{SPECIAL} (expit, logit)")
def special_expit_logit(x):
    return np.sum(logit(0.25 + 0.5 * expit(x)) * expit(2 * x))


@case(data.normal(3, 4), source=f"{SPECIAL} (log_softmax axis=1; vector output)")
def special_log_softmax(x):
    return log_softmax(x, axis=1)


@case(data.normal(4, 3), source=f"{SPECIAL} (softmax axis=0)")
def special_softmax(x):
    return np.sum(softmax(x, axis=0) * WEIGHTS.T)


@case(data.normal(3, 4), data.positive(3, 4),
      source=f"{SPECIAL} (testLogSumExp: axis=1, b, keepdims; vector output)", argnums=(0, 1))
def special_logsumexp_b_keepdims(a, b):
    return logsumexp(a, axis=1, b=b, keepdims=True)


@case(data.normal(2, 3, 2), source=f"{SPECIAL} (testLogSumExp: axis tuple)")
def special_logsumexp_axes(a):
    return np.sum(logsumexp(a, axis=(0, 2)) ** 2)


@case(data.positive(4), data.positive(4), source=f"{SPECIAL} (xlogy, xlog1py)", argnums=(0, 1))
def special_xlogy_xlog1py(x, y):
    return np.sum(xlogy(x, y) + xlog1py(y, x))


@case(data.simplex(5), source=f"{SPECIAL} (entr)")
def special_entr(p):
    return np.sum(entr(p))


@case(data.uniform(0.3, 3.0, 5), source=f"{SPECIAL} (i0e, i1e)")
def special_i0e_i1e(x):
    return np.sum(i0e(x) * i1e(x))


@case(data.positive(4), source=f"{SPECIAL} (polygamma n=1 and n=2)")
def special_polygamma(x):
    return np.sum(polygamma(1, x) + x * polygamma(2, x))


@case(data.uniform(2.5, 4.0, 3), source=f"{SPECIAL} (multigammaln d=3)")
def special_multigammaln(a):
    return np.sum(multigammaln(a[0], 3) + multigammaln(a[1] * a[2], 2))


# --- scipy_stats_test ----------------------------------------------------------------------

@case(data.normal(4), 0.3, 1.4, source=f"{STATS} (testNormLogPdf: loc and scale)",
      argnums=(0, 1, 2))
def stats_norm_logpdf(x, loc, scale):
    return np.sum(stats.norm.logpdf(x, loc, scale))


@case(data.uniform(-2.0, 2.0, 4), data.positive(4), source=f"{STATS} (testNormLogCdf, LogSf)",
      argnums=(0, 1))
def stats_norm_logcdf_logsf(x, scale):
    return np.sum(stats.norm.logcdf(x, scale=scale) + stats.norm.logsf(x / 2, loc=0.1))


@case(data.normal(4), 4.5, source=f"{STATS} (testTLogPdf: df)", argnums=(0, 1))
def stats_t_logpdf(x, df):
    return np.sum(stats.t.logpdf(x, df, loc=0.2, scale=1.3))


@case(data.uniform(0.5, 4.0, 4), 3.2, source=f"{STATS} (testChi2LogPdf)", argnums=(0, 1))
def stats_chi2_logpdf(x, df):
    return np.sum(stats.chi2.logpdf(x, df))


@case(data.positive(4), 2.3, 0.7, source=f"{STATS} (testGammaLogPdf: a, scale)",
      argnums=(0, 1, 2))
def stats_gamma_logpdf(x, a, scale):
    return np.sum(stats.gamma.logpdf(x, a, scale=scale))


@case(data.uniform(0.1, 0.9, 4), 2.5, 1.7, source=f"{STATS} (testBetaLogPdf)",
      argnums=(0, 1, 2))
def stats_beta_logpdf(x, a, b):
    return np.sum(stats.beta.logpdf(x, a, b))


@case(data.counts(6), data.positive(6), source=f"{STATS} (testPoissonLogPmf)", argnums=1)
def stats_poisson_logpmf(k, mu):
    return np.sum(stats.poisson.logpmf(k, mu))


@case(data.counts(5), 3.5, 0.4, source=f"{STATS} (testNBinomLogPmf)", argnums=(1, 2))
def stats_nbinom_logpmf(k, n, p):
    return np.sum(stats.nbinom.logpmf(k, n, p))


@case(data.normal(5), 1.2, source=f"{STATS} (testLogisticLogpdf, LogisticCdf, LogisticSf)",
      argnums=(0, 1))
def stats_logistic(x, scale):
    return np.sum(stats.logistic.logpdf(x, scale=scale)
                  + np.log(stats.logistic.cdf(2 * x) * stats.logistic.sf(x, scale=scale)))


@case(data.positive(4), 0.8, source=f"{STATS} (testExponLogPdf, ExponLogCdf)", argnums=(0, 1))
def stats_expon(x, scale):
    return np.sum(stats.expon.logpdf(x, scale=scale) + stats.expon.logcdf(x, scale=scale))


@case(data.normal(4), -0.2, 0.9, source=f"{STATS} (testCauchyLogPdf)", argnums=(0, 1, 2))
def stats_cauchy_logpdf(x, loc, scale):
    return np.sum(stats.cauchy.logpdf(x, loc, scale))


@case(data.uniform(0.3, 2.0, 4), data.positive(4),
      source=f"{STATS} (testLaplaceLogPdf, away from the kink)", argnums=(0, 1))
def stats_laplace_logpdf(x, scale):
    return np.sum(stats.laplace.logpdf(x, loc=-0.1, scale=scale))


@case(data.normal(5, 3), data.normal(3), source=f"{STATS} (testMultivariateNormalLogpdf: mean)",
      argnums=(0, 1))
def stats_mvn_logpdf_mean(x, mean):
    return np.sum(stats.multivariate_normal.logpdf(x, mean, SPD3))


@case(data.normal(4, 3), data.normal(3, 3), source=f"{STATS} (multivariate_normal with traced cov)",
      argnums=1)
def stats_mvn_logpdf_cov(x, L):
    cov = L @ L.T + np.eye(3)
    return np.sum(stats.multivariate_normal.logpdf(x, np.zeros(3), cov))


@case(data.simplex(4), data.positive(4) + 0.5, source=f"{STATS} (testDirichletLogPdf: alpha)",
      argnums=1)
def stats_dirichlet_logpdf(x, alpha):
    return stats.dirichlet.logpdf(x, alpha)


# --- linalg_test gradients -----------------------------------------------------------------

@case(data.normal(3, 3) + 2.0 * data.spd(3), source=f"{LINALG} (testDetGrad, testSlogdet)")
def linalg_det_slogdet(a):
    sign, logdet = np.linalg.slogdet(a)
    return np.linalg.det(a) + sign * logdet


@case(data.spd(3), source=f"{LINALG} (testInv)")
def linalg_inv(a):
    return np.sum(np.linalg.inv(a) ** 2)


@case(data.spd(3) + data.normal(3, 3, scale=0.2), data.normal(3, 2),
      source=f"{LINALG} (testSolve, matrix right-hand side)", argnums=(0, 1))
def linalg_solve(a, b):
    return np.sum(np.linalg.solve(a, b) ** 2)


@case(data.normal(3, 3), source=f"{LINALG} (testCholeskyGrad of A A^T + I)")
def linalg_cholesky(x):
    a = x @ x.T + np.eye(3)
    L = np.linalg.cholesky(a)
    return np.sum(np.log(np.diagonal(L))) + np.sum(L ** 2)


@case(data.normal(3, 3), source=f"{LINALG} (testEighGrad: eigenvalues of a symmetric matrix)")
def linalg_eigvalsh(x):
    a = x + x.T + np.diag(np.array([0.0, 3.0, 7.0]))
    w = np.linalg.eigvalsh(a)
    return np.sum(w ** 3) + w[0] * w[2]
