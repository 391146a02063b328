"""SQL for phone calls: a row per call, its turn counter, its recording, and who else the
number is (a phone number texts and calls: one opt-out covers both, as US law requires)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.db import dialect_insert
from storage.models import Contact, Message, Response, VoiceCall

VOICE = "voice"
SMS = "sms"
# Channels whose address is a phone number: a STOP on one is a STOP on the other.
PHONE_CHANNELS = (SMS, VOICE)
INBOUND, OUTBOUND = "inbound", "outbound"


def start(
    session: Session,
    *,
    call_sid: str,
    contact_id: int | None,
    direction: str,
    now: datetime,
    language: str | None = None,
    outbox_id: int | None = None,
) -> VoiceCall:
    """The call's row, made on its first webhook; a redelivered webhook finds the same row."""
    row = by_sid(session, call_sid)
    if row is not None:
        return row
    values = {
        "call_sid": call_sid,
        "contact_id": contact_id,
        "direction": direction,
        "language": language,
        "outbox_id": outbox_id,
        "turns": 0,
        "started_at": now,
    }
    stmt = dialect_insert(session, VoiceCall).values(**values).on_conflict_do_nothing()
    session.execute(stmt)
    found = by_sid(session, call_sid)
    assert found is not None
    return found


def by_sid(session: Session, call_sid: str) -> VoiceCall | None:
    return session.exec(select(VoiceCall).where(col(VoiceCall.call_sid) == call_sid)).first()


def placed_for(session: Session, outbox_id: int) -> int:
    """How many calls were placed for one queued message (a rate-limited send placed none)."""
    stmt = select(VoiceCall.id).where(col(VoiceCall.outbox_id) == outbox_id)
    return len(session.exec(stmt).all())


def by_id(session: Session, call_id: int) -> VoiceCall | None:
    return session.get(VoiceCall, call_id)


def next_turn(session: Session, call_sid: str) -> int:
    """The next turn's number: the provider id `CallSid:turn` makes a redelivery a duplicate."""
    result = session.execute(
        update(VoiceCall)
        .where(col(VoiceCall.call_sid) == call_sid)
        .values(turns=col(VoiceCall.turns) + 1)
        .returning(VoiceCall.turns)
    ).first()
    return int(result[0]) if result else 1


def set_language(session: Session, call_sid: str, language: str) -> None:
    session.execute(
        update(VoiceCall).where(col(VoiceCall.call_sid) == call_sid).values(language=language)
    )


def set_status(
    session: Session, call_sid: str, status: str, answered_by: str | None = None
) -> VoiceCall | None:
    """Twilio's last word on the call (completed, busy, no-answer …) and who picked up."""
    values: dict[str, str] = {"status": status}
    if answered_by:
        values["answered_by"] = answered_by
    session.execute(update(VoiceCall).where(col(VoiceCall.call_sid) == call_sid).values(**values))
    return by_sid(session, call_sid)


def set_recording(
    session: Session, call_sid: str, *, sid: str, url: str, seconds: int | None
) -> bool:
    """Keep the call's recording; False when the call is unknown or its words were erased."""
    row = by_sid(session, call_sid)
    if row is None or row.contact_id is None:
        return False
    contact = session.get(Contact, row.contact_id)
    if contact is not None and contact.erased_at is not None:
        # The resident asked for their data to go while the call was being recorded.
        row.recording_delete_sid = sid
    else:
        row.recording_sid, row.recording_url, row.recording_seconds = sid, url, seconds
    session.add(row)
    return True


def recordings_for_messages(session: Session, message_ids: Iterable[int]) -> dict[int, VoiceCall]:
    """The recorded call each voice message belongs to, by message id (only calls recorded)."""
    ids = list(message_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(Message.id, Message.provider_id).where(
            col(Message.id).in_(ids), col(Message.channel) == VOICE
        )
    ).all()
    by_call: dict[str, list[int]] = {}
    for message_id, provider_id in rows:
        if provider_id and message_id is not None:
            by_call.setdefault(provider_id.split(":", 1)[0], []).append(message_id)
    if not by_call:
        return {}
    calls = session.exec(
        select(VoiceCall).where(
            col(VoiceCall.call_sid).in_(list(by_call)), col(VoiceCall.recording_sid).is_not(None)
        )
    ).all()
    return {m: call for call in calls for m in by_call[call.call_sid]}


def forget_recordings(
    session: Session, contact_ids: Sequence[int], keep: Collection[str] = ()
) -> int:
    """Erasure: recordings leave the dashboard now, and Twilio at the worker's next run.

    `keep` names calls (by SID) whose words are on legal hold: their voice is kept with them.
    """
    calls = session.exec(
        select(VoiceCall).where(
            col(VoiceCall.contact_id).in_(list(contact_ids)),
            col(VoiceCall.recording_sid).is_not(None),
        )
    ).all()
    return _forget(session, [c for c in calls if c.call_sid not in keep])


def forget_recordings_before(session: Session, cutoff: datetime, keep: Collection[str] = ()) -> int:
    """Retention: recordings of calls older than the cutoff, as words are blanked (but not
    those of held calls, named in `keep`)."""
    calls = session.exec(
        select(VoiceCall).where(
            col(VoiceCall.started_at) < cutoff, col(VoiceCall.recording_sid).is_not(None)
        )
    ).all()
    return _forget(session, [c for c in calls if c.call_sid not in keep])


