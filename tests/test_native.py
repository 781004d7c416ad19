"""The native CPU target (`codegen.native`, `codegen.jit`): a kernel's own IR compiled by
llvmlite and called as a CPython function.

Every call is checked against a closed form: the fast path (exact C-contiguous arrays of the
input's dtype) and the conversion path (lists, other dtypes, strides, byte orders, 0-d arrays),
the errors, threads, large scratch on the heap, and the object code kept in the disk cache.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import symengine as se

import symhess
from symhess.codegen import KernelInput, KernelSpec, emit_native
from symhess.codegen.jit import abi_ok

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not abi_ok(), reason="the native target needs a default CPython")

x, y, c = se.symbols("x y c")


def _load(source, name="kernel"):
    namespace = {}
    exec(compile(source, "<kernel>", "exec"), namespace)
    return namespace[name]


def rosenbrock_kernel(dtype="float64", in_dtype="float64"):
    """The Hessian of c (y - x^2)^2 + (1 - x)^2 over an input of shape (2,) and a scalar c."""
    f = c * (y - x ** 2) ** 2 + (1 - x) ** 2
    h = [[f.diff(a).diff(b) for b in (x, y)] for a in (x, y)]
    spec = KernelSpec([KernelInput((2,), in_dtype, label="p['x']"), KernelInput((), scalar=True)],
                      {x: (0, (0,)), y: (0, (1,)), c: (1, ())}, [],
                      [(h[0][0], (0,)), (h[0][1], (1, 2)), (h[1][1], (3,))], 4, (2, 2),
                      dtype=dtype)
    return _load(emit_native(spec))


def rosenbrock_hessian(p, k):
    a, b = float(p[0]), float(p[1])
    return np.array([[2 - 4 * k * (b - a * a) + 8 * k * a * a, -4 * k * a], [-4 * k * a, 2 * k]])


def test_fast_path_returns_a_fresh_array():
    kernel = rosenbrock_kernel()
    p = np.array([0.3, -1.2])
    first, second = kernel(p, 100.0), kernel(p, 100.0)
    np.testing.assert_allclose(first, rosenbrock_hessian(p, 100.0), rtol=1e-15)
    assert first is not second and first.flags.c_contiguous and first.flags.owndata
    assert first.dtype == np.float64 and first.shape == (2, 2)


@pytest.mark.parametrize("make", [
    lambda p: list(p),                                      # a list
    lambda p: tuple(p),
    lambda p: np.array([p[0], 7.0, p[1]])[::2],             # strided
    lambda p: p.astype(">f8"),                              # big-endian
    lambda p: p.astype(np.float32),                         # another float dtype
    lambda p: np.frombuffer(b"\0" + p.tobytes(), dtype=np.float64, offset=1),   # misaligned
    lambda p: np.asarray(p).view(np.ndarray).copy(),
])
def test_other_array_likes_are_converted(make):
    kernel = rosenbrock_kernel()
    p = np.array([0.75, 0.5])
    arg = make(p)
    want = rosenbrock_hessian(np.asarray(arg, dtype=np.float64), 3.0)
    np.testing.assert_allclose(kernel(arg, 3.0), want, rtol=1e-6 if "32" in str(
        getattr(arg, "dtype", "")) else 1e-15)


@pytest.mark.parametrize("k", [3, np.float64(3.0), np.float32(3.0), np.int64(3), np.array(3.0)])
def test_scalar_inputs_take_any_real_number(k):
    kernel = rosenbrock_kernel()
    p = np.array([0.75, 0.5])
    np.testing.assert_allclose(kernel(p, k), rosenbrock_hessian(p, 3.0), rtol=1e-15)


def test_integer_and_float32_kernels():
    p = np.array([2, -1], dtype=np.int64)
    got = rosenbrock_kernel("float64", "int64")(p, 2.0)
    np.testing.assert_allclose(got, rosenbrock_hessian(p, 2.0), rtol=1e-15)
    got = rosenbrock_kernel("float32", "float32")(p.astype(np.float32), 2.0)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, rosenbrock_hessian(p, 2.0), rtol=1e-6)


def test_bad_arguments_are_named():
    kernel = rosenbrock_kernel()
    with pytest.raises(ValueError, match=r"input 0 \(p.x\) has the wrong shape; it takes \(2,\)"):
        kernel(np.zeros(3), 1.0)
    with pytest.raises(TypeError, match=r"input 0 \(p.x\) is float64 .* got <U"):
        kernel(np.array(["a", "b"]), 1.0)
    with pytest.raises(TypeError, match="input 0 .* got complex128"):
        kernel(np.zeros(2, dtype=complex), 1.0)
    with pytest.raises(TypeError, match="input 1 is a number; got str"):
        kernel(np.zeros(2), "1.0")
    with pytest.raises(TypeError, match="takes 2 arguments; got 1"):
        kernel(np.zeros(2))
    with pytest.raises(TypeError):
        kernel(np.zeros(2), 1.0, x=1)


def test_no_reference_leaks():
    kernel = rosenbrock_kernel()
    p, q = np.array([0.3, -1.2]), [0.3, -1.2]
    for _ in range(10):
        kernel(p, 2.0), kernel(q, 2.0)
    before = sys.getrefcount(p), sys.getrefcount(q)
    for _ in range(10_000):
        kernel(p, 2.0), kernel(q, 2.0)
    gc.collect()
    assert (sys.getrefcount(p), sys.getrefcount(q)) == before


def chain_spec(n):
    """t_k = sin(t_{k-1}) + x t_{k-1} y for k < n, from t_0 = x; output t_{n-1} and x y."""
    t = se.symbols(f"t0:{n}")
    assignments = [(t[0], x)] + [(t[k], se.sin(t[k - 1]) + x * t[k - 1] * y) for k in range(1, n)]
    return KernelSpec([KernelInput((2,))], {x: (0, (0,)), y: (0, (1,))}, assignments,
                      [(t[-1], (0,)), (x * y, (1,))], 2, (2,))


def chain_value(a, b, n):
    t = a
    for _ in range(1, n):
        t = np.sin(t) + a * t * b
    return np.array([t, a * b])


def test_large_scratch_on_the_heap_and_threads_without_the_gil():
    """Split into functions of one statement, every temporary crosses into scratch (20,000
    doubles: on the heap) and the body is long enough to run with the GIL released; threads
    calling it at once each get their own scratch."""
    from symhess.codegen import entry, native
    n = 20_000
    source = emit_native(chain_spec(n), chunk=1)
    assert "%scratch.raw" in source and "%scratch.a = alloca" not in source     # on the heap
    assert n > entry.STACK_SCRATCH and n > native.RELEASE_GIL
    kernel = _load(source)
    points = [np.array([0.1 * k, 0.01 * k]) for k in range(8)]
    wants = [chain_value(p[0], p[1], n) for p in points]
    errors = []

    def work(k):
        for _ in range(20):
            got = kernel(points[k])
            if not np.allclose(got, wants[k], rtol=1e-12):
                errors.append((k, got))
    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_object_code_is_kept_and_loaded_without_compiling(tmp_path):
    """A second process loads the object code of the first from the cache; it compiles
    nothing (its llvmlite compile is replaced by a failure), and the result is the same."""
    code = textwrap.dedent('''
        import sys
        import numpy as np
        import symhess
        from symhess.codegen import jit
        hessian = symhess.hessian               # loads the compiler, which prepares llvmlite
        if sys.argv[1] == "warm":
            def refuse(ir_text):
                raise AssertionError("compiled again")
            jit._compile = refuse
        f = lambda x: np.sum(np.cos(x) * x ** 3) + x[0] * x[1]
        np.save(sys.stdout.buffer, hessian(f)(np.array([0.3, 1.1, -0.4])))
    ''')

    def run(mode):
        env = dict(os.environ, SYMHESS_CACHE_DIR=str(tmp_path / "cache"),
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        proc = subprocess.run([sys.executable, "-c", code, mode], cwd=str(ROOT), env=env,
                              capture_output=True, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()
        import io
        return np.load(io.BytesIO(proc.stdout))

    cold = run("cold")
    objects = list((tmp_path / "cache" / "__pycache__").glob("k*.o"))
    assert len(objects) == 1 and objects[0].read_bytes().startswith(b"symhess-object-1\n")
    warm = run("warm")
    np.testing.assert_array_equal(warm, cold)
    x = np.array([0.3, 1.1, -0.4])
    want = np.diag(-6 * x ** 2 * np.sin(x) + (6 * x - x ** 3) * np.cos(x))
    want[0, 1] = want[1, 0] = 1.0
    np.testing.assert_allclose(cold, want, rtol=1e-13)


def test_through_the_api_the_kernel_is_native_and_agrees_with_numba(monkeypatch):
    """The same function compiled natively and, with SYMHESS_NATIVE=0, by Numba: equal
    Hessians, element loops included (a chain of 300 terms is an element template)."""
    def f(x):
        return np.sum((x[1:] - x[:-1] ** 2) ** 2) + np.sum(np.exp(0.1 * x)) + x[0] * x[-1]
    x = np.linspace(-1, 1, 301)
    native = symhess.hessian(f).compile(x)
    assert "native_kernel" in native.source and native.templates
    monkeypatch.setenv("SYMHESS_NATIVE", "0")
    numba = symhess.hessian(f).compile(x)
    assert "@numba.njit" in numba.source
    np.testing.assert_allclose(native(x), numba(x), rtol=1e-14, atol=1e-14)


def test_small_kernels_compile_quickly_and_compute_the_same(monkeypatch):
    """A straight-line kernel of at most QUICK_STATEMENTS statements is compiled at speed
    level 0 (LLVM's fast code generator); a larger one at full speed. Both agree with Numba's
    kernel and with the closed form."""
    from symhess.codegen.native import QUICK_STATEMENTS

    def small(x):
        return x[0] ** 2 * x[1] + np.sin(x[1]) * x[2]

    def large(F):
        return neohookean(F) + np.sum(np.cos(F @ F))
    x, F = np.array([0.3, -1.2, 2.0]), np.eye(3) + 0.1 * np.arange(9.0).reshape(3, 3)
    quick, full = symhess.hessian(small).compile(x), symhess.hessian(large).compile(F)
    assert len(quick.kernel_spec().statements()) <= QUICK_STATEMENTS
    assert len(full.kernel_spec().statements()) > QUICK_STATEMENTS
    assert "level=0" in quick.source and "level=0" not in full.source
    want = np.array([[2 * x[1], 2 * x[0], 0.0],
                     [2 * x[0], -np.sin(x[1]) * x[2], np.cos(x[1])],
                     [0.0, np.cos(x[1]), 0.0]])
    np.testing.assert_allclose(quick(x), want, rtol=1e-15, atol=1e-15)
    monkeypatch.setenv("SYMHESS_NATIVE", "0")
    np.testing.assert_allclose(full(F), symhess.hessian(large).compile(F)(F), rtol=1e-14,
                               atol=1e-14)


@pytest.mark.parametrize("n", [3, 20], ids=["copied", "views"])
def test_a_kernel_of_several_parts_returns_them_itself(n, monkeypatch):
    """value_grad_hessian's native kernel builds ``(value, gradient, Hessian)`` itself: a
    NumPy scalar and two arrays, each its own when the parts are small
    (`codegen.entry.COPIED_PARTS`), else viewing one buffer, as the Python split of Numba's
    flat output gives (no reference left behind, the same numbers), in both tiers."""
    from symhess.codegen.entry import COPIED_PARTS

    def f(x, A):
        return np.sum(np.exp(A @ x)) + x[0] ** 3 * x[1]
    x = np.linspace(-0.2, 0.5, n)
    A = np.linspace(-1, 1, n * 70).reshape(70, n) / n
    values = 1 + n + n * n
    assert (values <= COPIED_PARTS) == (n == 3)
    native = {}
    for tier in ("scalar", "array"):
        c = symhess.value_grad_hessian(f, tier=tier).compile(x, A)
        native[tier] = c(x, A)
        assert "RETURNS_PARTS" in c.source
        value, g, H = c(x, A)
        assert type(value) is np.float64 and g.shape == (n,) and H.shape == (n, n)
        assert g.flags.writeable and g.flags.c_contiguous and H.flags.writeable
        if n == 3:
            assert g.base is None and H.base is None
            assert sys.getrefcount(g) == sys.getrefcount(H) == 2     # the name, the argument
        else:
            assert g.base is H.base and g.base.shape == (values,)
            assert sys.getrefcount(g.base) == 4      # g, H, the argument, the name below
            base = g.base
            del g, H
            assert sys.getrefcount(base) == 2
        e = np.exp(A @ x)
        want_g = A.T @ e
        want_g[:2] += [3 * x[0] ** 2 * x[1], x[0] ** 3]
        want_H = A.T @ (e[:, None] * A)
        want_H[:2, :2] += [[6 * x[0] * x[1], 3 * x[0] ** 2], [3 * x[0] ** 2, 0.0]]
        value, g, H = c.fast_callable()(x, A)
        np.testing.assert_allclose(value, f(x, A), rtol=1e-14)
        np.testing.assert_allclose(g, want_g, rtol=1e-13)
        np.testing.assert_allclose(H, want_H, rtol=1e-13)
    monkeypatch.setenv("SYMHESS_NATIVE", "0")
    split = symhess.value_grad_hessian(f, tier="scalar").compile(x, A)
    assert "RETURNS_PARTS" not in split.source
    for got, want in zip(split(x, A), native["scalar"]):
        np.testing.assert_allclose(got, want, rtol=1e-14)


def neohookean(F):
    J = np.linalg.det(F)
    return 0.5 * (np.sum(F * F) - 3) - np.log(J) + np.log(J) ** 2


def test_batched_kernels_run_every_point_natively(monkeypatch):
    """One Hessian per point, on all threads, from the point function of a native kernel;
    equal to the Numba target's (SYMHESS_NATIVE=0) and to central differences of the
    gradient's closed form."""
    rng = np.random.default_rng(3)
    F = np.eye(3) + 0.1 * rng.normal(size=(1000, 3, 3))
    H = symhess.hessian(neohookean, batch_axis=0)
    c = H.compile(F)
    assert "native_points" in c.source
    got = c(F)
    assert got.shape == (1000, 3, 3, 3, 3)
    into = np.empty_like(got)
    assert c.into(into, F) is into
    np.testing.assert_array_equal(into, got)
    monkeypatch.setenv("SYMHESS_NATIVE", "0")
    numba = symhess.hessian(neohookean, batch_axis=0).compile(F)
    assert "prange" in numba.source
    np.testing.assert_allclose(got, numba(F), rtol=1e-13, atol=1e-13)
    # one point against central differences of the gradient's closed form
    point, h = F[7], 1e-6

    def grad(A):            # F - F^-T + 2 log(det F) F^-T
        Ai = np.linalg.inv(A)
        return A - Ai.T + 2 * np.log(np.linalg.det(A)) * Ai.T
    fd = np.empty((3, 3, 3, 3))
    for i in range(3):
        for j in range(3):
            e = np.zeros((3, 3))
            e[i, j] = h
            fd[:, :, i, j] = (grad(point + e) - grad(point - e)) / (2 * h)
    np.testing.assert_allclose(got[7], fd, rtol=1e-6, atol=1e-7)


def test_batched_inputs_are_checked_and_converted():
    def f(x, w):
        return w[0] * x[0] ** 2 * x[1] + np.exp(x[1])
    H = symhess.hessian(f, batch_axis=0, in_axes=(0, None))
    x, w = np.array([[0.5, -1.0], [2.0, 0.25], [-3.0, 1.5]]), np.array([1.5])
    want = np.stack([[[2 * 1.5 * b, 2 * 1.5 * a], [2 * 1.5 * a, np.exp(b)]] for a, b in x])
    np.testing.assert_allclose(H(x, w), want, rtol=1e-14)
    np.testing.assert_allclose(H(np.asfortranarray(x), w), want, rtol=1e-14)
    assert H(x[:0], w).shape == (0, 2, 2)                                    # no points
    c = H.compile(x, w)
    np.testing.assert_allclose(c.kernel(x.tolist(), w.astype(np.float32)).reshape(3, 2, 2),
                               want, rtol=1e-14)         # the kernel converts what it is given
    with pytest.raises(ValueError, match="wrong shape; it takes \\(2,\\) per point"):
        c.kernel(np.zeros((3, 3)), w)
    with pytest.raises(ValueError, match="out must be"):
        c.into(np.empty((3, 2, 2), dtype=np.float32), x, w)


FORKED = textwrap.dedent('''
    import multiprocessing
    import numpy as np
    import symhess

    def neohookean(F):
        J = np.linalg.det(F)
        return 0.5 * (np.sum(F * F) - 3) - np.log(J) + np.log(J) ** 2

    def child(queue):
        F = np.eye(3) + np.zeros((30_000, 3, 3))
        queue.put(symhess.hessian(neohookean, batch_axis=0)(F)[-1])

    if __name__ == "__main__":
        F = np.eye(3) + np.zeros((30_000, 3, 3))
        parent = symhess.hessian(neohookean, batch_axis=0)(F)
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        process = context.Process(target=child, args=(queue,))
        process.start()
        got = queue.get(timeout=120)
        process.join(timeout=60)
        assert process.exitcode == 0
        np.save("out.npy", np.stack([parent[-1], got]))
''')


@pytest.mark.skipif(sys.platform != "linux", reason="fork")
def test_a_forked_process_runs_large_batches(tmp_path):
    """A batch large enough to run on threads, in a process forked after the parent's threads
    ran one: the child makes its own threads (the parent's are not in it) and returns. In a
    fresh interpreter, whose only threads are symhess's."""
    script = tmp_path / "forked.py"
    script.write_text(FORKED)
    env = dict(os.environ, SYMHESS_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=env,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    parent, got = np.load(tmp_path / "out.npy")
    np.testing.assert_allclose(got, parent, rtol=1e-15)
    # at F = I (log J = 0): d/dF of F - F^-T + 2 log(J) F^-T is
    # delta_ik delta_jl + delta_il delta_jk + 2 delta_ij delta_kl
    e = np.eye(3)
    want = np.einsum("ik,jl->ijkl", e, e) + np.einsum("il,jk->ijkl", e, e) \
        + 2 * np.einsum("ij,kl->ijkl", e, e)
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)


NUMBA_FREE = """
import sys
import numpy as np
import symhess

x = np.array([1.0, 2.0, 3.0])
h = symhess.hessian(lambda x: np.sum(x ** 4) + x[0] * x[1])(x)
X = np.linspace(-1, 1, 300).reshape(100, 3)
y = np.where(np.arange(100) % 2, 1.0, -1.0)
g = symhess.hessian(lambda w, X, y: np.sum(np.log1p(np.exp(-y * (X @ w)))), tier="array")(x / 10, X, y)
np.save("out.npy", np.concatenate([h.ravel(), g.ravel()]))
from symhess.codegen import drivers
print("numba" in sys.modules, drivers._threads())
"""


def test_real_kernels_compile_and_run_without_loading_numba(tmp_path):
    """A fresh interpreter compiles a scalar-tier and an array-tier Hessian natively and never
    imports Numba; threads follow ``NUMBA_NUM_THREADS`` without it."""
    script = tmp_path / "numba_free.py"
    script.write_text(NUMBA_FREE)
    env = dict(os.environ, SYMHESS_CACHE_DIR=str(tmp_path / "cache"), NUMBA_NUM_THREADS="3",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=env,
                          capture_output=True, timeout=300, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "3"]
    got = np.load(tmp_path / "out.npy")
    x = np.array([1.0, 2.0, 3.0])
    h = np.diag(12 * x ** 2)
    h[0, 1] = h[1, 0] = 1.0
    X = np.linspace(-1, 1, 300).reshape(100, 3)
    y = np.where(np.arange(100) % 2, 1.0, -1.0)
    s = 1 / (1 + np.exp(-y * (X @ (x / 10))))     # sigma(y z); the weight s (1 - s) y^2, y^2 = 1
    g = (X.T * (s * (1 - s))) @ X
    np.testing.assert_allclose(got, np.concatenate([h.ravel(), g.ravel()]), rtol=1e-12)
