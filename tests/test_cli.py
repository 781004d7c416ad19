"""The ``symhess`` command: show, export, check, demo, and one-line errors."""

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import symhess
from symhess.cli import main, parse_shape

MODEL = textwrap.dedent("""
    import numpy as np

    def energy(F):
        J = np.linalg.det(F)
        return 0.5 * (np.sum(F * F) - 2) - np.log(J) + np.log(J) ** 2

    def two(x, a):
        return np.sum(np.sin(x) * a) + a ** 3

    def uses_fft(x):
        return np.sum(np.fft.fft(x).real)

    NOT_A_FUNCTION = 3
    """)

SCRIPT = "import sys\n\ndef f(x):\n    return x @ x\n\nsys.exit(3)\n"


@pytest.fixture
def model(tmp_path, monkeypatch):
    path = tmp_path / "cli_model.py"
    path.write_text(MODEL)
    monkeypatch.chdir(tmp_path)
    yield path
    sys.modules.pop("cli_model", None)


def test_parse_shape():
    assert parse_shape("3,3") == (3, 3) and parse_shape("4") == (4,)
    assert parse_shape("") == () == parse_shape("scalar") and parse_shape("2x3") == (2, 3)


def test_show_pretty_and_latex(model, capsys):
    assert main(["show", f"{model}:two", "--shape", "2", "--shape", "scalar", "--argnums", "0,1",
                 "--ascii"]) == 0
    out = capsys.readouterr().out
    assert "d2 f / d x[0] d a =" in out and "cos(x[0])" in out and "6*a" in out
    assert main(["show", "cli_model:two", "--shape", "2", "--shape", "", "--argnums", "0,1",
                 "--latex"]) == 0
    latex = capsys.readouterr().out
    assert r"\frac{\partial^2 f}{\partial x_{0} \partial a} &= \cos{\left(x_{0} \right)}" in latex
    assert latex.count("&=") == 5        # x0x0, x0a, x1x1, x1a, aa


def test_show_names_common_subexpressions(model, capsys):
    # A 3x3 determinant: named once (x5 = ...) by default, expanded in every entry on request.
    assert main(["show", f"{model}:energy", "--shape", "3,3", "--ascii"]) == 0
    named = capsys.readouterr().out
    assert "only its upper triangle is printed" in named
    assert "45 nonzero entries, in terms of" in named and "\nx0 = " in named
    entries = [line for line in named.splitlines() if line.startswith("d2 f / ")]
    assert len(entries) == 45 and all(line.count("F[") <= 2 for line in entries)
    assert main(["show", f"{model}:energy", "--shape", "3,3", "--ascii", "--expanded"]) == 0
    expanded = capsys.readouterr().out
    assert "\nx0 = " not in expanded and "d2 f / d F[0, 0] d F[1, 1] =\n" in expanded
    assert len(named) * 10 < len(expanded)
    assert main(["show", f"{model}:energy", "--shape", "3,3", "--latex"]) == 0
    comment, *latex = capsys.readouterr().out.splitlines()
    assert comment.startswith("% ") and "upper triangle" in comment
    assert latex[0] == "\\begin{aligned}" and latex[1].startswith("x_{0} &= ")
    assert main(["show", f"{model}:energy", "--shape", "3,3", "--latex", "--expanded"]) == 0
    assert capsys.readouterr().out.count("&=") == 45


