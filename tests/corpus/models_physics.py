"""Physics, chemistry and engineering models as scientists write them in NumPy: potential
energies of atoms and polymers, finite-element and truss energies, Lagrangians and Hamiltonians,
lattice spin models, field energies on grids, nonlinear least-squares fits, a Gibbs energy, an
option price and a small neural network's loss."""

import numpy as np
from scipy.special import ndtr, xlogy

from corpus import case, data

# --- atoms and molecules --------------------------------------------------------------------------

# five atoms near a trigonal bipyramid, nearest neighbours about 2**(1/6) apart
LJ_POSITIONS = data.normal(5, 3, scale=0.03) + [
    [0.0, 0.0, 0.0], [1.12, 0.0, 0.0], [0.56, 0.97, 0.0],
    [0.56, 0.32, 0.91], [0.56, 0.32, -0.91]]


@case(LJ_POSITIONS, source="Wales & Doye, J. Phys. Chem. A 101 (1997): Lennard-Jones clusters "
      "(the Cambridge Cluster Database's LJ energy)", kind="model")
def lennard_jones_cluster(x, epsilon=1.0, sigma=1.0):
    i, j = np.triu_indices(x.shape[0], k=1)
    r2 = np.sum((x[i] - x[j]) ** 2, axis=1)
    sr6 = (sigma ** 2 / r2) ** 3
    return 4.0 * epsilon * np.sum(sr6 ** 2 - sr6)


MORSE_CHAIN = data.normal(6, 3, scale=0.05) + [
    [0.0, 0.0, 0.0], [1.1, 0.2, 0.0], [2.0, -0.3, 0.1],
    [3.1, 0.0, 0.3], [4.0, 0.4, 0.2], [5.2, 0.1, -0.1]]


@case(MORSE_CHAIN, source="Morse, Phys. Rev. 34 (1929): a chain of Morse bonds, as in "
      "ASE's ase.calculators.morse", kind="model")
def morse_chain(x, D=0.8, a=1.6, r0=1.1):
    bonds = np.diff(x, axis=0)
    r = np.linalg.norm(bonds, axis=1)
    return D * np.sum((1.0 - np.exp(-a * (r - r0))) ** 2)


# a helix-like bead-spring chain of seven beads
POLYMER = data.normal(7, 3, scale=0.04) + [
    [1.0, 0.0, 0.0], [0.31, 0.95, 0.35], [-0.81, 0.59, 0.7],
    [-0.81, -0.59, 1.05], [0.31, -0.95, 1.4], [1.0, 0.0, 1.75], [0.31, 0.95, 2.1]]


@case(POLYMER, source="Kremer & Grest, J. Chem. Phys. 92 (1990): bead-spring polymer, with "
      "harmonic bonds, bending angles and torsions as in LAMMPS bond_style harmonic, "
      "angle_style harmonic and dihedral_style charmm", kind="model")
def bead_spring_polymer(x, kb=100.0, b0=1.2, ka=20.0, theta0=1.9, kd=1.5, n=3, delta=0.0):
    b = x[1:] - x[:-1]
    lengths = np.sqrt(np.sum(b * b, axis=1))
    e_bond = 0.5 * kb * np.sum((lengths - b0) ** 2)

    u = b / lengths[:, None]
    cos_theta = np.sum(-u[:-1] * u[1:], axis=1)
    theta = np.arccos(cos_theta)
    e_angle = 0.5 * ka * np.sum((theta - theta0) ** 2)

    b1, b2, b3 = b[:-2], b[1:-1], b[2:]
    n1 = np.cross(b1, b2)
    n2 = np.cross(b2, b3)
    y = np.linalg.norm(b2, axis=1) * np.sum(b1 * n2, axis=1)
    xx = np.sum(n1 * n2, axis=1)
    phi = np.arctan2(y, xx)
    e_dihedral = kd * np.sum(1.0 + np.cos(n * phi - delta))
    return e_bond + e_angle + e_dihedral


# ethanol-like heavy-atom skeleton with hydrogens: C0-C1-O2-H3, C0-H4, C0-H5
MOLECULE = data.normal(6, 3, scale=0.03) + [
    [0.0, 0.0, 0.0], [1.52, 0.0, 0.0], [2.0, 1.35, 0.0],
    [2.95, 1.35, 0.2], [-0.38, 1.02, 0.05], [-0.38, -0.5, 0.88]]
