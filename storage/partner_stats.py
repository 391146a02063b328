"""SQL for a partner's own view: what residents who came through it raised, never who they are.

Every query here returns topics, languages, times, concern titles and action messages only:
no address, contact id or resident's words leave this module, so no page built on it can
show them by mistake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.links import RESIDENT
from storage.models import (
    Action,
    Concern,
    ConcernResponse,
    Contact,
    Response,
)


def _through(stmt: Any, partner_id: int, hide: tuple[str, ...]) -> Any:
    """Responses said through the partner, joined to their contact, hidden channels left out."""
    stmt = stmt.join(Contact, col(Contact.id) == Response.contact_id).where(
        col(Response.partner_id) == partner_id
    )
    return stmt.where(col(Contact.channel).not_in(hide)) if hide else stmt


def response_facets(
    session: Session, partner_id: int, hide: tuple[str, ...] = ()
) -> list[tuple[int, str | None, str | None, datetime]]:
    """Per response: an opaque resident key (for counting people), topic, language and time.

    The key only tells responses of one person apart from another's; callers count it and
    never show it.
    """
    stmt = select(RESIDENT, Response.topic, Response.language, Response.created_at)
    stmt = _through(stmt.select_from(Response), partner_id, hide)
    return [(int(key), topic, lang, at) for key, topic, lang, at in session.exec(stmt)]


def concerns_raised(
    session: Session, partner_id: int, hide: tuple[str, ...] = ()
) -> list[tuple[Concern, int]]:
    """Concerns that group at least one response said through the partner, with how many of
    the partner's residents are in each, newest first."""
    residents = func.count(func.distinct(RESIDENT))
    stmt = (
        select(Concern, residents)
        .select_from(Response)
        .join(ConcernResponse, col(ConcernResponse.response_id) == Response.id)
        .join(Concern, col(Concern.id) == ConcernResponse.concern_id)
    )
    stmt = _through(stmt, partner_id, hide).group_by(col(Concern.id))
    stmt = stmt.order_by(col(Concern.id).desc())
    return [(concern, int(n)) for concern, n in session.exec(stmt)]


def published_actions(session: Session, concern_ids: list[int]) -> list[Action]:
    """Published actions on those concerns, oldest first (the order things were done in)."""
    stmt = (
        select(Action)
        .where(Action.status == "published", col(Action.concern_id).in_(concern_ids))
        .order_by(col(Action.published_at), col(Action.id))
    )
    return list(session.exec(stmt))
