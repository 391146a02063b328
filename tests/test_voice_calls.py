"""Calls out, only by consent: a caller's follow-ups and meeting reminders as short calls.

A resident who called the line and said yes to hearing back (or to meeting reminders) is
called by the worker through the real twilio client, here against the fake Calls API. The
test reads the TwiML the fake was given as the resident would hear it (tests/voice_kit.py),
then posts Twilio's signed status and keypad webhooks back: no answer is tried again an hour
later, a machine gets the message once, 9 stops calls and texts alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from werkzeug.test import TestResponse

from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.services import broadcasts, followups, meetings
from bot.worker import Worker
from channels import twilio_sms, twilio_voice
from storage import calls, conversations, outbox
from storage.db import transaction
from storage.meetings import aware
from storage.models import Contact, Outbox, Response
from tests.conftest import Clock
from tests.fakes._http import RecordedRequest, Reply
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, FakeTwilio, PlacedCall
from tests.sms_kit import AGENCY_NUMBER, SmsLine, queue_broadcast, twilio_settings
from tests.voice_kit import Call, Twiml

RESIDENT = "+15558675310"
PUBLIC_URL = "https://line.example.org"
KEYPAD_URL = PUBLIC_URL + twilio_voice.KEYPAD_PATH


@contextmanager
def voice_line(
    settings: Settings, clock: Clock, fake: FakeTwilio | None = None, **overrides: Any
) -> Iterator[SmsLine]:
    """The agency's line with calls out configured (a number to call from, PUBLIC_URL)."""
    values: dict[str, Any] = {
        "twilio_voice_from": AGENCY_NUMBER,
        "public_url": PUBLIC_URL,
        "twilio_voice_cps": 1000.0,  # pacing has its own test; elsewhere it only slows them
        **overrides,
    }
    with fake or FakeTwilio() as twilio:
        rt = build_runtime(twilio_settings(settings, twilio, **values), clock=clock)
        line = SmsLine(rt, twilio)
        try:
            yield line
        finally:
            line.worker.scheduler_lock.release()  # PostgreSQL: its connection is closed
            for name in (twilio_sms.NAME, twilio_voice.NAME):
                rt.channels[name].close()  # type: ignore[attr-defined]
            rt.db.dispose()


@pytest.fixture
def line(settings: Settings, clock: Clock) -> Iterator[SmsLine]:
    with voice_line(settings, clock) as voice:
        yield voice


# ---- the resident's side ------------------------------------------------------------------


def call_in_and_consent(line: SmsLine, number: str = RESIDENT, spanish: bool = False) -> int:
    """A resident calls, raises a concern and presses 1 to hear back; their response's id."""
    call = Call(line, number)
    call.ring()
    if spanish:
        call.press("2")
    else:
        call.silence()
    call.speak("Cars race down Elm Street every night and the kids can't sleep")
    call.press("1")  # a safety concern
    call.silence()  # nothing more to add
    call.silence()  # no place
    call.press("1")  # yes, tell me what was done
    with transaction(line.rt.db) as session:
        response = session.exec(select(Response).order_by(col(Response.id).desc())).first()
        assert response is not None
        assert response.follow_up_consent
        assert response.id is not None
        return response.id


def call_in_and_subscribe(
    line: SmsLine, number: str = RESIDENT, subscribed: Callable[[str], Contact] | None = None
) -> None:
    """A resident calls and asks for meeting reminders (any neighbourhood)."""
    call = Call(line, number)
    call.ring()
    call.silence()
    assert "reminders" in call.speak("meetings").said
    call.press("1")  # yes
    call.silence()  # any neighbourhood
    assert (subscribed or (lambda n: voice_contact(line, n)))(number).reminder_consent


def town_hall_reminders_are_due(line: SmsLine, clock: Clock) -> None:
    """A town hall at 18:30 in New York, reminded two hours before; it is 16:30 there now."""
    meetings.create_meeting(
        line.rt,
        title="Town hall",
        starts_at="2026-11-24T18:30:00-05:00",
        location="Library",
        reminders=["PT2H"],
    )
    clock.now = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)
    assert line.worker.run_scheduled()


def publish_follow_up(line: SmsLine, response_ids: list[int], **messages: str) -> None:
    """Staff tell residents what was done about their concern ("you said, we did")."""
    with transaction(line.rt.db) as session:
        action = followups.create_draft(
            line.rt,
            session,
            title="Speed on Elm Street",
            messages=messages,
            response_ids=response_ids,
            actor="sam@city.gov",
        )
    followups.publish(line.rt, action.id or 0, actor="sam@city.gov")


