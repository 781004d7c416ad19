"""The array tier (`symhess.arrays`): array programs, their Hessians and the tier rule.

Each program of the table is compiled by the array tier and checked against the independent
autodiff (`symhess.check`), against the scalar tier, and (where JAX is installed) against
``jax.hessian``; the NumPy interpreter of the graph is checked against plain NumPy.
"""

import numpy as np
import pytest

import symhess
from symhess.arrays import rules
from symhess.arrays.evaluate import evaluate
from symhess.arrays.product import trace_arrays
from symhess.errors import OptionValueError, UnsupportedFunctionError

from conftest import assert_tree_close

rng = np.random.default_rng(7)


def _logreg(w, X, y, xp=np):
    return xp.sum(xp.log1p(xp.exp(-y * (X @ w)))) + 0.5 * xp.sum(w ** 2)


def _mlp(p, X, y, xp=np):
    k, h = X.shape[1], 3
    W1 = p[:h * k].reshape(h, k)
    b1, w2, b2 = p[h * k:h * k + h], p[h * k + h:h * k + 2 * h], p[-1]
    return 0.5 * xp.sum((xp.tanh(X @ W1.T + b1) @ w2 + b2 - y) ** 2)


def _logsumexp(x, A, Q, xp=np):
    z = A @ x
    m = xp.max(z)
    return m + xp.log(xp.sum(xp.exp(z - m))) + 0.5 * x @ Q @ x


def _einsum(x, T, xp=np):
    M = xp.einsum("ijk,k->ij", T, x)
    return xp.sum(xp.tensordot(M, M, axes=([1], [1])) ** 2) + xp.dot(x, xp.sin(x))


def _reductions(X, w, xp=np):
    rows = xp.mean(X * X, axis=1)
    cols = xp.max(X, axis=0) - xp.min(X, axis=0)
    return xp.sum(rows * w) + xp.sum(cols ** 2) + xp.var(X) + xp.std(X[:, 0] * 2.0)


def _indexing(x, D, xp=np):
    i = np.array([0, 2, 3, 1, 3])
    j = np.array([1, 1, 0, 3, 2])
    d = x[i] - x[j]
    grid = x[:4].reshape(2, 2)
    return (xp.sum(xp.cosh(d) * D) + xp.sum(grid.T @ grid) + xp.sum(x[::-2] ** 3)
            + x[-1] * x[1:3].sum() + xp.sum(xp.take(x, np.array([4, 0])) ** 2))


def _shapes(x, A, xp=np):
    s = xp.stack([x, 2.0 * x, x ** 2], axis=0)              # (3, n)
    c = xp.concatenate([x, xp.sqrt(1.0 + x * x)])
    b = xp.broadcast_to(x, (4, x.shape[0])) * A[:4]
    t = xp.transpose(s) @ A[:3]
    return xp.sum(s * s) + xp.sum(c ** 3) + xp.sum(b ** 2) + xp.sum(xp.tanh(t)) \
        + xp.sum(xp.expand_dims(x, 0) * A[:1])


def _elementwise(x, a, xp=np):
    u = 0.5 + 0.4 * xp.tanh(x)                              # in (0.1, 0.9)
    terms = [xp.exp(x), xp.log(1.5 + x), xp.log1p(u), xp.expm1(x), xp.sin(x), xp.cos(x),
             xp.tan(0.3 * x), xp.sinh(x), xp.cosh(x), xp.sqrt(2.0 + x), xp.arctan(x),
             xp.arcsin(u), xp.arccos(u), xp.arcsinh(x), xp.arctanh(u - 0.5), xp.square(x),
             1.0 / (2.0 + x), (2.0 + x) ** 2.5, (2.0 + x) ** x, 2.0 ** x, xp.abs(x) ** 3,
             xp.maximum(x, a), xp.minimum(x * x, a), xp.where(x > 0.1, x ** 3, -x),
             xp.arctan2(x, 2.0 + a), xp.logaddexp(x, a), xp.hypot(x, 1.0 + a)]
    return sum(xp.sum(t * (1.0 + a)) for t in terms)


