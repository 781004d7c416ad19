"""The wheel a user installs is whole: every module, the metadata, the command and the types.

The wheel is built from this checkout, installed into a fresh virtual environment and imported
from a folder outside the checkout, so the source tree cannot stand in for a missing file.
"""

import email
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*command, cwd=None, timeout=600):
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=timeout)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


# What a build of the project reads; copied, so that builds never write into the checkout (its
# build/ and egg-info would be shared by test processes running at once).
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "symhess", "codegen")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tree, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, tree / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, tree / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(tree))
    (path,) = out.glob("symhess-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel):
    """A fresh venv holding the wheel; its dependencies come from this environment."""
    folder = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", str(folder))
    python = folder / "bin" / "python"
    run(str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel))
    site = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    # numpy, numba, ... from the running environment, after the venv's own site-packages
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder


def test_wheel_holds_every_module_of_the_source_tree(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"symhess/" + p.relative_to(ROOT / "symhess").as_posix()
                for p in (ROOT / "symhess").rglob("*.py")}
    expected |= {"symhess/codegen/" + p.relative_to(ROOT / "codegen").as_posix()
                 for p in (ROOT / "codegen").rglob("*.py")}
    expected.add("symhess/py.typed")
    assert expected <= names, sorted(expected - names)
    assert not any(n.startswith("codegen/") for n in names), "codegen must install as symhess.codegen"


def test_installed_package_imports_from_outside_the_checkout(venv, tmp_path):
    script = textwrap.dedent("""
        import importlib, importlib.util, pkgutil
        import numpy as np
        import symhess
        assert symhess.__file__.startswith(%r), symhess.__file__
        names = [m.name for m in pkgutil.walk_packages(symhess.__path__, "symhess.")]
        for name in names:
            importlib.import_module(name)
        assert importlib.util.find_spec("codegen") is None
        H = symhess.hessian(lambda x: x[0] ** 3 * x[1])(np.array([2.0, 5.0]))
        # closed form: [[6 x0 x1, 3 x0^2], [3 x0^2, 0]]
        assert np.allclose(H, [[60.0, 12.0], [12.0, 0.0]], rtol=1e-14), H
        print(len(names))
        """) % str(venv)
    count = int(run(str(venv / "bin" / "python"), "-c", script, cwd=tmp_path))
    assert count >= 30


def test_console_script_and_module_entry_point(venv, tmp_path):
    import symhess
    assert run(str(venv / "bin" / "symhess"), "--version", cwd=tmp_path).strip() == f"symhess {symhess.__version__}"
    assert "show" in run(str(venv / "bin" / "python"), "-m", "symhess", "--help", cwd=tmp_path)


def test_metadata(wheel):
    archive = zipfile.ZipFile(wheel)
    info = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    meta = email.message_from_bytes(archive.read(info))
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist())
    classifiers = meta.get_all("Classifier")
    assert "Typing :: Typed" in classifiers
    assert any(c.startswith("Programming Language :: Python :: 3.") for c in classifiers)
    for requirement in meta.get_all("Requires-Dist"):
        assert not re.search(r"==", requirement.split(";")[0]), f"exact pin in {requirement!r}: use a lower bound"
    assert meta["Project-URL"] is None            # none invented


def test_type_checkers_see_the_public_types(venv, tmp_path):
    """py.typed ships, and the public API's hints reach mypy through the installed package."""
    mypy = pytest.importorskip("mypy.api")
    (tmp_path / "use.py").write_text(textwrap.dedent("""
        import numpy as np
        import symhess

        H = symhess.hessian(lambda x: np.sum(x ** 3))
        c = H.compile(np.ones(3))
        reveal_type(H)
        reveal_type(c)
        reveal_type(c.save("h.c"))
        reveal_type(symhess.check(lambda x: x @ x, np.ones(2)))
        reveal_type(symhess.hvp(lambda x: x @ x))
        """))
    out, err, status = mypy.run([str(tmp_path / "use.py"), "--python-executable",
                                 str(venv / "bin" / "python"), "--ignore-missing-imports",
                                 "--follow-imports=silent", "--no-incremental",
                                 "--cache-dir", str(tmp_path / "cache")])
    assert status == 0, out + err
    revealed = re.findall(r'Revealed type is "([^"]+)"', out)
    assert revealed == ["symhess.api.HessianFunction", "symhess.runtime.CompiledHessian",
                        "list[pathlib.Path]", "symhess.crosscheck.CheckReport",
                        "symhess.hvp.HVPFunction"], out
