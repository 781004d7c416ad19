"""`symhess.check`: it passes on right Hessians and names the wrong entry of planted bugs.

References here are closed forms written by hand; the planted bugs are injected with monkeypatch
into each stage of the pipeline (a primitive's rule, derivation, CSE, output layout, constant
printing, input indexing) and must all be caught.
"""

import numpy as np
import pytest
import symengine as se

import symhess
from symhess import autodiff, primitives
from symhess.crosscheck import compare_arrays


def cubic(x):
    return x[0] ** 3 + 2.5 * x[1] ** 2 + x[0] * x[1] * x[2] + np.sin(x[2])


def cubic_hessian(x):
    return np.array([[6 * x[0], x[2], x[1]],
                     [x[2], 5.0, x[0]],
                     [x[1], x[0], -np.sin(x[2])]])


X = np.array([0.7, -1.3, 0.4])


def test_right_hessian_passes_and_reports():
    report = symhess.check(cubic, X, hessian=cubic_hessian)
    assert report.ok and len(report.blocks) == 1
    block = report.blocks[0]
    assert block.path == "H" and block.shape == (3, 3)
    assert block.max_abs_error <= 1e-14
    assert (block.rtol, block.atol, block.mtol) == (1e-8, 1e-300, 1e-12)
    assert isinstance(block.index, tuple) and len(block.index) == 2
    assert block.reference == pytest.approx(cubic_hessian(X)[block.index], rel=1e-15)
    assert report.value_error == 0.0
    assert "OK" in str(report) and "(3, 3)" in str(report)


@pytest.mark.parametrize("index, delta", [((1, 2), 1e-3), ((0, 0), -0.5), ((2, 2), 2e-7)])
def test_wrong_entry_is_named(index, delta):
    def wrong(x):
        h = cubic_hessian(x)
        h[index] += delta
        return h
    with pytest.raises(symhess.CheckError) as info:
        symhess.check(cubic, X, hessian=wrong)
    block = info.value.report.worst
    assert block.index == index and not info.value.report.ok
    assert block.value == pytest.approx(cubic_hessian(X)[index] + delta, abs=1e-15)
    assert block.reference == pytest.approx(cubic_hessian(X)[index], abs=1e-15)
    message = str(info.value)
    assert f"entry {index}" in message
    assert f"{block.value:.6g}" in message and f"{block.reference:.6g}" in message


def stiff(x):
    """Entries from 2e6 down to 2e-12 in one block: each must be checked on its own scale."""
    return 1e6 * x[0] ** 2 * x[1] + np.log1p(x[2]) * x[1] ** 2 + x[0] * x[2] ** 2


def stiff_hessian(x):
    return np.array([[2e6 * x[1], 2e6 * x[0], 2 * x[2]],
                     [2e6 * x[0], 2 * np.log1p(x[2]), 2 * x[1] / (1 + x[2])],
                     [2 * x[2], 2 * x[1] / (1 + x[2]), 2 * x[0] - x[1] ** 2 / (1 + x[2]) ** 2]])


S = np.array([1.5, 0.75, 1e-12])


@pytest.mark.parametrize("relative", [1.0, 1e-3, 1e-6])
def test_wrong_small_entry_beside_large_ones_is_caught(relative):
    """H[1, 1] = 2 log1p(1e-12) = 2e-12 beside entries of 1e6: a relative error of 1e-6 in it
    was invisible to a tolerance scaled by the block's largest entry (1e-8 * 3e6 = 0.03)."""
    assert symhess.check(stiff, S, hessian=stiff_hessian).ok

    def wrong(x):
        h = stiff_hessian(x)
        h[1, 1] *= 1 + relative
        return h
    with pytest.raises(symhess.CheckError) as info:
        symhess.check(stiff, S, hessian=wrong)
    block = info.value.report.worst
    assert block.index == (1, 1) and block.reference == pytest.approx(2e-12, rel=1e-12)
    assert "rounding bound" in str(info.value)


def test_rounding_bounds_are_the_autodiffs_and_small_where_the_terms_are():
    d = autodiff.derivatives(stiff, (S,))
    bound = d.hessian_bounds[0]
    assert bound.shape == (3, 3) and np.all(bound >= 0)
    # H[1, 1] is built from terms of size 1e-12, H[0, 1] from terms of size 1e6.
    assert bound[1, 1] < 1e-10 and bound[0, 1] > 1e6
    np.testing.assert_allclose(d.hessians[0], stiff_hessian(S), rtol=1e-15)


