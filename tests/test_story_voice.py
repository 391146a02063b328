"""Residents who call: whole calls as stories, TwiML in, keys and speech out.

Every webhook is signed with Twilio's own RequestValidator and answered with TwiML that the
test reads as a caller hears it (tests/voice_kit.py). The engine, the database and the
worker are the real ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.runtime import build_runtime
from channels import twilio_voice
from storage import calls
from storage.db import transaction
from storage.models import Contact, Response
from tests.conftest import Clock
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, FakeTwilio
from tests.sms_kit import SmsLine, twilio_settings
from tests.voice_kit import Call

CALLER = "+15558675309"
RECORDING = "RE" + "7" * 32


@pytest.fixture
def line(settings: Settings, clock: Clock) -> Iterator[SmsLine]:
    with FakeTwilio() as fake:
        rt = build_runtime(twilio_settings(settings, fake), clock=clock)
        yield SmsLine(rt, fake)
        rt.db.dispose()


def responses(line: SmsLine) -> list[Response]:
    with transaction(line.rt.db) as session:
        return list(session.exec(select(Response).order_by(Response.id)))  # type: ignore[arg-type]


def voice_contact(line: SmsLine, number: str = CALLER) -> Contact:
    with transaction(line.rt.db) as session:
        found = session.exec(
            select(Contact).where(Contact.channel == "voice", Contact.address == number)
        ).one()
        return found


def test_a_call_in_english_from_the_first_word_to_goodbye(line: SmsLine) -> None:
    call = Call(line, CALLER)
    answer = call.ring()
    # The first thing every caller hears: not for emergencies, hang up and call 911.
    assert "not for emergencies" in answer.words[0]
    assert "call 9 1 1" in answer.words[0]
    assert answer.heard[0].voice == "Polly.Joanna-Neural"
    assert answer.recording is not None
    assert answer.recording["track"] == "inbound"
    assert "Para español, oprima 2." in answer.words

    answer = call.silence()  # no key: the first language
    assert "what's on your mind" in answer.said.lower() or "tell us" in answer.said.lower()
    assert answer.gather is not None
    assert "speech" in answer.gather["input"]
    assert answer.gather["language"] == "en-US"

    answer = call.speak("Cars race down Elm Street every night and the kids can't sleep")
    assert answer.gather is not None
    assert answer.gather.get("numDigits") == "1"
    assert "For a safety concern, press 1." in answer.words
    assert not any("Reply" in w for w in answer.words)  # a call never says "reply"

    answer = call.press("1")
    assert "Anything else we should know" in answer.said
    answer = call.speak("It happens around midnight, mostly on weekends")
    assert "Where is this happening?" in answer.said
    answer = call.speak("Elm Street by the school")
    answer = call.press("1")  # consent to hear back
    assert "Thank you for raising this" in answer.said
    assert "by phone call, or by text message to this number?" in answer.said
    answer = call.press("1")  # by call
    assert "text" not in answer.said
    assert answer.gather is not None  # press 1 to say more
    assert answer.hangup

    call.hang_up(seconds=52, recording_sid=RECORDING)
    said = [(r.item, r.text) for r in responses(line)]
    assert ("opening", "Cars race down Elm Street every night and the kids can't sleep") in said
    assert ("details", "It happens around midnight, mostly on weekends") in said
    row = call.row()
    assert (row.recording_sid, row.recording_seconds) == (RECORDING, 52)
    assert row.language == "en"
    contact = voice_contact(line)
    assert contact.language == "en"
    assert contact.follow_up_consent


def test_a_call_in_spanish_is_spoken_and_heard_in_spanish(line: SmsLine) -> None:
    call = Call(line, CALLER)
    call.ring()
    answer = call.press("2")
    assert {h.voice for h in answer.heard} == {"Polly.Lupe-Neural"}
    assert answer.gather is not None
    assert answer.gather["language"] == "es-US"
    answer = call.speak("Los carros pasan muy rápido frente a la escuela todas las mañanas")
    assert "Para seguridad, oprima 1." in answer.words
    answer = call.speak("uno")  # a spoken number is not a key: the words are listened to
    answer = call.press("1")
    assert "¿Hay algo más que debamos saber" in answer.said
    answer = call.silence()  # an optional question left unanswered is skipped
    assert "¿Dónde está pasando?" in answer.said
    call.silence()
    answer = call.press("2")  # no follow-up, thank you
    assert "Gracias por avisarnos" in answer.said
    answer = call.silence()
    assert answer.hangup
    assert voice_contact(line).language == "es"
    assert responses(line)[0].language == "es"


def test_a_caller_the_line_knows_hears_their_language_at_once(line: SmsLine) -> None:
    first = Call(line, CALLER)
    first.ring()
    first.press("2")
    again = Call(line, CALLER)
    answer = again.ring()
    assert "no es para emergencias" in answer.words[0]
    assert "Para español, oprima 2." not in answer.words  # no language menu
    assert answer.gather is not None
    assert answer.gather["language"] == "es-US"


def test_danger_in_what_a_caller_says_is_answered_with_911_first_and_alone(
    line: SmsLine,
) -> None:
    call = Call(line, CALLER)
    call.ring()
    call.silence()
    answer = call.speak("there is a man outside my door with a gun right now")
    first = answer.words[0]
    assert "911" in first or "9 1 1" in first
    assert not any("For a safety concern" in w for w in answer.words)
    assert responses(line)[0].urgent


def test_stop_said_on_a_call_stops_texts_to_that_number_too(line: SmsLine) -> None:
    phone = line.phone(CALLER)
    phone.text("hello")
    call = Call(line, CALLER)
    call.ring()
    call.silence()
    call.speak("stop")
    assert voice_contact(line).opted_out_at is not None
    assert line.contact(CALLER).opted_out_at is not None  # the SMS contact of the number


def test_calling_back_after_stop_does_not_restart_anything_until_start(line: SmsLine) -> None:
    line.phone(CALLER).text("hello")
    call = Call(line, CALLER)
    call.ring()
    call.silence()
    call.speak("stop")
    again = Call(line, CALLER)
    answer = again.ring()
    assert "won't get more messages" in answer.said
    assert voice_contact(line).opted_out_at is not None  # calling is not consenting again
    answer = again.speak("start")
    assert voice_contact(line).opted_out_at is None
    assert line.contact(CALLER).opted_out_at is not None  # texts stay stopped: START by text
    again.speak("I want to say the crossing guard on Oak is wonderful")
    assert any("crossing guard" in r.text for r in responses(line))


def test_a_withheld_number_is_a_caller_of_its_own(line: SmsLine) -> None:
    for _ in range(2):
        call = Call(line, "anonymous")
        call.ring()
        call.silence()
        call.speak("I want to ask about the cameras on Main Street")
    with transaction(line.rt.db) as session:
        callers = session.exec(select(Contact).where(Contact.channel == "voice")).all()
    assert len(callers) == 2
    assert all(c.address.startswith("anonymous:CA") for c in callers)


def test_a_webhook_twilio_delivers_twice_is_one_turn(line: SmsLine) -> None:
    call = Call(line, CALLER)
    call.ring()
    call.silence()
    form = {
        "CallSid": call.sid,
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "From": CALLER,
        "SpeechResult": "The streetlight on Pine has been out for weeks",
    }
    action = call.last.gather["action"] if call.last and call.last.gather else ""
    token = {"I-Twilio-Idempotency-Token": "retry-token-1"}
    first = line.post(action, form, headers=token)
    second = line.post(action, form, headers=token)
    assert first.status_code == second.status_code == 200
    assert len(responses(line)) == 1


def test_unsigned_or_malformed_voice_webhooks_are_refused(line: SmsLine) -> None:
    form = {"CallSid": "CA" + "1" * 32, "From": CALLER, "AccountSid": DEFAULT_ACCOUNT_SID}
    for path in (
        twilio_voice.INCOMING_PATH,
        twilio_voice.TURN_PATH,
        twilio_voice.RECORDING_PATH,
        twilio_voice.STATUS_PATH,
    ):
        assert line.post(path, form, signature="forged").status_code == 403
        assert line.client.post(path, data=form).status_code == 403
    assert line.post(twilio_voice.INCOMING_PATH, {"From": CALLER}).status_code == 400
    bad = {**form, "RecordingSid": "not-a-sid"}
    assert line.post(twilio_voice.RECORDING_PATH, bad).status_code == 400
    with transaction(line.rt.db) as session:
        assert calls.by_sid(session, form["CallSid"]) is None


def test_a_caller_who_asks_about_privacy_hears_all_of_it(line: SmsLine) -> None:
    call = Call(line, CALLER)
    call.ring()
    call.silence()  # English
    answer = call.speak("Privacy")
    said = answer.said
    assert "To erase yours, just say DELETE MY DATA." in said  # its spoken variant
    assert "Reply" not in said
    assert "http" not in said


def test_an_offer_to_switch_language_leaves_the_call_in_its_language(line: SmsLine) -> None:
    """Spanish words on an English call: the offer is said in Spanish, once; the question
    before it is still answered in English, heard by English speech recognition."""
    call = Call(line, CALLER)
    call.ring()
    call.silence()  # English
    call.speak("Hello")
    call.press("1")  # safety
    answer = call.speak(
        "Los carros pasan muy rápido frente a la escuela todas las mañanas y los niños tienen miedo"
    )
    assert answer.words[0].startswith("Where is this happening?")
    assert answer.words[1] == "Para seguir en español, diga ESPAÑOL."
    assert answer.heard[1].voice == "Polly.Lupe-Neural"
    assert answer.gather is not None
    assert answer.gather["language"] == "en-US"
    assert "Please speak now." in answer.said


def test_the_meetings_are_read_aloud_without_their_links(line: SmsLine) -> None:
    from bot.services import meetings

    meetings.create_meeting(
        line.rt,
        title="Town hall",
        starts_at="2026-11-26T18:30:00-05:00",
        location="Main Library",
    )
    meetings.create_meeting(
        line.rt,
        title="Online listening session",
        starts_at="2026-11-27T12:00:00-05:00",
        location="City Hall",
        virtual_url="https://meet.example.org/abc",
    )
    call = Call(line, CALLER)
    call.ring()
    call.silence()  # English
    said = call.speak("meetings").words[0]
    assert said.startswith("Upcoming community meetings: Town hall, Thursday")
    assert "Main Library. Online listening session, Friday" in said  # each line a sentence
    assert "City Hall" in said
    assert "http" not in said
    assert "meet.example" not in said
