"""Words the whole line shares about partners and "who is heard": pure, no I/O.

The engine matches a partner's keyword, the dashboard refuses a keyword that would clash,
the flyer prints the links, and the charts name the groups: all from these definitions, so
they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from flows.catalog import normalise
from flows.phrases import fold

PAYLOAD_PREFIX = "partner-"  # Telegram /start payload: "partner-<code>" (A-Z a-z 0-9 _ - only)
AGE_BANDS = ("under-18", "18-29", "30-44", "45-64", "65+")
YEARS_HERE = ("under-1", "1-5", "over-5")
VIEWPOINTS = ("supportive", "neutral", "critical")
DIMENSIONS = ("neighbourhood", "language", "age_band")


def keyword_key(text: str) -> str:
    """A keyword as residents might type it: case, width, accents and edge punctuation
    folded, so "Gracia!", "GRACIA" and "gracía" reach the same partner."""
    return fold(normalise(text))


def sms_link(number: str, keyword: str) -> str:
    """An RFC 5724 `sms:` link that opens the phone's messages with the keyword typed."""
    return f"sms:{number.replace(' ', '')}?body={quote(keyword, safe='')}"


def telegram_link(bot_username: str, code: str) -> str:
    """The t.me link that opens the bot and sends `/start partner-<code>`."""
    return f"https://t.me/{bot_username}?start={PAYLOAD_PREFIX}{code}"


def payload_code(payload: str) -> str | None:
    """The partner code in a /start payload, or None when the payload is something else."""
    if payload.startswith(PAYLOAD_PREFIX) and len(payload) > len(PAYLOAD_PREFIX):
        return payload[len(PAYLOAD_PREFIX) :]
    return None


SMALL_CELL = 5  # fewer residents than this are never shown: a group that small can name someone
HIDDEN = "hidden (small group)"  # what every hidden cell says, whichever rule hid it


def hidden_cells(counts: Sequence[int]) -> list[bool]:
    """Which counts of residents a table must hide.

    Any of 1-4 (zero names nobody). Then, while any is hidden, the smallest shown counts go
    too until the hidden ones hold at least twice SMALL_CELL residents together: a total or
    the shares would otherwise give their sum away, and a small sum pins each one down
    (two hidden cells holding 6, one of them 5 or more, can only be 5 and 1).
    """
    hide = [0 < n < SMALL_CELL for n in counts]
    if not any(hide):
        return hide
    shown = sorted((i for i, n in enumerate(counts) if n >= SMALL_CELL), key=lambda i: counts[i])
    for i in shown:
        if sum(n for n, h in zip(counts, hide, strict=True) if h) >= 2 * SMALL_CELL:
            break
        hide[i] = True
    return hide
