"""The printer and the Numba emitter, checked by evaluating printed code against SymPy."""

import math

import numpy as np
import pytest
import symengine as se
import sympy

from symhess.codegen import (C99, CodegenError, KernelInput, KernelSpec, NativeCPU, NumbaCFunc,
                             NumbaCUDA, NumbaLLVM, NumbaPython, NumPyPrinter, emit_numba, sanitize,
                             target_for)

x, y = se.symbols("x y")

# Every target, configured for tests: no on-disk Numba cache, and LLVM functions of one
# statement each (every temporary crosses a function boundary through scratch memory).
TARGETS = {"python": NumbaPython(cache=False), "llvm": NumbaLLVM(cache=False),
           "llvm-split": NumbaLLVM(cache=False, chunk=1), "cuda": NumbaCUDA(),
           "native": NativeCPU(), "native-split": NativeCPU(chunk=1),
           "cfunc": NumbaCFunc(cache=False), "c99": C99("k.h")}

# (expression, x, y): each printed expression is evaluated with NumPy and compared with SymPy's
# own numerical evaluation of the same expression.
CASES = [
    (x + y, 0.3, 1.7), (x - 2 * y, 0.3, 1.7), (x * y / (1 + x), 0.3, 1.7), (x ** 2, -1.5, 0),
    (x ** -3, 1.5, 0), (x ** 7, 1.1, 0), (x ** se.Rational(1, 2), 2.0, 0),
    (x ** se.Rational(-1, 2), 2.0, 0), (x ** se.Rational(2, 3), 2.0, 0), (x ** y, 1.3, 0.7),
    (se.exp(x) * se.log(y), 0.4, 2.5), (se.log(1 + x), 1e-12, 0), (se.sin(x) + se.cos(y), 0.2, 0.9),
    (se.atan2(y, x), -0.5, 0.25), (se.asinh(x) * se.acosh(y) + se.atanh(x / 2), 0.5, 1.5),
    (se.Piecewise((x, x > 0), (-x, True)), -0.7, 0), (se.Piecewise((x, x > 0), (-x, True)), 0.7, 0),
    (se.Piecewise((x * y, se.And(x > 0, y < 1)), (y, True)), 0.5, 0.5), (se.pi * x + se.E, 0.5, 0),
    (se.Rational(1, 3) * x - 2.5 * y, 0.5, 1.0),
    # A negated base: ** binds tighter than unary minus, so -(x) ** p would be -(x ** p).
    (se.Pow(-x, se.Rational(1, 3)), -8.0, 0), (se.Pow(-x * y, se.Rational(-2, 3)), -2.0, 3.0),
    (se.Pow(-x, y), -1.5, 0.7),
]


def evaluate(expr, xv, yv):
    names = {x: "x", y: "y"}
    code = NumPyPrinter(names).doprint(expr)
    return eval(code, {"np": np}, {"x": xv, "y": yv})


@pytest.mark.parametrize("expr, xv, yv", CASES, ids=[str(c[0]) for c in CASES])
def test_printed_expression_matches_sympy(expr, xv, yv):
    expected = float(sympy.sympify(expr).subs({sympy.Symbol("x"): sympy.Rational(xv), sympy.Symbol("y"): sympy.Rational(yv)}).evalf(30))
    assert math.isclose(evaluate(expr, xv, yv), expected, rel_tol=1e-13, abs_tol=1e-300)


def test_log1p_form_is_accurate_for_small_arguments():
    # log(1 + 1e-17) is 1e-17; a naive print of log(1 + x) would give 0.
    assert evaluate(se.log(1 + x), 1e-17, 0) == pytest.approx(1e-17, rel=1e-12)


def test_unknown_symbol_and_node_raise():
    with pytest.raises(CodegenError, match="neither an input"):
        NumPyPrinter({}).doprint(x + 1)
    with pytest.raises(CodegenError, match="cannot print"):
        NumPyPrinter({x: "x"}).doprint(se.Derivative(se.Function("f")(x), x))


def test_sanitize_keeps_comments_inert():
    text = sanitize("a'); import os #\nprint('x')")
    assert "'" not in text and "\n" not in text and "#" not in text


def test_emitted_module_runs_and_writes_mirrored_slots():
    t = se.Symbol("tmp")
    spec = KernelSpec(
        inputs=[KernelInput((2,))], reads={x: (0, (0,)), y: (0, (1,))},
        assignments=[(t, x * y)], outputs=[(t + 1, (1, 2)), (x, (0,))],
        out_size=4, out_shape=(2, 2), title="test kernel 'quoted'\nnewline")
    source = emit_numba(spec, cache=False)
    assert "'quoted'" not in source
    namespace = {}
    exec(compile(source, "<kernel>", "exec"), namespace)
    out = namespace["kernel"](np.array([3.0, 5.0]))
    np.testing.assert_array_equal(out, [[3.0, 16.0], [16.0, 0.0]])


def _load(source, name="kernel"):
    namespace = {}
    exec(compile(source, "<kernel>", "exec"), namespace)
    return namespace[name]


