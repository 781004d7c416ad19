"""``scipy.stats`` log-densities written in NumPy, for traced values.

The methods users write models with (``norm.logpdf(x, loc, scale)``, ``poisson.logpmf(k, mu)``,
``multivariate_normal.logpdf(x, mean, cov)``, frozen distributions too) are interposed on their
classes while a function is traced (`symhess.foreign`); called with a traced argument they run
the family's density here, built from `symhess.foreign.scipy_special`'s careful functions
(``gammaln``, ``xlogy``, ...) and NumPy's linear algebra; the distribution functions (``cdf``,
``logcdf``, ``sf``, ``logsf``) of ``norm`` (``ndtr``, ``log_ndtr``), ``logistic``, ``expon``,
``gamma``, ``chi2``, ``poisson`` (the incomplete gamma function), ``beta``, ``t``, ``nbinom``
and ``binom`` (the incomplete beta function) and ``geom`` likewise, each tail and its logarithm
computed where it is accurate, and the quantile functions (``ppf``, ``isf``) of ``norm``
(``ndtri``), ``logistic`` and ``expon``. A family or method without a definition here
(``gumbel_r.logpdf``, ``cauchy.logcdf``) raises `UnsupportedFunctionError` naming it.
"""

from __future__ import annotations

import numpy as np

from ..errors import OptionValueError, UnsupportedFunctionError
from . import incomplete, scipy_special as sp

__all__ = ["METHODS", "families"]

_LOG_2PI = float(np.log(2 * np.pi))


def _inside(condition, value):
    """``value`` where ``condition`` holds, else ``-inf`` (outside the support)."""
    return np.where(condition, value, -np.inf)


# standardized log-densities of the continuous families: (z, *shapes) -> log f(z)
_CONTINUOUS = {
    "norm": lambda z: -0.5 * z * z - 0.5 * _LOG_2PI,
    "t": lambda z, df: (sp.gammaln(0.5 * (df + 1)) - sp.gammaln(0.5 * df)
                        - 0.5 * np.log(df * np.pi) - 0.5 * (df + 1) * np.log1p(z * z / df)),
    "cauchy": lambda z: -np.log(np.pi) - np.log1p(z * z),
    "laplace": lambda z: -np.abs(z) - np.log(2.0),
    "logistic": lambda z: -z - 2.0 * np.logaddexp(0.0, -z),
    "expon": lambda z: _inside(z >= 0, -z),
    "chi2": lambda z, df: _inside(z >= 0, sp.xlogy(0.5 * df - 1, z) - 0.5 * z
                                  - sp.gammaln(0.5 * df) - 0.5 * df * np.log(2.0)),
    "gamma": lambda z, a: _inside(z >= 0, sp.xlogy(a - 1, z) - z - sp.gammaln(a)),
    "beta": lambda z, a, b: _inside(np.logical_and(z >= 0, z <= 1),
                                    sp.xlogy(a - 1, z) + sp.xlog1py(b - 1, -z) - sp.betaln(a, b)),
    "lognorm": lambda z, s: _inside(z > 0, -np.log(s * z) - 0.5 * _LOG_2PI
                                    - 0.5 * (np.log(np.where(z > 0, z, 1.0)) / s) ** 2),
}

# log-pmfs of the discrete families: (k, *shapes) -> log p(k)
_DISCRETE = {
    "poisson": lambda k, mu: sp.xlogy(k, mu) - mu - sp.gammaln(k + 1),
    "nbinom": lambda k, n, p: (sp.gammaln(k + n) - sp.gammaln(n) - sp.gammaln(k + 1)
                               + n * np.log(p) + sp.xlog1py(k, -p)),
    "binom": lambda k, n, p: (sp.gammaln(n + 1) - sp.gammaln(k + 1) - sp.gammaln(n - k + 1)
                              + sp.xlogy(k, p) + sp.xlog1py(n - k, -p)),
    "bernoulli": lambda k, p: sp.xlogy(k, p) + sp.xlog1py(1 - k, -p),
    "geom": lambda k, p: sp.xlog1py(k - 1, -p) + np.log(p),
}