CHARGES = [-0.18, 0.14, -0.68, 0.42, 0.09, 0.21]
BONDS = [[0, 1], [1, 2], [2, 3], [0, 4], [0, 5]]
BOND_PARAMS = [[310.0, 1.53], [320.0, 1.43], [553.0, 0.96], [340.0, 1.09], [340.0, 1.09]]
ANGLES = [[0, 1, 2], [1, 2, 3], [4, 0, 1], [5, 0, 1], [4, 0, 5]]
ANGLE_PARAMS = [[50.0, 1.91], [55.0, 1.89], [37.5, 1.91], [37.5, 1.91], [35.0, 1.88]]
DIHEDRALS = [[0, 1, 2, 3], [4, 0, 1, 2], [5, 0, 1, 2]]
DIHEDRAL_PARAMS = [[0.16, 3.0], [0.25, 3.0], [0.25, 3.0]]
PAIRS_14 = [[0, 3], [4, 2], [5, 2], [4, 3], [5, 3]]


@case(MOLECULE, data.uniform(0.9, 1.1, 6) * CHARGES, source="Cornell et al., JACS 117 (1995): "
      "an AMBER-style force field (harmonic bonds and angles, cosine torsions, Coulomb), as "
      "written in OpenMM's and ASE's NumPy examples", kind="model")
def amber_force_field(x, q, coulomb=332.0637):
    bonds = np.asarray(BONDS)
    kb, r0 = np.asarray(BOND_PARAMS).T
    d = x[bonds[:, 0]] - x[bonds[:, 1]]
    r = np.sqrt(np.einsum("ij,ij->i", d, d))
    e = np.sum(kb * (r - r0) ** 2)

    angles = np.asarray(ANGLES)
    ka, t0 = np.asarray(ANGLE_PARAMS).T
    v1 = x[angles[:, 0]] - x[angles[:, 1]]
    v2 = x[angles[:, 2]] - x[angles[:, 1]]
    c = np.einsum("ij,ij->i", v1, v2) / (np.linalg.norm(v1, axis=1) * np.linalg.norm(v2, axis=1))
    e = e + np.sum(ka * (np.arccos(c) - t0) ** 2)

    dih = np.asarray(DIHEDRALS)
    vn, per = np.asarray(DIHEDRAL_PARAMS).T
    p0, p1, p2, p3 = (x[dih[:, k]] for k in range(4))
    b1, b2, b3 = p1 - p0, p2 - p1, p3 - p2
    m1 = np.cross(b1, b2)
    m2 = np.cross(b2, b3)
    b2hat = b2 / np.linalg.norm(b2, axis=1, keepdims=True)
    phi = np.arctan2(np.sum(np.cross(m1, m2) * b2hat, axis=1), np.sum(m1 * m2, axis=1))
    e = e + np.sum(vn * (1.0 + np.cos(per * phi)))

    pairs = np.asarray(PAIRS_14)
    rij = np.linalg.norm(x[pairs[:, 0]] - x[pairs[:, 1]], axis=-1)
    e = e + coulomb / 1.2 * np.sum(q[pairs[:, 0]] * q[pairs[:, 1]] / rij)
    return e


# --- solids and structures ------------------------------------------------------------------------

# a unit square meshed with 3 x 3 nodes and 8 triangles (counter-clockwise)
MESH_NODES = [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0],
              [0.0, 0.5], [0.5, 0.5], [1.0, 0.5],
              [0.0, 1.0], [0.5, 1.0], [1.0, 1.0]]
MESH_TRIANGLES = [[0, 1, 4], [0, 4, 3], [1, 2, 5], [1, 5, 4],
                  [3, 4, 7], [3, 7, 6], [4, 5, 8], [4, 8, 7]]


@case(data.normal(9, 2, scale=0.05), source="Bonet & Wood, Nonlinear Continuum Mechanics for "
      "Finite Element Analysis: compressible neo-Hookean P1 triangles, as in the FEniCS / "
      "JAX-FEM hyperelasticity demos written with NumPy", kind="model")
