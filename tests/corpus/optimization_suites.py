"""Optimization test problems: SciPy's global-optimization benchmark functions, the Hessian
examples of PyTorch (``torch.autograd.functional.hessian``, functorch), CasADi's Python examples
(NLPs, optimal control written as plain functions) and Hock-Schittkowski / CUTEst problems
(objectives, and constraint functions as vector-valued cases)."""

import math

import numpy as np

from corpus import case, data


def GO(letter, name):
    return f"SciPy benchmarks/benchmarks/go_benchmark_functions/go_funcs_{letter}.py ({name})"


TORCH_F = "PyTorch test/autograd/test_functional.py"
TORCH_DOC = "PyTorch docs: torch.autograd.functional.hessian / jacobian"
FUNCTORCH = "PyTorch test/functorch/test_eager_transforms.py"
CASADI = "CasADi docs/examples/python/"
HS = "Hock & Schittkowski, Test Examples for Nonlinear Programming Codes"
CUTEST = "CUTEst problem set"


# --- (a) SciPy global optimization benchmarks -----------------------------------------------------

@case(data.uniform(-2.0, 2.0, 4), source=GO("A", "Ackley01"))
def ackley01(x):
    u = np.sum(x ** 2)
    v = np.sum(np.cos(2 * np.pi * x))
    n = x.size
    return (-20.0 * np.exp(-0.2 * np.sqrt(u / n)) - np.exp(v / n) + 20.0 + np.e)


@case(data.uniform(0.5, 3.0, 3), source=GO("A", "Alpine02"))
def alpine02(x):
    return np.prod(np.sqrt(x) * np.sin(x))


@case(data.uniform(-2.0, 2.0, 2), source=GO("B", "Beale"))
def beale(x):
    return ((1.5 - x[0] + x[0] * x[1]) ** 2
            + (2.25 - x[0] + x[0] * x[1] ** 2) ** 2
            + (2.625 - x[0] + x[0] * x[1] ** 3) ** 2)


@case(data.uniform(-5.0, 10.0, 2), source=GO("B", "Branin01"))
def branin01(x):
    return ((x[1] - (5.1 / (4 * np.pi ** 2)) * x[0] ** 2 + 5 * x[0] / np.pi - 6) ** 2
            + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x[0]) + 10)


@case(data.uniform(0.3, 1.5, 5), source=GO("B", "Brown"))
def brown(x):
    x0 = x[:-1]
    x1 = x[1:]
    return np.sum((x0 ** 2.0) ** (x1 ** 2.0 + 1.0) + (x1 ** 2.0) ** (x0 ** 2.0 + 1.0))


@case(data.uniform(-9.0, -7.0, 1), data.uniform(1.5, 2.5, 1), source=GO("B", "Bukin06"),
      argnums=(0, 1))
def bukin06(x0, x1):
    return np.sum(100 * np.sqrt(np.abs(x1 - 0.01 * x0 ** 2)) + 0.01 * np.abs(x0 + 10))


@case(data.uniform(-1.0, 2.0, 4), source=GO("C", "Colville"))
def colville(x):
    return (100 * (x[0] - x[1] ** 2) ** 2 + (1 - x[0]) ** 2 + (1 - x[2]) ** 2
            + 90 * (x[3] - x[2] ** 2) ** 2
            + 10.1 * ((x[1] - 1) ** 2 + (x[3] - 1) ** 2)
            + 19.8 * (x[1] - 1) * (x[3] - 1))


@case(data.uniform(0.5, 1.5, 4), source=GO("C", "Csendes"))
def csendes(x):
    return np.sum((x ** 6.0) * (2.0 + np.sin(1.0 / x)))


@case(data.uniform(-1.0, 1.0, 6), source=GO("C", "CosineMixture"))
def cosine_mixture(x):
    return -0.1 * np.sum(np.cos(5.0 * np.pi * x)) - np.sum(x ** 2.0)


@case(data.uniform(-2.0, 2.0, 5), source=GO("D", "DixonPrice"))
def dixon_price(x):
    i = np.arange(2, len(x) + 1)
    s = i * (2.0 * x[1:] ** 2.0 - x[:-1]) ** 2.0
    return np.sum(s) + (x[0] - 1.0) ** 2.0


@case(data.uniform(0.3, 2.0, 2), source=GO("D", "DropWave"))
def drop_wave(x):
    norm_x = np.sum(x ** 2)
    return -(1 + np.cos(12 * np.sqrt(norm_x))) / (0.5 * norm_x + 2)


@case(data.uniform(-3.0, 3.0, 2), source=GO("D", "DeckkersAarts"))
def deckkers_aarts(x):
    r = x[0] ** 2 + x[1] ** 2
    return 1e5 * x[0] ** 2 + x[1] ** 2 - r ** 2 + 1e-5 * r ** 4


