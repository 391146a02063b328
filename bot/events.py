"""What goes into the engine and what comes out: small typed records, no behaviour.

The engine turns one `Inbound` plus the contact's state into a list of events; the host
(`bot.conversation`) applies each event as rows in one transaction. Every event has a
stable snake_case `name` so logs and tests can refer to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True)
class Inbound:
    """A resident's message as any channel hands it over, already verified and parsed."""

    channel: str
    address: str
    text: str = ""
    provider_id: str | None = None
    received_at: datetime | None = None
    choice: str | None = None  # a button's value, when the channel has buttons
    media: tuple[str, ...] = ()
    language_hint: str | None = None  # e.g. Telegram's from.language_code
    opt_out: str | None = None  # the provider's own STOP/START/HELP signal, when it sends one
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ContactView:
    """What the engine may know of the resident: never the address."""

    language: str | None = None
    language_source: str | None = None
    opted_out: bool = False
    linked: bool = False  # the same resident is also reachable on another channel
    # Set by the host from what it last sent: a meeting reminder still awaiting an RSVP, and
    # a listening prompt whose window is open. The engine reads them; it never queries.
    rsvp_meeting: int | None = None
    open_prompt: int | None = None
    neighbourhood: str | None = None  # where they said they live, so it is not asked again
    reminded: frozenset[int] = frozenset()  # meetings they were reminded of, still to come
    heard_asked: bool = False  # the optional "who is heard" questions were asked once already


@dataclass(frozen=True)
class PartnerView:
    """A partner organisation as the engine sees it: whom to name, and the words that mean
    "I came through them" (its keyword by language; its code in a Telegram /start link)."""

    id: int
    name: str
    code: str
    keywords: Mapping[str, str]


@dataclass(frozen=True)
class MeetingView:
    """An upcoming meeting, already written out by the host in each language it speaks:
    title, day and time (in the agency's time zone) and place, by language code."""

    title: Mapping[str, str]
    when: Mapping[str, str]
    where: Mapping[str, str]

    def in_language(self, language: str, default: str) -> tuple[str, str, str]:
        """(title, when, where) in the language, or the default language where it has none."""
        return tuple(  # type: ignore[return-value]
            field.get(language) or field.get(default, "")
            for field in (self.title, self.when, self.where)
        )


@dataclass(frozen=True)
class ReplyChoice:
    """One option under a reply: `key` is what SMS shows and accepts, `value` a button's data."""

    key: str
    label: str
    value: str


@dataclass(frozen=True)
class Reply:
    """Text to send back, in one language, with optional choices; channels decide the look."""

    name: ClassVar[str] = "reply"
    text: str
    language: str
    choices: tuple[ReplyChoice, ...] = ()
    spoken: str | None = None  # how a call says it, where the flows give a spoken variant
    safety: bool = False  # who to call in danger: a call says it and nothing else that turn


@dataclass(frozen=True)
class RecordResponse:
    """Keep what the resident said, verbatim, as something staff will read."""

    name: ClassVar[str] = "record_response"
    conversation: str
    item: str
    text: str
    language: str
    flow: str | None = None
    kind: str = "text"
    value: int | None = None
    urgent: bool = False
    sensitive: bool = False
    prompt_id: int | None = None  # the listening prompt this answers, if any


@dataclass(frozen=True)
class TagConversation:
    """Attach what the conversation learned to every response in it (topic, place, consent)."""

    name: ClassVar[str] = "tag_conversation"
    conversation: str
    topic: str | None = None
    place: str | None = None
    follow_up_consent: bool | None = None
    urgent: bool | None = None
    sensitive: bool | None = None


@dataclass(frozen=True)
class SetLanguage:
    """Remember the resident's language, and how we came to know it."""

    name: ClassVar[str] = "set_language"
    language: str
    source: str


@dataclass(frozen=True)
class SetOptOut:
    """STOP (True) or START (False): the agency's own consent record, honoured at once."""

    name: ClassVar[str] = "set_opt_out"
    opted_out: bool


@dataclass(frozen=True)
class SetConsent:
    """The resident's standing wish to hear back (follow-ups) or be reminded (meetings)."""

    name: ClassVar[str] = "set_consent"
    follow_up: bool | None = None
    reminders: bool | None = None


@dataclass(frozen=True)
class SetNeighbourhood:
    """Where the resident lives, for meeting reminders and staff filters."""

    name: ClassVar[str] = "set_neighbourhood"
    neighbourhood: str


@dataclass(frozen=True)
class RequestLink:
    """The resident asked to continue on another channel: the host mints a one-time code.

    The host sends the deep link (`link_offer`) in `language`; the engine does no I/O.
    """

    name: ClassVar[str] = "request_link"
    channel: str
    language: str


@dataclass(frozen=True)
class LinkContact:
    """The resident confirmed a link code: join this contact to the resident who asked."""

    name: ClassVar[str] = "link_contact"
    code: str


@dataclass(frozen=True)
class SetReminderArea:
    """Remind the resident of meetings in one neighbourhood only (None: every meeting)."""

    name: ClassVar[str] = "set_reminder_area"
    neighbourhood: str | None


@dataclass(frozen=True)
class RecordRsvp:
    """A resident's answer to a meeting reminder: coming or not, and how many, verbatim too."""

    name: ClassVar[str] = "record_rsvp"
    meeting_id: int
    attending: bool
    party: int | None
    text: str


@dataclass(frozen=True)
class EraseMe:
    """The resident confirmed DELETE MY DATA: erase their details and words (not what is on
    legal hold); the confirmation that follows is the last message to their address."""

    name: ClassVar[str] = "erase_me"


@dataclass(frozen=True)
class ArrivedThrough:
    """The resident came in through a partner (its keyword or link): their words carry it."""

    name: ClassVar[str] = "arrived_through"
    partner_id: int


@dataclass(frozen=True)
class SetProfile:
    """An answer to an optional "who is heard" question; None leaves a field as it was."""

    name: ClassVar[str] = "set_profile"
    age_band: str | None = None
    years_here: str | None = None


@dataclass(frozen=True)
class AskedWhoIsHeard:
    """The "who is heard" questions were put to this resident: they are never asked again."""

    name: ClassVar[str] = "asked_who_is_heard"


Event = (
    EraseMe
    | Reply
    | RecordResponse
    | TagConversation
    | SetLanguage
    | SetOptOut
    | SetConsent
    | SetNeighbourhood
    | RequestLink
    | LinkContact
    | SetReminderArea
    | RecordRsvp
    | ArrivedThrough
    | SetProfile
    | AskedWhoIsHeard
)
