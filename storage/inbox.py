"""SQL for the staff inbox: filtered pages of responses, review, tags and concerns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from storage.db import dialect_insert
from storage.models import (
    Concern,
    ConcernResponse,
    Contact,
    Response,
    ResponseTag,
    Translation,
)

# The filter value for responses staff have not yet read for a viewpoint.
NO_VIEWPOINT = "none"


@dataclass(frozen=True)
class ResponseFilter:
    """What staff narrowed the inbox (or an API client the list) to; None means any."""

    topic: str | None = None
    status: str | None = None
    language: str | None = None
    channel: str | None = None
    neighbourhood: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    concern_id: int | None = None
    tag: str | None = None
    flag: str | None = None  # "urgent" | "sensitive"
    hide_channels: tuple[str, ...] = ()  # left out unless `channel` asks for one of them
    q: str | None = None  # words in the response or in its translation (case-insensitive)
    viewpoint: str | None = None  # supportive | neutral | critical, or NO_VIEWPOINT


def _where(stmt: Any, f: ResponseFilter) -> Any:
    """Apply each filter that is set."""
    for column, value in (
        (Response.topic, f.topic),
        (Response.status, f.status),
        (Response.language, f.language),
        (Contact.channel, f.channel),
        (Contact.neighbourhood, f.neighbourhood),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.viewpoint == NO_VIEWPOINT:
        stmt = stmt.where(col(Response.viewpoint).is_(None))
    elif f.viewpoint is not None:
        stmt = stmt.where(Response.viewpoint == f.viewpoint)
    if f.hide_channels and f.channel is None:
        stmt = stmt.where(col(Contact.channel).not_in(f.hide_channels))
    if f.start is not None:
        stmt = stmt.where(col(Response.created_at) >= f.start)
    if f.end is not None:
        stmt = stmt.where(col(Response.created_at) < f.end)
    if f.flag == "urgent":
        stmt = stmt.where(col(Response.urgent).is_(True))
    elif f.flag == "sensitive":
        stmt = stmt.where(col(Response.sensitive).is_(True))
    if f.concern_id is not None:
        members = select(ConcernResponse.response_id).where(
            ConcernResponse.concern_id == f.concern_id
        )
        stmt = stmt.where(col(Response.id).in_(members))
    if f.tag is not None:
        tagged = select(ResponseTag.response_id).where(ResponseTag.tag == f.tag)
        stmt = stmt.where(col(Response.id).in_(tagged))
    if f.q:
        pattern = (
            "%" + f.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        in_translation = select(Translation.response_id).where(
            or_(
                func.lower(col(Translation.text)).like(pattern, escape="\\"),
                func.lower(col(Translation.corrected_text)).like(pattern, escape="\\"),
            )
        )
        stmt = stmt.where(
            or_(
                func.lower(col(Response.text)).like(pattern, escape="\\"),
                col(Response.id).in_(in_translation),
            )
        )
    return stmt


def page(
    session: Session, f: ResponseFilter, *, before_id: int | None = None, limit: int = 50
) -> list[tuple[Response, Contact]]:
    """Newest first; `before_id` is the cursor (ids grow with time, so pages never overlap)."""
    stmt = select(Response, Contact).join(Contact, col(Contact.id) == Response.contact_id)
    stmt = _where(stmt, f)
    if before_id is not None:
        stmt = stmt.where(col(Response.id) < before_id)
    stmt = stmt.order_by(col(Response.id).desc()).limit(limit)
    return list(session.exec(stmt))


def in_range(
    session: Session, start: datetime | None, end: datetime | None
) -> list[tuple[Response, Contact]]:
    """Every response in a date range, oldest first (for export)."""
    stmt = select(Response, Contact).join(Contact, col(Contact.id) == Response.contact_id)
    stmt = _where(stmt, ResponseFilter(start=start, end=end)).order_by(col(Response.id))
    return list(session.exec(stmt))


def by_ids(session: Session, ids: Sequence[int]) -> list[tuple[Response, Contact]]:
    """The responses (with contacts) among `ids` that exist, by id."""
    if not ids:
        return []
    stmt = (
        select(Response, Contact)
        .join(Contact, col(Contact.id) == Response.contact_id)
        .where(col(Response.id).in_(list(ids)))
        .order_by(col(Response.id))
    )
    return list(session.exec(stmt))


def choices(session: Session) -> dict[str, list[str]]:
    """Values present in the data, for the inbox's filter menus."""

    def distinct(column: Any) -> list[str]:
        rows = session.exec(select(column).where(column.is_not(None)).distinct())
        return sorted(str(v) for v in rows if v != "")

    return {
        "topic": distinct(col(Response.topic)),
        "status": distinct(col(Response.status)),
        "language": distinct(col(Response.language)),
        "channel": distinct(col(Contact.channel)),
        "neighbourhood": distinct(col(Contact.neighbourhood)),
    }


