"""One turn's working memory, shared by every part of the engine: what came in, who sent it,
what the world looks like, and the events the turn has produced so far."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.events import (
    ContactView,
    Event,
    Inbound,
    MeetingView,
    PartnerView,
    RecordResponse,
    Reply,
    ReplyChoice,
    TagConversation,
)
from bot.keywords import Keywords
from bot.language import Detector
from bot.understanding import Reading, Understanding
from flows.catalog import Catalog

# Stages a conversation moves through; "idle" and "done" wait for a fresh start.
# "prompt": answering a broadcast's open question; every line is kept, tied to the prompt.
# "heard": the optional "who is heard" questions after a flow's end; any other words end them.
IDLE, LISTENING, TOPIC, OPENING, STEP, DONE, PROMPT, HEARD = (
    "idle",
    "listening",
    "topic",
    "opening",
    "step",
    "done",
    "prompt",
    "heard",
)
ACTIVE_STAGES = {LISTENING, TOPIC, OPENING, STEP, PROMPT, HEARD}
WORDY = 3  # an unexpected answer with this many words is kept as a response, not discarded
# Messages that already say the line is not for emergencies: after one, the note is not added.
SAFETY_MESSAGES = frozenset({"emergency", "crisis", "violence"})
SAYS_NOT_FOR_EMERGENCIES = frozenset(
    {"welcome", "partner_welcome", "help", "started", "emergency", "crisis", "violence"}
)


@dataclass(frozen=True)
class World:
    """What the engine knows of the outside, handed in by the host so the engine stays pure."""

    catalog: Catalog
    understanding: Understanding
    detector: Detector
    agency: str
    now: datetime
    idle: timedelta
    conversation_id: str  # used when this message starts a conversation
    meetings: tuple[MeetingView, ...] = ()
    link_channels: tuple[str, ...] = ()  # channels a resident may ask to continue on
    link_code_ok: bool = False  # the link code in play (opened with, or awaiting yes) is usable
    agency_names: Mapping[str, str] = field(default_factory=dict)  # the agency's name, by language
    contact: str = ""  # a person to reach (phone or web address), said with HELP
    privacy: PrivacyFacts | None = None  # the agency's own values, said with PRIVACY
    partners: tuple[PartnerView, ...] = ()  # active partner organisations
    who_is_heard: bool = True  # ask the optional questions after a conversation's end


@dataclass(frozen=True)
class PrivacyFacts:
    """What PRIVACY tells a resident, from the agency's settings (never made up by the flow)."""

    contact_days: int  # 0: kept as long as the line runs
    words_days: int | None  # None: kept
    no_immigration_questions: bool
    url: str  # the full /privacy page, or "" when the line has no public address


@dataclass
class Turn:
    """The engine's answer: the new state blob and the events the host must apply."""

    state: dict[str, Any]
    events: list[Event] = field(default_factory=list)

    @property
    def replies(self) -> list[Reply]:
        """Just the replies, in order: what the resident will read."""
        return [e for e in self.events if isinstance(e, Reply)]


def is_active(state: dict[str, Any]) -> bool:
    """Whether a conversation is under way (the host indexes this)."""
    return state.get("stage", IDLE) in ACTIVE_STAGES


