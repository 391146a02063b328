"""Long polling and the CLI: getUpdates feeds the webhook's path; set-webhook registers it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlmodel import select

from bot.cli import main
from bot.config import Settings
from bot.runtime import Runtime
from bot.worker import Worker
from channels.telegram_poll import poll
from storage.db import transaction
from storage.models import Message
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import BOT_TOKEN, UpdateBuilder
from tests.telegram_kit import SECRET, channel_of


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings, fake: FakeTelegram) -> None:
    """The environment a `townline` command reads its settings from."""
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_URL": fake.url,
        "PUBLIC_URL": "https://townline.example.org/",
    }.items():
        monkeypatch.setenv(name, value)


def _inbound(rt: Runtime) -> list[str]:
    with transaction(rt.db) as session:
        return [m.text for m in session.exec(select(Message).order_by(Message.id))]


def test_polling_feeds_the_same_path_as_the_webhook(
    app: object, rt: Runtime, fake: FakeTelegram
) -> None:
    channel = channel_of(rt)
    b = UpdateBuilder()
    hello = b.text_message("There is speeding on Elm Street every night")
    fake.queue_updates([hello, b.callback_query("topic:safety"), hello])  # one redelivered
    fake.webhook = {"url": "https://old.example.org/telegram/webhook"}
    try:
        assert poll(rt, channel, max_updates=3, wait=0) == 3
        Worker(rt, sleep=lambda _s: None).drain()
    finally:
        channel.close()
    assert fake.calls("deleteWebhook")  # getUpdates is refused while a webhook is set
    assert _inbound(rt) == ["There is speeding on Elm Street every night", "Yes"]
    texts = [m["text"] for m in fake.sent_messages()]
    assert "Thank you, we've kept your words" in texts[0]
    assert "Anything else we should know" in texts[1]
    assert len(fake.calls("answerCallbackQuery")) == 1
    assert fake.pending_updates == []  # confirmed, so a restart does not replay them


def test_poll_command_once(env: None, rt: Runtime, fake: FakeTelegram) -> None:
    fake.queue_updates([UpdateBuilder().text_message("hi")])
    result = CliRunner().invoke(main, ["telegram", "poll", "--once", "--no-worker", "--wait", "0"])
    assert result.exit_code == 0, result.output
    assert "1 updates received" in result.output
    assert _inbound(rt) == ["hi"]


def test_set_webhook_registers_public_url_and_secret(env: None, fake: FakeTelegram) -> None:
    result = CliRunner().invoke(main, ["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    assert fake.webhook["url"] == "https://townline.example.org/telegram/webhook"
    assert fake.webhook["secret_token"] == SECRET
    assert fake.webhook["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]


def test_set_webhook_needs_a_public_url(
    env: None, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUBLIC_URL")
    result = CliRunner().invoke(main, ["telegram", "set-webhook"])
    assert result.exit_code != 0
    assert "PUBLIC_URL is not set" in result.output
    assert fake.webhook == {}
