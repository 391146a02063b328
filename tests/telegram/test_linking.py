"""One resident, two channels: an SMS resident asks for Telegram, confirms, and is reached there.

The SMS side goes through `bot.conversation.receive` with channel "sms"; the Twilio channel is
built separately, so a recording stand-in plays its part in the worker.
"""

from __future__ import annotations

import re
import uuid

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.conversation import receive
from bot.events import Inbound
from bot.runtime import Runtime
from channels.base import SENT, Outbound, SendResult
from storage import conversations, outbox
from storage.db import transaction
from storage.models import Contact, LinkCode
from tests.conftest import Clock
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_kit import TelegramResident

PHONE = "+15558675310"
LINK = re.compile(r"https://t\.me/townline_test_bot\?start=([A-Za-z0-9_-]{16})")


class RecordingSms:
    """Stands in for the SMS channel in the worker: keeps what it was asked to send."""

    name = "sms"
    rate_per_second = 100.0

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    def cost(self, message: Outbound) -> int:
        return 1

    def send(self, message: Outbound) -> SendResult:
        self.sent.append(message)
        return SendResult(SENT, provider_id=f"SM{uuid.uuid4().hex}")


@pytest.fixture
def sms(rt: Runtime) -> RecordingSms:
    """The SMS channel as the worker sees it."""
    channel = RecordingSms()
    rt.channels["sms"] = channel
    return channel


def text_by_sms(rt: Runtime, sms: RecordingSms, ana: TelegramResident, text: str) -> list[str]:
    """Ana texts from her phone; what the worker sent back by SMS."""
    before = len(sms.sent)
    receive(rt, Inbound("sms", PHONE, text, f"SM{uuid.uuid4().hex}", rt.now()))
    ana.worker.drain()
    return [m.text for m in sms.sent[before:]]


def _contacts(rt: Runtime) -> dict[str, Contact]:
    with transaction(rt.db) as session:
        return {c.channel: c for c in session.exec(select(Contact))}


def _follow_up(rt: Runtime, contact_id: int, text: str) -> None:
    """What the follow-up feature queues: a proactive message to the resident's first contact."""
    with transaction(rt.db) as session:
        outbox.enqueue(
            session,
            [
                {
                    "contact_id": contact_id,
                    "channel": "sms",
                    "kind": "follow_up",
                    "text": text,
                    "proactive": True,
                    "priority": 10,
                    "created_at": rt.now(),
                    "next_attempt_at": rt.now(),
                }
            ],
        )


def _link(rt: Runtime, sms: RecordingSms, ana: TelegramResident) -> str:
    text_by_sms(rt, sms, ana, "There is speeding on Elm Street every night")
    [offer] = text_by_sms(rt, sms, ana, "TELEGRAM")
    match = LINK.search(offer)
    assert match, offer
    return match.group(1)


def test_an_sms_resident_links_telegram_and_hears_back_where_she_last_wrote(
    rt: Runtime, sms: RecordingSms, ana: TelegramResident, fake: FakeTelegram, clock: Clock
) -> None:
    code = _link(rt, sms, ana)
    assert len(fake.calls("getMe")) == 1  # the bot's name, learned by the worker
    [confirm] = ana.deliver(ana.updates.start_command(code))
    assert confirm["text"].startswith("Link this Telegram chat to the phone number")
    assert ana.buttons() == ["Yes", "No"]
    assert ana.press("Yes") == [
        "Done, this chat is linked. We'll send updates wherever you last wrote to us. "
        "STOP here stops Telegram only."
    ]
    contacts = _contacts(rt)
    assert contacts["telegram"].resident_id == contacts["sms"].id
    phone_id = contacts["sms"].id
    assert phone_id is not None

    clock.advance(minutes=5)
    _follow_up(rt, phone_id, "The city added a speed camera on Elm Street.")
    ana.worker.drain()
    assert [m["text"] for m in ana.sent()] == ["The city added a speed camera on Elm Street."]

    clock.advance(minutes=5)
    text_by_sms(rt, sms, ana, "Thanks!")  # she writes from her phone again
    clock.advance(minutes=5)
    _follow_up(rt, phone_id, "Community meeting on Tuesday at 6pm.")
    ana.worker.drain()
    assert sms.sent[-1].text == "Community meeting on Tuesday at 6pm."
    assert ana.sent() == []


