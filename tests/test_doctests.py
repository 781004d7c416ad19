"""Every ``>>>`` example in symhess's docstrings runs, against the installed package."""

import doctest
import importlib
import pkgutil

import pytest

import symhess


def modules():
    """The names of every module of symhess, its subpackages and symhess.codegen."""
    names = ["symhess"]
    for package in ("symhess", "symhess.codegen"):
        pkg = importlib.import_module(package)
        names += [package] if package != "symhess" else []
        names += [info.name for info in pkgutil.walk_packages(pkg.__path__, package + ".")]
    return sorted(set(names))


def test_every_module_is_found():
    found = modules()
    for name in ("symhess.api", "symhess.autodiff.jet", "symhess.codegen.spec", "symhess.cli"):
        assert name in found


@pytest.mark.parametrize("name", modules())
def test_docstring_examples(name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)          # examples that write files write them here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
