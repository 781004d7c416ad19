"""The named form of `pretty` and `latex`: subexpressions first, then the upper triangle.

The printed text is read back here by a parser of its own (LaTeX, or SymPy's one-line text art),
evaluated at a random point with 30-digit floats, and compared with the compiled kernel and
with the independent forward-mode reference `symhess.autodiff`.
"""

import re

import numpy as np
import pytest
import sympy
from sympy.parsing.sympy_parser import (implicit_multiplication, parse_expr,
                                        standard_transformations)

import symhess
import symhess.autodiff
import symhess.inspect as closed_form
from conftest import neo_hookean

TRANSFORMATIONS = standard_transformations + (implicit_multiplication,)
FUNCTIONS = {"log": sympy.log, "sin": sympy.sin, "cos": sympy.cos, "exp": sympy.exp,
             "e": sympy.E}
RNG = np.random.default_rng(7)
F3 = np.eye(3) + 0.2 * RNG.uniform(-1, 1, size=(3, 3))


# --- reading the printed forms back -------------------------------------------------------------
def _group(tex: str, i: int):
    """The text of the brace group starting at ``tex[i] == "{"``, and the index after it."""
    assert tex[i] == "{", tex[i:]
    depth = 0
    for j in range(i, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[j], 0)
        if depth == 0:
            return tex[i + 1:j], j + 1
    raise AssertionError(f"unbalanced braces in {tex!r}")


def python_of_latex(tex: str) -> str:
    """SymPy-parsable text of the LaTeX that `sympy.latex` writes for these Hessians.

    ``F_{0,1}`` becomes the identifier ``F_0_1``; fractions, powers, ``\\left( \\right)`` and
    ``\\log{...}``-style functions become Python; products stay implicit (spaces).
    """
    out, i = [], 0
    while i < len(tex):
        name = re.match(r"([A-Za-z]+)_\{([0-9,]+)\}", tex[i:])
        function = re.match(r"\\(log|sin|cos|exp)(?=\{)", tex[i:])
        if tex.startswith(r"\frac", i):
            num, i = _group(tex, i + 5)
            den, i = _group(tex, i)
            out.append(f"(({python_of_latex(num)})/({python_of_latex(den)}))")
        elif tex.startswith(r"\left(", i) or tex.startswith(r"\right)", i):
            out.append(tex[i + 5] if tex[i + 1] == "l" else tex[i + 6])
            i += 6 if tex[i + 1] == "l" else 7
        elif tex.startswith(r"\cdot", i):
            out.append("*")
            i += 5
        elif function:
            arg, i = _group(tex, i + len(function.group()))
            out.append(f" {function.group(1)}({python_of_latex(arg)}) ")
        elif tex[i] == "^":
            arg, i = _group(tex, i + 1)
            out.append(f"**({python_of_latex(arg)})")
        elif tex[i] == "{":
            arg, i = _group(tex, i)
            out.append(f"({python_of_latex(arg)})")
        elif name:
            out.append(f" {name.group(1)}_{name.group(2).replace(',', '_')} ")
            i += name.end()
        else:
            assert tex[i] not in "\\", f"unexpected LaTeX at {tex[i:i + 30]!r}"
            out.append(tex[i])
            i += 1
    return "".join(out)


def read_latex(text: str, inputs: dict):
    """``(definitions, entries)`` of a named `latex`: ``[(name, expr)]`` and ``{(k, l): expr}``.

    ``inputs`` maps the LaTeX name of each input entry (``F_{0,1}``) to its SymPy symbol;
    entries are keyed by the LaTeX names of the two variables, read off the header.
    """
    assert text.startswith("\\begin{aligned}\n") and text.endswith("\n\\end{aligned}")
    local = dict(FUNCTIONS)
    local.update({python_of_latex(k).strip(): s for k, s in inputs.items()})
    definitions, entries = [], {}
    for line in text.split("\n")[1:-1]:
        lhs, rhs = line.removesuffix(" \\\\").split(" &= ")
        expr = parse_expr(python_of_latex(rhs), local_dict=local, transformations=TRANSFORMATIONS)
        if lhs.startswith(r"\frac{\partial^2 f}"):
            wrt = re.findall(r"\\partial ([A-Za-z]+_\{[0-9,]+\}|[A-Za-z]+)(\^\{2\})?", lhs)
            names = [w for w, _ in wrt] * (2 if len(wrt) == 1 else 1)
            entries[tuple(names)] = expr
        else:
            assert not entries, "every subexpression comes before the entries"
            definitions.append((python_of_latex(lhs).strip(), expr))
    return definitions, entries


