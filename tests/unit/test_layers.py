"""The packages form layers (README, "Layout"): each imports only the ones below it,
and no module takes part in an import circle, even through a function-level import."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What each package may import, bottom to top.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "dedupe": set(),
    "warehouse_sql": set(),
    "service_auth": set(),
    "salesforce_standin": set(),
    "warehouse": {"core", "dedupe", "warehouse_sql"},
    "salesforce_api": {"core", "warehouse", "warehouse_sql"},
    "demo": {"core", "dedupe", "warehouse", "warehouse_sql", "salesforce_standin"},
    "odata_service": {"core", "service_auth"},
    "archive_service": {"core", "service_auth"},
    "steward_app": {"core", "dedupe", "warehouse", "warehouse_sql"},
    "assets": {"core", "dedupe", "warehouse", "warehouse_sql", "archive_service", "salesforce_api"},
    "pipelines": {
        "core",
        "dedupe",
        "warehouse",
        "warehouse_sql",
        "archive_service",
        "salesforce_api",
        "assets",
    },
    "app": set(),  # the top: anything below
}
PACKAGES = set(ALLOWED)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Our modules that `path` imports anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from package import module` imports the module.
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def test_each_package_imports_only_the_layers_below_it():
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        package = name.split(".")[0]
        if package == "app":
            continue
        for target in _imports(path, modules):
            other = target.split(".")[0]
            if other != package and other not in ALLOWED[package]:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_no_module_takes_part_in_an_import_circle():
    modules = _modules()
    graph = {
        name: {t for t in _imports(path, modules) if t != name} for name, path in modules.items()
    }
    # A package's __init__ is imported with each of its modules: not an edge back.
    graph = {
        name: {t for t in targets if not name.startswith(t + ".")}
        for name, targets in graph.items()
    }
    circles = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []
