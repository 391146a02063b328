"""SQL for erasure, retention, legal holds and opt-out marks.

What is removed and what is kept is decided here in one place, so the resident's request,
an admin's erasure and the retention job cannot drift apart:

- removed: the address (phone number, chat id), consents, time zone, reminder area, links to
  other channels, link codes, the words of responses and of inbound messages, places typed,
  RSVP notes, the text of messages sent to the resident, and the recordings of their calls
  (here at once; at Twilio by the worker, `calls.recordings_to_delete`);
- kept: each response row with its topic, item, language, rating, flags and time, and the
  contact's channel, language and neighbourhood, so counts, charts and the public page do not
  jump; delivery outcomes of follow-ups; and, when the resident had said STOP, a keyed hash of
  the address (OptOutMark) so STOP is still honoured.

Anything on legal hold (the response, or a concern it is grouped into) is left as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from storage import calls
from storage.db import dialect_insert
from storage.meetings import aware
from storage.models import (
    ActionRecipient,
    Concern,
    ConcernResponse,
    Contact,
    ConversationSession,
    LinkCode,
    Message,
    OptOutMark,
    Outbox,
    Response,
    Rsvp,
    Translation,
)

REQUEST = "request"
RETENTION = "retention"
FINAL_OUTBOX = ("sent", "failed", "cancelled", "dropped")
ERASED_PREFIX = "erased-"
ANON_PREFIX = "anon-"


def _held() -> Any:
    """Responses on legal hold, directly or through a held concern."""
    held_concerns = (
        select(ConcernResponse.response_id)
        .join(Concern, col(Concern.id) == ConcernResponse.concern_id)
        .where(col(Concern.legal_hold_at).is_not(None))
    )
    return or_(col(Response.legal_hold_at).is_not(None), col(Response.id).in_(held_concerns))


def _held_messages() -> Any:
    """Inbound messages whose words a held response still needs."""
    return select(Response.message_id).where(_held(), col(Response.message_id).is_not(None))


def _held_calls(session: Session) -> set[str]:
    """Calls whose recording a held response still needs (its words were said in them)."""
    return calls.calls_of_messages(session, _held_messages())


def held_count(session: Session, contact_ids: Sequence[int]) -> int:
    """How many of these contacts' responses are on legal hold."""
    stmt = (
        select(func.count())
        .select_from(Response)
        .where(col(Response.contact_id).in_(contact_ids), _held())
    )
    return int(session.exec(stmt).one())  # type: ignore[call-overload]


# ---- erasure ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Erased:
    """What one erasure did."""

    contacts: int
    responses: int
    held: int


def linked_group(session: Session, contact_id: int) -> list[int]:
    """A contact and every contact linked with it (one resident on several channels)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return []
    root = contact.resident_id or contact_id
    stmt = select(Contact.id).where(or_(Contact.id == root, Contact.resident_id == root))
    group = {contact_id, *(i for i in session.exec(stmt) if i is not None)}
    return sorted(group | _texted_for_calls(session, group))


def _texted_for_calls(session: Session, ids: set[int]) -> set[int]:
    """A caller who asked to hear back by text, and the SMS contact that texts them: one
    resident, erased together (the texts were their request on the call)."""
    members = session.exec(select(Contact).where(col(Contact.id).in_(ids))).all()
    numbers = {c.address for c in members if c.channel in calls.PHONE_CHANNELS}
    if not numbers:
        return set()
    callers = select(Contact.address).where(
        col(Contact.channel) == calls.VOICE,
        col(Contact.follow_up_by) == calls.SMS,
        col(Contact.address).in_(numbers),
    )
    stmt = select(Contact.id).where(
        col(Contact.channel).in_(calls.PHONE_CHANNELS), col(Contact.address).in_(callers)
    )
    return {i for i in session.exec(stmt) if i is not None}


def erase_contacts(
    session: Session, contact_ids: Sequence[int], now: datetime, reason: str
) -> Erased:
    """Remove a resident's words and details now; the address goes once nothing is left to send."""
    ids = list(contact_ids)
    mine = col(Response.contact_id).in_(ids)
    held = held_count(session, ids)
    session.exec(  # type: ignore[call-overload]
        update(Response).where(mine, _held()).values(erasure_requested_at=now)
    )
    erased = session.exec(  # type: ignore[call-overload]
        update(Response)
        .where(mine, ~_held(), col(Response.erased_at).is_(None))
        .values(text="", place=None, follow_up_consent=False, erased_at=now, erased_reason=reason)
    ).rowcount
    session.exec(  # type: ignore[call-overload]
        update(Message)
        .where(col(Message.contact_id).in_(ids), col(Message.id).not_in(_held_messages()))
        .values(text="", media=None)
    )
    session.exec(  # type: ignore[call-overload]
        update(Outbox)
        .where(col(Outbox.contact_id).in_(ids), col(Outbox.status) == "pending")
        .values(status="cancelled", last_error="erased")
    )
    session.exec(  # type: ignore[call-overload]
        update(Outbox).where(col(Outbox.contact_id).in_(ids)).values(text="", choices=None)
    )
    session.exec(  # type: ignore[call-overload]
        update(Rsvp).where(col(Rsvp.contact_id).in_(ids)).values(text="")
    )
    session.exec(  # type: ignore[call-overload]
        delete(LinkCode).where(
            or_(col(LinkCode.contact_id).in_(ids), col(LinkCode.used_by).in_(ids))
        )
    )
    session.exec(  # type: ignore[call-overload]
        update(ConversationSession)
        .where(col(ConversationSession.contact_id).in_(ids))
        .values(state={}, status="idle", flow=None, expires_at=None)
    )
    session.exec(  # type: ignore[call-overload]
        update(Contact)
        .where(col(Contact.id).in_(ids))
        .values(
            follow_up_consent=False,
            reminder_consent=False,
            reminder_neighbourhood=None,
            timezone=None,
            resident_id=None,
            # The optional "who is heard" answers were given about themselves: they go too.
            age_band=None,
            years_here=None,
            erased_at=now,
            erased_reason=reason,
        )
    )
    _blank_translations(session)
    # Recordings of their calls leave the dashboard now, and Twilio at the worker's next run.
    calls.forget_recordings(session, ids, keep=_held_calls(session))
    return Erased(len(ids), int(erased or 0), held)


