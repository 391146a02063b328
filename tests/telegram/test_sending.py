"""Sending from the worker: blocked chats, flood control, pacing, and one loop per process."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.runtime import Runtime
from channels.base import OPTED_OUT, RETRY, SENT, Outbound
from channels.telegram import TelegramChannel, keyboard
from storage import conversations
from storage.db import transaction
from storage.models import Outbox
from tests.conftest import Clock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import BOT_TOKEN
from tests.telegram_kit import TelegramResident, channel_of


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test agency (Telegram configured by conftest) at 7 messages a second overall."""
    return settings.with_overrides(telegram_mps=7.0)


def _rows(rt: Runtime) -> list[Outbox]:
    with transaction(rt.db) as session:
        return list(session.exec(select(Outbox).where(Outbox.kind != "ack").order_by(Outbox.id)))


def test_a_blocked_chat_is_stopped_at_the_first_403(
    ana: TelegramResident, fake: FakeTelegram, rt: Runtime
) -> None:
    fake.block(ana.chat_id)
    assert ana.say("hi") == []
    [row] = _rows(rt)
    assert row.status == "failed"
    assert row.last_error is not None
    assert "blocked" in row.last_error
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, "telegram", str(ana.chat_id))
    assert contact is not None
    assert contact.opted_out_at is not None
    ana.say("still there?")
    assert len(fake.calls("sendMessage")) == 1  # never tried again


def test_flood_control_reschedules_the_message(
    ana: TelegramResident, fake: FakeTelegram, rt: Runtime, clock: Clock
) -> None:
    fake.fail_next("sendMessage", error_code=429, retry_after=17)
    assert ana.say("hi") == []  # the 429 is in the fake's log, not in the chat
    [row] = _rows(rt)
    assert (row.status, row.attempts) == ("pending", 1)
    assert (row.next_attempt_at.replace(tzinfo=None) - clock.now.replace(tzinfo=None)).seconds == 17
    clock.advance(seconds=16)
    ana.worker.drain()
    assert ana.sent() == []
    clock.advance(seconds=2)
    ana.worker.drain()
    [sent] = ana.sent()
    assert "We're listening" in sent["text"]


def test_channel_outcomes_for_telegram_errors(fake: FakeTelegram) -> None:
    channel = TelegramChannel(BOT_TOKEN, api_url=fake.url, sleep=lambda _s: None)
    message = Outbound(1, "telegram", "42", "Hello")
    try:
        fake.fail_next("sendMessage", error_code=403)
        assert channel.send(message).outcome == OPTED_OUT
        fake.fail_next("sendMessage", error_code=429, retry_after=3)
        flood = channel.send(message)
        assert (flood.outcome, flood.retry_after) == (RETRY, 3.0)
        fake.fail_next("sendMessage", error_code=502)
        assert channel.send(message).outcome == RETRY
        sent = channel.send(message)
        assert sent.outcome == SENT
        assert sent.provider_id == "42:" + str(fake.sent_messages()[-1]["message_id"])
    finally:
        channel.close()


def test_each_chat_gets_at_most_about_one_message_a_second(fake: FakeTelegram) -> None:
    now = [100.0]
    waits: list[float] = []
    channel = TelegramChannel(BOT_TOKEN, api_url=fake.url, clock=lambda: now[0], sleep=waits.append)
    try:
        for address in ("42", "42", "43", "42"):
            assert channel.send(Outbound(1, "telegram", address, "Hello")).outcome == SENT
        assert waits == [1.0, 2.0]  # the second and third to chat 42; chat 43 went at once
        now[0] += 5
        channel.send(Outbound(1, "telegram", "42", "Later"))
        assert waits == [1.0, 2.0]
    finally:
        channel.close()


def test_the_overall_rate_is_telegram_mps(ana: TelegramResident, rt: Runtime) -> None:
    assert channel_of(rt).rate_per_second == 7.0


def test_long_choice_values_fall_back_to_their_number() -> None:
    markup = keyboard([{"key": "3", "label": "Other", "value": "x" * 65}])
    assert markup is not None
    assert markup.inline_keyboard[0][0].callback_data == "#3"


def test_one_event_loop_serves_every_send_and_closes_cleanly(fake: FakeTelegram) -> None:
    channel = TelegramChannel(BOT_TOKEN, api_url=fake.url, sleep=lambda _s: None)
    threads: set[str] = set()

    async def where(bot: object) -> None:
        threads.add(threading.current_thread().name)

    for _ in range(3):
        channel.send(Outbound(1, "telegram", "42", "Hello"))
        channel.call(where)
    assert threads == {"telegram-bot"}
    assert len(fake.calls("getMe")) == 1  # initialised once, then reused
    channel.close()
    channel.close()  # twice is harmless
    assert not any(t.name == "telegram-bot" for t in threading.enumerate())


def test_the_worker_sends_with_the_api_url_setting(
    ana: TelegramResident, fake: FakeTelegram
) -> None:
    ana.say("hi")
    assert any(r.path.endswith("/sendMessage") for r in fake.requests)