@case(data.uniform(2.0, 4.0, 2), source=GO("E", "Easom (classical form)"))
def easom(x):
    return -np.cos(x[0]) * np.cos(x[1]) * np.exp(-(x[0] - np.pi) ** 2 - (x[1] - np.pi) ** 2)


@case(data.uniform(-3.0, 3.0, 2), source=GO("E", "EggCrate"))
def egg_crate(x):
    return x[0] ** 2 + x[1] ** 2 + 25 * (np.sin(x[0]) ** 2 + np.sin(x[1]) ** 2)


@case(data.uniform(0.5, 12.0, 2), source=GO("E", "Exp2"))
def exp2(x):
    total = 0.0
    for i in range(10):
        total = total + (np.exp(-i * x[0] / 10.0) - 5 * np.exp(-i * x[1] / 10.0)
                         - np.exp(-i / 10.0) + 5 * np.exp(-i)) ** 2
    return total


@case(data.uniform(-1.0, 1.0, 5), source=GO("E", "Exponential"))
def exponential(x):
    return -np.exp(-0.5 * np.sum(x ** 2.0))


@case(data.uniform(-2.0, 2.0, 2), source=GO("G", "GoldsteinPrice"))
def goldstein_price(x):
    a = (1 + (x[0] + x[1] + 1) ** 2
         * (19 - 14 * x[0] + 3 * x[0] ** 2 - 14 * x[1] + 6 * x[0] * x[1] + 3 * x[1] ** 2))
    b = (30 + (2 * x[0] - 3 * x[1]) ** 2
         * (18 - 32 * x[0] + 12 * x[0] ** 2 + 48 * x[1] - 36 * x[0] * x[1] + 27 * x[1] ** 2))
    return a * b


@case(data.uniform(-10.0, 10.0, 6), source=GO("G", "Griewank"))
def griewank(x):
    i = np.arange(1., np.size(x) + 1.)
    return np.sum(x ** 2 / 4000) - np.prod(np.cos(x / np.sqrt(i))) + 1


@case(data.uniform(-3.0, 3.0, 2), source=GO("H", "Hansen"))
def hansen(x):
    i = np.arange(5.)
    a = (i + 1) * np.cos(i * x[0] + i + 1)
    b = (i + 1) * np.cos((i + 2) * x[1] + i + 1)
    return np.sum(a) * np.sum(b)


HARTMANN3_A = [[3.0, 10., 30.], [0.1, 10., 35.], [3.0, 10., 30.], [0.1, 10., 35.]]
HARTMANN3_P = [[0.3689, 0.1170, 0.2673], [0.4699, 0.4387, 0.7470],
               [0.1091, 0.8732, 0.5547], [0.03815, 0.5743, 0.8828]]
HARTMANN3_C = [1., 1.2, 3., 3.2]


@case(data.uniform(0.0, 1.0, 3), source=GO("H", "Hartmann3"))
def hartmann3(x):
    a = np.asarray(HARTMANN3_A)
    p = np.asarray(HARTMANN3_P)
    c = np.asarray(HARTMANN3_C)
    d = np.sum(a * (x - p) ** 2, axis=1)
    return -np.sum(c * np.exp(-d))