def _blank_translations(session: Session) -> None:
    """Erased words take their translations (and staff corrections) with them."""
    erased = select(Response.id).where(col(Response.erased_at).is_not(None))
    session.exec(  # type: ignore[call-overload]
        update(Translation)
        .where(
            col(Translation.response_id).in_(erased),
            or_(Translation.text != "", col(Translation.corrected_text).is_not(None)),
        )
        .values(text="", corrected_text=None)
    )


def wipe_addresses(session: Session) -> int:
    """Replace the address of erased contacts once no message to them is still to be sent.

    The confirmation of an erasure is itself a message to the address, so the address is the
    last thing to go: the worker's scheduled job calls this every few seconds.
    """
    pending = select(Outbox.contact_id).where(col(Outbox.status) == "pending")
    rows = session.exec(
        select(Contact.id).where(
            col(Contact.erased_at).is_not(None),
            col(Contact.address).not_like(f"{ERASED_PREFIX}%"),
            col(Contact.address).not_like(f"{ANON_PREFIX}%"),
            col(Contact.id).not_in(pending),
        )
    ).all()
    for contact_id in rows:
        session.exec(  # type: ignore[call-overload]
            update(Contact)
            .where(col(Contact.id) == contact_id)
            .values(address=f"{ERASED_PREFIX}{contact_id}-{uuid.uuid4().hex[:12]}")
        )
    return len(rows)


def opted_out_addresses(session: Session, contact_ids: Sequence[int]) -> list[tuple[str, str]]:
    """(channel, address) of the contacts among these that said STOP, before erasure."""
    stmt = select(Contact.channel, Contact.address).where(
        col(Contact.id).in_(contact_ids), col(Contact.opted_out_at).is_not(None)
    )
    return [(channel, address) for channel, address in session.exec(stmt)]