def queue_call(
    line: SmsLine, number: str, text: str, *, kind: str = "reminder", language: str = "en"
) -> int | None:
    """A proactive row for a caller, as a meeting reminder writes it (None: refused)."""
    now = line.rt.now()
    with transaction(line.rt.db) as session:
        contact = conversations.get_or_create_contact(session, twilio_voice.NAME, number, now)
        row = {
            "contact_id": contact.id,
            "channel": twilio_voice.NAME,
            "kind": kind,
            "priority": 10,
            "proactive": True,
            "text": text,
            "language": language,
            "created_at": now,
            "next_attempt_at": now,
        }
        items = outbox.enqueue(session, [row])
        session.flush()
        return items[0].id if items else None


def calls_to(line: SmsLine, number: str = RESIDENT) -> list[PlacedCall]:
    return [c for c in line.fake.calls() if c.to == number]


def heard(placed: PlacedCall) -> Twiml:
    """What the resident hears when they pick up the call we placed."""
    return Twiml.parse(placed.twiml)


def callback(line: SmsLine, sid: str, status: str, answered_by: str | None = None) -> TestResponse:
    """Twilio's status callback once a call we placed has ended."""
    form = {
        "CallSid": sid,
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "From": AGENCY_NUMBER,
        "To": RESIDENT,
        "Direction": "outbound-api",
        "CallStatus": status,
    }
    if answered_by:
        form["AnsweredBy"] = answered_by
    return line.post(twilio_voice.STATUS_PATH, form)


def press(line: SmsLine, placed: PlacedCall, digit: str, url: str | None = None) -> Twiml:
    """A key pressed while the call we placed listens; the answer as the resident hears it."""
    gather = heard(placed).gather
    assert gather is not None
    action = url or gather["action"]
    path = action.removeprefix(PUBLIC_URL)
    form = {
        "CallSid": placed.sid,
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "From": AGENCY_NUMBER,
        "To": placed.to,
        "Direction": "outbound-api",
        "CallStatus": "in-progress",
        "Digits": digit,
    }
    response = line.post(path, form)
    assert response.status_code == 200, response.get_data(as_text=True)
    return Twiml.parse(response.get_data(as_text=True))


def row(line: SmsLine, row_id: int | None) -> Outbox:
    assert row_id is not None
    with transaction(line.rt.db) as session:
        found = session.get(Outbox, row_id)
        assert found is not None
        return found


def voice_contact(line: SmsLine, number: str = RESIDENT) -> Contact:
    with transaction(line.rt.db) as session:
        found = conversations.find_contact(session, twilio_voice.NAME, number)
        assert found is not None
        return found


def proactive_rows(line: SmsLine) -> list[Outbox]:
    with transaction(line.rt.db) as session:
        rows = session.exec(select(Outbox).where(Outbox.proactive == True))  # noqa: E712
        return sorted(rows, key=lambda r: r.id or 0)


# ---- 1. consent: a follow-up or a reminder is a call of its own ---------------------------


def test_a_caller_who_said_yes_hears_the_follow_up_in_a_call_in_their_language(
    line: SmsLine,
) -> None:
    response_id = call_in_and_consent(line, spanish=True)
    line.drain()
    assert line.fake.calls() == []  # what was said in the call placed no call of its own
    publish_follow_up(
        line,
        [response_id],
        en="Officers now patrol Elm Street at night. Reply HELP for help.",
        es="Los agentes patrullan Elm Street de noche. Responda AYUDA si necesita ayuda.",
    )
    line.drain()
    [placed] = line.fake.calls()
    assert (placed.to, placed.from_) == (RESIDENT, AGENCY_NUMBER)
    assert placed.machine_detection == "DetectMessageEnd"
    assert placed.status_callback == PUBLIC_URL + twilio_voice.STATUS_PATH
    answer = heard(placed)
    # Who is calling and why, first: the resident did not call us.
    assert answer.words[0].startswith("Hola, le llama el canal comunitario de Springfield")
    assert answer.words[1] == "Los agentes patrullan Elm Street de noche."  # no "Responda"
    assert {(h.voice, h.language) for h in answer.heard} == {("Polly.Lupe-Neural", "es-US")}
    assert answer.gather is not None
    assert (answer.gather["input"], answer.gather["numDigits"]) == ("dtmf speech", "1")
    assert answer.gather["language"] == "es-US"  # "basta" is heard in Spanish
    [follow_up] = [r for r in proactive_rows(line) if r.kind == "follow_up"]
    assert answer.gather["action"] == f"{KEYPAD_URL}?o={follow_up.id}"
    options = answer.words[2]
    assert "oprima 1" in options
    assert "oprima 9 o diga «basta»" in options
    assert answer.words[-1] == "Gracias. Adiós."  # not "gracias por llamar": we called
    assert (follow_up.status, follow_up.provider_id) == ("sent", placed.sid)
    assert line.fake.messages() == []  # a call, not a text


