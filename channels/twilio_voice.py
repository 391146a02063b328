"""Phone calls over Twilio: the same flows, spoken, for residents who cannot or will not text.

A call is a string of signed webhooks, each answered with TwiML built by Twilio's own
`VoiceResponse`. Every webhook is one engine turn, answered in the request (the caller is
waiting on the line), so the turn runs here through `bot.conversation.receive`, as the
simulator's does; the replies it queues are the words spoken in this answer, and are marked
sent at once. Only what the agency sends first (a follow-up, a meeting reminder) leaves
through the outbox as a call of its own, by the Calls API, paced at TWILIO_VOICE_CPS.

The caller's side of an inbound call is recorded (<Start><Recording track="inbound">); their
words reach the engine as Twilio's speech recognition heard them, so triage reads them before
anything else is said.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from sqlmodel import Session
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from bot.config import ConfigError, Settings
from bot.conversation import contact_for, receive
from bot.events import Inbound, Reply, ReplyChoice
from bot.guard import UnacceptableError, bounded_int, has_unstorable, storable
from bot.runtime import Runtime
from channels.base import FAILED, SENT, UNREACHABLE, Outbound, SendResult
from channels.twilio_config import (
    MalformedError,
    SignatureError,
    SignedWebhooks,
    TwilioConfig,
    answer_refusals,
)
from channels.twilio_sms import RebasedHttpClient, send_error
from flows.voice import VoiceBook
from storage import calls, outbox
from storage.conversations import find_contact, session_stage
from storage.db import transaction
from storage.models import Outbox

log = logging.getLogger(__name__)

NAME = calls.VOICE
INCOMING_PATH = "/voice/twilio"
LANGUAGE_PATH = "/voice/twilio/language"
TURN_PATH = "/voice/twilio/turn"
RECORDING_PATH = "/voice/twilio/recording"
STATUS_PATH = "/voice/twilio/status"
KEYPAD_PATH = "/voice/twilio/keypad"  # a key pressed on a call we placed (9: stop)
SEND_TIMEOUT_SECONDS = 5.0
# What the engine says in answer to a caller: spoken in the webhook's own answer, so the
# worker only marks them sent. Everything else (follow-ups, reminders) is a call out.
IN_CALL_KINDS = frozenset({"reply", "opt_out", "help", "ack", "link"})
# A call we place that nobody answers is tried again this many times in all, an hour apart;
# one a machine answered has left its message (after the beep) and is not.
CALL_ATTEMPTS = 3
RETRY_MINUTES = 60
UNANSWERED = frozenset({"busy", "no-answer", "failed", "canceled"})
ENDED = UNANSWERED | {"completed"}
# A call placed this long ago whose ending never reached us is asked about (Calls API).
SETTLE_MINUTES = 15
# What a resident consented to hear by call: what was done about their concern (they pressed
# 1 for a follow-up) and the meetings they asked to be reminded of. Anything else queued for a
# caller (a broadcast to every resident, a listening prompt) is not a call they agreed to.
CALL_KINDS = frozenset({"follow_up", "reminder"})
# Twilio's answers to a call create that mean the number can't be called (besides SMS's own):
# 21217 phone number does not appear to be valid, 21214 'To' phone number cannot be reached.
CALL_ERROR_OUTCOMES = {21217: UNREACHABLE, 21214: UNREACHABLE}
STOP_DIGIT, REPEAT_DIGIT, MORE_DIGIT = "9", "1", "1"
_CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}|[A-Za-z0-9_-]{1,64}")
_RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
_PHONE = re.compile(r"^\+?[0-9]{3,20}$")
MAX_ADDRESS = 64
SPEECH_TIMEOUT = "auto"  # Twilio ends the caller's turn at their first pause
GATHER_SECONDS = 6  # how long a keypad question waits
# Input modes of the next question, carried in the action URL (Twilio signs it):
CHOICE, OPEN, LISTEN, MORE, BY = "choice", "open", "listen", "more", "by"
BY_TEXT = "2"  # "for a text message, press 2" (1, or no key: by call, as they agreed)


@dataclass(frozen=True)
class Spoken:
    """One reply as the caller hears it: the words, and the choices read as keys to press."""

    text: str
    language: str
    choices: tuple[ReplyChoice, ...] = ()
    safety: bool = False


class TwilioVoiceChannel(SignedWebhooks):
    """Calls out through the real twilio client; checks the voice webhooks' signatures."""

    name = NAME

    def __init__(
        self,
        config: TwilioConfig,
        book: VoiceBook,
        *,
        cps: float,
        from_: str | None,
        default_language: str,
        agency_for: Callable[[str], str],
        timeout: float = SEND_TIMEOUT_SECONDS,
    ) -> None:
        self.config = config
        self.agency_for = agency_for  # the agency's name in a language (settings)
        self.book = book
        self.rate_per_second = cps
        self.from_ = from_
        self.default_language = default_language
        self.send_timeout = timeout
        if config.api_url:
            self.http: TwilioHttpClient = RebasedHttpClient(config.api_url, timeout=timeout)
        else:
            self.http = TwilioHttpClient(timeout=timeout)
        self.client = Client(config.account_sid, config.auth_token, http_client=self.http)
        self.validator = RequestValidator(config.auth_token)

    def cost(self, message: Outbound) -> int:
        """One call is one unit of TWILIO_VOICE_CPS (a reply spoken in a call costs nothing
        extra, but counting it keeps the pacing code the same for every channel)."""
        return 1

    def send(self, message: Outbound) -> SendResult:
        """A reply was already spoken in the call; anything else is a call of its own."""
        if message.kind in IN_CALL_KINDS:
            return SendResult(SENT, provider_id=f"spoken-{message.outbox_id}")
        if message.kind not in CALL_KINDS:
            return SendResult(FAILED, error=f"no consent to a call for a {message.kind}")
        if not _PHONE.match(message.address):
            # A withheld number ("anonymous:CA…") is a contact for its own call only.
            return SendResult(UNREACHABLE, error="no number to call: it was withheld")
        if not self.from_:
            return SendResult(FAILED, error="no number to call from: set TWILIO_VOICE_FROM")
        if not self.config.public_url:
            # The keypad opt-out ("press 9") must reach us: TwiML given inline has no base URL.
            return SendResult(FAILED, error="calls out need PUBLIC_URL (the keypad opt-out)")
        language = self.language_for(message.language)
        agency = self.agency_for(language)
        twiml = self.announcement(message.text, language, message.outbox_id, agency)
        try:
            call = self.client.calls.create(
                to=message.address,
                from_=self.from_,
                twiml=twiml,
                machine_detection="DetectMessageEnd",  # speak after a machine's beep: once
                status_callback=self.config.public_url + STATUS_PATH,
                status_callback_event=["completed"],
                timeout=30,
            )
        except TwilioRestException as exc:
            result = send_error(exc.status, exc.code)
            if (outcome := CALL_ERROR_OUTCOMES.get(exc.code or 0)) is not None:
                result = SendResult(outcome, error=result.error)
            log.warning("outbox row %s: %s -> %s", message.outbox_id, result.error, result.outcome)
            return result
        except (requests.RequestException, TwilioException) as exc:
            log.warning("outbox row %s: %s, will retry", message.outbox_id, type(exc).__name__)
            return SendResult("retry", error=f"network: {type(exc).__name__}")
        return SendResult(SENT, provider_id=call.sid)

    # ---- what a call says ------------------------------------------------------------------

    def language_for(self, language: str | None) -> str:
        """The language a call speaks: the resident's if Twilio has a voice for it."""
        if language and self.book.voiced(language):
            return language
        return self.default_language

    def announcement(self, text: str, language: str, outbox_id: int, agency: str) -> str:
        """TwiML of a call we place: who is calling and why, the message, then "press 1 to
        hear it again, 9 or say stop to stop, or just speak"."""
        answer = VoiceResponse()
        self.say(answer, self.book.text("voice_call_intro", language, agency=agency), language)
        self.say(answer, self.book.speakable(text, language), language)
        self.options(answer, language, f"{self.config.public_url}{KEYPAD_PATH}?o={outbox_id}")
        return str(answer)

    def options(self, answer: VoiceResponse, language: str, action: str) -> None:
        """After a message we called to give: a key or a word, heard in the resident's
        language, then goodbye (a machine, or a resident who says nothing, hears it end)."""
        gather = answer.gather(
            input="dtmf speech",
            num_digits=1,
            timeout=GATHER_SECONDS,
            language=self.book.voices[language].speech,
            speech_timeout=SPEECH_TIMEOUT,
            action=action,
        )
        self.say(gather, self.book.text("voice_call_options", language), language)
        self.say(answer, self.book.text("voice_call_goodbye", language), language)
        answer.hangup()

    def say(self, verb: VoiceResponse | Gather, text: str, language: str) -> None:
        """<Say> in the language's own voice (nothing for a text with nothing to say aloud:
        Twilio refuses an empty <Say>)."""
        if not text.strip():
            return
        voice = self.book.voices.get(language) or self.book.voices[self.default_language]
        verb.say(text, voice=voice.voice, language=voice.language)

    def spoken(self, reply: Reply) -> Spoken:
        """A reply as it is said: its spoken variant, or its written-only sentences left out."""
        language = self.language_for(reply.language)
        text = reply.spoken or self.book.speakable(reply.text, language)
        return Spoken(text, language, reply.choices, reply.safety)

    def keys(self, choices: Sequence[ReplyChoice], language: str) -> list[str]:
        """Choices as keys to press: "For a safety concern, press 1." (a 1-5 scale: one line)."""
        if all(c.label == c.key for c in choices):
            return [self.book.text("voice_press_scale", language)]
        return [
            self.book.text("voice_press", language, label=_in_sentence(c.label), digit=c.key)
            for c in choices
        ]

    def close(self) -> None:
        if self.http.session is not None:
            self.http.session.close()

    # ---- recordings, for staff ---------------------------------------------------------------

    def recording_url(self, recording_sid: str) -> str:
        """Where Twilio serves a recording's audio (WAV: every browser plays it)."""
        return (
            f"https://api.twilio.com/2010-04-01/Accounts/{self.config.account_sid}"
            f"/Recordings/{recording_sid}.wav"
        )

    def fetch_recording(self, recording_sid: str) -> bytes | None:
        """The audio, fetched with the account's credentials; None if Twilio has none.

        Read through a plain requests session, not the twilio client: `TwilioHttpClient`
        decodes every body as text, which garbles WAV bytes. Redirects are followed (requests
        drops the credentials if one leaves the host).
        """
        if not _RECORDING_SID.fullmatch(recording_sid):
            return None
        url = self.recording_url(recording_sid)
        if isinstance(self.http, RebasedHttpClient):
            url = self.http.rebase(url)
        session = self.http.session or requests.Session()
        try:
            response = session.get(
                url,
                auth=(self.config.account_sid, self.config.auth_token),
                timeout=self.http.timeout,
            )
        except requests.RequestException:
            log.warning("a recording could not be fetched from Twilio")
            return None
        if response.status_code != 200:
            return None
        return response.content

    # ---- calls whose ending never reached us -------------------------------------------------

    def call_outcome(self, call_sid: str) -> tuple[str, str | None] | None:
        """How Twilio says a call we placed ended (status, answered by); None if it cannot."""
        try:
            call = self.client.calls(call_sid).fetch()
        except TwilioRestException as exc:
            log.warning("a call's status could not be fetched: twilio %s", exc.code)
            return None
        except (requests.RequestException, TwilioException):
            log.warning("a call's status could not be fetched from Twilio")
            return None
        return str(call.status or ""), call.answered_by

    def settle_unreported(self, rt: Runtime) -> int:
        """Calls placed a while ago with no status callback (our site was down when Twilio
        posted it, or it came before the worker stored the call's id): asked of Twilio and
        settled as the callback would have, so nobody unanswered goes without a retry."""
        before = rt.now() - timedelta(minutes=SETTLE_MINUTES)
        with transaction(rt.db) as session:
            waiting = outbox.unsettled_calls(session, NAME, before)
        settled = 0
        for call_sid in waiting:
            outcome = self.call_outcome(call_sid)
            if outcome is None or outcome[0] not in ENDED:
                continue  # still ringing or talking, or Twilio away: the next run asks again
            with transaction(rt.db) as session:
                _settle(rt, session, call_sid, *outcome)
            settled += 1
        return settled

    def delete_recording(self, recording_sid: str) -> bool:
        """Delete it at Twilio (erasure, retention); True once it is gone there."""
        try:
            self.client.recordings(recording_sid).delete()
        except TwilioRestException as exc:
            return exc.status == 404  # already gone
        except (requests.RequestException, TwilioException):
            return False
        return True


