"""Responses as flat rows for export: what staff and records systems take away."""

from __future__ import annotations

from typing import Any

from bot.runtime import Runtime
from storage import conversations
from storage.db import transaction

FIELDS = [
    "id",
    "created_at",
    "channel",
    "topic",
    "item",
    "language",
    "text",
    "value",
    "place",
    "follow_up_consent",
    "status",
    "urgent",
    "sensitive",
]
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def response_rows(rt: Runtime) -> list[dict[str, Any]]:
    """Every stored response, oldest first, with no phone number or chat id."""
    with transaction(rt.db) as session:
        pairs = conversations.list_responses(session)
        return [
            {
                "id": response.id,
                "created_at": response.created_at.isoformat(),
                "channel": contact.channel,
                "topic": response.topic,
                "item": response.item,
                "language": response.language,
                "text": response.text,
                "value": response.value,
                "place": response.place,
                "follow_up_consent": response.follow_up_consent,
                "status": response.status,
                "urgent": response.urgent,
                "sensitive": response.sensitive,
            }
            for response, contact in pairs
        ]


def spreadsheet_safe(value: Any) -> Any:
    """Prefix a quote to text a spreadsheet would treat as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
