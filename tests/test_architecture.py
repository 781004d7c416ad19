"""The package's structure, read from its source: arrows run one way and rooms stay small.

Read over the ``ast`` of every module of ``symhess/`` and ``codegen/`` (imports inside
functions included): no import cycle, no module reading another module's private names, no
module over 500 lines, one ``build``, and ``codegen`` importing nothing of symhess.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"symhess": ROOT / "symhess", "symhess.codegen": ROOT / "codegen"}
MAX_LINES = 500
# Underscore names that belong to other libraries' public protocols (namedtuple, SymPy printers
# and evaluation), not to a symhess module.
FOREIGN_PROTOCOLS = {"_fields", "_make", "_asdict", "_replace", "_sympy_", "_print",
                     "_eval_evalf"}


def _modules() -> dict:
    out = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package] + list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if package == "symhess" and parts[1:2] == ["codegen"]:
                continue
            out[".".join(parts)] = path
    return out


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base = base[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str):
    """``(imported module, name or None)`` for every import of ``module``, in functions too."""
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    yield f"{target}.{alias.name}", None
                else:
                    yield target, alias.name


def _graph() -> dict:
    return {m: {t for t, _ in _imports(m) if t in MODULES and t != m} for m in MODULES}


def _cycles(graph) -> list:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_modules_were_found():
    assert {"symhess.api", "symhess.lower", "symhess.runtime", "symhess.codegen.spec"} <= set(MODULES)


def test_no_import_cycle():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _defined_private_names(tree) -> set:
    """Underscore names a module defines: functions, classes, attributes it assigns, slots."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)          # __slots__ entries
    return {n for n in names if n.startswith("_")}


def _private_reads(module: str) -> list:
    tree = TREES[module]
    own = _defined_private_names(tree)
    modules = {}
    found = []
    for target, name in _imports(module):
        if name is not None and name.startswith("_") and not name.startswith("__") \
                and target.startswith("symhess") and target != module:
            found.append(f"{module} imports {name} from {target}")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    modules[alias.asname or alias.name] = f"{target}.{alias.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        attr = node.attr
        if not attr.startswith("_") or attr.startswith("__"):
            continue
        value = node.value
        if isinstance(value, ast.Name) and value.id in modules:
            found.append(f"{module} reads {modules[value.id]}.{attr}")
        elif isinstance(value, ast.Name) and value.id in ("self", "cls"):
            continue
        elif attr not in own and attr not in FOREIGN_PROTOCOLS:
            found.append(f"{module} reads {ast.unparse(value)}.{attr}")
    return found


def test_no_module_reads_another_modules_private_names():
    assert [r for m in MODULES for r in _private_reads(m)] == []


def test_a_planted_private_read_is_found(monkeypatch):
    planted = ast.parse("from .compiled import thing\n\ndef f(c):\n    return c._secret\n")
    monkeypatch.setitem(TREES, "symhess.api", planted)
    assert _private_reads("symhess.api") == ["symhess.api reads c._secret"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = MODULES[module].read_text().count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it along a seam of its data flow"


def test_one_build():
    builds = [m for m, tree in TREES.items() for node in ast.walk(tree)
              if isinstance(node, ast.FunctionDef) and node.name in ("build", "_build")
              and node.col_offset == 0]
    assert builds == ["symhess.lower"]


def test_codegen_imports_nothing_of_symhess():
    for module in MODULES:
        if module.startswith("symhess.codegen"):
            outside = [t for t, _ in _imports(module)
                       if t.startswith("symhess") and not t.startswith("symhess.codegen")]
            assert outside == [], f"{module} imports {outside}"


def test_crosscheck_knows_neither_the_api_nor_the_symbolic_path():
    symbolic = {"symhess.api", "symhess.trace", "symhess.derive", "symhess.primitives",
                "symhess.special", "symhess.lower", "symhess.signature"}
    for module in ["symhess.crosscheck"] + [m for m in MODULES if m.startswith("symhess.autodiff")]:
        assert _graph()[module] & symbolic == set(), module


def test_the_tracer_imports_no_rule():
    assert _graph()["symhess.trace"] & {"symhess.primitives", "symhess.lazy",
                                        "symhess.special"} == set()