@case(data.uniform(-4.0, 4.0, 2), source=GO("H", "Himmelblau"))
def himmelblau(x):
    return (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2


@case(data.uniform(-2.0, 2.0, 2), source=GO("L", "Leon"))
def leon(x):
    return 100. * (x[1] - x[0] ** 2.0) ** 2.0 + (1 - x[0]) ** 2.0


@case(data.uniform(-5.0, 5.0, 4), source=GO("L", "Levy03"))
def levy03(x):
    y = 1 + (x - 1) / 4
    v = np.sum((y[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * y[1:]) ** 2))
    z = (y[-1] - 1) ** 2
    return np.sin(np.pi * y[0]) ** 2 + v + z


LANGERMANN_A = [[3., 5.], [5., 2.], [2., 1.], [1., 4.], [7., 9.]]
LANGERMANN_C = [1., 2., 5., 2., 3.]


@case(data.uniform(1.0, 4.0, 2), source=GO("L", "Langermann"))
def langermann(x):
    a = np.asarray(LANGERMANN_A)
    c = np.asarray(LANGERMANN_C)
    r = np.sum((x - a) ** 2, axis=1)
    return -np.sum(c * np.exp(-r / np.pi) * np.cos(np.pi * r))


@case(data.uniform(-5.0, 5.0, 2), source=GO("M", "Matyas"))
def matyas(x):
    return 0.26 * (x[0] ** 2 + x[1] ** 2) - 0.48 * x[0] * x[1]


@case(data.uniform(-1.5, 3.0, 2), source=GO("M", "McCormick"))
def mccormick(x):
    return (np.sin(x[0] + x[1]) + (x[0] - x[1]) ** 2 - 1.5 * x[0] + 2.5 * x[1] + 1)


@case(data.uniform(0.5, 3.0, 4), source=GO("M", "Michalewicz"))
def michalewicz(x):
    m = 10.0
    i = np.arange(1, x.size + 1)
    return -np.sum(np.sin(x) * np.sin(i * x ** 2 / np.pi) ** (2 * m))


@case(data.uniform(3.0, 9.0, 10), source=GO("P", "Paviani"))
def paviani(x):
    return np.sum(np.log(x - 2) ** 2 + np.log(10 - x) ** 2) - np.prod(x) ** 0.2


@case(data.uniform(0.5, 2.0, 4), source=GO("P", "PermFunction02"))
def perm02(x):
    n = len(x)
    beta = 10.0
    total = 0.0
    for k in range(1, n + 1):
        inner = 0.0
        for j in range(1, n + 1):
            inner = inner + (j + beta) * (x[j - 1] ** k - (1.0 / j) ** k)
        total = total + inner ** 2
    return total


@case(data.uniform(-2.0, 2.0, 2), source=GO("P", "Price02"))
def price02(x):
    return 1.0 + np.sum(np.sin(x) ** 2) - 0.1 * np.exp(-x[0] ** 2.0 - x[1] ** 2.0)


@case(data.uniform(-3.0, 3.0, 5), source=GO("Q", "Qing"))
def qing(x):
    i = np.arange(1, x.size + 1)
    return np.sum((x ** 2.0 - i) ** 2.0)


@case(data.uniform(-4.0, 4.0, 6), source=GO("R", "Rastrigin"))
def rastrigin(x):
    return 10.0 * x.size + np.sum(x ** 2.0 - 10.0 * np.cos(2.0 * np.pi * x))


@case(data.uniform(-2.0, 2.0, 6), source=GO("R", "Rosenbrock"))
def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@case(data.uniform(-3.0, 3.0, 3), source=GO("S", "Salomon"))
def salomon(x):
    u = np.sqrt(np.sum(x ** 2))
    return 1 - np.cos(2 * np.pi * u) + 0.1 * u


@case(data.uniform(-5.0, 5.0, 4), source=GO("S", "Sargan"))
def sargan(x):
    x0 = x[:-1]
    x1 = np.roll(x, -1)[:-1]
    return np.sum(x.size * (x ** 2 + 0.4 * np.sum(x0 * x1)))


@case(data.uniform(-2.0, 2.0, 2), source=GO("S", "Schaffer02"))
def schaffer02(x):
    num = np.sin(x[0] ** 2 - x[1] ** 2) ** 2 - 0.5
    den = (1 + 0.001 * (x[0] ** 2 + x[1] ** 2)) ** 2
    return 0.5 + num / den


@case(data.uniform(-4.0, 4.0, 3), source=GO("S", "Schwefel01"))
def schwefel01(x):
    alpha = np.sqrt(np.pi)
    return (np.sum(x ** 2.0)) ** alpha


@case(data.uniform(-4.0, 4.0, 4), source=GO("S", "Schwefel02"))
def schwefel02(x):
    mat = np.repeat(np.atleast_2d(x), x.size, axis=0)
    inner = np.sum(np.tril(mat), axis=1)
    return np.sum(inner ** 2)


@case(data.uniform(0.0, 2.0, 4), source=GO("S", "Schwefel04"))
def schwefel04(x):
    return np.sum((x - 1.0) ** 2.0 + (x[0] - x ** 2.0) ** 2.0)


@case(data.uniform(50.0, 400.0, 4), source=GO("S", "Schwefel26"))
def schwefel26(x):
    return 418.982887 * x.size - np.sum(x * np.sin(np.sqrt(np.abs(x))))


SHEKEL_A = [[4.0, 4.0, 4.0, 4.0], [1.0, 1.0, 1.0, 1.0], [8.0, 8.0, 8.0, 8.0],
            [6.0, 6.0, 6.0, 6.0], [3.0, 7.0, 3.0, 7.0]]
SHEKEL_C = [0.1, 0.2, 0.2, 0.4, 0.4]


@case(data.uniform(0.0, 10.0, 4), source=GO("S", "Shekel05"))
def shekel05(x):
    a = np.asarray(SHEKEL_A)
    c = np.asarray(SHEKEL_C)
    return -np.sum(1 / (np.sum((x - a) ** 2, axis=1) + c))


@case(data.uniform(-2.0, 2.0, 2), source=GO("S", "SixHumpCamel"))
def six_hump_camel(x):
    return ((4 - 2.1 * x[0] ** 2 + x[0] ** 4 / 3) * x[0] ** 2 + x[0] * x[1]
            + (4 * x[1] ** 2 - 4) * x[1] ** 2)


@case(data.uniform(-5.0, 5.0, 5), source=GO("S", "StyblinskiTang"))
def styblinski_tang(x):
    return np.sum(x ** 4 - 16 * x ** 2 + 5 * x) / 2


@case(data.uniform(-5.0, 5.0, 5), source=GO("S", "SumSquares"))
def sum_squares(x):
    i = np.arange(1, x.size + 1)
    return np.sum(i * x ** 2)


@case(data.uniform(-2.0, 2.0, 2), source=GO("T", "ThreeHumpCamel"))
def three_hump_camel(x):
    return (2.0 * x[0] ** 2.0 - 1.05 * x[0] ** 4.0 + x[0] ** 6 / 6.0
            + x[0] * x[1] + x[1] ** 2.0)


@case(data.uniform(-5.0, 5.0, 6), source=GO("T", "Trid"))
def trid(x):
    return np.sum((x - 1.0) ** 2.0) - np.sum(x[1:] * x[:-1])


@case(data.uniform(0.0, 1.5, 3), source=GO("T", "Trigonometric02"))
def trigonometric02(x):
    vec = (8 * np.sin(7 * (x - 0.9) ** 2) ** 2
           + 6 * np.sin(14 * (x[0] - 0.9) ** 2) ** 2
           + (x - 0.9) ** 2)
    return 1.0 + np.sum(vec)


@case(data.uniform(-2.0, 2.0, 2), source=GO("U", "Ursem01"))
def ursem01(x):
    return -np.sin(2 * x[0] - 0.5 * np.pi) - 3.0 * np.cos(x[1]) - 0.5 * x[0]


@case(data.uniform(0.25, 10.0, 5), source=GO("V", "Vincent"))
def vincent(x):
    return -np.sum(np.sin(10.0 * np.log(x)))


@case(data.uniform(-1.0, 1.0, 6), source=GO("W", "Watson"))
def watson(x):
    total = x[0] ** 2 + (x[1] - x[0] ** 2 - 1) ** 2
    for i in range(1, 30):
        a = i / 29.0
        dp = np.polyval(x[:0:-1] * np.arange(5.0, 0.0, -1.0), a)   # sum_j j x_j a^(j-1)
        p = np.polyval(x[::-1], a)                                  # sum_j x_j a^j
        total = total + (dp - p ** 2 - 1) ** 2
    return total


@case(data.uniform(-3.0, 3.0, 2), source=GO("W", "WayburnSeader01"))
def wayburn_seader01(x):
    return (x[0] ** 6 + x[1] ** 4 - 17) ** 2 + (2 * x[0] + x[1] - 4) ** 2


@case(data.uniform(-1.0, 2.0, 3), source=GO("W", "Whitley"))
def whitley(x):
    xi = x[:, None]
    xj = x[None, :]
    y = 100 * (xi ** 2 - xj) ** 2 + (1 - xj) ** 2
    return np.sum(y ** 2 / 4000 - np.cos(y) + 1)


@case(data.uniform(0.5, 2.0, 3), source=GO("W", "Wolfe"))
def wolfe(x):
    return 4 / 3 * (x[0] ** 2 + x[1] ** 2 - x[0] * x[1]) ** 0.75 + x[2]


@case(data.uniform(-2.0, 2.0, 4), source=GO("X", "XinSheYang03"))
def xin_she_yang03(x):
    beta, m = 15.0, 5.0
    u = np.sum((x / beta) ** (2 * m))
    v = np.sum(x ** 2)
    w = np.prod(np.cos(x) ** 2)
    return np.exp(-u) - 2 * np.exp(-v) * w


@case(data.uniform(-3.0, 3.0, 5), source=GO("Z", "Zakharov"))
def zakharov(x):
    u = np.sum(x ** 2)
    v = np.sum(np.arange(1, x.size + 1) * x)
    return u + (0.5 * v) ** 2 + (0.5 * v) ** 4


@case(data.uniform(-2.0, 2.0, 2), source=GO("Z", "Zettl"))
def zettl(x):
    return (x[0] ** 2 + x[1] ** 2 - 2 * x[0]) ** 2 + 0.25 * x[0]


@case(data.uniform(-3.0, 3.0, 2), source=GO("Z", "Zirilli"))
def zirilli(x):
    return 0.25 * x[0] ** 4 - 0.5 * x[0] ** 2 + 0.1 * x[0] + 0.5 * x[1] ** 2


# --- (b) PyTorch: torch.autograd.functional.hessian, functorch.hessian ----------------------------

@case(data.normal(2, 2), source=TORCH_DOC + " (pow_reducer)")
def pow_reducer(x):
    return np.sum(x ** 3)


@case(data.normal(2), data.normal(2), source=TORCH_DOC + " (pow_adder_reducer)", argnums=(0, 1))
def pow_adder_reducer(x, y):
    return np.sum(2 * x ** 2 + 3 * y ** 2)


@case(data.normal(2, 2), source=TORCH_DOC + " (exp_reducer, jacobian example: vector output)")
def exp_reducer(x):
    return np.sum(np.exp(x), axis=1)


@case(data.normal(2), data.normal(2), source=TORCH_DOC + " (exp_adder, vector output)",
      argnums=(0, 1))
def exp_adder(x, y):
    return 2 * np.exp(x) + 3 * y * x


@case(data.normal(4), source=TORCH_F + " (test_hessian_output: a.narrow(0, 0, 3).exp().sum())")
def narrow_exp_sum(a):
    return 3 * np.sum(np.exp(a[0:3]))


@case(data.normal(4), data.normal(3), source=TORCH_F + " (test_hessian_output, two inputs)",
      argnums=(0, 1))
def narrow_exp_pair(a, b):
    return np.sum(a[:3] * 3 * np.exp(b))


@case(data.normal(2, 3, 5), source=FUNCTORCH + " (test_hessian_vectorize_correctness_simple)")
def three_x_squared(x):
    return np.sum(3 * x ** 2)


@case(data.normal(2, 3), data.normal(3, 5), data.normal(5, 5),
      source=FUNCTORCH + " (test_hessian_vectorize_correctness_multi_input)", argnums=(0, 1, 2))
def relu_sin_chain(x, y, z):
    return np.sum((np.maximum(x, 0) * x) @ np.sin(y) @ z)


@case(data.normal(2), data.normal(3),
      source=FUNCTORCH + " (test_hessian_vectorize_correctness_unrelated_outputs)", argnums=(0, 1))
def unrelated_input(x, y):
    return np.sum(x ** 2)


@case(data.normal(2, 2, scale=0.1), data.normal(20, 2), data.normal(20, 2),
      source=FUNCTORCH + " (test_jacrev_jacrev_hessian: loss(A, x1, x2))")
def linear_map_loss(A, x1, x2):
    x2_hat = (A @ x1.T).T
    res = x2 - x2_hat
    return np.sum(res ** 2)


@case(data.normal(3), source=FUNCTORCH + " (test_outputs_can_any_pytree: dict output)")
def dict_output(x):
    return {"energy": np.sum(np.sin(x) * np.tanh(x)), "pair": np.stack([x[0] * x[1], np.cos(x[2])])}


# --- (c) CasADi examples, written as NumPy functions ----------------------------------------------

@case(data.uniform(0.5, 2.5, 3), source=CASADI + "rosenbrock.py (f and g of the NLP)")
def casadi_rosenbrock_nlp(v):
    x, y, z = v[0], v[1], v[2]
    f = x ** 2 + 100 * z ** 2
    g = z + (1 - x) ** 2 - y
    return np.array([f, g])


@case(data.uniform(-2.0, 1.0, 2), source=CASADI + "hs015.py (constraints g)",
      jax="in-place assignment (g[0] = ...)")
def hs015_constraints(x):
    g = np.zeros_like(x)
    g[0] = x[0] * x[1]
    g[1] = x[0] + x[1] ** 2
    return g


@case(data.normal(7), data.uniform(0.3, 1.5, 7), source=CASADI + "chain_qp.py (hanging chain)",
      argnums=(0, 1))
def hanging_chain(y, z):
    N = y.size
    m_i = 40.0 / N
    D_i = 70.0 * N
    g0 = 9.81
    Vchain = 0.0
    for i in range(N):
        if i > 0:
            Vchain = Vchain + D_i / 2 * ((y[i - 1] - y[i]) ** 2 + (z[i - 1] - z[i]) ** 2)
        Vchain = Vchain + g0 * m_i * z[i]
    # a soft version of the slanted-ground constraint z - 0.1 y >= 0.5
    return Vchain + np.sum(np.log1p(np.exp(-(z - 0.1 * y - 0.5) * 10.0)))


@case(data.uniform(0.0, 1.0, 2, 5), data.uniform(0.2, 0.9, 4), data.uniform(0.8, 1.5, 1),
      source=CASADI + "race_car.py (RK4 gap constraints and speed limit)", argnums=(0, 1, 2))
def race_car_constraints(X, U, T):
    N = U.size
    dt = T[0] / N

    def f(x, u):
        return np.stack([x[1], u - x[1]])

    gaps = []
    for k in range(N):
        k1 = f(X[:, k], U[k])
        k2 = f(X[:, k] + dt / 2 * k1, U[k])
        k3 = f(X[:, k] + dt / 2 * k2, U[k])
        k4 = f(X[:, k] + dt * k3, U[k])
        x_next = X[:, k] + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        gaps.append(X[:, k + 1] - x_next)
    pos, speed = X[0, :], X[1, :]
    limit = speed - (1 - np.sin(2 * np.pi * pos) / 2)
    return np.concatenate(gaps + [limit])


def _collocation_coefficients(d):
    r = math.sqrt(15.0) / 10.0
    tau = [0.0, 0.5 - r, 0.5, 0.5 + r]
    C = [[0.0] * (d + 1) for _ in range(d + 1)]
    D = [0.0] * (d + 1)
    B = [0.0] * (d + 1)
    for j in range(d + 1):
        p = [1.0]                                # coefficients, lowest degree first
        for k in range(d + 1):
            if k != j:
                scale = 1.0 / (tau[j] - tau[k])
                q = [0.0] * (len(p) + 1)
                for m, c in enumerate(p):
                    q[m + 1] += c * scale
                    q[m] -= c * tau[k] * scale
                p = q
        D[j] = sum(p)
        for k in range(d + 1):
            C[j][k] = sum(m * c * tau[k] ** (m - 1) for m, c in enumerate(p) if m > 0)
        B[j] = sum(c / (m + 1) for m, c in enumerate(p))
    return C, D, B


COLL_C, COLL_D, COLL_B = _collocation_coefficients(3)


@case(data.normal(2, scale=0.5), data.normal(3, 2, scale=0.5), data.uniform(-1.0, 1.0, 1),
      data.normal(2, scale=0.5),
      source=CASADI + "direct_collocation.py (collocation equations, Van der Pol)",
      argnums=(0, 1, 2, 3))
def vdp_collocation(Xk, Xkj, Uk, Xk1):
    d, h = 3, 0.5
    u = Uk[0]
    g = []
    J = 0.0
    Xk_end = COLL_D[0] * Xk
    for j in range(1, d + 1):
        xp = COLL_C[0][j] * Xk
        for r in range(d):
            xp = xp + COLL_C[r + 1][j] * Xkj[r]
        x1, x2 = Xkj[j - 1, 0], Xkj[j - 1, 1]
        fj = np.array([(1 - x2 ** 2) * x1 - x2 + u, x1])
        qj = x1 ** 2 + x2 ** 2 + u ** 2
        g.append(h * fj - xp)
        Xk_end = Xk_end + COLL_D[j] * Xkj[j - 1]
        J = J + COLL_B[j] * qj * h
    g.append(Xk_end - Xk1)
    return np.concatenate(g), J


@case(data.uniform(-1.0, 1.0, 6), source=CASADI + "vdp_single_shooting.py (RK4, objective)")
def vdp_single_shooting(U):
    T, N, M = 2.0, U.size, 2     # (10 in the example; its controls here would overflow)
    DT = T / N / M

    def f(x, u):
        xdot = np.array([(1 - x[1] ** 2) * x[0] - x[1] + u, x[0]])
        L = x[0] ** 2 + x[1] ** 2 + u ** 2
        return xdot, L

    X = np.array([0.0, 1.0])
    J = 0.0
    for k in range(N):
        for _ in range(M):
            k1, k1_q = f(X, U[k])
            k2, k2_q = f(X + DT / 2 * k1, U[k])
            k3, k3_q = f(X + DT / 2 * k2, U[k])
            k4, k4_q = f(X + DT * k3, U[k])
            X = X + DT / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            J = J + DT / 6 * (k1_q + 2 * k2_q + 2 * k3_q + k4_q)
    return J + 10 * np.sum(X ** 2)


@case(data.uniform(0.0, 0.5, 5), source=CASADI + "rocket.py (Euler steps, fuel and end state)")
def rocket(u):
    s, v, m = 0.0, 0.0, 1.0
    dt = 10.0 / u.size
    for k in range(u.size):
        s = s + dt * v
        v = v + dt * (u[k] - 0.05 * v ** 2) / m
        m = m - dt * 0.1 * u[k] ** 2
    return (s - 10.0) ** 2 + v ** 2 - m


@case(data.uniform(-3.0, 1.0, 4),
      source=CASADI + "biegler_10_1.py (collocation residuals of z' = z^2 - 2z + 1)")
def biegler_10_1(z):
    h = 0.25
    zdot = z ** 2 - 2 * z + 1
    return np.diff(z) - h / 2 * (zdot[1:] + zdot[:-1])


@case(data.uniform(0.3, 1.5, 2), data.uniform(0.0, 1.0, 3),
      source=CASADI + "lotka_volterra_minlp.py (dynamics, Euler)", argnums=(0, 1))
def lotka_volterra(x0, w):
    c0, c1, dt = 0.4, 0.2, 0.2
    x = x0
    J = 0.0
    for k in range(w.size):
        xdot = np.array([x[0] - x[0] * x[1] - c0 * x[0] * w[k],
                         -x[1] + x[0] * x[1] - c1 * x[1] * w[k]])
        x = x + dt * xdot
        J = J + dt * np.sum((x - 1) ** 2)
    return J


@case(data.uniform(0.5, 2.0, 3), data.normal(16, scale=0.3),
      source=CASADI + "sysid.py (nonlinear spring: RK4 simulation, least squares)")
def sysid_spring(params, u):
    k, c, beta = params[0], params[1], params[2]
    dt = 0.1

    def ode(y, uk):
        return np.stack([y[1], (uk - k * y[0] - c * y[1] - beta * y[0] ** 3)])

    y = np.array([0.2, 0.0])
    outputs = []
    for i in range(u.size):
        k1 = ode(y, u[i])
        k2 = ode(y + dt / 2 * k1, u[i])
        k3 = ode(y + dt / 2 * k2, u[i])
        k4 = ode(y + dt * k3, u[i])
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        outputs.append(y[0])
    measured = 0.1 * np.cos(np.arange(u.size) * 0.3)
    return 0.5 * np.sum((np.stack(outputs) - measured) ** 2)


# --- (d) Hock-Schittkowski and CUTEst -------------------------------------------------------------

@case(data.uniform(1.0, 5.0, 4), source=HS + " (HS071 objective; Ipopt's example)")
def hs071_objective(x):
    return x[0] * x[3] * np.sum(x[:3]) + x[2]


@case(data.uniform(1.0, 5.0, 4), source=HS + " (HS071 constraints)")
def hs071_constraints(x):
    return np.array([np.prod(x), np.sum(x ** 2)])


@case(data.uniform(0.0, 2.0, 3), source=HS + " (HS035, quadratic objective)")
def hs035(x):
    Q = np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 0.0], [1.0, 0.0, 1.0]])
    c = np.array([-8.0, -6.0, -4.0])
    return 9.0 + c @ x + x @ Q @ x


