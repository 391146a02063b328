"""Keep the bot token and residents' words out of provider libraries' logs.

httpx logs every request URL at INFO, and the Telegram Bot API puts the bot token in the URL;
python-telegram-bot logs each call's parameters (chat id, message text) and the token-bearing
base URL at DEBUG. An admin who turns logging up to find a fault must not thereby copy a
credential and residents' messages into the journal, so these records are rewritten before any
handler sees them, at every level.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# /bot<token>/ in a Bot API URL; a token is "<digits>:<secret>", but anything up to the next
# slash is hidden so an unusual token (or a test's) is hidden too.
_TOKEN_IN_URL = re.compile(r"/bot[^/\s\"'`]+")
HIDDEN = "<hidden>"
# python-telegram-bot's debug lines whose arguments carry chat ids and message text.
_PERSONAL_ARGS = ("parameters", "return value", "Getting updates")
WATCHED = ("httpx", "httpcore", "telegram.Bot", "telegram.ext.ExtBot", "telegram.request")


class RedactSecrets(logging.Filter):
    """Rewrites a record's message: token-bearing URLs masked, personal arguments hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        args: Any = record.args
        if args and any(marker in message for marker in _PERSONAL_ARGS):
            args = tuple(HIDDEN for _ in args) if isinstance(args, tuple) else HIDDEN
        try:
            text = message % args if args else message
        except (TypeError, ValueError):
            text = message
        record.msg = _TOKEN_IN_URL.sub(f"/bot{HIDDEN}", text)
        record.args = None
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Attach the filter to the provider loggers (idempotent: once per logger)."""
    for name in WATCHED:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
