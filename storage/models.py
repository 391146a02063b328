"""Every table Townline keeps, in one module so relationships never import in circles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC now: SQLModel rejects naive datetimes, and mixing them hides bugs."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every database.

    PostgreSQL keeps the zone itself; SQLite stores text without one and hands back naive
    values, which would then fail every comparison with an aware `now`. Storing UTC on
    both keeps SQLite's text order equal to time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use datetime.now(UTC) or attach a zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    """A timezone-aware timestamp column (PostgreSQL keeps the zone; SQLite keeps ISO text)."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


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
    # How a caller asked to hear back: None (by call, their channel) or "sms" (by text to the
    # same number, through its SMS contact).
    follow_up_by: str | None = Field(default=None, max_length=16)
    reminder_consent: bool = False
    reminder_neighbourhood: str | None = Field(default=None, max_length=120)  # None: all meetings
    timezone: str | None = Field(default=None, max_length=64)  # IANA name, when known
    opted_out_at: datetime | None = _ts()
    unreachable_at: datetime | None = _ts()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime | None = _ts()
    # One resident, several channels: a linked contact points at the resident's first contact.
    resident_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    blocked_at: datetime | None = _ts()  # the resident blocked the bot (Telegram), until unblocked
    # Erased at the resident's request ("request") or cut loose by retention ("retention"): the
    # address is gone (or goes once the last message to it is sent); language and neighbourhood
    # stay as coarse aggregates for the charts and the public page.
    erased_at: datetime | None = _ts()
    erased_reason: str | None = Field(default=None, max_length=16)
    # The partner organisation the resident last came in through (its keyword or link).
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    # "Who is heard": optional answers, asked once (heard_asked_at), each may be skipped.
    age_band: str | None = Field(default=None, max_length=16)
    years_here: str | None = Field(default=None, max_length=16)
    heard_asked_at: datetime | None = _ts()


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
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InboundQueue(SQLModel, table=True):
    """A resident's message as the webhook stored it, waiting for the worker to answer it.

    The webhook verifies, deduplicates and keeps the raw message here in one insert, then
    answers the provider; the worker runs the conversation and deletes the row in the same
    transaction, so a message is answered once even if a process dies in between. The
    address sits here only until then: afterwards it lives on the contact alone (a message
    that could be neither answered nor kept stays, marked failed, for an operator).
    """

    __tablename__ = "inbound_queue"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_inbound_queue_channel_provider_id"),
        Index("ix_inbound_queue_address", "channel", "address", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    address: str = Field(max_length=128)
    provider_id: str | None = Field(default=None, max_length=128)
    text: str = ""
    media: list[str] | None = Field(default=None, sa_column=Column(JSON))
    opt_out: str | None = Field(default=None, max_length=16)
    received_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    retry_at: datetime | None = _ts()  # after a failed attempt (a bug, the database away)
    failed_at: datetime | None = _ts()  # gave up: kept for staff, no longer holds the queue


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
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


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
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The words were removed ("request": the resident asked; "retention": their time was up);
    # the row stays so counts do not jump.
    erased_at: datetime | None = _ts()
    erased_reason: str | None = Field(default=None, max_length=16)
    # A records request or litigation: exempt from retention and erasure until released.
    legal_hold_at: datetime | None = _ts()
    # The resident asked for erasure while this was on hold: staff see it on the response.
    erasure_requested_at: datetime | None = _ts()
    # The partner organisation the resident came through when they said this.
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    # Staff's reading of the stance towards the agency: supportive | neutral | critical.
    viewpoint: str | None = Field(default=None, max_length=16)


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
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_until: datetime | None = _ts()
    provider_id: str | None = Field(default=None, max_length=128)
    provider_ref: str | None = Field(default=None, max_length=128)  # e.g. a callback_query_id
    delivery_status: str | None = Field(default=None, max_length=32)
    last_error: str | None = None
    needs_staff: bool = False  # failed in a way a person should look at (e.g. carrier filtering)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
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
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Meeting(SQLModel, table=True):
    """A community meeting residents can hear about and be reminded of."""

    id: int | None = Field(default=None, primary_key=True)
    series_id: int | None = Field(default=None, foreign_key="meeting_series.id", index=True)
    title: str = Field(max_length=200)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(default="America/New_York", max_length=64)
    duration_minutes: int = 90
    location: str | None = Field(default=None, max_length=300)
    virtual_url: str | None = Field(default=None, max_length=500)
    neighbourhood: str | None = Field(default=None, max_length=120)
    # The title and place in other languages, by language code ({"es": "Reunión..."}).
    titles: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    locations: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    accessibility: str | None = None
    language_notes: str | None = None
    notes: str | None = None
    reminders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cancelled_at: datetime | None = _ts()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LinkCode(SQLModel, table=True):
    """A one-time code that links a resident's new channel (a Telegram chat) to their contact."""

    __tablename__ = "link_code"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    contact_id: int = Field(foreign_key="contact.id", index=True)  # who asked for the link
    channel: str = Field(max_length=32)  # the channel it links to
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = _ts()
    used_by: int | None = Field(default=None, foreign_key="contact.id")


class Partner(SQLModel, table=True):
    """A community organisation residents may trust more than the police: a church, a tenants'
    union, a youth league. Residents reach the line through its keyword or its link, and the
    partner sees aggregates (never a resident's address or words) of what they raised."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # URL- and Telegram-safe (a-z 0-9 -), unique: the partner's links and /start payload.
    code: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    contact: str = Field(default="", max_length=300)  # a person at the partner, for staff
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    neighbourhoods: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The word residents text, by language ({"en": "GRACE", "es": "GRACIA"}).
    keywords: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    public_consent: bool = False  # named on the public "you said, we did" page
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    archived_at: datetime | None = _ts()


class CommunityShare(SQLModel, table=True):
    """The community's own make-up (census or agency figures) for one group, e.g. residents
    aged 65+; shares are each group's amount over its dimension's total, so counts and
    percentages both work."""

    __tablename__ = "community_share"
    __table_args__ = (UniqueConstraint("dimension", "value", name="uq_community_share"),)

    id: int | None = Field(default=None, primary_key=True)
    dimension: str = Field(max_length=16)  # neighbourhood | language | age_band
    value: str = Field(max_length=120)
    amount: float
    source: str = Field(default="", max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- Staff dashboard, "you said, we did" follow-ups and the JSON API ---------------------------


class StaffUser(SQLModel, table=True):
    """A person who reads the inbox: admin, staff (may change things) or viewer (reads only)."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="viewer", max_length=16)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = _ts()
    # Kept in each login session; raised on logout, password change and deactivation, which
    # ends every session of the account at once (the cookie alone cannot be recalled).
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Role "partner": the one partner organisation whose aggregates this login may see.
    partner_id: int | None = Field(default=None, foreign_key="partner.id")


class LoginThrottle(SQLModel, table=True):
    """Failed logins per account and per IP, in the database so every gunicorn worker agrees."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=300)
    failures: int = 0
    locked_until: datetime | None = _ts()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """One change made by staff, a token or the CLI: who, what, to which row, and when."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=300)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=32)
    target_id: int | None = None
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API; only its SHA-256 is kept, the token is shown once."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    role: str = Field(default="viewer", max_length=16)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    expires_at: datetime | None = _ts()  # None: until revoked


class Concern(SQLModel, table=True):
    """Responses grouped by staff under one name, e.g. "speeding on Elm Street"."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    created_by: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    legal_hold_at: datetime | None = _ts()  # holds every response grouped into it


class OptOutMark(SQLModel, table=True):
    """A keyed hash of an address that said STOP and was then erased.

    Erasure removes the address, but STOP must still be honoured if the same phone writes
    again or is added to an audience: the HMAC (keyed with SECRET_KEY) can be checked against
    an address without the address being kept.
    """

    __tablename__ = "opt_out_mark"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Translation(SQLModel, table=True):
    """A machine translation of a response for staff, stored once (never billed twice).

    The resident's own words stay verbatim and primary on the response; this sits beside them.
    A hand correction by staff wins over the machine's text and is audited.
    """

    __tablename__ = "translation"

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", unique=True)
    language: str = Field(max_length=16)  # the staff language it is in
    source_language: str | None = Field(default=None, max_length=16)
    text: str = ""
    provider: str = Field(max_length=32)
    status: str = Field(default="done", max_length=16)  # done | refused (the provider can't)
    error: str | None = Field(default=None, max_length=300)
    corrected_text: str | None = None
    corrected_by: str | None = Field(default=None, max_length=300)
    corrected_at: datetime | None = _ts()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TranslationUsage(SQLModel, table=True):
    """Characters sent to the provider per month, against TOWNLINE_TRANSLATE_MONTHLY_CHARS."""

    __tablename__ = "translation_usage"

    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    characters: int = 0


class ConcernResponse(SQLModel, table=True):
    """A response's place in a concern; a response belongs to at most one concern."""

    __tablename__ = "concern_response"

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = Field(foreign_key="concern.id", index=True)
    response_id: int = Field(foreign_key="response.id", unique=True)


class ResponseTag(SQLModel, table=True):
    """A free-text label staff put on a response, to find it again."""

    __tablename__ = "response_tag"
    __table_args__ = (UniqueConstraint("response_id", "tag", name="uq_response_tag"),)

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    tag: str = Field(max_length=64, index=True)


class Action(SQLModel, table=True):
    """What the agency did about a concern, with the follow-up text in each language."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    messages: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Machine-drafted languages: {lang: {"source": "en", "provider": "deepl", "reviewed": false}};
    # the text itself is in `messages`. A draft must be reviewed before it is sent.
    drafts: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    concern_id: int | None = Field(default=None, foreign_key="concern.id", index=True)
    topic: str | None = Field(default=None, max_length=64)
    status: str = Field(default="draft", max_length=16)  # "draft" | "published"
    created_by: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = _ts(index=True)


class ActionResponse(SQLModel, table=True):
    """A response an action answers; sensitive ones are followed up only when included by hand."""

    __tablename__ = "action_response"
    __table_args__ = (UniqueConstraint("action_id", "response_id", name="uq_action_response"),)

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id", index=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    include_sensitive: bool = False


class ActionRecipient(SQLModel, table=True):
    """One resident told about an action, and the outbox row that carries the follow-up."""

    __tablename__ = "action_recipient"
    __table_args__ = (UniqueConstraint("action_id", "contact_id", name="uq_action_recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id", index=True)
    contact_id: int = Field(foreign_key="contact.id")
    outbox_id: int = Field(foreign_key="outbox.id", unique=True)
    language: str = Field(max_length=16)


class Reminder(SQLModel, table=True):
    """One reminder of one meeting, due at a time: the scheduler's own timer row."""

    __table_args__ = (
        UniqueConstraint("meeting_id", "offset", name="uq_reminder_meeting_offset"),
        Index("ix_reminder_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    offset: str = Field(max_length=32)  # an ISO 8601 duration before the start, or "morning"
    due_at: datetime = Field(sa_type=UTCDateTime)
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
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Broadcast(SQLModel, table=True):
    """A message per language to an audience, sent now or at a time; maybe an open question."""

    id: int | None = Field(default=None, primary_key=True)
    messages: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fallback_to_default: bool = False
    send_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="scheduled", max_length=16)  # scheduled | queued | cancelled
    is_prompt: bool = False
    prompt_closes_at: datetime | None = _ts()
    recipients: int = 0
    queued_at: datetime | None = _ts()
    created_by: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SchedulerLease(SQLModel, table=True):
    """Who runs the scheduled jobs, on databases without advisory locks (SQLite)."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class ChannelPace(SQLModel, table=True):
    """The next free send slot per channel, shared by every worker so rates add up to one."""

    __tablename__ = "channel_pace"

    channel: str = Field(primary_key=True, max_length=32)
    next_slot: float = 0.0  # seconds since the epoch (wall clock, shared across processes)


class VoiceCall(SQLModel, table=True):
    """One phone call, in or out: its turns are messages whose provider id is `CallSid:turn`.

    The caller's side of an inbound call is recorded (Twilio's <Start><Recording>); staff play
    it through an authenticated proxy, which fetches it by SID, so the URL Twilio gave is kept
    only as a record. Erasure and retention clear the recording here and leave its SID in
    `recording_delete_sid`, for the worker to delete it at Twilio too.
    """

    __tablename__ = "voice_call"

    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    direction: str = Field(default="inbound", max_length=16)  # inbound | outbound
    language: str | None = Field(default=None, max_length=16)
    turns: int = 0  # inbound turns so far: the next message is `CallSid:turns+1`
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id")  # an outbound call's row
    status: str | None = Field(default=None, max_length=24)  # Twilio's last CallStatus
    answered_by: str | None = Field(default=None, max_length=32)
    recording_sid: str | None = Field(default=None, max_length=64)
    recording_url: str | None = Field(default=None, max_length=500)
    recording_seconds: int | None = None
    recording_delete_sid: str | None = Field(default=None, max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