def _in_sentence(label: str) -> str:
    """A menu label read inside a sentence: "For a safety concern", not "For A safety …"."""
    first = label.split(" ", 1)[0]
    if first[:1].isupper() and (len(first) == 1 or first[1:].islower()):  # not "LPR"
        return label[:1].lower() + label[1:]
    return label


def channel_for(settings: Settings, book: VoiceBook) -> TwilioVoiceChannel | None:
    """Calls work wherever SMS is configured (the same account and token)."""
    config = TwilioConfig.from_settings(settings)
    if config is None:
        return None
    if not settings.twilio_voice_cps > 0:
        raise ConfigError(
            f"TWILIO_VOICE_CPS must be above 0 calls a second, not {settings.twilio_voice_cps}"
        )
    if not book.voiced(settings.default_language):
        raise ConfigError(
            f"flows/voice.yaml has no voice for {settings.default_language}, the first language"
        )
    return TwilioVoiceChannel(
        config,
        book,
        cps=settings.twilio_voice_cps,
        from_=settings.twilio_voice_from,
        default_language=settings.default_language,
        agency_for=settings.agency_for,
    )


# ---- webhooks -----------------------------------------------------------------------------

bp = Blueprint("twilio_voice", __name__)


answer_refusals(bp)


def _verified() -> tuple[Runtime, TwilioVoiceChannel]:
    rt: Runtime = current_app.extensions["townline"]
    channel = rt.channels[NAME]
    assert isinstance(channel, TwilioVoiceChannel)
    if not channel.signed(request):
        log.warning("rejected a request to %s with a missing or wrong signature", request.path)
        raise SignatureError
    return rt, channel