@case(data.uniform(0.3, 1.2, 4), source=HS + " (HS040 objective and constraints)")
def hs040(x):
    f = -np.prod(x)
    g = np.array([x[0] ** 3 + x[1] ** 2 - 1, x[0] ** 2 * x[3] - x[2], x[3] ** 2 - x[1]])
    return np.concatenate([np.atleast_1d(f), g])


@case(data.uniform(0.0, 2.0, 5), source=HS + " (HS046 constraints)")
def hs046_constraints(x):
    return np.stack([x[0] ** 2 * x[3] + np.sin(x[3] - x[4]) - 1,
                     x[1] + x[2] ** 4 * x[3] ** 2 - 2])


@case(data.uniform(0.0, 2.0, 5), source=HS + " (HS046 objective)")
def hs046_objective(x):
    return (x[0] - x[1]) ** 2 + (x[2] - 1) ** 2 + (x[3] - 1) ** 4 + (x[4] - 1) ** 6


@case(data.uniform(-2.0, 2.0, 5), source=HS + " (HS078: product objective, constraints)")
def hs078(x):
    f = np.prod(x)
    g1 = np.sum(x ** 2) - 10
    g2 = x[1] * x[2] - 5 * x[3] * x[4]
    g3 = x[0] ** 3 + x[1] ** 3 + 1
    return np.array([f, g1, g2, g3])


