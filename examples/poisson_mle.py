"""Maximum likelihood with SciPy's ``trust-exact``: a Poisson regression and its standard errors.

The negative log-likelihood of counts ``y`` with rates ``exp(X @ beta)`` is written once in
NumPy. symhess compiles its gradient and its Hessian (the observed information); SciPy's
``trust-exact`` takes both as they are, and the standard errors of the estimates are the square
roots of the diagonal of the inverse Hessian at the optimum.

Run: ``python examples/poisson_mle.py``.
"""

import numpy as np
import scipy.optimize

import symhess


def nll(beta, X, y):
    """The Poisson negative log-likelihood, up to the constant sum(log(y!))."""
    eta = X @ beta
    return np.sum(np.exp(eta) - y * eta)


def simulate(rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(rows), rng.normal(size=(rows, 2))])
    beta = np.array([0.5, -0.3, 0.2])
    return X, rng.poisson(np.exp(X @ beta)).astype(float), beta


def main(rows: int = 2000) -> dict:
    X, y, truth = simulate(rows)
    grad, hess = symhess.grad(nll), symhess.hessian(nll)
    # gtol 1e-5: closer to the optimum, trust-exact's predicted reductions fall below the
    # rounding of f itself and it stops with "a bad approximation"
    result = scipy.optimize.minimize(nll, np.zeros(3), args=(X, y), jac=grad, hess=hess,
                                     method="trust-exact", options={"gtol": 1e-5})
    information = hess(result.x, X, y)
    errors = np.sqrt(np.diag(np.linalg.inv(information)))
    print(f"Poisson regression, {rows} rows: {result.nit} iterations")
    for name, b, se, t in zip(["intercept", "x1", "x2"], result.x, errors, truth):
        print(f"  {name:9s} {b:+.4f} +- {se:.4f}  (true {t:+.2f})")
    return {"result": result, "X": X, "y": y, "standard_errors": errors, "truth": truth}


if __name__ == "__main__":
    main()
