"""Standalone export (`symhess.export`): generated .py, C99, C++ and Fortran callers vs JAX."""

import ast
import ctypes
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symhess
import symhess.export as export

from conftest import neo_hookean


def kitchen(xp):
    """Exercises the C printer: Piecewise (where, abs, maximum), atan2, log1p, pow, constants."""
    def f(x, s, y):
        r = xp.sqrt(x[0] ** 2 + x[1] ** 2 + 1.0)
        return (xp.sum(xp.where(x[:3] > 0.2, x[:3] ** 3, -x[:3]) * y)
                + xp.arctan2(x[2], x[3]) * s + xp.log1p(x[3] ** 2) + xp.abs(x[1]) ** 2.5
                + xp.maximum(x[0], x[2]) * s ** 2 + xp.tanh(s * x[0]) + r ** 1.5
                + xp.exp(-x[3]) * xp.pi + xp.cos(x[1]) ** 7 / (1 + x[0] ** 6))
    return f


F0 = np.eye(3) + 0.1 * np.arange(9.0).reshape(3, 3) / 9
X0, S0, Y0 = np.array([0.7, -0.4, 0.1, 1.3]), 0.6, np.array([1.5, -2.0, 0.5])


@pytest.fixture(scope="module")
def neo(jax, jnp):
    """The neo-Hookean Hessian: compiled, and JAX's reference flattened in C order."""
    c = symhess.hessian(neo_hookean(np)).compile(F0)
    reference = np.asarray(jax.hessian(neo_hookean(jnp))(jnp.asarray(F0)))
    return c, (F0,), reference


@pytest.fixture(scope="module")
def kit(jax, jnp):
    """A pytree Hessian (argnums=(0, 1)) with a Python float and a data argument."""
    c = symhess.hessian(kitchen(np), argnums=(0, 1)).compile(X0, S0, Y0)
    H = jax.hessian(kitchen(jnp), argnums=(0, 1))(jnp.asarray(X0), jnp.asarray(S0), jnp.asarray(Y0))
    flat = np.concatenate([np.ravel(H[i][j]) for i in range(2) for j in range(2)])
    return c, (X0, S0, Y0), flat


# --- the .py module -------------------------------------------------------------------------------
def run_isolated(folder, module, call):
    """Import ``module`` from ``folder`` in a fresh interpreter where symhess cannot be imported."""
    script = textwrap.dedent(f"""
        import sys
        for blocked in ("symhess", "sympy", "symengine", "jax"):
            sys.modules[blocked] = None          # any import of them raises ImportError
        sys.path.insert(0, {str(folder)!r})
        import numpy as np
        import {module} as m
        args = np.load({str(folder / 'args.npz')!r})
        out = {call}
        np.save({str(folder / 'out.npy')!r}, out)
        """)
    result = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return np.load(folder / "out.npy")


