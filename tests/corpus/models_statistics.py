"""Statistical models as statisticians write them in NumPy/SciPy: negative log-likelihoods and
log-posteriors with the data as extra arguments, differentiated in the parameters (a packed
vector, a dict, or several arguments through ``argnums``).

The data are simulated at module level with ``data.*`` (plain NumPy in both loads): operators
and array methods on those arrays stay NumPy's, and ``E ** a`` stands in for ``np.exp`` there.
"""

import numpy as np
from scipy import stats
from scipy.linalg import cho_solve, solve_triangular
from scipy.special import betaln, expit, gammaln, i0e, log_ndtr, log_softmax, logsumexp

from corpus import case, data

E = 2.718281828459045
LOG_2PI = 1.8378770664093453


def _design(n, p):
    """An intercept column followed by p - 1 standardised covariates."""
    X = data.normal(n, p)
    X[:, 0] = 1.0
    return X


# --- generalised linear models --------------------------------------------------------------------

N_POIS = 120
X_POIS = _design(N_POIS, 4)
EXPOSURE = data.uniform(0.5, 3.0, N_POIS)
Y_POIS = data.rng.poisson(EXPOSURE * E ** (X_POIS @ [0.3, 0.5, -0.4, 0.2])).astype(float)


@case(data.normal(4, scale=0.3), X_POIS, Y_POIS, EXPOSURE, kind="model",
      source="McCullagh & Nelder, Generalized Linear Models, ch. 6 (Poisson log-linear model "
             "with an offset); statsmodels GLM(family=Poisson) loglike")
def poisson_glm_offset(beta, X, y, exposure):
    eta = X @ beta + np.log(exposure)
    return -np.sum(y * eta - np.exp(eta) - gammaln(y + 1.0))


N_NB = 100
X_NB = _design(N_NB, 3)
_MU_NB = E ** (X_NB @ [1.0, 0.4, -0.3])
Y_NB = data.rng.negative_binomial(2.5, 2.5 / (2.5 + _MU_NB)).astype(float)


@case(data.normal(3, scale=0.3), 0.8, X_NB, Y_NB, kind="model", argnums=(0, 1),
      source="statsmodels discrete_model.NegativeBinomial (NB2 loglike), written with gammaln")
def negative_binomial_regression(beta, log_r, X, y):
    r = np.exp(log_r)
    mu = np.exp(X @ beta)
    ll = (gammaln(r + y) - gammaln(r) - gammaln(y + 1.0)
          + r * (np.log(r) - np.log(r + mu)) + y * (np.log(mu) - np.log(r + mu)))
    return -np.sum(ll)


N_BIN = 150
X_BIN = _design(N_BIN, 4)
Y_PROBIT = ((X_BIN @ [0.2, 0.8, -0.5, 0.3] + data.normal(N_BIN)) > 0).astype(float)


@case(data.normal(4, scale=0.3), X_BIN, Y_PROBIT, kind="model",
      source="Albert & Chib style probit regression; statsmodels Probit.loglike (log_ndtr form)")
def probit_regression(beta, X, y):
    q = 2.0 * y - 1.0
    return -np.sum(log_ndtr(q * (X @ beta)))


N_LOGIT = 150
X_LOGIT = _design(N_LOGIT, 5)
Y_LOGIT = (data.uniform(0, 1, N_LOGIT)
           < 1.0 / (1.0 + E ** -(X_LOGIT @ [-0.3, 1.0, -0.7, 0.4, 0.0]))).astype(float)


@case(data.normal(5, scale=0.3), X_LOGIT, Y_LOGIT, 0.5, kind="model",
      source="scikit-learn LogisticRegression objective (_logistic_loss: L2 penalty, "
             "logaddexp form)")
def logistic_regression_l2(w, X, y, alpha):
    z = X @ w
    # the intercept (w[0]) is not penalised
    return np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * alpha * np.dot(w[1:], w[1:])


N_ORD = 120
K_ORD = 4
X_ORD = data.normal(N_ORD, 3)
_LATENT_ORD = X_ORD @ [0.8, -0.5, 0.3] + data.normal(N_ORD)
_CAT_ORD = (_LATENT_ORD[:, None] > [-0.8, 0.1, 1.0]).sum(axis=1)
Y_ORD = (_CAT_ORD[:, None] == [0, 1, 2, 3]).astype(float)          # one-hot, N x K


@case(data.normal(6, scale=0.3) + [0.0, 0.0, 0.0, -0.8, -0.1, -0.1], X_ORD, Y_ORD,
      kind="model",
      source="proportional-odds (cumulative logit) model, MASS::polr / statsmodels OrderedModel; "
             "cut points as the first one plus log increments, as in Stan's ordered type")