def test_a_caller_who_asked_for_meeting_reminders_is_called_with_each(
    line: SmsLine, clock: Clock
) -> None:
    call_in_and_subscribe(line)
    town_hall_reminders_are_due(line, clock)
    line.drain()
    [placed] = calls_to(line)
    said = heard(placed).said
    assert said.startswith(
        "Hello, this is the Springfield Police community line. You asked us to call you about"
        " this. Reminder from Springfield Police: Town hall"
    )
    assert "Library" in said
    assert "Reply" not in said  # a call never asks for a reply
    assert "press 9" in said
    assert line.fake.messages() == []


def test_no_call_without_consent_nor_to_a_withheld_number(line: SmsLine) -> None:
    broadcast = queue_call(line, RESIDENT, "Coffee with a cop on Saturday", kind="broadcast")
    withheld = queue_call(line, "anonymous:CA" + "1" * 32, "Reminder: town hall tonight at 7")
    line.drain()
    assert line.fake.calls() == []  # a broadcast to everyone is not what a caller agreed to
    refused = row(line, broadcast)
    assert (refused.status, refused.last_error) == (
        "failed",
        "no consent to a call for a broadcast",
    )
    assert row(line, withheld).status == "failed"


def test_a_broadcast_counts_and_reaches_texters_not_callers(line: SmsLine) -> None:
    call_in_and_consent(line)  # a caller, who agreed to follow-up calls only
    assert line.phone("+15550001111").text("hello")
    preview = broadcasts.preview(line.rt, {"en": "Coffee with a cop on Saturday"})
    assert preview["recipients"] == 1
    broadcasts.create_broadcast(line.rt, {"en": "Coffee with a cop on Saturday"})
    line.drain()
    assert line.fake.calls() == []
    assert [r.channel for r in proactive_rows(line) if r.kind == "broadcast"] == ["sms"]


def test_a_caller_who_asks_for_texts_hears_back_by_text(line: SmsLine) -> None:
    call = Call(line, RESIDENT)
    call.ring()
    call.press("2")  # Spanish
    call.speak("Los carros pasan muy rápido frente a la escuela")
    call.press("1")
    call.silence()
    call.silence()
    answer = call.press("1")  # yes, tell me what was done
    assert "¿Cómo prefiere que le avisemos" in answer.said
    answer = call.press("2")  # by text message
    assert "Le enviaremos mensajes de texto a este número" in answer.said
    assert voice_contact(line).follow_up_by == "sms"
    texter = line.contact(RESIDENT)
    assert texter.language == "es"
    assert texter.opted_out_at is None

    with transaction(line.rt.db) as session:
        response = session.exec(select(Response).where(Response.item == "opening")).one()
    assert response.id is not None
    publish_follow_up(
        line,
        [response.id],
        en="Officers now patrol Elm Street.",
        es="Los agentes ahora patrullan Elm Street.",
    )
    line.drain()
    assert line.fake.calls() == []
    assert line.phone(RESIDENT).inbox() == ["Los agentes ahora patrullan Elm Street."]


def test_a_subscriber_who_asks_for_texts_gets_reminders_by_text(
    line: SmsLine, clock: Clock
) -> None:
    call = Call(line, RESIDENT)
    call.ring()
    call.silence()
    call.speak("meetings")
    call.press("1")  # yes, remind me
    answer = call.silence()  # any neighbourhood
    assert "by phone call, or by text message" in answer.said
    call.press("2")
    assert not voice_contact(line).reminder_consent
    assert line.contact(RESIDENT).reminder_consent
    # Subscribing again on a later call keeps them on texts, and not on calls as well.
    call_in_and_subscribe(line, subscribed=line.contact)
    assert not voice_contact(line).reminder_consent
    town_hall_reminders_are_due(line, clock)
    line.drain()
    assert line.fake.calls() == []
    [reminder] = line.phone(RESIDENT).inbox()
    assert "Town hall" in reminder