def _import(source, folder, stem, name="kernel"):
    """``name`` from ``source`` imported as a module file (numba.cuda compiles from files)."""
    import importlib.util
    path = folder / f"{stem}_kernel.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"{stem}_kernel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def emit_llvm_bodied(spec, kind, chunk=None):
    """The module of ``spec`` from an LLVM-bodied target: Numba's or the native one."""
    from symhess.codegen import emit_native, emit_numba_llvm
    options = {} if chunk is None else {"chunk": chunk}
    if kind == "native":
        return emit_native(spec, **options)
    return emit_numba_llvm(spec, cache=False, **options)


@pytest.mark.parametrize("kind", ["numba", "native"])
@pytest.mark.parametrize("out_dtype, in_dtype", [("float64", "float64"), ("float32", "float32"),
                                                 ("float64", "int64")])
def test_llvm_target_matches_sympy_on_every_case(out_dtype, in_dtype, kind):
    """All printer cases as outputs of one LLVM-bodied kernel, with inputs of several dtypes."""
    points = sorted({(xv, yv) for _, xv, yv in CASES})
    if in_dtype == "int64":
        points = [(3.0, 2.0)]
    for xv, yv in points:
        cases = [(e, xv, yv) for e, _, _ in CASES if not (in_dtype == "int64" and "acosh" in str(e))]
        arr = np.array([xv, yv], dtype=in_dtype)
        spec = KernelSpec(
            inputs=[KernelInput((2,), in_dtype)], reads={x: (0, (0,)), y: (0, (1,))},
            assignments=[], outputs=[(e, (i,)) for i, (e, _, _) in enumerate(cases)],
            out_size=len(cases), out_shape=(len(cases),), dtype=out_dtype)
        got = _load(emit_llvm_bodied(spec, kind))(arr)
        assert got.dtype == np.dtype(out_dtype)
        subs = {sympy.Symbol("x"): sympy.Rational(float(arr[0])), sympy.Symbol("y"): sympy.Rational(float(arr[1]))}
        expected = [complex(sympy.sympify(e).subs(subs).evalf(30)) for e, _, _ in cases]
        for (e, _, _), g, want in zip(cases, got, expected):
            if abs(want.imag) > 0 or not np.isfinite(want.real):
                assert np.isnan(g) or not np.isfinite(g), (e, g, want)
                continue
            # float32 rounds the double result once: relative error 2**-24, or underflow to 0.
            rel, small = (1e-6, 1e-37) if out_dtype == "float32" else (1e-13, 1e-300)
            assert math.isclose(float(g), want.real, rel_tol=rel, abs_tol=small), (e, xv, yv, g, want)


@pytest.mark.parametrize("kind", ["numba", "native"])
def test_llvm_target_scalar_inputs_and_cse_conditions(kind):
    """Scalar inputs, a condition held in a temporary (as CSE produces), and mirrored stores."""
    c = se.Symbol("c")
    spec = KernelSpec(
        inputs=[KernelInput((), "float64", scalar=True), KernelInput((1,), "float64")],
        reads={x: (0, ()), y: (1, (0,))}, assignments=[(c, se.Lt(x, y))],
        outputs=[(se.Piecewise((x * y, se.Eq(c, True)), (x + y, True)), (0, 3)),
                 (se.Piecewise((1, se.Eq(c, False)), (2, True)), (1,))],
        out_size=4, out_shape=(2, 2))
    kernel = _load(emit_llvm_bodied(spec, kind))
    np.testing.assert_array_equal(kernel(2.0, np.array([3.0])), [[6.0, 2.0], [0.0, 6.0]])
    np.testing.assert_array_equal(kernel(4, np.array([3.0])), [[7.0, 1.0], [0.0, 7.0]])


@pytest.mark.parametrize("kind", ["numba", "native"])
@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
def test_split_kernels_agree_with_the_whole(chunk, kind):
    """Temporaries that cross function boundaries go through scratch memory correctly."""
    t = se.symbols("t0:5")
    spec = KernelSpec(
        inputs=[KernelInput((2,), "float64")], reads={x: (0, (0,)), y: (0, (1,))},
        assignments=[(t[0], x * y), (t[1], se.exp(t[0])), (t[2], t[0] + t[1]), (t[3], t[2] * x),
                     (t[4], se.Piecewise((t[3], se.Lt(t[0], 1)), (t[1], True)))],
        outputs=[(t[4] + t[0], (0, 3)), (t[2] * y, (1,)), (t[1], (2,))],
        out_size=4, out_shape=(4,))
    a, b = 0.3, 0.7
    t0 = a * b; t1 = math.exp(t0); t2 = t0 + t1; t3 = t2 * a; t4 = t3 if t0 < 1 else t1
    expected = [t4 + t0, t2 * b, t1, t4 + t0]
    got = _load(emit_llvm_bodied(spec, kind, chunk))(np.array([a, b]))
    np.testing.assert_allclose(got, expected, rtol=1e-15)


@pytest.mark.parametrize("kind", ["numba", "native"])
@pytest.mark.parametrize("chunk", [1, 2])
def test_conditions_held_in_temporaries_cross_split_functions(chunk, kind):
    """CSE can move a condition into a temporary used by a later function of a split kernel."""
    c, t = se.symbols("c t")
    spec = KernelSpec(
        inputs=[KernelInput((2,), "float64")], reads={x: (0, (0,)), y: (0, (1,))},
        assignments=[(c, se.Lt(x, y)), (t, x * y)],
        outputs=[(se.Piecewise((t, se.Eq(c, True)), (x - y, True)), (0,)),
                 (se.Piecewise((1, se.Eq(c, False)), (2, True)), (1,))],
        out_size=2, out_shape=(2,))
    kernel = _load(emit_llvm_bodied(spec, kind, chunk))
    np.testing.assert_array_equal(kernel(np.array([2.0, 3.0])), [6.0, 2.0])
    np.testing.assert_array_equal(kernel(np.array([3.0, 2.0])), [1.0, 1.0])


