"""Coordination between worker processes: one scheduler (a database lock), one shared send rate."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import case, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from storage.db import dialect_insert, is_postgres, transaction
from storage.models import ChannelPace, SchedulerLease, utcnow

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=30)


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, derived from the lock's name."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SchedulerLock:
    """Held by exactly one worker process; the holder runs the scheduled jobs.

    PostgreSQL: a session advisory lock on a connection kept for the purpose, so it is
    released the moment the process (or its connection) dies. SQLite: a lease row renewed on
    every call; a holder that stops renewing loses it when the lease runs out.
    """

    def __init__(
        self,
        engine: Engine,
        name: str = "townline-scheduler",
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = LEASE,
    ) -> None:
        self.engine = engine
        self.name = name
        self.clock = clock
        self.lease = lease
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._conn: Connection | None = None
        self.held = False

    def acquire(self) -> bool:
        """Take the lock or keep it (renewing a lease); False while another process holds it."""
        self.held = self._acquire_pg() if is_postgres(self.engine) else self._acquire_lease()
        return self.held

    def release(self) -> None:
        """Let another worker take over (on shutdown)."""
        if self._conn is not None:
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(self.name)}
                )
                self._conn.commit()
            except DBAPIError:
                log.warning("scheduler lock connection already gone")
            self._conn.close()
            self._conn = None
        elif self.held:
            with transaction(self.engine) as session:
                session.exec(  # type: ignore[call-overload]
                    update(SchedulerLease)
                    .where(col(SchedulerLease.name) == self.name)
                    .where(col(SchedulerLease.holder) == self.holder)
                    .values(expires_at=self.clock() - timedelta(seconds=1))
                )
        self.held = False

    def _acquire_pg(self) -> bool:
        if self._conn is not None:
            try:  # still ours as long as the connection that took it is alive
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return True
            except DBAPIError:
                log.warning("lost the scheduler lock's connection; trying to take it again")
                self._conn.invalidate()
                self._conn = None
        conn = self.engine.connect()
        got = bool(
            conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_key(self.name)}
            ).scalar()
        )
        conn.commit()
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def _acquire_lease(self) -> bool:
        now = self.clock()
        with transaction(self.engine) as session:
            session.exec(  # type: ignore[call-overload]
                dialect_insert(session, SchedulerLease)
                .values(name=self.name, holder=self.holder, expires_at=now + self.lease)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            result = session.exec(  # type: ignore[call-overload]
                update(SchedulerLease)
                .where(col(SchedulerLease.name) == self.name)
                .where(
                    (col(SchedulerLease.holder) == self.holder)
                    | (col(SchedulerLease.expires_at) < now)
                )
                .values(holder=self.holder, expires_at=now + self.lease)
            )
            return bool(result.rowcount == 1)


def reserve(engine: Engine, channel: str, seconds: float, now: float) -> float:
    """Reserve the next `seconds` of a channel's sending time; returns when the slot starts.

    Every worker reserves from the same row, so their slots never overlap and together they
    keep to the channel's rate however many workers run. `now` is wall-clock epoch seconds.
    """
    with transaction(engine) as session:
        session.exec(  # type: ignore[call-overload]
            dialect_insert(session, ChannelPace)
            .values(channel=channel, next_slot=0.0)
            .on_conflict_do_nothing(index_elements=["channel"])
        )
        start = case((col(ChannelPace.next_slot) > now, col(ChannelPace.next_slot)), else_=now)
        end = session.exec(  # type: ignore[call-overload]
            update(ChannelPace)
            .where(col(ChannelPace.channel) == channel)
            .values(next_slot=start + seconds)
            .returning(ChannelPace.next_slot)
        ).scalar_one()
    return float(end) - seconds
