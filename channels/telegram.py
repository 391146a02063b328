"""Telegram: the webhook (verify, parse, dedupe, answer at once) and sending from the worker.

The webhook never calls Telegram: replies and button acknowledgements are outbox rows the
worker sends with one `telegram.Bot` on one long-lived event loop per process.
"""

from __future__ import annotations

import os

# PTB 22 reports RetryAfter.retry_after as an int with a deprecation warning unless this is
# set, and as a timedelta when it is; opt in before telegram is imported (PROVIDERS.md).
os.environ.setdefault("PTB_TIMEDELTA", "true")

import hmac
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, request
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot import chat_events, conversation
from bot.config import Settings
from bot.guard import UnacceptableError, parse_json
from bot.runtime import Runtime
from channels import logsafe
from channels.base import (
    FAILED,
    OPTED_OUT,
    RETRY,
    SENT,
    UNREACHABLE,
    Outbound,
    SendResult,
)
from channels.event_loop import LoopThread
from channels.telegram_parse import (
    BLOCKED,
    NAME,
    RECORD,
    TURN,
    UNBLOCKED,
    MalformedUpdateError,
    Parsed,
    callback_data,
    parse,
)

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
PER_CHAT_SECONDS = 1.0  # Telegram: about one message a second to the same chat
CALL_TIMEOUT = 30.0  # seconds to wait for one Bot API call before giving up on this attempt


