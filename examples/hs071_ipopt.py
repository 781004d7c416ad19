"""HS071 (Hock and Schittkowski, problem 71) with IPOPT through cyipopt, and with SciPy.

    minimize    x0 x3 (x0 + x1 + x2) + x2
    subject to  x0 x1 x2 x3 >= 25,   x0^2 + x1^2 + x2^2 + x3^2 = 40,   1 <= x <= 5.

The objective and the constraints are plain NumPy. `symhess.ipopt_problem` compiles the
gradient, the constraint Jacobian, the Hessian of the Lagrangian and their patterns, and returns
a ready ``cyipopt.Problem``; `symhess.nonlinear_constraint` gives SciPy's ``trust-constr`` the
same derivatives. With no cyipopt installed, only the SciPy solve runs.

Run: ``python examples/hs071_ipopt.py``.
"""

import numpy as np
import scipy.optimize

import symhess


def objective(x):
    return x[0] * x[3] * np.sum(x[:3]) + x[2]


def constraints(x):
    return np.stack([np.prod(x), np.sum(x * x)])


X0 = np.array([1.0, 5.0, 5.0, 1.0])
LOWER, UPPER = np.ones(4), np.full(4, 5.0)
CL, CU = np.array([25.0, 40.0]), np.array([np.inf, 40.0])   # cl == cu: an equality


def solve_ipopt():
    """IPOPT's solution ``(x, info)``, or None when cyipopt is not installed."""
    try:
        problem = symhess.ipopt_problem(objective, X0, constraints, lb=LOWER, ub=UPPER,
                                        cl=CL, cu=CU)
    except ImportError:
        return None
    problem.add_option("print_level", 0)
    problem.add_option("tol", 1e-10)
    return problem.solve(X0)


def solve_scipy():
    """SciPy ``trust-constr`` with symhess's gradient, Jacobian and Hessians."""
    return scipy.optimize.minimize(
        objective, X0, jac=symhess.grad(objective), hess=symhess.hessian(objective),
        method="trust-constr", bounds=scipy.optimize.Bounds(LOWER, UPPER),
        constraints=[symhess.nonlinear_constraint(constraints, CL, CU)],
        options={"gtol": 1e-10, "xtol": 1e-12, "maxiter": 2000})


def main() -> dict:
    ipopt = solve_ipopt()
    scipy_result = solve_scipy()
    if ipopt is None:
        print("IPOPT: cyipopt is not installed (pip install cyipopt)")
    else:
        x, info = ipopt
        print(f"IPOPT:        f = {info['obj_val']:.10f} at x = {np.round(x, 8)}")
    print(f"trust-constr: f = {scipy_result.fun:.10f} at x = {np.round(scipy_result.x, 8)}")
    return {"ipopt": ipopt, "scipy": scipy_result}


if __name__ == "__main__":
    main()
