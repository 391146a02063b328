"""Long polling: getUpdates feeding the same function as the webhook, for a laptop or an
agency with no public URL yet. Telegram refuses getUpdates while a webhook is set, so the
webhook is deleted first; updates are confirmed by asking for the next offset.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TelegramError

from bot.runtime import Runtime
from channels.telegram import (
    ALLOWED_UPDATES,
    CALL_TIMEOUT,
    MalformedUpdateError,
    TelegramChannel,
    receive_update,
)

log = logging.getLogger(__name__)
POLL_SECONDS = 25  # how long Telegram holds one getUpdates open when nothing happens
ERROR_PAUSE = 5.0


def poll(
    rt: Runtime,
    channel: TelegramChannel,
    *,
    max_updates: int | None = None,
    rounds: int | None = None,
    stop: threading.Event | None = None,
    wait: int = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Receive updates until stopped, `max_updates` handled or `rounds` polls made."""
    channel.call(lambda bot: bot.delete_webhook())
    offset: int | None = None
    handled = polls = 0
    while not (stop is not None and stop.is_set()):
        if (max_updates is not None and handled >= max_updates) or (
            rounds is not None and polls >= rounds
        ):
            break
        polls += 1
        try:
            updates = channel.call(_get_updates(offset, wait), timeout=wait + CALL_TIMEOUT)
        except RetryAfter:
            sleep(ERROR_PAUSE)
            continue
        except (NetworkError, TelegramError, TimeoutError) as exc:
            log.warning("getUpdates failed (%s); trying again shortly", type(exc).__name__)
            sleep(ERROR_PAUSE)
            continue
        for update in updates:
            if max_updates is not None and handled >= max_updates:
                break
            try:
                receive_update(rt, channel, update.to_dict())
            except MalformedUpdateError as exc:
                log.warning("skipping an update Telegram sent: %s", exc)
            offset = max(offset or 0, update.update_id + 1)
            handled += 1
    if offset is not None:  # confirm what was handled, so a restart does not see it again
        channel.call(_get_updates(offset, 0, limit=1))
    return handled


def _get_updates(offset: int | None, wait: int, limit: int = 100) -> Callable[[Bot], object]:
    """One getUpdates call for `channel.call`."""

    def call(bot: Bot) -> object:
        return bot.get_updates(
            offset=offset, timeout=wait, limit=limit, allowed_updates=list(ALLOWED_UPDATES)
        )

    return call