class Indexer:
    """``F[0, 1]`` in parsed text: the symbol named ``F[0, 1]``."""

    def __init__(self, name):
        self.name = name

    def __getitem__(self, index):
        index = index if isinstance(index, tuple) else (index,)
        return sympy.Symbol(f"{self.name}[{', '.join(str(int(i)) for i in index)}]")


def read_pretty(text: str, arrays=("F", "x")):
    """``(preamble, [(lhs, rhs text or None)])`` of ASCII `pretty` text.

    An equation on one line gives its right-hand side's text; one drawn on several lines (a
    fraction, a power) gives None: SymPy's 2-D art is not read back.
    """
    chunks = text.split("\n\n")
    equations = []
    for chunk in chunks[1:]:
        lines = chunk.split("\n")
        if all(" = " in line for line in lines):
            equations += [tuple(line.split(" = ", 1)) for line in lines]
        else:
            (baseline,) = [line for line in lines if " = " in line]
            equations.append((baseline.split(" = ", 1)[0].strip(), None))
    return chunks[0], equations


def evaluate(definitions, values: dict) -> dict:
    """``values`` extended by each definition in order, 30-digit floats."""
    values = dict(values)
    for name, expr in definitions:
        assert expr.free_symbols <= set(values), f"{name} uses names defined after it"
        values[name] = expr.xreplace(values).evalf(30)
    return values


def f_symbols(shape=(3, 3), name="F") -> dict:
    return {idx: sympy.Symbol(f"{name}[{', '.join(map(str, idx))}]") for idx in np.ndindex(*shape)}


# --- neo-Hookean ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def neo():
    return symhess.hessian(neo_hookean(np)).compile(F3)


def test_named_latex_evaluates_to_the_hessian(neo):
    syms = f_symbols()
    inputs = {f"F_{{{i},{j}}}": s for (i, j), s in syms.items()}
    definitions, entries = read_latex(neo.latex(), inputs)
    values = evaluate([(sympy.Symbol(n), e) for n, e in definitions],
                      {s: sympy.Float(F3[idx], 30) for idx, s in syms.items()})
    compiled = np.asarray(neo(F3)).reshape(9, 9)
    reference = np.asarray(symhess.autodiff.hessian(neo_hookean(np))(F3)).reshape(9, 9)
    flat = {f"F_{{{i},{j}}}": 3 * i + j for i, j in syms}
    assert len(entries) == 45                       # the upper triangle of a dense 9x9 Hessian
    for (a, b), expr in entries.items():
        k, l = flat[a], flat[b]
        assert k <= l, "only the upper triangle is printed"
        value = float(expr.xreplace(values))
        assert value == pytest.approx(compiled[k, l], rel=1e-12, abs=1e-12)
        assert value == pytest.approx(reference[k, l], rel=1e-10, abs=1e-10)
        assert value == pytest.approx(compiled[l, k], rel=1e-12, abs=1e-12)


