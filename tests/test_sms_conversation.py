"""Stories over SMS: a resident's texts come in as signed webhooks and replies reach the phone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.segments import count_segments
from storage import conversations
from storage.db import transaction
from storage.models import Message
from tests.conftest import Clock
from tests.sms_kit import SmsLine, sms_line

RESIDENT = "+15558675310"
PICTURE = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"


@pytest.fixture
def line(settings: Settings, clock: Clock) -> Iterator[SmsLine]:
    """The agency's SMS line, talking to a FakeTwilio."""
    with sms_line(settings, clock) as sms:
        yield sms


def test_a_whole_conversation_in_english(line: SmsLine) -> None:
    phone = line.phone(RESIDENT)
    [welcome] = phone.text("hi")
    assert "what's on your mind?" in welcome
    assert "call 911" in welcome
    [menu] = phone.text("Cars race down Elm Street every night")
    assert "kept your words" in menu
    assert "\n1 A safety concern\n" in menu  # choices as numbered lines
    assert "Anything else we should know" in phone.text("1")[0]
    assert "Where is this happening?" in phone.text("After 10pm, mostly weekends")[0]
    assert phone.text("Elm and 5th")[0].endswith("what was done?\n1 Yes\n2 No")
    assert "Thank you for raising this" in phone.text("1")[0]
    with transaction(line.rt.db) as session:
        said = [(r.item, r.text, r.place) for r, _ in conversations.list_responses(session)]
    assert said == [
        ("opening", "Cars race down Elm Street every night", "Elm and 5th"),
        ("details", "After 10pm, mostly weekends", "Elm and 5th"),
    ]
    sent = line.fake.messages()
    assert {m.messaging_service_sid for m in sent} == {
        line.rt.settings.twilio_messaging_service_sid
    }
    assert all(m.from_ is None for m in sent)


def test_a_whole_conversation_in_spanish(line: SmsLine) -> None:
    phone = line.phone(RESIDENT)
    assert "Le escuchamos" in phone.text("hola")[0]
    [menu] = phone.text("Los carros van muy rápido en la calle Olmo todas las noches")
    assert "guardamos sus palabras" in menu
    assert "\n1 Seguridad\n" in menu
    assert "¿Hay algo más que debamos saber" in phone.text("1")[0]
    assert "¿Dónde está pasando?" in phone.text("Pasa después de las 10")[0]
    assert phone.text("Olmo y 5")[0].endswith("lo que se hizo?\n1 Sí\n2 No")
    assert "Gracias por avisarnos" in phone.text("sí")[0]
    assert line.contact(RESIDENT).language == "es"
    assert line.contact(RESIDENT).follow_up_consent is True


def test_a_picture_alone_is_stored_and_the_resident_asked_for_words(line: SmsLine) -> None:
    phone = line.phone(RESIDENT)
    phone.text("ESPAÑOL")
    replies = phone.text("", NumMedia="1", MediaUrl0=PICTURE, MediaContentType0="image/jpeg")
    assert replies == [
        "Gracias. Esta línea solo lee texto, así que por favor díganos con palabras lo que "
        "muestra la imagen. No es para emergencias: llame al 911."  # said once a conversation
    ]
    assert _media(line) == [None, [PICTURE]]


def test_a_picture_with_a_caption_keeps_the_words_and_says_pictures_are_not_read(
    line: SmsLine,
) -> None:
    phone = line.phone(RESIDENT)
    second = PICTURE.replace("ME1", "ME2")
    replies = phone.text(
        "Broken streetlight at Oak and 3rd",
        NumMedia="2",
        MediaUrl0=PICTURE,
        MediaContentType0="image/jpeg",
        MediaUrl1=second,
        MediaContentType1="image/png",
    )
    assert len(replies) == 2
    assert "reads text only" in replies[0]
    assert "kept your words" in replies[1]
    assert _media(line) == [[PICTURE, second]]
    with transaction(line.rt.db) as session:
        [(response, _)] = conversations.list_responses(session)
    assert response.text == "Broken streetlight at Oak and 3rd"


def test_an_empty_body_gets_a_gentle_question(line: SmsLine) -> None:
    assert line.phone(RESIDENT).text("") == [
        "We didn't get any words. What would you like to tell us? Not for emergencies: call 911."
    ]


def test_a_1600_character_message_is_kept_whole(line: SmsLine) -> None:
    body = ("Every night cars speed past the school on Elm Street. " * 40)[:1600]
    phone = line.phone(RESIDENT)
    [menu] = phone.text(body)
    assert "kept your words" in menu
    with transaction(line.rt.db) as session:
        [(response, _)] = conversations.list_responses(session)
    assert response.text == body.strip()
    assert len(body) == 1600


def test_emoji_are_kept_and_the_reply_is_billed_as_twilio_would(line: SmsLine) -> None:
    phone = line.phone(RESIDENT)
    [menu] = phone.text("🚗💨💨 every night on Elm 😡")
    assert "kept your words" in menu
    with transaction(line.rt.db) as session:
        [(response, _)] = conversations.list_responses(session)
    assert response.text == "🚗💨💨 every night on Elm 😡"
    [sms] = line.fake.messages()
    assert sms.body == menu
    assert line.fake.requests[-1].params["Body"] == menu
    assert count_segments(menu).encoding == "GSM-7"  # English replies stay in the cheap alphabet


def _media(line: SmsLine) -> list[list[str] | None]:
    with transaction(line.rt.db) as session:
        return [m.media for m in session.exec(select(Message).order_by(col(Message.id)))]