def test_non_finite_constants_print_as_names():
    names = {x: "x"}
    assert eval(NumPyPrinter(names).doprint(x + se.oo), {"np": np}, {"x": 1.0}) == np.inf
    assert np.isnan(eval(NumPyPrinter(names).float_literal(float("nan")), {"np": np}))


@pytest.mark.parametrize("uniform", [False, True])
@pytest.mark.parametrize("target", ["python", "llvm", "cuda", "native", "native-split"])
def test_element_loops_scatter_add_into_the_body_output(target, uniform, tmp_path):
    """An element loop (slots read through an index table, a shared scalar, mirrored and single
    positions) adds into what the straight-line body wrote; checked against NumPy. The CUDA
    kernel runs on the GPU where there is one, else in Numba's simulator (conftest.py)."""
    from symhess.codegen.spec import LoopSpec
    s0, s1, k, t = se.symbols("s0 s1 k t")
    loop = LoopSpec(slots=[(s0, 0), (s1, 0)], reads={k: (1, ())},
                    assignments=[(t, s0 * s1)], outputs=[k * t, s0 ** 2 + se.exp(s1)],
                    uniform=uniform)
    spec = KernelSpec(
        inputs=[KernelInput((4,)), KernelInput((), scalar=True)], reads={x: (0, (3,))},
        assignments=[], outputs=[(x * 10, (0,))], out_size=6, out_shape=(6,), loops=[loop])
    v = np.array([0.5, -1.25, 2.0, 0.75])
    idx = np.array([[0, 1], [1, 2], [2, 3]], dtype=np.int64)
    if uniform:
        pos = np.array([[[2, 5], [4, -1]]] * 3, dtype=np.int64)
    else:
        pos = np.array([[[1, 2], [3, -1]], [[2, 5], [4, -1]], [[5, 1], [1, -1]]], dtype=np.int64)
    expected = np.zeros(6)
    expected[0] = 10 * v[3]
    for p, (a, b) in enumerate(idx):
        values = [3.0 * v[a] * v[b], v[a] ** 2 + np.exp(v[b])]
        for e, value in enumerate(values):
            for q in pos[p, e]:
                if q >= 0:
                    expected[q] += value
    source = TARGETS[target].emit(spec)
    if target.startswith("native"):
        assert ".loop0(" in source and ".elem0(" in source
    else:
        assert "def _loop0" in source and ("_elem0" in source) == (target == "llvm")
    got = _import(source, tmp_path, target) if target == "cuda" else _load(source)
    np.testing.assert_allclose(got(v, 3.0, idx, pos), expected, rtol=1e-14)
    if target.startswith("native"):      # the same element loop with computed rows
        loop.__dict__.update(LoopSpec.rows(idx, pos))
        assert loop.slot_rows == [(0, 1), (1, 1)]
        got = _load(TARGETS[target].emit(spec))(v, 3.0, idx, pos)
        np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_c99_target_refuses_element_loops():
    from symhess.codegen import emit_c99
    from symhess.codegen.spec import LoopSpec
    spec = KernelSpec(inputs=[KernelInput((2,))], reads={}, assignments=[], outputs=[],
                      out_size=1, out_shape=(1,), loops=[LoopSpec([(x, 0)], {}, [], [x])])
    with pytest.raises(CodegenError, match="element loops"):
        emit_c99(spec)


def test_arithmetic_tables_are_computed_not_read():
    from symhess.codegen.spec import LoopSpec, arithmetic
    assert arithmetic(np.array([3, 5, 7])) == (3, 2)
    assert arithmetic(np.array([4, 4, 4])) == (4, 0)
    assert arithmetic(np.array([0, 1, 3])) is None
    index = np.stack([np.arange(5), np.arange(5) + 1], axis=1)
    mirror = np.full((5, 2), -1)
    positions = np.stack([np.stack([np.arange(5), 2 * np.arange(5)], axis=1), mirror], axis=-1)
    rows = LoopSpec.rows(index, positions)
    assert rows == {"slot_rows": [(0, 1), (1, 1)], "position_rows": [((0, 1), None), ((0, 2), None)],
                    "elements": 5, "colours": 0,         # steps 1 and 2: p and 2p meet
                    "summed": (), "scatter_colours": 0, "reach": -1}
    loop = LoopSpec(slots=[], reads={}, assignments=[], outputs=[], **rows)
    assert (loop.slot_index(1), loop.position(1, 0), loop.position(1, 1)) == ("p + 1", "2 * p", None)
    # A mirror on some elements only (the template's diagonal meets others'): read the table.
    positions[2, 0, 1] = 9
    assert LoopSpec.rows(index, positions)["position_rows"] is None
    assert LoopSpec.rows(index[[0, 2, 1]], positions)["slot_rows"] is None