def test_named_pretty_evaluates_to_the_hessian(neo):
    """Every one-line equation of the ASCII form, evaluated (the 2-D ones from the LaTeX)."""
    syms = f_symbols()
    preamble, equations = read_pretty(closed_form.pretty(neo, use_unicode=False, wrap_line=False))
    assert "only its upper triangle is printed" in preamble
    tex_definitions, _ = read_latex(neo.latex(), {f"F_{{{i},{j}}}": s for (i, j), s in syms.items()})
    values = {s: sympy.Float(F3[idx], 30) for idx, s in syms.items()}
    tex_values = evaluate([(sympy.Symbol(n), e) for n, e in tex_definitions], values)
    local = dict(FUNCTIONS, F=Indexer("F"))
    definitions = [(lhs, rhs) for lhs, rhs in equations if not lhs.startswith("d2 f")]
    assert [lhs for lhs, _ in definitions] == [f"x{i}" for i in range(len(tex_definitions))]
    for lhs, rhs in definitions:
        name = sympy.Symbol(lhs)
        if rhs is None:
            values[name] = tex_values[sympy.Symbol(lhs.replace("x", "x_"))]
        else:
            values[name] = parse_expr(rhs, local_dict=local).xreplace(values).evalf(30)
    compiled = np.asarray(neo(F3))
    entries = [(lhs, rhs) for lhs, rhs in equations if lhs.startswith("d2 f")]
    assert len(entries) == 45
    for lhs, rhs in entries:
        assert rhs is not None, f"{lhs}: an entry fits on one line"
        (a, b), = re.findall(r"^d2 f / d F\[(\d), (\d)\]\^2$", lhs) or [(None, None)]
        if a is not None:
            index = (int(a), int(b)) * 2
        else:
            index = tuple(int(i) for i in re.findall(r"\d", lhs.split("/")[1]))
        value = float(parse_expr(rhs, local_dict=local).xreplace(values))
        assert value == pytest.approx(compiled[index], rel=1e-12, abs=1e-12), lhs


def test_neo_hookean_pretty_is_short_and_det_is_spelt_once(neo):
    named, expanded = neo.pretty(), neo.pretty(cse=False)
    assert len(named.encode()) < 10_000 < 100_000 < len(expanded.encode())
    assert len(named.splitlines()) < 200 < 1000 < len(expanded.splitlines())
    syms = f_symbols()
    det = sympy.expand(sympy.Matrix(3, 3, lambda i, j: syms[i, j]).det())
    inputs = {f"F_{{{i},{j}}}": s for (i, j), s in syms.items()}
    definitions, entries = read_latex(neo.latex(), inputs)
    full = {}
    for name, expr in definitions:
        full[sympy.Symbol(name)] = expr.xreplace(full)
    spelt = [n for n, e in full.items() if sympy.expand(e) == det]
    assert len(spelt) == 1, "det F is one subexpression"
    for expr in entries.values():                   # an entry uses det's name, never its terms
        assert len(expr.free_symbols & set(syms.values())) <= 2
    for line in named.splitlines():
        if line.startswith("∂²f"):
            assert line.count("F[") <= 2, line


# --- names, structure and options ---------------------------------------------------------------
def test_subexpression_names_avoid_the_inputs():
    def f(x0, t):
        return np.sin(x0 * t) ** 2 * np.exp(x0 * t) + np.log(x0 + t)

    point = (np.float64(0.7), np.float64(1.3))
    c = symhess.hessian(f, argnums=(0, 1)).compile(*point)
    text, tex = closed_form.pretty(c, use_unicode=False), c.latex()
    assert "\nu0 = " in text and "\nx0 = " not in text and "\nt0 = " not in text
    assert "\nu_{0} &= " in tex
    inputs = {"x_{0}": sympy.Symbol("x0"), "t": sympy.Symbol("t")}
    definitions, entries = read_latex(tex, inputs)
    assert all(name.startswith("u_") for name, _ in definitions)
    values = evaluate([(sympy.Symbol(n), e) for n, e in definitions],
                      {sympy.Symbol("x0"): sympy.Float(0.7, 30), sympy.Symbol("t"): sympy.Float(1.3, 30)})
    reference = symhess.autodiff.hessian(f, argnums=(0, 1))(*point)
    where = {"x_{0}": 0, "t": 1}
    for (a, b), expr in entries.items():
        value = float(expr.xreplace(values))
        assert value == pytest.approx(float(reference[where[a]][where[b]]), rel=1e-12)


