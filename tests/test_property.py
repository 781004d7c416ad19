"""Random compositions over the primitive table, checked three ways.

Hypothesis builds functions of random argument layouts (one or two arguments, arrays of 0 to 2
dimensions, dicts and tuples) whose output (a vector, dict, tuple or scalar) collects several
random terms, each a random expression tree over the supported NumPy functions. One kernel is
compiled per example, so many random terms share one Numba compile. For each example:

1. ``symhess.check`` compares symhess's compiled Hessian with the independent autodiff (and the
   traced and autodiff values with plain NumPy);
2. central finite differences of the autodiff's gradient are compared with its Hessian.

Domains are kept safe by construction (``log(1 + x*x)``, ``4 I + tanh(M)`` before ``inv``), and
every piecewise function (abs, sign, maximum, where, clip, floor, remainder, max, ...) gets its
argument shifted by a constant, chosen at the drawn point, so that no kink or jump lies within a
finite-difference step.
"""

import math

import numpy as np
import pytest
import scipy.special as special
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

import symhess
from symhess import autodiff
from symhess.crosscheck import compare_arrays

MARGIN = 0.05          # distance kept from every kink, far above the finite-difference step
SHIFTS = (0.0, 0.1, -0.1, 0.2, -0.2, 0.35, -0.35, 0.6, -0.6, 1.0, -1.0)


class Node:
    """A random expression: a function of the environment of input leaves, its shape, its text."""

    def __init__(self, fn, shape, text):
        self.fn, self.shape, self.text = fn, tuple(shape), text


# name -> (fn, text); domains are safe for every real input.
UNARY = {
    "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "arctan": np.arctan, "arcsinh": np.arcsinh,
    "sinh": lambda x: np.sinh(0.5 * x), "cosh": lambda x: np.cosh(0.5 * x),
    "exp": lambda x: np.exp(0.3 * x), "square": np.square, "cube": lambda x: x ** 3,
    "log": lambda x: np.log(1 + x * x), "sqrt": lambda x: np.sqrt(1 + x * x),
    "log1p": lambda x: np.log1p(x * x), "expm1": lambda x: np.expm1(0.5 * x),
    "arcsin": lambda x: np.arcsin(0.5 * np.tanh(x)),
    "arccos": lambda x: np.arccos(0.5 * np.tanh(x)),
    "arctanh": lambda x: np.arctanh(0.5 * np.tanh(x)), "arccosh": lambda x: np.arccosh(2 + x * x),
    "reciprocal": lambda x: np.reciprocal(2 + x * x), "pow1.5": lambda x: np.power(1 + x * x, 1.5),
    "tan": lambda x: np.tan(0.5 * np.tanh(x)), "cbrt": lambda x: np.cbrt(1.5 + np.tanh(x)),
    "exp2": lambda x: np.exp2(0.3 * x), "log2": lambda x: np.log2(2 + x * x),
    "log10": lambda x: np.log10(2 + x * x), "deg2rad": np.deg2rad, "negative": np.negative,
    "float_power": lambda x: np.float_power(1 + x * x, 0.75),
    "divide": lambda x: 1.0 / (1.5 + np.sin(x)),
    "erf": special.erf, "expit": special.expit, "log_ndtr": special.log_ndtr,
    "gammaln": lambda x: special.gammaln(0.5 + x * x),
    "xlogy": lambda x: special.xlogy(x, 2 + x * x),
}
# Piecewise unary functions: kink positions of their argument.
KINKED = {
    "abs": (np.abs, (0.0,)), "fabs": (np.fabs, (0.0,)), "sign_times": (None, (0.0,)),
    "clip": (lambda x: np.clip(x, -0.4, 0.5), (-0.4, 0.5)),
    # (2 tanh(x) in (-2, 2) crosses each integer, or multiple of 1.5, once)
    "floor": (lambda x: np.floor(2.0 * np.tanh(x)) * x + x,
              (math.atanh(-0.5), 0.0, math.atanh(0.5))),
    "remainder": (lambda x: np.remainder(2.0 * np.tanh(x), 1.5) * x,
                  (math.atanh(-0.75), 0.0, math.atanh(0.75))),
}
BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply,
    "divide": lambda a, b: a / (2 + b * b), "arctan2": lambda a, b: np.arctan2(a, 1.5 + np.tanh(b)),
    "logaddexp": np.logaddexp, "logaddexp2": np.logaddexp2,
    "power": lambda a, b: np.power(1.5 + np.tanh(a), b), "mul_add": lambda a, b: a * b + a,
}
SHAPES = [(), (2,), (3,), (6,), (2, 3), (3, 3)]
REDUCE_SOURCES = {(): [((3,), None), ((2, 3), None), ((6,), None), ((3, 3), None)],
                  (3,): [((2, 3), 0), ((3, 3), 0), ((3, 3), 1)], (2,): [((2, 3), 1)]}