def neo_hookean_triangles(u, mu=1.0, lam=4.0):
    X = np.asarray(MESH_NODES)
    tri = np.asarray(MESH_TRIANGLES)
    x = X + u
    Xe, xe = X[tri], x[tri]                                  # (cells, 3, 2)
    Dm = np.stack([Xe[:, 1] - Xe[:, 0], Xe[:, 2] - Xe[:, 0]], axis=-1)
    Ds = np.stack([xe[:, 1] - xe[:, 0], xe[:, 2] - xe[:, 0]], axis=-1)
    area = 0.5 * np.abs(np.linalg.det(Dm))
    F = Ds @ np.linalg.inv(Dm)
    J = np.linalg.det(F)
    I1 = np.sum(F ** 2, axis=(1, 2))
    psi = 0.5 * mu * (I1 - 2.0) - mu * np.log(J) + 0.5 * lam * np.log(J) ** 2
    return np.sum(area * psi)


TRUSS_NODES = data.normal(6, 2, scale=0.0) + [
    [0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]]
TRUSS_BARS = [[0, 1], [1, 2], [3, 4], [4, 5], [0, 3], [1, 4], [2, 5], [0, 4], [1, 5], [4, 2]]


@case(data.normal(6, 2, scale=0.02), TRUSS_NODES, data.uniform(0.8, 1.2, 10) * 100.0,
      data.normal(6, 2), source="Felippa, Introduction to Finite Element Methods, ch. 2-3: "
      "the plane truss (bar strain energy minus the work of the loads)", kind="model")
def truss_energy(u, X, EA, loads):
    bars = np.array(TRUSS_BARS)
    x = X + u
    L0 = np.linalg.norm(X[bars[:, 1]] - X[bars[:, 0]], axis=1)
    L = np.linalg.norm(x[bars[:, 1]] - x[bars[:, 0]], axis=1)
    strain = (L - L0) / L0
    return 0.5 * np.sum(EA * L0 * strain ** 2) - np.sum(loads * u)


@case(data.normal(3, 3, scale=0.1) + [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]],
      data.uniform(1.0, 2.0, 2), source="Holzapfel, Nonlinear Solid Mechanics, sec. 6.5: "
      "the St. Venant-Kirchhoff strain energy at a material point", kind="model")
def st_venant_kirchhoff(F, lame):
    lam, mu = lame[0], lame[1]
    E = 0.5 * (F.T @ F - np.eye(3))
    return 0.5 * lam * np.trace(E) ** 2 + mu * np.trace(E @ E)


# --- mechanics: Lagrangians and Hamiltonians ------------------------------------------------------

@case(data.uniform(-1.0, 1.0, 2), data.normal(2), source="Cranmer et al., Lagrangian Neural "
      "Networks (2020): the analytic double-pendulum Lagrangian, Hessian in (q, qdot)",
      kind="model", argnums=(0, 1))
def double_pendulum_lagrangian(q, q_dot, m1=1.0, m2=1.0, l1=1.0, l2=1.0, g=9.8):
    t1, t2 = q[0], q[1]
    w1, w2 = q_dot[0], q_dot[1]
    T = (0.5 * (m1 + m2) * l1 ** 2 * w1 ** 2 + 0.5 * m2 * l2 ** 2 * w2 ** 2
         + m2 * l1 * l2 * w1 * w2 * np.cos(t1 - t2))
    V = -(m1 + m2) * g * l1 * np.cos(t1) - m2 * g * l2 * np.cos(t2)
    return T - V


@case((data.normal(2, 3) + [[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]], data.normal(2, 3, scale=0.5)),
      [1.0, 0.3], source="Greydanus et al., Hamiltonian Neural Networks (2019): the two-body "
      "Hamiltonian, state given as the tuple (q, p)", kind="model")
def two_body_hamiltonian(state, masses, G=1.0):
    q, p = state
    m1, m2 = masses
    kinetic = np.sum(p[0] ** 2) / (2 * m1) + np.sum(p[1] ** 2) / (2 * m2)
    r = np.linalg.norm(q[0] - q[1])
    return kinetic - G * m1 * m2 / r


# --- lattice spin models --------------------------------------------------------------------------

@case(data.uniform(-0.6, 0.6, 4, 4), source="Kosterlitz & Thouless (1973): the 2D XY model "
      "with a field, periodic boundaries through np.roll", kind="model")
def xy_model_energy(theta, J=1.0, h=0.3):
    right = np.roll(theta, -1, axis=1)
    down = np.roll(theta, -1, axis=0)
    bonds = np.cos(theta - right) + np.cos(theta - down)
    return -J * np.sum(bonds) - h * np.sum(np.cos(theta))