def _two_args(x, Y, xp=np):
    return xp.sum(xp.sin(x[None, :] * Y) ** 2) + xp.sum(Y[1:, :] * Y[:-1, :] * x[0])


def _pytree(p, X, xp=np):
    h = xp.tanh(X @ p["W"] + p["b"])
    return xp.sum(h ** 2) + xp.sum(p["W"] ** 4)


def _norm(x, A, xp=np):
    return xp.linalg.norm(A @ x - 1.0) + xp.sum(xp.clip(x, -0.5, 0.5) ** 2)


def _data(*shapes, positive=False):
    out = [rng.standard_normal(s) for s in shapes]
    return tuple(np.abs(a) + 0.5 if positive else a for a in out)


PROGRAMS = [
    ("logreg", _logreg, lambda: (0.3 * rng.standard_normal(4), rng.standard_normal((30, 4)),
                                 np.sign(rng.standard_normal(30))), 0),
    ("mlp", _mlp, lambda: (0.5 * rng.standard_normal(3 * 2 + 7), rng.standard_normal((20, 2)),
                           rng.standard_normal(20)), 0),
    ("logsumexp", _logsumexp, lambda: (rng.standard_normal(5), rng.standard_normal((9, 5)),
                                       np.eye(5) + 0.1), 0),
    ("einsum", _einsum, lambda: (0.5 * rng.standard_normal(3),
                                 0.5 * rng.standard_normal((2, 4, 3))), 0),
    ("reductions", _reductions, lambda: _data((4, 3), (4,)), 0),
    ("indexing", _indexing, lambda: _data((5,), (5,)), 0),
    ("shapes", _shapes, lambda: (0.5 * rng.standard_normal(3), rng.standard_normal((4, 3))), 0),
    ("elementwise", _elementwise, lambda: (0.3 * rng.standard_normal(4),
                                           0.3 * rng.standard_normal(4)), 0),
    ("two-args", _two_args, lambda: _data((3,), (4, 3)), (0, 1)),
    ("pytree", _pytree, lambda: ({"W": 0.5 * rng.standard_normal((3, 2)),
                                  "b": rng.standard_normal(2)}, rng.standard_normal((6, 3))), 0),
    ("norm", _norm, lambda: (rng.standard_normal(3), rng.standard_normal((5, 3))), 0),
]
IDS = [p[0] for p in PROGRAMS]


@pytest.mark.parametrize("name, fun, make, argnums", PROGRAMS, ids=IDS)
def test_against_autodiff(name, fun, make, argnums):
    args = make()
    compiled = symhess.hessian(fun, argnums=argnums, tier="array").compile(*args)
    assert "array tier" in compiled.source
    report = symhess.check(fun, *args, argnums=argnums, hessian=compiled)
    assert report.ok


@pytest.mark.parametrize("name, fun, make, argnums", PROGRAMS, ids=IDS)
def test_the_numba_kernel_against_autodiff(name, fun, make, argnums, monkeypatch):
    """Where the native target is off (``SYMHESS_NATIVE=0``, or another interpreter), the same
    loop program is compiled by Numba."""
    monkeypatch.setenv("SYMHESS_NATIVE", "0")
    args = make()
    compiled = symhess.hessian(fun, argnums=argnums, tier="array").compile(*args)
    assert "Numba CPU kernel of the array tier" in compiled.source
    assert symhess.check(fun, *args, argnums=argnums, hessian=compiled).ok


@pytest.mark.parametrize("name, fun, make, argnums", PROGRAMS, ids=IDS)
def test_against_scalar_tier(name, fun, make, argnums):
    args = make()
    array = symhess.hessian(fun, argnums=argnums, tier="array")(*args)
    scalar = symhess.hessian(fun, argnums=argnums, tier="scalar")(*args)
    assert_tree_close(array, scalar)


