"""The benchmark problems, each written once against an array namespace ``xp``.

A `Problem` knows how to build its scalar function ``f(x, *data)`` for a namespace
(``make(xp)``), how to draw inputs for a size (``inputs(size)``, deterministic), how many
variables a size has, and whether it is evaluated one point at a time, batched over points, or
as a Hessian-vector product. Only argument 0 is differentiated; the other arguments are runtime
data. The inputs of a Hessian-vector product problem end with the vector ``v``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# Reference Hessians of batched problems are compared on this many leading points only, so the
# saved reference stays small at a million points.
BATCH_CHECK_POINTS = 1000


@dataclass(frozen=True)
class Problem:
    """One benchmark problem: its function, inputs, and the sizes it is run at."""

    name: str
    title: str
    size_label: str
    make: Callable            # make(xp) -> f(x, *data)
    inputs: Callable          # inputs(size) -> tuple of NumPy arrays; [0] is differentiated
    n_vars: Callable          # n_vars(size) -> number of differentiated variables
    sizes: tuple
    quick_sizes: tuple
    batched: bool = False     # size is the number of points; inputs()[0] has a leading axis
    sparse: bool = False      # the Hessian is sparse: a tool may return it in sparse form
    hvp: bool = False         # tools compute H(x) @ v, never H; inputs()[-1] is v
    elements: Callable = None  # elements(xp) -> the function as a sum over elements (a sparse
    #                            Hessian by vmap and scatter for JAX): see mesh_elements
    tools: tuple = None       # the only tools whose array namespace can express it (None: all)
    floor: Callable = None    # floor(*inputs) -> (call, note): the hardware's bound, for the
    #                           floor row of a single-point problem (see peers/floor.py)

    def output_bytes(self, size) -> int:
        """Bytes of the float64 result the tools return for this size (H, a batch, or H v)."""
        n = self.n_vars(size)
        if self.hvp:
            return 8 * n
        return 8 * n * n * (size if self.batched else 1)


# --- neo-Hookean strain energy -------------------------------------------------------------

def neohookean(xp):
    """Compressible neo-Hookean energy of a 3x3 deformation gradient F."""
    def energy(F):
        J = xp.det(F)
        return 0.5 * (xp.sum(F * F) - 3) - xp.log(J) + xp.log(J) ** 2
    return energy


def _deformations(points):
    rng = np.random.default_rng(0)
    shape = (3, 3) if points is None else (points, 3, 3)
    return (np.eye(3) + 0.1 * rng.standard_normal(shape),)


# --- Rosenbrock ----------------------------------------------------------------------------

def rosenbrock(xp):
    """The chained Rosenbrock function; its Hessian is tridiagonal."""
    def f(x):
        return xp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    return f


def _rosenbrock_inputs(n):
    rng = np.random.default_rng(1)
    return (1 + 0.1 * rng.standard_normal(n),)


def _rosenbrock_hvp_inputs(n):
    return _rosenbrock_inputs(n) + (np.random.default_rng(2).standard_normal(n),)


# --- Lennard-Jones clusters ----------------------------------------------------------------

def lj_loop(xp):
    """Lennard-Jones energy written as a Python loop over pairs (unrolled by tracers)."""
    def energy(X):
        e = 0.0
        n = X.shape[0]
        for i in range(n):
            for j in range(i + 1, n):
                d = X[i] - X[j]
                r2 = xp.sum(d * d)
                e = e + 4 * (r2 ** -6 - r2 ** -3)
        return e
    return energy


def lj_vectorized(xp):
    """Lennard-Jones energy written with index arrays over all pairs."""
    def energy(X):
        i, j = np.triu_indices(X.shape[0], 1)
        d = X[i] - X[j]
        r2 = xp.sum(d * d, axis=1)
        return xp.sum(4 * (r2 ** -6 - r2 ** -3))
    return energy


def _cluster(n_atoms):
    # Atoms on a cubic lattice near the pair minimum (2^(1/6) = 1.12), slightly shaken, so no
    # pair is close enough for r^-12 to overflow.
    side = int(np.ceil(n_atoms ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    rng = np.random.default_rng(2)
    return (1.12 * grid[:n_atoms] + 0.05 * rng.standard_normal((n_atoms, 3)),)


# --- logistic regression -------------------------------------------------------------------

ROWS = 1000


def logistic_nll(xp):
    """Negative log-likelihood of logistic regression; X and y are runtime data."""
    def nll(w, X, y):
        z = X @ w
        return xp.sum(xp.log(1 + xp.exp(-y * z)))
    return nll


def _regression_data(d, rows=ROWS):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((rows, d))
    y = np.where(rng.random(rows) < 0.5, -1.0, 1.0)
    return 0.1 * rng.standard_normal(d), X, y


def _syrk_floor(w, X, y):
    """BLAS's ``dsyrk`` of the data matrix, ``X'X``: the floor of ``X' diag(s) X``. A C-ordered
    ``X`` is BLAS's column-major ``X'``, so ``dsyrk`` of ``X.T`` without transpose reads it in
    place."""
    from scipy.linalg.blas import dsyrk
    out = np.zeros((X.shape[1], X.shape[1]), order="F")
    data = X.T
    return (lambda: dsyrk(1.0, data, c=out, overwrite_c=True),
            "BLAS dsyrk of X'X (upper triangle)")


# --- ridge regression ----------------------------------------------------------------------

RIDGE_LAMBDA = 0.1


def ridge(xp):
    """Ridge least squares; X and y are runtime data. Its Hessian X^T X + lam I is constant."""
    def loss(w, X, y):
        r = X @ w - y
        return 0.5 * xp.sum(r ** 2) + 0.5 * RIDGE_LAMBDA * xp.sum(w ** 2)
    return loss


def _ridge_data(d):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((ROWS, d))
    w_true = rng.standard_normal(d)
    y = X @ w_true + 0.1 * rng.standard_normal(ROWS)
    return rng.standard_normal(d), X, y


# --- two-layer tanh network ----------------------------------------------------------------

MLP_FEATURES = 3


def _mlp_hidden(params):
    """Hidden units of an MLP with `params` parameters: P = h (k + 2) + 1 with k = 3."""
    hidden, rest = divmod(params - 1, MLP_FEATURES + 2)
    if rest or hidden < 1:
        raise ValueError(f"mlp: {params} parameters is not 1 + {MLP_FEATURES + 2} h")
    return hidden


def mlp_loss(xp):
    """Squared-error loss of a k-h-1 tanh network whose parameters are one flat vector p."""
    def loss(p, X, y):
        k = X.shape[1]
        h = (p.shape[0] - 1) // (k + 2)
        W1 = xp.reshape(p[:h * k], (h, k))
        b1 = p[h * k:h * k + h]
        w2 = p[h * k + h:h * k + 2 * h]
        b2 = p[h * k + 2 * h]
        prediction = xp.tanh(X @ W1.T + b1) @ w2 + b2
        return 0.5 * xp.sum((prediction - y) ** 2)
    return loss


def _mlp_data(params, rows):
    hidden = _mlp_hidden(params)
    rng = np.random.default_rng(6)
    X = rng.standard_normal((rows, MLP_FEATURES))
    y = np.sin(X @ np.array([1.0, -0.5, 0.25])) + 0.1 * rng.standard_normal(rows)
    p = rng.standard_normal(params) / np.sqrt(hidden)
    return p, X, y


# --- log-sum-exp plus a quadratic ----------------------------------------------------------

def logsumexp_quadratic(xp):
    """logsumexp(A x) + x Q x / 2, the log-sum-exp written stably; A and Q are runtime data."""
    def f(x, A, Q):
        z = A @ x
        m = xp.max(z)
        return m + xp.log(xp.sum(xp.exp(z - m))) + 0.5 * (x @ Q @ x)
    return f


def _logsumexp_data(n):
    rng = np.random.default_rng(7)
    A = rng.standard_normal((2 * n, n)) / np.sqrt(n)
    B = rng.standard_normal((n, n)) / np.sqrt(n)
    Q = B @ B.T + np.eye(n)             # symmetric positive definite
    return rng.standard_normal(n), A, Q


# --- neo-Hookean energy of a triangle mesh -------------------------------------------------

FEM_MU, FEM_LAMBDA = 1.0, 10.0


def _mesh_side(triangles):
    """Cells per side N of the unit-square mesh with about `triangles` (= 2 N^2) triangles."""
    return max(1, int(round(np.sqrt(triangles / 2))))


def _triangles(side):
    """Node indices (2 N^2 x 3, counter-clockwise) of the N x N square grid, each square split
    in two; node (i, j), row i and column j, is number i (N + 1) + j."""
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    a = (i * (side + 1) + j).ravel()
    b, c, d = a + 1, a + side + 1, a + side + 2
    return np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])


def _triangle_energy(xp, x0, y0, x1, y1, x2, y2, D0, D1, D2, D3, area):
    """Energy of triangles with corners (x_k, y_k), inverse reference edge matrices
    [[D0, D1], [D2, D3]] and areas (arrays over triangles, or one triangle's numbers)."""
    e0x, e0y, e1x, e1y = x1 - x0, y1 - y0, x2 - x0, y2 - y0
    # F = [e0 e1] Dinv
    F00, F01 = e0x * D0 + e1x * D2, e0x * D1 + e1x * D3
    F10, F11 = e0y * D0 + e1y * D2, e0y * D1 + e1y * D3
    logJ = xp.log(F00 * F11 - F01 * F10)
    mu, lam = FEM_MU, FEM_LAMBDA
    return area * (0.5 * mu * (F00 ** 2 + F01 ** 2 + F10 ** 2 + F11 ** 2 - 2) - mu * logJ
                   + 0.5 * lam * logJ ** 2)


def _corner_unknowns(u):
    """The six unknowns (x, y of each corner) of each triangle of the mesh of ``u``."""
    tri = 2 * _triangles(int(round(np.sqrt(u.shape[0] // 2))) - 1)
    return np.stack([tri[:, 0], tri[:, 0] + 1, tri[:, 1], tri[:, 1] + 1, tri[:, 2],
                     tri[:, 2] + 1], 1)


def mesh_energy(xp):
    """Compressible neo-Hookean energy of a 2-D triangle mesh, as a function of the flat
    displacement vector u; node positions X0 (flat), inverse reference edge matrices Dinv
    (one row [D00, D01, D10, D11] per triangle) and triangle areas are runtime data. The
    connectivity of the structured mesh is a constant computed from the number of nodes."""
    def energy(u, X0, Dinv, area):
        x = X0 + u
        dofs = _corner_unknowns(u)
        corners = [x[dofs[:, k]] for k in range(6)]
        return xp.sum(_triangle_energy(xp, *corners, *(Dinv[:, k] for k in range(4)), area))
    return energy


def mesh_elements(xp):
    """The mesh energy as a sum over triangles, for tools that take that form (JAX's vmap of
    element Hessians, scattered into the sparse matrix): ``(energy of one triangle from its
    six unknowns and its data, split)``, where ``split(u, X0, Dinv, area)`` gives the unknowns
    of each triangle, the offset the unknowns are added to, and the per-triangle data."""
    def element(q, D, area):
        return _triangle_energy(xp, *q, *D, area)

    def split(u, X0, Dinv, area):
        return _corner_unknowns(u), X0, (Dinv, area)
    return element, split


def _mesh_data(triangles):
    side = _mesh_side(triangles)
    grid = np.arange(side + 1) / side
    Y, X = np.meshgrid(grid, grid, indexing="ij")
    X0 = np.stack([X.ravel(), Y.ravel()], 1)            # node i (N + 1) + j at (j, i) / N
    tri = _triangles(side)
    Dm = np.stack([X0[tri[:, 1]] - X0[tri[:, 0]], X0[tri[:, 2]] - X0[tri[:, 0]]], axis=2)
    Dinv = np.linalg.inv(Dm).reshape(-1, 4)
    area = 0.5 * np.abs(np.linalg.det(Dm))
    rng = np.random.default_rng(8)
    # a 10 % stretch along x, 5 % compression along y, and noise of 5 % of an edge
    u = X0 * np.array([0.1, -0.05]) + (0.05 / side) * rng.standard_normal(X0.shape)
    return u.ravel(), X0.ravel(), Dinv, area


def _mesh_hvp_data(triangles):
    u, *data = _mesh_data(triangles)
    return (u, *data, np.random.default_rng(9).standard_normal(u.shape))


def _mesh_vars(triangles):
    return 2 * (_mesh_side(triangles) + 1) ** 2


# --- smoothed total variation ----------------------------------------------------------------

TV_EPS, TV_LAMBDA = 1e-2, 1.0


def total_variation(xp):
    """Smoothed total variation of an N x N image u plus a fit to the runtime image f."""
    def energy(u, f):
        dx = u[1:, :-1] - u[:-1, :-1]
        dy = u[:-1, 1:] - u[:-1, :-1]
        return (xp.sum(xp.sqrt(TV_EPS + dx ** 2 + dy ** 2))
                + 0.5 * TV_LAMBDA * xp.sum((u - f) ** 2))
    return energy


def _image_data(side):
    rng = np.random.default_rng(10)
    grid = (np.arange(side) + 0.5) / side
    disk = ((grid[:, None] - 0.5) ** 2 + (grid[None, :] - 0.4) ** 2 < 0.1).astype(float)
    f = disk + 0.1 * rng.standard_normal((side, side))
    u = f + 0.05 * rng.standard_normal((side, side))
    return u, f, rng.standard_normal((side, side))


# --- molecular chain -----------------------------------------------------------------------

def _cross(xp, a, b):
    return xp.stack([a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
                     a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
                     a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], axis=1)


def molecular_chain(xp):
    """A linear molecule: harmonic bonds, harmonic angles, cosine dihedrals (force-field style)."""
    k_bond, r0, k_angle, theta0, k_dihedral = 300.0, 1.5, 50.0, 1.91, 2.0

    def energy(X):
        b = X[1:] - X[:-1]
        r = xp.sqrt(xp.sum(b * b, axis=1))
        bonds = xp.sum(k_bond * (r - r0) ** 2)
        cos_theta = -xp.sum(b[:-1] * b[1:], axis=1) / (r[:-1] * r[1:])
        angles = xp.sum(k_angle * (xp.arccos(cos_theta) - theta0) ** 2)
        b1, b2, b3 = b[:-2], b[1:-1], b[2:]
        n1, n2 = _cross(xp, b1, b2), _cross(xp, b2, b3)
        m1 = _cross(xp, n1, b2 / r[1:-1][:, None])
        phi = xp.arctan2(xp.sum(m1 * n2, axis=1), xp.sum(n1 * n2, axis=1))
        dihedrals = xp.sum(k_dihedral * (1 + xp.cos(3 * phi)))
        return bonds + angles + dihedrals
    return energy


def _chain(n_atoms):
    # A zig-zag chain with bond length ~1.5 and angle ~110 degrees, slightly shaken.
    rng = np.random.default_rng(4)
    k = np.arange(n_atoms)
    X = np.stack([1.23 * k, 0.86 * (k % 2), 0.3 * np.sin(k)], axis=1)
    return (X + 0.05 * rng.standard_normal((n_atoms, 3)),)


# --- Gaussian likelihoods: linear algebra inside the Hessian ---------------------------------

GAUSS_ROWS, GP_NOISE = 100, 1e-2
LINALG_TOOLS = ("jax", "symhess")      # (the other namespaces have no np.linalg)


def _tril_positions(m):
    """For ``m = k (k + 1) / 2`` parameters: ``(k, k)`` positions into ``[0, theta...]`` that
    put ``theta`` in the lower triangle (row by row) and zeros above it."""
    k = int(round((np.sqrt(8 * m + 1) - 1) / 2))
    positions = np.zeros((k, k), dtype=np.int64)
    positions[np.tril_indices(k)] = np.arange(1, m + 1)
    return positions


def gaussian_nll(xp):
    """The negative log-likelihood of rows Y under N(0, L L^T + 0.1 I), with respect to the
    lower-triangular L's k (k + 1) / 2 entries; Y is runtime data."""
    def nll(theta, Y):
        L = xp.concatenate([theta[:1] * 0.0, theta])[_tril_positions(theta.shape[0])]
        S = L @ L.T + 0.1 * np.eye(L.shape[0])
        _, logdet = xp.linalg.slogdet(S)
        return 0.5 * Y.shape[0] * logdet + 0.5 * xp.sum(Y * xp.linalg.solve(S, Y.T).T)
    return nll


def _gaussian_data(k):
    rng = np.random.default_rng(8)
    L = np.tril(rng.standard_normal((k, k))) / np.sqrt(k) + np.eye(k)
    return L[np.tril_indices(k)], rng.standard_normal((GAUSS_ROWS, k)) @ L.T


def gp_marginal(xp):
    """A Gaussian process's negative log marginal likelihood with a squared-exponential kernel
    (length scale, signal and noise amplitudes, as logarithms); the points X and targets y are
    runtime data."""
    def nll(theta, X, y):
        d2 = xp.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
        K = xp.exp(2 * theta[1] - 0.5 * d2 * xp.exp(-2 * theta[0])) \
            + (xp.exp(2 * theta[2]) + GP_NOISE) * np.eye(X.shape[0])
        _, logdet = xp.linalg.slogdet(K)
        return 0.5 * y @ xp.linalg.solve(K, y) + 0.5 * logdet
    return nll


def _gp_data(points):
    rng = np.random.default_rng(9)
    X = rng.uniform(-3, 3, size=(points, 2))
    y = np.sin(X[:, 0]) * np.cos(X[:, 1]) + 0.1 * rng.standard_normal(points)
    return np.array([0.0, 0.0, np.log(0.1)]), X, y


PROBLEMS = {p.name: p for p in [
    Problem("neohookean", "neo-Hookean energy, one 3x3 F", "points",
            make=neohookean, inputs=lambda size: _deformations(None), n_vars=lambda size: 9,
            sizes=(1,), quick_sizes=(1,)),
    Problem("neohookean-batch", "neo-Hookean energy, batched over points", "points",
            make=neohookean, inputs=_deformations, n_vars=lambda size: 9,
            sizes=(10**3, 10**4, 10**5, 10**6), quick_sizes=(10**3, 10**4), batched=True),
    Problem("rosenbrock", "Rosenbrock, n variables (tridiagonal Hessian)", "n",
            make=rosenbrock, inputs=_rosenbrock_inputs, n_vars=lambda n: n,
            sizes=(2, 10, 100, 1000, 10**4, 10**5, 10**6), quick_sizes=(10, 100), sparse=True),
    Problem("rosenbrock-hvp", "Rosenbrock Hessian-vector product H(x) v, n variables", "n",
            make=rosenbrock, inputs=_rosenbrock_hvp_inputs, n_vars=lambda n: n,
            sizes=(1000, 10**4, 10**5, 10**6), quick_sizes=(10, 100), hvp=True),
    Problem("lj-loop", "Lennard-Jones cluster, Python loop over pairs", "atoms",
            make=lj_loop, inputs=_cluster, n_vars=lambda n: 3 * n,
            sizes=(4, 8, 12), quick_sizes=(4,)),
    Problem("lj-vec", "Lennard-Jones cluster, vectorised over pairs", "atoms",
            make=lj_vectorized, inputs=_cluster, n_vars=lambda n: 3 * n,
            sizes=(4, 8, 12, 38, 100), quick_sizes=(4, 8)),
    Problem("logreg", f"logistic-regression NLL, d weights, {ROWS} data rows at runtime", "d",
            make=logistic_nll, inputs=_regression_data, n_vars=lambda d: d,
            sizes=(10, 50, 100), quick_sizes=(10,), floor=_syrk_floor),
    Problem("molchain", "molecular chain: bonds, angles (arccos), dihedrals (arctan2)", "atoms",
            make=molecular_chain, inputs=_chain, n_vars=lambda n: 3 * n,
            sizes=(10, 20), quick_sizes=(10,)),
    Problem("logreg-1e4", "logistic-regression NLL, d weights, 1e4 data rows at runtime", "d",
            make=logistic_nll, inputs=lambda d: _regression_data(d, 10**4), n_vars=lambda d: d,
            sizes=(10, 50, 100), quick_sizes=(10,), floor=_syrk_floor),
    Problem("ridge", f"ridge regression, d weights, {ROWS} data rows at runtime", "d",
            make=ridge, inputs=_ridge_data, n_vars=lambda d: d,
            sizes=(10, 100), quick_sizes=(10,)),
    *[Problem(name, f"2-layer tanh MLP, P = 5 h + 1 parameters (3 inputs), {label} data rows",
              "P", make=mlp_loss, inputs=lambda P, rows=rows: _mlp_data(P, rows),
              n_vars=lambda P: P, sizes=(11, 21, 51, 201, 1001), quick_sizes=(11,))
      for name, rows, label in (("mlp", 64, "64"), ("mlp-1e3", 10**3, "1e3"),
                                ("mlp-1e4", 10**4, "1e4"))],
    Problem("logsumexp", "logsumexp(A x) + x Q x / 2, A (2n x n) and Q at runtime", "n",
            make=logsumexp_quadratic, inputs=_logsumexp_data, n_vars=lambda n: n,
            sizes=(10, 50, 100, 500), quick_sizes=(10,)),
    Problem("fem", "neo-Hookean triangle mesh of the unit square (sparse Hessian)", "triangles",
            make=mesh_energy, inputs=_mesh_data, n_vars=_mesh_vars,
            sizes=(2000, 20000, 50000, 200000), quick_sizes=(2000,), sparse=True,
            elements=mesh_elements),
    Problem("fem-hvp", "neo-Hookean triangle mesh, Hessian-vector product H(u) v", "triangles",
            make=mesh_energy, inputs=_mesh_hvp_data, n_vars=_mesh_vars,
            sizes=(2000, 20000, 50000, 200000), quick_sizes=(2000,), hvp=True),
    Problem("tv-hvp", "smoothed total variation of an N x N image, H(u) v", "N",
            make=total_variation, inputs=_image_data, n_vars=lambda n: n * n,
            sizes=(64, 256), quick_sizes=(64,), hvp=True),
    Problem("gauss-nll", f"Gaussian NLL, covariance L L' + 0.1 I, w.r.t. the k x k lower "
            f"triangle L; {GAUSS_ROWS} rows at runtime", "k",
            make=gaussian_nll, inputs=_gaussian_data, n_vars=lambda k: k * (k + 1) // 2,
            sizes=(5, 10, 20, 30), quick_sizes=(5,), tools=LINALG_TOOLS),
    Problem("gp", "Gaussian-process marginal likelihood, 3 kernel hyperparameters, N points",
            "N", make=gp_marginal, inputs=_gp_data, n_vars=lambda n: 3,
            sizes=(200, 1000), quick_sizes=(50,), tools=LINALG_TOOLS),
]}
