"""`townline db backup` and `db restore`: copies an admin can make without knowing the database.

SQLite is copied with its online backup API (`sqlite3.Connection.backup`), which reads a
consistent snapshot while the app keeps writing; copying the file with `cp` can tear a page or
miss what still sits in the `-wal` file. PostgreSQL is handed to `pg_dump --format=custom` and
`pg_restore`, the tools an agency's database administrator already trusts. The connection
password goes to those tools in `PGPASSWORD`, never on a command line (where `ps` shows it) and
never on screen.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the database libraries load only when a command runs, as elsewhere
    from sqlalchemy.engine import URL, Engine

# In `pg_restore --list`: the table Alembic keeps the schema revision in. Every Townline
# database has it; a dump without it is some other database.
ALEMBIC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE \S+ alembic_version ", re.MULTILINE)
STOP_FIRST = (
    "Stop Townline first (sudo systemctl stop townline-worker townline-web): "
    "anything residents send during a restore would be lost."
)


@dataclass(frozen=True)
class Contents:
    """What a database holds, as an admin checks a backup: the schema and the residents' words."""

    revision: str | None
    responses: int
    by_channel: list[tuple[str, int]]

    def describe(self) -> str:
        """One line, e.g. `schema 0106; 42 responses (sms 30, telegram 12)`."""
        if self.revision is None:
            return "no Townline schema"
        channels = ", ".join(f"{name} {n}" for name, n in self.by_channel)
        plural = "" if self.responses == 1 else "s"
        detail = f" ({channels})" if channels else ""
        return f"schema {self.revision}; {self.responses} response{plural}{detail}"


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace PATH if it already exists.")
def db_backup(path: Path, overwrite: bool) -> None:
    """Copy the whole database to PATH; safe while Townline runs.

    SQLite: a single self-contained database file. PostgreSQL: a pg_dump custom-format
    archive. Either is put back with `townline db restore PATH`. The copy holds residents'
    phone numbers and words: keep it as carefully as the database itself.
    """
    from storage.db import make_engine

    url = _database_url()
    if path.exists() and not overwrite:
        raise click.ClickException(f"{path} already exists; choose another name or --overwrite")
    if _is_postgres(url):
        _tool("pg_dump")
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url.render_as_string(hide_password=False))
        try:
            contents = _contents(engine)  # pg_dump's snapshot starts a moment later
        finally:
            engine.dispose()
        with _partial(path) as partial:
            _run_pg("pg_dump", ["--format=custom", f"--file={partial}"], url)
            _check_pg_archive(partial)  # readable, and a Townline database
        how = "pg_dump, custom format"
        held = f"the database held {contents.describe()} when the backup started"
    else:
        source = _sqlite_path(url)
        if not source.exists():
            raise click.ClickException(f"there is no database at {source} to back up")
        path.parent.mkdir(parents=True, exist_ok=True)
        with _partial(path) as partial:
            _sqlite_copy(source, partial, standalone=True)
        held = f"the backup holds {_inspect_sqlite_file(path).describe()}"
        how = "SQLite online backup"
    click.echo(f"backed up {_shown(url)} to {path} ({_size(path)}, {how})")
    click.echo(held)
    click.echo(f"restore it with: townline db restore {path}")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
def db_restore(path: Path, yes: bool) -> None:
    """Replace the database's contents with a backup made by `townline db backup`.

    The backup is checked first (it must be a Townline database), and a running worker stops
    the restore. Stop Townline's services before restoring and start them after; run
    `townline db upgrade` when the backup comes from an older version.
    """
    from storage.db import make_engine
    from storage.migrate import pending

    url = _database_url()
    postgres = _is_postgres(url)
    if postgres:
        _check_pg_archive(path)
    else:
        _check_sqlite_backup(path, url)
    if not yes:
        click.confirm(f"{STOP_FIRST}\nReplace everything in {_shown(url)} with {path}?", abort=True)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with _no_worker_running(engine):
            if postgres:
                engine.dispose()  # no pooled connection of ours in pg_restore's way
                _run_pg(
                    "pg_restore",
                    ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(path)],
                    url,
                )
            else:
                _sqlite_copy(path, _sqlite_path(url), standalone=False)
        engine.dispose()
        contents = _contents(engine)
        todo = pending(engine) if contents.revision else []
    finally:
        engine.dispose()
    click.echo(f"restored {path} into {_shown(url)}")
    click.echo(f"the database now holds {contents.describe()}")
    if todo:
        click.echo(
            f"the backup predates this version of Townline: run `townline db upgrade` "
            f"({len(todo)} migration(s) to apply) before starting it"
        )
    click.echo("now start Townline again (sudo systemctl start townline-web townline-worker)")


def _database_url() -> URL:
    """DATABASE_URL (or the embedded SQLite default), as the app itself would read it."""
    from sqlalchemy.engine import make_url

    from bot.config import ConfigError, load_settings
    from storage.db import normalise_url

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    return make_url(normalise_url(settings.database_url))


def _is_postgres(url: URL) -> bool:
    """PostgreSQL is dumped with its own tools; anything else here is SQLite."""
    return url.get_backend_name() == "postgresql"


