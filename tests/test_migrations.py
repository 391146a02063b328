"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from bot.runtime import Runtime
from storage.migrate import upgrade


def test_models_and_migrations_agree(rt: Runtime) -> None:
    with rt.db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_upgrade_twice_is_harmless(rt: Runtime) -> None:
    upgrade(rt.db)
    upgrade(rt.db)