def imported_modules(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


def test_python_module_single_array(neo, tmp_path):
    c, args, reference = neo
    (path,) = c.save(tmp_path / "neo_hessian.py", name="neo_hessian")
    assert imported_modules(path) == {"numpy", "numba"}
    text = path.read_text()
    assert "cache=True" in text and '"""' in text and "shape (3, 3, 3, 3)" in text
    np.savez(tmp_path / "args.npz", F=args[0])
    got = run_isolated(tmp_path, "neo_hessian", "m.neo_hessian(args['F'])")
    assert got.shape == (3, 3, 3, 3)
    np.testing.assert_allclose(got, reference, rtol=1e-11, atol=1e-12)


def test_python_module_pytree_flat_buffer(kit, tmp_path):
    c, (x, s, y), reference = kit
    c.save(tmp_path / "kit.py", name="kit_h")
    np.savez(tmp_path / "args.npz", x=x, y=y)
    got = run_isolated(tmp_path, "kit", f"m.kit_h(args['x'], {s!r}, args['y'])")
    np.testing.assert_allclose(got, reference, rtol=1e-11, atol=1e-12)
    last = ast.parse((tmp_path / "kit.py").read_text()).body[-1]
    assert last.targets[0].id == "BLOCKS"
    blocks = ast.literal_eval(last.value)
    assert [(b[1], b[2], b[3], b[4]) for b in blocks] == [
        ("x", "x", 0, (4, 4)), ("x", "s", 16, (4,)), ("s", "x", 20, (4,)), ("s", "s", 24, ())]


# --- C, C++ and Fortran callers ------------------------------------------------------------------
def c_literals(values):
    return ", ".join(repr(float(v)) for v in np.ravel(values))


def build_c(tmp_path, c, name):
    """Export ``c`` to C, compile it strictly as C99, return the object file."""
    source, header = c.save(tmp_path / f"{name}.c", name=name)
    assert header.name == f"{name}.h"
    obj = tmp_path / f"{name}.o"
    subprocess.run(["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-c",
                    str(source), "-o", str(obj)], check=True, cwd=tmp_path)
    text = source.read_text() + header.read_text()
    assert "#include <math.h>" in text and "stdio" not in source.read_text()
    return obj


def run_driver(tmp_path, cmd):
    subprocess.run(cmd, check=True, cwd=tmp_path, capture_output=True, text=True)
    out = subprocess.run([str(tmp_path / "driver")], check=True, capture_output=True, text=True)
    return np.array([float(v) for v in out.stdout.split()])


def c_driver(name, args, out_size, cpp=False):
    decls = [f"static const double a{k}[] = {{{c_literals(a)}}};" for k, a in enumerate(args)]
    call = ", ".join([f"a{k}" for k in range(len(args))] + ["out"])
    include = "#include <cstdio>" if cpp else "#include <stdio.h>"
    return (f'{include}\n#include "{name}.h"\n' + "\n".join(decls) + "\n"
            f"int main(void) {{\n  static double out[{name.upper()}_OUT_SIZE];\n  int i;\n"
            f"  {name}({call});\n"
            f'  for (i = 0; i < {out_size}; ++i) printf("%.17g\\n", out[i]);\n  return 0;\n}}\n')


@pytest.mark.parametrize("case", ["neo", "kit"])
def test_c_and_cpp_callers(case, request, tmp_path):
    c, args, reference = request.getfixturevalue(case)
    name = f"{case}_hessian"
    obj = build_c(tmp_path, c, name)
    (tmp_path / "driver.c").write_text(c_driver(name, args, reference.size))
    got = run_driver(tmp_path, ["gcc", "-std=c99", "-Wall", "-Werror", "driver.c", str(obj),
                                "-lm", "-o", "driver"])
    np.testing.assert_allclose(got, np.ravel(reference), rtol=1e-12, atol=1e-12)
    (tmp_path / "driver.cpp").write_text(c_driver(name, args, reference.size, cpp=True))
    got = run_driver(tmp_path, ["g++", "-Wall", "-Werror", "driver.cpp", str(obj), "-lm",
                                "-o", "driver"])
    np.testing.assert_allclose(got, np.ravel(reference), rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(shutil.which("gfortran") is None, reason="gfortran is not installed")
@pytest.mark.parametrize("case", ["neo", "kit"])
def test_fortran_caller(case, request, tmp_path):
    c, args, reference = request.getfixturevalue(case)
    name = f"{case}_hessian"
    obj = build_c(tmp_path, c, name)
    dummies = [f"a{k}" for k in range(len(args))]
    lines = ["program driver", "  use iso_c_binding", "  implicit none", "  interface",
             f"    subroutine h({', '.join(dummies)}, out) bind(C, name=\"{name}\")",
             "      import :: c_double",
             *[f"      real(c_double), intent(in) :: {d}(*)" for d in dummies],
             "      real(c_double), intent(out) :: out(*)", "    end subroutine h", "  end interface",
             *[f"  real(c_double) :: {d}({max(np.size(a), 1)})" for d, a in zip(dummies, args)],
             f"  real(c_double) :: out({reference.size})", "  integer :: i"]
    for d, a in zip(dummies, args):
        lines += [f"  {d}({i + 1}) = {float(v)!r}_c_double" for i, v in enumerate(np.ravel(a))]
    lines += [f"  call h({', '.join(dummies)}, out)", f"  do i = 1, {reference.size}",
              "    print '(ES26.17E3)', out(i)", "  end do", "end program driver"]
    (tmp_path / "driver.f90").write_text("\n".join(lines) + "\n")
    got = run_driver(tmp_path, ["gfortran", "-Wall", "-Werror", "driver.f90", str(obj), "-lm",
                                "-o", "driver"])
    np.testing.assert_allclose(got, np.ravel(reference), rtol=1e-12, atol=1e-12)


def test_user_strings_cannot_break_generated_code(jax, jnp, tmp_path):
    key = '*/ x"\n\\ y'
    f = lambda xp: (lambda p: xp.sum(p[key] ** 3) * p[key][0])
    p = {key: np.array([0.5, 2.0])}
    c = symhess.hessian(f(np)).compile(p)
    obj = build_c(tmp_path, c, "weird")      # -Werror: a broken comment would not compile
    source = (tmp_path / "weird.c").read_text()
    assert source.count("*/") == source.count("/*") and "\\" not in source
    (tmp_path / "driver.c").write_text(c_driver("weird", [p[key]], 4))
    got = run_driver(tmp_path, ["gcc", "-std=c99", "driver.c", str(obj), "-lm", "-o", "driver"])
    expected = jax.hessian(f(jnp))({key: jnp.asarray(p[key])})[key][key]
    np.testing.assert_allclose(got, np.ravel(expected), rtol=1e-12)
    (path,) = c.save(tmp_path / "weird_py.py", name="weird")
    ast.parse(path.read_text())
    assert key not in path.read_text() and '"\n' not in path.read_text().split('"""')[1]


@pytest.mark.parametrize("name", ["1bad", "has-dash", "int", "class", "sin", "", "naïve"])
def test_bad_names_are_rejected(neo, tmp_path, name):
    c = neo[0]
    with pytest.raises(ValueError, match="name"):
        c.save(tmp_path / "h.c", name=name)
    if name not in ("int", "sin"):       # legal Python names, reserved only in C
        with pytest.raises(ValueError, match="name"):
            c.save(tmp_path / "h.py", name=name)
    assert not (tmp_path / "h.c").exists() and not (tmp_path / "h.py").exists()


def test_python_reserved_names_and_suffix(neo, tmp_path):
    with pytest.raises(ValueError, match="taken by the generated module"):
        neo[0].save(tmp_path / "h.py", name="np")
    with pytest.raises(ValueError, match=r"\.py .*\.c"):
        neo[0].save(tmp_path / "h.f90")


def test_complex_hessian_has_no_c_export(tmp_path):
    c = symhess.hessian(lambda z: z[0] ** 2 * z[1], holomorphic=True).compile(np.ones(2, complex))
    with pytest.raises(ValueError, match="real Hessians only"):
        c.save(tmp_path / "z.c")


# --- the cfunc ------------------------------------------------------------------------------------
def test_cfunc_through_ctypes(kit):
    c, (x, s, y), reference = kit
    f = export.cfunc(c)
    ptr = ctypes.POINTER(ctypes.c_double)
    inputs = [np.ascontiguousarray(x), np.array([s]), np.ascontiguousarray(y)]
    out = np.full(reference.size, np.nan)
    f.ctypes(*[a.ctypes.data_as(ptr) for a in inputs], out.ctypes.data_as(ptr))
    np.testing.assert_allclose(out, reference, rtol=1e-12, atol=1e-12)
    assert export.low_level_callable(c).signature == "void (double *, double *, double *, double *)"


def test_cfunc_of_single_array(neo):
    c, (F,), reference = neo
    f = export.cfunc(c)
    out = np.zeros(81)
    address = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(f.address)
    address(F.ctypes.data, out.ctypes.data)
    np.testing.assert_allclose(out.reshape(3, 3, 3, 3), reference, rtol=1e-12, atol=1e-12)


# --- sparse Hessians: CSR values plus the index arrays --------------------------------------------
def banded(xp):
    return lambda x, s: xp.sum(s * (x[1:] - x[:-1] ** 2) ** 2) + xp.sum(x ** 4)


@pytest.mark.parametrize("sparse", [True, "upper", "lower"])
def test_sparse_hessians_export_as_csr(sparse, jax, jnp, tmp_path):
    x, s = np.linspace(0.3, 1.7, 9), 1.3
    H = symhess.hessian(banded(np), sparse=sparse)
    matrix = H(x, s)
    dense = np.asarray(jax.hessian(banded(jnp))(jnp.asarray(x), s))
    keep = {True: dense, "upper": np.triu(dense), "lower": np.tril(dense)}[sparse]
    np.testing.assert_allclose(matrix.toarray(), keep, rtol=1e-12, atol=1e-12)
    c = H.compile(x, s)
    # .py: the values, INDICES, INDPTR, SHAPE, computed without symhess
    c.save(tmp_path / "banded_csr.py", name="banded")
    np.savez(tmp_path / "args.npz", x=x)
    got = run_isolated(tmp_path, "banded_csr",
                       f"np.concatenate([m.banded(args['x'], {s!r}), m.INDICES, m.INDPTR, "
                       "m.SHAPE, [m.UPPER, m.TRIANGLE == 'lower']])")
    nnz, n = matrix.nnz, len(x)
    np.testing.assert_allclose(got[:nnz], matrix.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got[nnz:2 * nnz], matrix.indices)
    np.testing.assert_array_equal(got[2 * nnz:2 * nnz + n + 1], matrix.indptr)
    np.testing.assert_array_equal(got[2 * nnz + n + 1:],
                                  [n, n, sparse == "upper", sparse == "lower"])
    # C: the values, and the index arrays the header declares
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    source, header = c.save(tmp_path / "banded.c", name="banded")
    (tmp_path / "driver.c").write_text(
        '#include <stdio.h>\n#include "banded.h"\n'
        f"static const double x[] = {{{c_literals(x)}}};\nstatic const double s = {s!r};\n"
        "int main(void) {\n  static double out[BANDED_OUT_SIZE];\n  int i;\n"
        "  banded(x, &s, out);\n"
        '  for (i = 0; i < BANDED_OUT_SIZE; ++i) printf("%.17g\\n", out[i]);\n'
        '  for (i = 0; i < BANDED_OUT_SIZE; ++i) printf("%ld\\n", banded_indices[i]);\n'
        '  for (i = 0; i <= BANDED_N; ++i) printf("%ld\\n", banded_indptr[i]);\n'
        '  printf("%d\\n%d\\n", BANDED_UPPER, BANDED_LOWER);\n  return 0;\n}\n')
    got = run_driver(tmp_path, [cc, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror",
                                "driver.c", str(source), "-lm", "-o", "driver"])
    np.testing.assert_allclose(got[:nnz], matrix.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got[nnz:2 * nnz], matrix.indices)
    np.testing.assert_array_equal(got[2 * nnz:2 * nnz + n + 1], matrix.indptr)
    assert list(got[-2:]) == [sparse == "upper", sparse == "lower"]