@case(data.uniform(0.0, 3.0, 7), source=HS + " (HS100)")
def hs100(x):
    return ((x[0] - 10) ** 2 + 5 * (x[1] - 12) ** 2 + x[2] ** 4 + 3 * (x[3] - 11) ** 2
            + 10 * x[4] ** 6 + 7 * x[5] ** 2 + x[6] ** 4 - 4 * x[5] * x[6]
            - 10 * x[5] - 8 * x[6])


@case(data.uniform(1.0, 8.0, 8), source=HS + " (HS104: fractional powers)")
def hs104(x):
    f = 0.4 * x[0] ** 0.67 * x[6] ** -0.67 + 0.4 * x[1] ** 0.67 * x[7] ** -0.67 + 10 - x[0] - x[1]
    g1 = 1 - 0.0588 * x[4] * x[6] - 0.1 * x[0]
    g2 = 1 - 4 * x[2] / x[4] - 2 * x[2] ** -0.71 / x[4] - 0.0588 * x[2] ** -1.3 * x[6]
    return np.array([f, g1, g2])


@case(data.uniform(-1.0, 1.0, 6), source=CUTEST + " (ARWHEAD)")
def arwhead(x):
    n = x.size
    total = 0.0
    for i in range(n - 1):
        total = total + (x[i] ** 2 + x[n - 1] ** 2) ** 2 - 4 * x[i] + 3
    return total


