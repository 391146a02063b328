"""SQL for one resident on several channels: one-time link codes and the contacts they join."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from storage.models import Contact, LinkCode

# One person on several channels is one resident: linked contacts point at their first one.
# Counting this, not contacts, counts people.
RESIDENT = func.coalesce(col(Contact.resident_id), col(Contact.id))


def add_code(
    session: Session, *, code: str, contact_id: int, channel: str, now: datetime, expires: datetime
) -> None:
    """Remember a code a resident was sent; it links one chat, once, before it expires."""
    session.add(
        LinkCode(
            code=code, contact_id=contact_id, channel=channel, created_at=now, expires_at=expires
        )
    )


def usable_code(session: Session, code: str, channel: str, now: datetime) -> LinkCode | None:
    """The code if it exists for this channel, is unused and has not expired."""
    return session.exec(
        select(LinkCode).where(
            LinkCode.code == code,
            LinkCode.channel == channel,
            col(LinkCode.used_at).is_(None),
            col(LinkCode.expires_at) > now,  # compared in SQL: SQLite hands back naive times
        )
    ).first()


def redeem(session: Session, code: str, contact_id: int, channel: str, now: datetime) -> int | None:
    """Use a code once: join `contact_id` to the resident who asked; their resident id, or None."""
    row = usable_code(session, code, channel, now)
    if row is None or row.contact_id == contact_id:
        return None
    taken = session.exec(  # type: ignore[call-overload]
        update(LinkCode)
        .where(col(LinkCode.id) == row.id, col(LinkCode.used_at).is_(None))
        .values(used_at=now, used_by=contact_id)
    )
    if taken.rowcount != 1:
        return None  # another chat redeemed it a moment ago
    owner = session.get(Contact, row.contact_id)
    assert owner is not None
    assert owner.id is not None
    resident = owner.resident_id or owner.id
    # A chat already linked elsewhere moves over, and so does anything linked to it.
    session.exec(  # type: ignore[call-overload]
        update(Contact)
        .where(or_(col(Contact.id) == contact_id, col(Contact.resident_id) == contact_id))
        .where(col(Contact.id) != resident)
        .values(resident_id=resident)
    )
    return resident


def resident_contacts(session: Session, contact: Contact) -> list[Contact]:
    """Every contact of the same resident (just this one when it was never linked)."""
    assert contact.id is not None
    resident = contact.resident_id or contact.id
    return list(
        session.exec(
            select(Contact)
            .where(or_(col(Contact.id) == resident, col(Contact.resident_id) == resident))
            .order_by(col(Contact.id))
        )
    )


def is_linked(session: Session, contact: Contact) -> bool:
    """Whether this resident can also be reached on another channel."""
    return len(resident_contacts(session, contact)) > 1


def route_for(session: Session, contact: Contact, channels: set[str]) -> Contact:
    """Where a proactive message to this resident should go: the channel they used last.

    Only contacts on a configured channel that may be written to are candidates; when none is,
    the message stays with its own contact (and the worker's opt-out check stops it).
    """
    candidates = [
        c
        for c in resident_contacts(session, contact)
        if c.channel in channels
        and c.opted_out_at is None
        and c.unreachable_at is None
        and c.blocked_at is None
    ]
    if not candidates:
        return contact
    return max(candidates, key=lambda c: (c.last_seen_at is not None, c.last_seen_at, c.id or 0))
