"""Resident addresses as staff see them: enough to tell two apart, never enough to dial."""

from __future__ import annotations

import re

MASK = "•••"


def mask_address(channel: str, address: str) -> str:
    """`+1 ••• ••• 12 34` for phone numbers, `telegram ••••5678` for chats, else the last four."""
    digits = re.sub(r"\D", "", address)
    if address.startswith("+") and len(digits) >= 8:
        country = digits[:1] if digits[0] in "17" else digits[:2]
        return f"+{country} {MASK} {MASK} {digits[-4:-2]} {digits[-2:]}"
    tail = address[-4:] if len(address) > 6 else ""
    return f"{channel} ••••{tail}"
