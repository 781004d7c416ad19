"""A large sparse constrained problem with IPOPT: the chained Rosenbrock function with
trigonometric-exponential constraints (Luksan and Vlcek, 1999), n variables, n - 2 equalities.

    minimize    sum_i 100 (x_i^2 - x_{i+1})^2 + (x_i - 1)^2
    subject to  3 x_{i+1}^3 + 2 x_{i+2} - 5 + sin(x_{i+1} - x_{i+2}) sin(x_{i+1} + x_{i+2})
                + 4 x_{i+1} - x_i exp(x_i - x_{i+1}) - 3 = 0,   i = 0 .. n - 3.

The problem is written once, vectorized, in NumPy. `symhess.ipopt_problem` compiles the
gradient, the banded constraint Jacobian and the banded Hessian of the Lagrangian (lower
triangle) with their exact patterns; their cost does not grow with n beyond the index tables.

Run: ``python examples/chained_ipopt.py [n]`` (default 10,000; needs cyipopt).
"""

import sys
import time

import numpy as np

import symhess


def objective(x):
    return np.sum(100.0 * (x[:-1] ** 2 - x[1:]) ** 2 + (x[:-1] - 1.0) ** 2)


def constraints(x):
    a, b, c = x[:-2], x[1:-1], x[2:]
    return (3.0 * b ** 3 + 2.0 * c - 5.0 + np.sin(b - c) * np.sin(b + c) + 4.0 * b
            - a * np.exp(a - b) - 3.0)


def start(n):
    """The standard starting point: -1.2 at odd positions (counting from 1), 1 elsewhere."""
    x0 = np.ones(n)
    x0[::2] = -1.2
    return x0


def main(n: int = 10_000) -> dict:
    x0 = start(n)
    zeros = np.zeros(n - 2)
    t0 = time.perf_counter()
    problem = symhess.ipopt_problem(objective, x0, constraints, cl=zeros, cu=zeros)
    built = time.perf_counter() - t0
    problem.add_option("print_level", 0)
    problem.add_option("tol", 1e-9)
    t0 = time.perf_counter()
    x, info = problem.solve(x0)
    solved = time.perf_counter() - t0
    print(f"n = {n}: built in {built:.2f} s, solved in {solved:.2f} s, "
          f"status {info['status']}, f = {info['obj_val']:.10g}, "
          f"max |c(x)| = {np.abs(constraints(x)).max():.1e}")
    return {"x": x, "info": info, "x0": x0, "build_s": built}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
