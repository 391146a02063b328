"""SQL for the dashboard's pictures: counts by topic, language, channel, place, and ratings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from storage.models import Contact, Response


def _since(stmt: Any, since: datetime, hide: tuple[str, ...]) -> Any:
    """Responses from `since` on, joined to their contact, without the hidden channels."""
    stmt = stmt.join(Contact, col(Contact.id) == Response.contact_id).where(
        col(Response.created_at) >= since
    )
    return stmt.where(col(Contact.channel).not_in(hide)) if hide else stmt


def counts(
    session: Session, column: Any, since: datetime, hide: tuple[str, ...] = ()
) -> list[tuple[str, int]]:
    """How many responses per value of a column (Response or Contact), largest first."""
    n = func.count(col(Response.id))
    stmt = _since(select(column, n).select_from(Response), since, hide)
    stmt = stmt.group_by(column).order_by(n.desc())
    return [(str(v) if v is not None else "unknown", int(c)) for v, c in session.exec(stmt)]


def topic_times(
    session: Session, since: datetime, hide: tuple[str, ...] = ()
) -> list[tuple[str | None, datetime]]:
    """Each response's topic and time, to be bucketed into weeks by the caller."""
    stmt = select(Response.topic, Response.created_at).select_from(Response)
    return list(session.exec(_since(stmt, since, hide)))


def viewpoint_times(
    session: Session, since: datetime, hide: tuple[str, ...] = ()
) -> list[tuple[str | None, datetime]]:
    """Each response's viewpoint (None: not tagged) and time, for weekly buckets.

    Untagged ratings and menu choices are left out: a number picked from 1 to 5 is not a
    stance anyone could tag, and counting it as "not tagged" would hide how much is read.
    """
    stmt = select(Response.viewpoint, Response.created_at).select_from(Response)
    stmt = _since(stmt, since, hide).where(
        or_(col(Response.viewpoint).is_not(None), Response.kind == "text")
    )
    return list(session.exec(stmt))


def ratings(
    session: Session, since: datetime, flow: str, hide: tuple[str, ...] = ()
) -> list[tuple[str, int, datetime]]:
    """The 1-5 answers of a feedback flow (item, value, time)."""
    stmt = select(Response.item, Response.value, Response.created_at).select_from(Response)
    stmt = _since(stmt, since, hide).where(
        Response.flow == flow,
        Response.kind == "rating",
        col(Response.value).is_not(None),
    )
    return [(item, int(value), at) for item, value, at in session.exec(stmt)]
