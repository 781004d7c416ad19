"""Normal modes of a Lennard-Jones cluster from the eigenvalues of its mass-weighted Hessian.

At a minimum of a nonlinear cluster six eigenvalues vanish (three translations and three
rotations); the others are the squared vibrational frequencies. In reduced units (epsilon =
sigma = mass = 1) the four-atom minimum is a regular tetrahedron of edge 2**(1/6), whose
frequencies have a closed form: with k = V''(r0) = 72 / 2**(1/3), omega**2 is k (twice),
2 k (three times) and 4 k (once).

Run: ``python examples/normal_modes.py`` (a 13-atom icosahedral cluster).
"""

import numpy as np
import scipy.optimize

import symhess


def lj_energy(n_atoms):
    """The Lennard-Jones energy of ``n_atoms`` atoms at positions ``x`` of shape (n_atoms, 3)."""
    i, j = np.triu_indices(n_atoms, 1)

    def energy(x):
        d = x[i] - x[j]
        inv6 = 1.0 / np.sum(d * d, axis=1) ** 3
        return 4.0 * np.sum(inv6 * inv6 - inv6)
    return energy


def tetrahedron():
    """A regular tetrahedron of edge 2**(1/6): the exact minimum of LJ4."""
    corners = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    return corners * 2 ** (1 / 6) / np.sqrt(8)


def icosahedron():
    """Thirteen atoms: a centre and the twelve vertices of an icosahedron (near LJ13's minimum)."""
    g = (1 + 5 ** 0.5) / 2
    v = [(0, s1, s2 * g) for s1 in (-1, 1) for s2 in (-1, 1)]
    v = v + [(b, c, a) for a, b, c in v] + [(c, a, b) for a, b, c in v]
    v = np.array(v) / np.sqrt(1 + g * g) * 1.1
    return np.vstack([np.zeros(3), v])


def main(small: bool = False) -> dict:
    """Relax the cluster with Newton steps, then return the mass-weighted Hessian's eigenvalues."""
    x = tetrahedron() if small else icosahedron()
    n_atoms = len(x)
    energy = lj_energy(n_atoms)
    H = symhess.hessian(energy)
    shape = x.shape

    def flat_energy(v):
        return energy(v.reshape(shape))

    def flat_hessian(v):
        return H(v.reshape(shape)).reshape(v.size, v.size)

    def flat_gradient(v):        # central differences suffice to steer the Newton steps
        h = 1e-6
        e = np.eye(v.size) * h
        return np.array([(flat_energy(v + d) - flat_energy(v - d)) / (2 * h) for d in e])

    if not small:
        result = scipy.optimize.minimize(flat_energy, x.ravel(), jac=flat_gradient,
                                         hess=flat_hessian, method="trust-exact",
                                         options={"gtol": 1e-7})
        x = result.x.reshape(shape)
    masses = np.ones(n_atoms)
    weights = 1 / np.sqrt(np.repeat(masses, 3))
    hessian = flat_hessian(x.ravel())
    eigenvalues = np.linalg.eigvalsh(weights[:, None] * hessian * weights[None, :])
    print(f"LJ{n_atoms}: energy {flat_energy(x.ravel()):.6f}")
    print("six smallest |eigenvalues| (translations, rotations):",
          np.array2string(np.sort(np.abs(eigenvalues))[:6], precision=2))
    print("vibrational omega**2:", np.array2string(np.sort(eigenvalues)[6:], precision=4))
    return {"positions": x, "hessian": hessian, "eigenvalues": np.sort(eigenvalues),
            "energy": flat_energy(x.ravel())}


if __name__ == "__main__":
    main()