@pytest.mark.parametrize("name, fun, make, argnums", PROGRAMS, ids=IDS)
def test_against_jax(name, fun, make, argnums, jax):
    import jax.numpy as jnp
    args = make()
    expected = jax.hessian(lambda *a: fun(*a, xp=jnp), argnums=argnums)(*args)
    got = symhess.hessian(fun, argnums=argnums, tier="array")(*args)
    assert_tree_close(got, jax.tree_util.tree_map(np.asarray, expected))


@pytest.mark.parametrize("name, fun, make, argnums", PROGRAMS, ids=IDS)
def test_graph_value_is_numpy(name, fun, make, argnums):
    """The graph's interpreter gives the function's value (what the kernels must agree with)."""
    args = make()
    trace = trace_arrays(symhess.hessian(fun, argnums=argnums, tier="array"), args, {})
    inputs = [np.asarray(leaf) for a in args for leaf in symhess.pytree.flatten(a)[0]]
    value, = evaluate([trace.output], inputs, trace.builder.constants)
    np.testing.assert_allclose(value, fun(*args), rtol=1e-12)


def test_gradient_graph_against_finite_differences():
    """The reverse pass alone, checked by central differences of plain NumPy."""
    x, A, Q = PROGRAMS[2][2]()
    H = symhess.hessian(_logsumexp, tier="array")
    trace = trace_arrays(H, (x, A, Q), {})
    g, = rules.grad(trace.builder, trace.output, trace.diff_inputs[:1])
    got, = evaluate([g], [x, A, Q], trace.builder.constants)
    h = 1e-6
    fd = [(_logsumexp(x + h * e, A, Q) - _logsumexp(x - h * e, A, Q)) / (2 * h)
          for e in np.eye(len(x))]
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_runtime_data_changes_the_answer():
    """Data arguments are kernel inputs: new data, new Hessian, no recompile."""
    H = symhess.hessian(_logreg)
    w, X, y = PROGRAMS[0][2]()
    X = np.tile(X, (3, 1))
    y = np.tile(y, 3)
    first = H(w, X, y)
    second = H(w, 2.0 * X, y)
    scalar = symhess.hessian(_logreg, tier="scalar")
    np.testing.assert_allclose(second, scalar(w, 2.0 * X, y), rtol=1e-10, atol=1e-12)
    assert not np.allclose(first, second)
    assert len(H._compiled) == 1


def test_auto_rule_picks_the_tier():
    w, X, y = PROGRAMS[0][2]()
    X, y = np.tile(X, (3, 1)), np.tile(y, 3)             # 360 data values: the array tier
    assert "array tier" in symhess.hessian(_logreg).compile(w, X, y).source
    F = np.eye(3) + 0.1 * rng.standard_normal((3, 3))      # a 3x3 energy: the scalar tier
    energy = lambda F: np.sum(F * F) - np.log(np.linalg.det(F))   # noqa: E731
    assert "array tier" not in symhess.hessian(energy).compile(F).source


def test_unsupported_function_falls_back_or_names_it():
    def f(x, A):
        return np.linalg.det(A * x[0]) + np.sum(A @ x)
    x, A = rng.standard_normal(3), rng.standard_normal((9, 3))[:3]
    A = np.tile(A, (1, 1))
    big = np.tile(A, (30, 1))

    def g(x, B):
        return np.sum(np.cumsum(B[:3] * x[0]) ** 2) + np.sum(B @ x)
    expected = symhess.hessian(g, tier="scalar")(x, big)
    np.testing.assert_allclose(symhess.hessian(g)(x, big), expected, rtol=1e-10)
    with pytest.raises(UnsupportedFunctionError, match="tier='array' cannot compile g"):
        symhess.hessian(g, tier="array")(x, big)


