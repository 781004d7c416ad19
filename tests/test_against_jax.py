"""Hessians of a corpus of real functions against ``jax.hessian`` in float64.

Each function is written once for a NumPy-like namespace ``xp``: ``make(np)`` is what symhess and
the autodiff run, ``make(jnp)`` is what JAX differentiates. Both symhess's compiled Hessian (via
``symhess.check(..., against="jax")``) and the autodiff's are compared with JAX's.
"""

import numpy as np
import pytest

import symhess
from symhess import autodiff

RNG = np.random.default_rng(20240611)


def rosenbrock(xp):
    return lambda x: xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def neo_hookean(xp, mu=1.3, lam=2.1):
    def energy(F):
        J = xp.linalg.det(F)
        return 0.5 * mu * (xp.trace(F.T @ F) - 3.0) - mu * xp.log(J) + 0.5 * lam * xp.log(J) ** 2
    return energy


def lennard_jones(xp):
    def energy(x):
        p = x.reshape(-1, 3)
        e = 0.0
        for i in range(len(p)):
            for j in range(i + 1, len(p)):
                d = p[i] - p[j]
                s6 = 1.0 / xp.sum(d * d) ** 3
                e = e + 4.0 * (s6 * s6 - s6)
        return e
    return energy


def logistic_nll(xp):
    def nll(w, X, y):
        z = X @ w
        return xp.sum(xp.logaddexp(0.0, z) - y * z) + 0.05 * xp.dot(w, w)
    return nll


def softplus(xp):
    return lambda x: xp.sum(xp.log1p(xp.exp(x)))


def logsumexp(xp):
    def lse(x):
        m = xp.max(x)
        return m + xp.log(xp.sum(xp.exp(x - m)))
    return lse


def gaussian_nll(xp):
    def nll(params, data):
        s = xp.exp(params["log_sigma"])
        r = (data - params["mu"]) / s
        return xp.sum(0.5 * r ** 2 + params["log_sigma"])
    return nll


def two_arguments(xp):
    return lambda a, b: xp.sum(xp.tanh(xp.outer(a, b))) + xp.dot(a, a) * b[0] ** 2


def with_aux(xp):
    return lambda x: (xp.sum(x ** 4) + x[0] * x[1], xp.sum(x))


def holomorphic(xp):
    return lambda z: xp.sum(z ** 3 * xp.exp(z)) + z[0] / z[1]


def vector_output(xp):
    return lambda x: xp.stack([x[0] * x[1], xp.sin(x[2]) * x[0], xp.sqrt(x[1] ** 2 + x[2] ** 2)])


def dict_output(xp):
    return lambda x: {"energy": xp.sum(x ** 3), "pair": (x[:2] * x[1:], None)}


def static_power(xp):
    return lambda x, n: xp.sum(xp.cos(x) ** n)


def spring_network(xp):
    def energy(x):
        p = x.reshape(-1, 2)
        d = p[:, None, :] - p[None, :, :]
        i, j = np.triu_indices(p.shape[0], 1)
        r = xp.linalg.norm(d[i, j], axis=1)
        return xp.sum((r - 1.0) ** 2)
    return energy


def matrix_functions(xp):
    def f(x):
        A = 3.0 * xp.eye(3) + x.reshape(3, 3)
        B = xp.outer(x[:3], x[3:6]) + xp.eye(3)
        return xp.trace(xp.linalg.inv(A) @ B) + xp.log(xp.linalg.det(A)) + xp.sum(
            xp.linalg.solve(A, x[6:]))
    return f


def huber(xp, delta=0.5):
    def loss(x):
        a = xp.abs(x)
        return xp.sum(xp.where(a <= delta, 0.5 * x ** 2, delta * (a - 0.5 * delta)))
    return loss


def statistics(xp):
    return lambda X: xp.var(X, axis=0).sum() + xp.std(X) + xp.sum(xp.cumsum(X, axis=1) ** 2) \
        + xp.sum(xp.diff(X, axis=0) ** 3) + xp.mean(xp.prod(X, axis=1))


def _cluster(n):
    grid = np.array([[a, b, c] for a in range(2) for b in range(2) for c in range(3)], float)
    return (1.1 * grid[:n] + RNG.uniform(-0.1, 0.1, (n, 3))).ravel()


def _spd_point():
    return np.eye(3) + 0.2 * RNG.uniform(-1, 1, (3, 3))


