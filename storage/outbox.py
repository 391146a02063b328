"""SQL for the outbox: enqueue with the cause, claim atomically with a lease, record outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Select,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from storage.db import is_postgres, transaction
from storage.models import Contact, Message, Outbox

PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"
DROPPED = "dropped"  # lost its point before it could go (a reminder for a meeting that started)
HELD = "held for quiet hours"  # last_error of a pending row the quiet hours put off


def enqueue(session: Session, rows: Iterable[dict[str, Any]]) -> list[Outbox]:
    """Add outbox rows inside the caller's transaction, so they exist only if the cause does."""
    items = [Outbox(**row) for row in rows]
    session.add_all(items)
    return items


def bulk_enqueue(
    session: Session,
    recipients: Select[Any],
    *,
    texts: Mapping[str, str],
    default_language: str,
    fallback: bool = False,
    choices: Mapping[str, list[dict[str, str]]] | None = None,
    values: Mapping[str, Any],
) -> int:
    """Queue one row per recipient with one INSERT ... SELECT: 100,000 rows, flat memory.

    `recipients` selects `id`, `channel` and `language` from contacts (already filtered:
    opted-out residents excluded). Each row gets the text of the resident's language (no
    language yet: the default). Residents whose language has no text get the default
    language's text when `fallback`, else nothing. `values` are the same for every row
    (kind, priority, proactive, broadcast_id, meeting_id, stale_at, next_attempt_at, ...).
    """
    if not texts:
        return 0
    if fallback and default_language not in texts:
        raise ValueError("a fallback needs a text in the default language")
    typed = _typed_literal(session)
    src = recipients.subquery()
    lang = func.coalesce(src.c.language, default_language)
    known = lang.in_(list(texts))
    chosen = case((known, lang), else_=literal(default_language)) if fallback else lang
    text = case(*[(chosen == code, literal(body)) for code, body in texts.items()])
    if choices:
        picked = case(*[(chosen == code, typed(c, JSON())) for code, c in choices.items()])
    else:
        picked = typed(None, JSON())
    constants = {
        "kind": "bulk",
        "priority": 10,
        "proactive": True,
        "status": PENDING,
        "attempts": 0,
        "needs_staff": False,
        **values,
    }
    columns = ["contact_id", "channel", "language", "text", "choices", *constants]
    row = [src.c.id, src.c.channel, chosen, text, picked]
    for name, value in constants.items():
        if isinstance(value, datetime):
            value = value.astimezone(UTC)  # SQLite keeps wall time only: always store UTC
        row.append(typed(value, Outbox.__table__.c[name].type))  # type: ignore[attr-defined]
    query = select(*row)
    if not fallback:
        query = query.where(known)
    stmt = insert(Outbox).from_select(columns, query).execution_options(preserve_rowcount=True)
    result = session.execute(stmt)
    return int(result.rowcount or 0)


def _typed_literal(session: Session) -> Any:
    """Constants in an INSERT ... SELECT: PostgreSQL needs their types spelled out; SQLite
    must not get them (CAST(... AS DATETIME) there turns a timestamp into a number)."""
    postgres = session.get_bind().dialect.name == "postgresql"

    def typed(value: Any, type_: Any) -> Any:
        expr = null() if value is None else literal(value, type_)
        return cast(expr, type_) if postgres else expr

    return typed


def _due(now: datetime) -> Any:
    """Pending and due, or claimed by a worker whose lease ran out (it crashed)."""
    return or_(
        and_(col(Outbox.status) == PENDING, col(Outbox.next_attempt_at) <= now),
        and_(col(Outbox.status) == SENDING, col(Outbox.lease_until) < now),
    )