def test_a_function_neither_tier_compiles_is_traced_once_by_each():
    calls = []

    def f(x, B):
        calls.append(1)
        return np.sum(np.fft.fft(B @ x).real)

    with pytest.raises(UnsupportedFunctionError, match="np.fft.fft"):
        symhess.hessian(f)(np.ones(3), np.ones((40, 3)))
    assert len(calls) == 2


def test_what_the_scalar_tier_refuses_the_array_tier_may_compile(jax, jnp):
    """A 6x6 determinant has no scalar-tier rule (its closed form stops at 5x5); the auto tier
    compiles it, and ``np.floor`` beside it, with the array tier."""
    def f(x, xp=np):
        M = xp.outer(xp.concatenate([x, x]), xp.concatenate([x, x ** 2])) + xp.eye(6)
        return xp.linalg.det(M) + xp.sum(xp.floor(x) * x ** 3)

    x = np.array([0.3, 1.7, -0.4])
    want = np.asarray(jax.hessian(lambda x: f(x, jnp))(x))
    np.testing.assert_allclose(symhess.hessian(f)(x), want, rtol=1e-10, atol=1e-10)


def _rk4_fit(theta, steps, xp=np, dt=0.1):
    """A Lotka-Volterra fit through explicit RK4 steps: each step's sums, flattened by
    SymEngine, write out the previous step's several times over."""
    a, b, c, d = theta[0], theta[1], theta[2], theta[3]
    rhs = lambda z: xp.stack([a * z[0] - b * z[0] * z[1], c * z[0] * z[1] - d * z[1]])  # noqa
    z, total = xp.array([1.0, 0.5]), 0.0
    for _ in range(steps):
        k1 = rhs(z)
        k2 = rhs(z + 0.5 * dt * k1)
        k3 = rhs(z + 0.5 * dt * k2)
        k4 = rhs(z + dt * k3)
        z = z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        total = total + xp.sum((z - 1.0) ** 2)
    return total


def test_nesting_the_scalar_tier_cannot_differentiate_goes_to_the_array_tier(jax, jnp):
    """Written out as trees, eight RK4 steps are about 1e20 terms (a few hundred shared ones):
    the auto tier hands the function to the array tier instead of differentiating it for
    minutes; two steps stay in the scalar tier."""
    import symengine as se

    from symhess.derive import NESTING_LIMIT, written_out_size

    x, y = se.symbols("x y")
    e = x
    for _ in range(40):             # each level holds the one below twice and 5 more nodes
        e = se.sin(e) * y + se.cos(e)
    # (sizes only in the assertions: a failure report printing e would write it out)
    sizes = written_out_size([e], limit=10 ** 14), written_out_size([e])
    del e
    assert sizes == (6 * 2 ** 40 - 5, NESTING_LIMIT + 1)
    theta = np.array([1.0, 0.6, 0.4, 0.9])
    for steps in (2, 8):
        f = symhess.hessian(lambda t: _rk4_fit(t, steps))
        want = np.asarray(jax.hessian(lambda t: _rk4_fit(t, steps, jnp))(theta))
        np.testing.assert_allclose(f(theta), want, rtol=1e-10, atol=1e-12)
        assert ("array tier" in f.compile(theta).source) == (steps == 8)


def test_options_the_array_tier_refuses():
    with pytest.raises(OptionValueError, match="tier must be one of"):
        symhess.hessian(_logreg, tier="tensor")
    w, X, y = PROGRAMS[0][2]()
    with pytest.raises(OptionValueError, match="tier='array' compiles unbatched"):
        symhess.hessian(_logreg, tier="array", batch_axis=0)(w, X, y)