def test_a_value_beside_a_gradient_and_a_hessian_is_summed_and_the_rest_coloured():
    """An element's value adds at position 0 for every element, its two gradient entries at
    p + 1 and p + 2, its Hessian entries at 3p + 10 and 3p + 11: the value is `summed`, and
    the others fall into two classes (p and p + 1 share a gradient entry; the Hessian's
    positions of step 3 lie apart from the gradient's), which a value in every element
    would leave at none."""
    from symhess.codegen.spec import LoopSpec, colours
    p = np.arange(5)
    first = np.stack([0 * p, p + 1, p + 2, 3 * p + 10, 3 * p + 11], axis=1)
    positions = np.stack([first, np.full_like(first, -1)], axis=-1)
    rows = LoopSpec.rows(np.stack([p, p + 1], axis=1), positions)
    assert (rows["colours"], rows["summed"], rows["scatter_colours"]) == (0, (0,), 2)
    # Steps 1 and 3 whose ranges meet: elements 4 (position 4 + 1) and 0 (3 * 0 + 5) might.
    assert colours([((1, 1), None), ((5, 3), None)], elements=5) == 0
    assert colours([((1, 1), None), ((5, 3), None)], elements=4) == 1
    assert colours([((1, 1), None), ((5, 3), None)]) == 0        # the elements unknown
    # Elements 1 and 2 swapped: a table, read value by value, which sums nothing apart (its
    # colours: five elements on position 0, each a class of its own).
    rows = LoopSpec.rows(np.stack([p[[0, 2, 1, 3, 4]], p + 1], axis=1), positions[[0, 2, 1, 3, 4]])
    assert (rows["position_rows"], rows["summed"], rows["scatter_colours"]) == (None, (), 5)
    assert rows["colours"] == 5