def _call_sid(form: Mapping[str, str]) -> str:
    sid = form.get("CallSid") or ""
    if not _CALL_SID.fullmatch(sid):
        raise MalformedError("CallSid is required")
    return sid


def _placed(form: Mapping[str, str]) -> bool:
    """A call we placed (a follow-up, a reminder): the resident is its To, not its From."""
    return (form.get("Direction") or "").startswith("outbound")


def _caller(form: Mapping[str, str], call_sid: str) -> str:
    """The resident's number; a withheld one (anonymous) is a contact for this call only."""
    field = "To" if _placed(form) else "From"
    number = (form.get(field) or "").strip()
    if len(number) > MAX_ADDRESS or has_unstorable(number):
        raise MalformedError(f"{field} is not a phone number")
    if not _PHONE.match(number):
        return f"anonymous:{call_sid}"
    return number


def _twiml(answer: VoiceResponse) -> ResponseReturnValue:
    return Response(str(answer), status=200, mimetype="text/xml")


@bp.post(INCOMING_PATH)
def incoming() -> ResponseReturnValue:
    """A call comes in: not for emergencies first, then the caller's language, or the menu."""
    rt, channel = _verified()
    call_sid = _call_sid(request.form)
    address = _caller(request.form, call_sid)
    with transaction(rt.db) as session:
        # A number that texted STOP stays stopped for calls too, until START.
        contact, _created = contact_for(rt, session, NAME, address, rt.now())
        known = contact.language if channel.book.voiced(contact.language or "") else None
        calls.start(
            session,
            call_sid=call_sid,
            contact_id=contact.id,
            direction=calls.INBOUND,
            now=rt.now(),
            language=known,
        )
    language = known or channel.default_language
    answer = VoiceResponse()
    start = answer.start()
    start.recording(
        recording_status_callback=RECORDING_PATH,
        recording_status_callback_event="completed",
        track="inbound",  # the caller's words, not ours
        trim="trim-silence",
    )
    agency = rt.settings.agency_for(language)
    channel.say(answer, channel.book.text("voice_not_emergency", language, agency=agency), language)
    if known:
        return _turn(rt, channel, answer, call_sid, address, language, opened=True)
    others = _language_digits(channel, rt)
    if others:
        gather = answer.gather(
            input="dtmf", num_digits=1, timeout=4, action=LANGUAGE_PATH, action_on_empty_result=True
        )
        for digit, lang in others.items():
            if lang != channel.default_language:
                channel.say(
                    gather, channel.book.text("voice_pick_language", lang, digit=digit), lang
                )
    answer.redirect(LANGUAGE_PATH)
    return _twiml(answer)


