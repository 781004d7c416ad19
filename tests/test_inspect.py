"""Closed forms (`symhess.inspect`): evaluated numerically and compared with JAX."""

import numpy as np
import pytest
import sympy

import symhess
import symhess.inspect as closed_form
from conftest import assert_tree_close


def neo_hookean(xp):
    def energy(F):
        J = xp.linalg.det(F)
        return 0.5 * (xp.sum(F * F) - 2) - xp.log(J) + xp.log(J) ** 2
    return energy


def mixed(xp):
    def f(p, a):
        w, b = p["w"], p["b"]
        return xp.sum(xp.sin(w) * w[::-1]) * b + a ** 3 * w[0] + xp.exp(b * a)
    return f


def vector_out(xp):
    return lambda x: xp.stack([x[0] * x[1] ** 2, xp.sin(x[2]) * x[0]])


def evaluate(tree, values: dict):
    """Evaluate a tree of SymPy blocks at ``{symbol name: number}``, as NumPy arrays."""
    if isinstance(tree, dict):
        return {k: evaluate(v, values) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(evaluate(v, values) for v in tree)
    subs = {s: sympy.Float(values[s.name], 30) for s in sympy.sympify(tree).free_symbols}
    if isinstance(tree, sympy.MatrixBase):
        return np.array(tree.xreplace(subs).evalf(20).tolist(), dtype=float)
    if isinstance(tree, sympy.NDimArray):
        flat = [float(sympy.sympify(e).xreplace(subs).evalf(20)) for e in tree.reshape(len(tree))]
        return np.array(flat).reshape(tree.shape)
    return np.array(float(sympy.sympify(tree).xreplace(subs).evalf(20)))


def point_values(c, *args) -> dict:
    """``{symbol name: value}`` for the leaves of ``c`` at ``args`` (one array leaf per arg)."""
    values = {}
    for leaf in c.leaves:
        syms = leaf.symbols()
        arg = args[leaf.arg]
        if leaf.path:
            arg = eval("arg" + leaf.path)       # test-local labels only
        for idx in np.ndindex(*leaf.shape):
            values[str(syms[idx])] = float(np.asarray(arg)[idx])
    return values


F0 = np.array([[1.1, 0.2], [-0.1, 0.9]])
P0 = ({"w": np.array([0.3, -0.7, 1.2]), "b": np.float64(0.4)}, np.float64(0.8))


def test_expressions_single_block_matches_jax(jax, jnp):
    c = symhess.hessian(neo_hookean(np)).compile(F0)
    blocks = c.expressions()
    assert isinstance(blocks, sympy.NDimArray) and blocks.shape == (2, 2, 2, 2)
    names = {s.name for s in sympy.sympify(blocks).free_symbols}
    assert names == {"F[0, 0]", "F[0, 1]", "F[1, 0]", "F[1, 1]"}
    expected = jax.hessian(neo_hookean(jnp))(jnp.asarray(F0))
    np.testing.assert_allclose(evaluate(blocks, point_values(c, F0)), expected, rtol=1e-12)


def test_expressions_pytree_matches_jax(jax, jnp):
    c = symhess.hessian(mixed(np), argnums=(0, 1)).compile(*P0)
    tree = c.expressions()
    names = {s.name for s in sympy.sympify(tree[0]["w"][0]["w"]).free_symbols}
    assert "p['w'][2]" in names and "p['b']" in names
    assert tree[0]["w"][1][0] == 3 * sympy.Symbol("a") ** 2     # d2f / dw0 da = 3 a^2
    assert isinstance(tree[0]["w"][0]["w"], sympy.MatrixBase)
    assert isinstance(tree[1][1], sympy.Expr)          # 0-d block: one expression
    expected = jax.hessian(mixed(jnp), argnums=(0, 1))(
        {"w": jnp.asarray(P0[0]["w"]), "b": jnp.asarray(P0[0]["b"])}, jnp.asarray(P0[1]))
    assert_tree_close(evaluate(tree, point_values(c, *P0)), expected)


def test_expressions_vector_output_and_structural_zeros(jax, jnp):
    x = np.array([0.5, -1.5, 0.25])
    c = symhess.hessian(vector_out(np)).compile(x)
    blocks = c.expressions()
    assert blocks.shape == (2, 3, 3)
    # f0 = x0 x1^2 does not involve x2, f1 = sin(x2) x0 has no x1: exact zeros, mirrored entries.
    assert blocks[0, 2, 2] == 0 and blocks[0, 0, 2] == 0 and blocks[1, 1, 1] == 0
    assert blocks[0, 0, 1] == blocks[0, 1, 0] == 2 * sympy.Symbol("x[1]")
    expected = jax.hessian(vector_out(jnp))(jnp.asarray(x))
    np.testing.assert_allclose(evaluate(blocks, point_values(c, x)), expected, rtol=1e-12)


def test_data_arguments_stay_symbols():
    # f(x, y) = y . x^2 with y data: H = diag(2 y), a closed form in y's symbols.
    c = symhess.hessian(lambda x, y: np.sum(y * x ** 2)).compile(np.ones(2), np.ones(2))
    y0, y1 = sympy.symbols("y[0] y[1]")
    assert c.expressions() == sympy.ImmutableMatrix([[2 * y0, 0], [0, 2 * y1]])


def test_simplified_closed_form(jax, jnp):
    # (sin^2 + cos^2)(x0) x1^2 = x1^2: the simplified Hessian is [[0, 0], [0, 2]].
    f = lambda xp: (lambda x: (xp.sin(x[0]) ** 2 + xp.cos(x[0]) ** 2) * x[1] ** 2)
    x = np.array([0.7, -0.4])
    c = symhess.hessian(f(np)).compile(x)
    assert c.simplified() == sympy.ImmutableMatrix([[0, 0], [0, 2]])
    np.testing.assert_allclose(jax.hessian(f(jnp))(jnp.asarray(x)), [[0, 0], [0, 2]], atol=1e-12)


def test_latex_lists_upper_triangle():
    c = symhess.hessian(neo_hookean(np)).compile(F0)
    expanded = c.latex(cse=False)
    assert expanded.startswith("\\begin{aligned}") and expanded.endswith("\\end{aligned}")
    lines = expanded.split("\n")[1:-1]
    assert len(lines) == len(c.entries()) == 10       # 4 variables: the full upper triangle
    assert any(line.startswith(r"\frac{\partial^2 f}{\partial F_{0,1} \partial F_{1,1}} &= ")
               for line in lines)
    assert any(line.startswith(r"\frac{\partial^2 f}{\partial F_{0,0}^{2}} &= ") for line in lines)
    assert "F[" not in expanded
    # By default the subexpressions come first, one line each, then the same 10 entries.
    named = c.latex().split("\n")[1:-1]
    assert len(named) == len(c.cse()[0]) + 10
    assert [line.split(" &= ")[0] for line in named[-10:]] == [line.split(" &= ")[0] for line in lines]
    assert named[0].startswith("x_{0} &= ")


def test_latex_names_pytree_leaves_and_outputs():
    c = symhess.hessian(mixed(np), argnums=(0, 1)).compile(*P0)
    text = c.latex()
    assert r"\partial p_{\mathrm{w},2}" in text and r"\partial a^{2}" in text
    c2 = symhess.hessian(vector_out(np)).compile(np.ones(3))
    assert r"\frac{\partial^2 f_{1}}{\partial x_{0} \partial x_{2}}" in c2.latex()


def test_latex_escapes_dict_keys():
    c = symhess.hessian(lambda p: p["a_b}\\"] ** 3).compile({"a_b}\\": np.float64(2.0)})
    assert r"p_{\mathrm{a\_b}}" in c.latex()


def test_pretty_has_one_header_per_entry():
    c = symhess.hessian(neo_hookean(np)).compile(F0)
    for text in (closed_form.pretty(c, use_unicode=False),
                 closed_form.pretty(c, use_unicode=False, cse=False)):
        headers = [line for line in text.splitlines() if line.startswith("d2 f / ")]
        assert len(headers) == len(c.entries())
        assert any(h.startswith("d2 f / d F[0, 1] d F[1, 1] =") for h in headers)
    assert "d2 f / d F[0, 1] d F[1, 1] =" in closed_form.pretty(c, use_unicode=False, cse=False)
    assert "∂²f / ∂F[0, 0]² =" in c.pretty()


def test_cse_reproduces_the_hessian(jax, jnp):
    c = symhess.hessian(neo_hookean(np)).compile(F0)
    replacements, reduced = c.cse()
    assert replacements and all(isinstance(s, sympy.Symbol) for s, _ in replacements)
    values = {sympy.Symbol(name): sympy.Float(v, 30) for name, v in point_values(c, F0).items()}
    for s, e in replacements:        # dependency order: each uses only earlier ones
        values[s] = e.xreplace(values).evalf(25)
    expected = np.asarray(jax.hessian(neo_hookean(jnp))(jnp.asarray(F0))).reshape(4, 4)
    assert len(reduced) == 10
    for (o, k, l), e in reduced.items():
        assert o == 0 and k <= l
        assert float(e.xreplace(values).evalf(20)) == pytest.approx(expected[k, l], rel=1e-12)


def test_sparsity_matches_jax_pattern(jax, jnp):
    # A chain: the Hessian is tridiagonal, and x2 enters only linearly (zero diagonal entry).
    f = lambda xp: (lambda x: xp.sum(xp.sin(x[1:]) * x[:-1] ** 2) + x[2])
    x = np.array([0.3, 1.1, -0.8, 0.6])
    c = symhess.hessian(f(np)).compile(x)
    pattern = c.sparsity
    assert pattern.shape == (4, 4) and pattern.dtype == bool
    reference = np.asarray(jax.hessian(f(jnp))(jnp.asarray(x))) != 0
    np.testing.assert_array_equal(pattern.toarray(), reference)
    blocks = closed_form.sparsity(c, blocks=True)
    np.testing.assert_array_equal(blocks, reference)


def test_sparsity_pytree_and_vector_output(jax, jnp):
    x = np.array([0.5, -1.5, 0.25])
    c = symhess.hessian(vector_out(np)).compile(x)
    reference = np.asarray(jax.hessian(vector_out(jnp))(jnp.asarray(x))) != 0
    assert c.sparsity.shape == (6, 3)
    np.testing.assert_array_equal(c.sparsity.toarray(), reference.reshape(6, 3))
    c2 = symhess.hessian(mixed(np), argnums=(0, 1)).compile(*P0)
    got = closed_form.sparsity(c2, blocks=True)
    expected = jax.hessian(mixed(jnp), argnums=(0, 1))(
        {"w": jnp.asarray(P0[0]["w"]), "b": jnp.asarray(P0[0]["b"])}, jnp.asarray(P0[1]))
    np.testing.assert_array_equal(got[0]["w"][0]["w"], np.asarray(expected[0]["w"][0]["w"]) != 0)
    np.testing.assert_array_equal(got[0]["w"][1], np.asarray(expected[0]["w"][1]) != 0)
    assert got[1][1].shape == () and bool(got[1][1])


def nan_in_conditions(xp):
    """Conditions on a value NumPy makes NaN where ``v <= 0`` (every comparison with NaN is
    False, except ``!=``)."""
    def f(v):
        u = xp.where(v > 0, v, xp.nan)
        w = xp.where(u < 0.5, v ** 3, xp.abs(u - 1) * v) + xp.maximum(u, 0.2 * v) * v
        return xp.sum(w * xp.where(u != 0.7, 1.0, 2.0))
    return f


def test_closed_forms_of_conditions_on_nan(jax, jnp):
    """SymPy refuses a relation on NaN ("Invalid NaN comparison", raised from every closed form);
    the trace compares a NaN branch as NumPy does, so the closed forms exist and agree with the
    kernel and JAX on both sides of each condition."""
    v = np.array([0.3, 0.9, 1.6])
    c = symhess.hessian(nan_in_conditions(np), tier="scalar").compile(v)
    want = jax.hessian(nan_in_conditions(jnp))(v)
    np.testing.assert_allclose(c(v), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(evaluate(c.expressions(), point_values(c, v)), want, rtol=1e-12,
                               atol=1e-12)
    assert "v_{0} < 0.5" in c.latex() and "v[0] < 0.5" in c.pretty(use_unicode=False)