class Builder:
    """Draws random expression trees of a requested shape over a set of input leaves."""

    def __init__(self, draw, leaves, env0):
        self.draw, self.leaves, self.env0 = draw, leaves, env0

    def pick(self, options):
        return self.draw(st.sampled_from(list(options)))

    def value(self, node):
        return np.asarray(node.fn(self.env0), dtype=float)

    def shift(self, node, kinks=(0.0,)):
        """A constant c with node + c at least MARGIN from every kink at the drawn point."""
        v = self.value(node)
        for c in SHIFTS:
            if all(np.min(np.abs(v + c - k), initial=np.inf) >= MARGIN for k in kinks):
                return c
        return 3.0 + float(np.max(np.abs(v)))

    def expr(self, depth, shape):
        if depth == 0 or self.draw(st.integers(0, 4)) == 0:
            return self.leaf(shape)
        kinds = ["unary", "unary", "binary", "binary", "kinked", "select", "contract"]
        if shape in REDUCE_SOURCES:
            kinds += ["reduce", "reduce"]
        if shape != ():
            kinds += ["scan"]
        return getattr(self, self.pick(kinds))(depth - 1, shape)

    def leaf(self, shape):
        name, lshape = self.pick(self.leaves)
        size = math.prod(shape)
        if lshape == shape:
            if len(shape) == 2 and shape[0] == shape[1] and self.draw(st.booleans()):
                return Node(lambda e: np.transpose(e[name]), shape, f"{name}.T")
            return Node(lambda e: e[name], shape, name)
        if lshape == ():
            return Node(lambda e: np.broadcast_to(e[name], shape), shape,
                        f"broadcast_to({name}, {shape})")
        if shape == ():
            idx = tuple(self.draw(st.integers(0, n - 1)) for n in lshape)
            return Node(lambda e: e[name][idx], shape, f"{name}[{idx}]")
        lsize = math.prod(lshape)
        idx = np.array(self.draw(st.lists(st.integers(0, lsize - 1), min_size=size, max_size=size)))
        return Node(lambda e: np.ravel(e[name])[idx].reshape(shape), shape,
                    f"ravel({name})[{idx.tolist()}].reshape{shape}")

    def unary(self, depth, shape):
        name = self.pick(UNARY)
        a, f = self.expr(depth, shape), UNARY[name]
        return Node(lambda e: f(a.fn(e)), shape, f"{name}({a.text})")

    def binary(self, depth, shape):
        name = self.pick(BINARY)
        a = self.expr(depth, shape)
        other = self.pick([shape, (), shape[-1:]])
        b, f = self.expr(depth, other), BINARY[name]
        if self.draw(st.booleans()):
            return Node(lambda e: f(a.fn(e), b.fn(e)), shape, f"{name}({a.text}, {b.text})")
        return Node(lambda e: f(b.fn(e), a.fn(e)), shape, f"{name}({b.text}, {a.text})")

    def kinked(self, depth, shape):
        name = self.pick(KINKED)
        f, kinks = KINKED[name]
        a = self.expr(depth, shape)
        c = self.shift(a, kinks)
        if name == "sign_times":
            return Node(lambda e: np.sign(a.fn(e) + c) * a.fn(e), shape, f"sign({a.text}+{c})*...")
        return Node(lambda e: f(a.fn(e) + c), shape, f"{name}({a.text} + {c})")

    def select(self, depth, shape):
        a, b = self.expr(depth, shape), self.expr(depth, shape)
        d = Node(lambda e: a.fn(e) - b.fn(e), shape, "")
        c = self.shift(d)
        kind = self.pick(["maximum", "minimum", "where", "fmax"])
        if kind == "where":
            p, q = self.expr(depth, shape), self.expr(depth, shape)
            return Node(lambda e: np.where(a.fn(e) + c > b.fn(e), p.fn(e), q.fn(e)), shape,
                        f"where({a.text} + {c} > {b.text}, {p.text}, {q.text})")
        f = {"maximum": np.maximum, "minimum": np.minimum, "fmax": np.fmax}[kind]
        return Node(lambda e: f(a.fn(e) + c, b.fn(e)), shape, f"{kind}({a.text} + {c}, {b.text})")

    def reduce(self, depth, shape):
        src_shape, axis = self.pick(REDUCE_SOURCES[shape])
        kind = self.pick(["sum", "mean", "prod", "max", "min", "var", "std", "norm", "keepdims"])
        a = self.expr(depth, src_shape)
        if kind in ("max", "min", "std", "var"):
            # Ties (max, min) and zero spread (std) are kinks: separate the entries by a ramp.
            ramp = np.arange(math.prod(src_shape), dtype=float).reshape(src_shape)
            for k in (0.0, 0.37, 0.9, 2.3, 5.1):
                v = self.value(a) + k * ramp
                s = np.sort(v.reshape(-1) if axis is None else np.moveaxis(v, axis, -1), axis=-1)
                gaps = np.diff(s, axis=-1)
                top, bottom = gaps[..., -1], gaps[..., 0]
                if np.min(top) >= MARGIN and np.min(bottom) >= MARGIN and np.min(np.var(
                        v, axis=axis)) >= 0.01:
                    break
            src = a
            a = Node(lambda e: src.fn(e) + k * ramp, src_shape, f"({src.text} + {k}*ramp)")
        if kind == "norm":
            v = np.linalg.norm(self.value(a), axis=axis)
            c = 0.0 if np.min(v) >= 0.2 else 0.7
            return Node(lambda e: np.linalg.norm(a.fn(e) + c, axis=axis), shape,
                        f"norm({a.text} + {c}, axis={axis})")
        if kind == "keepdims":
            return Node(lambda e: np.sum(a.fn(e), axis=axis, keepdims=True).reshape(shape), shape,
                        f"sum({a.text}, axis={axis}, keepdims=True)")
        f = getattr(np, kind)
        return Node(lambda e: f(a.fn(e), axis=axis), shape, f"{kind}({a.text}, axis={axis})")

    def scan(self, depth, shape):
        options = ["cumsum", "cumprod"] + (["diff"] if shape in ((2,), (2, 3)) else [])
        kind = self.pick(options)
        if kind == "diff":
            src = self.expr(depth, (3,) if shape == (2,) else (3, 3))
            return Node(lambda e: np.diff(src.fn(e), axis=0), shape, f"diff({src.text}, axis=0)")
        a = self.expr(depth, shape)
        axis = self.draw(st.integers(0, len(shape) - 1))
        f = getattr(np, kind)
        return Node(lambda e: f(a.fn(e), axis=axis), shape, f"{kind}({a.text}, axis={axis})")

    def contract(self, depth, shape):
        e_ = lambda s: self.expr(depth, s)
        eye = 4.0 * np.eye(3)
        table = {
            (): [("dot", lambda a, b: np.dot(a, b), [(3,), (3,)]),
                 ("trace", np.trace, [(3, 3)]),
                 ("einsum_ij_ij", lambda a, b: np.einsum("ij,ij->", a, b), [(2, 3), (2, 3)]),
                 ("det", lambda m: np.linalg.det(eye + np.tanh(m)), [(3, 3)]),
                 ("inner", np.inner, [(3,), (3,)]),
                 ("tensordot", lambda a, b: np.tensordot(a, b, axes=2), [(2, 3), (2, 3)])],
            (3,): [("matvec", lambda m, v: m @ v, [(3, 3), (3,)]),
                   ("vecmat", lambda v, m: np.matmul(v, m), [(3,), (3, 3)]),
                   ("solve", lambda m, v: np.linalg.solve(eye + np.tanh(m), v), [(3, 3), (3,)]),
                   ("einsum_ij_j", lambda m, v: np.einsum("ij,j->i", m, v), [(3, 3), (3,)]),
                   ("cross", np.cross, [(3,), (3,)]),
                   ("dot_2_23", np.dot, [(2,), (2, 3)])],
            (2,): [("matvec23", lambda m, v: m @ v, [(2, 3), (3,)]),
                   ("slice", lambda v: v[1:], [(3,)])],
            (3, 3): [("outer", np.outer, [(3,), (3,)]),
                     ("inv", lambda m: np.linalg.inv(eye + np.tanh(m)), [(3, 3)]),
                     ("matmul", np.matmul, [(3, 3), (3, 3)]),
                     ("einsum_ij_kj", lambda a, b: np.einsum("ij,kj->ik", a, b), [(3, 3), (3, 3)]),
                     ("transpose_T", lambda m: m.T, [(3, 3)])],
            (2, 3): [("stack", lambda a, b: np.stack([a, b]), [(3,), (3,)]),
                     ("reshape", lambda v: np.reshape(v, (2, 3)), [(6,)]),
                     ("vstack", lambda a, b: np.vstack([a, b]), [(3,), (3,)]),
                     ("outer23", np.outer, [(2,), (3,)]),
                     ("broadcast", lambda a, b: a[:, None] * b, [(2,), (3,)])],
            (6,): [("concatenate", lambda a, b: np.concatenate([a, b]), [(3,), (3,)]),
                   ("ravel", np.ravel, [(2, 3)]), ("kron", np.kron, [(2,), (3,)]),
                   ("tile", lambda v: np.tile(v, 2), [(3,)]),
                   ("repeat", lambda v: np.repeat(v, 2), [(3,)]),
                   ("hstack", lambda a, b: np.hstack([a, b]), [(3,), (3,)])],
        }
        name, f, shapes = self.pick(table[shape])
        args = [e_(s) for s in shapes]
        return Node(lambda e: f(*(a.fn(e) for a in args)), shape,
                    f"{name}({', '.join(a.text for a in args)})")


