"""SQL for actions: what the agency did, the responses it answers, and who was told."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.links import RESIDENT
from storage.models import (
    Action,
    ActionRecipient,
    ActionResponse,
    Contact,
    Outbox,
    Partner,
    Response,
)


def create(
    session: Session,
    *,
    title: str,
    messages: dict[str, str],
    response_ids: Sequence[int],
    created_by: str,
    now: datetime,
    concern_id: int | None = None,
    include_sensitive: Sequence[int] = (),
) -> Action:
    """A draft action answering some responses."""
    action = Action(
        title=title,
        messages=dict(messages),
        concern_id=concern_id,
        created_by=created_by,
        created_at=now,
    )
    session.add(action)
    session.flush()
    assert action.id is not None
    included = set(include_sensitive)
    session.add_all(
        ActionResponse(action_id=action.id, response_id=i, include_sensitive=i in included)
        for i in dict.fromkeys(response_ids)
    )
    session.flush()
    return action


def get(session: Session, action_id: int) -> Action | None:
    """One action by id."""
    return session.get(Action, action_id)


def update_text(session: Session, action_id: int, title: str, messages: dict[str, str]) -> None:
    """Change a draft's title and messages (a new dict, so the JSON column is saved)."""
    session.exec(  # type: ignore[call-overload]
        update(Action)
        .where(col(Action.id) == action_id, col(Action.status) == "draft")
        .values(title=title, messages=dict(messages))
    )


def update_messages(
    session: Session, action_id: int, *, messages: dict[str, str], drafts: dict[str, Any]
) -> None:
    """Replace a draft's messages and its machine-drafted languages' review state."""
    session.exec(  # type: ignore[call-overload]
        update(Action)
        .where(col(Action.id) == action_id, col(Action.status) == "draft")
        .values(messages=dict(messages), drafts=dict(drafts))
    )


def set_included(session: Session, action_id: int, response_ids: Sequence[int]) -> None:
    """Record which sensitive responses staff chose, one by one, to follow up."""
    session.exec(  # type: ignore[call-overload]
        update(ActionResponse)
        .where(col(ActionResponse.action_id) == action_id)
        .values(include_sensitive=col(ActionResponse.response_id).in_(list(response_ids)))
    )


def responses(session: Session, action_id: int) -> list[tuple[ActionResponse, Response, Contact]]:
    """The responses an action answers, with the residents who wrote them."""
    stmt = (
        select(ActionResponse, Response, Contact)
        .join(Response, col(Response.id) == ActionResponse.response_id)
        .join(Contact, col(Contact.id) == Response.contact_id)
        .where(ActionResponse.action_id == action_id)
        .order_by(col(Response.id))
    )
    return list(session.exec(stmt))


def mark_published(session: Session, action_id: int, now: datetime, topic: str | None) -> bool:
    """Draft to published, once: False if it was already published (a double click)."""
    result = session.exec(  # type: ignore[call-overload]
        update(Action)
        .where(col(Action.id) == action_id, col(Action.status) == "draft")
        .values(status="published", published_at=now, topic=topic)
    )
    return bool(result.rowcount == 1)


def add_recipient(
    session: Session, *, action_id: int, contact_id: int, outbox_id: int, language: str
) -> None:
    """Link a resident's follow-up outbox row to the action."""
    session.add(
        ActionRecipient(
            action_id=action_id, contact_id=contact_id, outbox_id=outbox_id, language=language
        )
    )


def recipients(session: Session, action_id: int) -> list[tuple[ActionRecipient, Outbox, Contact]]:
    """Who was told, with the outbox row's status and the provider's delivery status."""
    stmt = (
        select(ActionRecipient, Outbox, Contact)
        .join(Outbox, col(Outbox.id) == ActionRecipient.outbox_id)
        .join(Contact, col(Contact.id) == ActionRecipient.contact_id)
        .where(ActionRecipient.action_id == action_id)
        .order_by(col(ActionRecipient.id))
    )
    return list(session.exec(stmt))


def listing(session: Session) -> list[Action]:
    """Every action, newest first."""
    return list(session.exec(select(Action).order_by(col(Action.id).desc())))


def published_with_residents(session: Session) -> list[tuple[Action, int]]:
    """Published actions, newest first, with how many residents raised what each answers."""
    residents = func.count(func.distinct(col(Response.contact_id)))
    stmt = (
        select(Action, residents)
        .join(ActionResponse, col(ActionResponse.action_id) == Action.id, isouter=True)
        .join(Response, col(Response.id) == ActionResponse.response_id, isouter=True)
        .where(Action.status == "published")
        .group_by(col(Action.id))
        .order_by(col(Action.published_at).desc(), col(Action.id).desc())
    )
    return [(a, int(n)) for a, n in session.exec(stmt)]


def consenting_partners(
    session: Session, action_ids: Sequence[int], at_least: int
) -> dict[int, list[str]]:
    """Per action, the names of the partners whose residents raised what it answers: only
    partners that agreed to be named in public, are not archived, and have at least
    `at_least` residents behind it (beside "raised by 1 resident", a name would say whose
    member that was), by name."""
    if not action_ids:
        return {}
    stmt = (
        select(ActionResponse.action_id, Partner.name)
        .join(Response, col(Response.id) == ActionResponse.response_id)
        .join(Contact, col(Contact.id) == Response.contact_id)
        .join(Partner, col(Partner.id) == Response.partner_id)
        .where(
            col(ActionResponse.action_id).in_(list(action_ids)),
            col(Partner.public_consent).is_(True),
            col(Partner.archived_at).is_(None),
        )
        .group_by(col(ActionResponse.action_id), col(Partner.id), col(Partner.name))
        .having(func.count(func.distinct(RESIDENT)) >= at_least)
        .order_by(col(Partner.name))
    )
    named: dict[int, list[str]] = {}
    for action_id, name in session.exec(stmt):
        named.setdefault(action_id, []).append(name)
    return named