def test_many_affine_positions_of_a_small_loop_are_read_from_the_table():
    """78 values of a 12-slot element over 19 elements: a table beats 78 printed statements,
    which Numba compiles slowly; the colours are found all the same. A large loop prints them."""
    from symhess.codegen.spec import TABLE_ENTRIES, LoopSpec, colours

    def tables(elements, values):
        index = 3 * np.arange(elements)[:, None] + np.arange(12)
        first = 183 * np.arange(elements)[:, None] + 7 * np.arange(values)
        positions = np.stack([first, np.full_like(first, -1)], axis=-1)
        return index, positions
    small = LoopSpec.rows(*tables(19, 78))
    assert small["position_rows"] is None and small["slot_rows"] is not None
    affine = [((k * 7, 183), None) for k in range(78)]
    assert small["colours"] == colours(affine) > 0
    large = LoopSpec.rows(*tables(TABLE_ENTRIES // 78 + 1, 78))
    assert large["position_rows"] == affine


def _classes_are_disjoint(positions, c):
    """Brute force: no two elements of one class modulo c share a position."""
    for r in range(c):
        seen = set()
        for p in range(r, positions.shape[0], c):
            mine = {int(k) for k in positions[p].ravel() if k >= 0}
            if seen & mine:
                return False
            seen |= mine
    return True


@pytest.mark.parametrize("starts, step", [((0, 1), 1), ((0, 2), 1), ((0, 1, 2, 3), 2),
                                          ((0, 3), 3), ((5,), 1), ((0, 1, 2, 3, 4, 5), 1)])
def test_colours_are_the_least_disjoint_classes(starts, step):
    from symhess.codegen.spec import colours, table_colours
    elements = 40
    first = np.stack([s + step * np.arange(elements) for s in starts], axis=1)
    positions = np.stack([first, np.full_like(first, -1)], axis=-1)
    c = colours([((s, step), None) for s in starts])
    assert c == table_colours(positions)
    assert _classes_are_disjoint(positions, c)
    assert c == 1 or not _classes_are_disjoint(positions, c - 1)


def _largest_meeting_distance(positions):
    """Brute force: the largest ``|p - q|`` of elements that share a position (0: none do)."""
    owners = {}
    for p in range(positions.shape[0]):
        for k in {int(k) for k in positions[p].ravel() if k >= 0}:
            owners.setdefault(k, []).append(p)
    return max((max(ps) - min(ps) for ps in owners.values()), default=0)


@pytest.mark.parametrize("rows", [
    [((0, 1), None), ((1, 1), None)],                   # a chain: neighbours meet
    [((0, 1), None), ((2, 1), None)],                   # p and p + 2 meet
    [((0, 2), None), ((1, 2), None), ((4, 2), None)],   # p and p + 2 (a gradient of step 2)
    [((0, 3), (6, 3)), ((3, 3), None)],                 # a mirror: p, p + 1 and p + 2 meet
    [((5, 1), None)],                                   # none meet
    [((0, 1), None), ((100, 3), None)],                 # two steps whose ranges lie apart
])
def test_the_reach_is_the_largest_distance_of_elements_that_meet(rows):
    """`reach` against the brute force over the position table; runs of consecutive elements
    at least that long, two apart, never share a position."""
    from symhess.codegen.spec import LoopSpec, reach
    elements = 30
    positions = np.full((elements, len(rows), 2), -1)
    for e, pair in enumerate(rows):
        for which, place in enumerate(pair):
            if place is not None:
                positions[:, e, which] = place[0] + place[1] * np.arange(elements)
    d = reach(rows, elements)
    assert d == _largest_meeting_distance(positions)
    assert LoopSpec.rows(np.zeros((elements, 0), np.int64), positions)["reach"] == d
    length = max(1, d)
    runs = [range(a, min(a + length, elements)) for a in range(0, elements, length)]
    for one, other in zip(runs, runs[2:]):
        mine = {int(k) for p in one for k in positions[p].ravel() if k >= 0}
        theirs = {int(k) for p in other for k in positions[p].ravel() if k >= 0}
        assert not mine & theirs


def test_the_reach_is_unknown_where_a_position_is_every_elements_or_steps_meet():
    from symhess.codegen.spec import LoopSpec, reach
    assert reach([((0, 0), None), ((0, 1), None)], 10) == -1      # every element adds at 0
    assert reach([((0, 1), None), ((5, 3), None)], 10) == -1      # steps 1 and 3 meet
    assert reach([((0, 1), None), ((5, 3), None)]) == -1          # the elements unknown
    rng = np.random.default_rng(4)                                # a table: not computed
    positions = np.stack([rng.integers(0, 50, (20, 3)), np.full((20, 3), -1)], axis=-1)
    assert LoopSpec.rows(np.zeros((20, 0), np.int64), positions)["reach"] == -1


def test_table_colours_of_an_irregular_table_and_of_none():
    from symhess.codegen.spec import table_colours
    rng = np.random.default_rng(3)
    first = rng.integers(0, 100, (60, 3)) + 50 * np.arange(60)[:, None]  # p and p + 2 never meet
    positions = np.stack([first, np.full((60, 3), -1)], axis=-1)
    c = table_colours(positions)
    assert c in (1, 2) and _classes_are_disjoint(positions, c)
    assert c == 1 or not _classes_are_disjoint(positions, c - 1)
    every = np.zeros((30, 1, 2), dtype=np.int64)                 # one position for all
    every[:, :, 1] = -1
    assert table_colours(every) == 0


# --- functions symhess keeps whole (symhess.special), through every printer ---------------------
def _special_cases():
    import mpmath
    from symhess import special as sp
    return [
        # (expression, x, y, closed form in mpmath)
        (sp.log1p(x) * y, 1e-12, 2.0, lambda a, b: mpmath.log1p(a) * b),
        (sp.expm1(x) / y, 3e-9, 0.5, lambda a, b: mpmath.expm1(a) / b),
        (sp.softplus(x), 30.0, 0.0, lambda a, b: mpmath.log1p(mpmath.exp(a))),
        (sp.softplus(x), -700.0, 0.0, lambda a, b: mpmath.log1p(mpmath.exp(a))),
        (sp.softplus(x) * y, 1e-12, 3.0, lambda a, b: mpmath.log1p(mpmath.exp(a)) * b),
        (sp.sigmoid(x), -800.0, 0.0, lambda a, b: 1 / (1 + mpmath.exp(-a))),
        (sp.sigmoid(x), 30.0, 0.0, lambda a, b: 1 / (1 + mpmath.exp(-a))),
        (sp.hypot(x, y), 1e200, 3e200, lambda a, b: mpmath.hypot(a, b)),
        (sp.hypot_ratio(x, y) ** 2 / sp.hypot(x, y), 1e200, 3e200,
         lambda a, b: (a / mpmath.hypot(a, b)) ** 2 / mpmath.hypot(a, b)),
        (sp.hypot_ratio(y, x) * x, 1e-200, 2e-200, lambda a, b: b / mpmath.hypot(a, b) * a),
        (sp.log1p(x).diff(x).diff(x) + sp.log1p(x) * y, 1e-12, 1.0,
         lambda a, b: -1 / (1 + a) ** 2 + mpmath.log1p(a) * b),
        (sp.softplus(x).diff(x).diff(x), 30.0, 0.0,
         lambda a, b: 1 / ((1 + mpmath.exp(-a)) * (1 + mpmath.exp(a)))),
    ]


def _special_expected(closed, xv, yv):
    import mpmath
    with mpmath.mp.workdps(60):
        return float(closed(mpmath.mpf(xv), mpmath.mpf(yv)))


def _special_spec(cases, dtype="float64"):
    return KernelSpec(inputs=[KernelInput((2,), dtype)], reads={x: (0, (0,)), y: (0, (1,))},
                      assignments=[], outputs=[(e, (i,)) for i, (e, *_) in enumerate(cases)],
                      out_size=len(cases), out_shape=(len(cases),))


def test_special_functions_print_precisely_in_every_target(tmp_path):
    """log1p, expm1, softplus, sigmoid, hypot: NumPy, LLVM, CUDA (as Python) and C99 code all
    give the closed form at cancelling arguments and at 1e200, to 1e-14 relative."""
    import ctypes
    import shutil
    import subprocess

    from symhess.codegen import c99, emit_numba_llvm
    from symhess.codegen.numba_cuda import CudaPrinter
    cases = _special_cases()
    names = {x: "x", y: "y"}
    outputs = {"numpy": [], "cuda": [], "llvm": [], "c99": []}
    for e, xv, yv, _ in cases:
        with np.errstate(over="ignore"):        # exp(800) in sigmoid(-800) is inf, as meant
            outputs["numpy"].append(eval(NumPyPrinter(names).doprint(e), {"np": np},
                                         {"x": xv, "y": yv}))
        try:        # Python's math raises where the device's overflows to inf
            outputs["cuda"].append(eval(CudaPrinter(names).doprint(e), {"math": math},
                                        {"x": xv, "y": yv}))
        except OverflowError:
            outputs["cuda"].append(None)
        kernel = _load(emit_numba_llvm(_special_spec([(e,)]), cache=False))
        outputs["llvm"].append(kernel(np.array([xv, yv]))[0])
    if shutil.which("gcc") is not None:
        spec = _special_spec(cases)
        (tmp_path / "k.h").write_text(c99.emit_c99_header(spec, "k", "K_H"))
        (tmp_path / "k.c").write_text(c99.emit_c99(spec, "k", "k.h"))
        subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-O2", "-shared", "-fPIC", "k.c",
                        "-o", "k.so", "-lm"], check=True, cwd=tmp_path)
        lib = ctypes.CDLL(str(tmp_path / "k.so"))
        out = np.zeros(len(cases))
        for k, (_, xv, yv, _) in enumerate(cases):
            pointer = ctypes.POINTER(ctypes.c_double)
            one = np.zeros(len(cases))
            lib.k(np.array([xv, yv]).ctypes.data_as(pointer), one.ctypes.data_as(pointer))
            out[k] = one[k]
        outputs["c99"] = list(out)
    else:
        del outputs["c99"]
    for target, values in outputs.items():
        for (e, xv, yv, closed), got in zip(cases, values):
            if got is None:
                continue
            want = _special_expected(closed, xv, yv)
            assert math.isclose(got, want, rel_tol=1e-14, abs_tol=1e-320), (target, str(e), got, want)