def families() -> list[str]:
    """``scipy.stats.<family>.<method>`` for every density here."""
    return sorted([f"scipy.stats.{f}.logpdf" for f in _CONTINUOUS]
                  + [f"scipy.stats.{f}.pdf" for f in _CONTINUOUS]
                  + [f"scipy.stats.{f}.{m}" for f in _CUMULATIVE for m in _CUMULATIVE_METHODS]
                  + [f"scipy.stats.{f}.{m}" for f in _QUANTILE for m in _QUANTILE_METHODS]
                  + [f"scipy.stats.{f}.logpmf" for f in _DISCRETE]
                  + [f"scipy.stats.{f}.pmf" for f in _DISCRETE]
                  + [f"scipy.stats.{f}.{m}" for f in _DISCRETE_CUMULATIVE
                     for m in _CUMULATIVE_METHODS]
                  + [f"scipy.stats.{f}.{m}" for f in ("multivariate_normal", "dirichlet")
                     for m in ("logpdf", "pdf")])


def _family(dist, table, method):
    name = type(dist).__name__.removesuffix("_gen")
    if name not in table:
        raise UnsupportedFunctionError(
            f"scipy.stats.{name}.{method}", "symhess has no density for this family; the "
            "families it traces are listed by symhess.supported_functions()")
    return name, table[name]


def _arguments(dist, name, method, args, kwds, keywords):
    """SciPy's shape parameters and location/scale from ``args``/``kwds``, by SciPy's names."""
    shapes = [s.strip() for s in (dist.shapes or "").split(",") if s.strip()]
    names = shapes + list(keywords)
    values = dict(zip(names, args))
    if len(args) > len(names):
        raise OptionValueError(f"scipy.stats.{name}.{method} takes {len(names)} parameters "
                               f"({', '.join(names)}); got {len(args)}")
    for key, value in kwds.items():
        if key not in names or key in values:
            raise OptionValueError(f"scipy.stats.{name}.{method}: unexpected or repeated "
                                   f"parameter {key}=")
        values[key] = value
    missing = [s for s in shapes if s not in values]
    if missing:
        raise OptionValueError(f"scipy.stats.{name}.{method} needs {', '.join(missing)}")
    return [values[s] for s in shapes], [values.get(k, d) for k, d in keywords.items()]


def continuous_logpdf(dist, x, *args, **kwds):
    """``rv_continuous.logpdf``: the standardized density at ``(x - loc) / scale``, less
    ``log(scale)``."""
    name, density = _family(dist, _CONTINUOUS, "logpdf")
    shapes, (loc, scale) = _arguments(dist, name, "logpdf", args, kwds,
                                      {"loc": 0.0, "scale": 1.0})
    return density((x - loc) / scale, *shapes) - np.log(scale)


def _expon_cdf(z):
    return np.where(z > 0, -np.expm1(-np.where(z > 0, z, 1.0)), 0.0)


def _expon_logcdf(z):
    """``log(1 - exp(-z))``: through expm1 below log 2, log1p above (each exact there)."""
    near = np.logical_and(z > 0, z <= np.log(2.0))
    zn, zf = np.where(near, z, 0.5), np.where(z > np.log(2.0), z, 1.0)
    return np.where(z > np.log(2.0), np.log1p(-np.exp(-zf)),
                    np.where(near, np.log(-np.expm1(-zn)), -np.inf))


# The distribution functions of the gamma, chi2, beta and t families call the incomplete
# functions on an argument held inside their domain by conditions on z alone (`gamma_inside`,
# `beta_inside`), and give the edges' values themselves.
def _gamma_family(z, a, upper, log):
    """``P(a, z)`` (``Q`` where ``upper``; their logarithms where ``log``): 0 (1) at and below
    0, 1 (0) at infinity."""
    inside = np.logical_and(z > 0, z < np.inf)
    zi = np.where(inside, z, 1.0)
    edge = np.where(z > 0, 0.0 if upper else 1.0, 1.0 if upper else 0.0)
    value = np.where(inside, incomplete.gamma_inside(upper, a, zi), edge)
    if not log:
        return value
    other = np.where(inside, incomplete.gamma_inside(1 - upper, a, zi), 1.0 - edge)
    # (the algorithm computes P itself for z < a + 1, Q itself above)
    return _log_of_either(value, other, (z >= a + 1.0) if upper else (z < a + 1.0))