@case(data.uniform(-1.0, 1.0, 6), source=CUTEST + " (BDQRTIC)")
def bdqrtic(x):
    n = x.size
    total = 0.0
    for i in range(n - 4):
        total = total + (-4 * x[i] + 3.0) ** 2 + (x[i] ** 2 + 2 * x[i + 1] ** 2 + 3 * x[i + 2] ** 2
                                                   + 4 * x[i + 3] ** 2 + 5 * x[n - 1] ** 2) ** 2
    return total


@case(data.uniform(-1.0, 1.0, 6), source=CUTEST + " (BROYDN3D residuals, vector output)")
def broyden_tridiagonal(x):
    xp = np.concatenate([np.zeros(1), x, np.zeros(1)])
    return (3 - 2 * x) * x - xp[:-2] - 2 * xp[2:] + 1


@case(data.uniform(-0.5, 0.5, 4), source=CUTEST + " (CRAGGLVY)")
def cragglvy(x):
    total = 0.0
    for i in range(0, x.size - 3, 2):
        total = total + (np.exp(x[i]) - x[i + 1]) ** 4 + 100 * (x[i + 1] - x[i + 2]) ** 6 \
            + np.tan(x[i + 2] - x[i + 3]) ** 4 + x[i] ** 8 + (x[i + 3] - 1) ** 2
    return total