def test_special_functions_survive_cse_and_print_by_name():
    from symhess import special as sp
    from symhess.derive import cse
    f = sp.log1p(x) * y ** 2 + sp.hypot(x, y) + sp.expm1(x * y)
    entries = [f.diff(a).diff(b) for a in (x, y) for b in (x, y)]
    replacements, reduced = cse(entries)
    text = " ".join(str(e) for e in [r for _, r in replacements] + reduced)
    assert "log1p(" in text and "hypot" in text and "exp(" in text and "log(" not in text
    # the printed kernel calls log1p on x itself, never log on a temporary 1 + x
    names = {x: "x", y: "y", **{s: f"t{k}" for k, (s, _) in enumerate(replacements)}}
    printed = [NumPyPrinter(names).doprint(r) for _, r in replacements] + \
        [NumPyPrinter(names).doprint(r) for r in reduced]
    assert any("np.log1p(x)" in p for p in printed) and not any("np.log(" in p for p in printed)


def test_special_functions_in_sympy_and_latex():
    """symhess.inspect reads them as SymPy functions: derivatives, values and LaTeX agree."""
    from symhess import special as sp
    X, Y = sympy.symbols("x y")
    e = sympy.sympify(sp.log1p(x) * y + sp.hypot(x, y) + sp.softplus(x))
    assert sympy.diff(e, X).subs({X: 0, Y: 1}).evalf(30) == pytest.approx(1 + 0 + 0.5, rel=1e-14)
    value = e.subs({X: sympy.Rational(1, 10**12), Y: 3}).evalf(40)
    import mpmath
    with mpmath.mp.workdps(40):
        want = float(mpmath.log1p(mpmath.mpf(10) ** -12) * 3 + mpmath.hypot(mpmath.mpf(10) ** -12, 3)
                     + mpmath.log1p(mpmath.exp(mpmath.mpf(10) ** -12)))
    assert float(value) == pytest.approx(want, rel=1e-15)
    text = sympy.latex(e)
    assert r"\log{\left(1 + x \right)}" in text.replace("x + 1", "1 + x")
    assert r"\sqrt{x^{2} + y^{2}}" in text and r"e^{x}" in text
    assert sympy.latex(sympy.sympify(sp.hypot_ratio(x, y) ** 2)).startswith(r"\left(\frac{x}")


# --- every target against a closed form --------------------------------------------------------
def _hessian_spec(dtype="float64"):
    """The Hessian of f = exp(x y) + c sin(x) + x y^3 over (x, y), x = F[0, 1] and y = F[1, 0]
    of a 2x2 input F, c a scalar input; flat output [fxx, fxy, fxy, fyy, 0] (entry 4 unwritten)."""
    c, t = se.symbols("c t")
    return KernelSpec(
        inputs=[KernelInput((2, 2), dtype), KernelInput((), dtype, scalar=True)],
        reads={x: (0, (0, 1)), y: (0, (1, 0)), c: (1, ())}, assignments=[(t, se.exp(x * y))],
        outputs=[(t * y ** 2 - c * se.sin(x), (0,)), (t * (1 + x * y) + 3 * y ** 2, (1, 2)),
                 (t * x ** 2 + 6 * x * y, (3,))],
        out_size=5, out_shape=(5,), dtype=dtype, title="closed form 'test' */ #")


def _closed_form(F, c):
    a, b = F[0, 1], F[1, 0]
    e = np.exp(a * b)
    fxy = e * (1 + a * b) + 3 * b ** 2
    return np.array([b ** 2 * e - c * np.sin(a), fxy, fxy, a ** 2 * e + 6 * a * b, 0.0])


