"""A Laplace approximation of a Bayesian logistic-regression posterior.

With a Gaussian prior N(0, I / alpha) on the weights w, the negative log posterior is
sum_i log(1 + exp(-y_i x_i . w)) + alpha / 2 |w|^2 (labels y_i = +-1). Its minimum is the MAP
estimate, and its Hessian there is the precision of the Laplace approximation
N(w_MAP, H^-1). The data X and y are runtime inputs of the symhess kernel: new data with the
same shapes reuses it. The closed form H = X^T diag(p (1 - p)) X + alpha I checks the result.

Run: ``python examples/laplace_logistic.py [plot.png]``: the plot goes to the file named, or to
``laplace_logistic.png`` in the system's temporary folder; the path written is printed.
"""

import os
import sys
import tempfile

import numpy as np
import scipy.optimize

import symhess


def neg_log_posterior(w, X, y, alpha):
    # log1p(exp(-z)) rather than logaddexp(0, -z): margins here are far from overflow, and
    # the expression stays free of branches.
    return np.sum(np.log1p(np.exp(-y * (X @ w)))) + 0.5 * alpha * np.sum(w * w)


def gradient(w, X, y, alpha):
    p = 1 / (1 + np.exp(y * (X @ w)))
    return -X.T @ (y * p) + alpha * w


def data(n, rng):
    """Two Gaussian classes in the plane, with a column of ones for the bias."""
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    points = rng.normal(size=(n, 2)) + 1.2 * y[:, None] * np.array([1.0, 0.5])
    return np.column_stack([points, np.ones(n)]), y


def main(small: bool = False, plot=None, alpha: float = 1.0) -> dict:
    """Fit, approximate, and plot the predictive probability; return the figures.

    ``plot`` is the PNG to write: None for ``laplace_logistic.png`` in the temporary folder,
    False for no plot.
    """
    if plot is None:
        plot = os.path.join(tempfile.gettempdir(), "laplace_logistic.png")
    rng = np.random.default_rng(1)
    X, y = data(30 if small else 200, rng)
    H = symhess.hessian(neg_log_posterior)
    w0 = np.zeros(3)
    fit = scipy.optimize.minimize(neg_log_posterior, w0, args=(X, y, alpha), jac=gradient,
                                  hess=H, method="trust-exact", options={"gtol": 1e-10})
    w = fit.x
    precision = H(w, X, y, alpha)
    covariance = np.linalg.inv(precision)
    # X and y are runtime data, so symhess's array tier derived the Hessian as one matrix
    # expression, printed here in NumPy notation (the closed form below, with p = 1 / s2).
    matrix = H.compile(w, X, y, alpha).matrix()
    print(matrix)
    print(f"MAP weights {np.array2string(w, precision=3)}, posterior std "
          f"{np.array2string(np.sqrt(np.diag(covariance)), precision=3)}")
    written = None
    if plot:
        written = _plot(X, y, w, covariance, plot)
    return {"X": X, "y": y, "alpha": alpha, "w": w, "precision": precision,
            "covariance": covariance, "matrix": matrix, "plot": written}


def _plot(X, y, w, covariance, path):
    """Predictive probability under the Laplace posterior (probit approximation)."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no plot")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = np.linspace(-4, 4, 120)
    gx, gy = np.meshgrid(g, g)
    grid = np.column_stack([gx.ravel(), gy.ravel(), np.ones(gx.size)])
    mean = grid @ w
    var = np.einsum("ij,jk,ik->i", grid, covariance, grid)
    prob = 1 / (1 + np.exp(-mean / np.sqrt(1 + np.pi * var / 8)))
    fig, ax = plt.subplots(figsize=(5, 4))
    contour = ax.contourf(gx, gy, prob.reshape(gx.shape), levels=np.linspace(0, 1, 11), cmap="RdBu_r")
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=18)
    fig.colorbar(contour, label="p(y = +1 | x, data)")
    ax.set_title("Laplace approximation, logistic regression")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main(plot=sys.argv[1] if len(sys.argv) > 1 else None)
