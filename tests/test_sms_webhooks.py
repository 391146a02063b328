"""The Twilio webhooks: signatures, malformed requests, duplicates and delivery callbacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.config import Settings
from channels import twilio_sms
from storage import conversations, inbound
from storage.db import transaction
from storage.models import InboundQueue, Message
from tests.conftest import Clock
from tests.fakes.twilio_api import sign
from tests.sms_kit import AGENCY_NUMBER, SmsLine, sms_line

RESIDENT = "+15558675310"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@pytest.fixture
def line(settings: Settings, clock: Clock) -> Iterator[SmsLine]:
    """The agency's SMS line, talking to a FakeTwilio."""
    with sms_line(settings, clock) as sms:
        yield sms


def _form(**fields: str) -> dict[str, str]:
    form = {"MessageSid": "SM" + "a" * 32, "From": RESIDENT, "To": AGENCY_NUMBER, "Body": "hi"}
    form.update(fields)
    return form


def _messages(line: SmsLine) -> int:
    """Messages kept anywhere: waiting for the worker, or answered."""
    with transaction(line.rt.db) as session:
        return conversations.count_rows(session, Message) + conversations.count_rows(
            session, InboundQueue
        )


def test_a_signed_message_is_stored_and_answered_with_empty_twiml_at_once(line: SmsLine) -> None:
    response = line.post(twilio_sms.INBOUND_PATH, _form())
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True) == EMPTY_TWIML
    # The 200 means the message is kept; the conversation runs in the worker, not here.
    assert inbound.count_waiting(line.rt.db) == 1
    assert line.client.get("/healthz").get_json()["inbound_waiting"] == 1  # for operators
    assert line.outbox_rows(RESIDENT) == []
    line.worker.answer()
    assert inbound.count_waiting(line.rt.db) == 0
    assert line.client.get("/healthz").get_json()["inbound_waiting"] == 0
    assert line.fake.requests == []  # the worker's lanes send; answering only queues replies
    assert [row.status for row in line.outbox_rows(RESIDENT)] == ["pending"]


@pytest.mark.parametrize(
    ("case", "signature"),
    [
        ("unsigned", ""),
        ("signed with another token", sign("http://localhost/sms/twilio", _form(), "other")),
        ("signed for another URL", sign("http://localhost/elsewhere", _form())),
    ],
)
def test_a_request_twilio_did_not_sign_is_refused(line: SmsLine, case: str, signature: str) -> None:
    response = line.post(twilio_sms.INBOUND_PATH, _form(), signature=signature)
    assert response.status_code == 403, case
    assert _messages(line) == 0


def test_a_tampered_body_is_refused(line: SmsLine) -> None:
    signature = sign(line.url(twilio_sms.INBOUND_PATH), _form())
    response = line.post(twilio_sms.INBOUND_PATH, _form(Body="STOP"), signature=signature)
    assert response.status_code == 403
    assert _messages(line) == 0


def test_fields_twilio_adds_without_notice_are_signed_too(line: SmsLine) -> None:
    form = _form(SomeNewField="x")
    signature = sign(line.url(twilio_sms.INBOUND_PATH), _form())  # signed without the new field
    assert line.post(twilio_sms.INBOUND_PATH, form, signature=signature).status_code == 403
    assert line.post(twilio_sms.INBOUND_PATH, form).status_code == 200


@pytest.mark.parametrize("missing", ["From", "MessageSid"])
def test_a_signed_but_malformed_message_gets_400(line: SmsLine, missing: str) -> None:
    form = _form()
    del form[missing]
    response = line.post(twilio_sms.INBOUND_PATH, form)
    assert response.status_code == 400
    assert "MessageSid and From are required" in response.get_data(as_text=True)
    assert _messages(line) == 0


def test_a_nonsense_media_count_gets_400(line: SmsLine) -> None:
    assert line.post(twilio_sms.INBOUND_PATH, _form(NumMedia="lots")).status_code == 400


def test_a_repeated_message_sid_is_recorded_once_and_answered_once(line: SmsLine) -> None:
    phone = line.phone(RESIDENT)
    first = phone.send("Cars race down Elm Street", sid="SM" + "d" * 32)
    again = phone.send("Cars race down Elm Street", sid="SM" + "d" * 32)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_data(as_text=True) == EMPTY_TWIML
    assert _messages(line) == 1
    line.drain()
    assert len(phone.inbox()) == 1  # one topic question, not two
    # Twilio retries a webhook it thinks failed even after the message has been answered.
    assert phone.send("Cars race down Elm Street", sid="SM" + "d" * 32).status_code == 200
    line.drain()
    assert _messages(line) == 1
    assert phone.inbox() == []  # nothing more