@case(data.uniform(0.4, 1.2, 2, 3, 3) * [[[1.0]], [[2.0]]], source="classical Heisenberg "
      "model in spherical angles with easy-axis anisotropy (as in micromagnetics/atomistic "
      "spin-dynamics notebooks)", kind="model")
def heisenberg_energy(angles, J=1.0, K=0.2, D=0.1):
    theta, phi = angles[0], angles[1]
    S = np.stack([np.sin(theta) * np.cos(phi),
                  np.sin(theta) * np.sin(phi),
                  np.cos(theta)], axis=-1)                    # (3, 3, 3)
    exchange = 0.0
    for axis in (0, 1):
        neighbour = np.roll(S, 1, axis=axis)
        exchange = exchange - J * np.sum(S * neighbour)
        dm = np.cross(S, neighbour)
        exchange = exchange + D * np.sum(dm[..., 2])
    return exchange - K * np.sum(S[..., 2] ** 2)


# --- fields on a grid -----------------------------------------------------------------------------

@case(data.normal(2, 5, 5, scale=0.5), source="Ginzburg-Landau free energy of a complex "
      "order parameter (real and imaginary parts) on a grid, finite differences by np.diff",
      kind="model")
def ginzburg_landau(psi, alpha=-1.0, beta=1.0, kappa=0.5, h=0.25):
    gx = np.diff(psi, axis=1) / h
    gy = np.diff(psi, axis=2) / h
    gradient = 0.5 * kappa ** 2 * (np.sum(gx ** 2) + np.sum(gy ** 2))
    rho = np.sum(psi ** 2, axis=0)
    bulk = np.sum(alpha * rho + 0.5 * beta * rho ** 2)
    return h ** 2 * (gradient + bulk)


@case(data.normal(6, 6, scale=0.3), data.normal(6, 6, scale=0.3), source="Rudin, Osher & "
      "Fatemi (1992): smoothed total-variation denoising energy with np.gradient",
      kind="model")
def tv_denoising(u, f, lam=2.0, eps=0.1):
    uy, ux = np.gradient(u)
    tv = np.sum(np.sqrt(ux ** 2 + uy ** 2 + eps ** 2))
    return tv + 0.5 * lam * np.sum((u - f) ** 2)


# --- nonlinear least squares ----------------------------------------------------------------------

MM_S = [0.02, 0.06, 0.11, 0.22, 0.56, 1.1, 0.02, 0.06, 0.11, 0.22, 0.56, 1.1]
MM_V = [76.0, 97.0, 123.0, 159.0, 191.0, 207.0, 47.0, 107.0, 139.0, 152.0, 201.0, 200.0]


@case([212.0, 0.064], MM_S, MM_V, source="R datasets Puromycin (treated): Michaelis-Menten "
      "fit by least squares, returning the predictions as aux", kind="model", has_aux=True)
def michaelis_menten_fit(theta, S, v):
    Vmax, Km = theta[0], theta[1]
    S = np.asarray(S)
    pred = Vmax * S / (Km + S)
    return 0.5 * np.sum((pred - np.asarray(v)) ** 2), pred


DECAY_T = data.uniform(0.0, 5.0, 12)


@case(data.uniform(0.8, 1.2, 3) * [2.0, 0.7, 0.3], DECAY_T,
      data.normal(12, scale=0.02), source="Gauss-"
      "Newton / scipy.optimize.least_squares tutorial: residuals of an exponential decay "
      "(vector-valued, so a 3-d Hessian)", kind="model")
def exponential_decay_residuals(params, t, noise):
    A, k, c = params
    y = 2.0 * np.exp(-0.7 * t) + 0.3 + noise
    return A * np.exp(-k * t) + c - y


LV_OBS = data.uniform(0.95, 1.05, 9, 2) * [
    [1.0, 0.5], [1.07, 0.49], [1.14, 0.49], [1.21, 0.49], [1.28, 0.5],
    [1.35, 0.51], [1.42, 0.52], [1.49, 0.54], [1.55, 0.56]]


@case(data.uniform(0.98, 1.02, 4) * [1.0, 0.6, 0.4, 0.9], [1.0, 0.5], LV_OBS, 8,
      source="Lotka-Volterra parameter estimation (as in the PyMC / SciPy ODE-fitting "
             "examples), integrated with a Python loop of RK4 steps",
      kind="model", static_argnums=3)
