"""SQL for "who is heard": the community's own shares, who spoke, and the listening prompts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage.links import RESIDENT
from storage.models import Broadcast, CommunityShare, Contact, Response

# One resident may write from several channels: linked contacts point at the first one.


def shares(session: Session, dimension: str | None = None) -> list[CommunityShare]:
    """The community's figures, by dimension then value."""
    stmt = select(CommunityShare).order_by(col(CommunityShare.dimension), col(CommunityShare.value))
    if dimension is not None:
        stmt = stmt.where(CommunityShare.dimension == dimension)
    return list(session.exec(stmt))


def share(session: Session, share_id: int) -> CommunityShare | None:
    return session.get(CommunityShare, share_id)


def add_share(session: Session, **values: Any) -> CommunityShare:
    """Store one group's figure and give it an id; the caller checked it is new."""
    row = CommunityShare(**values)
    session.add(row)
    session.flush()
    return row


def update_share(session: Session, share_id: int, **values: Any) -> None:
    session.exec(  # type: ignore[call-overload]
        update(CommunityShare).where(col(CommunityShare.id) == share_id).values(**values)
    )


def delete_share(session: Session, share_id: int) -> None:
    session.exec(  # type: ignore[call-overload]
        delete(CommunityShare).where(col(CommunityShare.id) == share_id)
    )


def respondents(
    session: Session,
    since: datetime,
    hide: tuple[str, ...] = (),
    partner_id: int | None = None,
    prompt_id: int | None = None,
) -> list[tuple[int, int, str | None, str | None, str | None]]:
    """Every contact of each resident who said something since `since` (erased words count:
    the resident still spoke), as (resident, contact, language, neighbourhood, age band).

    All of a resident's contacts come back, not only the one that wrote, because an answer
    given on one channel (an age band by SMS) describes the resident on every channel.
    """
    spoke = (
        select(RESIDENT)
        .select_from(Response)
        .join(Contact, col(Contact.id) == Response.contact_id)
        .where(col(Response.created_at) >= since)
    )
    if hide:
        spoke = spoke.where(col(Contact.channel).not_in(hide))
    if partner_id is not None:
        spoke = spoke.where(Response.partner_id == partner_id)
    if prompt_id is not None:
        spoke = spoke.where(Response.prompt_id == prompt_id)
    stmt = select(
        RESIDENT, Contact.id, Contact.language, Contact.neighbourhood, Contact.age_band
    ).where(RESIDENT.in_(spoke.distinct()))
    if hide:
        stmt = stmt.where(col(Contact.channel).not_in(hide))
    return [(int(r), int(c), lang, place, age) for r, c, lang, place, age in session.exec(stmt)]


def prompts(session: Session) -> list[Broadcast]:
    """Listening prompts, newest first: the filter a table can be narrowed to."""
    stmt = select(Broadcast).where(col(Broadcast.is_prompt).is_(True))
    return list(session.exec(stmt.order_by(col(Broadcast.send_at).desc(), col(Broadcast.id))))


def prompt(session: Session, prompt_id: int) -> Broadcast | None:
    """A listening prompt by id; None when there is none or the broadcast is not a prompt."""
    row = session.get(Broadcast, prompt_id)
    return row if row is not None and row.is_prompt else None
