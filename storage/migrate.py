"""Run Alembic migrations from code, so `townline db upgrade` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to an engine (its URL may hold a password: never logged)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def pending(engine: Engine) -> list[str]:
    """The revisions an upgrade would apply, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    at = current(engine)
    return [rev.revision for rev in reversed(list(script.iterate_revisions("head", at)))]


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Bring the schema up to date; a no-op when it already is. Returns what was applied."""
    todo = pending(engine) if revision == "head" else [revision]
    command.upgrade(alembic_config(engine), revision)
    return todo