# Argument layouts: (description, argnums, arguments from values, leaves [(name, shape)],
# environment from arguments). The first leaf of each differentiated argument comes first.
LAYOUTS = [
    ("x(6,)", 0, lambda u: (u((6,)),), [("x", (6,))], lambda x: {"x": x}),
    ("X(2,3)", 0, lambda u: (u((2, 3)),), [("X", (2, 3))], lambda X: {"X": X}),
    ("x(3,), s()", (0, 1), lambda u: (u((3,)), u(())), [("x", (3,)), ("s", ())],
     lambda x, s: {"x": x, "s": s}),
    ("p{a(3,), b(2,)}", 0, lambda u: ({"a": u((3,)), "b": u((2,))},),
     [("a", (3,)), ("b", (2,))], lambda p: dict(p)),
    ("t((2,), ()), data(3,)", 0, lambda u: ((u((2,)), u(())), u((3,))),
     [("t0", (2,)), ("t1", ()), ("data", (3,))], lambda t, data: {"t0": t[0], "t1": t[1],
                                                                   "data": data}),
    ("M(3,3)", 0, lambda u: (u((3, 3)),), [("M", (3, 3))], lambda M: {"M": M}),
    ("x(2,), q{w(3,)}", (0, 1), lambda u: (u((2,)), {"w": u((3,))}), [("x", (2,)), ("w", (3,))],
     lambda x, q: {"x": x, "w": q["w"]}),
]
OUTPUTS = ["vector", "dict", "tuple", "scalar"]


