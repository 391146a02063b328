"""Responses as flat rows for export: what staff and records systems take away."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from bot.runtime import Runtime
from storage import inbox
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


def response_rows(
    rt: Runtime, start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """Stored responses (all, or from `start` up to `end`), oldest first, with no address."""
    with transaction(rt.db) as session:
        pairs = inbox.in_range(session, start, end)
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


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV with every cell made safe for spreadsheets."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return out.getvalue()