def test_behind_a_proxy_the_signature_is_checked_against_public_url(
    settings: Settings, clock: Clock
) -> None:
    with sms_line(settings, clock, public_url="https://townline.example.org") as line:
        # Twilio signed the public https URL; the app sees http://localhost via the proxy.
        public = "https://townline.example.org/sms/twilio"
        good = line.post(twilio_sms.INBOUND_PATH, _form(), signature=sign(public, _form()))
        assert good.status_code == 200
        seen = sign("http://localhost/sms/twilio", _form())
        assert line.post(twilio_sms.INBOUND_PATH, _form(), signature=seen).status_code == 403


def test_a_query_string_in_the_webhook_url_is_part_of_what_is_signed(
    settings: Settings, clock: Clock
) -> None:
    with sms_line(settings, clock, public_url="https://townline.example.org") as line:
        url = "https://townline.example.org/sms/twilio?line=main"
        response = line.client.post(
            "/sms/twilio?line=main",
            data=_form(),
            headers={"X-Twilio-Signature": sign(url, _form())},
        )
        assert response.status_code == 200


def test_delivery_statuses_never_move_backwards(line: SmsLine) -> None:
    line.phone(RESIDENT).text("hi")
    [row] = line.outbox_rows(RESIDENT)
    assert (row.delivery_status, row.provider_id) == ("sent", line.fake.messages()[0].sid)
    sid = row.provider_id
    assert sid is not None
    # Callbacks arrive out of order: delivered first, then the late sent and queued.
    for status, expected in [
        ("delivered", "delivered"),
        ("sent", "delivered"),
        ("queued", "delivered"),
        ("sending", "delivered"),
        ("undelivered", "delivered"),
        ("read", "read"),
        ("delivered", "read"),
    ]:
        assert line.status(sid, status).status_code == 200
        assert line.outbox_rows(RESIDENT)[0].delivery_status == expected, status


def test_a_delivery_error_is_recorded_by_its_code(line: SmsLine) -> None:
    line.phone(RESIDENT).text("hi")
    sid = line.outbox_rows(RESIDENT)[0].provider_id
    assert sid is not None
    line.status(sid, "undelivered", error_code="30003")
    row = line.outbox_rows(RESIDENT)[0]
    assert (row.delivery_status, row.last_error, row.needs_staff) == (
        "undelivered",
        "twilio 30003 (HTTP -)",
        False,
    )


def test_a_carrier_filtered_message_is_flagged_for_staff(line: SmsLine) -> None:
    line.phone(RESIDENT).text("hi")
    sid = line.outbox_rows(RESIDENT)[0].provider_id
    assert sid is not None
    line.status(sid, "undelivered", error_code="30007")
    row = line.outbox_rows(RESIDENT)[0]
    assert (row.delivery_status, row.needs_staff) == ("undelivered", True)


def test_a_landline_reported_by_callback_marks_the_number_unreachable(line: SmsLine) -> None:
    line.phone(RESIDENT).text("hi")
    sid = line.outbox_rows(RESIDENT)[0].provider_id
    assert sid is not None
    assert line.contact(RESIDENT).unreachable_at is None
    line.status(sid, "undelivered", error_code="30006")
    assert line.contact(RESIDENT).unreachable_at is not None


def test_an_unknown_sid_is_answered_200_and_ignored(
    line: SmsLine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="channels.twilio_sms")
    response = line.status("SM" + "f" * 32, "delivered")
    assert response.status_code == 200
    assert "unknown message" in caplog.text
    assert RESIDENT not in caplog.text


def test_an_unsigned_status_callback_is_refused(line: SmsLine) -> None:
    form = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered"}
    response = line.post(twilio_sms.STATUS_PATH, form, signature="bm9wZQ==")
    assert response.status_code == 403


def test_a_status_callback_without_a_status_gets_400(line: SmsLine) -> None:
    assert line.post(twilio_sms.STATUS_PATH, {"MessageSid": "SM" + "f" * 32}).status_code == 400


def test_without_twilio_settings_sms_is_off(app: Flask, client: FlaskClient) -> None:
    assert "sms" not in app.extensions["townline"].channels
    assert client.post(twilio_sms.INBOUND_PATH, data=_form()).status_code == 404
