"""SQL for the inbound queue: one insert in the webhook, one row at a time in the worker.

The webhook's insert is the line's hottest statement, so it is built once per dialect and
run on a bare connection (no ORM session). On PostgreSQL the same statement wakes every
listening worker (`pg_notify` in a CTE: no extra round trip); SQLite has no such signal, so
a worker in another process reads `has_waiting` between short sleeps, which takes no lock.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import psycopg
from sqlalchemy import (
    Executable,
    bindparam,
    delete,
    event,
    func,
    literal_column,
    update,
)
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.db import is_postgres
from storage.meetings import aware
from storage.models import InboundQueue

log = logging.getLogger(__name__)
NOTIFY_CHANNEL = "townline_inbound"
NOTIFY_GAP_SECONDS = 0.05
LISTEN_SECONDS = 4 * NOTIFY_GAP_SECONDS  # how long a listening worker waits without a note
CANDIDATES = 32  # waiting messages looked at per window, oldest first
_last_notify = [0.0]  # per process: when a store last sent a NOTIFY
_FIELDS = (
    "channel",
    "address",
    "provider_id",
    "text",
    "media",
    "opt_out",
    "received_at",
    "attempts",
)


@cache
def _store_statement(postgres: bool, notify: bool) -> Executable:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, with a NOTIFY in the same statement."""
    module = postgresql if postgres else sqlite
    insert = (
        module.insert(InboundQueue)
        .values({name: bindparam(name) for name in _FIELDS})
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(col(InboundQueue.id))
    )
    if not notify:
        return insert
    stored = insert.cte("stored")
    note = func.pg_notify(literal_column(f"'{NOTIFY_CHANNEL}'"), literal_column("''"))
    return core_select(stored.c.id, note).select_from(stored)


@cache
def _store_sql(postgres: bool, notify: bool) -> tuple[str, tuple[str, ...]]:
    """The store statement as the driver takes it, and its parameters' order (SQLite's `?`)."""
    dialect = postgresql.dialect() if postgres else sqlite.dialect()
    compiled = _store_statement(postgres, notify).compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())


def store(
    engine: Engine,
    *,
    channel: str,
    address: str,
    provider_id: str | None,
    text: str,
    media: Sequence[str],
    opt_out: str | None,
    received_at: datetime,
) -> bool:
    """Keep a message for the worker; False when the provider already delivered this id.

    Committed before it returns: the webhook's 200 means the message can no longer be lost.
    A redelivery after the worker has answered (and deleted) the row is stored again and
    recognised there, by the message's own unique provider id.

    One statement in autocommit, on the driver's own connection: SQLite's write lock is held
    for that statement alone (not a BEGIN … COMMIT around it, where web workers would queue
    for each other), and PostgreSQL gets one round trip (`_Writers`). The SQL is
    SQLAlchemy's, compiled once; only the two typed values are converted here, as the
    columns' types would.
    """
    postgres = is_postgres(engine)
    sql, order = _store_sql(postgres, postgres and _notify_due())
    values: dict[str, Any] = {
        "channel": channel,
        "address": address,
        "provider_id": provider_id,
        "text": text,
        "media": json.dumps(list(media)) if media else None,
        "opt_out": opt_out,
        "received_at": _stored_time(received_at, postgres),
        "attempts": 0,
    }
    if postgres:
        row = _writers_for(engine).run(sql, values)
    else:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(sql, [values[name] for name in order])
            row = cursor.fetchone()
            cursor.close()
            # Without a transaction open this does nothing; if the driver opened one on its
            # own (a pooled connection another caller left in its implicit-BEGIN mode), this
            # is what makes the 200 true.
            raw.commit()
        finally:
            raw.close()  # back to the pool
    return row is not None


class _Writers:
    """Autocommit PostgreSQL connections kept for the webhook's one insert.

    Outside SQLAlchemy's pool because the pool pings every connection it hands out (a round
    trip as long as the insert) and wraps it in a transaction; here a connection the server
    dropped shows as an error on the insert itself, which is then made once more on a new
    connection. Repeating it is safe: a message already stored is not stored twice.
    """

    MAX_IDLE = 4

    def __init__(self, engine: Engine) -> None:
        self.url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.idle: list[psycopg.Connection[Any]] = []
        self.lock = threading.Lock()
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def run(self, sql: str, values: dict[str, Any]) -> Any:
        """One statement in its own transaction; its first row."""
        with self.lock:
            conn = self.idle.pop() if self.idle else None
        try:
            if conn is None:
                conn = self._connect()
            try:
                row = conn.execute(sql, values).fetchone()
            except psycopg.OperationalError:
                conn.close()
                conn = self._connect()
                row = conn.execute(sql, values).fetchone()
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        with self.lock:
            if len(self.idle) < self.MAX_IDLE:
                self.idle.append(conn)
                conn = None
        if conn is not None:
            conn.close()
        return row

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True)

    def close(self) -> None:
        """Close the idle connections (the engine was disposed)."""
        with self.lock:
            idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()


_writers: weakref.WeakKeyDictionary[Engine, _Writers] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def _writers_for(engine: Engine) -> _Writers:
    with _writers_lock:
        writers = _writers.get(engine)
        if writers is None:
            writers = _writers[engine] = _Writers(engine)
        return writers


