"""The house has one direction: the engine imports no channel, no web framework, no database."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_FOR_ENGINE = (
    "channels",
    "flask",
    "sqlalchemy",
    "sqlmodel",
    "storage",
    "twilio",
    "telegram",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_engine_and_what_it_imports_stay_pure() -> None:
    for module in ("engine.py", "events.py", "keywords.py", "language.py", "understanding.py"):
        for name in _imports(ROOT / "bot" / module):
            assert name.split(".")[0] not in FORBIDDEN_FOR_ENGINE, f"bot/{module} imports {name}"


def test_sql_lives_only_in_storage() -> None:
    for path in list((ROOT / "bot").rglob("*.py")) + list((ROOT / "channels").rglob("*.py")):
        for name in _imports(path):
            assert not name.startswith(("sqlalchemy.sql", "sqlmodel.sql")), f"{path} imports {name}"
        assert "select(" not in path.read_text(encoding="utf-8"), f"{path} builds a query"