def _beta_family(z, a, b, upper, log):
    """``I_z(a, b)`` (its complement where ``upper``; their logarithms where ``log``)."""
    inside = np.logical_and(z > 0, z < 1)
    zi = np.where(inside, z, 0.5)
    edge = np.where(z > 0, 0.0 if upper else 1.0, 1.0 if upper else 0.0)
    value = np.where(inside, incomplete.beta_inside(upper, a, b, zi), edge)
    if not log:
        return value
    other = np.where(inside, incomplete.beta_inside(1 - upper, a, b, zi), 1.0 - edge)
    direct = z * (a + b + 2.0) < a + 1.0        # (where the algorithm computes I itself)
    return _log_of_either(value, other, np.logical_not(direct) if upper else direct)


def _log_of_either(value, other, exact):
    """``log(value)`` where ``value = 1 - other``: itself where the algorithm computes
    ``value`` directly (``exact``, a condition on the arguments alone), else ``log1p(-other)``
    (where ``value`` is the complement computed, ``other`` is exact)."""
    return np.where(exact, np.log(np.where(exact, value, 1.0)),
                    np.log1p(-np.where(exact, 0.0, other)))


# (the t density's Taylor series about 0, whose terms to z^7 leave under 1e-18 of the cdf's
# change and 1e-16 of its second derivative below this; at z = 0 itself the incomplete beta
# function's argument would be 0, the edge of its domain)
_T_CENTRE = 1e-3


def _t_centre(z, df):
    """``t.cdf(z, df) - 1/2`` for ``|z| < _T_CENTRE``: ``pdf(0) sum_k binom(-(df+1)/2, k)
    z^(2k+1) / (df^k (2k+1))``."""
    pdf0 = np.exp(sp.gammaln(0.5 * (df + 1)) - sp.gammaln(0.5 * df)) / np.sqrt(np.pi * df)
    coefficient, total, power = 1.0, z, z
    for k in range(1, 4):
        coefficient = coefficient * (-0.5 * (df + 1) - (k - 1)) / k / df
        power = power * z * z
        total = total + coefficient * power / (2 * k + 1)
    return pdf0 * total


def _t_family(z, df, upper, log):
    """``t.cdf(z, df)`` (``t.sf`` where ``upper``; their logarithms where ``log``): the lower
    tail ``I_(df / (df + z^2))(df/2, 1/2) / 2`` for ``z < 0`` and one less it above, its
    argument written without cancellation (through ``betaincc`` of ``z^2 / (df + z^2)`` where
    that is the smaller); the Taylor series about 0."""
    s = -z if upper else z
    centre = np.abs(s) < _T_CENTRE
    zz = s * s
    near = np.logical_and(zz < df, ~centre)
    far = np.logical_and(zz >= df, zz < np.inf)
    wn, wf = np.where(near, zz, 1.0), np.where(far, zz, 2.0 * df)
    tail = 0.5 * np.where(near, incomplete.beta_inside(1, 0.5, 0.5 * df, wn / (df + wn)),
                          np.where(far, incomplete.beta_inside(0, 0.5 * df, 0.5, df / (df + wf)),
                                   0.0))
    if log:
        value = np.where(s < 0, np.log(tail), np.log1p(-tail))
        middle = np.log(0.5 + _t_centre(np.where(centre, s, 0.0), df))
    else:
        value = np.where(s < 0, tail, 1.0 - tail)
        middle = 0.5 + _t_centre(np.where(centre, s, 0.0), df)
    return np.where(centre, middle, value)


def _methods(family):
    """``(cdf, logcdf, sf, logsf)`` of ``family(z, *shapes, upper, log)``."""
    return tuple(lambda z, *shapes, u=upper, g=log: family(z, *shapes, u, g)
                 for upper, log in ((0, False), (0, True), (1, False), (1, True)))


