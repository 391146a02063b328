"""Opt-out is the agency's own record: STOP in any language, Twilio's OptOutType, START, HELP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from channels import twilio_sms
from storage import conversations
from storage.db import transaction
from tests.conftest import Clock
from tests.sms_kit import SmsLine, queue_broadcast, sms_line

RESIDENT = "+15558675310"


@pytest.fixture
def line(settings: Settings, clock: Clock) -> Iterator[SmsLine]:
    """The agency's SMS line, talking to a FakeTwilio."""
    with sms_line(settings, clock) as sms:
        yield sms


@pytest.mark.parametrize(
    ("stop", "confirmation"),
    [
        ("STOP", "You won't get more messages"),
        ("no más", "Ya no recibirá mensajes"),
        ("Dừng lại", "Quý vị sẽ không nhận thêm tin nhắn"),
        ("退订", "您将不再收到"),
    ],
)
def test_stop_in_any_language_is_confirmed_once_and_then_silence(
    line: SmsLine, stop: str, confirmation: str
) -> None:
    phone = line.phone(RESIDENT)
    [reply] = phone.text(stop)
    assert confirmation in reply
    assert "START" in reply
    assert line.contact(RESIDENT).opted_out_at is not None
    assert phone.text(stop) == []  # one confirmation, as carriers require
    assert phone.text("Cars race down Elm Street every night") == []


def test_stop_then_a_broadcast_never_goes_out(line: SmsLine) -> None:
    phone = line.phone(RESIDENT)
    assert queue_broadcast(line, RESIDENT, "Community meeting Thursday 7pm")  # queued before STOP
    phone.send("STOP")  # stored; the worker has not read it yet
    # Queued before anyone has read the STOP; nothing goes to the resident until someone has.
    assert queue_broadcast(line, RESIDENT, "Reminder: meeting tonight")
    line.drain()
    assert len(phone.inbox()) == 1  # only the STOP confirmation
    statuses = sorted((row.kind, row.status) for row in line.outbox_rows(RESIDENT))
    assert statuses == [("broadcast", "cancelled"), ("broadcast", "cancelled"), ("opt_out", "sent")]
    assert not queue_broadcast(line, RESIDENT, "Reminder: meeting tonight")  # refused at queue time


def test_opt_out_is_checked_again_at_send_time(line: SmsLine) -> None:
    assert queue_broadcast(line, RESIDENT, "Community meeting Thursday 7pm")
    with transaction(line.rt.db) as session:  # e.g. opted out by staff, after it was queued
        contact = conversations.find_contact(session, twilio_sms.NAME, RESIDENT)
        assert contact is not None
        assert contact.id is not None
        conversations.update_contact(session, contact.id, opted_out_at=line.rt.now())
    line.drain()
    assert line.fake.requests == []
    [row] = line.outbox_rows(RESIDENT)
    assert (row.status, row.last_error) == ("cancelled", "opted out")


def test_start_reverses_stop(line: SmsLine) -> None:
    phone = line.phone(RESIDENT)
    phone.text("STOP")
    [welcome] = phone.text("START")
    assert "Welcome back" in welcome
    assert line.contact(RESIDENT).opted_out_at is None
    assert queue_broadcast(line, RESIDENT, "Community meeting Thursday 7pm")
    line.drain()
    assert phone.inbox() == ["Community meeting Thursday 7pm"]


def test_twilio_opt_out_type_updates_the_record_without_a_second_confirmation(
    line: SmsLine,
) -> None:
    # With Advanced Opt-Out Twilio confirms the STOP itself; a custom keyword shows up as
    # OptOutType even when the body is not one of Townline's words.
    phone = line.phone(RESIDENT)
    assert phone.text("FINITO", OptOutType="STOP") == []
    assert line.contact(RESIDENT).opted_out_at is not None
    assert not queue_broadcast(line, RESIDENT, "Community meeting Thursday 7pm")
    [welcome] = phone.text("UNSTOP", OptOutType="START")
    assert "Welcome back" in welcome
    assert line.contact(RESIDENT).opted_out_at is None


@pytest.mark.parametrize(
    ("word", "who", "how_often"),
    [
        ("HELP", "Springfield Police community line", "We only write when you do"),
        ("ayuda", "Canal comunitario de Springfield Police", "Solo le escribimos si"),
        ("trợ giúp", "Đường dây cộng đồng Springfield Police", "Chúng tôi chỉ nhắn khi"),
        ("帮助", "Springfield Police社区热线", "只有您来信或订阅后"),
    ],
)
def test_help_says_who_we_are_not_for_emergencies_how_often_and_how_to_stop(
    line: SmsLine, word: str, who: str, how_often: str
) -> None:
    [help_text] = line.phone(RESIDENT).text(word)
    assert who in help_text
    assert how_often in help_text
    assert "911" in help_text  # not for emergencies
    assert "STOP" in help_text  # how to stop
    assert "START" in help_text


def test_help_still_answers_a_resident_who_opted_out(line: SmsLine) -> None:
    phone = line.phone(RESIDENT)
    phone.text("STOP")
    [help_text] = phone.text("HELP")
    assert "911" in help_text
    assert line.contact(RESIDENT).opted_out_at is not None  # HELP does not opt back in
