"""The conversation engine: (inbound, contact, state, world) -> (new state, events). No I/O.

It listens first: whatever a resident writes first is kept verbatim before any menu.
Every message is read once by the understanding step (`bot.understanding`); STOP, START, a
message that looks like danger, crisis or violence, HELP, a language and MENU act before any
flow. Safety replies come first and alone: who to call, in the resident's language, and
nothing else in that turn. It never sends, commits or imports a channel; `bot.conversation`
applies its events.

Channels with commands pass them neutrally in `Inbound.extra`: {"command": "start",
"payload": <deep-link code or absent>} when a chat is opened, {"command": "language"} to ask
for the language menu. HELP and STOP commands arrive as `Inbound.opt_out`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.events import (
    ContactView,
    Event,
    Inbound,
    LinkContact,
    MeetingView,
    RecordResponse,
    RecordRsvp,
    Reply,
    ReplyChoice,
    RequestLink,
    SetConsent,
    SetLanguage,
    SetNeighbourhood,
    SetOptOut,
    SetReminderArea,
    TagConversation,
)
from bot.language import Detector, decide_language
from bot.understanding import Understanding
from flows.catalog import Catalog, Flow, Step, fill, step_text

# Stages a conversation moves through; "idle" and "done" wait for a fresh start.
# "prompt": answering a broadcast's open question; every line is kept, tied to the prompt.
IDLE, LISTENING, TOPIC, OPENING, STEP, DONE, PROMPT = (
    "idle",
    "listening",
    "topic",
    "opening",
    "step",
    "done",
    "prompt",
)
ACTIVE_STAGES = {LISTENING, TOPIC, OPENING, STEP, PROMPT}
RSVP_PREFIX = "rsvp:"  # button values look like "rsvp:<meeting id>:yes"
MAX_PARTY = 50
WORDY = 3  # an unexpected answer with this many words is kept as a response, not discarded


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


def handle(inbound: Inbound, contact: ContactView, state: dict[str, Any], world: World) -> Turn:
    """Advance one contact's conversation by one inbound message."""
    return _Conversation(inbound, contact, state, world).run()