def test_error_below_tolerance_passes():
    def close(x):
        return cubic_hessian(x) * (1 + 1e-10)
    assert symhess.check(cubic, X, hessian=close).ok
    with pytest.raises(symhess.CheckError):
        symhess.check(cubic, X, hessian=close, rtol=1e-12)


@pytest.mark.parametrize("got, ref, rtol, atol, ok, index", [
    # |a - r| <= atol + rtol * max(|a|, |r|, largest |r| in the block)
    ([1.0, 100.0], [1.0 + 5e-7, 100.0], 1e-8, 0.0, True, None),      # 5e-7 <= 1e-8 * 100
    ([1.0, 100.0], [1.0 + 2e-6, 100.0], 1e-8, 0.0, False, (0,)),
    ([0.0, 0.0], [1e-13, 0.0], 1e-8, 1e-12, True, None),
    ([0.0, 0.0], [1e-11, 0.0], 1e-8, 1e-12, False, (0,)),
    ([np.nan, 1.0], [np.nan, 1.0], 1e-8, 1e-12, True, None),
    ([np.nan, 1.0], [0.0, 1.0], 1e-8, 1e-12, False, (0,)),
    ([np.inf, 1.0], [np.inf, 1.0], 1e-8, 1e-12, True, None),
    ([1.0, 2.0 + 1e-3j], [1.0, 2.0], 1e-8, 1e-12, False, (1,)),
])
def test_tolerance_rule(got, ref, rtol, atol, ok, index):
    block = compare_arrays("H", np.array(got), np.array(ref), rtol, atol)
    assert block.ok is ok
    if index is not None:
        assert block.index == index


@pytest.mark.parametrize("got, ref, bounds, ok, index", [
    # |a - r| <= atol + rtol * max(|a|, |r|) + mtol * m, defaults 1e-8, 1e-300, 1e-12
    ([100.0, 1.0 + 5e-7], [100.0, 1.0], [100.0, 1.0], False, (1,)),    # no help from 100
    ([100.0, 1.0 + 5e-7], [100.0, 1.0], [100.0, 1e6], True, None),     # 5e-7 <= 1e-12 * 1e6
    ([1e6, 2.0002e-12], [1e6, 2e-12], [1e6, 4e-12], False, (1,)),
    ([1e6, 2e-12 * (1 + 1e-9)], [1e6, 2e-12], [1e6, 4e-12], True, None),
    ([0.0, 1.0], [1e-20, 1.0], [0.0, 1.0], False, (0,)),
    ([0.0, 1.0], [1e-20, 1.0], [1e-7, 1.0], True, None),
    ([np.nan, 1.0], [np.nan, 1.0], [np.nan, 1.0], True, None),
])
def test_tolerance_rule_with_rounding_bounds(got, ref, bounds, ok, index):
    block = compare_arrays("H", np.array(got), np.array(ref), bounds=np.array(bounds))
    assert block.ok is ok and block.mtol == 1e-12
    if index is not None:
        assert block.index == index


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-8, 1e-12), (np.float32, 1e-3, 1e-5),
                                               (np.complex128, 1e-8, 1e-12),
                                               (np.complex64, 1e-3, 1e-5)])
def test_default_tolerances_follow_dtype(dtype, rtol, atol):
    block = compare_arrays("H", np.ones(2, dtype), np.ones(2))
    assert (block.rtol, block.atol) == (rtol, atol)


def test_float32_symhess_passes_with_float32_tolerance():
    report = symhess.check(cubic, X.astype(np.float32))
    assert report.ok and report.blocks[0].rtol == 1e-3
    # the float64 reference is exact to rounding; float32's own error is far below 1e-3.
    np.testing.assert_allclose(symhess.hessian(cubic)(X.astype(np.float32)),
                               cubic_hessian(X.astype(np.float32).astype(float)), rtol=1e-5)


def test_wrong_structure_and_shape_are_named():
    with pytest.raises(symhess.CheckError, match=r"shape \(9,\).*\(3, 3\)"):
        symhess.check(cubic, X, hessian=lambda x: cubic_hessian(x).ravel())
    f = lambda p: p["a"] ** 2 * p["b"]
    point = {"a": 1.5, "b": 2.0}
    right = {"a": {"a": 4.0, "b": 3.0}, "b": {"a": 3.0, "b": 0.0}}
    assert symhess.check(f, point, hessian=lambda p: right).ok
    with pytest.raises(symhess.CheckError, match="tree structure"):
        symhess.check(f, point, hessian=lambda p: {"a": right["a"]})
    with pytest.raises(symhess.CheckError, match=r"H\['b'\]\['a'\] entry \(\)"):
        symhess.check(f, point, hessian=lambda p: {"a": right["a"], "b": {"a": 2.0, "b": 0.0}})


