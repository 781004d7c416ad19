"""Solvers without glue: the Lagrangian's Hessian, IPOPT's callbacks, SciPy's interfaces.

Every derivative is compared with JAX's; the solves are compared with the problems' known
solutions. IPOPT itself runs where cyipopt is installed (it needs the IPOPT library) and is
skipped, with the reason shown, where it is not.
"""

import numpy as np
import pytest
import scipy.optimize

import symhess
from symhess.optimize import IpoptCallbacks

RNG = np.random.default_rng(7)

# HS071: its optimum (Hock and Schittkowski, problem 71)
HS071_X = np.array([1.0, 4.74299963, 3.82114998, 1.37940829])
HS071_F = 17.014017145179164


def hs071_f(xp):
    return lambda x: x[0] * x[3] * xp.sum(x[:3]) + x[2]


def hs071_c(xp):
    return lambda x: xp.stack([xp.prod(x), xp.sum(x * x)])


def chained_f(xp):
    return lambda x: xp.sum(100.0 * (x[:-1] ** 2 - x[1:]) ** 2 + (x[:-1] - 1.0) ** 2)


def chained_c(xp):
    def c(x):
        a, b, d = x[:-2], x[1:-1], x[2:]
        return (3.0 * b ** 3 + 2.0 * d - 5.0 + xp.sin(b - d) * xp.sin(b + d) + 4.0 * b
                - a * xp.exp(a - b) - 3.0)
    return c


def with_data_f(xp):
    return lambda x, w: xp.sum(w * xp.cosh(x)) + x[0] * x[-1]


def with_data_c(xp):
    return lambda x, w: xp.stack([xp.sum(x ** 2 * w), x[0] * xp.exp(x[1])])


PROBLEMS = {
    "hs071": (hs071_f, hs071_c, lambda: (RNG.uniform(1, 5, 4),)),
    # 300 variables: the sums and the constraint rows become element loops
    "chained": (chained_f, chained_c, lambda: (RNG.uniform(-1, 1, 300),)),
    "with_data": (with_data_f, with_data_c, lambda: (RNG.normal(size=5), RNG.uniform(1, 2, 5))),
}


