"""Responses as flat rows for export: what staff and records systems take away."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from bot.services.redact import DEFAULT_REGION, redact
from bot.services.translation import shown as translation_shown
from storage import inbox, translations
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
    "translation",  # into the staff language, when a provider is on (a correction wins)
    "translation_provider",
    "viewpoint",  # staff's reading: supportive | neutral | critical, empty when not tagged
]
# What a redacted row says instead of the words of a conversation flagged sensitive (a
# disclosure of self-harm, domestic or sexual violence): masking numbers is not enough there,
# the story itself can name the writer to the person they wrote about.
WITHHELD = "[withheld: sensitive]"
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def response_rows(
    rt: Runtime,
    start: datetime | None = None,
    end: datetime | None = None,
    redacted: bool = False,
    region: str = DEFAULT_REGION,
) -> list[dict[str, Any]]:
    """Stored responses (all, or from `start` up to `end`), oldest first, with no address.

    `redacted` makes the release copy for a records request (see `release_row`); `region` is
    the country whose national phone numbering residents' numbers are read in.
    """
    with transaction(rt.db) as session:
        pairs = inbox.in_range(session, start, end)
        shown = {
            i: translation_shown(t)
            for i, t in translations.for_responses(
                session, [r.id for r, _ in pairs if r.id is not None]
            ).items()
        }
        rows = [
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
                "translation": (t := shown.get(response.id or 0)) and t.text,
                "translation_provider": t and t.provider,
                "viewpoint": response.viewpoint,
            }
            for response, contact in pairs
        ]
    if not redacted:
        return rows
    zone = ZoneInfo(rt.settings.timezone)
    return [release_row(row, zone, region) for row in rows]


def release_row(row: dict[str, Any], zone: ZoneInfo, region: str) -> dict[str, Any]:
    """One exported row made fit for release to the public, keeping FIELDS and their meaning.

    - `text` and `place` have phone numbers, e-mails, handles and house/flat numbers masked
      (`bot.services.redact`): the words and the street stay, the resident does not.
    - A row flagged `sensitive` has its `text` and `place` withheld: a disclosure of violence
      or self-harm can identify its writer by its story alone, whatever is masked in it.
    - `created_at` becomes the day, in the agency's time zone: an exact second can be matched
      against a phone's sent messages or a carrier's log to find who wrote.
    - Kept: `id` (so the agency can say which record a line is; it leads to nothing outside the
      agency), the channel, language, topic, status, flags, consent and staff's viewpoint tag
      (what the line is about, not who). The contact and its address were never in an export.
    """
    out = dict(row)
    out["created_at"] = (
        datetime.fromisoformat(row["created_at"]).astimezone(zone).date().isoformat()
    )
    if row["sensitive"]:
        out["text"] = WITHHELD
        out["place"] = WITHHELD if row["place"] else row["place"]
        out["translation"] = WITHHELD if row.get("translation") else None
        return out
    out["text"] = redact(row["text"], region) if row["text"] else row["text"]
    if row.get("translation"):
        out["translation"] = redact(row["translation"], region)
    out["place"] = redact(row["place"], region) if row["place"] else row["place"]
    return out


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