def _run_c99(spec, F, c, folder):
    """The C99 kernel compiled with cc and called through ctypes."""
    import ctypes
    import shutil
    import subprocess
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (cc) on PATH: the C99 kernel is not compiled")
    target = TARGETS["c99"]
    (folder / "k.h").write_text(target.emit_header(spec, "k", "K_H"))
    (folder / "k.c").write_text(target.emit(spec, "k"))
    subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", "-O2", "-shared", "-fPIC", "k.c",
                    "-o", "k.so", "-lm"], check=True, cwd=folder)
    pointer = ctypes.POINTER(ctypes.c_double)
    out = np.full(spec.out_size, np.nan)        # the kernel must zero what it does not write
    F, c = np.ascontiguousarray(F, dtype=np.float64), np.array([c])
    ctypes.CDLL(str(folder / "k.so")).k(F.ctypes.data_as(pointer), c.ctypes.data_as(pointer),
                                         out.ctypes.data_as(pointer))
    return out


def _run_cfunc(spec, F, c):
    """The cfunc kernel called through its ctypes function pointer."""
    import ctypes
    kernel = _load(TARGETS["cfunc"].emit(spec, name="hessian"), "hessian")
    pointer = ctypes.POINTER(ctypes.c_double)
    out = np.full(spec.out_size, np.nan)
    F, c = np.ascontiguousarray(F, dtype=np.float64), np.array([c])
    kernel.ctypes(F.ctypes.data_as(pointer), c.ctypes.data_as(pointer), out.ctypes.data_as(pointer))
    return out


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_target_computes_the_closed_form_hessian(target, tmp_path):
    """A 2-D input read in C order, a scalar input, a temporary, a mirrored entry and an entry
    no output writes: each target's kernel against the Hessian written out by hand."""
    spec = _hessian_spec()
    assert TARGETS[target].supports(spec)
    for F, c in [(np.array([[9.0, 0.3], [-1.7, 9.0]]), 2.5), (np.array([[0.0, -1.2], [0.4, 0.0]]), -0.5)]:
        want = _closed_form(F, c)
        if target == "c99":
            got = _run_c99(spec, F, c, tmp_path)
        elif target == "cfunc":
            got = _run_cfunc(spec, F, c)
        elif target == "cuda":
            got = _import(TARGETS[target].emit(spec), tmp_path, "cuda")(F, c)
        else:
            got = _load(TARGETS[target].emit(spec))(F, c)
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_floor_and_fmod_print_in_every_target(target, tmp_path):
    """The two primitives NumPy's rounding and remainder functions are written with, against
    NumPy's own: negative arguments, a value too large for an integer (CUDA's math.floor
    returns one), a zero remainder; out = [floor(x) y, fmod(x, y), fmod(y, x) + floor(-y), 0, 0]."""
    from symhess import special as sp
    c = se.Symbol("c")
    spec = KernelSpec(
        inputs=[KernelInput((2, 2)), KernelInput((), scalar=True)],
        reads={x: (0, (0, 1)), y: (0, (1, 0)), c: (1, ())}, assignments=[],
        outputs=[(sp.floor(x) * y + c, (0,)), (sp.fmod(x, y), (1,)),
                 (sp.fmod(y, x) + sp.floor(-y), (2,))],
        out_size=5, out_shape=(5,))
    for a, b in [(-2.5, 0.75), (7.25, -2.0), (6.0, 3.0), (-1e300, 3.5), (0.3, 1e-3)]:
        F = np.array([[0.0, a], [b, 0.0]])
        want = np.array([np.floor(a) * b, np.fmod(a, b), np.fmod(b, a) + np.floor(-b), 0, 0])
        if target == "c99":
            got = _run_c99(spec, F, 0.0, tmp_path)
        elif target == "cfunc":
            got = _run_cfunc(spec, F, 0.0)
        elif target == "cuda":
            got = _import(TARGETS[target].emit(spec), tmp_path, "cuda")(F, 0.0)
        else:
            got = _load(TARGETS[target].emit(spec))(F, 0.0)
        np.testing.assert_array_equal(got, want, err_msg=f"{target} at {(a, b)}")


@pytest.mark.parametrize("target", ["python", "llvm", "llvm-split", "cuda", "native",
                                    "native-split"])
def test_batched_kernels_compute_every_point(target, tmp_path):
    """One Hessian per point of a batched input, a shared input beside it: f = w x^2 y + exp(y)."""
    w = se.Symbol("w")
    spec = KernelSpec(
        inputs=[KernelInput((2,), batched=True), KernelInput((1,))],
        reads={x: (0, (0,)), y: (0, (1,)), w: (1, (0,))}, assignments=[],
        outputs=[(2 * w * y, (0,)), (2 * w * x, (1, 2)), (se.exp(y), (3,))],
        out_size=4, out_shape=(2, 2))
    source = TARGETS[target].emit(spec)
    kernel = _import(source, tmp_path, "cuda") if target == "cuda" else _load(source)
    points, weight = np.array([[0.5, -1.0], [2.0, 0.25], [-3.0, 1.5]]), 1.5
    got = kernel(points, np.array([weight]))
    a, b = points[:, 0], points[:, 1]
    want = np.stack([2 * weight * b, 2 * weight * a, 2 * weight * a, np.exp(b)], axis=1).reshape(3, 2, 2)
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_complex_kernels_take_the_python_target():
    """A complex Hessian: f = x^2 y + i x over complex inputs, printed as Python for Numba."""
    spec = KernelSpec(
        inputs=[KernelInput((2,), "complex128")], reads={x: (0, (0,)), y: (0, (1,))},
        assignments=[], outputs=[(2 * y + se.I * x, (0,)), (2 * x, (1, 2))], out_size=4,
        out_shape=(2, 2), dtype="complex128")
    target = target_for(spec)
    assert type(target) is NumbaPython
    v = np.array([1.5 - 0.5j, -2.0 + 3.0j])
    kernel = _load(NumbaPython(cache=False).emit(spec))
    want = np.array([[2 * v[1] + 1j * v[0], 2 * v[0]], [2 * v[0], 0]])
    np.testing.assert_allclose(kernel(v), want, rtol=1e-15)