# standardized distribution functions: (z, *shapes) -> (cdf, logcdf, sf, logsf), each written
# where it is accurate (the upper tail through the lower one's mirror image, or its own
# complementary function)
_CUMULATIVE = {
    "norm": (sp.ndtr, sp.log_ndtr, lambda z: sp.ndtr(-z), lambda z: sp.log_ndtr(-z)),
    "logistic": (sp.expit, sp.log_expit, lambda z: sp.expit(-z), lambda z: sp.log_expit(-z)),
    "expon": (_expon_cdf, _expon_logcdf, lambda z: np.exp(-np.maximum(z, 0.0)),
              lambda z: -np.maximum(z, 0.0)),
    "gamma": _methods(_gamma_family),
    "chi2": _methods(lambda z, df, upper, log: _gamma_family(0.5 * z, 0.5 * df, upper, log)),
    "beta": _methods(_beta_family),
    "t": _methods(_t_family),
}
_CUMULATIVE_METHODS = ("cdf", "logcdf", "sf", "logsf")


def _cumulative(method):
    """``rv_continuous.<method>`` for ``method`` of `_CUMULATIVE_METHODS`, at ``(x - loc) /
    scale``."""
    which = _CUMULATIVE_METHODS.index(method)

    def definition(dist, x, *args, **kwds):
        name, functions = _family(dist, _CUMULATIVE, method)
        shapes, (loc, scale) = _arguments(dist, name, method, args, kwds,
                                          {"loc": 0.0, "scale": 1.0})
        return functions[which]((x - loc) / scale, *shapes)
    definition.__name__ = f"continuous_{method}"
    return definition


# standardized quantile functions: q -> (ppf, isf), each exact in its own tail
_QUANTILE = {
    "norm": (sp.ndtri, lambda q: -sp.ndtri(q)),
    "logistic": (sp.logit, lambda q: -sp.logit(q)),
    "expon": (lambda q: -np.log1p(-q), lambda q: -np.log(np.where(q <= 1, q, np.nan))),
}
_QUANTILE_METHODS = ("ppf", "isf")


def _quantile(method):
    """``rv_continuous.<method>`` for ``ppf`` and ``isf``: ``loc + scale z(q)``."""
    which = _QUANTILE_METHODS.index(method)

    def definition(dist, q, *args, **kwds):
        name, functions = _family(dist, _QUANTILE, method)
        _, (loc, scale) = _arguments(dist, name, method, args, kwds,
                                     {"loc": 0.0, "scale": 1.0})
        return loc + scale * functions[which](q)
    definition.__name__ = f"continuous_{method}"
    return definition


def continuous_pdf(dist, x, *args, **kwds):
    """``rv_continuous.pdf``."""
    return np.exp(continuous_logpdf(dist, x, *args, **kwds))


def discrete_logpmf(dist, k, *args, **kwds):
    """``rv_discrete.logpmf`` at ``k - loc``."""
    name, mass = _family(dist, _DISCRETE, "logpmf")
    shapes, (loc,) = _arguments(dist, name, "logpmf", args, kwds, {"loc": 0})
    return mass(k - loc, *shapes)


def _counts(k):
    """``(floor(k), k < 0)``, with a stand-in 0 below 0: the discrete distribution functions are
    those of the count at or below ``k``."""
    below = k < 0
    return np.floor(np.where(below, 0.0, k)), below


def _below_support(below, value, upper, log):
    """``value``, and below the support the cdf's 0 (the sf's 1), or their logarithms."""
    return np.where(below, (0.0 if upper else -np.inf) if log else float(upper), value)


def _poisson_cumulative(k, mu, upper, log):
    """``poisson.cdf = Q(floor(k) + 1, mu)`` (``sf = P``), of the incomplete gamma function."""
    kf, below = _counts(k)
    value = _gamma_family(mu, kf + 1.0, 1 - upper, log)
    return _below_support(below, value, upper, log)


def _nbinom_cumulative(k, n, p, upper, log):
    """``nbinom.cdf = I_p(n, floor(k) + 1)``, of the incomplete beta function."""
    kf, below = _counts(k)
    value = _beta_family(p, n, kf + 1.0, upper, log)
    return _below_support(below, value, upper, log)


def _binom_cumulative(k, n, p, upper, log):
    """``binom.cdf = 1 - I_p(floor(k) + 1, n - floor(k))`` for ``0 <= k < n``; 1 from ``n``."""
    kf, below = _counts(k)
    top = kf >= n
    value = _beta_family(p, kf + 1.0, np.where(top, 1.0, n - kf), 1 - upper, log)
    at_top = (-np.inf if upper else 0.0) if log else float(1 - upper)
    value = np.where(top, at_top, value)
    return _below_support(below, value, upper, log)