def test_value_check_catches_a_function_that_changes_between_calls():
    calls = []

    def drifting(x):
        calls.append(1)
        return np.sum(x ** 2) + len(calls)
    with pytest.raises(symhess.CheckError, match="not be deterministic"):
        symhess.check(drifting, X, hessian=lambda x: 2 * np.eye(3))


def test_bad_arguments():
    with pytest.raises(ValueError, match="against='torch'"):
        symhess.check(cubic, X, against="torch")
    with pytest.raises(symhess.InputTypeError, match="complex128.*holomorphic=True"):
        symhess.check(cubic, X + 0j, hessian=cubic_hessian)
    with pytest.raises(symhess.InputTypeError, match="int64"):
        symhess.check(cubic, np.array([1, 2, 3]), hessian=cubic_hessian)
    with pytest.raises(symhess.HasAuxError):
        symhess.check(cubic, X, has_aux=True, hessian=cubic_hessian)
    with pytest.raises(symhess.UnsupportedFunctionError, match="np.fft.fft"):
        symhess.check(lambda x: np.sum(np.fft.fft(x).real), X, hessian=cubic_hessian)
    with pytest.raises(TypeError, match="float\\(\\) of a differentiated value"):
        symhess.check(lambda x: float(x[0]) * x[1], X, hessian=cubic_hessian)


def test_has_aux_argnums_and_pytrees_with_symhess():
    def f(p, x, scale):
        y = np.tanh(p["w"] @ x + p["b"])
        return np.sum(y ** 2) * scale, {"y": y}
    p = {"w": np.array([[0.3, -0.2], [0.5, 0.1]]), "b": np.array([0.1, -0.4])}
    report = symhess.check(f, p, np.array([0.7, -1.1]), 2.0, argnums=(0, 1), has_aux=True)
    assert report.ok
    assert {b.path for b in report.blocks} >= {"H[0]['w'][0]['w']", "H[1][0]['b']", "H[1][1]"}


def test_holomorphic_check_against_closed_form():
    f = lambda z: np.sum(z ** 3) + z[0] * np.exp(z[1])
    z = np.array([0.3 + 0.4j, -0.2 + 0.1j])
    closed = lambda z: np.array([[6 * z[0], np.exp(z[1])],
                                 [np.exp(z[1]), 6 * z[1] + z[0] * np.exp(z[1])]])
    assert symhess.check(f, z, holomorphic=True, hessian=closed).ok
    assert symhess.check(f, z, holomorphic=True).ok


def lennard_jones(x):
    p = x.reshape(-1, 3)
    e = 0.0
    for i in range(len(p)):
        for j in range(i + 1, len(p)):
            d = p[i] - p[j]
            s6 = 1.0 / np.sum(d * d) ** 3
            e = e + 4.0 * (s6 * s6 - s6)
    return e


def lennard_jones_hessian(x):
    """Closed form: each pair adds V''(r) u u^T + V'(r)/r (I - u u^T) in its four blocks."""
    p = x.reshape(-1, 3)
    n = len(p)
    h = np.zeros((n, 3, n, 3))
    for i in range(n):
        for j in range(i + 1, n):
            d = p[i] - p[j]
            r = np.linalg.norm(d)
            u = np.outer(d, d) / r ** 2
            v1 = 4 * (-12 * r ** -13 + 6 * r ** -7)
            v2 = 4 * (156 * r ** -14 - 42 * r ** -8)
            b = v2 * u + v1 / r * (np.eye(3) - u)
            h[i, :, i] += b
            h[j, :, j] += b
            h[i, :, j] -= b
            h[j, :, i] -= b
    return h.reshape(3 * n, 3 * n)


