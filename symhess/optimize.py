"""Solvers without glue: SciPy's ``minimize`` and IPOPT (through cyipopt) from plain NumPy code.

A constrained solver needs the objective's gradient, the constraints' Jacobian with its
pattern, and the Hessian of the Lagrangian ``sigma * f(x) + lam . c(x)`` in one triangle with
its pattern. `lagrangian_hessian` compiles the last once, ``sigma`` and ``lam`` being runtime
arguments; `ipopt_problem` wires all of them into a ``cyipopt.Problem``; `nonlinear_constraint`
into a SciPy ``NonlinearConstraint``. Every kernel is compiled when the problem is built, so the
solver's first iteration costs what every later one does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Optional, Sequence

import numpy as np

from .api import HessianFunction, hessian
from .options import SparseFormat
from .derivatives import DerivativeFunction, value_and_grad
from .errors import ArgumentValueError, MissingDependencyError, OptionValueError

__all__ = ["lagrangian_hessian", "nonlinear_constraint", "value_and_jacobian",
           "IpoptCallbacks", "ipopt_problem"]


def lagrangian_hessian(f: Optional[Callable[..., Any]], c: Optional[Callable[..., Any]], *,
                       sparse: Literal[True, "upper", "lower"] = "lower",
                       verbose: Optional[bool] = None, templates: Optional[bool] = None,
                       sparse_format: SparseFormat = "csr_array") -> HessianFunction:
    """The Hessian in ``x`` of the Lagrangian ``sigma * f(x, *args) + np.sum(lam * c(x, *args))``.

    Compiled once per signature of ``(x, *args)``: the objective factor ``sigma`` and the
    multipliers ``lam`` are runtime arguments, so every solver iteration reuses one kernel. Sums
    over elements in ``f`` and ``c`` stay element loops whatever multiplies them. The pattern
    (``.compile(x, sigma, lam, *args).pattern``) is known before any evaluation.

    Args:
        f: the objective ``f(x, *args)`` returning a scalar, or None (the constraints' part only,
            as SciPy's ``NonlinearConstraint(hess=...)`` wants).
        c: the constraints ``c(x, *args)`` returning a 1-d array, or None.
        sparse: ``"lower"`` (IPOPT's triangle), ``"upper"``, or ``True`` for both triangles.
        verbose, templates, sparse_format: as in `symhess.hessian` (``"triplets"`` gives
            ``(rows, cols, values)``, as IPOPT takes them).

    Returns:
        A `symhess.HessianFunction` called as ``H(x, sigma, lam, *args)``.

    >>> import numpy as np, symhess
    >>> H = symhess.lagrangian_hessian(lambda x: np.sum(x ** 4), lambda x: x[:1] * x[1:])
    >>> H(np.array([1.0, 2.0]), 0.5, np.array([3.0])).toarray()
    array([[ 6.,  0.],
           [ 3., 24.]])
    """
    if f is None and c is None:
        raise OptionValueError("lagrangian_hessian needs an objective f, constraints c, or both")
    if sparse not in (True, "upper", "lower"):
        raise OptionValueError(f"sparse must be True, 'upper' or 'lower'; got {sparse!r}")

    def lagrangian(x, sigma, lam, *args):
        value = 0.0
        if f is not None:
            value = sigma * f(x, *args)
        if c is not None:
            value = value + np.sum(lam * c(x, *args))
        return value

    lagrangian.__name__ = "lagrangian_of_" + "_and_".join(
        getattr(g, "__name__", type(g).__name__) for g in (f, c) if g is not None)
    return hessian(lagrangian, sparse=sparse, verbose=verbose, templates=templates,
                   tier="scalar", sparse_format=sparse_format)


def nonlinear_constraint(c: Callable[..., Any], lb, ub, *, args: Sequence = (),
                         keep_feasible=False):
    """A ``scipy.optimize.NonlinearConstraint`` ``lb <= c(x, *args) <= ub`` with its compiled
    sparse Jacobian (``jac``) and the Hessian of ``lam . c`` (``hess``), for ``trust-constr``.

    >>> import numpy as np, scipy.optimize, symhess
    >>> circle = symhess.nonlinear_constraint(lambda x: x[:1] ** 2 + x[1:] ** 2, 1.0, 1.0)
    >>> r = scipy.optimize.minimize(lambda x: x[0] + x[1], np.array([1.0, 0.0]),
    ...                             jac=lambda x: np.ones(2), hess=lambda x: np.zeros((2, 2)),
    ...                             method="trust-constr", constraints=[circle])
    >>> np.round(r.x, 6)
    array([-0.707107, -0.707107])
    """
    from scipy.optimize import NonlinearConstraint
    args = tuple(args)
    last = _Last(value_and_jacobian(c), args)
    H = lagrangian_hessian(None, c, sparse=True)
    return NonlinearConstraint(
        lambda x: last(x)[0], lb, ub, jac=lambda x: last(x)[1],
        hess=lambda x, v: H(np.asarray(x, dtype=float), 0.0, np.asarray(v, dtype=float), *args),
        keep_feasible=keep_feasible)


def value_and_jacobian(c, verbose=None, sparse_format="csr_array") -> DerivativeFunction:
    """``c`` and its sparse Jacobian (exact pattern, ``sparse_format`` as in
    `symhess.hessian`) from one kernel."""
    return DerivativeFunction(c, 0, False, False, (), False, "cpu", sparse=True, verbose=verbose,
                              tier="scalar", sparse_format=sparse_format,
                              kind="value_and_jacobian")


class _Last:
    """``fun(x, *args)``, computed once for each new ``x`` (solvers ask for a value and its
    derivative at the same point one after the other)."""

    def __init__(self, fun, args=()):
        self.fun, self.args, self.x, self.result = fun, tuple(args), None, None

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        if self.x is None or x.shape != self.x.shape or not np.array_equal(x, self.x):
            self.result = self.fun(x, *self.args)
            self.x = x.copy()
        return self.result


class IpoptCallbacks:
    """What ``cyipopt.Problem(problem_obj=...)`` calls, compiled from ``f`` and ``c`` at ``x0``.

    ``objective``/``gradient`` come from one `symhess.value_and_grad` kernel,
    ``constraints``/``jacobian`` from one value-and-sparse-Jacobian kernel, ``hessian`` from
    `lagrangian_hessian` in the lower triangle; the ``*structure`` methods return the exact
    patterns as ``(rows, cols)`` in the order the values come in. Usable without cyipopt (any
    solver that takes triplets).
    """

    def __init__(self, f: Callable[..., Any], c: Optional[Callable[..., Any]], x0,
                 args: Sequence = (), verbose: Optional[bool] = None):
        x0 = np.asarray(x0, dtype=float)
        if x0.ndim != 1:
            raise ArgumentValueError(f"x0 must be a 1-d array of the variables; got shape "
                                     f"{x0.shape}")
        self.args, self.n = tuple(args), x0.size
        self._f = _Last(value_and_grad(f, verbose=verbose), self.args)
        self._f(x0)
        self.m, self._c, self._jacobian_structure = 0, None, (np.zeros(0, np.int64),) * 2
        if c is not None:
            self._c = _Last(value_and_jacobian(c, verbose, "triplets"), self.args)
            values, (rows, cols, _) = self._c(x0)
            self.m = np.size(values)
            self._jacobian_structure = rows, cols
        self._H = lagrangian_hessian(f, c, sparse="lower", verbose=verbose,
                                     sparse_format="triplets")
        self._hessian_structure = self._H(x0, 1.0, np.zeros(self.m), *self.args)[:2]

    def objective(self, x) -> float:
        return float(self._f(x)[0])

    def gradient(self, x) -> np.ndarray:
        return self._f(x)[1]

    def constraints(self, x) -> np.ndarray:
        return self._c(x)[0] if self._c is not None else np.zeros(0)

    def jacobian(self, x) -> np.ndarray:
        return self._c(x)[1][2] if self._c is not None else np.zeros(0)

    def jacobianstructure(self) -> tuple:
        return self._jacobian_structure

    def hessian(self, x, lagrange, obj_factor) -> np.ndarray:
        return self._H(np.asarray(x, dtype=float), float(obj_factor),
                       np.asarray(lagrange, dtype=float), *self.args)[2]

    def hessianstructure(self) -> tuple:
        return self._hessian_structure


def ipopt_problem(f: Callable[..., Any], x0, c: Optional[Callable[..., Any]] = None, *,
                  lb=None, ub=None, cl=None, cu=None, args: Sequence = (),
                  verbose: Optional[bool] = None):
    """A ready ``cyipopt.Problem`` minimising ``f(x, *args)`` subject to
    ``cl <= c(x, *args) <= cu`` and ``lb <= x <= ub``.

    The gradient, the constraint Jacobian and its structure, and the Hessian of the Lagrangian
    in IPOPT's lower triangle with its structure are compiled here (`IpoptCallbacks`); set
    options with ``problem.add_option`` and call ``problem.solve(x0)``.

    Args:
        f: the objective, a scalar function of the 1-d array ``x`` (and ``args``).
        x0: a starting point (it fixes the signature the kernels are compiled for).
        c: the constraints, returning a 1-d array, or None.
        lb, ub: bounds on ``x`` (arrays or None for unbounded).
        cl, cu: bounds on ``c(x)`` (equal for equality constraints).
        args: extra arguments passed to ``f`` and ``c`` (runtime data).
        verbose: progress reporting of the compiles, as in `symhess.hessian`.

    Raises:
        MissingDependencyError: cyipopt is not installed (it needs the IPOPT library); an
            ``ImportError``.
    """
    try:
        import cyipopt
    except ImportError as exc:
        raise MissingDependencyError(
            "ipopt_problem needs cyipopt: pip install cyipopt (it builds against the IPOPT "
            "library: on Debian or Ubuntu apt install coinor-libipopt-dev liblapack-dev "
            "libblas-dev first; with conda, conda install -c conda-forge cyipopt). "
            "symhess.optimize.IpoptCallbacks gives the same callbacks without it") from exc
    callbacks = IpoptCallbacks(f, c, x0, args, verbose)
    if callbacks.m and (cl is None or cu is None):
        raise ArgumentValueError("constraints c need their bounds cl and cu (equal for "
                                 "equality constraints)")
    return cyipopt.Problem(n=callbacks.n, m=callbacks.m, problem_obj=callbacks, lb=lb, ub=ub,
                           cl=cl, cu=cu)