def ordinal_cumulative_logit(theta, X, Y):
    p = X.shape[1]
    beta = theta[:p]
    cuts = np.cumsum(np.concatenate([theta[p:p + 1], np.exp(theta[p + 1:])]))
    eta = X @ beta
    cdf = expit(cuts[None, :] - eta[:, None])                       # N x (K - 1)
    n = X.shape[0]
    cdf = np.concatenate([np.zeros((n, 1)), cdf, np.ones((n, 1))], axis=1)
    probs = np.diff(cdf, axis=1)                                    # N x K
    return -np.sum(Y * np.log(probs))


N_MNL = 150
X_MNL = _design(N_MNL, 3)
_UTIL_MNL = X_MNL @ [[0.0, 0.5, -0.2], [0.0, 0.8, 0.3], [0.0, -0.4, 0.9]] \
    + data.normal(N_MNL, 3)
Y_MNL = (_UTIL_MNL.argmax(axis=1)[:, None] == [0, 1, 2]).astype(float)


@case(data.normal(3, 2, scale=0.3), X_MNL, Y_MNL, kind="model",
      source="multinomial logit with a reference class (Agresti, Categorical Data Analysis "
             "ch. 8); logsumexp over classes and a Gaussian prior on the coefficients")
def multinomial_logit(B, X, Y):
    n = X.shape[0]
    eta = np.concatenate([np.zeros((n, 1)), X @ B], axis=1)         # class 0 is the reference
    loglik = np.sum(Y * eta) - np.sum(logsumexp(eta, axis=1))
    return -loglik + 0.5 * np.sum(B ** 2) / 10.0


N_GAM = 80
X_GAM = _design(N_GAM, 3)
_MU_GAM = E ** (X_GAM @ [1.0, 0.3, -0.2])
Y_GAM = data.rng.gamma(3.0, _MU_GAM / 3.0)


@case(data.normal(4, scale=0.2) + [0.0, 0.0, 0.0, 1.0], X_GAM, Y_GAM, kind="model",
      source="gamma GLM with log link and estimated shape (statsmodels GLM(family=Gamma("
             "link=Log())) with the dispersion as a parameter), via scipy.stats.gamma.logpdf")
def gamma_glm_log_link(theta, X, y):
    beta, log_shape = theta[:-1], theta[-1]
    shape = np.exp(log_shape)
    mu = np.exp(X @ beta)
    return -np.sum(stats.gamma.logpdf(y, shape, scale=mu / shape))


N_BETA = 90
X_BETA = _design(N_BETA, 3)
Y_BETA = data.uniform(0.05, 0.95, N_BETA)


@case(data.normal(3, scale=0.3), 1.5, X_BETA, Y_BETA, kind="model", argnums=(0, 1),
      source="beta regression (Ferrari & Cribari-Neto 2004; R betareg), mean-precision "
             "parametrisation with betaln")
def beta_regression(beta, log_phi, X, y):
    mu = expit(X @ beta)
    phi = np.exp(log_phi)
    a, b = mu * phi, (1.0 - mu) * phi
    ll = -betaln(a, b) + (a - 1.0) * np.log(y) + (b - 1.0) * np.log1p(-y)
    return -np.sum(ll)


N_ZIP = 120
X_ZIP = _design(N_ZIP, 3)
Z_ZIP = _design(N_ZIP, 2)
_STRUCTURAL_ZERO = data.uniform(0, 1, N_ZIP) < 0.25
Y_ZIP = (data.rng.poisson(E ** (X_ZIP @ [0.8, 0.4, -0.3])) * ~_STRUCTURAL_ZERO).astype(float)


@case(data.normal(3, scale=0.3), data.normal(2, scale=0.3), X_ZIP, Z_ZIP, Y_ZIP,
      kind="model", argnums=(0, 1),
      source="zero-inflated Poisson regression (Lambert 1992; statsmodels "
             "ZeroInflatedPoisson.loglike): logit inflation, log-link counts")
def zero_inflated_poisson(beta, gamma, X, Z, y):
    eta = X @ beta
    lam = np.exp(eta)
    w = Z @ gamma
    log_pi = -np.logaddexp(0.0, -w)          # log P(structural zero)
    log_1m_pi = -np.logaddexp(0.0, w)
    ll_zero = np.logaddexp(log_pi, log_1m_pi - lam)
    ll_count = log_1m_pi + y * eta - lam - gammaln(y + 1.0)
    return -np.sum(np.where(y == 0, ll_zero, ll_count))


