"""Newton-type optimisation of the Rosenbrock function with symhess Hessians.

`scipy.optimize.minimize` with ``method="trust-exact"`` takes the dense Hessian as it comes;
``method="trust-constr"`` takes a sparse one. The Rosenbrock Hessian is tridiagonal: its exact
pattern (`CompiledHessian.sparsity`) selects the entries to pass as a ``scipy.sparse`` matrix.

Run: ``python examples/optimize_rosenbrock.py``.
"""

import numpy as np
import scipy.optimize
import scipy.sparse

import symhess


def rosenbrock(x):
    """The n-dimensional Rosenbrock function; its minimum is 0 at x = (1, ..., 1)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main(small: bool = False) -> dict:
    """Minimise with trust-exact (dense) and trust-constr (sparse); return the results."""
    n = 6 if small else 100
    x0 = np.zeros(n)
    H = symhess.hessian(rosenbrock)
    compiled = H.compile(x0)

    exact = scipy.optimize.minimize(rosenbrock, x0, jac=scipy.optimize.rosen_der, hess=H,
                                    method="trust-exact", options={"gtol": 1e-10})

    pattern = compiled.sparsity                     # (n, n) booleans, exact structure
    rows, cols = pattern.nonzero()

    def sparse_hessian(x):
        return scipy.sparse.csr_array((compiled(x)[rows, cols], (rows, cols)), shape=(n, n))

    constrained = scipy.optimize.minimize(
        rosenbrock, x0, jac=scipy.optimize.rosen_der, hess=sparse_hessian, method="trust-constr",
        bounds=scipy.optimize.Bounds(-2.0, 2.0), options={"gtol": 1e-10, "xtol": 1e-12})

    print(f"Rosenbrock, n = {n}: Hessian pattern has {pattern.nnz} of {n * n} entries")
    print(f"trust-exact:  {exact.nit} iterations, f = {exact.fun:.3e}, "
          f"max |x - 1| = {np.abs(exact.x - 1).max():.2e}")
    print(f"trust-constr: {constrained.nit} iterations, f = {constrained.fun:.3e}, "
          f"max |x - 1| = {np.abs(constrained.x - 1).max():.2e}")
    return {"exact": exact, "constrained": constrained, "x0": x0, "hessian_x0": H(x0),
            "sparse_hessian_x0": sparse_hessian(x0), "pattern": pattern}


if __name__ == "__main__":
    main()