def add_mark(session: Session, key: str, now: datetime) -> None:
    """Remember an opted-out address by its keyed hash."""
    session.exec(  # type: ignore[call-overload]
        dialect_insert(session, OptOutMark)
        .values(key=key, created_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )


def has_mark(session: Session, key: str) -> bool:
    """Whether this keyed hash said STOP before being erased."""
    return session.exec(select(OptOutMark.id).where(OptOutMark.key == key)).first() is not None


def drop_mark(session: Session, key: str) -> None:
    """START: the resident asked to hear from us again."""
    session.exec(delete(OptOutMark).where(col(OptOutMark.key) == key))  # type: ignore[call-overload]


# ---- retention -------------------------------------------------------------------------------
def contacts_with_rows_before(session: Session, cutoff: datetime) -> list[int]:
    """Real (not yet erased) contacts with an unheld response from before the cutoff, or that
    have been silent since before it."""
    old = select(Response.contact_id).where(col(Response.created_at) < cutoff, ~_held())
    stmt = select(Contact.id).where(
        col(Contact.erased_at).is_(None),
        or_(
            col(Contact.id).in_(old),
            func.coalesce(col(Contact.last_seen_at), col(Contact.created_at)) < cutoff,
        ),
    )
    return [i for i in session.exec(stmt) if i is not None]


def unlink_before(session: Session, contact_id: int, cutoff: datetime, now: datetime) -> int:
    """Move a contact's unheld rows from before the cutoff to a new anonymous contact.

    The clone keeps channel, language and neighbourhood (what the charts count) and no address;
    returns how many responses moved. A contact silent since before the cutoff, with nothing
    held, is erased in place instead (by the caller) once its rows have moved.
    """
    contact = session.get(Contact, contact_id)
    assert contact is not None
    moving = session.exec(
        select(Response.id).where(
            Response.contact_id == contact_id, col(Response.created_at) < cutoff, ~_held()
        )
    ).all()
    if not moving:
        return 0
    clone = Contact(
        channel=contact.channel,
        address=f"{ANON_PREFIX}{uuid.uuid4().hex}",
        language=contact.language,
        neighbourhood=contact.neighbourhood,
        created_at=now,
        erased_at=now,
        erased_reason=RETENTION,
    )
    session.add(clone)
    session.flush()
    assert clone.id is not None
    session.exec(  # type: ignore[call-overload]
        update(Response).where(col(Response.id).in_(moving)).values(contact_id=clone.id)
    )
    session.exec(  # type: ignore[call-overload]
        update(Message)
        .where(
            Message.contact_id == contact_id,
            col(Message.created_at) < cutoff,
            col(Message.id).not_in(_held_messages()),
        )
        .values(contact_id=clone.id)
    )
    old_outbox = select(Outbox.id).where(
        Outbox.contact_id == contact_id,
        col(Outbox.created_at) < cutoff,
        col(Outbox.status).in_(FINAL_OUTBOX),
    )
    session.exec(  # type: ignore[call-overload]
        update(ActionRecipient)
        .where(col(ActionRecipient.outbox_id).in_(old_outbox))
        .values(contact_id=clone.id)
    )
    session.exec(  # type: ignore[call-overload]
        update(Outbox).where(col(Outbox.id).in_(old_outbox)).values(contact_id=clone.id)
    )
    session.exec(  # type: ignore[call-overload]
        update(Rsvp)
        .where(Rsvp.contact_id == contact_id, col(Rsvp.updated_at) < cutoff)
        .values(contact_id=clone.id, text="")
    )
    return len(moving)


def is_silent_since(session: Session, contact_id: int, cutoff: datetime) -> bool:
    """Silent since before the cutoff, with nothing on hold: the whole contact can go."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return False
    silent = aware(contact.last_seen_at or contact.created_at) < cutoff
    return silent and held_count(session, [contact_id]) == 0


def words_before(session: Session, cutoff: datetime) -> int:
    """How many responses' words would be removed by `remove_words_before`."""
    stmt = select(func.count()).select_from(Response).where(*_words_due(cutoff))
    return int(session.exec(stmt).one())  # type: ignore[call-overload]


def _words_due(cutoff: datetime) -> tuple[Any, ...]:
    return (col(Response.created_at) < cutoff, ~_held(), col(Response.erased_at).is_(None))


def remove_words_before(session: Session, cutoff: datetime, now: datetime) -> int:
    """Blank the words of unheld responses, inbound messages and RSVP notes before the cutoff."""
    removed = session.exec(  # type: ignore[call-overload]
        update(Response)
        .where(*_words_due(cutoff))
        .values(text="", place=None, erased_at=now, erased_reason=RETENTION)
    ).rowcount
    session.exec(  # type: ignore[call-overload]
        update(Message)
        .where(col(Message.created_at) < cutoff, col(Message.id).not_in(_held_messages()))
        .values(text="", media=None)
    )
    session.exec(  # type: ignore[call-overload]
        update(Rsvp).where(col(Rsvp.updated_at) < cutoff).values(text="")
    )
    _blank_translations(session)
    # A call's voice goes with its words, and stays with words on legal hold.
    calls.forget_recordings_before(session, cutoff, keep=_held_calls(session))
    return int(removed or 0)


# ---- legal hold and counts --------------------------------------------------------------------
def set_response_hold(session: Session, response_id: int, at: datetime | None) -> bool:
    """Put a response on legal hold (a time) or release it (None); False if there is none."""
    result = session.exec(  # type: ignore[call-overload]
        update(Response).where(col(Response.id) == response_id).values(legal_hold_at=at)
    )
    return bool(result.rowcount)


def set_concern_hold(session: Session, concern_id: int, at: datetime | None) -> bool:
    """Hold (or release) a concern and so every response grouped into it."""
    result = session.exec(  # type: ignore[call-overload]
        update(Concern).where(col(Concern.id) == concern_id).values(legal_hold_at=at)
    )
    return bool(result.rowcount)


def is_held(session: Session, response_id: int) -> bool:
    """Whether a response is on hold, directly or through its concern."""
    stmt = select(Response.id).where(col(Response.id) == response_id, _held())
    return session.exec(stmt).first() is not None


def responses_held(session: Session) -> int:
    """Responses whose words Townline still holds (the public page's first number)."""
    stmt = select(func.count()).select_from(Response).where(col(Response.erased_at).is_(None))
    return int(session.exec(stmt).one())  # type: ignore[call-overload]


def held_total(session: Session) -> int:
    """Every response on legal hold."""
    stmt = select(func.count()).select_from(Response).where(_held())
    return int(session.exec(stmt).one())  # type: ignore[call-overload]


def old_response_count(session: Session, contact_id: int, cutoff: datetime) -> int:
    """A contact's unheld responses from before the cutoff (a dry run's count)."""
    stmt = (
        select(func.count())
        .select_from(Response)
        .where(Response.contact_id == contact_id, col(Response.created_at) < cutoff, ~_held())
    )
    return int(session.exec(stmt).one())  # type: ignore[call-overload]