def calls_of_messages(session: Session, message_ids: Any) -> set[str]:
    """The SIDs of the calls some voice messages (a select of message ids) were said in."""
    rows = session.exec(
        select(Message.provider_id).where(
            col(Message.channel) == VOICE, col(Message.id).in_(message_ids)
        )
    ).all()
    return {p.split(":", 1)[0] for p in rows if p}


def _forget(session: Session, calls: Sequence[VoiceCall]) -> int:
    for call in calls:
        call.recording_delete_sid = call.recording_sid
        call.recording_sid = call.recording_url = None
        call.recording_seconds = None
        session.add(call)
    return len(calls)


def recordings_to_delete(session: Session, limit: int = 50) -> list[tuple[int, str]]:
    """(call id, recording SID) still to delete at Twilio."""
    rows = session.exec(
        select(VoiceCall.id, VoiceCall.recording_delete_sid)
        .where(col(VoiceCall.recording_delete_sid).is_not(None))
        .limit(limit)
    ).all()
    return [(int(i), str(s)) for i, s in rows if i is not None and s]


def recording_deleted(session: Session, call_id: int) -> None:
    session.execute(
        update(VoiceCall).where(col(VoiceCall.id) == call_id).values(recording_delete_sid=None)
    )


def phone_twins(session: Session, contact: Contact) -> list[Contact]:
    """The same phone number on the other phone channel (SMS for a caller, voice for a texter)."""
    if contact.channel not in PHONE_CHANNELS:
        return []
    others = [c for c in PHONE_CHANNELS if c != contact.channel]
    return list(
        session.exec(
            select(Contact).where(
                col(Contact.channel).in_(others),
                col(Contact.address) == contact.address,
                col(Contact.erased_at).is_(None),
            )
        ).all()
    )


def opt_out_twins(session: Session, contact: Contact, now: datetime) -> int:
    """A STOP by text stops calls to that number, and one by keypad stops texts (FCC rule
    since April 2026): the number's other phone contact opts out too, its queue cancelled."""
    from storage import outbox
    from storage.conversations import update_contact

    twins = [t for t in phone_twins(session, contact) if t.opted_out_at is None]
    for twin in twins:
        assert twin.id is not None
        update_contact(session, twin.id, opted_out_at=now)
        outbox.cancel_pending_for(session, twin.id, "opted out", ())
    return len(twins)


def twin_opted_out(session: Session, contact: Contact) -> bool:
    """Whether the number said STOP on its other phone channel (a new caller inherits it)."""
    return any(t.opted_out_at is not None for t in phone_twins(session, contact))


# ---- hearing back by text ------------------------------------------------------------------


def may_ask_by_text(session: Session, contact_id: int) -> bool:
    """A caller who agreed to hear back (a follow-up, meeting reminders), from a number that
    can take texts, and who has not yet said whether by call or by text."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.channel != VOICE or contact.follow_up_by is not None:
        return False
    if contact.opted_out_at is not None or not contact.address.startswith("+"):
        return False  # stopped, or a withheld number ("anonymous:CA…")
    if contact.reminder_consent:
        return True
    # Their latest concern: one who just said no to hearing back is not asked how.
    latest = (
        select(Response.follow_up_consent)
        .where(col(Response.contact_id) == contact_id)
        .order_by(col(Response.id).desc())
        .limit(1)
    )
    return bool(session.exec(latest).first())


def hear_back_by(session: Session, contact_id: int, texts: Contact | None) -> bool:
    """Record how a caller wants to hear back: by call (`texts` None), or by text through
    the number's SMS contact, which takes their meeting reminders; follow-ups are sent to it
    (`follow_up_contact`). False when that contact cannot be texted (it said STOP): calls stay.
    """
    from storage.conversations import update_contact

    contact = session.get(Contact, contact_id)
    assert contact is not None
    if texts is None or texts.opted_out_at or texts.unreachable_at or texts.erased_at:
        update_contact(session, contact_id, follow_up_by=VOICE)
        return texts is None
    assert texts.id is not None
    subscribed, area, language = (
        contact.reminder_consent,
        contact.reminder_neighbourhood,
        contact.language,
    )
    update_contact(session, contact_id, follow_up_by=SMS, reminder_consent=False)
    if subscribed:
        update_contact(session, texts.id, reminder_consent=True, reminder_neighbourhood=area)
    if texts.language is None and language is not None:
        update_contact(session, texts.id, language=language, language_source="explicit")
    return True


def reminders_by_text(session: Session, contact_id: int) -> bool:
    """A caller who chose texts and subscribes to reminders again on a call: the
    subscription goes to their texts as before, not to calls as well (one reminder each)."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.follow_up_by != SMS or not contact.reminder_consent:
        return False
    texts = follow_up_contact(session, contact)
    if texts is contact:
        return False  # the texts stopped since: calls it is
    return hear_back_by(session, contact_id, texts)


def follow_up_contact(session: Session, contact: Contact) -> Contact:
    """Whom a follow-up goes to: a caller who asked for texts, through their SMS contact (if
    it can still be texted); anyone else, themselves."""
    if contact.channel != VOICE or contact.follow_up_by != SMS:
        return contact
    for twin in phone_twins(session, contact):
        if twin.channel == SMS and not (twin.opted_out_at or twin.unreachable_at):
            return twin
    return contact
