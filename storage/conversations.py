"""SQL for contacts, inbound messages, sessions and responses: what one inbound turn writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, update
from sqlmodel import Session, col, select

from storage.db import dialect_insert
from storage.models import Contact, ConversationSession, Meeting, Message, Response


def get_or_create_contact(session: Session, channel: str, address: str, now: datetime) -> Contact:
    """One row per channel and address, created on first contact even under concurrency."""
    return find_or_add_contact(session, channel, address, now)[0]


def find_or_add_contact(
    session: Session, channel: str, address: str, now: datetime
) -> tuple[Contact, bool]:
    """The contact for an address and whether this call created it.

    A resident who has written before costs one SELECT; only a first message pays for the
    INSERT … ON CONFLICT (which another turn may win: then this one finds its row).
    """
    found = find_contact(session, channel, address)
    if found is not None:
        return found, False
    stmt = (
        dialect_insert(session, Contact)
        .values(channel=channel, address=address, created_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "address"])
        .returning(col(Contact.id))
    )
    created = session.exec(stmt).scalar_one_or_none()  # type: ignore[call-overload]
    contact = find_contact(session, channel, address)
    assert contact is not None
    return contact, created is not None


def channel_of(session: Session, contact_id: int) -> str:
    """The channel a contact is on."""
    return session.exec(select(Contact.channel).where(Contact.id == contact_id)).one()


def find_contact(session: Session, channel: str, address: str) -> Contact | None:
    """The contact for an address, if it has ever written."""
    return session.exec(
        select(Contact).where(Contact.channel == channel, Contact.address == address)
    ).first()


def record_inbound(
    session: Session,
    *,
    contact_id: int,
    channel: str,
    provider_id: str | None,
    text: str,
    media: Sequence[str],
    now: datetime,
) -> int | None:
    """Store an inbound message; None when the provider already delivered this id (a retry)."""
    stmt = (
        dialect_insert(session, Message)
        .values(
            contact_id=contact_id,
            channel=channel,
            provider_id=provider_id,
            text=text,
            media=list(media) or None,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(Message.id)  # type: ignore[arg-type]
    )
    return session.exec(stmt).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]


def inbound_seen(session: Session, channel: str, provider_id: str) -> bool:
    """Whether a provider's message id has already been stored."""
    row = session.exec(
        select(Message.id).where(Message.channel == channel, Message.provider_id == provider_id)
    ).first()
    return row is not None


def load_session(session: Session, contact_id: int) -> ConversationSession:
    """The contact's session row, created empty the first time, locked until commit."""
    # FOR UPDATE queues a contact's simultaneous turns on PostgreSQL (SQLite's BEGIN IMMEDIATE
    # already does); the version compare-and-set in save_session stays as the safety net.
    locked = (
        select(ConversationSession)
        .where(ConversationSession.contact_id == contact_id)
        .with_for_update()
    )
    row = session.exec(locked).first()
    if row is not None:
        return row
    stmt = (
        dialect_insert(session, ConversationSession)
        .values(contact_id=contact_id, state={}, status="idle", version=0)
        .on_conflict_do_nothing(index_elements=["contact_id"])
    )
    session.exec(stmt)  # type: ignore[call-overload]
    return session.exec(locked).one()


def session_stage(session: Session, contact_id: int) -> str | None:
    """Where the contact's conversation stands (a call asks its next question by it)."""
    state = session.exec(
        select(ConversationSession.state).where(ConversationSession.contact_id == contact_id)
    ).first()
    return str(state.get("stage", "idle")) if isinstance(state, dict) else None


def save_session(
    session: Session,
    row: ConversationSession,
    *,
    state: dict[str, Any],
    status: str,
    flow: str | None,
    expires_at: datetime | None,
    now: datetime,
) -> bool:
    """Compare-and-set on `version`: False if another turn for this contact got there first."""
    result = session.exec(  # type: ignore[call-overload]
        update(ConversationSession)
        .where(
            and_(
                col(ConversationSession.id) == row.id,
                col(ConversationSession.version) == row.version,
            )
        )
        .values(
            state=state,
            status=status,
            flow=flow,
            expires_at=expires_at,
            version=row.version + 1,
            updated_at=now,
        )
    )
    return bool(result.rowcount == 1)


def add_response(session: Session, **values: Any) -> Response:
    """Keep one thing a resident said."""
    response = Response(**values)
    session.add(response)
    return response


def tag_conversation(session: Session, conversation: str, **values: Any) -> None:
    """Set topic, place, consent or flags on every response of a conversation."""
    if values:
        session.exec(  # type: ignore[call-overload]
            update(Response).where(col(Response.conversation) == conversation).values(**values)
        )


def update_contact(session: Session, contact_id: int, **values: Any) -> None:
    """Change a contact's stored preferences or consent."""
    session.exec(  # type: ignore[call-overload]
        update(Contact).where(col(Contact.id) == contact_id).values(**values)
    )


def upcoming_meetings(session: Session, now: datetime, limit: int = 3) -> list[Meeting]:
    """The next few meetings, soonest first."""
    return list(
        session.exec(
            select(Meeting)
            .where(Meeting.starts_at >= now)
            .order_by(col(Meeting.starts_at))
            .limit(limit)
        )
    )


def list_responses(session: Session, limit: int | None = None) -> list[tuple[Response, Contact]]:
    """Responses with their contact, oldest first, for export."""
    stmt = (
        select(Response, Contact)
        .join(Contact, col(Contact.id) == Response.contact_id)
        .order_by(col(Response.id))
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(session.exec(stmt))


def count_rows(session: Session, model: Any) -> int:
    """How many rows a table holds (health checks and tests)."""
    return int(session.exec(select(func.count()).select_from(model)).one())


def is_erased(session: Session, contact_id: int) -> bool:
    """Whether a contact's data has been erased (or cut loose by retention)."""
    erased = session.exec(select(Contact.erased_at).where(Contact.id == contact_id)).first()
    return erased is not None
