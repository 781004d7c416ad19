"""Closed forms, standalone code and the cross-check of `grad`, `value_and_grad`, `jacobian`
and `value_grad_hessian`, as `symhess.hessian` has them: every number against JAX."""

import ast
import importlib.util
import shutil
import subprocess

import numpy as np
import pytest
import sympy

import symhess
from symhess import crosscheck
from symhess.errors import CheckError

from conftest import assert_tree_close

RNG = np.random.default_rng(20261202)


def energy(xp):
    return lambda x, s: xp.sum((x[1:] - x[:-1] ** 2) ** 2) * s[0] + xp.sin(x[0] * s[1])


def constraints(xp):
    return lambda x: xp.concatenate([x[1:] * x[:-1], xp.exp(x[:1]) * x[-1:]])


POINT = (RNG.normal(size=4), RNG.normal(size=2))


def numeric(tree, c, args):
    """SymPy closed forms (a tree of expressions and matrices) evaluated at ``args``."""
    values = {}
    for leaf in c.leaves:
        for sym, v in zip(leaf.symbols().ravel(), np.ravel(args[leaf.index])):
            values[sympy.Symbol(str(sym))] = float(v)
    if isinstance(tree, (tuple, list)):
        return type(tree)(numeric(t, c, args) for t in tree)
    if isinstance(tree, (sympy.MatrixBase, sympy.NDimArray)):
        return np.array([float(e.xreplace(values)) for e in sympy.flatten(tree)],
                        dtype=float).reshape(sympy.Array(tree).shape)
    return float(tree.xreplace(values))


def jax_parts(jax, jnp, kind):
    f, args = energy(jnp), tuple(jnp.asarray(a) for a in POINT)
    value, grad, hess = f(*args), jax.grad(f, (0, 1))(*args), jax.hessian(f, (0, 1))(*args)
    return {"grad": grad, "value_and_grad": (value, grad),
            "value_grad_hessian": (value, grad, hess)}[kind]


@pytest.mark.parametrize("kind", ["grad", "value_and_grad", "value_grad_hessian"])
@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_expressions_are_the_call_in_closed_form(kind, tier, jax, jnp):
    transform = getattr(symhess, kind)(energy(np), argnums=(0, 1), tier=tier)
    c = transform.compile(*POINT)
    expected = jax_parts(jax, jnp, kind)
    assert_tree_close(numeric(c.expressions(), c, POINT), expected)
    assert_tree_close(c(*POINT), expected)


def test_printed_forms_name_every_part():
    c = symhess.value_grad_hessian(energy(np), argnums=0).compile(*POINT)
    entries = c.entries()
    counts = {n: sum(len(k) == n for k in entries) for n in (1, 2, 3)}
    assert counts == {1: 1, 2: 4, 3: 7}             # value, gradient, upper-triangle entries
    text = c.pretty(use_unicode=False)
    assert "only its upper triangle is printed" in text
    assert "\nf = " in text and text.count("d f / d x[") == 4 and text.count("d2 f / d x[") == 7
    tex = c.latex()
    assert tex.count(r"\frac{\partial f}") == 4 and tex.count(r"\frac{\partial^2 f}") == 7
    # the kernel's CSE, evaluated in order, gives what the kernel computes
    replacements, reduced = c.cse()
    values = {sympy.Symbol(str(s)): float(v)
              for leaf in c.leaves
              for s, v in zip(leaf.symbols().ravel(), np.ravel(POINT[leaf.index]))}
    for symbol, expr in replacements:
        values[symbol] = float(expr.xreplace(values))
    value, g, H = c(*POINT)
    for key, expr in reduced.items():
        want = {1: lambda: value, 2: lambda: g[key[1]], 3: lambda: H[key[1], key[2]]}[len(key)]()
        assert float(expr.xreplace(values)) == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_jacobian_sparsity_and_closed_form(jax, jnp):
    x = RNG.normal(size=5)
    c = symhess.jacobian(constraints(np)).compile(x)
    J = np.asarray(jax.jacobian(constraints(jnp))(jnp.asarray(x)))
    np.testing.assert_allclose(numeric(c.expressions(), c, (x,)), J, rtol=1e-12, atol=1e-14)
    pattern = c.sparsity.toarray()
    assert pattern.shape == J.shape
    np.testing.assert_array_equal(pattern, J != 0)


def load(path, name):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name), module