def test_lennard_jones_36_variables_in_one_pass(monkeypatch):
    """Checking a given Hessian of 36 variables runs the function twice (once on NumPy, once
    on jets with all 36 seeded at once: never a pass per variable) and compiles nothing."""
    rng = np.random.default_rng(7)
    grid = np.array([[a, b, c] for a in range(3) for b in range(2) for c in range(2)], float)
    x = (1.1 * grid + rng.uniform(-0.1, 0.1, grid.shape)).ravel()
    runs = []

    def counted(x):
        runs.append("jets" if isinstance(x, autodiff.Jet) else type(x).__name__)
        return lennard_jones(x)

    def no_compile(*args, **kwargs):
        raise AssertionError("check(hessian=...) compiled symhess's Hessian")
    monkeypatch.setattr("symhess.api.hessian", no_compile)
    report = symhess.check(counted, x, hessian=lennard_jones_hessian)
    assert report.ok and report.blocks[0].shape == (36, 36)
    assert sorted(runs) == ["jets", "ndarray"], runs
    # The autodiff itself must match the closed form far inside the check's tolerance.
    np.testing.assert_allclose(autodiff.hessian(lennard_jones)(x), lennard_jones_hessian(x),
                               rtol=0, atol=1e-11 * np.abs(lennard_jones_hessian(x)).max())


def test_autodiff_uses_several_passes_for_many_variables():
    x = np.linspace(-1, 1, 30)
    f = lambda x: np.sum(np.sin(np.outer(x, x[::-1])))
    one = autodiff.derivatives(f, (x,)).hessians[0]
    split = autodiff.derivatives(f, (x,), max_components=1 + 30 + 7 * 30).hessians[0]
    np.testing.assert_array_equal(split, one)
    closed = -np.sin(np.outer(x, x[::-1]))
    # d2/dx_k dx_l of sum_ij sin(x_i x_{n-1-j}) has a closed form through the index map.
    n = len(x)
    expected = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            a, b = i, n - 1 - j          # the term sin(x_a * x_b)
            s, c = closed[i, j], np.cos(x[a] * x[b])
            expected[a, a] += s * x[b] ** 2
            expected[b, b] += s * x[a] ** 2
            expected[a, b] += s * x[a] * x[b] + c
            expected[b, a] += s * x[a] * x[b] + c
    np.testing.assert_allclose(one, expected, atol=1e-12)


# --- planted bugs: each stage of the symbolic pipeline broken on purpose ------------------------
def _sin_traces_as_cos(monkeypatch):
    monkeypatch.setitem(primitives.UFUNCS, np.sin, se.cos)


def _swap_layout_positions(monkeypatch):
    from symhess.layout import Layout
    original = Layout.positions
    swap = {(0, 0): (1, 1), (1, 1): (0, 0)}

    def positions(self, o, k, l):
        k, l = swap.get((k, l), (k, l))
        return original(self, o, k, l)
    monkeypatch.setattr(Layout, "positions", positions)


def _wrong_constant_in_llvm(monkeypatch):
    from symhess.codegen import llvm_ir
    original = llvm_ir.double
    monkeypatch.setattr(llvm_ir, "double", lambda v: original(float(v) * (1 + 1e-6)))


def _wrong_constant_in_numpy_printer(monkeypatch):
    from symhess.codegen.printer import NumPyPrinter
    original = NumPyPrinter.float_literal
    monkeypatch.setattr(NumPyPrinter, "float_literal",
                        lambda self, v: original(self, float(v) * (1 + 1e-6)))


def _doubled_off_diagonal(monkeypatch):
    from symhess import lower
    original = lower.hessian_entries

    def entries(outputs, wrt):
        out = original(outputs, wrt)
        key = next((k for k in sorted(out) if k[1] != k[2]), None)
        if key is not None:
            out[key] = 2 * out[key]
        return out
    monkeypatch.setattr(lower, "hessian_entries", entries)


def _perturbed_cse(monkeypatch):
    from symhess import lower
    original = lower.cse

    def cse(exprs):
        replacements, reduced = original(exprs)
        if replacements:
            sym, expr = replacements[-1]
            replacements[-1] = (sym, expr * (1 + 1e-6))
        return replacements, reduced
    monkeypatch.setattr(lower, "cse", cse)


def _transposed_input_reads(monkeypatch):
    from symhess.codegen import llvm_ir
    original = llvm_ir.flat_index
    monkeypatch.setattr(llvm_ir, "flat_index", lambda shape, idx: original(shape, tuple(idx)[::-1])
                        if len(shape) == 2 else original(shape, idx))


def _log1p_as_log_of_one_plus(monkeypatch):
    """The bug of issue 14: log1p(x) traced as log(1 + x), which CSE turns into log(t0)."""
    monkeypatch.setitem(primitives.UFUNCS, np.log1p, lambda a: se.log(1 + a))


def matrix_function(m):
    return np.sum(np.sin(m) * m[:, ::-1] ** 2) + m[0, 1] ** 3 * m[1, 0]