def test_target_for_chooses_as_the_compiler_does(monkeypatch):
    """cuda: NumbaCUDA; cpu: NativeCPU for real dtypes, element loops on threads included
    (where the interpreter's layout is the one it reads), then NumbaLLVM for real dtypes it
    loads, else NumbaPython. SYMHESS_NATIVE=0 turns NativeCPU off."""
    from symhess.codegen.jit import abi_ok
    from symhess.codegen.spec import LoopSpec
    real = _hessian_spec()
    batched = KernelSpec([KernelInput((2,), batched=True)], {}, [], [], 1, (1,))
    threads = _hessian_spec()       # a sum over a million data rows runs on all threads
    threads.loops = [LoopSpec([(x, 0)], {}, [], [x * x], uniform=True, elements=10 ** 6)]
    complex_ = KernelSpec([KernelInput((1,), "complex128")], {}, [], [], 1, (1,), dtype="complex128")
    boolean = KernelSpec([KernelInput((1,), "bool")], {}, [], [], 1, (1,))
    assert abi_ok()             # CPython 3 on a 64-bit little-endian machine, as CI runs
    assert type(target_for(real)) is NativeCPU
    assert type(target_for(real, "cpu")) is NativeCPU
    assert type(target_for(batched)) is NativeCPU
    assert type(target_for(threads)) is NativeCPU
    monkeypatch.setenv("SYMHESS_NATIVE", "0")
    assert type(target_for(real)) is NumbaLLVM
    assert type(target_for(threads)) is NumbaLLVM
    assert type(target_for(complex_)) is NumbaPython
    assert type(target_for(boolean)) is NumbaPython      # LLVM loads no bool input
    assert type(target_for(real, device="cuda")) is NumbaCUDA
    with pytest.raises(ValueError, match="device 'tpu' has no target"):
        target_for(real, device="tpu")


def test_supports_says_what_each_target_prints():
    from symhess.codegen.spec import LoopSpec
    real, complex_ = _hessian_spec(), _hessian_spec("complex128")
    looped = _hessian_spec()
    looped.loops = [LoopSpec([(x, 0)], {}, [], [x])]
    table = {  # target: (real, complex, element loops)
        "python": (True, True, True), "llvm": (True, False, True), "cuda": (True, False, True),
        "native": (True, False, True),
        "cfunc": (True, False, False), "c99": (True, False, False)}
    for name, want in table.items():
        target = TARGETS[name]
        assert (target.supports(real), target.supports(complex_), target.supports(looped)) == want, name
    with pytest.raises(CodegenError, match="complex"):
        TARGETS["c99"].emit(complex_)
    with pytest.raises(CodegenError, match="element loop"):
        TARGETS["cfunc"].emit(looped)
    with pytest.raises(ValueError, match="float32 and float64"):
        TARGETS["cuda"].emit(complex_)


@pytest.mark.parametrize("target", ["python", "llvm", "cuda", "cfunc", "native"])
def test_generated_modules_import_only_the_runtime(target):
    """Generated Python imports NumPy, Numba, math and `symhess.codegen.runtime`, nothing else
    of symhess; the header keeps the spec's title inert."""
    import ast
    source = TARGETS[target].emit(_hessian_spec(), version="1.0 */ #x")
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module)
    assert modules <= {"numpy", "numba", "math", "numba.cuda", "symhess.codegen.runtime"}, modules
    assert ("symhess.codegen.runtime" in modules) == (target in ("llvm", "cuda", "native"))
    header = source.split("\n\n")[0]
    assert "'" not in header and "*/" not in header and header.count("#") == header.count("\n# ") + 1


def test_codegen_is_a_leaf_of_small_modules():
    """codegen imports nothing of symhess and no other module's private names; no module is
    over 500 lines; the Numba CPU target does not import the LLVM one."""
    import ast
    from pathlib import Path

    import symhess.codegen
    folder = Path(symhess.codegen.__file__).parent
    for path in folder.glob("*.py"):
        text = path.read_text()
        assert len(text.splitlines()) <= 500, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 1 or not (node.module or "").startswith("symhess"), path.name
                assert not any(a.name.startswith("_") and a.name != "__future__"
                               for a in node.names), (path.name, node.module)
                if path.name == "numba_cpu.py":
                    assert node.module != "llvm_ir", "numba_cpu imports llvm_ir"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("symhess") for a in node.names), path.name
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__") and isinstance(node.value, ast.Name) \
                    and node.value.id not in ("self", "cls"):
                raise AssertionError(f"{path.name} reads {node.value.id}.{node.attr}")