def _language_digits(channel: TwilioVoiceChannel, rt: Runtime) -> dict[str, str]:
    """Keys for the voiced languages, in the agency's order: 1 is the first, 0 the tenth."""
    voiced = [lang for lang in rt.catalog.languages if channel.book.voiced(lang)]
    return {str((i + 1) % 10): lang for i, lang in enumerate(voiced[:10])}


@bp.post(LANGUAGE_PATH)
def language() -> ResponseReturnValue:
    """The key pressed for a language (none: the first); the conversation opens in it."""
    rt, channel = _verified()
    call_sid = _call_sid(request.form)
    address = _caller(request.form, call_sid)
    chosen = _language_digits(channel, rt).get((request.form.get("Digits") or "")[:1])
    lang = chosen or channel.default_language
    with transaction(rt.db) as session:
        calls.set_language(session, call_sid, lang)
    return _turn(rt, channel, VoiceResponse(), call_sid, address, lang, opened=True, hint=lang)


@bp.post(TURN_PATH)
def turn() -> ResponseReturnValue:
    """What the caller said (speech) or pressed (keys), as one turn of the conversation."""
    rt, channel = _verified()
    call_sid = _call_sid(request.form)
    address = _caller(request.form, call_sid)
    mode = request.args.get("mode", OPEN)
    lang = channel.language_for(request.args.get("lang"))
    said = storable(request.form.get("SpeechResult") or "").strip()
    pressed = (request.form.get("Digits") or "").strip().rstrip("#")
    answer = VoiceResponse()
    if mode == BY:
        return _hear_back_by(rt, channel, answer, address, lang, pressed)
    if mode == MORE:
        if pressed == MORE_DIGIT or said:
            if said:  # they simply went on talking: that is what they want to tell us
                return _turn(rt, channel, answer, call_sid, address, lang, text=said)
            _listen(rt, channel, answer, lang, ask=True)
            return _twiml(answer)
        channel.say(answer, channel.book.text(_goodbye(), lang), lang)
        answer.hangup()
        return _twiml(answer)
    text = said or pressed
    if not text:
        if mode == OPEN:  # an optional question left unanswered: skip it, as SKIP does
            text = rt.catalog.keywords["skip"][lang][0]
        else:
            channel.say(answer, channel.book.text("voice_no_input", lang), lang)
            _offer_more(channel, answer, lang)
            return _twiml(answer)
    return _turn(rt, channel, answer, call_sid, address, lang, text=text)


