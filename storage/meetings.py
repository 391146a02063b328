"""SQL for meetings, their reminders and RSVPs, and what a resident was last asked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from storage.db import dialect_insert
from storage.models import Broadcast, Contact, Meeting, MeetingSeries, Outbox, Reminder, Rsvp

PENDING, QUEUED, SKIPPED, STALE = "pending", "queued", "skipped", "stale"


def aware(value: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def add_series(session: Session, title: str, now: datetime) -> MeetingSeries:
    """A named series the occurrences point at."""
    series = MeetingSeries(title=title, created_at=now)
    session.add(series)
    session.flush()
    return series


def add_meeting(session: Session, **values: Any) -> Meeting:
    """Store a meeting (times in UTC) and give it an id."""
    meeting = Meeting(**values)
    session.add(meeting)
    session.flush()
    return meeting


def add_reminder(
    session: Session, meeting_id: int, offset: str, due_at: datetime, status: str
) -> None:
    """One timer row per meeting and offset."""
    session.add(
        Reminder(meeting_id=meeting_id, offset=offset, due_at=due_at.astimezone(UTC), status=status)
    )


def get_meeting(session: Session, meeting_id: int) -> Meeting | None:
    """A meeting by id."""
    return session.get(Meeting, meeting_id)


def due_reminders(session: Session, now: datetime, limit: int = 100) -> list[Reminder]:
    """Reminders whose time has come, oldest first."""
    return list(
        session.exec(
            sm_select(Reminder)
            .where(Reminder.status == PENDING, col(Reminder.due_at) <= now)
            .order_by(col(Reminder.due_at), col(Reminder.id))
            .limit(limit)
        )
    )


def take_reminder(session: Session, reminder_id: int, status: str, **values: Any) -> bool:
    """Move a pending reminder on; False if another process already did (it stays single)."""
    result = session.exec(  # type: ignore[call-overload]
        update(Reminder)
        .where(col(Reminder.id) == reminder_id, col(Reminder.status) == PENDING)
        .values(status=status, **values)
    )
    return bool(result.rowcount == 1)


def set_reminder_recipients(session: Session, reminder_id: int, count: int) -> None:
    """Record how many residents a queued reminder reached."""
    session.exec(  # type: ignore[call-overload]
        update(Reminder).where(col(Reminder.id) == reminder_id).values(recipients=count)
    )


def reminder_audience(meeting: Meeting) -> Select[Any]:
    """Subscribed, reachable residents; one who chose a neighbourhood hears only of its meetings."""
    query = select(Contact.id, Contact.channel, Contact.language).where(
        col(Contact.reminder_consent).is_(True),
        col(Contact.opted_out_at).is_(None),
        col(Contact.unreachable_at).is_(None),
        col(Contact.erased_at).is_(None),
    )
    if meeting.neighbourhood:
        query = query.where(
            or_(
                col(Contact.reminder_neighbourhood).is_(None),
                func.lower(col(Contact.reminder_neighbourhood)) == meeting.neighbourhood.lower(),
            )
        )
    return query


def save_rsvp(
    session: Session,
    *,
    meeting_id: int,
    contact_id: int,
    attending: bool,
    party: int | None,
    text: str,
    now: datetime,
) -> None:
    """Keep the resident's latest answer for a meeting (one row per meeting and resident)."""
    values = {"attending": attending, "party": party, "text": text[:500], "updated_at": now}
    stmt = (
        dialect_insert(session, Rsvp)
        .values(meeting_id=meeting_id, contact_id=contact_id, **values)
        .on_conflict_do_update(index_elements=["meeting_id", "contact_id"], set_=values)
    )
    session.exec(stmt)  # type: ignore[call-overload]


def rsvp_counts(session: Session, meeting_id: int) -> dict[str, int]:
    """Yes and no answers, and how many people are coming (a number counts as that many)."""
    rows = session.exec(
        sm_select(Rsvp.attending, Rsvp.party).where(Rsvp.meeting_id == meeting_id)
    ).all()
    yes = [party for attending, party in rows if attending]
    return {
        "yes": len(yes),
        "no": sum(1 for attending, _ in rows if not attending),
        "people": sum(party or 1 for party in yes),
    }


def reminder_outcomes(session: Session, meeting_id: int) -> dict[str, int]:
    """Reminder rows for a meeting by status: how many went, and how many were dropped stale."""
    rows = session.exec(
        sm_select(Outbox.status, func.count())
        .where(Outbox.meeting_id == meeting_id)
        .group_by(col(Outbox.status))
    ).all()
    return {status: int(count) for status, count in rows}


def awaiting(session: Session, contact_id: int, now: datetime) -> tuple[int | None, int | None]:
    """(meeting awaiting an RSVP, open listening prompt) for a resident, from what was sent.

    An RSVP is awaited while the last message the resident got is a reminder of a meeting
    that has not started: a bare YES then answers it. A prompt stays open for its window.
    """
    last = session.exec(
        sm_select(Outbox.kind, Outbox.meeting_id)
        .where(Outbox.contact_id == contact_id, Outbox.status == "sent")
        .order_by(col(Outbox.sent_at).desc(), col(Outbox.id).desc())
        .limit(1)
    ).first()
    rsvp = None
    if last is not None and last[0] == "reminder" and last[1] is not None:
        meeting = session.get(Meeting, last[1])
        if meeting is not None and aware(meeting.starts_at) > now:
            rsvp = meeting.id
    prompt = session.exec(
        sm_select(Broadcast.id)
        .join(Outbox, col(Outbox.broadcast_id) == Broadcast.id)
        .where(
            Outbox.contact_id == contact_id,
            Outbox.status == "sent",
            col(Broadcast.is_prompt).is_(True),
            col(Broadcast.prompt_closes_at) > now,
        )
        .order_by(col(Outbox.id).desc())
        .limit(1)
    ).first()
    return rsvp, prompt


def reminded(session: Session, contact_id: int, now: datetime) -> frozenset[int]:
    """Meetings this resident was reminded of that have not started: the only ones a reply
    (or a button, however it was made) can RSVP to."""
    rows = session.exec(
        sm_select(Meeting.id)
        .join(Outbox, col(Outbox.meeting_id) == Meeting.id)
        .where(
            Outbox.contact_id == contact_id,
            Outbox.kind == "reminder",
            Outbox.status == "sent",
            col(Meeting.starts_at) > now,
            col(Meeting.cancelled_at).is_(None),
        )
    ).all()
    return frozenset(int(m) for m in rows if m is not None)


def upcoming(
    session: Session, now: datetime, neighbourhood: str | None, limit: int = 3
) -> list[Meeting]:
    """The next meetings, soonest first: city-wide ones and those in the given neighbourhood."""
    query = sm_select(Meeting).where(
        col(Meeting.starts_at) >= now, col(Meeting.cancelled_at).is_(None)
    )
    if neighbourhood:
        query = query.where(
            or_(
                col(Meeting.neighbourhood).is_(None),
                func.lower(col(Meeting.neighbourhood)) == neighbourhood.lower(),
            )
        )
    return list(session.exec(query.order_by(col(Meeting.starts_at)).limit(limit)))