def test_a_caller_whose_texts_are_stopped_is_told_calls_stay(line: SmsLine) -> None:
    """The number texted STOP, then came back by call with START: texts stay stopped."""
    phone = line.phone(RESIDENT)
    phone.text("hello")
    phone.text("STOP")
    call = Call(line, RESIDENT)
    call.ring()
    call.silence()
    call.speak("start")
    assert voice_contact(line).opted_out_at is None
    call.speak("The lights on Oak Street are out again")
    call.press("1")
    call.silence()
    call.silence()
    answer = call.press("1")
    assert "by phone call, or by text message" in answer.said
    answer = call.press("2")
    assert "This number has stopped our text messages, so we will call you" in answer.said
    assert voice_contact(line).follow_up_by == "voice"
    assert line.contact(RESIDENT).opted_out_at is not None  # still stopped

    with transaction(line.rt.db) as session:
        response = session.exec(select(Response).where(Response.item == "opening")).one()
    assert response.id is not None
    publish_follow_up(line, [response.id], en="The lights on Oak Street were fixed.")
    line.drain()
    [placed] = calls_to(line)
    assert "The lights on Oak Street were fixed." in heard(placed).said
    assert phone.inbox() == []


# ---- 2. paced at TWILIO_VOICE_CPS ---------------------------------------------------------


class _PacingClock:
    """Stands in for the worker's wall clock; its sleep is the only thing that moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class _StampedCalls(FakeTwilio):
    """A FakeTwilio that notes the pacing clock's time of every call placed."""

    def __init__(self, clock: _PacingClock) -> None:
        self.clock = clock
        self.stamps: list[float] = []
        super().__init__()

    def handle(self, request: RecordedRequest) -> Reply:
        if request.path.endswith("/Calls.json"):
            self.stamps.append(self.clock.now)
        return super().handle(request)


def test_reminder_calls_are_paced_at_twilio_voice_cps(settings: Settings, clock: Clock) -> None:
    pacing = _PacingClock()
    fake = _StampedCalls(pacing)
    residents = [f"+1555000{n:04d}" for n in range(5)]
    with voice_line(settings, clock, fake, twilio_voice_cps=2.0) as line:
        for number in residents:
            queue_call(line, number, "Reminder: town hall tonight at 7")
        Worker(line.rt, sleep=pacing.sleep, wall=pacing).drain()
        assert sorted(c.to for c in line.fake.calls()) == residents
    assert len(fake.stamps) == len(residents)
    assert pacing.slept  # it had to wait
    gaps = [b - a for a, b in zip(fake.stamps, fake.stamps[1:], strict=False)]
    assert all(gap >= 0.5 - 1e-9 for gap in gaps), gaps  # two calls a second, no burst


# ---- 3. quiet hours -----------------------------------------------------------------------