# name, make, args, options
CORPUS = [
    ("rosenbrock", rosenbrock, (RNG.uniform(-1, 1, 6),), {}),
    ("neo_hookean", neo_hookean, (_spd_point(),), {}),
    ("lennard_jones_4", lennard_jones, (_cluster(4),), {}),
    ("logistic_nll", logistic_nll, (RNG.normal(size=3), RNG.normal(size=(5, 3)),
                                    (RNG.uniform(size=5) > 0.5).astype(float)), {}),
    ("softplus", softplus, (RNG.normal(size=4),), {}),
    ("logsumexp", logsumexp, (RNG.normal(size=5),), {}),
    ("gaussian_nll_pytree", gaussian_nll,
     ({"mu": RNG.normal(size=3), "log_sigma": np.float64(0.3)}, RNG.normal(size=3)), {}),
    ("two_arguments", two_arguments, (RNG.normal(size=2), RNG.normal(size=3)),
     {"argnums": (0, 1)}),
    ("has_aux", with_aux, (RNG.normal(size=3),), {"has_aux": True}),
    ("holomorphic", holomorphic, (RNG.normal(size=3) + 1j * RNG.normal(size=3),),
     {"holomorphic": True}),
    ("vector_output", vector_output, (RNG.uniform(0.5, 1.5, 3),), {}),
    ("dict_output", dict_output, (RNG.normal(size=3),), {}),
    ("static_argnums", static_power, (RNG.normal(size=3), 3), {"static_argnums": (1,)}),
    ("spring_network", spring_network, (RNG.uniform(0, 2, 8),), {}),
    ("matrix_functions", matrix_functions, (0.3 * RNG.normal(size=9),), {}),
    ("huber", huber, (np.array([-1.2, -0.3, 0.2, 0.9]),), {}),
    ("statistics", statistics, (RNG.uniform(0.5, 1.5, (3, 4)),), {}),
]
IDS = [c[0] for c in CORPUS]


def _to_jax(jax, jnp, tree):
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x) if isinstance(x, np.ndarray) else x,
                                  tree)


def _jit(jax, transform, options):
    # jit compiles in about a second where eager dispatch of a large Hessian takes ten times that.
    return transform if options.get("has_aux") else jax.jit(transform)


def _jax_hessian(jax, jnp, make, args, options):
    options = dict(options)
    static = options.pop("static_argnums", ())
    f = make(jnp)
    if static:
        fixed = {i: args[i] for i in static}
        dynamic = [i for i in range(len(args)) if i not in fixed]
        g = lambda *dyn: f(*[fixed[i] if i in fixed else dyn[dynamic.index(i)]
                             for i in range(len(args))])
        out = _jit(jax, jax.hessian(g, **options), options)(
            *[_to_jax(jax, jnp, args[i]) for i in dynamic])
    else:
        out = _jit(jax, jax.hessian(f, **options), options)(*[_to_jax(jax, jnp, a) for a in args])
    return out[0] if options.get("has_aux") else out


@pytest.mark.parametrize("name, make, args, options", CORPUS, ids=IDS)
def test_autodiff_matches_jax(jax, jnp, name, make, args, options):
    expected = _jax_hessian(jax, jnp, make, args, options)
    got = autodiff.hessian(make(np), **options)(*args)
    if options.get("has_aux"):
        got = got[0]
    exp_leaves, exp_tree = jax.tree_util.tree_flatten(expected)
    got_leaves, got_tree = jax.tree_util.tree_flatten(got)
    assert got_tree == exp_tree
    for g, e in zip(got_leaves, exp_leaves):
        np.testing.assert_allclose(g, np.asarray(e), rtol=1e-10, atol=1e-10 * max(1.0, np.max(
            np.abs(e), initial=0.0)))


@pytest.mark.parametrize("name, make, args, options", CORPUS, ids=IDS)
def test_symhess_matches_jax(jnp, name, make, args, options):
    report = symhess.check(make(np), *args, against="jax", jax_fun=make(jnp), **options)
    assert report.ok and report.blocks and report.against == "jax"