def test_stopping_telegram_is_reported_and_honoured_for_telegram_only(
    rt: Runtime, sms: RecordingSms, ana: TelegramResident, clock: Clock
) -> None:
    code = _link(rt, sms, ana)
    ana.deliver(ana.updates.start_command(code))
    ana.say("yes")  # typing the word confirms too
    clock.advance(minutes=1)
    [stopped] = ana.say("STOP")
    assert "Your other linked channel still works" in stopped
    contacts = _contacts(rt)
    assert contacts["telegram"].opted_out_at is not None
    assert contacts["sms"].opted_out_at is None
    assert contacts["sms"].id is not None
    _follow_up(rt, contacts["sms"].id, "Your report was passed to traffic enforcement.")
    ana.worker.drain()
    assert sms.sent[-1].text == "Your report was passed to traffic enforcement."
    assert ana.sent() == []


def test_codes_are_single_use_and_expire(
    client: FlaskClient,
    rt: Runtime,
    sms: RecordingSms,
    ana: TelegramResident,
    fake: FakeTelegram,
    clock: Clock,
) -> None:
    code = _link(rt, sms, ana)
    ana.deliver(ana.updates.start_command(code))
    ana.press("Yes")
    bob = TelegramResident(client, rt, fake, user_id=955)
    [used, welcome] = bob.deliver(bob.updates.start_command(code))
    assert used["text"].startswith("This link has expired or was already used")
    assert "We're listening" in welcome["text"]

    [offer] = text_by_sms(rt, sms, ana, "telegram")
    match = LINK.search(offer)
    assert match
    clock.advance(hours=25)
    [late, _welcome] = bob.deliver(bob.updates.start_command(match.group(1)))
    assert late["text"].startswith("This link has expired")
    with transaction(rt.db) as session:
        bob_contact = conversations.find_contact(session, "telegram", str(bob.chat_id))
        assert bob_contact is not None
        assert bob_contact.resident_id is None
        assert len(list(session.exec(select(LinkCode)))) == 2


def test_declining_keeps_the_chats_apart(
    rt: Runtime, sms: RecordingSms, ana: TelegramResident
) -> None:
    code = _link(rt, sms, ana)
    ana.deliver(ana.updates.start_command(code))
    assert ana.press("No") == ["OK, this chat stays separate. What's on your mind?"]
    assert _contacts(rt)["telegram"].resident_id is None


def test_asking_for_telegram_on_telegram(ana: TelegramResident) -> None:
    assert ana.say("TELEGRAM") == ["You're already talking with us on Telegram."]


@pytest.mark.parametrize(("word", "language"), [("电报", "zh"), ("usar telegram", "es")])
def test_the_keyword_in_other_languages(
    rt: Runtime, sms: RecordingSms, ana: TelegramResident, word: str, language: str
) -> None:
    receive(rt, Inbound("sms", PHONE, "x", "SM-first", rt.now()))
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, "sms", PHONE)
        assert contact is not None
        assert contact.id is not None
        conversations.update_contact(session, contact.id, language=language)
    [offer] = text_by_sms(rt, sms, ana, word)[-1:]
    assert LINK.search(offer)
    assert offer.startswith({"zh": "如需通过Telegram", "es": "Para hablar con nosotros"}[language])


def test_without_telegram_the_keyword_gets_a_polite_answer(
    rt: Runtime, sms: RecordingSms, ana: TelegramResident
) -> None:
    del rt.channels["telegram"]  # an agency that has not set up Telegram
    assert text_by_sms(rt, sms, ana, "TELEGRAM") == [
        "Sorry, the Springfield Police community line isn't on Telegram yet. "
        "You can keep texting us here."
    ]