# --- robust and heavy-tailed regression -----------------------------------------------------------

N_T = 100
X_T = _design(N_T, 3)
Y_T = X_T @ [1.0, -2.0, 0.5] + 0.7 * data.rng.standard_t(4.0, N_T)


@case(data.normal(3, scale=0.3), -0.2, 1.2, X_T, Y_T, kind="model", argnums=(0, 1, 2),
      source="Student-t regression (Lange, Little & Taylor 1989), scipy.stats.t.logpdf with "
             "log scale and log degrees of freedom")
def student_t_regression(beta, log_sigma, log_nu, X, y):
    return -np.sum(stats.t.logpdf(y, np.exp(log_nu), loc=X @ beta, scale=np.exp(log_sigma)))


# --- survival -------------------------------------------------------------------------------------

N_WEI = 100
X_WEI = _design(N_WEI, 3)
_SCALE_WEI = E ** (X_WEI @ [1.0, 0.3, -0.4])
_T_EVENT = _SCALE_WEI * data.rng.weibull(1.5, N_WEI)
_T_CENSOR = data.uniform(0.5, 6.0, N_WEI)
T_WEI = _T_EVENT * (_T_EVENT <= _T_CENSOR) + _T_CENSOR * (_T_EVENT > _T_CENSOR)
DELTA_WEI = (_T_EVENT <= _T_CENSOR).astype(float)


@case(data.normal(3, scale=0.3), 0.3, X_WEI, T_WEI, DELTA_WEI, kind="model", argnums=(0, 1),
      source="Weibull accelerated-failure-time model with right censoring (lifelines "
             "WeibullAFTFitter / survreg(dist='weibull'))")
def weibull_survival_censored(beta, log_k, X, t, delta):
    k = np.exp(log_k)
    log_lam = X @ beta
    z = np.log(t) - log_lam
    log_hazard = log_k - log_lam + (k - 1.0) * z
    log_surv = -np.exp(k * z)                      # -(t / lam) ** k
    return -np.sum(delta * log_hazard + log_surv)


N_COX = 80
X_COX = data.normal(N_COX, 4)
_T_COX = E ** -(X_COX @ [0.5, -0.3, 0.2, 0.0]) * data.rng.exponential(1.0, N_COX)
_ORDER_COX = _T_COX.argsort()                       # increasing times: risk set of i is j >= i
X_COX = X_COX[_ORDER_COX]
EVENT_COX = (data.uniform(0, 1, N_COX) < 0.7).astype(float)


@case(data.normal(4, scale=0.2), X_COX, EVENT_COX, kind="model",
      source="Cox proportional hazards partial likelihood (lifelines CoxPHFitter, Breslow, no "
             "ties): rows sorted by time, risk sets by a reversed cumulative sum")
def cox_partial_likelihood(beta, X, event):
    eta = X @ beta
    log_risk = np.log(np.cumsum(np.exp(eta)[::-1])[::-1])
    return -np.sum(event * (eta - log_risk))


N_STRAT = 60
X_STRAT = data.normal(N_STRAT, 3)
T_STRAT = data.rng.exponential(1.0, N_STRAT)
STRATUM = (data.uniform(0, 1, N_STRAT) < 0.5)
# R[i, j] = 1 when subject j is at risk at subject i's time, in i's stratum
RISK_STRAT = ((T_STRAT[None, :] >= T_STRAT[:, None])
              & (STRATUM[None, :] == STRATUM[:, None])).astype(float)
EVENT_STRAT = (data.uniform(0, 1, N_STRAT) < 0.8).astype(float)


@case(data.normal(3, scale=0.2), X_STRAT, RISK_STRAT, EVENT_STRAT, kind="model",
      source="stratified Cox model (survival::coxph(strata=)): risk sets as a constant 0/1 "
             "mask, logsumexp with weights b")
def cox_stratified_mask(beta, X, risk, event):
    eta = X @ beta
    log_denominator = logsumexp(eta[None, :], b=risk, axis=1)
    return -np.dot(event, eta - log_denominator)


# --- mixtures and directional data ---------------------------------------------------------------

N_MIX = 150
X_MIX = data.normal(N_MIX)
X_MIX[:50] = X_MIX[:50] * 0.5 - 2.0
X_MIX[50:110] = X_MIX[50:110] * 0.8 + 1.0
X_MIX[110:] = X_MIX[110:] * 0.4 + 3.5


@case({"logits": data.normal(3, scale=0.2), "mu": data.normal(3) + [-2.0, 1.0, 3.5],
       "log_sigma": data.normal(3, scale=0.1) - 0.5}, X_MIX, kind="model",
      source="three-component Gaussian mixture log-likelihood (Bishop PRML ch. 9), "
             "log_softmax weights and logsumexp over components")