def test_has_aux_and_float32():
    w, X, y = PROGRAMS[0][2]()

    def with_aux(w, X, y):
        return _logreg(w, X, y), {"n": X.shape[0]}
    H, aux = symhess.hessian(with_aux, has_aux=True, tier="array")(w, X, y)
    np.testing.assert_allclose(H, symhess.hessian(_logreg, tier="scalar")(w, X, y), rtol=1e-10)
    assert aux == {"n": X.shape[0]}
    w32, X32, y32 = (a.astype(np.float32) for a in (w, X, y))
    H32 = symhess.hessian(_logreg, tier="array")(w32, X32, y32)
    assert H32.dtype == np.float32
    np.testing.assert_allclose(H32, symhess.hessian(_logreg, tier="scalar")(w32, X32, y32),
                               rtol=2e-4, atol=2e-4)


def test_integer_data_and_runtime_indices():
    def f(x, idx, c):
        return np.sum(c * x[idx] ** 3) + np.sum(x[idx] * x[0])
    x = rng.standard_normal(6)
    idx = np.array([0, 5, 2, 2, 1] * 20)
    c = np.arange(100) % 7                                   # integer data
    H = symhess.hessian(f, tier="array")
    for idx in (idx, np.array([1, 3, 4, 4, -1] * 20)):       # new indices, same kernel
        # The scalar tier needs indices known while tracing: it gets them by closure.
        expected = symhess.hessian(lambda x, c: f(x, idx, c), tier="scalar")(x, c)
        np.testing.assert_allclose(H(x, idx, c), expected, rtol=1e-10, atol=1e-12)
    assert len(H._compiled) == 1
    with pytest.raises(IndexError, match="an index in argument idx is out of bounds"):
        H(x, np.array([0, 6] * 50), c)


# --- Hessian-vector products ------------------------------------------------------------------
def _tv(u, f, xp=np):
    dx = u[1:, :-1] - u[:-1, :-1]
    dy = u[:-1, 1:] - u[:-1, :-1]
    return xp.sum(xp.sqrt(1e-2 + dx ** 2 + dy ** 2)) + 0.05 * xp.sum((u - f) ** 2)


@pytest.mark.parametrize("name, fun, make, argnums", PROGRAMS, ids=IDS)
def test_hvp_against_hessian(name, fun, make, argnums):
    """``H v`` from the array tier's directional derivative of the gradient, against the
    scalar tier's Hessian times ``v`` (two independent routes)."""
    args = make()
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    v = tuple(symhess.pytree.flatten(args[i])[1].unflatten(
        [rng.standard_normal(np.shape(leaf)) for leaf in symhess.pytree.flatten(args[i])[0]])
        for i in nums)
    v = v if isinstance(argnums, tuple) else v[0]
    compiled = symhess.hvp(fun, argnums=argnums, tier="array").compile(*args, v)
    assert "array tier" in compiled.source
    got = compiled(*args, v)
    H = symhess.hessian(fun, argnums=argnums, tier="scalar")(*args)
    leaves_v, tree_v = symhess.pytree.flatten(v)
    flat_v = np.concatenate([np.ravel(x) for x in leaves_v])
    n = flat_v.size
    dense = _dense(H, argnums, args)
    expected = (dense.reshape(n, n) @ flat_v)
    flat_got = np.concatenate([np.ravel(x) for x in symhess.pytree.flatten(got)[0]])
    np.testing.assert_allclose(flat_got, expected, rtol=1e-9, atol=1e-10)


def _dense(H, argnums, args):
    """The Hessian tree as one matrix over the flat differentiated variables."""
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    sizes = [x.size for i in nums for x in map(np.asarray, symhess.pytree.flatten(args[i])[0])]
    blocks = H if isinstance(argnums, tuple) else (H,) if not isinstance(H, dict) else None
    if isinstance(argnums, tuple):
        rows = [[np.asarray(H[i][j]).reshape(sizes[i], sizes[j]) for j in range(len(nums))]
                for i in range(len(nums))]
        return np.block(rows)
    leaves, _ = symhess.pytree.flatten(args[nums[0]])
    if len(leaves) == 1:
        return np.asarray(H).reshape(sizes[0], sizes[0])
    keys = list(H)                              # a dict argument: H[k][l] blocks
    return np.block([[np.asarray(H[k][l]).reshape(np.size(args[0][k]), np.size(args[0][l]))
                      for l in keys] for k in keys]) if blocks is None else None