def test_a_reminder_call_waits_out_quiet_hours(line: SmsLine, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # 22:30 in New York
    row_id = queue_call(line, RESIDENT, "Reminder: town hall tomorrow at 9")
    line.drain()
    assert line.fake.calls() == []
    held = row(line, row_id)
    assert (held.status, held.last_error) == ("pending", "held for quiet hours")
    assert aware(held.next_attempt_at) == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 08:00
    clock.now = datetime(2026, 11, 25, 13, 5, tzinfo=UTC)  # 08:05 in New York
    line.drain()
    [placed] = calls_to(line)
    assert heard(placed).words[1] == "Reminder: town hall tomorrow at 9"
    assert row(line, row_id).status == "sent"


# ---- 4. how a call ended ------------------------------------------------------------------


def test_a_call_nobody_answers_is_tried_again_an_hour_later_then_given_up(
    line: SmsLine, clock: Clock
) -> None:
    row_id = queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    line.drain()
    for attempt, status in enumerate(["no-answer", "busy", "no-answer"], start=1):
        placed = calls_to(line)[-1]
        assert len(calls_to(line)) == attempt
        assert callback(line, placed.sid, status).status_code == 200
        assert callback(line, placed.sid, status).status_code == 200  # Twilio may post twice
        again = row(line, row_id)
        if attempt == twilio_voice.CALL_ATTEMPTS:
            break
        assert (again.status, again.last_error) == ("pending", f"call {status}")
        assert aware(again.next_attempt_at) == clock.now + timedelta(hours=1)
        line.drain()
        assert len(calls_to(line)) == attempt  # not before the hour is up
        clock.advance(hours=1)
        line.drain()
    assert len(calls_to(line)) == twilio_voice.CALL_ATTEMPTS
    given_up = row(line, row_id)
    assert (given_up.status, given_up.delivery_status) == ("failed", "undelivered")
    assert given_up.last_error == "call no-answer"
    clock.advance(hours=2)
    line.drain()
    assert len(calls_to(line)) == twilio_voice.CALL_ATTEMPTS


def test_a_call_answered_by_a_machine_or_a_person_is_delivered_once(
    line: SmsLine, clock: Clock
) -> None:
    machine, person = "+15550001111", "+15550002222"
    rows = {n: queue_call(line, n, "Reminder: town hall tonight at 7") for n in (machine, person)}
    line.drain()
    for number, answered_by in ((machine, "machine_end_beep"), (person, "human")):
        [placed] = calls_to(line, number)
        assert callback(line, placed.sid, "completed", answered_by).status_code == 200
        delivered = row(line, rows[number])
        assert (delivered.status, delivered.delivery_status) == ("sent", "delivered")
        with transaction(line.rt.db) as session:
            kept = calls.by_sid(session, placed.sid)  # who answered is kept with the call
            assert kept is not None
            assert (kept.direction, kept.outbox_id) == (calls.OUTBOUND, rows[number])
            assert (kept.status, kept.answered_by) == ("completed", answered_by)
    clock.advance(hours=2)
    line.drain()
    assert len(line.fake.calls()) == 2  # the message was left after the beep: once


def test_a_call_a_fax_machine_answered_is_not_delivered_and_staff_are_told(
    line: SmsLine,
) -> None:
    row_id = queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    line.drain()
    [placed] = calls_to(line)
    assert callback(line, placed.sid, "completed", answered_by="fax").status_code == 200
    faxed = row(line, row_id)
    assert (faxed.delivery_status, faxed.last_error) == ("undelivered", "a fax machine answered")
    assert faxed.needs_staff
    line.drain()
    assert len(calls_to(line)) == 1  # not called again


def test_a_lost_status_callback_is_asked_of_twilio_and_the_call_tried_again(
    line: SmsLine, clock: Clock
) -> None:
    """Our site was down when Twilio posted "no-answer": the worker asks, and retries."""
    row_id = queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    line.drain()
    [placed] = calls_to(line)
    worker = Worker(line.rt)
    assert worker.settle_calls() == 0  # too soon to ask: the call may be ringing still
    clock.advance(minutes=twilio_voice.SETTLE_MINUTES + 1)
    assert worker.settle_calls() == 0  # Twilio says it is still in progress
    line.fake.end_call(placed.sid, "no-answer")
    assert worker.settle_calls() == 1
    waiting = row(line, row_id)
    assert (waiting.status, waiting.last_error) == ("pending", "call no-answer")
    clock.advance(hours=1)
    line.drain()
    again = calls_to(line)[-1]
    assert again.sid != placed.sid
    # The second call was answered, and its callback was lost too.
    clock.advance(minutes=twilio_voice.SETTLE_MINUTES + 1)
    line.fake.end_call(again.sid, "completed", answered_by="human")
    assert worker.settle_calls() == 1
    assert row(line, row_id).delivery_status == "delivered"
    assert worker.settle_calls() == 0  # settled once
    with transaction(line.rt.db) as session:
        known = calls.by_sid(session, again.sid)
    assert known is not None
    assert (known.status, known.answered_by) == ("completed", "human")


def test_an_early_busy_callback_is_settled_later_all_the_same(line: SmsLine, clock: Clock) -> None:
    """Busy came back before the worker stored the call's id: ignored then, settled later."""
    assert callback(line, "CA" + "e" * 32, "busy").status_code == 200  # an id nobody knows
    row_id = queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    line.drain()
    [placed] = calls_to(line)
    line.fake.end_call(placed.sid, "busy")
    clock.advance(minutes=twilio_voice.SETTLE_MINUTES + 1)
    assert Worker(line.rt).settle_calls() == 1
    assert row(line, row_id).status == "pending"


def test_without_phone_calls_the_worker_settles_nothing(rt: Runtime) -> None:
    assert Worker(rt).settle_calls() == 0


def test_status_callbacks_must_be_signed_and_whole(line: SmsLine) -> None:
    form = {"CallSid": "CA" + "f" * 32, "CallStatus": "no-answer"}
    refused = line.post(twilio_voice.STATUS_PATH, form, signature="bm9wZQ==")
    assert refused.status_code == 403
    assert line.post(twilio_voice.STATUS_PATH, {"CallSid": "CA" + "f" * 32}).status_code == 400
    assert callback(line, "CA" + "e" * 32, "no-answer").status_code == 200  # not ours: ignored
    queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    line.drain()
    [placed] = calls_to(line)
    odd = callback(line, placed.sid, "completed\x00" + "d" * 100, "machine\x00" * 10)
    assert odd.status_code == 200  # kept as the table can hold it, never a 500


# ---- 5. the keypad: 9 stops calls and texts, 1 says it again --------------------------------


def test_nine_on_a_reminder_call_stops_calls_and_texts_to_that_number(line: SmsLine) -> None:
    phone = line.phone(RESIDENT)
    assert phone.text("hello")  # the resident has texted the line too
    queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    line.drain()
    [placed] = calls_to(line)
    assert queue_broadcast(line, RESIDENT, "Coffee with a cop on Saturday")  # not sent yet
    answer = press(line, placed, "9")
    assert "You will not get more calls or text messages" in answer.said
    assert answer.hangup
    assert answer.gather is None
    assert voice_contact(line).opted_out_at is not None
    assert line.contact(RESIDENT).opted_out_at is not None  # the SMS contact of the number
    line.drain()
    assert phone.inbox() == []  # the broadcast queued before the 9 never goes
    assert len(calls_to(line)) == 1  # nor does the confirmation become a call
    assert not queue_broadcast(line, RESIDENT, "Town hall on Monday")
    assert queue_call(line, RESIDENT, "Reminder: town hall on Monday") is None


def test_after_nine_a_first_text_from_that_number_is_stopped_too(line: SmsLine) -> None:
    queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    line.drain()
    [placed] = calls_to(line)
    press(line, placed, "9")
    phone = line.phone(RESIDENT)
    assert phone.text("what time is the meeting?") == []
    assert line.contact(RESIDENT).opted_out_at is not None


def test_one_on_a_reminder_call_says_it_again(line: SmsLine) -> None:
    row_id = queue_call(line, RESIDENT, "Recordatorio: reunión esta noche a las 7", language="es")
    line.drain()
    [placed] = calls_to(line)
    answer = press(line, placed, "1")
    assert answer.words[0] == "Recordatorio: reunión esta noche a las 7"
    assert {h.voice for h in answer.heard} == {"Polly.Lupe-Neural"}
    assert answer.gather is not None
    assert answer.gather["action"].endswith(f"?o={row_id}")
    assert "oprima 9" in answer.said
    assert answer.hangup
    answer = press(line, placed, "9", url=answer.gather["action"])  # then 9 after all
    assert "No recibirá más llamadas" in answer.said
    assert voice_contact(line).opted_out_at is not None


def picked_up(line: SmsLine, placed: PlacedCall) -> Call:
    return Call.answered(line, placed.to, placed.sid, placed.twiml)


@pytest.mark.parametrize(
    ("language", "words", "told"),
    [
        ("en", "Please stop calling me.", "You will not get more calls or text messages"),
        ("es", "Basta.", "No recibirá más llamadas ni mensajes de texto"),
        ("vi", "Dừng lại.", "Quý vị sẽ không nhận thêm cuộc gọi"),
        ("zh", "停止。", "您将不会再收到"),
    ],
)
def test_saying_stop_on_a_reminder_call_stops_calls_and_texts(
    line: SmsLine, language: str, words: str, told: str
) -> None:
    phone = line.phone(RESIDENT)
    assert phone.text("hello")
    queue_call(line, RESIDENT, "Reminder: town hall tonight at 7", language=language)
    line.drain()
    [placed] = calls_to(line)
    call = picked_up(line, placed)
    answer = call.speak(words)
    assert told in answer.said
    assert answer.hangup
    assert voice_contact(line).opted_out_at is not None
    assert line.contact(RESIDENT).opted_out_at is not None  # and its texts
    assert queue_call(line, RESIDENT, "Reminder: town hall on Monday") is None


def test_danger_said_on_a_reminder_call_gets_who_to_call_first_and_alone(line: SmsLine) -> None:
    queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    line.drain()
    [placed] = calls_to(line)
    answer = picked_up(line, placed).speak("Stop, my neighbor has a gun and he is shooting")
    assert "911" in answer.said or "9 1 1" in answer.said
    assert "Reminder" not in answer.said
    assert voice_contact(line).opted_out_at is None  # "stop" in danger is not an opt-out


def test_a_resident_who_speaks_up_on_a_follow_up_call_is_heard(line: SmsLine) -> None:
    """Listening first, on our call too: their words are stored as a response of their own."""
    response_id = call_in_and_consent(line)
    publish_follow_up(line, [response_id], en="Officers now patrol Elm Street at night.")
    line.drain()
    [placed] = calls_to(line)
    call = picked_up(line, placed)
    assert "You asked us to call you about this" in call.last.said  # type: ignore[union-attr]
    complaint = "Thanks, but the cars still race past the school in the morning too"
    answer = call.speak(complaint)
    assert "Thank you for calling" not in answer.said
    with transaction(line.rt.db) as session:
        said = session.exec(select(Response).where(Response.text == complaint)).all()
    assert len(said) == 1
    assert said[0].contact_id == voice_contact(line).id
    call.press("1")  # safety
    call.silence()
    call.silence()
    answer = call.press("2")  # no need to hear back about this one
    assert "by phone call, or by text message" not in answer.said  # so: not asked how
    while call.last is not None and call.last.gather is not None:
        if "press 1" in call.last.said and "tell us something else" in call.last.said:
            break
        call.silence()
    assert call.last is not None
    assert "Thank you for talking with us" in call.last.said
    assert "Thank you for calling" not in call.told()
    with transaction(line.rt.db) as session:
        row = calls.by_sid(session, placed.sid)
    assert row is not None
    assert row.direction == calls.OUTBOUND


# ---- 6. STOP by text holds for calls -------------------------------------------------------


def test_a_caller_who_later_texts_stop_gets_no_follow_up_call(line: SmsLine) -> None:
    response_id = call_in_and_consent(line)
    line.phone(RESIDENT).text("STOP")
    assert voice_contact(line).opted_out_at is not None
    publish_follow_up(line, [response_id], en="Officers now patrol Elm Street at night.")
    line.drain()
    assert line.fake.calls() == []


def test_a_call_nobody_answered_is_not_tried_again_after_stop_by_text(
    line: SmsLine, clock: Clock
) -> None:
    phone = line.phone(RESIDENT)
    phone.text("hello")
    row_id = queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    line.drain()
    [placed] = calls_to(line)
    phone.text("STOP")  # while the call rang out
    callback(line, placed.sid, "no-answer")
    clock.advance(hours=1)
    line.drain()
    assert len(calls_to(line)) == 1
    assert (row(line, row_id).status, row(line, row_id).last_error) == ("cancelled", "opted out")


def test_a_resident_who_texted_stop_gets_no_call_even_after_calling_in(line: SmsLine) -> None:
    assert line.phone(RESIDENT).text("STOP")  # the one confirmation
    call = Call(line, RESIDENT)  # a voice contact for the number, made later
    call.ring()
    assert voice_contact(line).opted_out_at is not None  # calling is not consenting again
    answer = call.silence()  # the first language
    assert "won't get more messages" in answer.said  # told how to come back
    line.drain()
    assert line.fake.calls() == []


def test_a_subscriber_who_texted_stop_gets_no_reminder_call(line: SmsLine, clock: Clock) -> None:
    call_in_and_subscribe(line)
    line.phone(RESIDENT).text("STOP")
    town_hall_reminders_are_due(line, clock)
    line.drain()
    assert line.fake.calls() == []


# ---- 7. Twilio's errors on placing a call -------------------------------------------------


def test_numbers_that_cannot_be_called_are_marked_unreachable(line: SmsLine) -> None:
    invalid, not_valid = "+15550001111", "+15550002222"
    line.fake.rule_for(invalid, 400, 21211)  # Invalid 'To' Phone Number
    line.fake.rule_for(not_valid, 400, 21217)  # Phone number does not appear to be valid
    rows = [queue_call(line, n, "Reminder: town hall tonight at 7") for n in (invalid, not_valid)]
    line.drain()
    for row_id, number in zip(rows, (invalid, not_valid), strict=True):
        failed = row(line, row_id)
        assert (failed.status, failed.needs_staff) == ("failed", False)
        assert voice_contact(line, number).unreachable_at is not None
    assert line.fake.calls() == []
    line.fake.clear_rules()
    assert queue_call(line, invalid, "Reminder: town hall on Monday")
    line.drain()
    assert line.fake.calls() == []  # no call spent on it until the resident calls again


def test_a_rate_limit_then_an_outage_are_waited_out(line: SmsLine, clock: Clock) -> None:
    line.fake.fail_next(429, 20429)
    line.fake.fail_next(503)
    row_id = queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    for attempt, error in ((1, "twilio 20429 (HTTP 429)"), (2, "twilio 503 (HTTP 503)")):
        line.drain()
        waiting = row(line, row_id)
        assert (waiting.status, waiting.attempts, waiting.last_error) == ("pending", attempt, error)
        assert line.fake.calls() == []
        clock.advance(seconds=6)
    line.drain()
    assert len(calls_to(line)) == 1
    assert (row(line, row_id).status, row(line, row_id).attempts) == ("sent", 3)
    # The refused sends placed no call: nobody answering still gets the hour's retries.
    for tries in range(1, twilio_voice.CALL_ATTEMPTS):
        callback(line, calls_to(line)[-1].sid, "no-answer")
        assert row(line, row_id).status == "pending"
        clock.advance(hours=1)
        line.drain()
        assert len(calls_to(line)) == tries + 1
    callback(line, calls_to(line)[-1].sid, "no-answer")
    assert row(line, row_id).status == "failed"


def test_any_other_refusal_fails_and_asks_staff_to_look(line: SmsLine) -> None:
    line.fake.fail_next(400, 21215)  # no permission to call that region
    row_id = queue_call(line, RESIDENT, "Reminder: town hall tonight at 7")
    line.drain()
    failed = row(line, row_id)
    assert (failed.status, failed.needs_staff) == ("failed", True)
    assert voice_contact(line).unreachable_at is None


def test_erasing_a_caller_who_chose_texts_erases_the_texts_too(line: SmsLine) -> None:
    from bot.services import privacy

    call = Call(line, RESIDENT)
    call.ring()
    call.silence()
    call.speak("Cars race down Elm Street every night")
    call.press("1")
    call.silence()
    call.silence()
    call.press("1")
    call.press("2")  # by text
    assert line.contact(RESIDENT).id is not None
    caller = voice_contact(line)
    assert caller.id is not None
    privacy.erase_by_staff(line.rt, caller.id, "admin@city.gov")
    with transaction(line.rt.db) as session:
        left = session.exec(select(Contact).where(Contact.address == RESIDENT)).all()
    assert left == []  # neither the caller nor the number's SMS contact keeps the number


def test_a_stop_by_text_outlives_erasure_for_calls_too(line: SmsLine) -> None:
    """The number texted STOP, then had its data erased: a first call from it is stopped."""
    from bot.services import privacy

    phone = line.phone(RESIDENT)
    phone.text("hello")
    phone.text("STOP")
    texter = line.contact(RESIDENT)
    assert texter.id is not None
    privacy.erase_by_staff(line.rt, texter.id, "admin@city.gov")
    call = Call(line, RESIDENT)
    call.ring()
    assert voice_contact(line).opted_out_at is not None
    assert queue_call(line, RESIDENT, "Reminder: town hall tonight at 7") is None


@pytest.mark.parametrize(
    ("job_id", "seconds"),
    [("settle_calls", "SETTLE_CALLS_SECONDS"), ("recordings", "RECORDINGS_SECONDS")],
)
def test_the_worker_runs_the_call_jobs_on_a_schedule(
    rt: Runtime, job_id: str, seconds: str
) -> None:
    """Unsettled calls are asked about, and erased recordings deleted at Twilio, on a timer."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot import worker

    scheduler = BackgroundScheduler(timezone="UTC")
    worker._add_jobs(scheduler, Worker(rt))
    job = scheduler.get_job(job_id)
    assert job is not None
    assert job.trigger.interval.total_seconds() == getattr(worker, seconds)