def claim(
    engine: Engine,
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
    channels: Sequence[str] | None = None,
) -> list[Outbox]:
    """Atomically take up to `limit` due rows, replies before bulk; each is counted as an attempt.

    The UPDATE ... WHERE id IN (SELECT ... [FOR UPDATE SKIP LOCKED]) ... RETURNING form lets
    several workers share the table without sending a row twice; the repeated status check
    in the outer WHERE protects SQLite, which has no SKIP LOCKED but serialises writers.
    """
    if limit <= 0:
        return []
    inner = select(Outbox.id).where(_due(now))
    if channels is not None:
        inner = inner.where(col(Outbox.channel).in_(list(channels)))
    inner = inner.order_by(col(Outbox.priority), col(Outbox.next_attempt_at), col(Outbox.id)).limit(
        limit
    )
    if is_postgres(engine):
        inner = inner.with_for_update(skip_locked=True)
    stmt = (
        update(Outbox)
        .where(col(Outbox.id).in_(inner.scalar_subquery()), _due(now))
        .values(status=SENDING, lease_until=lease_until, attempts=col(Outbox.attempts) + 1)
        .returning(Outbox.id)
    )
    with transaction(engine) as session:
        ids = [row[0] for row in session.execute(stmt)]
        if not ids:
            return []
        rows = session.exec(sm_select(Outbox).where(col(Outbox.id).in_(ids))).all()
    return sorted(rows, key=lambda r: (r.priority, r.next_attempt_at, r.id or 0))


def contact_for(session: Session, contact_id: int) -> Contact | None:
    """The recipient as it is now: consent may have changed since the row was queued."""
    return session.get(Contact, contact_id)


def finish(session: Session, outbox_id: int, **values: Any) -> None:
    """Record an outcome (sent, failed, retry later) and release the lease."""
    values.setdefault("lease_until", None)
    session.exec(  # type: ignore[call-overload]
        update(Outbox).where(col(Outbox.id) == outbox_id).values(**values)
    )


def cancel_pending_for(
    session: Session, contact_id: int, reason: str, keep_kinds: Sequence[str]
) -> int:
    """Drop everything still waiting for a contact who opted out, except what must still go."""
    result = session.exec(  # type: ignore[call-overload]
        update(Outbox)
        .where(
            col(Outbox.contact_id) == contact_id,
            col(Outbox.status) == PENDING,
            col(Outbox.kind).not_in(list(keep_kinds)),
        )
        .values(status=CANCELLED, last_error=reason)
    )
    return int(result.rowcount or 0)


def transcript(
    session: Session, contact_id: int, after: datetime | None = None
) -> list[dict[str, Any]]:
    """A contact's conversation as lines in and out, oldest first."""
    inbound = sm_select(Message).where(Message.contact_id == contact_id)
    outbound = sm_select(Outbox).where(Outbox.contact_id == contact_id)
    if after is not None:
        inbound = inbound.where(Message.created_at > after)
        outbound = outbound.where(Outbox.created_at > after)
    lines: list[dict[str, Any]] = [
        {"direction": "in", "id": m.id, "text": m.text, "at": m.created_at, "media": m.media or []}
        for m in session.exec(inbound)
    ]
    lines += [
        {
            "direction": "out",
            "id": o.id,
            "text": o.text,
            "choices": o.choices or [],
            "at": o.created_at,
            "status": o.status,
        }
        for o in session.exec(outbound)
    ]
    lines.sort(key=lambda line: (line["at"], 0 if line["direction"] == "in" else 1, line["id"]))
    return lines


def outbound_after(session: Session, contact_id: int, after_id: int) -> list[Outbox]:
    """Sent messages to a contact with id above `after_id` (the simulator's poll)."""
    return list(
        session.exec(
            sm_select(Outbox)
            .where(
                Outbox.contact_id == contact_id,
                col(Outbox.id) > after_id,
                col(Outbox.status) == SENT,
            )
            .order_by(col(Outbox.id))
        )
    )


def pending_count(session: Session) -> int:
    """Rows not yet finished: a worker's backlog."""
    stmt = (
        sm_select(func.count())
        .select_from(Outbox)
        .where(col(Outbox.status).in_([PENDING, SENDING]))
    )
    return int(session.exec(stmt).one())