def _geom_cumulative(k, p, upper, log):
    """``geom.sf = (1 - p)^floor(k)`` for ``k >= 1`` (``cdf = 1 - sf``)."""
    kf, below = _counts(k)
    log_sf = kf * np.log1p(-p)
    if upper:
        return log_sf if log else np.exp(log_sf)
    return np.log(-np.expm1(log_sf)) if log else -np.expm1(log_sf)


# the discrete families' distribution functions: (k, *shapes) -> (cdf, logcdf, sf, logsf)
_DISCRETE_CUMULATIVE = {
    "poisson": _methods(_poisson_cumulative), "nbinom": _methods(_nbinom_cumulative),
    "binom": _methods(_binom_cumulative), "geom": _methods(_geom_cumulative),
}


def _discrete_cumulative(method):
    """``rv_discrete.<method>`` for ``method`` of `_CUMULATIVE_METHODS`, at ``k - loc``."""
    which = _CUMULATIVE_METHODS.index(method)

    def definition(dist, k, *args, **kwds):
        name, functions = _family(dist, _DISCRETE_CUMULATIVE, method)
        shapes, (loc,) = _arguments(dist, name, method, args, kwds, {"loc": 0})
        return functions[which](k - loc, *shapes)
    definition.__name__ = f"discrete_{method}"
    return definition


def discrete_pmf(dist, k, *args, **kwds):
    """``rv_discrete.pmf``."""
    return np.exp(discrete_logpmf(dist, k, *args, **kwds))


def multivariate_normal_logpdf(dist, x, mean=None, cov=1, allow_singular=False):
    """``multivariate_normal.logpdf``: ``x`` of shape ``(..., d)``; ``cov`` a matrix, a vector
    (its diagonal) or a number (times the identity)."""
    d = np.shape(x)[-1]
    r = x if mean is None else x - mean
    if np.ndim(cov) == 2:
        _, logdet = np.linalg.slogdet(cov)
        quad = np.sum(r * np.moveaxis(np.linalg.solve(cov, np.moveaxis(r, -1, 0)), 0, -1),
                      axis=-1)
    else:
        var = cov * np.ones(d) if np.ndim(cov) == 0 else cov
        logdet = np.sum(np.log(var))
        quad = np.sum(r * r / var, axis=-1)
    return -0.5 * (d * _LOG_2PI + logdet + quad)


def multivariate_normal_pdf(dist, x, mean=None, cov=1, allow_singular=False):
    """``multivariate_normal.pdf``."""
    return np.exp(multivariate_normal_logpdf(dist, x, mean, cov, allow_singular))


def dirichlet_logpdf(dist, x, alpha):
    """``dirichlet.logpdf``: ``x`` on the simplex along its first axis, as SciPy takes it."""
    alpha = np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))
    return (sp.gammaln(np.sum(alpha, axis=0)) - np.sum(sp.gammaln(alpha), axis=0)
            + np.sum(sp.xlogy(alpha - 1, x), axis=0))


def dirichlet_pdf(dist, x, alpha):
    """``dirichlet.pdf``."""
    return np.exp(dirichlet_logpdf(dist, x, alpha))


# (module, class) -> {method: definition(self, *args, **kwargs)}
METHODS = {
    ("scipy.stats._distn_infrastructure", "rv_continuous"):
        {"logpdf": continuous_logpdf, "pdf": continuous_pdf,
         **{method: _cumulative(method) for method in _CUMULATIVE_METHODS},
         **{method: _quantile(method) for method in _QUANTILE_METHODS}},
    ("scipy.stats._distn_infrastructure", "rv_discrete"):
        {"logpmf": discrete_logpmf, "pmf": discrete_pmf,
         **{method: _discrete_cumulative(method) for method in _CUMULATIVE_METHODS}},
    ("scipy.stats._multivariate", "multivariate_normal_gen"):
        {"logpdf": multivariate_normal_logpdf, "pdf": multivariate_normal_pdf},
    ("scipy.stats._multivariate", "dirichlet_gen"):
        {"logpdf": dirichlet_logpdf, "pdf": dirichlet_pdf},
}