def poly(x):
    return 3.0 * x[0] ** 2 * x[1] + 2.5 * x[1] ** 3 + np.sin(x[0] * x[2]) + x[0] * x[1] * x[2]


M = np.array([[0.3, -0.8], [1.1, 0.5]])
P = np.array([0.6, -0.9, 1.3])
Z = np.array([0.3 + 0.1j, -0.5 + 0.2j, 0.2 - 0.4j])

PLANTED = [
    ("sin_traced_as_cos", _sin_traces_as_cos, poly, P, {}),
    ("layout_positions_swapped", _swap_layout_positions, poly, P, {}),
    ("llvm_constant_off_by_1e-6", _wrong_constant_in_llvm, poly, P, {}),
    ("numpy_printer_constant_off_by_1e-6", _wrong_constant_in_numpy_printer,
     lambda z: 3.0 * z[0] ** 2 * z[1] + 2.5 * z[2] ** 3, Z, {"holomorphic": True}),
    ("derivative_doubled", _doubled_off_diagonal, poly, P, {}),
    ("cse_replacement_perturbed", _perturbed_cse, poly, P, {}),
    ("input_read_transposed", _transposed_input_reads, matrix_function, M, {}),
    ("log1p_as_log_of_1_plus_x", _log1p_as_log_of_one_plus, stiff, S, {}),
]


@pytest.mark.parametrize("name, plant, fun, x, options", PLANTED, ids=[p[0] for p in PLANTED])
def test_planted_bug_is_caught(name, plant, fun, x, options, monkeypatch, tmp_path):
    # Private disk caches: the broken kernel must not be loaded from the clean run's cache
    # (same key), nor be left for other tests.
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path / "clean"))
    assert symhess.check(fun, x, **options).ok          # the pipeline is right before the bug
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path / "planted"))
    plant(monkeypatch)
    with pytest.raises(symhess.CheckError) as info:
        symhess.check(fun, x, **options)
    report = info.value.report
    assert not report.ok or "traced expressions" in str(info.value)
    if not report.ok:
        assert f"entry {report.worst.index}" in str(info.value)


def test_wrong_rule_is_caught_by_the_hessian_alone(monkeypatch, tmp_path):
    """Without the traced-value check (``hessian=`` given), the Hessian comparison catches it."""
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path))
    _sin_traces_as_cos(monkeypatch)
    with pytest.raises(symhess.CheckError) as info:
        symhess.check(poly, P, hessian=symhess.hessian(poly))
    assert info.value.report.worst.index in {(0, 0), (0, 2), (2, 0), (2, 2)}


def test_log1p_bug_is_caught_by_the_hessian_alone(monkeypatch, tmp_path):
    """The small entry 2 log1p(1e-12), off by 9e-5 relative, beside entries of 1e6."""
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path))
    _log1p_as_log_of_one_plus(monkeypatch)
    with pytest.raises(symhess.CheckError) as info:
        symhess.check(stiff, S, hessian=symhess.hessian(stiff))
    assert info.value.report.worst.index == (1, 1)


def test_power_of_zero_has_zero_derivatives_in_both_paths():
    """np.power(0.0, y) is 0 for y > 0: its Hessian is 0 (as JAX gives), in neither path NaN."""
    f = lambda y: np.sum(np.power(np.zeros(3), y) * y) + np.power(0.0, y[0]) ** 2
    y = np.array([0.0996, 1.5, 2.0])
    np.testing.assert_array_equal(autodiff.hessian(f)(y), np.zeros((3, 3)))
    assert symhess.check(f, y).ok


def test_hessian_check_option_passes_a_right_kernel_and_stops_a_wrong_one(monkeypatch, tmp_path):
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path / "clean"))
    H = symhess.hessian(poly, check=True)
    x = np.asarray(P, dtype=float)
    reference = autodiff.hessian(poly)(x)
    np.testing.assert_allclose(H(x), reference, rtol=1e-12, atol=1e-12)
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path / "planted"))
    _sin_traces_as_cos(monkeypatch)
    with pytest.raises(symhess.CheckError, match="entry"):
        symhess.hessian(poly, check=True)(x)


def test_hessian_check_option_is_for_dense_unbatched_hessians():
    with pytest.raises(ValueError, match="symhess.check"):
        symhess.hessian(poly, check=True, batch_axis=0)
    with pytest.raises(ValueError, match="symhess.check"):
        symhess.hessian(poly, check=True, sparse=True)