def set_status(session: Session, ids: Sequence[int], status: str) -> int:
    """Mark responses (e.g. reviewed); returns how many changed."""
    result = session.exec(  # type: ignore[call-overload]
        update(Response).where(col(Response.id).in_(list(ids))).values(status=status)
    )
    return int(result.rowcount or 0)


def set_viewpoint(session: Session, ids: Sequence[int], viewpoint: str | None) -> int:
    """Set (or, with None, clear) the viewpoint of responses; returns how many rows matched."""
    result = session.exec(  # type: ignore[call-overload]
        update(Response).where(col(Response.id).in_(list(ids))).values(viewpoint=viewpoint)
    )
    return int(result.rowcount or 0)


def add_tag(session: Session, ids: Sequence[int], tag: str) -> None:
    """Label responses; a label already there stays once."""
    for response_id in ids:
        session.exec(  # type: ignore[call-overload]
            dialect_insert(session, ResponseTag)
            .values(response_id=response_id, tag=tag)
            .on_conflict_do_nothing(index_elements=["response_id", "tag"])
        )


def tags_for(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    """Each response's labels."""
    out: dict[int, list[str]] = {}
    if ids:
        rows = session.exec(
            select(ResponseTag)
            .where(col(ResponseTag.response_id).in_(list(ids)))
            .order_by(col(ResponseTag.tag))
        )
        for row in rows:
            out.setdefault(row.response_id, []).append(row.tag)
    return out


def create_concern(session: Session, title: str, created_by: str, now: datetime) -> Concern:
    """Start a named group of responses."""
    concern = Concern(title=title, created_by=created_by, created_at=now)
    session.add(concern)
    session.flush()
    return concern


def group(session: Session, concern_id: int, ids: Sequence[int]) -> None:
    """Put responses in a concern, moving them out of any other."""
    ids = list(ids)
    session.exec(  # type: ignore[call-overload]
        delete(ConcernResponse).where(col(ConcernResponse.response_id).in_(ids))
    )
    session.add_all(ConcernResponse(concern_id=concern_id, response_id=i) for i in ids)


def concern(session: Session, concern_id: int) -> Concern | None:
    """One concern by id."""
    return session.get(Concern, concern_id)


def concerns_for(session: Session, ids: Sequence[int]) -> dict[int, Concern]:
    """The concern each response belongs to, if any."""
    if not ids:
        return {}
    rows = session.exec(
        select(ConcernResponse.response_id, Concern)
        .join(Concern, col(Concern.id) == ConcernResponse.concern_id)
        .where(col(ConcernResponse.response_id).in_(list(ids)))
    )
    return {response_id: c for response_id, c in rows}


def concerns(session: Session) -> list[tuple[Concern, int]]:
    """Every concern with how many responses it holds, newest first."""
    count = func.count(col(ConcernResponse.id))
    stmt = (
        select(Concern, count)
        .join(ConcernResponse, col(ConcernResponse.concern_id) == Concern.id, isouter=True)
        .group_by(col(Concern.id))
        .order_by(col(Concern.id).desc())
    )
    return [(c, int(n)) for c, n in session.exec(stmt)]


def concern_response_ids(session: Session, concern_id: int) -> list[int]:
    """The ids of a concern's responses."""
    return list(
        session.exec(
            select(ConcernResponse.response_id)
            .where(ConcernResponse.concern_id == concern_id)
            .order_by(col(ConcernResponse.response_id))
        )
    )
