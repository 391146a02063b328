"""A Telegram resident for stories: updates in through the webhook, replies out of the fake API."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from bot.config import Settings
from bot.runtime import Runtime
from bot.worker import Worker
from channels.telegram import SECRET_HEADER, WEBHOOK_PATH, TelegramChannel
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import BOT_TOKEN, UpdateBuilder, make_user

SECRET = "s3cret-webhook-token"


def telegram_settings(settings: Settings, fake: FakeTelegram) -> Settings:
    """Test settings with the bot pointed at the local fake."""
    return settings.with_overrides(
        telegram_bot_token=BOT_TOKEN,
        telegram_webhook_secret=SECRET,
        telegram_api_url=fake.url,
    )


def channel_of(rt: Runtime) -> TelegramChannel:
    """The Telegram channel the app configured."""
    channel = rt.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    return channel


class TelegramResident:
    """One person in a private chat with the bot; `say` and `press` return the bot's replies."""

    def __init__(
        self,
        client: FlaskClient,
        rt: Runtime,
        fake: FakeTelegram,
        *,
        user_id: int = 912345678,
        language_code: str | None = "en",
    ) -> None:
        self.client = client
        self.rt = rt
        self.fake = fake
        self.user = make_user(user_id, language_code=language_code)
        self.updates = UpdateBuilder(user=self.user, first_update_id=user_id * 10)
        self.worker = Worker(rt, sleep=lambda _s: None)
        self.paced: list[float] = []  # the channel's per-chat waits, recorded instead of slept
        channel_of(rt).sleep = self.paced.append
        self.seen = 0
        self.last_markup: dict[str, Any] | None = None

    @property
    def chat_id(self) -> int:
        """The private chat's id (equal to the user's id on Telegram)."""
        return int(self.user["id"])

    def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        """Deliver one update to the webhook as Telegram would; the HTTP status."""
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return self.client.post(WEBHOOK_PATH, json=update, headers=headers).status_code

    def deliver(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Post an update, let the worker send, and return the messages that reached the chat."""
        assert self.post(update) == 200
        self.worker.drain()
        return self.sent()

    def sent(self) -> list[dict[str, Any]]:
        """Messages Telegram accepted for this chat since the last look (failed calls aren't)."""
        sent = [m for m in self.fake.sent_messages() if m["chat"]["id"] == self.chat_id]
        new, self.seen = sent[self.seen :], len(sent)
        for message in new:
            if message.get("reply_markup"):
                self.last_markup = message["reply_markup"]
        return new

    def say(self, text: str) -> list[str]:
        """Type a line; the texts of the replies."""
        return [call["text"] for call in self.deliver(self.updates.text_message(text))]

    def press(self, label: str) -> list[str]:
        """Press the button with this label on the last keyboard; the texts of the replies."""
        assert self.last_markup is not None, "no keyboard to press"
        buttons = [b for row in self.last_markup["inline_keyboard"] for b in row]
        [button] = [b for b in buttons if b["text"] == label]
        update = self.updates.callback_query(button["callback_data"], reply_markup=self.last_markup)
        return [call["text"] for call in self.deliver(update)]

    def buttons(self) -> list[str]:
        """Labels on the last keyboard, in order."""
        assert self.last_markup is not None
        return [b["text"] for row in self.last_markup["inline_keyboard"] for b in row]
