"""SQL for the inbound queue: one insert in the webhook, one row at a time in the worker.

The webhook's insert is the line's hottest statement, so it is built once per dialect and
run on a bare connection (no ORM session). On PostgreSQL the same statement wakes every
listening worker (`pg_notify` in a CTE: no extra round trip); SQLite has no such signal, so
a worker in another process reads `has_waiting` between short sleeps, which takes no lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import psycopg
from sqlalchemy import Executable, bindparam, delete, exists, func, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.db import is_postgres
from storage.models import InboundQueue

log = logging.getLogger(__name__)
NOTIFY_CHANNEL = "townline_inbound"
_FIELDS = ("channel", "address", "provider_id", "text", "media", "opt_out", "received_at")


@cache
def _store_statement(postgres: bool) -> Executable:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, and on PostgreSQL a NOTIFY with it."""
    module = postgresql if postgres else sqlite
    insert = (
        module.insert(InboundQueue)
        .values({name: bindparam(name) for name in _FIELDS} | {"attempts": 0})
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(col(InboundQueue.id))
    )
    if not postgres:
        return insert
    stored = insert.cte("stored")
    return core_select(stored.c.id, func.pg_notify(NOTIFY_CHANNEL, "")).select_from(stored)


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
    """
    values: dict[str, Any] = {
        "channel": channel,
        "address": address,
        "provider_id": provider_id,
        "text": text,
        "media": list(media) or None,
        "opt_out": opt_out,
        "received_at": received_at,
    }
    with engine.begin() as conn:
        row = conn.execute(_store_statement(is_postgres(engine)), values).first()
    return row is not None


def next_waiting(session: Session, now: datetime) -> InboundQueue | None:
    """The oldest message that is the first one waiting from its resident, locked till commit.

    A resident's second message is not taken while their first waits or is being answered
    (by this worker or another): turns stay in order. SKIP LOCKED lets other workers take
    other residents' messages meanwhile (PostgreSQL; SQLite has one writer at a time).
    """
    earlier = aliased(InboundQueue)
    ahead = exists().where(
        col(earlier.channel) == col(InboundQueue.channel),
        col(earlier.address) == col(InboundQueue.address),
        col(earlier.id) < col(InboundQueue.id),
        col(earlier.failed_at).is_(None),
    )
    stmt = (
        select(InboundQueue)
        .where(col(InboundQueue.failed_at).is_(None))
        .where(or_(col(InboundQueue.retry_at).is_(None), col(InboundQueue.retry_at) <= now))
        .where(~ahead)
        .order_by(col(InboundQueue.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.exec(stmt).first()


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
    """A lock-free look for work (autocommit read): cheap enough to ask many times a second."""
    stmt = core_select(col(InboundQueue.id)).where(col(InboundQueue.failed_at).is_(None)).limit(1)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return conn.execute(stmt).first() is not None


def count_waiting(session: Session) -> int:
    """Messages stored and not yet answered (health, tests)."""
    stmt = (
        select(func.count()).select_from(InboundQueue).where(col(InboundQueue.failed_at).is_(None))
    )
    return int(session.exec(stmt).one())


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
        """Stop listening (the worker is stopping)."""
        self.conn.close()
