"""The structure of the toolkit package: no import cycle between its modules or between its
sub-packages (``toolkit.audit`` never imports ``toolkit.report`` back), no module over 450
lines. Imports are read with ``ast``; those under ``if TYPE_CHECKING:`` are left out (they
only exist for the type checker)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "toolkit"
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    """Every statement, nested ones included, except those of ``if TYPE_CHECKING:``."""
    for node in body:
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from _statements(node.orelse)
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for child in getattr(node, field, []):
                if isinstance(child, ast.stmt):
                    yield from _statements([child])
                elif isinstance(child, ast.ExceptHandler | ast.match_case):
                    yield from _statements(child.body)


def imports_of(name: str, path: Path) -> set[str]:
    """The modules of the toolkit package that module ``name`` imports."""
    found: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in _statements(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in found if m in MODULES and m != name}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def subpackage(module: str) -> str:
    """``toolkit.audit.engine`` -> ``toolkit.audit``; a top-level module stays itself."""
    return ".".join(module.split(".")[:2])


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def test_the_import_reader_sees_relative_nested_and_aliased_imports() -> None:
    assert "toolkit.audit.results" in GRAPH["toolkit.audit.engine"]
    assert "toolkit.report.html" in GRAPH["toolkit.report.files"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_of_toolkit_imports_itself_back_through_others() -> None:
    assert cycles(GRAPH) == []


def test_no_subpackage_of_toolkit_imports_another_that_imports_it_back() -> None:
    packages: dict[str, set[str]] = {}
    for module, imported in GRAPH.items():
        source = subpackage(module)
        targets = {subpackage(m) for m in imported} - {source, "toolkit"}
        packages.setdefault(source, set()).update(targets)
    assert cycles(packages) == []


def test_the_audit_engine_knows_nothing_of_the_lab_podman_or_the_reports() -> None:
    audit = {m for m in GRAPH if m.startswith("toolkit.audit")}
    imported = set().union(*(GRAPH[m] for m in audit))
    assert not {m for m in imported if m.startswith(("toolkit.lab", "toolkit.report"))}
    assert "toolkit.adapters.podman" not in imported


def test_no_module_of_toolkit_is_over_450_lines() -> None:
    lengths = {name: len(p.read_text(encoding="utf-8").splitlines()) for name, p in MODULES.items()}
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}
