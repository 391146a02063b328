"""Fuzzing the webhooks: whatever a provider (or anyone) posts gets a 2xx or a clear 4xx.

Twilio's forms are fuzzed field by field (arbitrary text with NUL, other scripts, huge
values, missing and extra fields), signed with Twilio's own RequestValidator and unsigned;
Telegram's updates are real update shapes with wrong types, deep nesting, odd callback_data
and removed keys, plus bodies that are not JSON at all, with and without the secret. After
the fuzzing, a resident's ordinary message is still answered: nothing got stuck.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from bot.config import Settings
from channels import twilio_sms, twilio_voice
from channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from tests.conftest import Clock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import UpdateBuilder, make_user
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, sign
from tests.hardening.fuzzkit import (
    FUZZ,
    NASTY_TEXT,
    TALLY,
    any_text,
    json_values,
    mutated,
    nasty_json,
    nasty_text,
    nested,
    odd_ints,
    odd_text,
    raw_bodies,
    sweep,
)
from tests.sms_kit import AGENCY_NUMBER, SERVICE_SID, SmsLine, sms_line
from tests.telegram_kit import SECRET, TelegramResident, channel_of, telegram_settings
from tests.voice_kit import Call

# Huge generated values make a failing example's repr large; Hypothesis warns, and the suite
# turns warnings into errors, which would hide the failure itself.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
POISON = "could not be applied"
_sids = itertools.count(1)
# Message SIDs of their own: tests/sms_kit.py counts its phones' SIDs in decimal, and a hex
# SID of ours made only of digits ("SM…0010") would be one of those, so a resident's later
# text would be taken for a redelivered webhook and (rightly) answered once: not at all.
FUZZ_SID = "SMf{:031x}"


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """The Bot API, faked on 127.0.0.1."""
    with FakeTelegram() as api:
        yield api


@pytest.fixture
def line(settings: Settings, clock: Clock, fake: FakeTelegram) -> Iterator[SmsLine]:
    """One app with both providers on, each pointed at its local fake."""
    with sms_line(telegram_settings(settings, fake), clock) as sms:
        yield sms
        channel_of(sms.rt).close()


def _answered(line: SmsLine, suite: str, response: TestResponse) -> int:
    """Tally an answer and check it is not a server error."""
    status = TALLY.record(suite, response.status_code)
    assert status < 500, response.get_data(as_text=True)[:500]
    return status


# ---- Twilio --------------------------------------------------------------------------------
INBOUND_FIELDS = (
    "MessageSid",
    "SmsSid",
    "AccountSid",
    "MessagingServiceSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "NumSegments",
    "MediaUrl0",
    "MediaContentType0",
    "MediaUrl1",
    "OptOutType",
    "FromCountry",
)
STATUS_FIELDS = ("MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "ErrorCode", "AccountSid")
STATUS_WORDS = (*twilio_sms.STATUSES, "receiving", "received", "DELIVERED", "")


def _inbound_base() -> dict[str, str]:
    return {
        "MessageSid": FUZZ_SID.format(next(_sids)),
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "MessagingServiceSid": SERVICE_SID,
        "From": "+1555" + f"{next(_sids) % 10**7:07d}",
        "To": AGENCY_NUMBER,
        "Body": "There is speeding on Elm Street",
        "NumMedia": "0",
        "NumSegments": "1",
    }


KNOWN_SIDS: list[str] = []  # SIDs of messages the fake Twilio accepted: statuses that match


def _status_base() -> dict[str, str]:
    known = KNOWN_SIDS and next(_sids) % 2
    return {
        "MessageSid": KNOWN_SIDS[next(_sids) % len(KNOWN_SIDS)]
        if known
        else FUZZ_SID.format(next(_sids)),
        "MessageStatus": "delivered",
        "AccountSid": DEFAULT_ACCOUNT_SID,
    }


@st.composite
def twilio_forms(
    draw: st.DrawFn, base: Callable[[], dict[str, str]], fields: tuple[str, ...]
) -> dict[str, str | list[str]]:
    """A realistic form with some fields dropped, some odd, some repeated, some added."""
    form: dict[str, str | list[str]] = dict(base())
    # A few fields changed at a time, so most requests get past the checks into the engine.
    for name in draw(st.lists(st.sampled_from(fields), max_size=3, unique=True)):
        if draw(st.integers(0, 3)) == 0:
            form.pop(name, None)
        else:
            form[name] = draw(nasty_text)
    if "MessageStatus" in fields and draw(st.booleans()):
        form["MessageStatus"] = draw(st.sampled_from(STATUS_WORDS))
    if "ErrorCode" in fields and draw(st.booleans()):
        codes = ["", "30005", "30006", "21610", "21211", "30007", "20429", "-1", "²", "9" * 9]
        form["ErrorCode"] = draw(st.sampled_from(codes))
    if draw(st.integers(0, 9)) == 0:  # the same field twice
        name = draw(st.sampled_from(fields))
        form[name] = [draw(odd_text), draw(odd_text)]
    form.update(draw(st.dictionaries(odd_text, any_text, max_size=3)))
    return form


SIGNING = st.sampled_from(("signed",) * 7 + ("unsigned", "wrong", "odd header"))
# Werkzeug drops a malformed Host (the signed URL then differs: 403) and refuses a huge one.
HOSTS = st.sampled_from(
    (None,) * 12 + ("localhost:abc", "localhost:99999", "[::1", "exa mple.org", "a" * 300)
)


def _post_form(
    line: SmsLine, path: str, form: dict[str, str | list[str]], signing: str, host: str | None
) -> TestResponse:
    headers: dict[str, str] = {}
    if host is not None:
        headers["Host"] = host
    url = line.url(path) if host is None else f"http://{host}{path}"
    fields = MultiDict(form)  # a repeated field is signed as Twilio would: every value
    if signing == "signed":
        headers["X-Twilio-Signature"] = sign(url, fields)
    elif signing == "wrong":
        headers["X-Twilio-Signature"] = sign(url + "x", fields)
    elif signing == "odd header":
        headers["X-Twilio-Signature"] = "=" * 28 + "\x00é"
    return line.client.post(path, data=form, headers=headers)


def _twilio_fuzz(
    line: SmsLine, path: str, form: dict[str, str | list[str]], signing: str, host: str | None
) -> None:
    status = _answered(line, f"twilio {path}", _post_form(line, path, form, signing, host))
    if signing != "signed" and host is None:
        assert status in (403, 413)  # a body over 1 MB is refused before anything reads it


def _still_answered_by_sms(line: SmsLine) -> None:
    """A resident's plain text after the fuzzing: answered, through the worker, on the phone."""
    line.drain()
    replies = line.phone("+15550009999").text("Cars race down Oak Street at night")
    assert replies, "no reply after the fuzzing"


