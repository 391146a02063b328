"""Fixtures: a fresh database per test (SQLite file or a truncated PostgreSQL), a seeded clock."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.app import create_app
from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.simulate import Simulator
from storage.db import make_engine
from storage.migrate import upgrade

# Set to a PostgreSQL URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run on PostgreSQL.
PG_URL = os.environ.get("TOWNLINE_TEST_DATABASE_URL", "")
# The languages the test agency offers: the shipped default, or e.g. all ten with
# TOWNLINE_TEST_LANGUAGES=en,es,vi,zh,zh-Hant,tl,ko,ar,ru,ht (stories assume English first).
LANGUAGES = tuple(
    code.strip()
    for code in os.environ.get("TOWNLINE_TEST_LANGUAGES", "en,es,vi,zh").split(",")
    if code.strip()
)


class Clock:
    """A clock tests move by hand, so expiry and quiet hours need no sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per run; each test then starts from a copy (SQLite) or a truncate (PG)."""
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
        engine.dispose()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "townline.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return str(path)


@pytest.fixture
def database_url(_template_db: str, tmp_path: Path) -> Iterator[str]:
    """A database no other test has touched."""
    if PG_URL:
        engine = make_engine(PG_URL)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        yield PG_URL
        return
    path = tmp_path / "townline.db"
    shutil.copy(_template_db, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def clock() -> Clock:
    """Tuesday 24 November 2026, 15:00 UTC (10:00 in New York): inside allowed hours."""
    return Clock(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test agency; tests change them with `with_overrides`."""
    return Settings(
        database_url=database_url,
        secret_key="test-secret",
        instance=tmp_path / "instance",
        agency_name="Springfield Police",
        timezone="America/New_York",
        languages=LANGUAGES,
        # The laptop's default on either database; tests/hardening/test_simulator_modes.py
        # covers staff-only and off, and the default per database.
        simulator="public",
        # The optional "who is heard" questions follow a flow's end once per resident; stories
        # about other things leave them out, as an agency may. tests/test_story_partners.py
        # and tests/test_story_flows.py (every flow, every language) turn them on.
        who_is_heard=False,
    )


@pytest.fixture
def rt(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    """A runtime on the test's own database and clock."""
    runtime = build_runtime(settings, clock=clock)
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def app(rt: Runtime) -> Flask:
    """The web app on the test runtime."""
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, runtime=rt)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def resident(rt: Runtime, app: Flask) -> Simulator:
    """A new resident on the simulator channel, with no language yet."""
    return Simulator(rt, "sim-resident-1")