def test_float32_tolerances_against_jax(jax, jnp):
    x = RNG.uniform(-1, 1, 5).astype(np.float32)
    report = symhess.check(rosenbrock(np), x, against="jax", jax_fun=rosenbrock(jnp))
    assert report.blocks[0].rtol == 1e-3
    expected = np.asarray(jax.hessian(rosenbrock(jnp))(jnp.asarray(x, dtype=jnp.float64)))
    got = symhess.hessian(rosenbrock(np))(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


# One expression per primitive family: the autodiff's own rules against JAX's.
PRIMITIVES = [
    ("sin_cos", lambda xp: lambda x: xp.sum(xp.sin(x) * xp.cos(x[::-1]))),
    ("tan_arcsin_arccos_arctan", lambda xp: lambda x: xp.sum(
        xp.tan(x) + xp.arcsin(x) * xp.arccos(x) + xp.arctan(x) ** 2)),
    ("hyperbolic", lambda xp: lambda x: xp.sum(
        xp.sinh(x) * xp.cosh(x) + xp.tanh(x) ** 3 + xp.arcsinh(x) * xp.arccosh(1 + x)
        + xp.arctanh(x / 2))),
    ("exp_log_roots", lambda xp: lambda x: xp.sum(
        xp.exp(x) * xp.log(x) + xp.log1p(x) * xp.expm1(x) + xp.sqrt(x) * xp.cbrt(x)
        + xp.square(x) * xp.exp2(x) + xp.log2(x) * xp.log10(x))),
    ("powers", lambda xp: lambda x: xp.sum(
        x ** 2.5 + x[0] ** x[1] + 2.0 ** x + x ** 3 + xp.reciprocal(x) + x ** 0 * x)),
    ("arctan2_hypot", lambda xp: lambda x: xp.arctan2(x[0], x[1]) * xp.hypot(x[1], x[2])),
    ("piecewise", lambda xp: lambda x: xp.sum(
        xp.abs(x - 0.5) * x + xp.sign(x - 0.5) * x ** 2 + xp.maximum(x, 0.5) ** 2
        + xp.minimum(x, x[::-1]) ** 3 + xp.clip(x, 0.3, 0.6) ** 2
        + xp.where(x > 0.5, x ** 2, xp.sin(x)))),
    ("logaddexp", lambda xp: lambda x: xp.logaddexp(x[0], 3 * x[1]) + xp.logaddexp2(x[1], x[2])),
    ("reductions", lambda xp: lambda x: (lambda X: xp.sum(xp.prod(X, axis=0))
        + xp.mean(X ** 2, axis=1, keepdims=True).sum() + xp.var(X) + xp.std(X, axis=0).sum()
        + xp.sum(xp.cumsum(X, axis=1) ** 2) + xp.sum(xp.diff(X, axis=1) ** 2) + xp.max(X ** 2)
        + xp.min(xp.sin(X), axis=0).sum())(xp.reshape(x, (3, 1)) * x)),
    ("linalg", lambda xp: lambda x: (lambda M: xp.linalg.det(M)
        + xp.sum(xp.linalg.inv(M + 3 * xp.eye(3)))
        + xp.sum(xp.linalg.solve(M + 3 * xp.eye(3), M[0]))
        + xp.linalg.norm(M) + xp.linalg.norm(M[0]) + xp.trace(M @ M))(
            xp.outer(x, x[::-1]) + xp.eye(3))),
    ("contractions", lambda xp: lambda x: (lambda M: xp.dot(M[0], M[1])
        + xp.sum(xp.outer(M[0], M[2]) ** 2) + xp.einsum("ij,jk,ki->", M, M, M)
        + xp.sum(xp.matmul(M, M[0]) ** 2) + xp.sum(xp.tensordot(M, M, axes=1) ** 2)
        + xp.inner(M[1], M[2]) + xp.sum(xp.kron(M[0], M[1]) ** 2)
        + xp.sum(xp.cross(M[0], M[1]) ** 2))(xp.sin(xp.outer(x, x)) + x)),
    ("structure", lambda xp: lambda x: (lambda X: xp.sum(xp.reshape(X, (3, 2)) @ X)
        + xp.sum(xp.transpose(X)[1] ** 3) + xp.sum(xp.concatenate([X[0], X[1] ** 2]) ** 2)
        + xp.sum(xp.stack([X[0], X[1]], axis=1)[:, 0] ** 3)
        + xp.sum((X[:, None, :] * X[None, :, :]) ** 2)
        + xp.sum(X[np.array([1, 0, 1]), np.array([2, 2, 0])] ** 3) + xp.sum(xp.flip(X, 1) * X)
        + xp.sum(xp.roll(X, 1) * X) + xp.sum(xp.triu(xp.outer(X[0], X[1])) ** 2)
        + xp.sum(xp.tile(X[0], 2) ** 3 * xp.repeat(X[1], 2))
        + xp.sum(xp.diagonal(xp.outer(X[0], X[1])) ** 2) + xp.sum(xp.pad(X, 1) ** 3)
        + xp.sum(xp.moveaxis(X[None], 0, 2) ** 3 * xp.expand_dims(X, 2))
        + xp.sum(xp.broadcast_to(X[0], (4, 3)) ** 2 * xp.arange(12.0).reshape(4, 3))
        + xp.sum(xp.vstack([X, X ** 2]) ** 2) + xp.sum(xp.swapaxes(X, 0, 1) @ X))(
            xp.stack([x, x[::-1] ** 2]))),
]


@pytest.mark.parametrize("name, make", PRIMITIVES, ids=[p[0] for p in PRIMITIVES])
def test_autodiff_primitive_rules_match_jax(jax, jnp, name, make):
    x = np.array([0.35, 0.8, 0.55])
    expected = np.asarray(jax.jit(jax.hessian(make(jnp)))(jnp.asarray(x)))
    got = autodiff.hessian(make(np))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-11 * np.abs(expected).max())


def test_autodiff_holomorphic_matches_jax(jax, jnp):
    z = np.array([0.3 + 0.2j, -0.5 + 0.7j, 0.8 - 0.1j])
    make = lambda xp: lambda z: xp.sum(
        xp.sin(z) * xp.exp(z[::-1]) + z ** 3 + xp.log(z) * xp.sqrt(z)
        + xp.tanh(z) * xp.arctan(z)) + z[0] / z[1]
    expected = np.asarray(jax.jit(jax.hessian(make(jnp), holomorphic=True))(jnp.asarray(z)))
    got = autodiff.hessian(make(np), holomorphic=True)(z)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
