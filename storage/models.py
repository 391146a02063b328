"""Every table Townline keeps, in one module so relationships never import in circles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC now: SQLModel rejects naive datetimes, and mixing them hides bugs."""
    return datetime.now(UTC)


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    """A timezone-aware timestamp column (PostgreSQL keeps the zone; SQLite keeps ISO text)."""
    return Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index)
    )


class Contact(SQLModel, table=True):
    """One resident on one channel: a phone number on SMS, a chat on Telegram."""

    __table_args__ = (UniqueConstraint("channel", "address", name="uq_contact_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    address: str = Field(max_length=128)
    language: str | None = Field(default=None, max_length=16)
    language_source: str | None = Field(default=None, max_length=16)
    neighbourhood: str | None = Field(default=None, max_length=120)
    follow_up_consent: bool = False
    reminder_consent: bool = False
    reminder_neighbourhood: str | None = Field(default=None, max_length=120)  # None: all meetings
    timezone: str | None = Field(default=None, max_length=64)  # IANA name, when known
    opted_out_at: datetime | None = _ts()
    unreachable_at: datetime | None = _ts()
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    last_seen_at: datetime | None = _ts()


class Message(SQLModel, table=True):
    """Every line a resident sent, verbatim; what Townline sent back lives in the outbox."""

    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_message_channel_provider_id"),
        Index("ix_message_contact_created", "contact_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    channel: str = Field(max_length=32)
    provider_id: str | None = Field(default=None, max_length=128)
    text: str = ""
    media: list[str] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ConversationSession(SQLModel, table=True):
    """A contact's live conversation: a state blob plus the columns queries need."""

    __tablename__ = "conversation_session"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", unique=True)
    status: str = Field(default="idle", max_length=16)
    flow: str | None = Field(default=None, max_length=64)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    expires_at: datetime | None = _ts()
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Response(SQLModel, table=True):
    """Something a resident said, verbatim, with what the conversation learned around it."""

    __table_args__ = (Index("ix_response_created", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    conversation: str = Field(max_length=64, index=True)
    flow: str | None = Field(default=None, max_length=64)
    topic: str | None = Field(default=None, max_length=64, index=True)
    item: str = Field(default="opening", max_length=64)
    kind: str = Field(default="text", max_length=16)  # "text" | "rating" | "choice"
    text: str = ""
    value: int | None = None
    language: str | None = Field(default=None, max_length=16)
    place: str | None = Field(default=None, max_length=200)
    follow_up_consent: bool = False
    prompt_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    status: str = Field(default="new", max_length=16)
    urgent: bool = False
    sensitive: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Outbox(SQLModel, table=True):
    """One message out to one recipient: written with its cause, sent later by a worker.

    The outbox is also the record of what residents were sent, so a conversation is
    read as inbound `Message` rows interleaved with these.
    """

    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "next_attempt_at"),
        UniqueConstraint("channel", "provider_id", name="uq_outbox_channel_provider_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    in_reply_to: int | None = Field(default=None, foreign_key="message.id")
    channel: str = Field(max_length=32)
    kind: str = Field(default="reply", max_length=16)
    priority: int = 0  # lower goes first: replies 0, bulk 10
    text: str = ""
    choices: list[dict[str, str]] | None = Field(default=None, sa_column=Column(JSON))
    language: str | None = Field(default=None, max_length=16)
    proactive: bool = False
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    lease_until: datetime | None = _ts()
    provider_id: str | None = Field(default=None, max_length=128)
    delivery_status: str | None = Field(default=None, max_length=32)
    last_error: str | None = None
    needs_staff: bool = False  # failed in a way a person should look at (e.g. carrier filtering)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    sent_at: datetime | None = _ts()
    # What a bulk row belongs to, and when it stops being worth sending (a meeting's start).
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    stale_at: datetime | None = _ts()


class MeetingSeries(SQLModel, table=True):
    """Meetings that belong together; each occurrence keeps its own place, day and time."""

    __tablename__ = "meeting_series"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Meeting(SQLModel, table=True):
    """A community meeting residents can hear about and be reminded of."""

    id: int | None = Field(default=None, primary_key=True)
    series_id: int | None = Field(default=None, foreign_key="meeting_series.id", index=True)
    title: str = Field(max_length=200)
    starts_at: datetime = Field(sa_type=DateTime(timezone=True))
    timezone: str = Field(default="America/New_York", max_length=64)
    duration_minutes: int = 90
    location: str | None = Field(default=None, max_length=300)
    virtual_url: str | None = Field(default=None, max_length=500)
    neighbourhood: str | None = Field(default=None, max_length=120)
    accessibility: str | None = None
    language_notes: str | None = None
    notes: str | None = None
    reminders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cancelled_at: datetime | None = _ts()
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Reminder(SQLModel, table=True):
    """One reminder of one meeting, due at a time: the scheduler's own timer row."""

    __table_args__ = (
        UniqueConstraint("meeting_id", "offset", name="uq_reminder_meeting_offset"),
        Index("ix_reminder_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    offset: str = Field(max_length=32)  # an ISO 8601 duration before the start, or "morning"
    due_at: datetime = Field(sa_type=DateTime(timezone=True))
    status: str = Field(default="pending", max_length=16)  # pending | queued | skipped | stale
    recipients: int = 0
    queued_at: datetime | None = _ts()


class Rsvp(SQLModel, table=True):
    """A resident's latest answer to a meeting reminder; a new answer replaces the old."""

    __table_args__ = (UniqueConstraint("meeting_id", "contact_id", name="uq_rsvp_meeting_contact"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    attending: bool
    party: int | None = None  # how many are coming, when the resident said a number
    text: str = ""
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Broadcast(SQLModel, table=True):
    """A message per language to an audience, sent now or at a time; maybe an open question."""

    id: int | None = Field(default=None, primary_key=True)
    messages: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fallback_to_default: bool = False
    send_at: datetime = Field(sa_type=DateTime(timezone=True))
    status: str = Field(default="scheduled", max_length=16)  # scheduled | queued | cancelled
    is_prompt: bool = False
    prompt_closes_at: datetime | None = _ts()
    recipients: int = 0
    queued_at: datetime | None = _ts()
    created_by: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class SchedulerLease(SQLModel, table=True):
    """Who runs the scheduled jobs, on databases without advisory locks (SQLite)."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))


class ChannelPace(SQLModel, table=True):
    """The next free send slot per channel, shared by every worker so rates add up to one."""

    __tablename__ = "channel_pace"

    channel: str = Field(primary_key=True, max_length=32)
    next_slot: float = 0.0  # seconds since the epoch (wall clock, shared across processes)