class TelegramChannel:
    """Sends outbox rows with python-telegram-bot, pacing each chat to one message a second."""

    name = NAME

    def __init__(
        self,
        token: str,
        *,
        webhook_secret: str | None = None,
        api_url: str | None = None,
        rate_per_second: float = 25.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        logsafe.install()  # before the Bot logs its token-bearing URL
        self.webhook_secret = webhook_secret
        self.rate_per_second = rate_per_second
        self.send_timeout = CALL_TIMEOUT  # sizes the worker's lease on a row (bot.worker)
        base = (api_url or "https://api.telegram.org").rstrip("/")
        # PTB appends the token to base_url: ".../bot" + token + "/method"; no trailing slash.
        self.bot = Bot(token, base_url=base if base.endswith("/bot") else f"{base}/bot")
        self.loop = LoopThread("telegram-bot")
        self.clock = clock
        self.sleep = sleep
        self._last_sent: dict[str, float] = {}
        self._pace_lock = threading.Lock()
        self._username: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramChannel:
        """The channel as TELEGRAM_BOT_TOKEN, _WEBHOOK_SECRET, _API_URL and _MPS describe it."""
        assert settings.telegram_bot_token
        return cls(
            settings.telegram_bot_token,
            webhook_secret=settings.telegram_webhook_secret,
            api_url=settings.telegram_api_url,
            rate_per_second=settings.telegram_mps,
        )

    # ---- calling the Bot API on the channel's loop --------------------------------------
    def call(self, make: Callable[[Bot], Any], timeout: float = CALL_TIMEOUT) -> Any:
        """Run one Bot API coroutine, initialising the bot (getMe) the first time."""

        async def run() -> Any:
            await self.bot.initialize()
            return await make(self.bot)

        return self.loop.run(run, timeout)

    def bot_username(self) -> str | None:
        """The bot's @username from getMe, cached for the process; None if Telegram is down."""
        if self._username is None:
            try:
                self._username = self.call(lambda bot: _username(bot))
            except (TelegramError, TimeoutError) as exc:
                log.warning("could not learn the bot's username: %s", type(exc).__name__)
        return self._username

    def close(self) -> None:
        """Close the HTTP client and the loop (a worker's exit, a test's teardown)."""

        async def last() -> None:
            await self.bot.shutdown()

        self.loop.close(last if self.loop.running else None)

    # ---- the Channel protocol -------------------------------------------------------------
    def cost(self, message: Outbound) -> int:
        """Every Bot API call counts once against the bot's overall rate."""
        return 1

    def send(self, message: Outbound) -> SendResult:
        """Send one row; provider errors become outcomes, never exceptions."""
        if message.kind == chat_events.ACK_KIND:
            return self._acknowledge(message)
        self._pace(message.address)
        try:
            sent: Message = self.call(
                lambda bot: bot.send_message(
                    int(message.address), message.text, reply_markup=keyboard(message.choices)
                )
            )
        except Forbidden as exc:  # blocked, or a chat the bot may not start
            return SendResult(OPTED_OUT, error=f"Forbidden: {exc.message}")
        except RetryAfter as exc:
            return SendResult(RETRY, error="flood control", retry_after=_seconds(exc))
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                return SendResult(UNREACHABLE, error=f"BadRequest: {exc.message}")
            return SendResult(FAILED, error=f"BadRequest: {exc.message}", flag_staff=True)
        except (NetworkError, TimeoutError) as exc:  # includes TimedOut: try again later
            return SendResult(RETRY, error=f"{type(exc).__name__}: {exc}")
        except TelegramError as exc:  # e.g. InvalidToken: a setting to fix, then retried
            return SendResult(RETRY, error=f"{type(exc).__name__}: {exc.message}")
        return SendResult(SENT, provider_id=f"{sent.chat_id}:{sent.message_id}")

    def _acknowledge(self, message: Outbound) -> SendResult:
        """Stop a pressed button's spinner; a late or failed answer is dropped, not retried."""
        if not message.provider_ref:
            return SendResult(FAILED, error="no callback query id")
        try:
            self.call(lambda bot: bot.answer_callback_query(message.provider_ref))
        except (TelegramError, TimeoutError) as exc:
            return SendResult(FAILED, error=f"{type(exc).__name__}: {exc}")
        return SendResult(SENT)

    def _pace(self, chat: str) -> None:
        """Wait until a second has passed since the last message to this chat."""
        with self._pace_lock:
            now = self.clock()
            wait = self._last_sent.get(chat, float("-inf")) + PER_CHAT_SECONDS - now
            self._last_sent[chat] = now + max(0.0, wait)
            if len(self._last_sent) > 10_000:  # forget chats not written to in the last second
                cutoff = now - PER_CHAT_SECONDS
                self._last_sent = {k: v for k, v in self._last_sent.items() if v > cutoff}
        if wait > 0:
            self.sleep(wait)


async def _username(bot: Bot) -> str:
    return bot.username


def _seconds(exc: RetryAfter) -> float:
    """retry_after is a timedelta with PTB_TIMEDELTA set, an int otherwise."""
    value: timedelta | int = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def keyboard(choices: Sequence[dict[str, str]]) -> InlineKeyboardMarkup | None:
    """Choices as inline buttons: short ones (1-5, yes/no) in one row, others one per row."""
    if not choices:
        return None
    buttons = [InlineKeyboardButton(c["label"], callback_data=callback_data(c)) for c in choices]
    if len(choices) <= 5 and sum(len(c["label"]) for c in choices) <= 16:
        return InlineKeyboardMarkup([buttons])
    return InlineKeyboardMarkup([[button] for button in buttons])


# ---- receiving: one function for the webhook and for polling ------------------------------
def receive_update(rt: Runtime, channel: TelegramChannel, data: dict[str, Any]) -> str:
    """Parse one update and apply it exactly once; returns what it was (for logs and tests)."""
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**53:
        raise MalformedUpdateError("update_id must be an integer")
    try:
        update = Update.de_json(data, channel.bot)
        provider_id = f"u{update_id}"
        parsed = parse(update, provider_id, rt.now())
    except MalformedUpdateError:
        raise
    except Exception as exc:  # Telegram's types refused it: a malformed update, not our fault
        raise MalformedUpdateError(f"not a Telegram update: {type(exc).__name__}") from exc
    try:
        return _apply(rt, parsed, provider_id)
    except Exception:
        # A poison update (it parsed, but applying it failed): logged without its content and
        # skipped, so Telegram stops redelivering it and polling moves past it.
        log.exception("update %s could not be applied; skipped", update_id)
        return "poison"


def _apply(rt: Runtime, parsed: Parsed, provider_id: str) -> str:
    if parsed.kind == TURN and parsed.inbound is not None:
        receipt = conversation.receive(rt, parsed.inbound)
        if receipt.duplicate:
            return "duplicate"
        if parsed.callback_id and receipt.contact_id is not None:
            chat_events.queue_ack(
                rt, channel=NAME, contact_id=receipt.contact_id, ref=parsed.callback_id
            )
        return "button" if parsed.callback_id else "turn"
    new = chat_events.record_event(
        rt,
        channel=NAME,
        address=parsed.address,
        provider_id=provider_id,
        text=parsed.text,
        blocked={BLOCKED: True, UNBLOCKED: False}.get(parsed.kind),
    )
    if not new:
        return "duplicate"
    return parsed.kind if parsed.kind in (RECORD, BLOCKED, UNBLOCKED) else "ignored"


bp = Blueprint("telegram", __name__)


@bp.post(WEBHOOK_PATH)
def webhook() -> Response | tuple[str, int]:
    """Telegram's webhook: 403 without the right secret, 400 for a malformed body, else 200."""
    rt: Runtime = current_app.extensions["townline"]
    channel = rt.channels.get(NAME)
    if not isinstance(channel, TelegramChannel):
        return "telegram is not configured", 404
    expected = channel.webhook_secret or ""
    given = request.headers.get(SECRET_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return "forbidden", 403
    try:
        data = parse_json(request.get_data(cache=True))
    except UnacceptableError as exc:
        return f"expected a JSON update: {exc}", 400
    if not isinstance(data, dict):
        return "expected a JSON update", 400
    try:
        receive_update(rt, channel, data)
    except MalformedUpdateError as exc:
        return str(exc), 400
    return "", 200