class Context:
    """The turn in progress: the parts of the engine read it and add events to it."""

    def __init__(
        self, inbound: Inbound, contact: ContactView, state: dict[str, Any], world: World
    ) -> None:
        self.inbound = inbound
        self.contact = contact
        self.world = world
        self.kw: Keywords = world.understanding.keywords
        self.catalog = world.catalog
        self.text = inbound.text.strip()
        self.reading: Reading = world.understanding.read(self.text)
        self.state = self._fresh_if_expired(dict(state))
        self.events: list[Event] = []
        self.lang = contact.language or world.catalog.languages[0]
        self.proposal: str | None = None  # a language the text shows, to offer once
        self.warned = False  # this turn said the line is not for emergencies
        self.note_later = False  # this turn is not the place for the not-for-emergencies note

    @property
    def stage(self) -> str:
        return str(self.state.get("stage", IDLE))

    @property
    def active(self) -> bool:
        return self.stage in ACTIVE_STAGES

    # ---- conversation bookkeeping ------------------------------------------------------
    def _fresh_if_expired(self, state: dict[str, Any]) -> dict[str, Any]:
        """An idle conversation ends; a returning resident is listened to afresh."""
        expires = state.get("expires_at")
        if expires and datetime.fromisoformat(expires) <= self.world.now:
            return {"stage": IDLE}
        return state

    def new_conversation(self, stage: str) -> None:
        self.state = {
            "stage": stage,
            "conversation": self.world.conversation_id,
            "has_opening": False,
            "answers": {},
        }
        if stage == PROMPT:
            self.state["prompt"] = self.contact.open_prompt

    def opening_stage(self) -> str:
        """A fresh conversation answers an open listening prompt, if one is waiting."""
        return PROMPT if self.contact.open_prompt is not None else LISTENING

    def flag(self, urgent: bool, sensitive: bool) -> None:
        """Urgent and sensitive marks spread to the whole conversation, earlier words too."""
        if not (urgent or sensitive):
            return
        if not self.active:
            self.new_conversation(self.opening_stage())
        changed = {}
        if urgent and not self.state.get("urgent"):
            changed["urgent"] = self.state["urgent"] = True
        if sensitive and not self.state.get("sensitive"):
            changed["sensitive"] = self.state["sensitive"] = True
        if changed:
            self.events.append(TagConversation(self.state["conversation"], **changed))

    def finish(self, touch: bool = False) -> Turn:
        if self.active:
            self._say_not_for_emergencies_once()
        if touch and self.active:
            self.state["expires_at"] = (self.world.now + self.world.idle).isoformat()
        elif not self.active:
            self.state.pop("expires_at", None)
        return Turn(self.state, self.events)

    def _say_not_for_emergencies_once(self) -> None:
        """Everyone hears once per conversation that this is not an emergency line, even a
        resident who opens with a concern rather than "hi": a short note on the first reply."""
        if self.warned:
            self.state["warned"] = True
            return
        if self.state.get("warned") or self.note_later:
            return
        index = next((i for i, e in enumerate(self.events) if isinstance(e, Reply)), None)
        if index is None:
            return
        first = self.events[index]
        assert isinstance(first, Reply)
        note = self.msg("not_emergency_note", first.language)
        # Before a list of choices (which ends the text), after anything else.
        text = f"{note} {first.text}" if first.choices else f"{first.text} {note}"
        self.events[index] = Reply(text, first.language, first.choices, first.spoken, first.safety)
        self.state["warned"] = True

    def agency(self, language: str | None = None) -> str:
        """The agency's name as residents of this language know it."""
        return self.world.agency_names.get(language or self.lang) or self.world.agency

    def record(self, item: str, kind: str = "text", value: int | None = None) -> None:
        self.events.append(
            RecordResponse(
                conversation=self.state["conversation"],
                item=item,
                text=self.text,
                language=self.lang,
                flow=self.state.get("flow"),
                kind=kind,
                value=value,
                urgent=bool(self.state.get("urgent")),
                sensitive=bool(self.state.get("sensitive")),
                prompt_id=self.state.get("prompt"),
            )
        )
        if kind == "text":
            self.state["kept"] = True  # the resident's own words are kept in this conversation

    def keep_if_wordy(self) -> bool:
        """An answer that doesn't fit the question is still the resident's voice: keep it."""
        if len(self.text.split()) >= WORDY or len(self.text) >= 12:
            self.record("more")
            return True
        return False

    # ---- saying things -----------------------------------------------------------------
    def msg(self, message_id: str, language: str | None = None, **values: str) -> str:
        language = language or self.lang
        return self.catalog.text(message_id, language, agency=self.agency(language), **values)

    def say(self, message_id: str, choices: tuple[ReplyChoice, ...] = (), **values: str) -> None:
        if message_id in SAYS_NOT_FOR_EMERGENCIES:
            self.warned = True
        text = self.msg(message_id, **values)
        spoken = self.spoken(message_id, **values)
        if message_id == "help" and self.world.contact:
            more = self.msg("help_contact", contact=self.world.contact)
            text = f"{text} {more}"
            spoken = f"{spoken} {more}" if spoken else None
        safety = message_id in SAFETY_MESSAGES
        self.events.append(Reply(text, self.lang, choices, spoken, safety))

    def spoken(self, key: str, language: str | None = None, **values: str) -> str | None:
        """The flows' spoken variant of a message or flow text (`flow.step`), if any: a call
        says it instead of the written text (see flows/voice.yaml)."""
        language = language or self.lang
        return self.catalog.voice.variant(key, language, agency=self.agency(language), **values)

    def say_text(
        self, text: str, choices: tuple[ReplyChoice, ...] = (), spoken: str | None = None
    ) -> None:
        self.events.append(Reply(text, self.lang, choices, spoken))

    def pick(self, choices: tuple[ReplyChoice, ...]) -> ReplyChoice | None:
        """A choice by button value, by its number, or by typing its label."""
        if self.inbound.choice:
            return next((c for c in choices if c.value == self.inbound.choice), None)
        typed = unicodedata.normalize("NFKC", self.text).strip().rstrip(".)").casefold()
        for choice in choices:
            if typed in (choice.key, choice.label.casefold(), choice.value.casefold()):
                return choice
        return None


def small_number(text: str, pattern: str) -> str | None:
    """The text as typed digits (full-width too), if it is one of `pattern`'s numbers."""
    raw = unicodedata.normalize("NFKC", text).strip().rstrip(".!)")
    return raw if re.fullmatch(pattern, raw) else None