def test_hvp_on_a_grid_against_jax(jax):
    import jax.numpy as jnp
    u, f, v = (rng.standard_normal((12, 12)) for _ in range(3))
    got = symhess.hvp(_tv)(u, f, v)                  # f has 144 values: the array tier
    assert "array tier" in symhess.hvp(_tv).compile(u, f, v).source
    grad = jax.grad(lambda u: _tv(u, f, jnp))
    expected = jax.jvp(grad, (u,), (v,))[1]
    np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-10, atol=1e-12)


# --- matrix-level closed forms -------------------------------------------------------------------
def _evaluate_matrix_text(text, values, n):
    """Evaluate `CompiledHessian.matrix` text with NumPy: an independent reading of it."""
    namespace = dict(values, np=np, diag=np.diag, exp=np.exp, log=np.log, log1p=np.log1p,
                     tanh=np.tanh, sqrt=np.sqrt, sum=np.sum, max=np.max, eq=np.equal,
                     einsum=np.einsum, where=np.where, I=np.eye(n))
    lines = text.splitlines()
    definitions = [line.strip() for line in lines[lines.index("where") + 1:]] \
        if "where" in lines else []
    for line in definitions:
        name, expr = line.split(" = ", 1)
        namespace[name] = eval(expr, namespace)      # noqa: S307 (our own printed text)
    name, expr = lines[0].split(" = ", 1)
    return eval(expr, namespace)                     # noqa: S307


@pytest.mark.parametrize("fun, expected", [
    (lambda w, X, y: np.sum(np.exp(X @ w)), "H = X.T @ diag(exp(X @ w)) @ X"),
    (lambda w, X, y: 0.5 * np.sum((X @ w - y) ** 2) + 0.05 * np.sum(w ** 2),
     "H = I * 0.1 + X.T @ X"),
    (_logreg, "H = I + X.T @ diag("),
])
def test_matrix_form_reads_and_evaluates(fun, expected):
    w, X, y = 0.3 * rng.standard_normal(3), rng.standard_normal((30, 3)), rng.standard_normal(30)
    compiled = symhess.hessian(fun, tier="array").compile(w, X, y)
    text = compiled.matrix()
    assert text.startswith(expected)
    value = _evaluate_matrix_text(text, dict(w=w, X=X, y=y), 3)
    np.testing.assert_allclose(value, symhess.hessian(fun, tier="scalar")(w, X, y), rtol=1e-10)
    latex = compiled.matrix(latex=True)
    assert latex.startswith("\\begin{aligned}") and "X^\\top" in latex


def test_matrix_form_is_for_the_array_tier():
    compiled = symhess.hessian(lambda x: np.sum(x ** 3), tier="scalar").compile(np.ones(2))
    with pytest.raises(OptionValueError, match="tier='array'"):
        compiled.matrix()


def test_python_if_on_a_traced_value_is_named():
    def f(x, A):
        if np.sum(A @ x) > 0:
            return np.sum(x ** 2)
        return np.sum(x ** 3)
    x, A = rng.standard_normal(3), rng.standard_normal((30, 3))
    with pytest.raises(UnsupportedFunctionError, match="Python `if`"):
        symhess.hessian(f, tier="array")(x, A)


def test_symhess_check_of_an_array_tier_hessian():
    """`symhess.check` compiles with the default tier (the array tier here) and checks its
    traced value (the graph's NumPy interpreter) and its Hessian against the autodiff."""
    w, X, y = PROGRAMS[0][2]()
    X, y = np.tile(X, (3, 1)), np.tile(y, 3)
    assert "array tier" in symhess.hessian(_logreg).compile(w, X, y).source
    report = symhess.check(_logreg, w, X, y)
    assert report.ok and report.checked == "symhess"