def _turn(
    rt: Runtime,
    channel: TwilioVoiceChannel,
    answer: VoiceResponse,
    call_sid: str,
    address: str,
    lang: str,
    *,
    text: str = "",
    opened: bool = False,
    hint: str | None = None,
) -> ResponseReturnValue:
    """Run one engine turn, speak its replies, and ask for the next input the right way."""
    token = request.headers.get("I-Twilio-Idempotency-Token", "")[:60]
    with transaction(rt.db) as session:
        number = calls.next_turn(session, call_sid)
    provider_id = f"{call_sid}:{token or number}"
    inbound = Inbound(
        channel=NAME,
        address=address,
        text=text,
        provider_id=provider_id,
        received_at=rt.now(),
        language_hint=hint,
        extra={"command": "start", "keeps_opt_out": True} if opened else {},
    )
    receipt = receive(rt, inbound)
    with transaction(rt.db) as session:
        if receipt.message_id is not None:
            outbox.mark_spoken(session, receipt.message_id, sorted(IN_CALL_KINDS), rt.now())
        stage = session_stage(session, receipt.contact_id) if receipt.contact_id else None
        ask_by = False
        if receipt.contact_id is not None:
            ask_by = calls.may_ask_by_text(session, receipt.contact_id)
            calls.reminders_by_text(session, receipt.contact_id)  # as they chose before
    replies = [channel.spoken(r) for r in receipt.replies]
    if any(r.safety for r in replies):
        # Who to call, first and alone; then only the way to go on when they are safe.
        for reply in (r for r in replies if r.safety):
            channel.say(answer, reply.text, reply.language)
        answer.pause(length=1)
        _offer_more(channel, answer, lang)
        return _twiml(answer)
    # The question with choices is asked last, its keys read inside the <Gather>, even when
    # a reply without choices came after it. That is an offer to switch language, in the
    # other language, so the call goes on listening in the language of the turn's first reply.
    asking = next((r for r in reversed(replies) if r.choices), None)
    if replies:
        lang = (asking or replies[0]).language
    for reply in replies:
        if reply is not asking:
            channel.say(answer, reply.text, reply.language)
    if asking:
        gather = _gather(answer, channel, lang, CHOICE, num_digits=1)
        channel.say(gather, asking.text, asking.language)
        for line in channel.keys(asking.choices, asking.language):
            channel.say(gather, line, asking.language)
        answer.redirect(f"{TURN_PATH}?mode={CHOICE}&lang={lang}")
    elif stage in ("listening", "prompt"):
        _listen(rt, channel, answer, lang, ask=not replies)
    elif stage is not None and stage in ACTIVE:
        gather = _gather(answer, channel, lang, OPEN)
        channel.say(gather, channel.book.text("voice_speak", lang), lang)
        answer.redirect(f"{TURN_PATH}?mode={OPEN}&lang={lang}")
    elif ask_by:  # they agreed to hear back: by call, or by text to this number?
        gather = answer.gather(
            input="dtmf",
            num_digits=1,
            timeout=GATHER_SECONDS,
            action=f"{TURN_PATH}?mode={BY}&lang={lang}",
            action_on_empty_result=True,
        )
        channel.say(gather, channel.book.text("voice_call_or_text", lang), lang)
        answer.redirect(f"{TURN_PATH}?mode={BY}&lang={lang}")
    else:
        _offer_more(channel, answer, lang)
    return _twiml(answer)