def gaussian_mixture_3(params, x):
    log_w = log_softmax(params["logits"])
    comp = stats.norm.logpdf(x[:, None], params["mu"], np.exp(params["log_sigma"]))
    return -np.sum(logsumexp(log_w + comp, axis=1))


N_VM = 100
X_VM = data.normal(N_VM, 2)
THETA_VM = 0.5 + 2.0 * (X_VM @ [0.4, -0.3]) + 0.4 * data.normal(N_VM)
THETA_VM = (THETA_VM + 3.141592653589793) % 6.283185307179586 - 3.141592653589793


@case(data.normal(4, scale=0.2) + [0.5, 0.0, 0.0, 1.5], X_VM, THETA_VM, kind="model",
      source="circular-linear regression with von Mises errors (Fisher & Lee 1992): mean "
             "direction mu + 2 arctan(X b), log I0 via i0e")
def von_mises_regression(theta, X, angle):
    mu0, b, log_kappa = theta[0], theta[1:3], theta[3]
    kappa = np.exp(log_kappa)
    mean_dir = mu0 + 2.0 * np.arctan(X @ b)
    log_norm = LOG_2PI + np.log(i0e(kappa)) + kappa            # log(2 pi I0(kappa))
    return -np.sum(kappa * np.cos(angle - mean_dir) - log_norm)


# --- hierarchical and latent-Gaussian models ------------------------------------------------------

SCHOOLS_Y = data.normal(8, scale=0.0) + (28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0)
SCHOOLS_SIGMA = data.normal(8, scale=0.0) + (15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0)


@case({"mu": 4.0, "log_tau": 1.2, "eta": data.normal(8, scale=0.5)}, SCHOOLS_Y, SCHOOLS_SIGMA,
      kind="model",
      source="eight schools, non-centred parametrisation (Rubin 1981; Stan/PyMC examples): "
             "half-Cauchy(5) prior on tau, log-Jacobian of tau = exp(log_tau)")
def eight_schools_noncentered(params, y, sigma):
    mu, log_tau, eta = params["mu"], params["log_tau"], params["eta"]
    tau = np.exp(log_tau)
    theta = mu + tau * eta
    log_lik = stats.norm.logpdf(y, theta, sigma).sum()
    log_prior = (stats.norm.logpdf(mu, 0.0, 5.0)
                 + np.log(2.0) + stats.cauchy.logpdf(tau, 0.0, 5.0) + log_tau
                 + stats.norm.logpdf(eta).sum())
    return log_lik + log_prior


N_GP = 30
X_GP = data.uniform(0.0, 5.0, N_GP, 2)
Y_GP = data.normal(N_GP, scale=0.1) + (X_GP[:, 0] - 2.5) * (X_GP[:, 1] - 2.5) / 4.0


@case(data.normal(4, scale=0.1) + [0.0, 0.3, 0.0, -1.5], X_GP, Y_GP, kind="model",
      source="Gaussian-process marginal likelihood with an ARD RBF kernel (Rasmussen & "
             "Williams, GPML Algorithm 2.1), hyperparameters in logs")