def test_nan_data_propagates_like_numpy():
    """``np.maximum``, ``np.minimum`` and ``np.max`` of data with a NaN give NaN, as in NumPy
    (Python's ``max`` would silently drop it in one argument order)."""
    x = rng.standard_normal(3)
    c = np.linspace(0.5, 1.5, 70)
    d = np.linspace(1.0, 0.2, 70)
    for nan_in in ("c", "d"):
        c1, d1 = c.copy(), d.copy()
        (c1 if nan_in == "c" else d1)[0] = np.nan

        def f(x, c, d):
            return (np.sum(x ** 2) * np.sum(np.maximum(c, d)) + np.sum(x ** 4) * np.max(c)
                    + np.sum(x ** 2) * np.sum(np.minimum(d, c)))
        H = symhess.hessian(f, tier="array")(x, c1, d1)
        expected = (2 * np.sum(np.maximum(c1, d1)) * np.eye(3) + 12 * np.max(c1) * np.diag(x ** 2)
                    + 2 * np.sum(np.minimum(d1, c1)) * np.eye(3))
        np.testing.assert_array_equal(np.isnan(H), np.isnan(expected))
    c1 = c.copy()
    H = symhess.hessian(f, tier="array")(x, c1, d)
    np.testing.assert_allclose(H, 2 * np.sum(np.maximum(c1, d)) * np.eye(3)
                               + 12 * np.max(c1) * np.diag(x ** 2)
                               + 2 * np.sum(np.minimum(d, c1)) * np.eye(3), rtol=1e-12)


def test_integer_data_to_a_negative_power_is_a_float():
    """``c ** -2`` of integer data is computed as NumPy's float power would be (0.25, not 0)."""
    def f(x, c):
        return np.sum(x ** 2 * np.sum(c ** -2.0)) + np.sum(x ** 2) * np.sum(1.0 * c ** -1)
    x = rng.standard_normal(3)
    c = np.arange(1, 71)
    H = symhess.hessian(f, tier="array")(x, c)
    cf = c.astype(float)
    np.testing.assert_allclose(H, 2 * (np.sum(cf ** -2.0) + np.sum(cf ** -1.0)) * np.eye(3),
                               rtol=1e-12)


def test_max_of_integer_data():
    """A max over integer data starts from the lowest integer, not from a float -inf."""
    def f(x, c):
        return np.sum(x ** 2) * np.max(c) + np.sum(x ** 2) * np.sum(c > 3)
    x = rng.standard_normal(3)
    for c in (np.arange(70), -np.arange(1, 71) * 10 ** 15):
        expected = 2 * (np.max(c) + np.sum(c > 3)) * np.eye(3)
        np.testing.assert_allclose(symhess.hessian(f, tier="array")(x, c), expected, rtol=1e-12)


def test_logaddexp_at_ties_against_jax(jax, jnp):
    """``np.logaddexp(x, y)`` at ``x == y`` (a logistic loss written ``logaddexp(0, -y z)`` at
    ``w = 0``): gradient (1/2, 1/2) and the Hessian of softplus, in both tiers."""
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(100, 3)), np.sign(rng.normal(size=100))

    def loss(w, X, y, xp=np):
        return xp.sum(xp.logaddexp(0.0, -y * (X @ w))) + xp.logaddexp(w[0], w[1])

    for w in (np.zeros(3), np.array([0.5, 0.5, -1.0])):
        want_g = np.asarray(jax.grad(lambda w: loss(w, X, y, jnp))(w))
        want_h = np.asarray(jax.hessian(lambda w: loss(w, X, y, jnp))(w))
        for tier in ("array", "scalar"):
            np.testing.assert_allclose(symhess.grad(loss, tier=tier)(w, X, y), want_g,
                                       rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(symhess.hessian(loss, tier=tier)(w, X, y), want_h,
                                       rtol=1e-12, atol=1e-12)