def lagrangian_reference(jax, jnp, make_f, make_c, args, sigma, lam):
    f, c = make_f(jnp), make_c(jnp)
    data = [jnp.asarray(a) for a in args[1:]]
    L = lambda x: sigma * f(x, *data) + jnp.sum(lam * c(x, *data))       # noqa: E731
    return np.asarray(jax.hessian(L)(jnp.asarray(args[0])))


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_lagrangian_hessian_against_jax(problem, jax, jnp):
    make_f, make_c, make_args = PROBLEMS[problem]
    args = make_args()
    m = np.size(make_c(np)(*args))
    H = symhess.lagrangian_hessian(make_f(np), make_c(np))
    for sigma, lam in ((1.0, RNG.normal(size=m)), (0.25, RNG.normal(size=m))):
        expected = lagrangian_reference(jax, jnp, make_f, make_c, args, sigma, lam)
        got = H(args[0], sigma, lam, *args[1:])
        np.testing.assert_allclose(got.toarray(), np.tril(expected), rtol=1e-11, atol=1e-11)
    both = symhess.lagrangian_hessian(make_f(np), make_c(np), sparse=True)
    np.testing.assert_allclose(both(args[0], sigma, lam, *args[1:]).toarray(), expected,
                               rtol=1e-11, atol=1e-11)
    only_c = symhess.lagrangian_hessian(None, make_c(np), sparse="upper")
    expected_c = lagrangian_reference(jax, jnp, make_f, make_c, args, 0.0, lam)
    np.testing.assert_allclose(only_c(args[0], 7.0, lam, *args[1:]).toarray(),
                               np.triu(expected_c), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_ipopt_callbacks_against_jax(problem, jax, jnp):
    """What cyipopt calls, checked entry by entry: values, structures and their order."""
    make_f, make_c, make_args = PROBLEMS[problem]
    args = make_args()
    x, data = args[0], args[1:]
    callbacks = IpoptCallbacks(make_f(np), make_c(np), x, args=data)
    jdata = [jnp.asarray(a) for a in data]
    fj = lambda x: make_f(jnp)(x, *jdata)                                  # noqa: E731
    cj = lambda x: make_c(jnp)(x, *jdata)                                  # noqa: E731
    n, m = x.size, np.size(make_c(np)(*args))
    assert (callbacks.n, callbacks.m) == (n, m)
    for point in (x, x + 0.1 * RNG.normal(size=n)):
        xj = jnp.asarray(point)
        np.testing.assert_allclose(callbacks.objective(point), fj(xj), rtol=1e-12)
        np.testing.assert_allclose(callbacks.gradient(point), jax.grad(fj)(xj), rtol=1e-11,
                                   atol=1e-11)
        np.testing.assert_allclose(callbacks.constraints(point), cj(xj), rtol=1e-12,
                                   atol=1e-12)
        J = np.zeros((m, n))
        rows, cols = callbacks.jacobianstructure()
        J[rows, cols] = callbacks.jacobian(point)
        np.testing.assert_allclose(J, jax.jacobian(cj)(xj), rtol=1e-11, atol=1e-11)
        lam, sigma = RNG.normal(size=m), 0.7
        H = np.zeros((n, n))
        rows, cols = callbacks.hessianstructure()
        assert np.all(rows >= cols)                     # IPOPT's lower triangle
        H[rows, cols] = callbacks.hessian(point, lam, sigma)
        expected = lagrangian_reference(jax, jnp, make_f, make_c, (point,) + data, sigma, lam)
        np.testing.assert_allclose(H, np.tril(expected), rtol=1e-11, atol=1e-11)


def test_ipopt_solves_hs071():
    pytest.importorskip("cyipopt", reason="cyipopt is not installed (it needs the IPOPT "
                                          "library; .ci/run installs both where it can)")
    x0 = np.array([1.0, 5.0, 5.0, 1.0])
    problem = symhess.ipopt_problem(hs071_f(np), x0, hs071_c(np), lb=np.ones(4),
                                    ub=np.full(4, 5.0), cl=[25.0, 40.0], cu=[np.inf, 40.0])
    problem.add_option("print_level", 0)
    problem.add_option("tol", 1e-10)
    x, info = problem.solve(x0)
    assert info["status"] == 0
    np.testing.assert_allclose(x, HS071_X, atol=1e-7)
    np.testing.assert_allclose(info["obj_val"], HS071_F, rtol=1e-9)


def test_ipopt_problem_names_what_is_missing():
    try:
        import cyipopt  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install cyipopt.*IpoptCallbacks"):
            symhess.ipopt_problem(hs071_f(np), np.ones(4), hs071_c(np), cl=[0, 0], cu=[1, 1])
    with pytest.raises(ValueError, match="cl and cu"):
        pytest.importorskip("cyipopt")
        symhess.ipopt_problem(hs071_f(np), np.ones(4), hs071_c(np))


def test_trust_constr_solves_hs071():
    x0 = np.array([1.0, 5.0, 5.0, 1.0])
    f = hs071_f(np)
    r = scipy.optimize.minimize(
        f, x0, jac=symhess.grad(f), hess=symhess.hessian(f), method="trust-constr",
        bounds=scipy.optimize.Bounds(np.ones(4), np.full(4, 5.0)),
        constraints=[symhess.nonlinear_constraint(hs071_c(np), [25.0, 40.0], [np.inf, 40.0])],
        options={"gtol": 1e-10, "xtol": 1e-12, "maxiter": 2000})
    np.testing.assert_allclose(r.x, HS071_X, atol=1e-4)
    np.testing.assert_allclose(r.fun, HS071_F, rtol=1e-5)


def test_nonlinear_constraint_derivatives(jax, jnp):
    x, w = RNG.normal(size=5), RNG.uniform(1, 2, 5)
    con = symhess.nonlinear_constraint(with_data_c(np), -1.0, 1.0, args=(w,))
    cj = lambda x: with_data_c(jnp)(x, jnp.asarray(w))                     # noqa: E731
    np.testing.assert_allclose(con.fun(x), cj(jnp.asarray(x)), rtol=1e-12)
    np.testing.assert_allclose(con.jac(x).toarray(), jax.jacobian(cj)(jnp.asarray(x)),
                               rtol=1e-12, atol=1e-12)
    v = RNG.normal(size=2)
    expected = jax.hessian(lambda x: jnp.dot(jnp.asarray(v), cj(x)))(jnp.asarray(x))
    np.testing.assert_allclose(con.hess(x, v).toarray(), expected, rtol=1e-12, atol=1e-12)


def test_scipy_minimize_with_grad_hessp_and_value_and_grad():
    f = lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    x0 = np.full(8, 0.5)
    Hv = symhess.hvp(f)
    p = RNG.normal(size=8)
    np.testing.assert_allclose(Hv.hessp(x0, p), scipy.optimize.rosen_hess_prod(x0, p),
                               rtol=1e-13)
    np.testing.assert_allclose(symhess.grad(f)(x0), scipy.optimize.rosen_der(x0), rtol=1e-13)
    for method in ("trust-krylov", "Newton-CG"):
        r = scipy.optimize.minimize(f, x0, jac=symhess.grad(f), hessp=Hv.hessp, method=method,
                                    options={"xtol": 1e-12} if method == "Newton-CG"
                                    else {"gtol": 1e-10})
        np.testing.assert_allclose(r.x, 1.0, atol=1e-6)
    r = scipy.optimize.minimize(symhess.value_and_grad(f), x0, jac=True, method="BFGS",
                                options={"gtol": 1e-10})
    np.testing.assert_allclose(r.x, 1.0, atol=1e-6)


def test_lagrangian_hessian_options_are_checked():
    with pytest.raises(ValueError, match="objective f, constraints c, or both"):
        symhess.lagrangian_hessian(None, None)
    with pytest.raises(ValueError, match="sparse must be True, 'upper' or 'lower'"):
        symhess.lagrangian_hessian(np.sum, None, sparse=False)
