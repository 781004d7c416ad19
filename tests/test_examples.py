"""The examples, run small, each checked against an independent reference."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_optimize_rosenbrock():
    r = load("optimize_rosenbrock").main(small=True)
    reference = scipy.optimize.rosen_hess(r["x0"])          # SciPy's hand-written Hessian
    np.testing.assert_allclose(r["hessian_x0"], reference, rtol=1e-13)
    np.testing.assert_allclose(r["sparse_hessian_x0"].toarray(), reference, rtol=1e-13)
    assert r["pattern"].nnz == np.count_nonzero(scipy.optimize.rosen_hess(r["x0"] + 0.37))
    for result in (r["exact"], r["constrained"]):
        assert result.success
        np.testing.assert_allclose(result.x, 1.0, atol=1e-6)   # the known minimum


def test_neo_hookean_fem():
    module = load("neo_hookean_fem")
    r = module.main(small=True)
    for residuals in r["history"]:
        assert residuals[-1] < 1e-11 and len(residuals) <= 7
        # Quadratic convergence: only an exact stiffness gives r_{k+1} ~ r_k^2.
        for a, b in zip(residuals[1:-2], residuals[2:-1]):
            assert b < 10 * a ** 2
    # The element stiffness against central differences of the hand-written forces.
    u, tris, nodes = r["u"], r["tris"], r["nodes"]
    ue, X = u[tris], nodes[tris]
    K = r["stiffness"](ue, X, r["mu"], r["lam"]).reshape(len(tris), 6, 6)
    h = 1e-6
    for d in range(6):
        step = np.zeros((3, 2))
        step.flat[d] = h
        fd = (r["forces"](ue + step, X, r["mu"], r["lam"])
              - r["forces"](ue - step, X, r["mu"], r["lam"])) / (2 * h)
        np.testing.assert_allclose(K[:, :, d], fd.reshape(len(tris), 6), rtol=1e-6, atol=1e-7)


def test_normal_modes(jax, jnp):
    module = load("normal_modes")
    r = module.main(small=True)
    k = 72 / 2 ** (1 / 3)                      # V''(r0) of the Lennard-Jones pair potential
    eig = r["eigenvalues"]
    np.testing.assert_allclose(eig[:6], 0.0, atol=1e-9)
    np.testing.assert_allclose(eig[6:], [k, k, 2 * k, 2 * k, 2 * k, 4 * k], rtol=1e-10)
    i, j = np.triu_indices(4, 1)

    def energy(x):
        d = x[i] - x[j]
        inv6 = 1.0 / jnp.sum(d * d, axis=1) ** 3
        return 4.0 * jnp.sum(inv6 * inv6 - inv6)
    reference = jax.hessian(energy)(jnp.asarray(r["positions"])).reshape(12, 12)
    np.testing.assert_allclose(r["hessian"], reference, rtol=1e-10, atol=1e-10)


def test_laplace_logistic(tmp_path):
    pytest.importorskip("matplotlib")      # the plot is part of this example
    r = load("laplace_logistic").main(small=True, plot=tmp_path / "laplace.png")
    X, y, w = r["X"], r["y"], r["w"]
    p = 1 / (1 + np.exp(-X @ w))
    closed_form = X.T @ (X * (p * (1 - p))[:, None]) + r["alpha"] * np.eye(3)
    np.testing.assert_allclose(r["precision"], closed_form, rtol=1e-12)
    np.testing.assert_allclose(r["covariance"] @ closed_form, np.eye(3), atol=1e-10)
    assert r["matrix"].startswith("H = ") and "X.T @ diag(" in r["matrix"]
    gradient = -X.T @ (y / (1 + np.exp(y * (X @ w)))) + r["alpha"] * w
    assert np.linalg.norm(gradient) < 1e-8                    # w is the MAP estimate
    assert r["plot"] is not None and Path(r["plot"]).stat().st_size > 1000


def test_check_hand_hessian():
    r = load("check_hand_hessian").main(small=True)
    assert r["good"].ok
    x = r["x"]
    p = np.exp(x) / np.exp(x).sum()
    # The wrong Hessian differs by 2 p p^T; the check names an off-diagonal entry with its values.
    report = r["bad"].report
    worst = report.blocks[0]
    assert not report.ok and worst.index[0] != worst.index[1]
    assert worst.value - worst.reference == pytest.approx(2 * p[worst.index[0]] * p[worst.index[1]])


def test_poisson_mle():
    r = load("poisson_mle").main(rows=400)
    X, y, beta = r["X"], r["y"], r["result"].x
    assert r["result"].success
    # the score is zero at the optimum: X' (exp(X beta) - y) = 0, by hand
    np.testing.assert_allclose(X.T @ (np.exp(X @ beta) - y), 0.0, atol=1e-5)
    # standard errors from the closed-form information X' diag(exp(X beta)) X
    information = X.T @ (np.exp(X @ beta)[:, None] * X)
    np.testing.assert_allclose(r["standard_errors"], np.sqrt(np.diag(np.linalg.inv(information))),
                               rtol=1e-10)


def test_hs071_ipopt():
    r = load("hs071_ipopt").main()
    optimum = np.array([1.0, 4.74299963, 3.82114998, 1.37940829])   # Hock and Schittkowski
    np.testing.assert_allclose(r["scipy"].x, optimum, atol=1e-4)
    if r["ipopt"] is None:
        pytest.skip("cyipopt is not installed: the SciPy solve ran, IPOPT did not")
    x, info = r["ipopt"]
    np.testing.assert_allclose(x, optimum, atol=1e-7)


def test_chained_ipopt():
    pytest.importorskip("cyipopt", reason="cyipopt is not installed (it needs the IPOPT library)")
    module = load("chained_ipopt")
    r = module.main(n=400)
    assert r["info"]["status"] == 0
    np.testing.assert_allclose(module.constraints(r["x"]), 0.0, atol=1e-8)
    # a first-order point: the gradient of f is in the span of the constraint gradients,
    # checked with central differences of the plain NumPy functions
    x, h = r["x"], 1e-6
    grad_f = np.array([(module.objective(x + h * e) - module.objective(x - h * e)) / (2 * h)
                       for e in np.eye(len(x))])
    J = np.array([(module.constraints(x + h * e) - module.constraints(x - h * e)) / (2 * h)
                  for e in np.eye(len(x))]).T
    multipliers = np.linalg.lstsq(J.T, -grad_f, rcond=None)[0]
    np.testing.assert_allclose(grad_f + J.T @ multipliers, 0.0, atol=1e-5)
