"""SQL for partner organisations: the rows themselves and who came in through them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.links import RESIDENT
from storage.models import Contact, Partner


def add(session: Session, **values: Any) -> Partner:
    """Add a partner; the caller has checked its name, code and keywords."""
    partner = Partner(**values)
    session.add(partner)
    session.flush()
    return partner


def get(session: Session, partner_id: int) -> Partner | None:
    return session.get(Partner, partner_id)


def by_code(session: Session, code: str) -> Partner | None:
    """The partner a link or a Telegram /start payload names."""
    return session.exec(select(Partner).where(Partner.code == code)).first()


def listed(session: Session, include_archived: bool = False) -> list[Partner]:
    """Partners by name; archived ones (no longer reachable) only when asked."""
    stmt = select(Partner).order_by(col(Partner.name), col(Partner.id))
    if not include_archived:
        stmt = stmt.where(col(Partner.archived_at).is_(None))
    return list(session.exec(stmt))


def update_partner(session: Session, partner_id: int, **values: Any) -> None:
    session.exec(  # type: ignore[call-overload]
        update(Partner).where(col(Partner.id) == partner_id).values(**values)
    )


def archive(session: Session, partner_id: int, now: datetime) -> None:
    """Retire a partner: its keyword stops working, what residents said through it stays."""
    update_partner(session, partner_id, archived_at=now)


def arrived_through(session: Session, contact_id: int, partner_id: int) -> None:
    """Remember the partner a resident last came in through."""
    session.exec(  # type: ignore[call-overload]
        update(Contact).where(col(Contact.id) == contact_id).values(partner_id=partner_id)
    )


def resident_counts(session: Session, hide: tuple[str, ...] = ()) -> dict[int, int]:
    """How many residents (a linked resident once) last came in through each partner, leaving
    out channels in `hide` (the simulator, once a real channel is on); none: absent."""
    stmt = (
        select(Contact.partner_id, func.count(func.distinct(RESIDENT)))
        .where(col(Contact.partner_id).is_not(None))
        .group_by(col(Contact.partner_id))
    )
    if hide:
        stmt = stmt.where(col(Contact.channel).not_in(hide))
    return {int(pid): int(n) for pid, n in session.exec(stmt)}  # type: ignore[call-overload]