def lotka_volterra_fit(theta, z0, observed, n_steps, dt=0.1):
    a, b, c, d = theta

    def rhs(z):
        prey, pred = z[0], z[1]
        return np.stack([a * prey - b * prey * pred, c * prey * pred - d * pred])

    z = np.asarray(z0)
    path = [z]
    for _ in range(n_steps):
        k1 = rhs(z)
        k2 = rhs(z + 0.5 * dt * k1)
        k3 = rhs(z + 0.5 * dt * k2)
        k4 = rhs(z + dt * k3)
        z = z + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        path.append(z)
    return np.sum((np.stack(path) - observed) ** 2)


# --- chemistry, finance, machine learning ---------------------------------------------------------

# species: CH4, H2O, CO, CO2, H2; rows: C, H, O
ELEMENTS = [[1, 0, 1, 1, 0], [4, 2, 0, 0, 2], [0, 1, 1, 2, 0]]


@case(data.uniform(0.2, 1.5, 5), [-6.0, -23.0, -13.0, -45.0, 0.0], [1.0, 4.0, 1.5],
      source="Smith & Missen, Chemical Reaction Equilibrium Analysis: ideal-gas Gibbs energy "
      "with element balances as a quadratic penalty", kind="model")
def gibbs_energy(n, g0, b, P=2.0, rho=50.0):
    A = np.asarray(ELEMENTS, dtype=float)
    n_tot = np.sum(n)
    g0, b = np.asarray(g0), np.asarray(b)
    G = np.sum(n * g0) + np.sum(xlogy(n, n)) - xlogy(n_tot, n_tot) + n_tot * np.log(P)
    return G + 0.5 * rho * np.sum((A @ n - b) ** 2)


@case(100.0, 0.25, 105.0, 0.5, 0.03, source="Hull, Options, Futures and Other Derivatives: "
      "Black-Scholes call price; its second derivatives in (S, sigma) are gamma, vanna and "
      "volga", kind="model", argnums=(0, 1))
def black_scholes_call(S, sigma, K, T, r):
    d1 = (np.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * np.sqrt(T))
    d2 = d1 - sigma * np.sqrt(T)
    return S * ndtr(d1) - K * np.exp(-r * T) * ndtr(d2)


ROD = data.normal(8, 2, scale=0.03) + [
    [0.0, 0.0], [0.5, 0.05], [1.0, 0.15], [1.45, 0.3],
    [1.9, 0.5], [2.3, 0.75], [2.65, 1.05], [2.95, 1.4]]


@case(ROD, source="Bergou et al., Discrete Elastic Rods (SIGGRAPH 2008): planar discrete "
      "elastica, curvature 2 tan(phi / 2) from arctan2 turning angles, plus stretching",
      kind="model")
def discrete_elastica(x, bend=1.0, stretch=100.0, l0=0.5):
    e = np.diff(x, axis=0)
    length = np.hypot(e[:, 0], e[:, 1])
    cross = e[:-1, 0] * e[1:, 1] - e[:-1, 1] * e[1:, 0]
    dot = np.sum(e[:-1] * e[1:], axis=1)
    phi = np.arctan2(cross, dot)
    kappa = 2.0 * np.tan(0.5 * phi)
    voronoi = 0.5 * (length[:-1] + length[1:])
    e_bend = bend * np.sum(kappa ** 2 / voronoi)
    e_stretch = 0.5 * stretch * np.sum((length / l0 - 1.0) ** 2 * l0)
    return e_bend + e_stretch


MLP_X = data.uniform(-1.0, 1.0, 40, 2)


@case({"W1": data.normal(2, 6, scale=0.5), "b1": data.normal(6, scale=0.1),
       "W2": data.normal(6, scale=0.5), "b2": data.normal(scale=0.1)},
      MLP_X, data.normal(40, scale=0.1) + MLP_X[:, 0] * MLP_X[:, 1],
      source="JAX docs / autograd examples/neural_net_regression.py: a tanh MLP's mean "
      "squared error with the parameters in a dict", kind="model")
def mlp_regression_loss(params, X, y, l2=1e-3):
    h = np.tanh(X @ params["W1"] + params["b1"])
    pred = h @ params["W2"] + params["b2"]
    penalty = l2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    return np.mean((pred - y) ** 2) + penalty