def _shown(url: URL) -> str:
    """The URL for people to read: the driver name dropped and the password masked."""
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def _size(path: Path) -> str:
    """A file size as people say it."""
    size = float(path.stat().st_size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


@contextmanager
def _partial(path: Path) -> Iterator[Path]:
    """A private temporary file beside PATH, renamed over it only once it is complete.

    A backup interrupted half-way must not leave a file that looks like a good backup, and
    it holds personal data, so it is readable by its owner only (mkstemp's 0600).
    """
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


# --- SQLite -------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    """The database file behind a sqlite:/// URL (an in-memory database has none)."""
    if not url.database or url.database == ":memory:":
        raise click.ClickException("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path, *, standalone: bool) -> None:
    """Copy every page with SQLite's backup API, which takes the proper locks on both sides.

    Into a live database the copy goes through SQLite itself, so its write-ahead log stays
    consistent (copying over the file would not). A backup is switched out of WAL mode so it
    is one self-contained file.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
            if standalone:
                dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise click.ClickException(f"SQLite could not copy {source} to {target}: {exc}") from exc
    finally:
        src.close()


def _read_only(path: Path) -> Engine:
    """An engine that cannot change the file: checking a backup must never alter it."""
    from sqlalchemy import create_engine

    uri = path.resolve().as_uri() + "?mode=ro"
    return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))


def _inspect_sqlite_file(path: Path) -> Contents:
    """What a SQLite file holds, read without touching it."""
    engine = _read_only(path)
    try:
        return _contents(engine)
    finally:
        engine.dispose()


def _check_sqlite_backup(path: Path, url: URL) -> None:
    """Refuse anything but a Townline database whose schema this version knows."""
    from alembic.script.revision import RevisionError
    from sqlalchemy.exc import SQLAlchemyError

    from storage.migrate import current, pending

    if path.resolve() == _sqlite_path(url).resolve():
        raise click.ClickException(f"{path} is the database itself, not a backup of it")
    engine = _read_only(path)
    try:
        revision = current(engine)
        if revision is None:
            raise click.ClickException(
                f"{path} is not a Townline backup: it has no alembic_version table"
            )
        try:
            pending(engine)
        except RevisionError as exc:  # Alembic cannot place it: a newer Townline made it
            raise click.ClickException(
                f"{path} is at schema {revision}, which this version of Townline does not know: "
                "restore it with the version that made it"
            ) from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(f"{path} is not a SQLite database Townline can read") from exc
    finally:
        engine.dispose()


# --- PostgreSQL ---------------------------------------------------------------------------


def _tool(name: str) -> str:
    """Where pg_dump or pg_restore is, or an exit that says how to install it."""
    program = shutil.which(name)
    if program is None:
        raise click.ClickException(
            f"{name} is not installed: install the PostgreSQL client tools of the server's "
            "major version or newer (Debian: apt install postgresql-client)"
        )
    return program


def _run_pg(tool: str, args: list[str], url: URL) -> None:
    """Run pg_dump or pg_restore against the database, with the password kept off `ps`."""
    from sqlalchemy.engine import URL

    program = _tool(tool)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    # URL.set() cannot drop a field, so the address is rebuilt without the password.
    conninfo = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string(hide_password=False)
    result = subprocess.run(
        [program, f"--dbname={conninfo}", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise click.ClickException(f"{tool} failed:\n{result.stderr.strip()}")


def _check_pg_archive(path: Path) -> None:
    """Refuse anything but a pg_dump archive of a Townline database (its schema is read later)."""
    listing = subprocess.run(
        [_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise click.ClickException(
            f"{path} is not a pg_dump custom-format archive (make one with townline db backup)"
        )
    if not ALEMBIC_TABLE.search(listing.stdout):
        raise click.ClickException(
            f"{path} is not a Townline backup: it has no alembic_version table"
        )


# --- both ---------------------------------------------------------------------------------


def _contents(engine: Engine) -> Contents:
    """The schema revision and how many responses, per channel, a database holds."""
    from sqlalchemy import inspect
    from sqlmodel import Session

    from storage.migrate import current
    from storage.models import Contact
    from storage.stats import counts

    revision = current(engine)
    if revision is None or not inspect(engine).has_table("response"):
        return Contents(revision, 0, [])
    with Session(engine) as session:  # every response since the epoch, counted per channel
        by_channel = counts(session, Contact.channel, datetime(1970, 1, 1, tzinfo=UTC))
    return Contents(revision, sum(n for _, n in by_channel), by_channel)


@contextmanager
def _no_worker_running(engine: Engine) -> Iterator[None]:
    """Hold the scheduler lock for the restore; a worker holding it means Townline still runs.

    A worker sends from the outbox and writes what it sent: replacing its rows under it could
    send a message twice or lose one, so a database the restore cannot lock is left alone.
    The web process holds no such lock; the confirmation asks the admin to stop it.
    """
    from sqlalchemy import inspect

    from storage.db import is_postgres
    from storage.scheduling import SchedulerLock

    if not is_postgres(engine) and not (
        _sqlite_path(engine.url).exists() and inspect(engine).has_table("scheduler_lease")
    ):
        yield  # a new, empty database: nothing can be running on it
        return
    lock = SchedulerLock(engine)  # the lock every worker takes
    if not lock.acquire():
        raise click.ClickException(
            "a Townline worker is running on this database (it holds the scheduler lock). "
            + STOP_FIRST
            + " A worker that was killed holds it for up to a minute."
        )
    try:
        yield
    finally:
        lock.release()