def test_fuzzed_sms_webhooks_never_answer_5xx(line: SmsLine) -> None:
    @FUZZ
    @given(form=twilio_forms(_inbound_base, INBOUND_FIELDS), signing=SIGNING, host=HOSTS)
    def inbound(form: dict[str, str | list[str]], signing: str, host: str | None) -> None:
        _twilio_fuzz(line, twilio_sms.INBOUND_PATH, form, signing, host)

    @FUZZ
    @given(form=twilio_forms(_status_base, STATUS_FIELDS), signing=SIGNING, host=HOSTS)
    def status(form: dict[str, str | list[str]], signing: str, host: str | None) -> None:
        _twilio_fuzz(line, twilio_sms.STATUS_PATH, form, signing, host)

    inbound()
    line.drain()  # the replies go out: their SIDs are what real status callbacks name
    KNOWN_SIDS[:] = [m.sid for m in line.fake.messages()]
    status()
    _still_answered_by_sms(line)


def test_every_sms_field_with_every_odd_value(line: SmsLine) -> None:
    """A sweep beside the random search: each odd value alone in each field, each field gone."""
    for path, base, fields in (
        (twilio_sms.INBOUND_PATH, _inbound_base, INBOUND_FIELDS),
        (twilio_sms.STATUS_PATH, _status_base, STATUS_FIELDS),
    ):
        for name in fields:
            for value in (None, *NASTY_TEXT):
                form: dict[str, str | list[str]] = dict(base())
                if value is None:
                    form.pop(name, None)
                else:
                    form[name] = value
                try:
                    _twilio_fuzz(line, path, form, "signed", None)
                except Exception as exc:
                    exc.add_note(f"{path} with {name}={value!r:.40}")
                    raise
    _still_answered_by_sms(line)


