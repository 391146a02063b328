"""The house has one direction: the engine imports no channel, no web framework, no database;
SQL lives only in storage/; and no module imports another that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "channels", "flows", "storage")
FORBIDDEN_FOR_ENGINE = (
    "channels",
    "flask",
    "sqlalchemy",
    "sqlmodel",
    "storage",
    "twilio",
    "telegram",
)
# The engine and the vocabulary it reads messages with.
ENGINE = [
    *sorted((ROOT / "bot" / "engine").glob("*.py")),
    *(ROOT / "bot" / name for name in ("events.py", "keywords.py", "language.py")),
    ROOT / "bot" / "understanding.py",
]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function ("from a import b" as a.b)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports."""
    files = [
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    ]
    modules = {_module_name(path): path for path in files}
    return {name: _targets(path, set(modules)) - {name} for name, path in modules.items()}


def _targets(path: Path, modules: set[str]) -> set[str]:
    """The project modules a file imports; "from pkg import mod" is mod, not pkg."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            found.update(submodules)
            if len(submodules) < len(node.names) and node.module in modules:
                found.add(node.module)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_engine_and_what_it_imports_stay_pure() -> None:
    for path in ENGINE:
        for name in _imports(path):
            root = name.split(".")[0]
            assert root not in FORBIDDEN_FOR_ENGINE, f"{path.relative_to(ROOT)} imports {name}"


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert _cycles(_graph()) == []


def test_sql_lives_only_in_storage() -> None:
    for path in list((ROOT / "bot").rglob("*.py")) + list((ROOT / "channels").rglob("*.py")):
        for name in _imports(path):
            assert not name.startswith(("sqlalchemy.sql", "sqlmodel.sql")), f"{path} imports {name}"
        assert "select(" not in path.read_text(encoding="utf-8"), f"{path} builds a query"
