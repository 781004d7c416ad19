"""Error classes: every error symhess raises is a class of ``symhess.errors``.

Read from the ``ast`` of ``symhess/``: no module outside ``errors.py`` raises a built-in
exception, except the protocol signals listed below. Each class derives from `SymhessError` and
from the built-in a user catches today, and typical mistakes raise the class with a message
that names the value at fault.
"""

from __future__ import annotations

import ast
import builtins
import inspect
from pathlib import Path

import numpy as np
import pytest

import symhess
from symhess import cache, errors

ROOT = Path(__file__).resolve().parent.parent / "symhess"
BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)}
# (module, function, exception): built-in raises that are protocol signals, not errors.
PROTOCOL = {
    # PEP 562 module __getattr__: `hasattr(symhess, name)` and `from symhess import name` need
    # the plain AttributeError for a missing name.
    ("__init__.py", "__getattr__", "AttributeError"),
    # Lazy.__getattr__ forwards to the materialized array; dunder lookups (copy, pickle, NumPy's
    # __array_*__ probes) must see a missing attribute as AttributeError.
    ("lazy.py", "__getattr__", "AttributeError"),
    # A property that exists only for sparse Hessians: `hasattr(c, "pattern")` is the way to ask
    # whether a compiled Hessian is sparse, so the getter signals "no such attribute".
    ("runtime.py", "pattern", "AttributeError"),
}
# Exceptions that are never errors: iteration and generator protocol.
SIGNALS = {"StopIteration", "StopAsyncIteration", "GeneratorExit", "KeyboardInterrupt",
           "SystemExit"}


def _raised_name(node: ast.Raise):
    """The class name of ``raise Name(...)`` or ``raise Name``; None for re-raises and others."""
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return exc.id if isinstance(exc, ast.Name) else None


def _builtin_raises():
    """``(module, enclosing function, exception, line)`` for each built-in raised in symhess/."""
    found = []

    def visit(node, module, where):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, module, child.name)
                continue
            if isinstance(child, ast.Raise) and _raised_name(child) in BUILTIN_EXCEPTIONS:
                found.append((module, where, _raised_name(child), child.lineno))
            visit(child, module, where)

    for path in sorted(ROOT.rglob("*.py")):
        if path.name != "errors.py":
            visit(ast.parse(path.read_text(), str(path)), path.relative_to(ROOT).as_posix(),
                  "<module>")
    return found


def test_the_scan_sees_raises():
    """The scan finds the protocol raises it exempts (so an empty result means something)."""
    found = {(m, w, n) for m, w, n, _ in _builtin_raises()}
    assert PROTOCOL <= found


def test_no_builtin_exception_is_raised_outside_errors():
    offending = [f"{m}:{line} raises {n} in {w}" for m, w, n, line in _builtin_raises()
                 if (m, w, n) not in PROTOCOL and n not in SIGNALS]
    assert offending == [], "raise a class of symhess.errors instead:\n" + "\n".join(offending)


ERROR_CLASSES = [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
                 if issubclass(cls, BaseException) and cls.__module__ == errors.__name__]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_each_error_is_a_symhess_error_and_a_builtin(cls):
    assert issubclass(cls, errors.SymhessError)
    if cls is errors.SymhessError:
        return
    builtin = [b for b in cls.__mro__ if b.__module__ == "builtins"
               and b not in (Exception, BaseException, object)]
    assert builtin, f"{cls.__name__} derives from no built-in exception a user would catch"
    assert cls.__doc__ and len(cls.__doc__.split()) >= 8, f"{cls.__name__} needs a docstring"


def test_the_main_errors_are_importable_from_the_package():
    for name in ("SymhessError", "ArgumentValueError", "InputTypeError", "CheckError"):
        assert getattr(symhess, name) is getattr(errors, name)
        assert name in symhess.__all__


# --- typical mistakes -------------------------------------------------------------------------
X = np.array([0.5, -1.5, 2.0])


def cubic(x):
    return np.sum(x ** 3)


def _raised(call, cls, builtin):
    """The message of the error ``call()`` raises, checking it is both ``cls`` and ``builtin``."""
    with pytest.raises(cls) as info:
        call()
    assert isinstance(info.value, builtin) and isinstance(info.value, errors.SymhessError)
    return str(info.value)


def test_argnums_naming_a_missing_argument():
    message = _raised(lambda: symhess.hessian(cubic, argnums=3)(X),
                      errors.OptionValueError, ValueError)
    assert "argnums=3" in message and "1 positional argument" in message


def test_argnums_of_the_wrong_type():
    message = _raised(lambda: symhess.hessian(cubic, argnums="0"),
                      errors.OptionTypeError, TypeError)
    assert "'0'" in message


def test_unknown_target():
    message = _raised(lambda: symhess.hessian(cubic, target="tpu"),
                      errors.OptionValueError, ValueError)
    assert "target='tpu'" in message and "'cpu'" in message


def test_hvp_tangent_of_the_wrong_shape():
    message = _raised(lambda: symhess.hvp(cubic)(X, np.ones(4)),
                      errors.ArgumentValueError, ValueError)
    assert "(4,)" in message and "(3,)" in message


def test_hvp_without_a_tangent():
    message = _raised(lambda: symhess.hvp(cubic)(), errors.ArgumentCountError, TypeError)
    assert "cubic" in message and "tangent v" in message


def test_hvp_of_a_vector_output():
    message = _raised(lambda: symhess.hvp(lambda x: x ** 2)(X, np.ones(3)),
                      errors.OutputShapeError, ValueError)
    assert "3 values" in message


def test_block_index_out_of_range():
    message = _raised(lambda: symhess.hessian(cubic).block(0, 5)(X),
                      errors.BlockIndexError, IndexError)
    assert "block index 5" in message and "1 differentiated leaves" in message


def test_bad_export_name(tmp_path):
    c = symhess.hessian(cubic).compile(X)
    message = _raised(lambda: c.save(tmp_path / "h.py", name="1bad"),
                      errors.ExportError, ValueError)
    assert "'1bad'" in message
    assert not (tmp_path / "h.py").exists()


def test_check_against_an_unknown_reference():
    message = _raised(lambda: symhess.check(cubic, X, against="torch"),
                      errors.OptionValueError, ValueError)
    assert "against='torch'" in message and "'autodiff'" in message


def test_cache_clear_refuses_a_file(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "plain-file"
    not_a_folder.write_text("kept")
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(not_a_folder))
    message = _raised(cache.clear, errors.CacheError, ValueError)
    assert str(not_a_folder) in message
    assert not_a_folder.read_text() == "kept"