def _finite_difference_hessian(fun, args, argnums):
    """Central differences of the autodiff gradient: (outputs, n, n)."""
    var = autodiff.Variables(args, argnums)
    x0 = var.flat()

    def gradient(x):
        d = autodiff.derivatives(fun, var.substitute(args, x=x), argnums, order=1)
        return np.concatenate([g.reshape(-1, var.n) for g in d.gradients])

    columns = []
    for k in range(var.n):
        h = 1e-4 * max(1.0, abs(x0[k]))
        step = np.zeros(var.n)
        step[k] = h
        columns.append((gradient(x0 + step) - gradient(x0 - step)) / (2 * h))
    return np.stack(columns, axis=-1)


def _random_function(data):
    """Draw a layout, a point, an output structure and terms: ``(fun, args, argnums, terms)``."""
    desc, argnums, make_args, leaves, env_of = data.draw(st.sampled_from(LAYOUTS), label="layout")
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))
    u = lambda shape: rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 1.2, size=shape)
    args = make_args(u)
    builder = Builder(data.draw, leaves, env_of(*args))
    n_terms = data.draw(st.integers(4, 7), label="terms")
    depth = data.draw(st.integers(1, 3), label="depth")
    terms = [builder.expr(depth, builder.pick(SHAPES)) for _ in range(n_terms)]
    weights = [rng.uniform(0.5, 1.5, size=t.shape) for t in terms]
    out_kind = data.draw(st.sampled_from(OUTPUTS), label="output")

    def fun(*a):
        env = env_of(*a)
        vals = [np.sum(w * t.fn(env)) for t, w in zip(terms, weights)]
        if out_kind == "vector":
            return np.stack(vals)
        if out_kind == "dict":
            return {"a": np.stack(vals[:2]), "b": vals[2], "c": np.stack(vals[3:])}
        if out_kind == "tuple":
            return vals[0], np.stack(vals[1:])
        return np.sum(np.stack(vals) * 0.5)

    note(f"layout {desc}, argnums {argnums}, output {out_kind}")
    for t in terms:
        note(f"term: {t.text}")
    return fun, args, argnums, n_terms


@pytest.mark.slow
def test_random_compositions_three_ways():
    counted = []

    # No shrinking: a failing example is reported with its terms (note) at once, where shrinking
    # would recompile a kernel per attempt for minutes.
    @settings(max_examples=100, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def run(data):
        fun, args, argnums, n_terms = _random_function(data)
        # 1. symhess's compiled Hessian against the autodiff (raises CheckError with a report).
        report = symhess.check(fun, *args, argnums=argnums)
        assert report.ok and report.blocks
        # 2. the autodiff's Hessian against central differences of its own gradient.
        d = autodiff.derivatives(fun, args, argnums)
        hess = np.concatenate([h.reshape(-1, d.variables.n, d.variables.n) for h in d.hessians])
        fd = _finite_difference_hessian(fun, args, argnums)
        block = compare_arrays("finite differences", fd, hess, rtol=1e-5, atol=1e-7)
        assert block.ok, f"{block}"
        counted.append(n_terms)

    run()
    # Each term is a random function of its own; they share a compile per example.
    assert sum(counted) >= 300, f"only {sum(counted)} random functions ran"
