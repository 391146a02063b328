"""One resident, several channels: one-time codes and the deep links that carry them.

A resident on SMS texts TELEGRAM; the host mints a code and texts back a t.me deep link.
The bot's username is only known from Telegram's getMe, a provider call the web process
never makes, so the link is stored with a placeholder the worker fills just before sending.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

LINKABLE = ("telegram",)  # channels a resident can ask to continue on
LINK_TTL = timedelta(hours=24)  # long enough to install the app, short enough to go stale
BOT_PLACEHOLDER = "{telegram_bot}"  # filled by the worker with the bot's username
LINK_KIND = "link"  # outbox kind of a message that carries a deep link


def new_code() -> str:
    """16 URL-safe characters: allowed in a /start payload (A-Z a-z 0-9 _ -), unguessable."""
    return secrets.token_urlsafe(12)


def deep_link(code: str) -> str:
    """The t.me link that opens the bot and sends `/start <code>`, bot name still to fill."""
    return f"https://t.me/{BOT_PLACEHOLDER}?start={code}"


def fill_bot(text: str, username: str) -> str:
    """Put the bot's username into a stored deep link."""
    return text.replace(BOT_PLACEHOLDER, username)