def _hear_back_by(
    rt: Runtime,
    channel: TwilioVoiceChannel,
    answer: VoiceResponse,
    address: str,
    lang: str,
    pressed: str,
) -> ResponseReturnValue:
    """2: follow-ups and reminders by text to this number; anything else: by call, as agreed."""
    by_text = pressed == BY_TEXT
    with transaction(rt.db) as session:
        contact = find_contact(session, NAME, address)
        done = False
        if contact is not None and contact.id is not None:
            # The number's SMS contact, stopped from the start if it ever said STOP.
            texts = contact_for(rt, session, calls.SMS, address, rt.now())[0] if by_text else None
            done = calls.hear_back_by(session, contact.id, texts)
    if by_text:
        said = "voice_by_text" if done else "voice_texts_stopped"
        channel.say(answer, channel.book.text(said, lang), lang)
    _offer_more(channel, answer, lang)
    return _twiml(answer)


ACTIVE = frozenset({"listening", "topic", "opening", "step", "prompt", "heard"})


def _gather(
    answer: VoiceResponse,
    channel: TwilioVoiceChannel,
    lang: str,
    mode: str,
    num_digits: int | None = None,
) -> Gather:
    """Keys or speech in the caller's language; the mode tells the next webhook what it was."""
    voice = channel.book.voices[lang]
    options: dict[str, Any] = {
        "input": "dtmf speech",
        "action": f"{TURN_PATH}?mode={mode}&lang={lang}",
        "language": voice.speech,
        "speech_timeout": SPEECH_TIMEOUT,
        "timeout": GATHER_SECONDS,
        "finish_on_key": "#",
        "action_on_empty_result": True,
    }
    if num_digits:
        options["num_digits"] = num_digits
    return answer.gather(**options)