def test_a_vector_argument_named_x_gets_other_names():
    f = lambda x: np.sin(x[0]) * np.cos(x[1]) * x[2]
    x = np.array([0.3, -1.1, 2.0])
    c = symhess.hessian(f).compile(x)
    _, equations = read_pretty(closed_form.pretty(c, use_unicode=False))
    local = dict(FUNCTIONS, x=Indexer("x"))
    values = {sympy.Symbol(f"x[{i}]"): sympy.Float(v, 30) for i, v in enumerate(x)}
    reference = symhess.autodiff.hessian(f)(x)
    seen = 0
    for lhs, rhs in equations:           # here every equation fits on one line
        value = parse_expr(rhs, local_dict=local).xreplace(values).evalf(30)
        if lhs.startswith("d2 f"):
            index = [int(i) for i in re.findall(r"x\[(\d)\]", lhs)] * (2 if "^2" in lhs else 1)
            assert float(value) == pytest.approx(reference[tuple(index)], rel=1e-12)
            seen += 1
        else:
            assert re.fullmatch(r"t\d+", lhs)
            values[sympy.Symbol(lhs)] = value
    assert seen == len(c.entries()) == 5
    assert not re.search(r"^x_\{\d+\} &=", c.latex(), re.M)


def test_several_cse_groups_are_renamed(neo, monkeypatch):
    """Past `CSE_GROUP` entries the kernel's temporaries are called ``#cse0_1``...: not printed."""
    real = closed_form.cse

    def grouped(c):
        replacements, reduced = real(c)
        rename = {s: sympy.Symbol(f"#cse0_{i}") for i, (s, _) in enumerate(replacements)}
        return ([(rename[s], e.xreplace(rename)) for s, e in replacements],
                {k: e.xreplace(rename) for k, e in reduced.items()})

    expected = neo.pretty()
    monkeypatch.setattr(closed_form, "cse", grouped)
    assert "#" not in neo.pretty() + neo.latex()
    assert neo.pretty() == expected


def test_options_and_small_cases():
    c = symhess.hessian(lambda x: x[0] ** 2 * x[1]).compile(np.array([1.0, 2.0]))
    text = c.pretty(use_unicode=False)               # no common subexpression: no names
    assert text.splitlines()[1] == "2 nonzero entries:"
    assert "d2 f / d x[0] d x[1] = 2*x[0]" in text
    assert "d2 f / d x[1]^2" not in text             # a structural zero is left out
    zero = symhess.hessian(lambda x: 2 * x[0] + x[1]).compile(np.array([1.0, 2.0]))
    assert "identically zero" in zero.pretty()
    wide = symhess.hessian(neo_hookean(np)).compile(F3)
    for columns in (40, 60):
        narrow = closed_form.pretty(wide, num_columns=columns)
        assert max(len(line) for line in narrow.splitlines()[2:]) <= columns
    long = closed_form.pretty(wide, wrap_line=False)
    assert "x₅ = F[0, 0]⋅x₀ - F[0, 1]⋅(-x₃ + x₄) + F[0, 2]⋅x₂" in long
    simple = wide.latex(simplify=True)
    assert simple.count("&=") == wide.latex().count("&=")


def test_pytree_and_vector_outputs_keep_their_headers():
    def f(p, a):
        return np.sum(np.sin(p["w"]) * p["w"][::-1]) * p["b"] + a ** 3 * p["w"][0]

    point = ({"w": np.array([0.3, -0.7, 1.2]), "b": np.float64(0.4)}, np.float64(0.8))
    c = symhess.hessian(f, argnums=(0, 1)).compile(*point)
    text = closed_form.pretty(c, use_unicode=False)
    headers = [line for line in text.splitlines() if " = " in line and line.lstrip().startswith("d2")]
    assert len(headers) == len(c.entries())
    assert any(h.startswith("d2 f / d p['w'][0] d a = ") for h in headers)
    vec = symhess.hessian(lambda x: np.stack([x[0] * x[1] ** 2, np.sin(x[2]) * x[0]]))
    text = closed_form.pretty(vec.compile(np.ones(3)), use_unicode=False)
    assert "d2 f[1] / d x[0] d x[2] = " in text