def test_export_writes_code_that_matches_jax(model, tmp_path, capsys, jax, jnp):
    out_c = tmp_path / "energy_h.c"
    assert main(["export", f"{model}:energy", "--shape", "2,2", "-o", str(out_c),
                 "--name", "energy_h"]) == 0
    assert "energy_h.h" in capsys.readouterr().out
    assert (tmp_path / "energy_h.h").exists()
    out_py = tmp_path / "energy_h.py"
    assert main(["export", f"{model}:energy", "--shape", "2,2", "-o", str(out_py)]) == 0
    spec = importlib.util.spec_from_file_location("energy_h", out_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    F = np.array([[1.2, 0.1], [-0.3, 0.8]])

    def energy(F):
        J = jnp.linalg.det(F)
        return 0.5 * (jnp.sum(F * F) - 2) - jnp.log(J) + jnp.log(J) ** 2
    np.testing.assert_allclose(module.energy_hessian(F), jax.hessian(energy)(jnp.asarray(F)),
                               rtol=1e-12)


def test_check_passes_and_reports(model, capsys):
    # Most random 2x2 points have det F < 0, where the energy is NaN: check picks a finite one.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["check", f"{model}:energy", "--shape", "2,2", "--low", "-1"]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "nan" not in out


@pytest.mark.parametrize("argv, message", [
    (["show", "no_such_module_xyz:f", "--shape", "2"], "no module named 'no_such_module_xyz'"),
    (["show", "cli_model:nope", "--shape", "2"], "cli_model has no function 'nope'"),
    (["show", "cli_model:NOT_A_FUNCTION", "--shape", "2"], "is a int, not a function"),
    (["show", "missing_file.py:f", "--shape", "2"], "no such file: missing_file.py"),
    (["show", "cli_model", "--shape", "2"], "is not module:function"),
    (["show", "cli_model:energy", "--shape", "2,b"], "bad --shape '2,b'"),
    (["show", "cli_model:two", "--shape", "2"], "cannot take 1 positional argument"),
    (["show", "cli_model:uses_fft", "--shape", "4"], "np.fft.fft is not supported"),
    (["export", "cli_model:energy", "--shape", "2,2", "-o", "x.f90"], "must end in .py or .c"),
    (["export", "cli_model:energy", "--shape", "2,2", "-o", "x.c", "--name", "1x"],
     "is not a C identifier"),
    (["export", "cli_model:energy", "--shape", "2,2", "-o", 'a"b.c'], "cannot be written in an #include"),
    (["show", "cli_model:energy", "--shape", "\u00b2"], "bad --shape '\u00b2'"),
    (["show", "cli_model:energy", "--shape", "2,2", "--low", "nan"], "--low nan"),
    (["show", "cli_model:energy", "--shape", "2,2", "--high", "inf"], "must be finite numbers"),
    (["show", "cli_model:energy", "--shape", "2,2", "--low", "2", "--high", "1"], "low < high"),
    (["show", "exits.py:f", "--shape", "2"], "importing exits.py called sys.exit(3)"),
])
def test_errors_are_one_line(model, capsys, argv, message):
    (model.parent / "exits.py").write_text(SCRIPT)
    assert main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"symhess {argv[0]}: "), captured.err
    assert message in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_console_command_one_line_error(model, tmp_path):
    """In a fresh process (and through the installed entry point): one line, no traceback."""
    command = [sys.executable, "-c", "import sys; from symhess.cli import main; sys.exit(main())"]
    env = dict(os.environ)
    result = subprocess.run(command + ["show", "cli_model:nope", "--shape", "2"], cwd=tmp_path,
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "cli_model has no function 'nope'" in result.stderr
    scripts = Path(sys.executable).parent / "symhess"
    if scripts.exists():       # the console entry point declared in pyproject.toml
        result = subprocess.run([str(scripts), "show", "cli_model:nope", "--shape", "2"],
                                cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 1 and "Traceback" not in result.stderr


def test_check_failure_exits_nonzero(model, capsys, monkeypatch):
    calls, original = [], symhess.check

    def wrong_check(fun, *args, **kwargs):
        calls.append(args)
        return original(fun, *args, hessian=lambda *a: np.full((2, 2), 7.0), **kwargs)

    monkeypatch.setattr(symhess, "check", wrong_check)
    assert main(["check", "cli_model:two", "--shape", "2", "--shape", "scalar"]) == 1
    err = capsys.readouterr().err
    assert calls and len(err.strip().splitlines()) == 1 and "disagrees" in err


def test_demo_prints_closed_form(capsys):
    from symhess.demo import run
    lines = []
    figures = run(out=lines.append, calls=10)
    text = "\n".join(lines)
    assert "J = det F" in text and "log(J)" in text
    # d2W/dF00^2 at F = I + ... against central differences of the energy's gradient.
    from symhess.demo import energy
    F = np.eye(3) + 0.1 * np.arange(9.0).reshape(3, 3) / 9
    h = 1e-4
    def W(dF):
        return energy(F + dF)
    E = np.zeros((3, 3)); E[0, 0] = h
    fd = (W(E) - 2 * W(0 * E) + W(-E)) / h ** 2
    assert figures["hessian"][0, 0, 0, 0] == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("stem", ["my energy", "\u00e9nergie"])
def test_export_c_to_names_with_spaces_and_accents(model, tmp_path, capsys, stem):
    """The header's name is safe inside an #include: the C compiles and gives the Hessian."""
    out = tmp_path / f"{stem}.c"
    assert main(["export", f"{model}:two", "--shape", "3", "--shape", "scalar", "--argnums", "0,1",
                 "-o", str(out), "--name", "two_h"]) == 0
    assert f'#include "{stem}.h"' in out.read_text()
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the exported source")
    main_c = tmp_path / "main.c"
    main_c.write_text(f'#include <stdio.h>\n#include "{stem}.h"\nint main(void) {{\n'
                      "  const double x[3] = {0.1, 0.2, 0.3}; const double a = 1.5;\n"
                      "  double out[TWO_H_OUT_SIZE];\n  two_h(x, &a, out);\n"
                      '  for (int k = 0; k < TWO_H_OUT_SIZE; k++) printf("%.17g\\n", out[k]);\n'
                      "  return 0;\n}\n")
    subprocess.run([compiler, "-std=c99", "-o", str(tmp_path / "run"), str(main_c), str(out), "-lm"],
                   check=True, cwd=tmp_path, timeout=120)
    values = np.array(subprocess.run([str(tmp_path / "run")], capture_output=True, text=True,
                                     check=True).stdout.split(), dtype=float)
    # closed form of sum(sin(x) * a) + a**3: d2/dx2 = -a sin(x) (diagonal), d2/dx da = cos(x),
    # d2/da2 = 6a; blocks in order xx (3x3), xa (3), ax (3), aa (1)
    x, a = np.array([0.1, 0.2, 0.3]), 1.5
    expected = np.concatenate([np.diag(-a * np.sin(x)).ravel(), np.cos(x), np.cos(x), [6 * a]])
    np.testing.assert_allclose(values, expected, rtol=1e-14)


def test_version_and_module_entry_point():
    from symhess import __version__
    result = subprocess.run([sys.executable, "-m", "symhess", "--version"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == f"symhess {__version__}"
    result = subprocess.run([sys.executable, "-m", "symhess", "frobnicate"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "invalid choice: 'frobnicate'" in result.stderr


def test_help_does_not_load_the_compiler():
    """`symhess --help` answers without importing Numba, SymEngine or SymPy."""
    script = ("import sys\nfrom symhess.cli import main\ntry:\n    main(['--help'])\n"
              "except SystemExit as e:\n    assert e.code == 0\n"
              "heavy = [m for m in ('numba', 'symengine', 'sympy', 'scipy') if m in sys.modules]\n"
              "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage: symhess" in result.stdout


def test_cache_info_and_clear(tmp_path, monkeypatch, capsys):
    from symhess import cache
    folder = tmp_path / "kernels"
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(folder))
    x = np.array([0.5, 1.5])
    np.testing.assert_allclose(symhess.hessian(lambda x: np.sum(x ** 3))(x), np.diag(6 * x))
    orphan = folder / "kdead.0.tmp"
    orphan.write_text("partial")
    os.utime(orphan, (0, 0))
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"folder: {folder}" in out and "entries: 1 (1 of this symhess)" in out
    assert "temporary files left by killed processes: 1" in out
    assert main(["cache", "clear"]) == 0
    assert "removed" in capsys.readouterr().out
    assert not list(folder.glob("k*")) and not list((folder / "__pycache__").iterdir())
    assert cache.info()["entries"] == 0
    # A cleared cache is rebuilt: the next compile writes and loads its kernel again.
    np.testing.assert_allclose(symhess.hessian(lambda x: np.sum(x ** 3))(x), np.diag(6 * x))
    assert len(list(folder.glob("k*.py"))) == 1


def test_cache_of_an_unusable_folder(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a-file"
    path.write_text("")
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(path))
    assert main(["cache", "info"]) == 0
    assert "not used: it exists and is not a folder" in capsys.readouterr().out
    assert main(["cache", "clear"]) == 1
    assert "nothing was removed" in capsys.readouterr().err
    assert path.read_text() == ""