@pytest.mark.parametrize("sparse", [False, True])
def test_saved_module_gives_every_part(sparse, tmp_path, jax, jnp):
    c = symhess.value_grad_hessian(energy(np), argnums=0, sparse=sparse).compile(*POINT)
    kernel, module = load(c.save(tmp_path / "newton.py", name="newton")[0], "newton")
    flat = kernel(*POINT)
    value, grad, hess = jax_parts(jax, jnp, "value_grad_hessian")
    parts = {}
    for part, out, row, col, offset, shape in module.PARTS:
        block = flat[offset:offset + int(np.prod(shape))].reshape(shape)
        parts[part] = block
    np.testing.assert_allclose(parts["value"], value, rtol=1e-13)
    np.testing.assert_allclose(parts["jacobian"], grad[0], rtol=1e-12)
    H = np.asarray(hess[0][0])
    if sparse:
        import scipy.sparse
        shape, indptr, indices = module.SPARSE["hessian"]
        got = scipy.sparse.csr_array((parts["hessian"], indices, indptr), shape=shape).toarray()
        np.testing.assert_allclose(got, H)
    else:
        np.testing.assert_allclose(parts["hessian"], H)
    # the tables are literals a reader can parse without running the module
    tree = ast.parse((tmp_path / "newton.py").read_text())
    names = {t.targets[0].id for t in tree.body if isinstance(t, ast.Assign)}
    assert {"INPUTS", "PARTS"} <= names and ("SPARSE" in names) == sparse


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler (gcc) on this machine")
def test_saved_c_gives_every_part(tmp_path, jax, jnp):
    c = symhess.value_grad_hessian(energy(np), argnums=0).compile(*POINT)
    source, header = c.save(tmp_path / "newton.c", name="newton")
    size = c.kernel_spec().out_size
    args = "".join(f"static const double a{k}[] = {{{', '.join(map(repr, map(float, a)))}}};\n"
                   for k, a in enumerate(POINT))
    (tmp_path / "driver.c").write_text(
        '#include <stdio.h>\n#include "newton.h"\n' + args +
        f"int main(void) {{ static double out[NEWTON_OUT_SIZE]; int i; newton(a0, a1, out);\n"
        f'  for (i = 0; i < {size}; ++i) printf("%.17g\\n", out[i]);\n  return 0; }}\n')
    subprocess.run(["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "driver.c",
                    str(source), "-lm", "-o", "driver"], check=True, cwd=tmp_path)
    out = subprocess.run([str(tmp_path / "driver")], check=True, capture_output=True, text=True)
    got = np.array([float(v) for v in out.stdout.split()])
    value, grad, hess = jax_parts(jax, jnp, "value_grad_hessian")
    want = np.concatenate([[float(value)], np.ravel(grad[0]), np.ravel(hess[0][0])])
    np.testing.assert_allclose(got, want)
    assert "hessian of f, by x, by x: offset 5, shape (4, 4)" in header.read_text()


@pytest.mark.parametrize("kind", ["grad", "value_and_grad", "jacobian", "value_grad_hessian"])
def test_check_option_cross_checks_each_product(kind):
    f, args = (constraints(np), (RNG.normal(size=5),)) if kind == "jacobian" \
        else (energy(np), POINT)
    compiled = getattr(symhess, kind)(f, check=True)
    expected = getattr(symhess, kind)(f)(*args)
    assert_tree_close(compiled(*args), expected)


def test_check_finds_a_wrong_gradient():
    f = energy(np)
    right = symhess.value_and_grad(f)
    report = crosscheck.check_derivatives(f, *POINT, derivatives=right,
                                          parts=["value", "first"])
    assert report.ok and [b.path for b in report.blocks] == ["f", "J"]

    def wrong(*args):
        value, g = right(*args)
        return value, g * (1 + 1e-6)
    with pytest.raises(CheckError, match="the derivatives of .* does not agree with autodiff"):
        crosscheck.check_derivatives(f, *POINT, derivatives=wrong, parts=["value", "first"])


def test_has_aux_is_set_aside(jax, jnp):
    f = lambda x, s: (energy(np)(x, s), {"norm": np.sum(x * x)})
    (value, aux), g = symhess.value_and_grad(f, has_aux=True, check=True)(*POINT)
    np.testing.assert_allclose(aux["norm"], np.sum(POINT[0] ** 2), rtol=1e-14)
    np.testing.assert_allclose(g, jax.grad(energy(jnp))(*map(jnp.asarray, POINT)), rtol=1e-12)