class _Conversation:
    """One turn's working memory; each method handles one kind of message."""

    def __init__(
        self, inbound: Inbound, contact: ContactView, state: dict[str, Any], world: World
    ) -> None:
        self.inbound = inbound
        self.contact = contact
        self.world = world
        self.kw = world.understanding.keywords
        self.catalog = world.catalog
        self.text = inbound.text.strip()
        self.reading = world.understanding.read(self.text)
        self.state = self._fresh_if_expired(dict(state))
        self.events: list[Event] = []
        self.lang = contact.language or world.catalog.languages[0]
        self.proposal: str | None = None

    # ---- entry -----------------------------------------------------------------------
    def run(self) -> Turn:
        if self._is_stop():
            return self._stop()
        if self.inbound.extra.get("command") == "start":
            return self._opened()
        if self._is_start():
            return self._start()
        if self.reading.safety:
            return self._safety()
        if self.contact.opted_out:
            if self._is_help():
                self._choose_language(allow_detection=False, command="help")
                self._say("help")
            return self._finish()
        if self._is_help():
            self._choose_language(allow_detection=False, command="help")
            self._say("help")
            return self._finish(touch=True)
        if (chosen := self._language_pick()) is not None:
            return self._switch_language(chosen)
        if self.inbound.extra.get("command") == "language":
            return self._language_menu()
        if self._answer_rsvp():
            return self._finish()
        self._choose_language(allow_detection=True)
        if "pending_link" in self.state and (turn := self._confirm_link()) is not None:
            return turn
        if self.kw.exact("menu", self.text):
            return self._menu()
        if self.kw.exact("telegram", self.text):
            return self._offer_link("telegram")
        if self.reading.has("sensitive"):
            self._flag(urgent=False, sensitive=True)  # handled with care; nothing is said
        if self.inbound.media and self.text:
            self._say("media_with_text")  # the words go on as usual; the picture can't be read
        if not self.text:
            self._say("media_received" if self.inbound.media else "empty")
            if self.state.get("stage", IDLE) not in ACTIVE_STAGES:
                self._new_conversation(self._opening_stage())
            return self._finish(touch=True)
        if (hit := self.kw.flow_keyword(self.text)) is not None:
            self._new_conversation(STEP)
            self._start_flow(self.catalog.flow(hit[0]))
            return self._finish(touch=True)
        self._dispatch()
        self._offer_language()
        return self._finish(touch=True)

    def _dispatch(self) -> None:
        stage = self.state.get("stage", IDLE)
        if stage == DONE and self.kw.exact("thanks", self.text):
            self._say("you_are_welcome")  # a courtesy after the close is not a new concern
            return
        if stage in (IDLE, DONE):
            stage = self._opening_stage()
            self._new_conversation(stage)
            if stage == LISTENING and self.kw.exact("greeting", self.text):
                self._say("welcome")
                return
        if stage == PROMPT:
            self._answer_prompt()
        elif stage == LISTENING:
            self._record("more" if self.state.get("has_opening") else "opening")
            self.state["has_opening"] = True
            self._ask_topic("topic_question")
        elif stage == TOPIC:
            self._answer_topic()
        elif stage == OPENING:
            self._record("more" if self.state.get("has_opening") else "opening")
            self.state["has_opening"] = True
            self._advance(self.catalog.flow(self.state["flow"]), start=0)
        elif stage == STEP:
            self._answer_step()

    # ---- global keywords ---------------------------------------------------------------
    def _is_stop(self) -> bool:
        return self.inbound.opt_out == "STOP" or self.reading.has("stop")

    def _is_start(self) -> bool:
        """START, UNSTOP, YES and each language's "start again"; never "ok" or "sure".

        A resident who has stopped may say it in a sentence ("please send me the alerts
        again"); anyone else only as the whole message, so a story that mentions starting
        is not mistaken for a request.
        """
        if self.inbound.opt_out == "START":
            return True
        if self.contact.opted_out:
            return self.reading.has("start") or self.reading.resumes
        return self.reading.has("start") and self.world.understanding.triage.whole_message(
            "start", self.text
        )

    def _safety(self) -> Turn:
        """Who to call, first and alone: no menu and no question in this turn.

        The words are kept and flagged (urgent: danger or crisis, sorted first for staff;
        sensitive: crisis or violence), and the conversation stays open for when the resident
        is safe. A bare HELP is the carriers' keyword: its reply opens with 911.
        """
        self.lang = self._safety_language()
        if self.reading.has("help"):
            self._say("help")
            return self._finish(touch=True)
        for name in self.reading.safety:
            self._say(name)
        safety = set(self.reading.safety)
        self._flag(
            urgent=bool(safety & {"emergency", "crisis"}), sensitive=bool(safety - {"emergency"})
        )
        self._keep_words()
        return self._finish(touch=True)

    def _safety_language(self) -> str:
        """The language of the message itself; when it is too short to tell, of its words."""
        languages = self.catalog.languages
        decision = decide_language(
            self.text,
            explicit=None,
            stored=None,
            hint=None,
            languages=languages,
            default=languages[0],
            detector=self.world.detector,
        )
        if decision.source in ("script", "detected"):
            language = decision.language
        else:
            language = self.reading.phrase_language(*self.reading.safety) or self.lang
        if language not in languages:
            language = self.lang
        if self.contact.language is None:
            self.events.append(SetLanguage(language, decision.source))
        return language

    def _keep_words(self) -> None:
        """Keep what was said where the conversation is, without moving it on."""
        stage = self.state.get("stage", IDLE)
        if stage not in ACTIVE_STAGES:
            self._new_conversation(self._opening_stage())
            stage = self.state["stage"]
        first = not self.state.get("has_opening")
        if stage == PROMPT:
            self._record("prompt" if first else "more")
        elif stage in (LISTENING, OPENING):
            self._record("opening" if first else "more")
        else:
            self._record("more")
        if stage != STEP and stage != TOPIC:
            self.state["has_opening"] = True

    def _is_help(self) -> bool:
        return self.inbound.opt_out == "HELP" or self.kw.exact("help", self.text) is not None

    def _stop(self) -> Turn:
        """Opt out at once; confirm only the first time (one confirmation, as carriers require)."""
        if self.contact.opted_out:
            return self._finish()
        self._choose_language(allow_detection=False, command="stop")
        self.events.append(SetOptOut(True))
        if self.inbound.opt_out != "STOP":  # else the provider sent its confirmation already
            # A resident linked across channels stops only this one, and is told so.
            self._say("stopped_here" if self.contact.linked else "stopped")
        self.state = {"stage": IDLE}
        return self._finish()

    def _start(self) -> Turn:
        self._choose_language(allow_detection=False, command="start")
        if self.contact.opted_out:
            self.events.append(SetOptOut(False))
        self._say("started")
        self._new_conversation(LISTENING)
        return self._finish(touch=True)

    def _opened(self) -> Turn:
        """A chat was opened (Telegram's /start): welcome, resume after STOP, or confirm a link."""
        payload = self.inbound.extra.get("payload")
        linking = bool(payload) and self.world.link_code_ok
        self._choose_language(allow_detection=False, command="start")
        if payload and not linking:
            self._say("link_invalid")
        if self.contact.opted_out:
            self.events.append(SetOptOut(False))
            self._say("started")
        elif not linking:
            self._say("welcome")
        self._new_conversation(LISTENING)
        if linking:
            self.state["pending_link"] = payload
            self._say("link_confirm", self._link_choices())
        return self._finish(touch=True)

    def _link_choices(self) -> tuple[ReplyChoice, ...]:
        return (
            ReplyChoice("1", self._msg("choice_yes"), "link:yes"),
            ReplyChoice("2", self._msg("choice_no"), "link:no"),
        )

    def _confirm_link(self) -> Turn | None:
        """Yes links this chat to the resident who asked; anything but yes/no carries on."""
        code = self.state.pop("pending_link")
        choice = self._pick(self._link_choices())
        if choice is not None:
            yes: bool | None = choice.value == "link:yes"
        elif self.kw.exact("yes", self.text):
            yes = True
        elif self.kw.exact("no", self.text):
            yes = False
        else:
            return None
        if yes and self.world.link_code_ok:
            self.events.append(LinkContact(code))
            self._say("linked")
        else:
            self._say("link_invalid" if yes else "link_declined")
        return self._finish(touch=True)

    def _offer_link(self, channel: str) -> Turn:
        """Ask the host for a deep link to `channel`, when that channel is on and is elsewhere."""
        if self.inbound.channel == channel:
            self._say("link_already")
        elif channel not in self.world.link_channels:
            self._say("link_unavailable")
        else:
            self.events.append(RequestLink(channel, self.lang))
        return self._finish(touch=self.state.get("stage", IDLE) in ACTIVE_STAGES)

    def _language_pick(self) -> str | None:
        """A language by name, by the menu's button, or by its number right after the menu."""
        menu = self.state.pop("language_menu", False)
        choice = self.inbound.choice or ""
        if choice.startswith("lang:") and choice[5:] in self.catalog.languages:
            return choice[5:]
        if menu and (picked := self._pick(self._language_choices())) is not None:
            return picked.value[5:]
        return self.kw.language_choice(self.text)

    def _language_choices(self) -> tuple[ReplyChoice, ...]:
        return tuple(
            ReplyChoice(str(i), self._msg("language_name", lang), f"lang:{lang}")
            for i, lang in enumerate(self.catalog.languages, start=1)
        )

    def _language_menu(self) -> Turn:
        """Every language by its own name; the current question waits."""
        self._choose_language(allow_detection=False)
        self.state["language_menu"] = True
        self._say("language_menu", self._language_choices())
        return self._finish()

    def _switch_language(self, language: str) -> Turn:
        """An explicit choice wins and is remembered; the current question is asked again."""
        self.lang = language
        self.events.append(SetLanguage(language, "explicit"))
        self._say("language_set")
        self._repeat_question()
        return self._finish(touch=self.state.get("stage", IDLE) in ACTIVE_STAGES)

    def _menu(self) -> Turn:
        self._new_conversation(TOPIC)
        self.state["has_opening"] = False
        self._ask_topic("menu_question")
        return self._finish(touch=True)

    # ---- language ---------------------------------------------------------------------
    def _choose_language(self, allow_detection: bool, command: str | None = None) -> None:
        """Apply the language policy; a keyword in a known language counts as a hint.

        A command word (STOP, HELP…) written in one language is answered in that language,
        this once, even if the resident's stored language differs: it is what they can read.
        """
        hint = self.inbound.language_hint
        said_in: str | None = None
        for group in (command, "stop", "start", "help"):
            if group and (language := self.reading.languages.get(group)):
                said_in = language
                break
        if said_in is None and (hit := self.kw.exact("greeting", self.text)) and hit.language:
            said_in = hit.language
        decision = decide_language(
            self.text if allow_detection else "",
            explicit=None,
            stored=self.contact.language,
            hint=hint or said_in,
            languages=self.catalog.languages,
            default=self.catalog.languages[0],
            detector=self.world.detector,
        )
        self.lang = decision.language
        if decision.remember and decision.language != self.contact.language:
            self.events.append(SetLanguage(decision.language, decision.source))
        if command and said_in:
            self.lang = said_in
        self.proposal = decision.proposal if allow_detection else None

    def _offer_language(self) -> None:
        """Ask before switching a resident who already has a language; offer each only once."""
        proposal = self.proposal
        offered = list(self.state.get("offered", []))
        if proposal and proposal != self.lang and proposal not in offered:
            self.events.append(Reply(self._msg("offer_language", proposal), proposal))
            self.state["offered"] = [*offered, proposal]

    # ---- conversation bookkeeping ------------------------------------------------------
    def _fresh_if_expired(self, state: dict[str, Any]) -> dict[str, Any]:
        """An idle conversation ends; a returning resident is listened to afresh."""
        expires = state.get("expires_at")
        if expires and datetime.fromisoformat(expires) <= self.world.now:
            return {"stage": IDLE}
        return state

    def _new_conversation(self, stage: str) -> None:
        self.state = {
            "stage": stage,
            "conversation": self.world.conversation_id,
            "has_opening": False,
            "answers": {},
        }
        if stage == PROMPT:
            self.state["prompt"] = self.contact.open_prompt

    def _opening_stage(self) -> str:
        """A fresh conversation answers an open listening prompt, if one is waiting."""
        return PROMPT if self.contact.open_prompt is not None else LISTENING

    def _flag(self, urgent: bool, sensitive: bool) -> None:
        """Urgent and sensitive marks spread to the whole conversation, earlier words too."""
        if not (urgent or sensitive):
            return
        if self.state.get("stage", IDLE) not in ACTIVE_STAGES:
            self._new_conversation(self._opening_stage())
        changed = {}
        if urgent and not self.state.get("urgent"):
            changed["urgent"] = self.state["urgent"] = True
        if sensitive and not self.state.get("sensitive"):
            changed["sensitive"] = self.state["sensitive"] = True
        if changed:
            self.events.append(TagConversation(self.state["conversation"], **changed))

    def _finish(self, touch: bool = False) -> Turn:
        if touch and self.state.get("stage", IDLE) in ACTIVE_STAGES:
            self.state["expires_at"] = (self.world.now + self.world.idle).isoformat()
        elif self.state.get("stage", IDLE) not in ACTIVE_STAGES:
            self.state.pop("expires_at", None)
        return Turn(self.state, self.events)

    def _record(self, item: str, kind: str = "text", value: int | None = None) -> None:
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

    def _keep_if_wordy(self) -> None:
        """An answer that doesn't fit the question is still the resident's voice: keep it."""
        if len(self.text.split()) >= WORDY or len(self.text) >= 12:
            self._record("more")

    # ---- saying things -----------------------------------------------------------------
    def _msg(self, message_id: str, language: str | None = None, **values: str) -> str:
        return self.catalog.text(
            message_id, language or self.lang, agency=self.world.agency, **values
        )

    def _say(self, message_id: str, choices: tuple[ReplyChoice, ...] = ()) -> None:
        self.events.append(Reply(self._msg(message_id), self.lang, choices))

    def _topic_choices(self) -> tuple[ReplyChoice, ...]:
        return tuple(
            ReplyChoice(str(i), f.label[self.lang], f"topic:{f.id}")
            for i, f in enumerate(self.catalog.flows, start=1)
        )

    def _step_choices(self, step: Step) -> tuple[ReplyChoice, ...]:
        if step.type == "choice":
            return tuple(
                ReplyChoice(str(i), c.label[self.lang], c.id)
                for i, c in enumerate(step.choices, start=1)
            )
        if step.type in ("consent", "subscribe"):
            return (
                ReplyChoice("1", self._msg("choice_yes"), "yes"),
                ReplyChoice("2", self._msg("choice_no"), "no"),
            )
        if step.type == "rating":
            return tuple(ReplyChoice(str(n), str(n), str(n)) for n in range(1, 6))
        return ()

    def _ask_topic(self, message_id: str) -> None:
        self.state["stage"] = TOPIC
        self._say(message_id, self._topic_choices())

    def _ask_step(self, step: Step, prefix: str | None = None) -> None:
        text = fill(step_text(self.catalog, step, self.lang), {"agency": self.world.agency})
        if prefix:
            text = f"{self._msg(prefix)} {text}"
        self.events.append(Reply(text, self.lang, self._step_choices(step)))

    def _repeat_question(self) -> None:
        stage = self.state.get("stage", IDLE)
        if stage == TOPIC:
            self._say("menu_question", self._topic_choices())
        elif stage in (OPENING, LISTENING, PROMPT):
            self._say("ask_opening")
        elif stage == STEP:
            flow = self.catalog.flow(self.state["flow"])
            self._ask_step(flow.step(self.state["step"]))

    # ---- the topic menu and the flows -------------------------------------------------
    def _pick(self, choices: tuple[ReplyChoice, ...]) -> ReplyChoice | None:
        """A choice by button value, by its number, or by typing its label."""
        if self.inbound.choice:
            return next((c for c in choices if c.value == self.inbound.choice), None)
        typed = unicodedata.normalize("NFKC", self.text).strip().rstrip(".)").casefold()
        for choice in choices:
            if typed in (choice.key, choice.label.casefold(), choice.value.casefold()):
                return choice
        return None

    def _answer_topic(self) -> None:
        choice = self._pick(self._topic_choices())
        if choice is None:
            if len(self.text.split()) >= WORDY or not re.fullmatch(r"\d+", self.text):
                self._record("more")
                self._say("topic_again", self._topic_choices())
            else:
                self._say("invalid_choice", self._topic_choices())
            return
        flow = self.catalog.flow(choice.value.removeprefix("topic:"))
        self._start_flow(flow)

    def _start_flow(self, flow: Flow) -> None:
        self.state["flow"] = flow.id
        self.state["answers"] = {}
        self.events.append(TagConversation(self.state["conversation"], topic=flow.id))
        if self.state.get("has_opening") or flow.id == "meetings":
            self._advance(flow, start=0)
        else:
            self.state["stage"] = OPENING
            self._say("ask_opening")

    def _advance(self, flow: Flow, start: int) -> None:
        """Run steps from `start`: say what needs no answer, stop at the first question."""
        answers = self.state.setdefault("answers", {})
        for step in flow.steps[start:]:
            if step.when and answers.get(step.when[0]) != step.when[1]:
                continue
            if step.type == "knowledge":
                self._say_knowledge(answers.get(step.source or "", ""))
            elif step.type == "meetings":
                self._say_meetings()
            else:
                self.state["stage"] = STEP
                self.state["step"] = step.id
                self._ask_step(step)
                return
        self.state["stage"] = DONE
        self.state.pop("step", None)
        self.events.append(
            Reply(fill(flow.end[self.lang], {"agency": self.world.agency}), self.lang)
        )

    def _say_knowledge(self, entry: str) -> None:
        answer = self.catalog.knowledge.get(entry)
        if answer:
            self.events.append(
                Reply(fill(answer[self.lang], {"agency": self.world.agency}), self.lang)
            )
        else:
            self._say("no_answer")

    def _say_meetings(self) -> None:
        if not self.world.meetings:
            self._say("meetings_none")
            return
        lines = [self._msg("meetings_intro")]
        for meeting in self.world.meetings:
            lines.append(
                self._msg(
                    "meeting_line", title=meeting.title, when=meeting.when, where=meeting.where
                )
            )
        self.events.append(Reply("\n".join(lines), self.lang))

    def _answer_step(self) -> None:
        flow = self.catalog.flow(self.state["flow"])
        step = flow.step(self.state["step"])
        answers = self.state.setdefault("answers", {})
        skipped = step.optional and self.kw.exact("skip", self.text) is not None
        if skipped:
            answers[step.id] = "skip"
            if step.type == "neighbourhood" and self._for_reminders(answers):
                self.events.append(SetReminderArea(None))
        elif not self._take_answer(step, answers):
            return
        index = next(i for i, s in enumerate(flow.steps) if s.id == step.id)
        self._advance(flow, start=index + 1)

    def _take_answer(self, step: Step, answers: dict[str, str]) -> bool:
        """Apply one answer; False (after re-asking) when it doesn't answer the question."""
        conversation = self.state["conversation"]
        if step.type == "open":
            self._record(step.id)
            answers[step.id] = "text"
        elif step.type == "place":
            self.events.append(TagConversation(conversation, place=self.text[:200]))
            answers[step.id] = "text"
        elif step.type == "neighbourhood":
            self.events.append(SetNeighbourhood(self.text[:120]))
            if self._for_reminders(answers):
                self.events.append(SetReminderArea(self.text[:120]))
            answers[step.id] = "text"
        elif step.type == "rating":
            value = _rating(self.text, self.inbound.choice)
            if value is None:
                self._keep_if_wordy()
                self._ask_step(step, prefix="invalid_rating")
                return False
            self._record(step.id, kind="rating", value=value)
            answers[step.id] = str(value)
        elif step.type == "choice":
            choice = self._pick(self._step_choices(step))
            if choice is None:
                self._keep_if_wordy()
                self._ask_step(step, prefix="invalid_choice")
                return False
            self._record(step.id, kind="choice", value=int(choice.key))
            answers[step.id] = choice.value
        else:  # consent, subscribe
            yes = self._yes_no(step)
            if yes is None:
                self._keep_if_wordy()
                self._ask_step(step, prefix="invalid_yes_no")
                return False
            answers[step.id] = "yes" if yes else "no"
            if step.type == "consent":
                self.events.append(TagConversation(conversation, follow_up_consent=yes))
                self.events.append(SetConsent(follow_up=yes))
            else:
                self.events.append(SetConsent(reminders=yes))
        return True

    def _for_reminders(self, answers: dict[str, str]) -> bool:
        """A neighbourhood asked right after saying yes to reminders narrows the reminders."""
        flow = self.catalog.flow(self.state["flow"])
        return any(answers.get(s.id) == "yes" for s in flow.steps if s.type == "subscribe")

    # ---- answers to what the host sent: RSVPs and listening prompts ---------------------
    def _answer_rsvp(self) -> bool:
        """YES / NO / a number after a reminder, or a reminder's button at any time."""
        parsed = self._parse_rsvp()
        if parsed is None:
            return False
        meeting_id, attending, party = parsed
        self._choose_language(allow_detection=False)
        self.events.append(RecordRsvp(meeting_id, attending, party, self.text))
        if not attending:
            self._say("rsvp_no")
        elif party is not None:
            self._say_text(self._msg("rsvp_count", count=str(party)))
        else:
            self._say("rsvp_yes")
        return True

    def _parse_rsvp(self) -> tuple[int, bool, int | None] | None:
        button = self.inbound.choice or ""
        if button.startswith(RSVP_PREFIX):
            meeting, _, answer = button.removeprefix(RSVP_PREFIX).partition(":")
            if meeting.isdigit() and answer in ("yes", "no"):
                return int(meeting), answer == "yes", None
            return None
        meeting_id = self.contact.rsvp_meeting
        if meeting_id is None:
            return None
        if self.kw.exact("yes", self.text):
            return meeting_id, True, None
        if self.kw.exact("no", self.text):
            return meeting_id, False, None
        number = unicodedata.normalize("NFKC", self.text).strip().rstrip(".!)")
        if re.fullmatch(r"\+?\d{1,2}", number) and int(number) <= MAX_PARTY:
            party = int(number)
            return meeting_id, party > 0, party or None
        return None

    def _answer_prompt(self) -> None:
        """Every line is the resident's answer to the open question: kept verbatim, thanked."""
        first = not self.state.get("has_opening")
        self._record("prompt" if first else "more")
        self.state["has_opening"] = True
        self._say("prompt_thanks" if first else "prompt_more")

    def _say_text(self, text: str) -> None:
        self.events.append(Reply(text, self.lang))

    def _yes_no(self, step: Step) -> bool | None:
        choice = self._pick(self._step_choices(step))
        if choice is not None:
            return choice.value == "yes"
        if self.kw.exact("yes", self.text):
            return True
        if self.kw.exact("no", self.text):
            return False
        return None


def _rating(text: str, button: str | None) -> int | None:
    """1 to 5, typed in any digits (full-width too) or pressed as a button."""
    raw = unicodedata.normalize("NFKC", button or text).strip().rstrip(".!)")
    if re.fullmatch(r"[1-5]", raw):
        return int(raw)
    return None
