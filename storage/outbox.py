"""SQL for the outbox: enqueue with the cause, claim atomically with a lease, record outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
# What must still reach a resident who has opted out: the one STOP confirmation, HELP, and the
# acknowledgement of a button press (it only stops the button spinner).
OPT_OUT_EXEMPT_KINDS = ("opt_out", "help", "ack")

# How far along a message is, in neutral delivery statuses; channels map their provider's
# names onto these. A callback may only move a row up this table: providers send callbacks
# out of order, and "delivered" must never be overwritten by a late "sent".
DELIVERY_RANK: dict[str, int] = {
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "failed": 4,
    "undelivered": 4,
    "cancelled": 4,
    "delivered": 5,
    "read": 6,
}
UPDATED, STALE, UNKNOWN = "updated", "stale", "unknown"


@dataclass(frozen=True)
class DeliveryUpdate:
    """What a provider's status callback did to the outbox, for the webhook's log and effects."""

    result: str  # UPDATED, STALE (an older status arrived late) or UNKNOWN (not our message)
    outbox_id: int | None = None
    contact_id: int | None = None


DROPPED = "dropped"  # lost its point before it could go (a reminder for a meeting that started)
HELD = "held for quiet hours"  # last_error of a pending row the quiet hours put off


def enqueue(session: Session, rows: Iterable[dict[str, Any]]) -> list[Outbox]:
    """Add outbox rows inside the caller's transaction, so they exist only if the cause does.

    Consent is checked here, before anything is queued: rows for a contact who has opted out
    are dropped, except the kinds that must still reach them (the STOP confirmation, HELP).
    """
    rows = list(rows)
    opted_out = _opted_out(session, {row["contact_id"] for row in rows})
    items = [
        Outbox(**row)
        for row in rows
        if row["contact_id"] not in opted_out or row.get("kind") in OPT_OUT_EXEMPT_KINDS
    ]
    session.add_all(items)
    return items


def _opted_out(session: Session, contact_ids: set[int]) -> set[int]:
    """Which of these contacts have opted out, as the agency's own record says now."""
    if not contact_ids:
        return set()
    stmt = select(Contact.id).where(
        col(Contact.id).in_(contact_ids), col(Contact.opted_out_at).is_not(None)
    )
    return {row[0] for row in session.execute(stmt)}


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
        # Materialised, so the LIMIT is applied once: as a plain IN (subquery), PostgreSQL may
        # re-run the SKIP LOCKED subquery for each outer row on a table without statistics
        # (freshly filled) and take 3 or 7 rows for a limit of 1, beyond the pacer's budget.
        picked = inner.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        chosen = col(Outbox.id).in_(select(picked.c.id))
    else:
        chosen = col(Outbox.id).in_(inner.scalar_subquery())
    stmt = (
        update(Outbox)
        .where(chosen, _due(now))
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


def finish(
    session: Session, outbox_id: int, *, held: datetime | None = None, **values: Any
) -> bool:
    """Record an outcome (sent, failed, retry later) and release the lease; True if written.

    A worker passes `held`, the lease it claimed the row with: if that lease ran out and
    another worker claimed the row since, the outcome is that worker's to record, not this one's.
    """
    values.setdefault("lease_until", None)
    stmt = update(Outbox).where(col(Outbox.id) == outbox_id)
    if held is not None:
        stmt = stmt.where(col(Outbox.lease_until) == held)
    result = session.exec(stmt.values(**values))  # type: ignore[call-overload]
    return bool(result.rowcount == 1)


def cancel_pending_for(
    session: Session,
    contact_id: int,
    reason: str,
    keep_kinds: Sequence[str],
    *,
    keep_proactive: bool = False,
) -> int:
    """Drop everything still waiting for a contact who opted out, except what must still go.

    `keep_proactive` spares follow-ups of a resident reachable on another channel.
    """
    stmt = update(Outbox).where(
        col(Outbox.contact_id) == contact_id,
        col(Outbox.status) == PENDING,
        col(Outbox.kind).not_in(list(keep_kinds)),
    )
    if keep_proactive:
        stmt = stmt.where(col(Outbox.proactive).is_(False))
    result = session.exec(  # type: ignore[call-overload]
        stmt.values(status=CANCELLED, last_error=reason)
    )
    return int(result.rowcount or 0)


def record_delivery(
    session: Session,
    *,
    channel: str,
    provider_id: str,
    status: str,
    error: str | None = None,
    needs_staff: bool = False,
) -> DeliveryUpdate:
    """Apply a delivery status from a callback, only if it moves the row forward.

    One UPDATE whose WHERE holds the rank check, so two callbacks racing each other can
    never leave the row at the older status.
    """
    rank = DELIVERY_RANK[status]
    behind = [name for name, r in DELIVERY_RANK.items() if r < rank]
    values: dict[str, Any] = {"delivery_status": status}
    if error is not None:
        values["last_error"] = error
    if needs_staff:
        values["needs_staff"] = True
    stmt = (
        update(Outbox)
        .where(
            col(Outbox.channel) == channel,
            col(Outbox.provider_id) == provider_id,
            or_(col(Outbox.delivery_status).is_(None), col(Outbox.delivery_status).in_(behind)),
        )
        .values(**values)
        .returning(Outbox.id, Outbox.contact_id)
    )
    row = session.execute(stmt).first()
    if row is not None:
        return DeliveryUpdate(UPDATED, row[0], row[1])
    found = session.execute(
        select(Outbox.id, Outbox.contact_id).where(
            col(Outbox.channel) == channel, col(Outbox.provider_id) == provider_id
        )
    ).first()
    if found is None:
        return DeliveryUpdate(UNKNOWN)
    return DeliveryUpdate(STALE, found[0], found[1])


def transcript(
    session: Session, contact_id: int, after: datetime | None = None
) -> list[dict[str, Any]]:
    """A contact's conversation as lines in and out, oldest first."""
    inbound = sm_select(Message).where(Message.contact_id == contact_id)
    outbound = sm_select(Outbox).where(Outbox.contact_id == contact_id, Outbox.kind != "ack")
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


def mark_spoken(session: Session, message_id: int, kinds: Sequence[str], now: datetime) -> int:
    """Replies to a caller's turn were said in the call's own answer: sent and heard."""
    result = session.exec(  # type: ignore[call-overload]
        update(Outbox)
        .where(
            col(Outbox.in_reply_to) == message_id,
            col(Outbox.status) == PENDING,
            col(Outbox.kind).in_(list(kinds)),
        )
        .values(status=SENT, sent_at=now, delivery_status="delivered", provider_id=None)
    )
    return int(result.rowcount or 0)


def by_provider_id(session: Session, channel: str, provider_id: str) -> Outbox | None:
    """The row a provider's id names (a call we placed, by its CallSid)."""
    return session.exec(
        sm_select(Outbox).where(
            col(Outbox.channel) == channel, col(Outbox.provider_id) == provider_id
        )
    ).first()


def unsettled_calls(session: Session, channel: str, before: datetime, limit: int = 50) -> list[str]:
    """Provider ids of calls placed before `before` whose ending never reached us (a lost
    status callback, or one that came before the call's id was stored)."""
    rows = session.exec(
        sm_select(Outbox.provider_id)
        .where(
            col(Outbox.channel) == channel,
            col(Outbox.status) == SENT,
            # No final word yet: the provider took the call, nothing said how it ended.
            or_(
                col(Outbox.delivery_status).is_(None),
                col(Outbox.delivery_status).in_(("queued", "sending", "sent")),
            ),
            col(Outbox.provider_id).is_not(None),
            col(Outbox.sent_at) < before,
        )
        .order_by(col(Outbox.sent_at))
        .limit(limit)
    ).all()
    return [str(p) for p in rows if p]


def call_again(
    session: Session,
    *,
    channel: str,
    provider_id: str,
    error: str,
    attempts: int,
    at: datetime,
    placed: int | None = None,
) -> bool:
    """A call nobody answered goes back in the queue for `at`, until `attempts` calls have
    been placed (`placed`, else the row's sends: a refused send is not a call); True if it
    will be tried again. The worker holds it for quiet hours like any other."""
    row = by_provider_id(session, channel, provider_id)
    if row is None or row.id is None or row.status != SENT:
        return False
    again = (row.attempts if placed is None else placed) < attempts
    session.exec(  # type: ignore[call-overload]
        update(Outbox)
        .where(col(Outbox.id) == row.id)
        .values(
            status=PENDING if again else FAILED,
            next_attempt_at=at,
            delivery_status=None if again else "undelivered",
            last_error=error,
        )
    )
    return again
