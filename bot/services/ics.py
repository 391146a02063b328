"""iCalendar (RFC 5545) text for one meeting, so residents can add it to any calendar app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.meetings import aware
from storage.models import Meeting

FOLD_OCTETS = 75  # RFC 5545 3.1: lines longer than 75 octets are folded


def escape(value: str) -> str:
    r"""TEXT values (RFC 5545 3.3.11): backslash, semicolon and comma escaped; newlines as \n."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Split a line into 75-octet pieces joined by CRLF + space, never inside a character."""
    parts: list[str] = []
    current, size = "", 0
    limit = FOLD_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size = "", 0
            limit = FOLD_OCTETS - 1  # continuation lines start with the folding space
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _stamp(value: datetime) -> str:
    return aware(value).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def meeting_calendar(
    meeting: Meeting, host: str, now: datetime, language: str | None = None
) -> str:
    """A VCALENDAR with one VEVENT, titled in the reader's language where staff gave one;
    times in UTC, so no VTIMEZONE block is needed and each calendar shows its own time."""
    start = aware(meeting.starts_at)
    title = (meeting.titles or {}).get(language or "") or meeting.title
    place = (meeting.locations or {}).get(language or "") or meeting.location
    notes = [n for n in (meeting.notes, meeting.accessibility, meeting.language_notes) if n]
    if meeting.virtual_url:
        notes.append(meeting.virtual_url)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Townline//Community meetings//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:meeting-{meeting.id}@{host}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(start + timedelta(minutes=meeting.duration_minutes))}",
        f"SUMMARY:{escape(title)}",
    ]
    location = place or meeting.virtual_url
    if location:
        lines.append(f"LOCATION:{escape(location)}")
    if notes:
        lines.append(f"DESCRIPTION:{escape(chr(10).join(notes))}")
    if meeting.virtual_url:
        lines.append(f"URL:{meeting.virtual_url}")
    if meeting.cancelled_at is not None:
        lines.append("STATUS:CANCELLED")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)