def _listen(
    rt: Runtime, channel: TwilioVoiceChannel, answer: VoiceResponse, lang: str, *, ask: bool
) -> None:
    """The caller's own words, first: speech until they pause or press pound."""
    gather = _gather(answer, channel, lang, LISTEN)
    if ask:
        agency = rt.settings.agency_for(lang)
        opening = rt.catalog.voice.variant("ask_opening", lang, agency=agency)
        channel.say(
            gather, opening or channel.book.aloud(rt.catalog.text("ask_opening", lang), lang), lang
        )
    channel.say(gather, channel.book.text("voice_speak", lang), lang)
    answer.redirect(f"{TURN_PATH}?mode={LISTEN}&lang={lang}")


def _offer_more(channel: TwilioVoiceChannel, answer: VoiceResponse, lang: str) -> None:
    """The conversation is over: press 1 (or just speak) to say more, else goodbye."""
    gather = _gather(answer, channel, lang, MORE, num_digits=1)
    more = "voice_call_more" if _placed(request.form) else "voice_more"
    channel.say(gather, channel.book.text(more, lang), lang)
    answer.hangup()


def _goodbye() -> str:
    """We thank a caller for calling, and a resident we called for their time."""
    return "voice_call_goodbye" if _placed(request.form) else "voice_goodbye"


@bp.post(RECORDING_PATH)
def recording() -> ResponseReturnValue:
    """Twilio's recording of the caller's side, ready once the call ends."""
    rt, _channel = _verified()
    call_sid = _call_sid(request.form)
    sid = request.form.get("RecordingSid") or ""
    if not _RECORDING_SID.fullmatch(sid):
        raise MalformedError("RecordingSid is required")
    url = storable(request.form.get("RecordingUrl") or "")[:500]
    try:
        seconds = bounded_int(request.form.get("RecordingDuration") or "0", "duration", 0, 86_400)
    except UnacceptableError as exc:
        raise MalformedError("RecordingDuration must be a number of seconds") from exc
    if (request.form.get("RecordingStatus") or "completed") != "completed":
        return Response("", status=200)
    with transaction(rt.db) as session:
        if not calls.set_recording(session, call_sid, sid=sid, url=url, seconds=seconds):
            log.info("a recording for an unknown call was ignored")
    return Response("", status=200)


