"""Random array programs through the array tier, checked against the autodiff and JAX.

Hypothesis draws the shapes and, at each step of a program skeleton, which array operation to
use: contractions (``@``, ``einsum``, ``tensordot``, ``outer``), elementwise functions with
broadcasting, reductions over axes, gathers, slices and concatenation. Each program is written
once against a namespace ``xp`` so that NumPy (traced by symhess) and ``jax.numpy`` (the
reference) run the same mathematics; the independent autodiff checks every example too.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symhess

from conftest import assert_tree_close

UNARY = ["tanh", "sin", "exp", "log", "sqrt"]
CONTRACT = ["matmul", "einsum", "sin-matmul"]
SHAPE = ["gather", "reverse", "same", "concat"]
MATRIX = ["outer", "scaled-rows", "broadcast"]
REDUCE = ["matmul-sum", "tanh-square", "max-axis0", "mean-axis1", "tensordot"]


def _unary(xp, name, z):
    return {"tanh": xp.tanh, "sin": xp.sin, "exp": lambda v: xp.exp(0.3 * v),
            "log": lambda v: xp.log(1.0 + v * v), "sqrt": lambda v: xp.sqrt(1.0 + v * v)}[name](z)


def program(choice):
    """The function of one drawn program: ``f(x, A, B, c, xp=np)``."""
    def f(x, A, B, c, xp=np):
        idx = np.arange(A.shape[0])[::-1][: max(1, A.shape[0] - 1)]
        z1 = {"matmul": lambda: A @ x, "einsum": lambda: xp.einsum("ij,j->i", A, x * x),
              "sin-matmul": lambda: A @ xp.sin(x)}[choice["contract"]]()
        z2 = _unary(xp, choice["unary"], z1 + choice["shift"] * c)
        z3 = {"gather": lambda: z2[idx], "reverse": lambda: z2[::-1], "same": lambda: z2,
              "concat": lambda: xp.concatenate([z2, z2[:1] * 2.0])}[choice["shape"]]()
        M = {"outer": lambda: xp.outer(z2, x), "scaled-rows": lambda: A * z2[:, None],
             "broadcast": lambda: x[None, :] * A + z2[:, None]}[choice["matrix"]]()
        term2 = {"matmul-sum": lambda: xp.sum(M @ B),
                 "tanh-square": lambda: xp.sum(xp.tanh(M) ** 2),
                 "max-axis0": lambda: xp.sum(xp.max(M + 0.5 * A, axis=0) ** 2),
                 "mean-axis1": lambda: xp.sum(xp.mean(M * M, axis=1)),
                 "tensordot": lambda: xp.sum(xp.tensordot(M, B, axes=([1], [0])) ** 2)
                 }[choice["reduce"]]()
        return xp.sum(z3 * xp.cos(z3)) + term2 + 0.1 * (x @ (B @ B.T) @ x)
    return f


@st.composite
def programs(draw):
    choice = dict(contract=draw(st.sampled_from(CONTRACT)), unary=draw(st.sampled_from(UNARY)),
                  shape=draw(st.sampled_from(SHAPE)), matrix=draw(st.sampled_from(MATRIX)),
                  reduce=draw(st.sampled_from(REDUCE)),
                  shift=draw(st.sampled_from([0.0, 0.5, -1.0])))
    n, m, k = draw(st.integers(1, 4)), draw(st.integers(2, 5)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    args = (0.5 * rng.standard_normal(n), rng.standard_normal((m, n)),
            rng.standard_normal((n, k)), rng.standard_normal(m))
    return choice, args


@pytest.mark.slow
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(drawn=programs())
def test_random_array_programs(drawn, jax):
    import jax.numpy as jnp
    choice, args = drawn
    f = program(choice)
    compiled = symhess.hessian(f, tier="array").compile(*args)
    assert symhess.check(f, *args, hessian=compiled).ok            # the independent autodiff
    expected = jax.hessian(lambda *a: f(*a, xp=jnp))(*args)
    assert_tree_close(compiled(*args), np.asarray(expected))