def _notify_due() -> bool:
    """Whether this store should NOTIFY: at most once per NOTIFY_GAP_SECONDS per process.

    PostgreSQL commits the transactions that NOTIFY one at a time (they share one queue
    lock through their WAL flush), so a NOTIFY on every insert turns a surge into a single
    file. One per gap wakes an idle worker at once; a busy one answers until the queue is
    empty and looks again every NOTIFY_GAP_SECONDS * 4 at most, which covers the rest.
    """
    now = time.monotonic()
    if now - _last_notify[0] < NOTIFY_GAP_SECONDS:
        return False
    _last_notify[0] = now
    return True


def _stored_time(value: datetime, postgres: bool) -> datetime | str:
    """UTC as `UTCDateTime` stores it: aware for PostgreSQL, SQLAlchemy's text on SQLite."""
    utc = value.astimezone(UTC)
    return utc if postgres else utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def next_waiting(session: Session, now: datetime) -> InboundQueue | None:
    """The oldest message that is the first one waiting from its resident, locked till commit.

    A resident's second message is not taken while their first waits, is being answered (by
    this worker or another) or waits out a retry: turns stay in order. The candidates are
    the oldest waiting rows by id, a window at a time (the primary key's order, whatever the
    table statistics say of a queue that is emptied all the time), so any earlier message of
    a candidate's resident has been seen before it. SKIP LOCKED lets other workers answer
    other residents meanwhile (PostgreSQL; SQLite lets one writer in at a time).
    """
    held: set[tuple[str, str]] = set()  # residents with an earlier message not answerable now
    after = 0
    while True:
        candidates = session.exec(
            select(
                InboundQueue.id, InboundQueue.channel, InboundQueue.address, InboundQueue.retry_at
            )
            .where(col(InboundQueue.failed_at).is_(None), col(InboundQueue.id) > after)
            .order_by(col(InboundQueue.id))
            .limit(CANDIDATES)
        ).all()
        for row_id, channel, address, retry_at in candidates:
            if (channel, address) in held:
                continue
            held.add((channel, address))
            if retry_at is not None and aware(retry_at) > now:
                continue
            row = session.exec(
                select(InboundQueue)
                .where(col(InboundQueue.id) == row_id, col(InboundQueue.failed_at).is_(None))
                .with_for_update(skip_locked=True)
            ).first()
            if row is not None:
                return row
        if len(candidates) < CANDIDATES:
            return None
        after = candidates[-1][0]  # all held (a chatty sender, a retry): look further back


def remove(session: Session, row_id: int) -> None:
    """The message has been answered (or recognised as a redelivery) in this transaction."""
    session.exec(delete(InboundQueue).where(col(InboundQueue.id) == row_id))  # type: ignore[call-overload]


def attempt_failed(
    session: Session, row_id: int, *, now: datetime, retry_in: timedelta, give_up: bool
) -> None:
    """Count a failed attempt; a message that keeps failing stops holding its resident's queue."""
    session.exec(  # type: ignore[call-overload]
        update(InboundQueue)
        .where(col(InboundQueue.id) == row_id)
        .values(
            attempts=col(InboundQueue.attempts) + 1,
            retry_at=now + retry_in,
            failed_at=now if give_up else None,
        )
    )


def waiting_from(session: Session, channel: str, address: str) -> bool:
    """Whether a message from this address is stored and not yet answered (it may be STOP)."""
    stmt = (
        select(InboundQueue.id)
        .where(col(InboundQueue.channel) == channel, col(InboundQueue.address) == address)
        .where(col(InboundQueue.failed_at).is_(None))
        .limit(1)
    )
    return session.exec(stmt).first() is not None


def has_waiting(engine: Engine) -> bool:
    """A lock-free look for work: cheap enough to ask many times a second."""
    stmt = core_select(col(InboundQueue.id)).where(col(InboundQueue.failed_at).is_(None)).limit(1)
    return _read_one(engine, stmt) is not None


def count_waiting(engine: Engine) -> int:
    """Messages stored and not yet answered, read without a lock (health, tests)."""
    stmt = (
        core_select(func.count())
        .select_from(InboundQueue)
        .where(col(InboundQueue.failed_at).is_(None))
    )
    return int(_read_one(engine, stmt) or 0)


def _read_one(engine: Engine, stmt: Executable) -> Any:
    """The first value of a one-row read, on the driver's connection with no transaction.

    Through SQLAlchemy every SQLite transaction starts with BEGIN IMMEDIATE, the write lock,
    which would make a webhook wait for a worker's look. The driver reads without one.
    """
    dialect = engine.dialect
    compiled = stmt.compile(dialect=dialect)
    params = compiled.construct_params()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if dialect.paramstyle == "qmark":
            cursor.execute(str(compiled), [params[name] for name in compiled.positiontup or ()])
        else:
            cursor.execute(str(compiled), params)
        row = cursor.fetchone()
        cursor.close()
        raw.rollback()  # a read: nothing to keep, and PostgreSQL opened a transaction for it
    finally:
        raw.close()
    return row[0] if row is not None else None


class Listener:
    """A PostgreSQL connection LISTENing for stored messages, kept apart from the pool."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url.set(drivername="postgresql")
        self.conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        self.conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """Block until a message is stored or `timeout` passes; True if one was announced."""
        # Several stores in a burst may leave more notes queued: the next wait returns at
        # once and finds the queue already empty, which costs one cheap look.
        return any(True for _ in self.conn.notifies(timeout=timeout, stop_after=1))

    def close(self) -> None:
        """Stop listening (the worker is stopping, or the connection broke)."""
        try:
            self.conn.close()
        except psycopg.Error:
            log.info("the listening connection was already gone")