def test_an_sms_over_the_body_limit_is_413(line: SmsLine) -> None:
    form = {**_inbound_base(), "Body": "a" * 1_100_000}
    response = line.post(twilio_sms.INBOUND_PATH, form)
    assert _answered(line, "twilio /sms/twilio", response) == 413


# ---- Twilio voice --------------------------------------------------------------------------
VOICE_FIELDS = (
    "CallSid",
    "AccountSid",
    "From",
    "To",
    "Direction",
    "CallStatus",
    "Digits",
    "SpeechResult",
    "Confidence",
    "RecordingSid",
    "RecordingUrl",
    "RecordingDuration",
    "AnsweredBy",
)
VOICE_CALLS: list[str] = []  # a few calls the fuzzing goes back to, turn after turn
VOICE_PATHS = st.one_of(
    st.sampled_from(
        (
            twilio_voice.INCOMING_PATH,
            twilio_voice.LANGUAGE_PATH,
            twilio_voice.RECORDING_PATH,
            twilio_voice.STATUS_PATH,
        )
    ),
    st.builds(
        "{}?mode={}&lang={}".format,
        st.just(twilio_voice.TURN_PATH),
        st.sampled_from(("choice", "open", "listen", "more", "by", "", "x" * 40, "%00")),
        st.sampled_from(("en", "es", "zh", "ht", "xx", "", "e\u0301n")),
    ),
    st.builds(
        "{}?o={}".format,
        st.just(twilio_voice.KEYPAD_PATH),
        st.sampled_from(("1", "0", "-1", "99999999999999999999", "x", "")),
    ),
)


def _voice_base() -> dict[str, str]:
    if not VOICE_CALLS or next(_sids) % 4 == 0:
        VOICE_CALLS.append(f"CAf{next(_sids):031x}")
    n = next(_sids)
    return {
        "CallSid": VOICE_CALLS[n % len(VOICE_CALLS)],
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "From": "+1555" + f"{n % 10**7:07d}",
        "To": AGENCY_NUMBER,
        "Direction": ("inbound", "outbound-api")[n % 2],
        "CallStatus": ("in-progress", "completed", "busy", "no-answer")[n % 4],
        "Digits": "0123456789#*"[n % 12],
        "SpeechResult": ("Cars race down Elm Street", "stop", "Kreyòl", "help me")[n % 4],
        "Confidence": "0.9",
        "RecordingSid": f"RE{n:032x}",
        "RecordingUrl": f"https://api.twilio.com/Recordings/RE{n:032x}",
        "RecordingDuration": str(n % 90),
        "AnsweredBy": ("human", "machine_end_beep", "fax", "unknown")[n % 4],
    }


def test_fuzzed_voice_webhooks_never_answer_5xx(line: SmsLine) -> None:
    @FUZZ
    @given(
        path=VOICE_PATHS,
        form=twilio_forms(_voice_base, VOICE_FIELDS),
        signing=SIGNING,
        host=HOSTS,
    )
    def voice(path: str, form: dict[str, str | list[str]], signing: str, host: str | None) -> None:
        answer = _post_form(line, path, form, signing, host)
        status = _answered(line, "twilio /voice/twilio…", answer)
        if signing != "signed" and host is None:
            assert status in (403, 413)

    voice()
    line.drain()
    # A resident's ordinary call afterwards: welcomed, heard, and asked what it is about.
    call = Call(line, "+15557770456")
    assert "not for emergencies" in call.ring().said
    call.silence()
    answer = call.speak("Cars race down Oak Street at night")
    assert "For a safety concern, press 1." in answer.words