@bp.post(STATUS_PATH)
def status() -> ResponseReturnValue:
    """How a call we placed ended: answered (by a person or a machine), or tried again later."""
    rt, _channel = _verified()
    call_sid = _call_sid(request.form)
    raw = storable(request.form.get("CallStatus") or "").lower()[:24]  # as the table holds it
    if not raw:
        raise MalformedError("CallStatus is required")
    answered_by = storable(request.form.get("AnsweredBy") or "")[:32] or None
    with transaction(rt.db) as session:
        _settle(rt, session, call_sid, raw, answered_by)
    return Response("", status=200)


def _settle(
    rt: Runtime, session: Session, call_sid: str, status: str, answered_by: str | None
) -> None:
    """A call we placed has ended: delivered, or tried again later, or given up."""
    placed = _our_call(rt, session, call_sid)  # so who answered it is kept
    calls.set_status(session, call_sid, status, answered_by)
    if status == "completed" and answered_by == "fax":
        # A fax machine heard nothing: the number is likely wrong, and staff should know.
        outbox.record_delivery(
            session,
            channel=NAME,
            provider_id=call_sid,
            status="undelivered",
            error="a fax machine answered",
            needs_staff=True,
        )
    elif status == "completed":
        outbox.record_delivery(session, channel=NAME, provider_id=call_sid, status="delivered")
    elif status in UNANSWERED:
        outbox.call_again(
            session,
            channel=NAME,
            provider_id=call_sid,
            error=f"call {status}",
            attempts=CALL_ATTEMPTS,
            at=rt.now() + timedelta(minutes=RETRY_MINUTES),
            placed=calls.placed_for(session, placed.id) if placed and placed.id else None,
        )


def _our_call(rt: Runtime, session: Session, call_sid: str) -> Outbox | None:
    """The queued message a call we placed carries; the call's own row is made on the first
    webhook that names it."""
    placed = outbox.by_provider_id(session, NAME, call_sid)
    if placed is not None:
        calls.start(
            session,
            call_sid=call_sid,
            contact_id=placed.contact_id,
            direction=calls.OUTBOUND,
            now=rt.now(),
            language=placed.language,
            outbox_id=placed.id,
        )
    return placed


@bp.post(KEYPAD_PATH)
def keypad() -> ResponseReturnValue:
    """A key or words on a call we placed: 9 or "stop" stops calls and texts (both: FCC
    rule), 1 says it again, and anything else said is heard like a text: listening first."""
    rt, channel = _verified()
    call_sid = _call_sid(request.form)
    address = _caller(request.form, call_sid)
    pressed = (request.form.get("Digits") or "")[:1]
    said = storable(request.form.get("SpeechResult") or "").strip()
    with transaction(rt.db) as session:
        row = _our_call(rt, session, call_sid)  # words said go on in it, turn by turn
        text, lang = (row.text, row.language) if row else ("", None)
    lang = channel.language_for(lang)
    answer = VoiceResponse()
    if pressed == STOP_DIGIT or (said and _only_stop(rt, said)):
        receive(
            rt,
            Inbound(
                channel=NAME,
                address=address,
                provider_id=f"{call_sid}:stop",
                received_at=rt.now(),
                opt_out="STOP",
            ),
        )
        agency = rt.settings.agency_for(lang)
        channel.say(answer, channel.book.text("voice_stopped", lang, agency=agency), lang)
        answer.hangup()
        return _twiml(answer)
    if said:
        return _turn(rt, channel, answer, call_sid, address, lang, text=said)
    if pressed == REPEAT_DIGIT and text and row is not None and row.id is not None:
        channel.say(answer, channel.book.speakable(text, lang), lang)
        channel.options(answer, lang, f"{KEYPAD_PATH}?o={row.id}")
        return _twiml(answer)
    channel.say(answer, channel.book.text("voice_call_goodbye", lang), lang)
    answer.hangup()
    return _twiml(answer)


def _only_stop(rt: Runtime, said: str) -> bool:
    """Words that ask to stop, and nothing about danger ("stop, he has a knife" is not an
    opt-out: it goes to the engine, which answers with who to call)."""
    reading = rt.understanding.read(said)
    return reading.has("stop") and not reading.safety
