"""The backup and restore in docs/deploy.md, done as an admin does them, on each database.

Residents' words go in through real conversations; `townline db backup` copies the database
while a write is in flight; the copy is restored with `townline db restore` into a new, empty
database (the server was lost) and again over one that went on living (the data went wrong).
Each time every response must come back verbatim, field for field, and the line must go on.

PostgreSQL runs when TOWNLINE_TEST_DATABASE_URL is set, on two scratch databases of the test's
own (created and dropped through the server's `postgres` database), never on the suite's
shared `test` database.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.services.export import response_rows
from bot.simulate import Simulator
from storage.db import normalise_url
from storage.migrate import upgrade
from storage.models import Response
from storage.scheduling import SchedulerLock

PG_URL = os.environ.get("TOWNLINE_TEST_DATABASE_URL", "")
SCRATCH = "townline_restore_test"

# Who says what: a whole topic conversation, and first words in each language with the
# characters a careless copy would mangle (accents, tone marks, Chinese, emoji, quotes).
CONVERSATIONS: list[tuple[str, str | None, list[str]]] = [
    (
        "sim-backup-elm",
        None,
        [
            "There is speeding on Elm Street every night",
            "1",
            "It is worst after 10pm",
            "Elm and 5th",
            "yes",
        ],
    ),
    ("sim-backup-es", "es", ["Hay basura en el parque — ¿quién la recoge? 🗑️"]),
    ("sim-backup-vi", "vi", ["Đèn đường ở ngõ 12 bị hỏng, ban đêm rất tối"]),
    ("sim-backup-zh", "zh", ["路灯坏了，晚上很黑"]),
    ("sim-backup-quotes", None, ['The sign says "SLOW" but nobody does; 5 > 3 & it\'s 100% true']),
]
SENTENCES = [lines[0] for _, _, lines in CONVERSATIONS]


def townline(
    *args: str, database_url: str, tmp_path: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """The command as the docs give it, in a child process with a clean environment."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "TOWNLINE_AGENCY_NAME": "Springfield Police",
        "TOWNLINE_INSTANCE": str(tmp_path / "instance"),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def runtime_on(url: str, tmp_path: Path) -> Runtime:
    """A runtime on one database, the test's own clock left real (the CLI's is too)."""
    settings = Settings(
        database_url=url,
        secret_key="test-secret",
        instance=tmp_path / "instance",
        agency_name="Springfield Police",
    )
    return build_runtime(settings)


def snapshot(rt: Runtime) -> dict[str, list[dict[str, Any]]]:
    """Every stored response, as the export gives it and as its table row holds it."""
    with Session(rt.db) as session:
        rows = [r.model_dump() for r in session.exec(select(Response).order_by(col(Response.id)))]
    snap = {"export": response_rows(rt), "rows": rows}
    rt.db.dispose()  # no connection of ours stays open across a restore
    return snap


def seed(rt: Runtime) -> None:
    """Residents talk to the line; their words become responses."""
    upgrade(rt.db)
    for address, language, lines in CONVERSATIONS:
        resident = Simulator(rt, address, language=language)
        for line in lines:
            assert resident.say(line), f"no reply to {line!r}"


