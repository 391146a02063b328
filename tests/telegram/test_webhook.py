"""The webhook: a table of Telegram's update shapes, the secret, bad bodies and redeliveries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.config import Settings
from bot.runtime import Runtime
from storage import conversations
from storage.db import transaction
from storage.models import Contact, Message, Outbox
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import UpdateBuilder, make_user
from tests.telegram_kit import SECRET, TelegramResident, channel_of

CHAT = 912345678


@pytest.fixture
def ana(client: FlaskClient, rt: Runtime, fake: FakeTelegram) -> Iterator[TelegramResident]:
    """Ana, in a private chat with the bot."""
    channel = channel_of(rt)
    yield TelegramResident(client, rt, fake, user_id=CHAT)
    channel.close()


def _contact(rt: Runtime) -> Contact | None:
    with transaction(rt.db) as session:
        return conversations.find_contact(session, "telegram", str(CHAT))


def _messages(rt: Runtime) -> list[Message]:
    with transaction(rt.db) as session:
        return list(session.exec(select(Message).order_by(Message.id)))


def _group_message(b: UpdateBuilder) -> dict[str, Any]:
    update = b.text_message("hello everyone")
    update["message"]["chat"] = {"id": -100123, "title": "Block watch", "type": "supergroup"}
    return update


def _from_a_bot(b: UpdateBuilder) -> dict[str, Any]:
    return b.text_message("beep", user=make_user(CHAT, "Robot") | {"is_bot": True})


def _channel_post() -> dict[str, Any]:
    chat = {"id": -1001234567890, "title": "Town news", "type": "channel"}
    post = {"message_id": 5, "date": 1_790_000_000, "chat": chat, "text": "Road closed"}
    return {"update_id": 77_000_001, "channel_post": post}


Build = Callable[[UpdateBuilder], dict[str, Any]]
# (update, fragments expected in the replies, in order, text kept as the inbound message)
TABLE: list[tuple[str, Build, list[str], str | None]] = [
    ("text", lambda b: b.text_message("hi"), ["We're listening"], "hi"),
    ("start", lambda b: b.start_command(), ["We're listening"], ""),
    ("help", lambda b: b.text_message("/help"), ["Not for emergencies: call 911"], "HELP"),
    ("stop", lambda b: b.text_message("/stop"), ["You won't get more messages"], "STOP"),
    ("edited", lambda b: b.edited_message("Elm St, not Oak", message_id=3), [], "Elm St, not Oak"),
    (
        "photo with caption",
        lambda b: b.photo_message("Broken streetlight on Oak Avenue"),
        ["can't see pictures", "we've kept your words"],
        "Broken streetlight on Oak Avenue",
    ),
    ("photo alone", lambda b: b.photo_message(), ["tell us in words what the picture"], ""),
    ("sticker", lambda b: b.sticker_message(), ["We didn't get any words"], ""),
    (
        "location",
        lambda b: b.location_message(40.7128, -74.006),
        ["we've kept your words"],
        "geo:40.71280,-74.00600",
    ),
    ("blocked", lambda b: b.bot_blocked(), [], ""),
    ("group chat", _group_message, [], None),
    ("from a bot", _from_a_bot, [], None),
    ("channel post", lambda b: _channel_post(), [], None),
]


@pytest.mark.parametrize(
    ("build", "expected", "kept"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE]
)
def test_each_kind_of_update(
    ana: TelegramResident, rt: Runtime, build: Build, expected: list[str], kept: str | None
) -> None:
    replies = ana.deliver(build(ana.updates))
    assert len(replies) == len(expected)
    for reply, fragment in zip(replies, expected, strict=True):
        assert fragment in reply["text"]
    [message] = _messages(rt)  # every update is kept once, to recognise a redelivery
    assert message.provider_id is not None
    assert message.provider_id.startswith("u")
    if kept is None:
        assert message.contact_id is None
    else:
        assert message.text == kept


def test_stop_and_a_block_both_stop_the_chat(ana: TelegramResident, rt: Runtime) -> None:
    ana.deliver(ana.updates.bot_blocked())
    contact = _contact(rt)
    assert contact is not None
    assert contact.opted_out_at is not None
    assert contact.blocked_at is not None
    assert ana.say("hello?") == []  # a blocked chat is never written to
    ana.deliver(ana.updates.bot_unblocked())
    contact = _contact(rt)
    assert contact is not None
    assert (contact.opted_out_at, contact.blocked_at) == (None, None)


def test_unblocking_does_not_undo_an_earlier_stop(ana: TelegramResident, rt: Runtime) -> None:
    ana.say("/stop")
    ana.deliver(ana.updates.bot_blocked())
    ana.deliver(ana.updates.bot_unblocked())
    contact = _contact(rt)
    assert contact is not None
    assert contact.opted_out_at is not None  # STOP holds until START
    [back] = ana.deliver(ana.updates.start_command())
    assert "Welcome back" in back["text"]


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
def test_missing_or_wrong_secret_is_refused(
    ana: TelegramResident, rt: Runtime, secret: str | None
) -> None:
    assert ana.post(ana.updates.text_message("hi"), secret=secret) == 403
    assert _messages(rt) == []


def test_no_secret_configured_refuses_everything(
    ana: TelegramResident, rt: Runtime, settings: Settings
) -> None:
    channel_of(rt).webhook_secret = None  # an agency that forgot TELEGRAM_WEBHOOK_SECRET
    assert ana.post(ana.updates.text_message("hi"), secret="") == 403


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"message": {"text": "no update_id"}}',
        b'{"update_id": "12"}',
        b'{"update_id": 12, "message": {"text": "no chat, no date"}}',
    ],
)
def test_malformed_bodies_get_400(client: FlaskClient, rt: Runtime, body: bytes) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    assert client.post("/telegram/webhook", data=body, headers=headers).status_code == 400
    assert _messages(rt) == []


@pytest.mark.parametrize(
    "build",
    [
        lambda b: b.text_message("There is speeding on Elm Street"),
        lambda b: b.bot_blocked(),
        lambda b: b.edited_message("fixed"),
    ],
    ids=["text", "blocked", "edited"],
)
def test_a_redelivered_update_is_handled_once(
    ana: TelegramResident, rt: Runtime, build: Build
) -> None:
    update = build(ana.updates)
    first = ana.deliver(update)
    assert ana.deliver(update) == []
    assert len(_messages(rt)) == 1
    assert len(first) <= 1


def test_a_redelivered_button_press_is_acknowledged_once(
    ana: TelegramResident, fake: FakeTelegram
) -> None:
    ana.say("There is speeding on Elm Street every night")
    press = ana.updates.callback_query("topic:safety", reply_markup=ana.last_markup)
    assert len(ana.deliver(press)) == 1
    assert ana.deliver(press) == []
    assert len(fake.calls("answerCallbackQuery")) == 1


def test_the_webhook_itself_never_calls_telegram(
    ana: TelegramResident, fake: FakeTelegram, rt: Runtime
) -> None:
    ana.post(ana.updates.text_message("hi"))
    ana.post(ana.updates.callback_query("topic:safety"))
    assert fake.requests == []  # nothing until the worker runs
    with transaction(rt.db) as session:
        kinds = [row.kind for row in session.exec(select(Outbox).order_by(Outbox.priority))]
    assert kinds[0] == "ack"