def gp_marginal_likelihood_rbf(log_hyp, X, y):
    ell = np.exp(log_hyp[:2])
    sf2 = np.exp(2.0 * log_hyp[2])
    sn2 = np.exp(2.0 * log_hyp[3])
    d = (X[:, None, :] - X[None, :, :]) / ell
    K = sf2 * np.exp(-0.5 * np.sum(d ** 2, axis=-1)) + sn2 * np.eye(X.shape[0])
    L = np.linalg.cholesky(K)
    alpha = cho_solve((L, True), y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * X.shape[0] * LOG_2PI


N_MVN = 100
_L_TRUE = data.normal(3, 3, scale=0.0) + [[1.0, 0.0, 0.0], [0.5, 0.8, 0.0], [-0.3, 0.4, 0.6]]
Y_MVN = data.normal(N_MVN, 3) @ _L_TRUE.T + [1.0, -1.0, 0.5]


@case({"mu": data.normal(3, scale=0.3), "log_diag": data.normal(3, scale=0.1),
       "offdiag": data.normal(3, scale=0.3)}, Y_MVN, kind="model",
      source="multivariate normal with a Cholesky-parametrised covariance (Pinheiro & Bates "
             "1996 log-Cholesky; Stan cholesky_factor_cov), solve_triangular")
def mvn_cholesky_loglik(params, Y):
    a, b, c = params["offdiag"][0], params["offdiag"][1], params["offdiag"][2]
    L = np.diag(np.exp(params["log_diag"])) + np.array([[0.0, 0.0, 0.0],
                                                        [a, 0.0, 0.0],
                                                        [b, c, 0.0]])
    n, d = Y.shape
    Z = solve_triangular(L, (Y - params["mu"]).T, lower=True)
    return (-0.5 * np.sum(Z ** 2) - n * np.sum(params["log_diag"]) - 0.5 * n * d * LOG_2PI)


N_AR = 120
_EPS_AR = data.normal(N_AR)
Y_AR = data.normal(N_AR, scale=0.0)
Y_AR[0] = _EPS_AR[0] / (1.0 - 0.6 ** 2) ** 0.5
for _t in range(1, N_AR):
    Y_AR[_t] = 0.6 * Y_AR[_t - 1] + _EPS_AR[_t]
Y_AR = 2.0 + 0.8 * Y_AR


@case(data.normal(3, scale=0.1) + [2.0, 0.7, -0.2], Y_AR, kind="model", has_aux=True,
      source="exact Gaussian AR(1) likelihood (Hamilton, Time Series Analysis §5.2; "
             "statsmodels ARIMA), phi = tanh(a) for stationarity; residuals as aux")
def ar1_exact_likelihood(theta, y):
    mu, phi, log_sigma = theta[0], np.tanh(theta[1]), theta[2]
    sigma2 = np.exp(2.0 * log_sigma)
    e = (y[1:] - mu) - phi * (y[:-1] - mu)
    v0 = sigma2 / (1.0 - phi ** 2)
    nll0 = 0.5 * (LOG_2PI + np.log(v0) + (y[0] - mu) ** 2 / v0)
    nll = nll0 + 0.5 * np.sum(LOG_2PI + np.log(sigma2) + e ** 2 / sigma2)
    return nll, e


N_DM = 60
_P_DM = data.rng.dirichlet([2.0, 1.0, 3.0, 1.5], N_DM)
COUNTS_DM = data.rng.multinomial(20, _P_DM).astype(float)


@case(data.normal(4, scale=0.2) + 0.5, COUNTS_DM, kind="model",
      source="Dirichlet-multinomial (Polya) likelihood for overdispersed counts (Minka 2000, "
             "Estimating a Dirichlet distribution), log concentration parameters")
def dirichlet_multinomial(log_alpha, counts):
    alpha = np.exp(log_alpha)
    a0 = np.sum(alpha)
    n = np.sum(counts, axis=1)
    ll = (gammaln(a0) - gammaln(n + a0)
          + np.sum(gammaln(counts + alpha) - gammaln(alpha), axis=1)
          + gammaln(n + 1.0) - np.sum(gammaln(counts + 1.0), axis=1))
    return -np.sum(ll)


N_AFT = 50
X_AFT = _design(N_AFT, 3)
T_AFT = data.rng.gamma(2.0, 1.0, N_AFT) * E ** (X_AFT @ np.array([0.3, 0.5, -0.2]))
OBSERVED_AFT = data.rng.uniform(size=N_AFT) < 0.7


@case(data.normal(3, scale=0.1), X_AFT, T_AFT, OBSERVED_AFT, kind="model",
      source="gamma accelerated-failure-time regression with right censoring, known shape "
             "(Klein & Moeschberger, Survival Analysis §12; lifelines' parametric AFT fitters): "
             "log-density of the failures, log-survival of the censored")
def gamma_aft_censored(beta, X, t, observed):
    scale = np.exp(X @ beta)
    return -np.sum(np.where(observed, stats.gamma.logpdf(t, 2.0, scale=scale),
                            stats.gamma.logsf(t, 2.0, scale=scale)))


N_TOBIT_T = 40
X_TT = _design(N_TOBIT_T, 2)
Y_TT = np.maximum(X_TT @ np.array([0.5, 1.0]) + data.rng.standard_t(5.0, N_TOBIT_T), 0.0)


@case(data.normal(3, scale=0.1) + [0.4, 0.9, 0.0], X_TT, Y_TT, kind="model",
      jax="jax.scipy.stats.t has no logcdf",
      source="Tobit regression with Student-t errors (5 degrees of freedom), censored at 0 "
             "(Amemiya, Advanced Econometrics §10; robust Tobit): t.logcdf for the censored")
def student_t_tobit(theta, X, y):
    scale = np.exp(theta[2])
    mu = X @ theta[:2]
    censored = y <= 0.0
    return -np.sum(np.where(censored, stats.t.logcdf(-mu / scale, 5.0),
                            stats.t.logpdf(y, 5.0, loc=mu, scale=scale)))