def backup_and_restore(source_url: str, target_url: str, tmp_path: Path) -> None:
    """The documented procedure: back up, restore into a new database and over a changed one."""
    source = runtime_on(source_url, tmp_path)
    seed(source)
    before = snapshot(source)
    texts = [row["text"] for row in before["export"]]
    assert all(sentence in texts for sentence in SENTENCES)
    assert "Elm and 5th" in [row["place"] for row in before["export"]]
    count = len(before["rows"])

    # Backed up while Townline runs: another connection is in the middle of a write.
    backup = tmp_path / "backups" / "townline-2026-11-24.backup"
    with source.db.connect() as conn:
        writing = conn.begin()
        conn.execute(update(Response).values(status="reviewed", text="half-written"))
        made = townline("db", "backup", str(backup), database_url=source_url, tmp_path=tmp_path)
        writing.rollback()
    assert made.returncode == 0, made.stderr
    assert f"{count} responses (simulator {count})" in made.stdout
    assert f"townline db restore {backup}" in made.stdout
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # residents' data: the owner only
    assert snapshot(source) == before

    again = townline("db", "backup", str(backup), database_url=source_url, tmp_path=tmp_path)
    assert again.returncode == 1
    assert "already exists" in again.stderr

    # The server is lost: the backup goes into a new, empty database.
    restored = townline(
        "db", "restore", str(backup), "--yes", database_url=target_url, tmp_path=tmp_path
    )
    assert restored.returncode == 0, restored.stderr
    assert "now holds schema" in restored.stdout
    assert f"{count} responses" in restored.stdout
    target = runtime_on(target_url, tmp_path)
    assert snapshot(target) == before

    # Life goes on there, then something goes wrong: a new resident, every word overwritten.
    Simulator(target, "sim-after-backup").say("Written after the backup, lost by the restore")
    with Session(target.db) as session:
        newest = max(r.id or 0 for r in session.exec(select(Response)))
        assert newest == count + 1  # ids go on from the backup's, not from 1
        session.exec(update(Response).values(text="overwritten"))  # type: ignore[call-overload]
        session.commit()
    changed = snapshot(target)
    assert changed != before

    # A restore asks first; no answer changes nothing.
    asked = townline("db", "restore", str(backup), database_url=target_url, tmp_path=tmp_path)
    assert asked.returncode == 1
    assert "Stop Townline first" in asked.stdout
    assert "Aborted" in asked.stderr
    # A running worker (it holds the scheduler lock) stops the restore.
    worker_lock = SchedulerLock(target.db)
    assert worker_lock.acquire()
    try:
        busy = townline(
            "db", "restore", str(backup), "--yes", database_url=target_url, tmp_path=tmp_path
        )
    finally:
        worker_lock.release()
    assert busy.returncode == 1
    assert "a Townline worker is running" in busy.stderr
    # Something that is not a Townline backup is refused.
    notes = tmp_path / "notes.backup"
    notes.write_text("not a backup\n")
    wrong = townline(
        "db", "restore", str(notes), "--yes", database_url=target_url, tmp_path=tmp_path
    )
    assert wrong.returncode == 1
    assert "is not a" in wrong.stderr
    assert snapshot(target) == changed

    # Restored over the changed database: exactly the backup again.
    restored = townline(
        "db", "restore", str(backup), "--yes", database_url=target_url, tmp_path=tmp_path
    )
    assert restored.returncode == 0, restored.stderr
    assert snapshot(target) == before

    # And the line goes on from there.
    assert Simulator(target, "sim-after-restore").say("Still listening after the restore?")
    after = snapshot(target)
    assert after["rows"][:count] == before["rows"]
    assert after["rows"][count]["id"] == count + 1
    assert after["rows"][count]["text"] == "Still listening after the restore?"
    for rt in (source, target):
        rt.db.dispose()


def test_sqlite_backup_and_restore_keep_every_response_verbatim(tmp_path: Path) -> None:
    source = tmp_path / "instance" / "townline.db"
    new_server = tmp_path / "new-server" / "townline.db"
    backup_and_restore(f"sqlite:///{source}", f"sqlite:///{new_server}", tmp_path)
    # One self-contained file: not in WAL mode, so nothing of it lives in a -wal beside it.
    header = (tmp_path / "backups" / "townline-2026-11-24.backup").read_bytes()[:20]
    assert header.startswith(b"SQLite format 3\x00")
    assert header[18:20] == b"\x01\x01"


def test_sqlite_restore_refuses_the_database_itself_and_an_unknown_schema(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'townline.db'}"
    engine = create_engine(url)
    upgrade(engine)  # the schema, nothing else
    engine.dispose()
    itself = townline(
        "db", "restore", str(tmp_path / "townline.db"), "--yes", database_url=url, tmp_path=tmp_path
    )
    assert itself.returncode == 1
    assert "is the database itself" in itself.stderr

    future = tmp_path / "future.db"
    shutil.copy(tmp_path / "townline.db", future)
    engine = create_engine(f"sqlite:///{future}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    newer = townline("db", "restore", str(future), "--yes", database_url=url, tmp_path=tmp_path)
    assert newer.returncode == 1
    assert "at schema 9999, which this version of Townline does not know" in newer.stderr


@pytest.fixture
def scratch_databases() -> Iterator[tuple[str, str]]:
    """Two empty PostgreSQL databases of the test's own, made and dropped through `postgres`.

    The suite's shared database is truncated by every other test (and by any other run of the
    suite against it), so both the source and the restore target are the test's own.
    """
    if not PG_URL:
        pytest.skip("set TOWNLINE_TEST_DATABASE_URL to back up and restore PostgreSQL")
    for tool in ("pg_dump", "pg_restore"):  # CI must not pass by skipping: fail instead
        assert shutil.which(tool), f"{tool} is missing: apt install postgresql-client"
    base = make_url(normalise_url(PG_URL))
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    names = (f"{SCRATCH}_source", f"{SCRATCH}_target")

    def drop_all() -> None:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    drop_all()
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    source, target = (
        base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
        for name in names
    )
    try:
        yield source, target
    finally:
        drop_all()
        admin.dispose()


def test_postgresql_backup_and_restore_keep_every_response_verbatim(
    scratch_databases: tuple[str, str], tmp_path: Path
) -> None:
    source, target = scratch_databases
    backup_and_restore(source, target, tmp_path)
