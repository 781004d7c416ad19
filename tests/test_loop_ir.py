"""Loop programs compiled to LLVM IR (`codegen.loop_ir`), the array tier's native kernels.

A loop program is Python: the reference for each case is the same program run by CPython with
NumPy and `math`, an interpreter that shares nothing with the compiler. Each case is compiled
by `codegen.native.program_module` and called through its CPython entry.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from symhess.codegen.jit import abi_ok
from symhess.codegen.native import program_module
from symhess.codegen.printer import CodegenError

pytestmark = pytest.mark.skipif(not abi_ok(), reason="the native target needs a default CPython")

RNG = np.random.default_rng(11)


def _compile(program: str, inputs: list, dtype="float64", out_shape=None, work=10):
    """The native kernel of ``program`` (its inputs: arrays like those of ``inputs``)."""
    args = [(a.dtype.name, a.shape, False, f"a{k}", False) for k, a in enumerate(inputs)]
    source = program_module(program, args, dtype, out_shape, work, "# a test kernel\n")
    namespace = {}
    exec(compile(source, "<kernel>", "exec"), namespace)
    return namespace["kernel"]


def _reference(program: str, inputs: list):
    namespace = {"np": np, "math": math}
    exec(program, namespace)
    with np.errstate(all="ignore"):
        return namespace["kernel"](*[a.copy() for a in inputs])


X = RNG.standard_normal((5, 3))
V = RNG.standard_normal(3)
POSITIVE = RNG.uniform(0.5, 2.0, 4)
INDEX = np.array([2, 0, 1, 2, 2], dtype=np.int64)
MASK = np.array([True, False, True, True, False])
SPECIAL = np.array([1.5, -2.0, 0.0, -0.0, np.nan, np.inf, -np.inf])

def _inverse_and_determinant(n: int) -> str:
    """A program returning ``inv(A)`` and ``slogdet(A)`` of its n x n input, one after the other."""
    size = n * n
    return f"""
        def kernel(in0):
            t1 = np.linalg.inv(in0)
            s, l = np.linalg.slogdet(in0)
            out = np.empty({size + 2}, dtype=np.float64)
            out[0:{size}] = t1.reshape(-1)
            out[{size}] = s
            out[{size + 1}] = l
            return out.reshape(({size + 2},))
        """


CASES = {
    "elementwise functions": ("""
        def kernel(in0):
            t1 = np.empty((4,), dtype=np.float64)
            for i in range(4):
                t1[i] = math.exp(in0[i]) + math.log(in0[i]) * math.tanh(in0[i]) \\
                    - math.sqrt(in0[i]) / math.log1p(in0[i]) + math.expm1(in0[i]) ** 3 \\
                    + math.sin(in0[i]) * math.cos(in0[i]) + math.atan2(in0[i], 2.0) \\
                    + in0[i] ** -2 + in0[i] ** 0.5 + math.asinh(in0[i]) + math.atan(in0[i])
            return t1.reshape((4,))
        """, [POSITIVE]),
    "a contraction with sums in registers": ("""
        def kernel(in0, in1):
            t1 = np.zeros((5,), dtype=np.float64)
            for i in range(5):
                for j in range(3):
                    t1[i] += in0[i, j] * in1[j]
            t2 = np.zeros((3, 3), dtype=np.float64)
            for r in range(5):
                for a in range(3):
                    for b in range(a, 3):
                        t2[a, b] += in0[r, a] * in0[r, b] * math.exp(t1[r])
            for p in range(3):
                for q in range(p):
                    t2[p, q] = t2[q, p]
            return t2.reshape((3, 3))
        """, [X, V]),
    "a sum that reads its own element is not kept in a register": ("""
        def kernel(in0):
            t1 = np.zeros((3,), dtype=np.float64)
            for i in range(3):
                t1[i] = in0[i]
                for j in range(4):
                    t1[i] += t1[i] * 0.5
            return t1.reshape((3,))
        """, [V]),
    "an unrolled reduction and a remainder": ("""
        def kernel(in0):
            t1 = np.zeros((3,), dtype=np.float64)
            for r in range(0, 4, 4):
                for a in range(3):
                    t1[a] += (in0[r, a]) + (in0[r + 1, a]) + (in0[r + 2, a]) + (in0[r + 3, a])
            for r in range(4, 5):
                for a in range(3):
                    t1[a] += in0[r, a]
            return t1.reshape((3,))
        """, [X]),
    "guarded reads never leave their array": ("""
        def kernel(in0):
            t1 = np.empty((9,), dtype=np.float64)
            for i in range(9):
                t1[i] = (in0[i - 3] if 0 <= i - 3 < 3 else 0.0) + (1.0 if i == 4 else 0.0)
            return t1.reshape((9,))
        """, [V]),
    "integer and boolean arrays": ("""
        def kernel(in0, in1, in2):
            t1 = np.zeros((3,), dtype=np.float64)
            for i in range(5):
                t1[in1[i]] += in0[i, in1[i]] if in2[i] else -in0[i, 0]
            t2 = np.empty((5,), dtype=np.int64)
            for i in range(5):
                t2[i] = abs(in1[i] - 2) * 3 + (in1[i] ** 2)
            t3 = np.empty((5,), dtype=np.bool_)
            for i in range(5):
                t3[i] = (not in2[i]) or in1[i] > 1
            out = np.empty(13, dtype=np.float64)
            out[0:3] = t1.reshape(-1)
            out[3:8] = t2.reshape(-1)
            out[8:13] = t3.reshape(-1)
            return out.reshape((13,))
        """, [X, INDEX, MASK]),
    "NumPy's maximum, minimum, sign and comparisons at NaN and infinities": ("""
        def kernel(in0):
            t1 = np.empty((7, 7), dtype=np.float64)
            for i in range(7):
                for j in range(7):
                    t1[i, j] = np.maximum(in0[i], in0[j]) + 2.0 * np.minimum(in0[i], in0[j]) \\
                        + 4.0 * np.sign(in0[i]) + 8.0 * (in0[i] < in0[j]) \\
                        + 16.0 * (in0[i] != in0[j]) + 32.0 * abs(in0[j]) \\
                        + 64.0 * np.floor(in0[i] + 0.5) + 128.0 * np.ceil(in0[j] - 0.5)
            return t1.reshape((7, 7))
        """, [SPECIAL]),
    "a maximum reduction and a reshaped view": ("""
        def kernel(in0):
            t1 = np.empty((1,), dtype=np.float64)
            t1[:] = -np.inf
            for i in range(15):
                t1[0] = np.maximum(t1[0], in0.flat[i])
            t2 = np.empty((15,), dtype=np.float64)
            for i in range(15):
                t2[i] = in0.flat[i] - t1[0]
            t3 = t2.reshape((3, 5))
            t4 = np.empty((5, 3), dtype=np.float64)
            for i in range(5):
                for j in range(3):
                    t4[i, j] = t3[j, i]
            return t4.reshape((5, 3))
        """, [X]),
    "a matrix product by BLAS": ("""
        def kernel(in0, in1):
            m1 = np.empty((5, 3), dtype=np.float64)
            for i in range(5):
                for j in range(3):
                    m1[i, j] = in0[i, j] * in1[i]
            t1 = np.dot(m1.T, in0)
            return t1.reshape((3, 3))
        """, [X, RNG.standard_normal(5)]),
    "matrix products of transposed operands by BLAS": ("""
        def kernel(in0, in1):
            t1 = np.dot(in0, in1)
            t2 = np.dot(in0.T, in0)
            t3 = np.dot(in1, in0.T)
            t4 = np.dot(in1.T, in1.T)
            out = np.empty(48, dtype=np.float64)
            out[0:15] = t1.reshape(-1)
            out[15:24] = t2.reshape(-1)
            out[24:39] = t3.reshape(-1)
            out[39:48] = t4.reshape(-1)
            return out.reshape((48,))
        """, [X, RNG.standard_normal((3, 3))]),
    "an inverse and a log-determinant by LAPACK": (_inverse_and_determinant(4),
                                                    [RNG.standard_normal((4, 4))]),
    "parts of the result made in place, read after they are made": ("""
        def kernel(in0, in1):
            t1 = np.zeros((3,), dtype=np.float64)
            for i in range(5):
                h1 = in0[i, 0] * in1[0]
                for j in range(3):
                    t1[j] += h1 * in0[i, j] * in1[j]
            t2 = np.zeros((1,), dtype=np.float64)
            for j in range(3):
                t2[0] += math.log(1.0 + t1[j] * t1[j])
            t3 = np.empty((3,), dtype=np.float64)
            for j in range(3):
                t3[j] = t1[j] * t2[0]
            out = np.empty(8, dtype=np.float64)
            out[0:1] = t2.reshape(-1)
            out[1:4] = t1.reshape(-1)
            out[4:7] = t3.reshape(-1)
            out[7:8] = t2.reshape(-1)
            return out.reshape((8,))
        """, [X, V]),
    "an array written after a copy of it keeps the copy as it was": ("""
        def kernel(in0):
            t1 = np.empty((3,), dtype=np.float64)
            for j in range(3):
                t1[j] = in0[j] * 2.0
            out = np.empty(6, dtype=np.float64)
            out[0:3] = t1.reshape(-1)
            for j in range(3):
                t1[j] = t1[j] + 1.0
            out[3:6] = t1.reshape(-1)
            return out.reshape((6,))
        """, [V]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_program_computes_what_python_does(name):
    program, inputs = CASES[name]
    program = textwrap.dedent(program).strip() + "\n"
    want = np.asarray(_reference(program, inputs), dtype=np.float64)
    kernel = _compile(program, inputs, out_shape=want.shape)
    got = kernel(*inputs)
    assert got.shape == want.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def test_parts_of_a_result_are_written_in_place():
    """Arrays copied whole into the result live in it (no copy loop), and a second copy of
    one (``out[7:8]`` above) is still copied."""
    from symhess.codegen.loop_ir import LoopProgram
    program = textwrap.dedent(CASES["parts of the result made in place, read after they are "
                                    "made"][0]).strip() + "\n"
    compiled = LoopProgram(program, [("float64", X.shape), ("float64", V.shape)],
                           ("float64", 8), "@kernel", "@blas")
    ir = compiled.ir()
    assert "%out.at0 = getelementptr" in ir and "%out.at1 = getelementptr" in ir
    assert "%out.at4 = getelementptr" in ir and len(compiled.buffers) == 0


def test_a_float32_program_rounds_what_it_stores():
    program = textwrap.dedent("""
        def kernel(in0):
            t1 = np.zeros((3, 3), dtype=np.float32)
            for r in range(5):
                for a in range(3):
                    for b in range(3):
                        t1[a, b] += in0[r, a] * in0[r, b]
            m1 = np.empty((5, 3), dtype=np.float32)
            for r in range(5):
                for a in range(3):
                    m1[r, a] = in0[r, a] * 2.0
            t2 = np.dot(m1.T, in0)
            out = np.empty(18, dtype=np.float32)
            out[0:9] = t1.reshape(-1)
            out[9:18] = t2.reshape(-1)
            return out.reshape((2, 3, 3))
        """)
    x = X.astype(np.float32)
    kernel = _compile(program, [x], dtype="float32", out_shape=(2, 3, 3))
    got = kernel(x)
    assert got.dtype == np.float32
    gram = x.astype(np.float64).T @ x.astype(np.float64)
    np.testing.assert_allclose(got, np.stack([gram, 2 * gram]), rtol=1e-6)


def test_lapack_on_a_singular_matrix_gives_nans_and_a_zero_sign():
    program = textwrap.dedent(_inverse_and_determinant(3))
    singular = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    got = _compile(program, [singular], out_shape=(11,))(singular)
    assert np.all(np.isnan(got[:9]))
    assert tuple(got[9:]) == tuple(np.linalg.slogdet(singular)) == (0.0, -np.inf)


def test_a_symmetric_eigensolver_by_lapack():
    program = textwrap.dedent("""
        def kernel(in0):
            w, v = np.linalg.eigh(in0)
            out = np.empty(20, dtype=np.float64)
            out[0:4] = w.reshape(-1)
            out[4:20] = v.reshape(-1)
            return out.reshape((20,))
        """)
    B = RNG.standard_normal((4, 4))
    A = B + B.T
    kernel = _compile(program, [A], out_shape=(20,))
    got = kernel(A)
    w, V = got[:4], got[4:].reshape(4, 4)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(A), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(A @ V, V * w, atol=1e-12)
    np.testing.assert_allclose(V.T @ V, np.eye(4), atol=1e-13)
    A[1, 2] = A[2, 1] = np.nan
    assert np.all(np.isnan(kernel(A)))


def test_a_runtime_index_out_of_bounds_raises_the_programs_error():
    program = textwrap.dedent("""
        def kernel(in0, in1):
            ix = np.empty((3,), dtype=np.int64)
            for i0 in range(3):
                v = in1[i0]
                if v < -4 or v >= 4:
                    raise IndexError('symhess kernel: an index in argument "it\\'s" is out of bounds')
                ix[i0] = v + 4 if v < 0 else v
            t1 = np.empty((3,), dtype=np.float64)
            for i in range(3):
                t1[i] = in0[ix[i]]
            return t1.reshape((3,))
        """)
    x = np.arange(4.0)
    kernel = _compile(program, [x, np.array([0, -1, 3])], out_shape=(3,), work=10_000)
    np.testing.assert_array_equal(kernel(x, np.array([0, -1, 3])), [0.0, 3.0, 3.0])
    with pytest.raises(IndexError, match="an index in argument \"it's\" is out of bounds"):
        kernel(x, np.array([0, 4, 1]))
    np.testing.assert_array_equal(kernel(x, np.array([-4, 2, 1])), [0.0, 2.0, 1.0])


@pytest.mark.parametrize("statement", [
    "t1[0] = in0[0] // 2.0",
    "t1[0] = math.gamma(in0[0])",
    "t1[0] = undefined",
    "while True:\n        pass",
    "t1[0] -= in0[0]",
    "in0 = t1",
    "t2 = t1.reshape((2,))",
    "t2 = np.zeros((3,), dtype=np.int32)",
])
def test_what_the_compiler_has_no_rule_for_is_refused(statement):
    program = ("def kernel(in0):\n    t1 = np.zeros((1,), dtype=np.float64)\n"
               f"    {statement}\n    return t1.reshape((1,))\n")
    with pytest.raises(CodegenError, match="loop program"):
        _compile(program, [V], out_shape=(1,))
