"""Element templates: sums of many terms of one shape compiled as a loop over an index table.

Each shape the path is for (Rosenbrock, vectorized Lennard-Jones, logistic regression with data
rows as runtime arguments, a finite-element energy over a connectivity array) must take it, and
every result is compared with an independent reference: a closed form, JAX, or the autodiff
(`symhess.autodiff`). Some are also compared with the unrolled kernel (``templates=False``),
which derives each entry on its own: an extra check, never the only one.
"""

import ast
from pathlib import Path

import numpy as np
import pytest

import symhess
from conftest import TOLERANCES, rosenbrock_hessian
from symhess import autodiff
from symhess.lazy import LAZY_MIN
from symhess.trace import symbols


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def lj_energy(X):
    i, j = np.triu_indices(X.shape[0], 1)
    d = X[i] - X[j]
    r2 = np.sum(d * d, axis=1)
    return np.sum(4 * (r2 ** -6 - r2 ** -3))


def cluster(n, seed=0):
    side = int(np.ceil(n ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    return 1.12 * grid[:n] + 0.05 * np.random.default_rng(seed).standard_normal((n, 3))


def logistic_nll(w, X, y):
    return np.sum(np.log(1 + np.exp(-y * (X @ w))))


def logistic_hessian(w, X, y):
    """The closed form: sum over rows of s (1 - s) y^2 x x^T, s = sigmoid(y x.w)."""
    s = 1 / (1 + np.exp(-y * (X @ w)))
    return (X * (s * (1 - s) * y ** 2)[:, None]).T @ X


def regression_data(m, d, seed):
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal(d), rng.standard_normal((m, d)),
            np.where(rng.random(m) < 0.5, -1.0, 1.0))


def triangle_mesh(nx, ny):
    """Nodes of an nx-by-ny grid of unit squares, each cut into two triangles."""
    X0 = np.stack(np.meshgrid(np.arange(nx + 1.0), np.arange(ny + 1.0), indexing="ij"), -1).reshape(-1, 2)
    node = np.arange((nx + 1) * (ny + 1)).reshape(nx + 1, ny + 1)
    cells = []
    for i in range(nx):
        for j in range(ny):
            a, b, c, d = node[i, j], node[i + 1, j], node[i, j + 1], node[i + 1, j + 1]
            cells += [(a, b, d), (a, d, c)]
    return X0, np.array(cells)


def fe_energy(conn, xp=np):
    """A plane neo-Hookean energy summed over triangles; reference coordinates are data."""
    a, b, c = conn[:, 0], conn[:, 1], conn[:, 2]

    def energy(x, X0):
        d1, d2 = x[b] - x[a], x[c] - x[a]
        e1, e2 = X0[b] - X0[a], X0[c] - X0[a]
        det_m = e1[:, 0] * e2[:, 1] - e2[:, 0] * e1[:, 1]
        i00, i01 = e2[:, 1] / det_m, -e2[:, 0] / det_m
        i10, i11 = -e1[:, 1] / det_m, e1[:, 0] / det_m
        f00, f01 = d1[:, 0] * i00 + d2[:, 0] * i10, d1[:, 0] * i01 + d2[:, 0] * i11
        f10, f11 = d1[:, 1] * i00 + d2[:, 1] * i10, d1[:, 1] * i01 + d2[:, 1] * i11
        J = f00 * f11 - f01 * f10
        W = 0.5 * (f00 ** 2 + f01 ** 2 + f10 ** 2 + f11 ** 2 - 2) - xp.log(J) + 0.5 * xp.log(J) ** 2
        return xp.sum(0.5 * det_m * W)
    return energy


def unrolled(fun, *args, **options):
    """Symhess's kernel that derives every entry on its own: an extra comparison only."""
    return symhess.hessian(fun, templates=False, **options)(*args)


def reference(fun, *args, **options):
    """The independent autodiff's Hessian (`symhess.autodiff`)."""
    return autodiff.hessian(fun, **options)(*args)


def assert_projections_match_the_autodiff(fun, H, x, directions=4, seed=0):
    """``H`` (the Hessian of ``fun`` at ``x``, leading output axes allowed) against the autodiff
    along a few coordinate axes and random directions: ``V.T H V`` is the autodiff's Hessian of
    ``t -> fun(x + V t)``. The axes (both ends and the middle, where gathers of neighbours are
    cut) check those entries exactly; the random directions reach every entry. The full
    autodiff of a few hundred variables would take seconds per function."""
    n = x.size
    axes = [0, 1, 2, n // 2, n - 2, n - 1]
    V = np.concatenate([np.eye(n)[:, axes],
                        np.random.default_rng(seed).standard_normal((n, directions))], axis=1)
    expected = autodiff.hessian(lambda t: fun(x + V @ t))(np.zeros(V.shape[1]))
    got = np.einsum("...ij,ia,jb->...ab", H, V, V)
    scale = np.abs(expected).max(initial=1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-11 * scale)


# --- the shapes that must take the template path --------------------------------------------

@pytest.mark.parametrize("sparse", [False, True, "upper"])
def test_rosenbrock_takes_the_template_path(sparse):
    x = 1 + 0.1 * np.random.default_rng(1).standard_normal(60)
    H = symhess.hessian(rosenbrock, sparse=sparse)
    c = H.compile(x)
    assert [t.instances for t in c.templates] == [59, 59]
    got = H(x)
    expected = rosenbrock_hessian(x)
    if sparse:
        got = got.toarray()
        if sparse == "upper":
            expected = np.triu(expected)
        np.testing.assert_array_equal(c.pattern.toarray() != 0, expected != 0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


def test_vectorized_lennard_jones_matches_jax_and_the_unrolled_kernel(jax, jnp):
    X = cluster(9)
    c = symhess.hessian(lj_energy).compile(X)
    assert [t.instances for t in c.templates] == [36]
    got = c(X)

    def lj_jax(X):
        i, j = np.triu_indices(X.shape[0], 1)
        d = X[i] - X[j]
        r2 = jnp.sum(d * d, axis=1)
        return jnp.sum(4 * (r2 ** -6 - r2 ** -3))
    np.testing.assert_allclose(got, np.asarray(jax.hessian(lj_jax)(X)), rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(got, unrolled(lj_energy, X), rtol=1e-12, atol=1e-9)


def test_kernel_source_does_not_grow_with_the_number_of_elements():
    lines = []
    for atoms, pairs in [(8, 28), (30, 435), (60, 1770)]:
        c = symhess.hessian(lj_energy).compile(cluster(atoms))
        assert [t.instances for t in c.templates] == [pairs]
        lines.append(len(c.source.splitlines()))
    assert max(lines) - min(lines) <= 10, lines


def test_logistic_regression_rows_are_runtime_data():
    w, X, y = regression_data(200, 4, seed=3)
    H = symhess.hessian(logistic_nll, tier="scalar")     # (its element templates)
    c = H.compile(w, X, y)
    assert [t.instances for t in c.templates] == [200]
    np.testing.assert_allclose(H(w, X, y), logistic_hessian(w, X, y), rtol=1e-12, atol=1e-12)
    w2, X2, y2 = regression_data(200, 4, seed=4)          # new data, same shapes: no retrace
    np.testing.assert_allclose(H(w2, X2, y2), logistic_hessian(w2, X2, y2), rtol=1e-12, atol=1e-12)
    assert H.compile(w2, X2, y2) is c


def test_finite_element_energy_over_a_connectivity_array(jax, jnp):
    X0, conn = triangle_mesh(4, 4)
    x = X0 + 0.05 * np.random.default_rng(5).standard_normal(X0.shape)
    H = symhess.hessian(fe_energy(conn), check=True)       # check: the independent autodiff too
    c = H.compile(x, X0)
    # Two triangle orientations, each numbered in its own order: two templates of 16 cells.
    assert sorted(t.instances for t in c.templates) == [16, 16]
    got = H(x, X0)
    expected = np.asarray(jax.hessian(fe_energy(conn, jnp))(x, X0))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    X1 = 1.5 * X0                                        # another reference shape: runtime data
    np.testing.assert_allclose(H(x, X1), np.asarray(jax.hessian(fe_energy(conn, jnp))(x, X1)),
                               rtol=1e-10, atol=1e-10)


# --- what is left of the sum, and what is not recognised ------------------------------------

def test_remainder_and_templates_add_up():
    def f(x):
        return rosenbrock(x) + x[0] ** 3 * x[5] + np.sin(x[2] * x[3])
    x = np.linspace(0.5, 1.5, 24)
    c = symhess.hessian(f).compile(x)
    assert len(c.templates) == 2
    np.testing.assert_allclose(c(x), reference(f, x), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(c(x), unrolled(f, x), rtol=1e-12, atol=1e-9)


def test_a_function_of_the_sum_is_unrolled():
    def f(x):
        return np.log(1 + np.sum(x[1:] * x[:-1]) ** 2)
    x = np.linspace(0.1, 1.0, 30)
    c = symhess.hessian(f).compile(x)
    assert c.templates == []
    np.testing.assert_allclose(c(x), unrolled(f, x), rtol=1e-12)
    symhess.check(f, x, hessian=c)                     # the independent autodiff agrees


def test_few_instances_are_unrolled_unless_asked():
    x = np.linspace(0.5, 1.5, 6)
    assert symhess.hessian(rosenbrock).compile(x).templates == []
    c = symhess.hessian(rosenbrock, templates=True).compile(x)
    assert [t.instances for t in c.templates] == [5, 5]
    np.testing.assert_allclose(c(x), rosenbrock_hessian(x), rtol=1e-12)
    assert symhess.hessian(rosenbrock, templates=False).compile(np.ones(40)).templates == []


def test_templates_option_is_validated():
    with pytest.raises(ValueError, match="templates must be None, True or False"):
        symhess.hessian(rosenbrock, templates="yes")


# --- arguments, dtypes and the cache ---------------------------------------------------------

def test_shared_scalar_argument_is_read_at_run_time():
    def f(x, k):
        return np.sum(k * (x[1:] - x[:-1]) ** 4)
    def closed_form(x, k):              # each difference d adds 12 k d^2 [[1, -1], [-1, 1]]
        w = 12 * k * (x[1:] - x[:-1]) ** 2
        i = np.arange(len(x) - 1)
        H = np.zeros((len(x), len(x)))
        np.add.at(H, (i, i), w)
        np.add.at(H, (i + 1, i + 1), w)
        H[i, i + 1] = H[i + 1, i] = -w
        return H
    x = np.linspace(0.0, 2.0, 30) ** 2
    H = symhess.hessian(f)
    c = H.compile(x, 2.0)
    assert len(c.templates) == 1
    np.testing.assert_allclose(H(x, 2.0), closed_form(x, 2.0), rtol=1e-12)
    np.testing.assert_allclose(H(x, 3.5), closed_form(x, 3.5), rtol=1e-12)
    np.testing.assert_allclose(H(x, 2.0), unrolled(f, x, 2.0), rtol=1e-12)


def test_blocks_of_several_arguments(jax, jnp):
    def f(x, y, xp=np):
        return xp.sum((x[:, None] - y[None, :]) ** 4 + x[:, None] * y[None, :] ** 2)
    x, y = np.linspace(0, 1, 5), np.linspace(2, 3, 4)
    H = symhess.hessian(f, argnums=(0, 1))
    assert len(H.compile(x, y).templates) == 1
    expected = jax.hessian(lambda x, y: f(x, y, jnp), argnums=(0, 1))(x, y)
    got = H(x, y)
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(got[i][j], np.asarray(expected[i][j]), rtol=1e-12, atol=1e-12)


def test_float32_inputs_give_float32_templates():
    x = (1 + 0.1 * np.random.default_rng(2).standard_normal(40)).astype(np.float32)
    c = symhess.hessian(rosenbrock).compile(x)
    assert c.templates and c(x).dtype == np.float32
    np.testing.assert_allclose(c(x), rosenbrock_hessian(x.astype(np.float64)),
                               **TOLERANCES[np.dtype(np.float32)])


def test_a_second_process_view_of_the_cache_gives_the_same_kernel():
    """A new HessianFunction loads the kernel module from the disk cache and rebuilds its
    tables: same values."""
    X = cluster(10, seed=7)
    first = symhess.hessian(lj_energy)(X)
    second = symhess.hessian(lj_energy)(X)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, reference(lj_energy, X), rtol=1e-12, atol=1e-9)


def test_generated_source_is_the_same_whatever_ran_before():
    """Slots and placeholders are named the same in every process, so a kernel's source, and
    with it its disk-cache key, does not depend on what the process traced earlier."""
    import subprocess
    import sys
    import textwrap
    script = textwrap.dedent("""
        import hashlib, sys, numpy as np, symhess
        sys.path.insert(0, %r)
        from test_templates import lj_energy, cluster, rosenbrock, fe_energy, triangle_mesh
        X0, conn = triangle_mesh(3, 3)
        cases = [(lj_energy, (cluster(10, seed=7),)), (rosenbrock, (np.linspace(0.5, 1.5, 300),)),
                 (fe_energy(conn), (X0 * 1.1, X0))]
        if sys.argv[1] == "after-others":       # other traces first: other symbols made
            for n in (12, 14):
                symhess.hessian(lj_energy).compile(cluster(n))
            symhess.hvp(rosenbrock).compile(np.ones(280), np.ones(280))
            cases = cases[::-1]
        for fun, args in cases:
            print(hashlib.sha256(symhess.hessian(fun).compile(*args).source.encode()).hexdigest())
        """) % str(Path(__file__).parent)
    runs = []
    for order in ("fresh", "after-others"):
        result = subprocess.run([sys.executable, "-c", script, order], capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        runs.append(result.stdout.split())
    assert runs[0] == runs[1][::-1]


# --- lazy gathers: vectorized code traced once per element ----------------------------------

def test_long_vectorized_code_is_traced_once_per_element():
    """A gather of many rows stays lazy: one template for the whole sum (not one per term)."""
    x = 1 + 0.1 * np.random.default_rng(8).standard_normal(LAZY_MIN + 100)
    c = symhess.hessian(rosenbrock, sparse=True).compile(x)
    assert [t.instances for t in c.templates] == [len(x) - 1]
    np.testing.assert_allclose(c(x).toarray(), rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)
    assert c.sparsity.nnz == 3 * len(x) - 2
    symhess.check(rosenbrock, x, hessian=lambda x: c(x).toarray())


N = LAZY_MIN + 44


def _lazy_cases():
    w = np.linspace(0.5, 1.5, N - 1)
    i = np.arange(N - 1)
    return {
        "a function of the sum": lambda x: np.sum(x[1:] * x[:-1]) * x[0] + np.sum(x[1:] ** 3),
        "per-element constants": lambda x: np.sum(w * (x[1:] - x[:-1]) ** 4),
        "cumsum": lambda x: np.sum(np.cumsum(x[1:] ** 2) * 1e-3),
        "stack": lambda x: np.sum(np.stack([x[1:], x[:-1]]) ** 3),
        "reshape": lambda x: np.sum((x[1:-1] ** 2).reshape(2, -1)[0] ** 2),
        "one element": lambda x: x[1:][3] ** 3 + np.sum(x[:-1] ** 3),
        "dot": lambda x: np.dot(x[1:], x[:-1] ** 2) * np.sin(x[0]),
        "mean": lambda x: np.mean(x[1:] ** 2 * x[:-1]),
        "rows of rows": lambda x: np.sum(x[1:][::2] ** 2 * x[:-1][::2]),
        "gather by index": lambda x: np.sum(np.exp(0.1 * x[i] * x[i + 1])),
        "in-place write first": _writes_first,
        "vector output": lambda x: np.sum(x[1:] ** 2 * x[:-1]) * np.array([1.0, 2.0]),
    }


def _writes_first(x):
    x[0] = 2 * x[0] ** 2
    return np.sum((x[1:] - x[:-1]) ** 4)


@pytest.mark.parametrize("case", sorted(_lazy_cases()))
def test_lazy_arrays_used_otherwise_give_the_same_hessian(case):
    """Whatever a lazy gather meets (kept lazy, or written out), the Hessian is that of the
    code traced entry by entry."""
    f = _lazy_cases()[case]
    x = np.linspace(0.2, 1.1, N)
    got = symhess.hessian(f)(x.copy())
    assert_projections_match_the_autodiff(f, got, x)
    np.testing.assert_allclose(got, unrolled(f, x.copy()), rtol=1e-11, atol=1e-11)


def test_lazy_rows_of_runtime_data():
    """Gathered rows of a data argument are read at run time, like the variables."""
    i, j = np.triu_indices(24, 1)

    def f(x, k):
        return np.sum(k[i] * k[j] * (x[i] - x[j]) ** 4)
    x, k = np.linspace(0, 1, 24), np.linspace(1, 2, 24)
    H = symhess.hessian(f)
    assert [t.instances for t in H.compile(x, k).templates] == [len(i)]
    np.testing.assert_allclose(H(x, k), reference(f, x, k), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H(x, k ** 2), reference(f, x, k ** 2), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H(x, k), unrolled(f, x, k), rtol=1e-12, atol=1e-12)


def test_strict_mode_sees_inputs_read_through_lazy_gathers():
    def f(x, y):
        return np.sum(x[1:] ** 2 * y[:-1] ** 2)

    def g(x, y):
        return np.sum(x[1:] ** 2 * x[:-1])
    x = y = np.linspace(0, 1, N)
    symhess.hessian(f, argnums=(0, 1), strict=True)(x, y)      # both are used: no error
    with pytest.raises(symhess.StrictModeError, match="y"):
        symhess.hessian(g, argnums=(0, 1), strict=True)(x, y)


# --- Hessian-vector products take the same element loops ------------------------------------

def test_hvp_of_element_sums_equals_the_closed_form():
    x = 1 + 0.1 * np.random.default_rng(9).standard_normal(N)
    v = np.random.default_rng(10).standard_normal(N)

    def f(x):
        return rosenbrock(x) + x[0] ** 2 * x[-1] ** 2
    extra = np.zeros((N, N))
    extra[0, 0], extra[-1, -1] = 2 * x[-1] ** 2, 2 * x[0] ** 2
    extra[0, -1] = extra[-1, 0] = 4 * x[0] * x[-1]
    np.testing.assert_allclose(symhess.hvp(f)(x, v), (rosenbrock_hessian(x) + extra) @ v,
                               rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("outside", [False, True], ids=["all in loops", "a term outside"])
def test_the_tangent_symbols_are_made_only_for_terms_outside_the_loops(outside, monkeypatch,
                                                                       tmp_path):
    """The symbols of ``v`` (a million of them take a second to make) are made only when a
    term outside the element loops needs them; the product is the closed form's either way."""
    from symhess import signature
    made = []
    monkeypatch.setattr(signature, "symbols",
                        lambda name, shape: made.append(name) or symbols(name, shape))
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path))
    x = 1 + 0.1 * np.random.default_rng(12).standard_normal(N)
    v = np.random.default_rng(13).standard_normal(N)
    extra = np.zeros((N, N))
    if outside:
        extra[0, 0] = 2.0

    def f(x):
        return rosenbrock(x) + (x[0] ** 2 if outside else 0.0)
    np.testing.assert_allclose(symhess.hvp(f)(x, v), (rosenbrock_hessian(x) + extra) @ v,
                               rtol=1e-12, atol=1e-9)
    assert made == (["x", "v"] if outside else ["x"])


def test_hvp_over_data_rows_and_pairs():
    w, X, y = regression_data(300, 5, seed=11)
    v = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(symhess.hvp(logistic_nll)(w, X, y, v),
                               logistic_hessian(w, X, y) @ v, rtol=1e-12, atol=1e-12)
    X = cluster(24, seed=12)
    V = np.random.default_rng(13).standard_normal(X.shape)
    H = reference(lj_energy, X).reshape(72, 72)
    np.testing.assert_allclose(symhess.hvp(lj_energy)(X, V), (H @ V.ravel()).reshape(X.shape),
                               rtol=1e-10, atol=1e-8)


# --- large element loops run on all threads -------------------------------------------------

def stencil(x):                 # elements p and p + 2 share x[p + 2]: three classes modulo 3
    return np.sum((x[2:] - x[:-2]) ** 2 * np.cos(x[1:-1])) + np.sum(x ** 4)


PARALLEL_CASES = {
    "chain": (lambda: (1 + 0.1 * np.random.default_rng(21).standard_normal(40),),
              lambda o: symhess.hessian(rosenbrock, **o), lambda x: rosenbrock_hessian(x)),
    "chain-hvp": (lambda: (1 + 0.1 * np.random.default_rng(22).standard_normal(40), np.linspace(-1, 1, 40)),
                  lambda o: symhess.hvp(rosenbrock), lambda x, v: rosenbrock_hessian(x) @ v),
    "stencil": (lambda: (np.linspace(-1, 1.5, 30),),
                lambda o: symhess.hessian(stencil, **o), None),
    "rows": (lambda: regression_data(200, 4, seed=23),
             lambda o: symhess.hessian(logistic_nll, tier="scalar", **o), logistic_hessian),
    "rows-hvp": (lambda: regression_data(200, 4, seed=24) + (np.linspace(1, 2, 4),),
                 lambda o: symhess.hvp(logistic_nll, tier="scalar"),
                 lambda w, X, y, v: logistic_hessian(w, X, y) @ v),
}


@pytest.mark.parametrize("target", ["native", "numba"])
@pytest.mark.parametrize("case, sparse", [(case, sparse) for case in sorted(PARALLEL_CASES)
                                          for sparse in ([False] if "hvp" in case else [False, True])])
def test_large_element_loops_run_in_parallel(case, sparse, target, monkeypatch, tmp_path):
    """Loops over classes of elements that add into disjoint entries, and sums over rows, run
    in parallel ranges above a size; every size here is made large enough, in many ranges:
    by the native target's driver (`codegen.drivers.native_loops`), or Numba's ``prange``."""
    from symhess.codegen import numba_cpu
    from symhess.codegen.jit import abi_ok
    if target == "native" and not abi_ok():
        pytest.skip("the native target needs a default CPython")
    monkeypatch.setattr(numba_cpu, "PARALLEL_WORK", 0)
    monkeypatch.setattr(numba_cpu, "CHUNK_WORK", 1)
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SYMHESS_NATIVE", "1" if target == "native" else "0")
    make_args, make, closed_form = PARALLEL_CASES[case]
    args = make_args()
    compiled = make({"sparse": True} if sparse else {}).compile(*args)
    assert ("native_loops(" if target == "native" else "numba.prange") in compiled.source
    got = compiled(*args)
    got = got.toarray() if sparse else got
    want = closed_form(*args) if closed_form else reference(stencil, *args)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-10)


def rosenbrock_gradient(x):
    """The closed-form gradient of `rosenbrock`."""
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


VALUE_CASES = {         # the function, its gradient and Hessian, and whether it is arithmetic
    "chain": (rosenbrock, rosenbrock_gradient, rosenbrock_hessian, True),
    "stencil": (stencil, lambda x: autodiff.derivatives(stencil, (x,), order=1).gradient_tree(),
                lambda x: reference(stencil, x), False),
}


@pytest.mark.parametrize("runs", [0, 64, 5], ids=["in sequence", "on threads", "in 5 runs"])
@pytest.mark.parametrize("case", sorted(VALUE_CASES))
def test_a_value_beside_the_derivatives_of_an_element_loop(case, runs, monkeypatch, tmp_path):
    """The value of an element sum, which every element adds into, beside its gradient and
    Hessian, which neighbouring elements add into (`codegen.spec.LoopSpec.summed`): summed
    in registers, and on threads in ranges whose sums are added in an order of their own,
    so that one thread and two give the same bits. The chain's arithmetic element runs in
    two passes (`codegen.element_ir.passes`), the stencil's cosine in one; on threads, the
    chain runs in runs of consecutive elements (`codegen.drivers.RUNS` of them: 64 leaves
    59 runs of one element, 5 runs of 11 or 12), the even ones at once, then the odd ones."""
    threads = runs > 0
    import numba
    from symhess.codegen import drivers, numba_cpu
    from symhess.codegen.jit import abi_ok
    if not abi_ok():
        pytest.skip("the native target needs a default CPython")
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path))
    if threads:
        monkeypatch.setattr(numba_cpu, "PARALLEL_WORK", 0)
        monkeypatch.setattr(numba_cpu, "CHUNK_WORK", 1)
        monkeypatch.setattr(drivers, "SUMMED_RANGES", 5)
        monkeypatch.setattr(drivers, "RUNS", runs)
    fun, gradient, hessian, arithmetic = VALUE_CASES[case]
    x = 1 + 0.3 * np.sin(np.arange(60.0))
    vgh = symhess.value_grad_hessian(fun, sparse=True).compile(x)
    vg = symhess.value_and_grad(fun).compile(x)
    assert ("native_loops(" in vgh.source) == (threads and arithmetic)   # the stencil's: a table
    if threads and arithmetic:  # (1 - x[:-1])**2 meets no other element, the rest neighbours
        loops = next(line for line in vgh.source.splitlines() if line.startswith("LOOPS = "))
        assert [(colours, reach) for _, colours, _, _, _, reach in
                ast.literal_eval(loops[len("LOOPS = "):])] == [(1, 0), (2, 1)]
    assert ("head.pass1:" in vgh.source) == arithmetic
    assert "head.pass1:" not in vg.source                # its positions all step by one
    before = numba.get_num_threads()
    try:
        results = []
        for n in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(n)
            results.append((vgh(x), vg(x)))
    finally:
        numba.set_num_threads(before)
    for (value, grad, H), (value2, grad2) in results:
        np.testing.assert_allclose(value, fun(x), rtol=1e-13)
        np.testing.assert_allclose(grad, gradient(x), rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(H.toarray(), hessian(x), rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(value2, fun(x), rtol=1e-13)
        np.testing.assert_allclose(grad2, gradient(x), rtol=1e-12, atol=1e-10)
    (one, two) = results
    assert one[0][0] == two[0][0] and one[1][0] == two[1][0]
    np.testing.assert_array_equal(one[0][1], two[0][1])
    np.testing.assert_array_equal(one[0][2].toarray(), two[0][2].toarray())


def test_element_loops_without_disjoint_classes_run_in_sequence(monkeypatch, tmp_path):
    """Every pair of atoms shares entries with the pairs of either atom: no class of pairs
    modulo C <= 16 adds into disjoint entries, so the loop stays sequential."""
    from symhess.codegen import numba_cpu
    monkeypatch.setattr(numba_cpu, "PARALLEL_WORK", 0)
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(tmp_path))
    X = cluster(8, seed=25)
    compiled = symhess.hessian(lj_energy).compile(X)
    assert "prange" not in compiled.source
    np.testing.assert_allclose(compiled(X), reference(lj_energy, X), rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("differentiated", [False, True])
@pytest.mark.parametrize("scale", [np.array(1.7), 1.7], ids=["0-d array", "float"])
def test_runtime_scalar_times_an_element_sum(jax, jnp, scale, differentiated):
    # s multiplies every element of a lazy sum: a 0-d array s is an input the element loop
    # reads (and derives, when differentiated), not a symbol of the loop alone
    def f(xp):
        return lambda x, s: xp.sum(s * (x[1:] - x[:-1] ** 2) ** 2)
    x = np.linspace(0.5, 1.5, LAZY_MIN + 44)
    argnums = (0, 1) if differentiated else 0
    got = symhess.hessian(f(np), argnums=argnums)(x, scale)
    expected = jax.hessian(f(jnp), argnums=argnums)(x, jnp.asarray(scale, dtype=jnp.float64))
    if differentiated:
        for i in range(2):
            for j in range(2):
                np.testing.assert_allclose(got[i][j], expected[i][j], rtol=1e-12, atol=1e-12)
        v = (np.cos(x), np.array(0.3))
        hv = symhess.hvp(f(np), argnums=(0, 1))(x, scale, v)
        ref = jax.jvp(jax.grad(f(jnp), argnums=(0, 1)), (x, jnp.asarray(scale)), v)[1]
        for a, b in zip(hv, ref):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        # a new value of s gives a new answer without recompiling
        np.testing.assert_allclose(symhess.hessian(f(np))(x, 2 * scale), 2 * expected,
                                   rtol=1e-12, atol=1e-12)


COEFFICIENTS = {
    # a runtime factor outside the sum: the objective factor of a Lagrangian
    "runtime": (lambda xp: lambda x, s, lam: s * xp.sum((x[1:] - x[:-1] ** 2) ** 2)
                + xp.sum(lam * xp.exp(x[1:] - x[:-1])), 0, 2),
    # a variable outside the sum: every instance shares it as a slot
    "variable": (lambda xp: lambda x, s, lam: x[0] * xp.sum((x[1:] - x[:-1] ** 2) ** 2)
                 + s * xp.sum(lam * xp.sin(x[1:] * x[:-1])), 0, 2),
    # a factor of more than MAX_SHARED symbols: the sum is written out, still exact
    "wide": (lambda xp: lambda x, s, lam: xp.sum(x[:10] ** 2) * xp.sum(xp.cos(x[1:] * x[:-1]))
             * s, 0, 0),
}


@pytest.mark.parametrize("case", sorted(COEFFICIENTS))
def test_factors_outside_an_element_sum_keep_it_a_loop(jax, jnp, case):
    """``sigma * np.sum(...)`` with ``sigma`` a runtime argument or a variable stays an element
    loop (it used to write the whole sum out); the Hessian equals JAX's, sparse and dense."""
    make, argnums, loops = COEFFICIENTS[case]      # loops: how many element loops it makes
    n = LAZY_MIN + 44
    x, lam = np.linspace(0.5, 1.5, n), np.linspace(-1.0, 1.0, n - 1)
    args = (x, 1.7, lam)
    expected = np.asarray(jax.hessian(make(jnp), argnums)(*map(jnp.asarray, args)))
    compiled = symhess.hessian(make(np), argnums, tier="scalar").compile(*args)
    assert len(compiled.templates) == loops
    np.testing.assert_allclose(compiled(*args), expected, rtol=1e-11, atol=1e-11)
    lower = symhess.hessian(make(np), argnums, sparse="lower")(*args)
    np.testing.assert_allclose(lower.toarray(), np.tril(expected), rtol=1e-11, atol=1e-11)
    # a new factor gives a new answer without recompiling
    args2 = (x, -0.4, 2 * lam)
    expected2 = np.asarray(jax.hessian(make(jnp), argnums)(*map(jnp.asarray, args2)))
    np.testing.assert_allclose(compiled(*args2), expected2, rtol=1e-11, atol=1e-11)


def test_an_element_reading_a_shared_entry_twice(jax, jnp):
    """``np.sum(x[0] * (x[1:] - x[:-1] ** 2) ** 2)``: x[0] is a slot every element shares, and
    element 0 reads it as its own slot too. Their mixed entry lands on the diagonal H[0, 0]
    and counts twice (it was once added once: a wrong H[0, 0] and nothing else)."""
    def make(xp):
        return lambda x: xp.sum(x[0] * (x[1:] - x[:-1] ** 2) ** 2)
    x = np.linspace(0.5, 1.5, LAZY_MIN + 44)
    xj = jnp.asarray(x)
    expected = np.asarray(jax.hessian(make(jnp))(xj))
    compiled = symhess.hessian(make(np), tier="scalar").compile(x)
    assert len(compiled.templates) == 1
    np.testing.assert_allclose(compiled(x), expected, rtol=1e-12, atol=1e-12)
    for sparse, keep in ((True, expected), ("upper", np.triu(expected)),
                         ("lower", np.tril(expected))):
        got = symhess.hessian(make(np), sparse=sparse)(x).toarray()
        np.testing.assert_allclose(got, keep, rtol=1e-12, atol=1e-12)
    v = np.cos(x)
    np.testing.assert_allclose(symhess.hvp(make(np), tier="scalar")(x, v), expected @ v,
                               rtol=1e-12, atol=1e-12)
    value, g, H = symhess.value_grad_hessian(make(np))(x)
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, jax.grad(make(jnp))(xj), rtol=1e-12, atol=1e-12)


MATMUL_OF_ROWS = {
    # a contraction across the rows of a lazy array: never applied row by row
    "v @ X[:]": (lambda xp, v: lambda x, X: xp.sum(x[:3] ** 2 * (v @ X[:]))),
    "x[1:] @ x[:-1] ** 2": (lambda xp, v: lambda x, X: x[1:] @ x[:-1] ** 2
                            + xp.sum(X[:, 0] * x)),
    "sliced empty": (lambda xp, v: lambda x, X: xp.sum(x[1:][5:5] ** 2) + xp.sum(x ** 3)
                     + xp.sum(X[:, 0] * x)),
}


@pytest.mark.parametrize("case", sorted(MATMUL_OF_ROWS))
def test_lazy_rows_under_matmul_and_empty_slices(case, jax, jnp):
    """``v @ X[:]`` once gave ``X @ v`` (the product applied to each row's form) and
    ``x[1:] @ x[:-1]`` failed deep in NumPy; an empty slice of a lazy array crashed in the
    code generator. All now trace as the materialized arrays they stand for."""
    n = LAZY_MIN + 44
    rng = np.random.default_rng(11)
    x, X, v = rng.normal(size=n), rng.normal(size=(n, 3)), rng.normal(size=n)
    make = MATMUL_OF_ROWS[case]
    f, fj = make(np, v), make(jnp, jnp.asarray(v))
    xj, Xj = jnp.asarray(x), jnp.asarray(X)
    np.testing.assert_allclose(symhess.grad(f)(x, X), jax.grad(fj)(xj, Xj), rtol=1e-10,
                               atol=1e-10)
    expected = np.asarray(jax.hessian(fj)(xj, Xj))
    np.testing.assert_allclose(symhess.hessian(f, sparse=True, tier="scalar")(x, X).toarray(),
                               expected, rtol=1e-10, atol=1e-10)
