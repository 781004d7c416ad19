"""A small finite-element solve: a neo-Hookean plate stretched by 20 %, Newton on the energy.

Linear triangles on the unit square; the left edge is clamped and the right edge displaced by
(stretch, 0). The element stiffness (the Hessian of the element energy with respect to its six
nodal displacements) comes from symhess, evaluated for all elements at once with
``batch_axis``; the element's reference coordinates and the Lamé parameters are runtime inputs,
so one kernel serves every element. The internal forces are written by hand (first
Piola-Kirchhoff stress), which makes Newton's quadratic convergence a test of the stiffness.

Run: ``python examples/neo_hookean_fem.py``.
"""

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

import symhess


def element_energy(u, X, mu, lam):
    """Strain energy of one triangle: nodal displacements u (3, 2), reference nodes X (3, 2)."""
    D = np.stack([X[1] - X[0], X[2] - X[0]], axis=1)
    d = np.stack([u[1] - u[0], u[2] - u[0]], axis=1)
    F = np.eye(2) + d @ np.linalg.inv(D)
    J = np.linalg.det(F)
    W = 0.5 * mu * (np.sum(F * F) - 2 - 2 * np.log(J)) + 0.5 * lam * np.log(J) ** 2
    return 0.5 * np.linalg.det(D) * W


def element_forces(u, X, mu, lam):
    """Hand-written gradients of `element_energy` for all elements: shape (elements, 3, 2)."""
    D = np.stack([X[:, 1] - X[:, 0], X[:, 2] - X[:, 0]], axis=2)
    d = np.stack([u[:, 1] - u[:, 0], u[:, 2] - u[:, 0]], axis=2)
    Dinv = np.linalg.inv(D)
    F = np.eye(2) + d @ Dinv
    FinvT = np.linalg.inv(F).transpose(0, 2, 1)
    J = np.linalg.det(F)
    P = mu * (F - FinvT) + lam * np.log(J)[:, None, None] * FinvT
    grad = np.concatenate([-Dinv.sum(axis=1, keepdims=True), Dinv], axis=1)   # dN_a/dX
    area = 0.5 * np.linalg.det(D)
    return area[:, None, None] * np.einsum("eij,eaj->eai", P, grad)


def mesh(n):
    """Nodes (N, 2) and triangles (E, 3) of an n x n grid of squares, each cut in two."""
    g = np.linspace(0.0, 1.0, n + 1)
    nodes = np.array([(x, y) for y in g for x in g])
    tris = []
    for j in range(n):
        for i in range(n):
            a, b, c, d = j * (n + 1) + i, j * (n + 1) + i + 1, (j + 1) * (n + 1) + i, (j + 1) * (n + 1) + i + 1
            tris += [(a, b, d), (a, d, c)]
    return nodes, np.array(tris)


def main(small: bool = False, stretch: float = 0.2, mu: float = 1.0, lam: float = 4.0) -> dict:
    """Solve in two load steps; return the solution and each step's residual history."""
    n = 2 if small else 12
    nodes, tris = mesh(n)
    X = nodes[tris]                                         # (E, 3, 2) reference coordinates
    stiffness = symhess.hessian(element_energy, batch_axis=0, in_axes=(0, 0, None, None))
    left = np.isclose(nodes[:, 0], 0.0)
    right = np.isclose(nodes[:, 0], 1.0)
    fixed = np.zeros(nodes.shape, dtype=bool)
    fixed[left | right] = True
    free = ~fixed.ravel()
    dofs = (2 * tris[:, :, None] + np.arange(2)).reshape(len(tris), 6)
    rows, cols = np.repeat(dofs, 6, axis=1).ravel(), np.tile(dofs, (1, 6)).ravel()
    u = np.zeros_like(nodes)
    history = []
    for step in (0.5, 1.0):
        u[right] = (step * stretch, 0.0)
        residuals = []
        for _ in range(20):
            f = element_forces(u[tris], X, mu, lam)
            r = np.zeros(u.size)
            np.add.at(r, dofs.ravel(), f.reshape(-1))
            residuals.append(np.linalg.norm(r[free]))
            if residuals[-1] < 1e-11:
                break
            k = stiffness(u[tris], X, mu, lam).reshape(len(tris), 36)
            K = scipy.sparse.csr_array((k.ravel(), (rows, cols)), shape=(u.size, u.size))
            du = scipy.sparse.linalg.spsolve(K[free][:, free].tocsc(), -r[free])
            u.reshape(-1)[free] += du
        history.append(residuals)
        print(f"load {step:.1f}: Newton residuals " + " ".join(f"{v:.1e}" for v in residuals))
    return {"u": u, "nodes": nodes, "tris": tris, "history": history, "mu": mu, "lam": lam,
            "stiffness": stiffness, "forces": element_forces}


if __name__ == "__main__":
    main()
