"""Staff hear a caller's recording through the dashboard, never from Twilio's address; erasure
and retention take it off the dashboard at once and off Twilio at the worker's next run.

A real call through the voice kit (signed webhooks, the real engine), the FakeTwilio serving
the recording's WAV, and staff logged in through the login form.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.services import privacy
from bot.services.accounts import create_staff
from bot.worker import Worker
from storage import partners
from storage import staff as accounts_store
from storage.db import transaction
from storage.models import AuditEntry, Contact, Response
from tests.conftest import Clock
from tests.dashboard import PASSWORD, log_in, staff_account
from tests.fakes.twilio_api import FakeTwilio, tiny_wav
from tests.sms_kit import SmsLine, twilio_settings
from tests.voice_kit import Call

CALLER = "+15558675309"
RECORDING = "RE" + "4" * 32
OPENING = "Cars race down Elm Street every night and the kids can't sleep"


@pytest.fixture
def line(settings: Settings, clock: Clock) -> Iterator[SmsLine]:
    with FakeTwilio() as fake:
        rt = build_runtime(twilio_settings(settings, fake, retain_words_days=30), clock=clock)
        yield SmsLine(rt, fake)
        rt.db.dispose()


def recorded_call(line: SmsLine, seconds: int = 42, sid: str = RECORDING) -> Call:
    """A caller raises a safety concern by phone and hangs up; Twilio has the recording."""
    line.fake.recordings[sid] = tiny_wav()
    call = Call(line, CALLER)
    call.ring()
    call.silence()  # the first language
    call.speak(OPENING)
    call.press("1")  # safety
    call.silence()  # no details
    call.speak("Elm Street by the school")
    call.press("1")  # may hear back
    call.hang_up(seconds=seconds, recording_sid=sid)
    return call


def opening(line: SmsLine) -> Response:
    with transaction(line.rt.db) as session:
        found = session.exec(select(Response).where(Response.item == "opening")).one()
        return found


def staff_client(line: SmsLine, role: str = "viewer") -> FlaskClient:
    """A browser logged in as staff (the account is made on first use)."""
    email = f"{role}@city.gov"
    with transaction(line.rt.db) as session:
        known = accounts_store.find_by_email(session, email) is not None
    if not known:
        staff_account(line.rt, email, role)
    client = line.app.test_client()
    assert log_in(client, email) == 302
    return client


def audio_url(call: Call) -> str:
    return f"/staff/recordings/{call.row().id}"


def plays(line: SmsLine) -> list[AuditEntry]:
    with transaction(line.rt.db) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == "recording.play")))


def test_staff_hear_the_recording_through_the_dashboard_and_never_twilios_address(
    line: SmsLine,
) -> None:
    call = recorded_call(line)
    client = staff_client(line)
    answer = client.get(audio_url(call))
    assert answer.status_code == 200
    assert answer.mimetype == "audio/wav"
    assert answer.data == tiny_wav()
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert answer.headers["Accept-Ranges"] == "bytes"
    [entry] = plays(line)
    assert (entry.actor, entry.target, entry.target_id) == (
        "viewer@city.gov",
        "voice_call",
        call.row().id,
    )
    assert not entry.detail  # nothing about the caller

    # The player seeking within the audio: a slice of the same bytes, and the same listen.
    part = client.get(audio_url(call), headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.data == tiny_wav()[100:200]
    assert len(plays(line)) == 1

    response = opening(line)
    assert response.text == OPENING
    for page in (f"/staff/responses/{response.id}", "/staff"):
        html = client.get(page).get_data(as_text=True)
        assert f'<audio controls preload="none" src="{audio_url(call)}"' in html
        assert "Recording of the call (0:42)" in html
        assert "transcript" in html
        assert "twilio.com" not in html
        assert RECORDING not in html
        assert "/Recordings/" not in html


def test_only_staff_logins_hear_it(line: SmsLine) -> None:
    call = recorded_call(line)
    stranger = line.app.test_client().get(audio_url(call))
    assert stranger.status_code == 302
    assert "/staff/login" in stranger.headers["Location"]

    with transaction(line.rt.db) as session:
        partner = partners.add(session, name="Grace Church", code="grace", keywords={})
    create_staff(
        line.rt, "grace@church.org", PASSWORD, "partner", actor="test", partner_id=partner.id
    )
    church = line.app.test_client()
    assert log_in(church, "grace@church.org") == 302
    assert church.get(audio_url(call)).status_code == 403
    assert plays(line) == []

    client = staff_client(line)
    assert client.get("/staff/recordings/999999").status_code == 404
    line.fake.recordings.clear()  # Twilio has none (deleted in its console)
    assert client.get(audio_url(call)).status_code == 404
    assert plays(line) == []


def test_erasure_silences_the_recording_and_the_worker_deletes_it_at_twilio(
    line: SmsLine,
) -> None:
    call = recorded_call(line)
    client = staff_client(line)
    response = opening(line)
    assert response.contact_id is not None
    privacy.erase_by_staff(line.rt, response.contact_id, "admin@city.gov")
    assert client.get(audio_url(call)).status_code == 404
    assert "<audio" not in client.get(f"/staff/responses/{response.id}").get_data(as_text=True)
    assert line.fake.deleted_recordings == []  # not yet: the worker does it

    worker = Worker(line.rt)
    assert worker.delete_recordings() == 1
    assert line.fake.deleted_recordings == [RECORDING]
    assert line.fake.recordings == {}
    assert call.row().recording_delete_sid is None
    assert worker.delete_recordings() == 0


def test_a_recording_that_arrives_after_erasure_is_deleted_unheard(line: SmsLine) -> None:
    """The resident asked for erasure while Twilio was still finishing the recording."""
    line.fake.recordings[RECORDING] = tiny_wav()
    call = Call(line, CALLER)
    call.ring()
    call.silence()
    call.speak(OPENING)
    with transaction(line.rt.db) as session:
        contact = session.exec(select(Contact).where(Contact.channel == "voice")).one()
    assert contact.id is not None
    privacy.erase_by_staff(line.rt, contact.id, "admin@city.gov")
    call.hang_up(seconds=12, recording_sid=RECORDING)
    assert call.row().recording_sid is None
    assert staff_client(line).get(audio_url(call)).status_code == 404
    assert Worker(line.rt).delete_recordings() == 1
    assert line.fake.deleted_recordings == [RECORDING]


def test_retention_removes_the_recording_with_the_words(line: SmsLine, clock: Clock) -> None:
    call = recorded_call(line)
    clock.advance(days=29)
    privacy.run_retention(line.rt)
    # Within TOWNLINE_RETAIN_WORDS_DAYS (30 here): words and voice stay.
    assert staff_client(line).get(audio_url(call)).status_code == 200
    clock.advance(days=2)
    privacy.run_retention(line.rt)
    assert opening(line).text == ""
    assert staff_client(line).get(audio_url(call)).status_code == 404
    worker = Worker(line.rt)
    assert worker.delete_recordings() == 1
    assert line.fake.deleted_recordings == [RECORDING]


def test_a_recording_on_legal_hold_outlives_erasure_and_retention(
    line: SmsLine, clock: Clock
) -> None:
    """A held response keeps its words; the call they were said in keeps its voice too."""
    call = recorded_call(line)
    response = opening(line)
    assert response.id is not None
    assert response.contact_id is not None
    privacy.hold_response(line.rt, response.id, True, actor="records@city.gov")
    privacy.erase_by_staff(line.rt, response.contact_id, "admin@city.gov")
    clock.advance(days=31)
    privacy.run_retention(line.rt)
    assert opening(line).text == OPENING
    assert staff_client(line).get(audio_url(call)).status_code == 200
    assert Worker(line.rt).delete_recordings() == 0
    assert line.fake.deleted_recordings == []

    # Once the hold is lifted, the next retention run lets both go.
    privacy.hold_response(line.rt, response.id, False, actor="records@city.gov")
    privacy.run_retention(line.rt)
    assert staff_client(line).get(audio_url(call)).status_code == 404
    assert Worker(line.rt).delete_recordings() == 1
    assert line.fake.deleted_recordings == [RECORDING]


def test_a_recording_twilio_no_longer_has_counts_as_deleted(line: SmsLine) -> None:
    call = recorded_call(line)
    line.fake.recordings.clear()
    response = opening(line)
    assert response.contact_id is not None
    privacy.erase_by_staff(line.rt, response.contact_id, "admin@city.gov")
    assert Worker(line.rt).delete_recordings() == 1  # Twilio's 404: already gone
    assert call.row().recording_delete_sid is None


def test_without_phone_calls_there_is_nothing_to_play_or_delete(
    rt: Runtime, client: FlaskClient
) -> None:
    staff_account(rt, "sam@city.gov", "viewer")
    log_in(client, "sam@city.gov")
    assert client.get("/staff/recordings/1").status_code == 503
    assert Worker(rt).delete_recordings() == 0