@case(data.uniform(-2.0, 2.0, 6), source=CUTEST + " (ENGVAL1)")
def engval1(x):
    s = x[:-1] ** 2 + x[1:] ** 2
    return np.sum(s ** 2) + np.sum(-4 * x[:-1] + 3)


@case(data.uniform(-2.0, 2.0, 8), source=CUTEST + " (EXTROSNB, chained form via reshape)")
def extended_rosenbrock(x):
    pairs = x.reshape(-1, 2)
    return np.sum(100 * (pairs[:, 1] - pairs[:, 0] ** 2) ** 2 + (1 - pairs[:, 0]) ** 2)


@case(data.uniform(-2.0, 2.0, 8), source=CUTEST + " (POWELLSG, extended Powell singular)")
def powell_singular(x):
    total = 0.0
    for i in range(x.size // 4):
        a, b, c, d = x[4 * i], x[4 * i + 1], x[4 * i + 2], x[4 * i + 3]
        total = total + (a + 10 * b) ** 2 + 5 * (c - d) ** 2 + (b - 2 * c) ** 4 + 10 * (a - d) ** 4
    return total


@case(data.uniform(-1.0, 2.0, 6), source=CUTEST + " (VARDIM)")
def vardim(x):
    n = x.size
    s = np.sum(np.arange(1, n + 1) * (x - 1))
    return np.sum((x - 1) ** 2) + s ** 2 + s ** 4


@case(data.uniform(-1.0, 1.0, 6), source=CUTEST + " (EDENSCH)")
def edensch(x):
    return 16 + np.sum((x[:-1] - 2) ** 4 + (x[:-1] * x[1:] - 2 * x[1:]) ** 2 + (x[1:] + 1) ** 2)


@case(data.uniform(-2.0, 2.0, 8),
      source=CUTEST + " (WOODS, extended Wood, 2-d reshape with axis sums)")
def extended_wood(x):
    w = x.reshape(-1, 4).T
    terms = np.stack([100 * (w[1] - w[0] ** 2) ** 2, (1 - w[0]) ** 2,
                      90 * (w[3] - w[2] ** 2) ** 2, (1 - w[2]) ** 2,
                      10 * (w[1] + w[3] - 2) ** 2, 0.1 * (w[1] - w[3]) ** 2])
    return np.sum(np.sum(terms, axis=0))


@case(data.uniform(-1.0, 1.0, 5), 3, source=CUTEST + " (GENHUMPS, static number of terms)",
      static_argnums=1)
def genhumps(x, nterms):
    total = 0.0
    for i in range(nterms):
        total = total + np.sin(2 * x[i]) ** 2 * np.sin(2 * x[i + 1]) ** 2 \
            + 0.05 * (x[i] ** 2 + x[i + 1] ** 2)
    return total
