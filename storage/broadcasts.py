"""SQL for broadcasts: who is in an audience, scheduled sends, and how far a send has got."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, select, update
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from storage.calls import VOICE
from storage.models import Broadcast, Contact, Outbox, Response
from storage.outbox import CANCELLED, DROPPED, FAILED, HELD, PENDING, SENDING, SENT

SCHEDULED, QUEUED = "scheduled", "queued"


def audience(
    *,
    languages: Sequence[str] = (),
    neighbourhoods: Sequence[str] = (),
    channels: Sequence[str] = (),
    subscribers: bool = False,
    default_language: str,
) -> Select[Any]:
    """Residents who have not opted out (nor become unreachable), narrowed by each filter given;
    never a phone call's contact.

    A resident with no language yet counts as speaking the agency's default language.
    """
    query = select(Contact.id, Contact.channel, Contact.language).where(
        # A broadcast is never a robocall: a caller hears from us by call only what they
        # agreed to (a follow-up, a reminder). Their number's texts, if any, get it.
        col(Contact.channel) != VOICE,
        col(Contact.opted_out_at).is_(None),
        col(Contact.unreachable_at).is_(None),
        col(Contact.erased_at).is_(None),  # erased (or retention's anonymous) rows: no address
    )
    if languages:
        query = query.where(func.coalesce(Contact.language, default_language).in_(languages))
    if neighbourhoods:
        wanted = [n.lower() for n in neighbourhoods]
        query = query.where(func.lower(col(Contact.neighbourhood)).in_(wanted))
    if channels:
        query = query.where(col(Contact.channel).in_(channels))
    if subscribers:
        query = query.where(col(Contact.reminder_consent).is_(True))
    return query


def count_by_language(session: Session, recipients: Select[Any], default: str) -> dict[str, int]:
    """How many residents of an audience speak each language."""
    src = recipients.subquery()
    lang = func.coalesce(src.c.language, default)
    rows = session.execute(select(lang, func.count()).group_by(lang)).all()
    return {str(language): int(count) for language, count in rows}


def add(session: Session, **values: Any) -> Broadcast:
    """Store a broadcast and give it an id."""
    broadcast = Broadcast(**values)
    session.add(broadcast)
    session.flush()
    return broadcast


def due(session: Session, now: datetime) -> list[int]:
    """Scheduled broadcasts whose time has come."""
    return list(
        session.exec(
            sm_select(Broadcast.id)
            .where(Broadcast.status == SCHEDULED, col(Broadcast.send_at) <= now)
            .order_by(col(Broadcast.send_at))
        )
    )


def take(session: Session, broadcast_id: int, now: datetime) -> Broadcast | None:
    """Mark a scheduled broadcast queued; None if it is no longer scheduled."""
    result = session.exec(  # type: ignore[call-overload]
        update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id, col(Broadcast.status) == SCHEDULED)
        .values(status=QUEUED, queued_at=now)
    )
    if result.rowcount != 1:
        return None
    return session.get(Broadcast, broadcast_id)


def set_recipients(session: Session, broadcast_id: int, recipients: int) -> None:
    """Record how many rows a broadcast queued."""
    session.exec(  # type: ignore[call-overload]
        update(Broadcast).where(col(Broadcast.id) == broadcast_id).values(recipients=recipients)
    )


def progress(session: Session, broadcast_id: int) -> dict[str, int]:
    """Counts by state, in one query over the broadcast's rows.

    queued: waiting or being sent; held: waiting for quiet hours to end; sent: accepted by the
    provider (delivered ones included); delivered: confirmed by the provider; failed;
    cancelled: the resident opted out before it went; dropped: lost its point.
    """
    # coalesce: NULL = HELD is NULL, and NOT NULL would hide every queued row
    held = and_(col(Outbox.status) == PENDING, func.coalesce(col(Outbox.last_error), "") == HELD)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(
            func.count(),
            count(and_(col(Outbox.status).in_([PENDING, SENDING]), ~held)),
            count(held),
            count(col(Outbox.status) == SENT),
            count(col(Outbox.delivery_status) == "delivered"),
            count(col(Outbox.status) == FAILED),
            count(col(Outbox.status) == CANCELLED),
            count(col(Outbox.status) == DROPPED),
        ).where(col(Outbox.broadcast_id) == broadcast_id)
    ).one()
    names = ("rows", "queued", "held", "sent", "delivered", "failed", "cancelled", "dropped")
    return {name: int(value) for name, value in zip(names, row, strict=True)}


def prompt_responses(session: Session, prompt_id: int) -> list[Response]:
    """Everything residents said in answer to a listening prompt, oldest first."""
    return list(
        session.exec(
            sm_select(Response).where(Response.prompt_id == prompt_id).order_by(col(Response.id))
        )
    )