# ---- Telegram ------------------------------------------------------------------------------
BUILDER = UpdateBuilder(user=make_user(5_550_002), first_update_id=1_000)
SHAPES: tuple[Callable[[], dict[str, Any]], ...] = (
    lambda: BUILDER.text_message("hi"),
    lambda: BUILDER.start_command("link-abc"),
    lambda: BUILDER.edited_message("Elm St, not Oak"),
    lambda: BUILDER.photo_message("Broken light"),
    lambda: BUILDER.sticker_message(),
    lambda: BUILDER.location_message(40.7, -74.0),
    lambda: BUILDER.callback_query("rsvp:1:yes"),
    lambda: BUILDER.bot_blocked(),
    lambda: BUILDER.bot_unblocked(),
)
CALLBACK_DATA = st.one_of(
    any_text,
    st.sampled_from(["rsvp:1:yes", "rsvp:99999:no", "rsvp:²:yes", "#1", "#", "1", "yes"]),
    st.text(min_size=60, max_size=70),  # around Telegram's 64 bytes
    json_values,
)


@st.composite
def telegram_updates(draw: st.DrawFn) -> Any:
    """A real update shape with a few values replaced, removed or buried, or pure noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    update = draw(st.sampled_from(SHAPES))()
    if "callback_query" in update and draw(st.booleans()):
        update["callback_query"]["data"] = draw(CALLBACK_DATA)
    if draw(st.integers(0, 4)):
        update_id = update.pop("update_id")  # changed now and then below, not here
        update = draw(
            mutated(update, st.one_of(nasty_json, odd_ints, st.builds(nested, st.integers(1, 40))))
        )
        update["update_id"] = update_id
    if draw(st.integers(0, 4)) == 0:
        update["update_id"] = draw(st.one_of(odd_ints, nasty_json))
    return update


def _body(update: Any) -> bytes:
    """The update as JSON; NaN and Infinity stay in (Python's reader accepts them)."""
    return json.dumps(update).encode()


SECRETS = st.sampled_from((SECRET,) * 8 + (None, "", "wrong", SECRET + "\x00"))


def _post_update(line: SmsLine, body: bytes, secret: str | None) -> int:
    """Post one webhook body as Telegram would; 403 for any but the right secret."""
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = line.client.post(
        WEBHOOK_PATH, data=body, content_type="application/json", headers=headers
    )
    status = _answered(line, "telegram webhook", response)
    if secret != SECRET:
        assert status in (403, 413)
    return status


def _poisoned(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Updates the webhook skipped as poison since the last look.

    A poison update is answered 200 so Telegram stops redelivering it, but here it is a bug:
    every update the fuzzer builds must either be refused (400) or applied.
    """
    found = [r.getMessage() for r in caplog.records if POISON in r.getMessage()]
    caplog.clear()
    return found


def _still_answered_by_telegram(line: SmsLine, fake: FakeTelegram) -> None:
    """A resident's plain "hi" after the fuzzing: answered through the worker and the fake."""
    resident = TelegramResident(line.client, line.rt, fake, user_id=5_550_999)
    resident.worker.drain()
    assert resident.say("hi"), "no reply after the fuzzing"


def test_fuzzed_telegram_updates_never_answer_5xx(
    line: SmsLine, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    @FUZZ
    @given(update=telegram_updates(), secret=SECRETS)
    def updates(update: Any, secret: str | None) -> None:
        _post_update(line, _body(update), secret)

    @FUZZ
    @given(body=raw_bodies, secret=SECRETS)
    def raw(body: bytes, secret: str | None) -> None:
        _post_update(line, body, secret)

    with caplog.at_level(logging.ERROR, logger="channels.telegram"):
        updates()
        raw()
    assert not _poisoned(caplog), "an update was parsed but applying it failed"
    _still_answered_by_telegram(line, fake)


def test_every_telegram_field_with_every_odd_value(
    line: SmsLine, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    """A sweep: each odd value alone in each field of a text, a button press and a block."""
    with caplog.at_level(logging.ERROR, logger="channels.telegram"):
        for shape in (SHAPES[0], SHAPES[6], SHAPES[7]):
            for change, update in sweep(shape()):
                if not isinstance(update, dict) or "update_id" not in update:
                    continue  # the update_id itself is in the random search above
                update["update_id"] = next(_sids)
                try:
                    _post_update(line, _body(update), SECRET)
                    assert not _poisoned(caplog), "applying it failed"
                except Exception as exc:
                    exc.add_note(f"update with {change}")
                    raise
    _still_answered_by_telegram(line, fake)
