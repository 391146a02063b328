"""Checks for what staff send (API, CLI): each mistake named with its field, nothing half-saved."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.guard import UnacceptableError, has_unstorable, in_range

# Weeks, days, hours, minutes, seconds: months and years have no fixed length.
MAX_DURATION = timedelta(days=366)  # no reminder, window or offset is longer
_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]{1,9})W)?(?:(?P<days>[0-9]{1,9})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,9})H)?(?:(?P<minutes>[0-9]{1,9})M)?(?:(?P<seconds>[0-9]{1,9})S)?)?"
)


class InvalidInputError(ValueError):
    """Input that cannot be accepted; `field` names what to fix, the message says how."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_instant(value: Any, field: str) -> datetime:
    """An ISO 8601 date-time with an offset (2026-12-03T18:30:00-05:00), returned in UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidInputError(
                field, f"{value!r} is not an ISO 8601 date-time, e.g. 2026-12-03T18:30:00-05:00"
            ) from exc
    else:
        raise InvalidInputError(field, "required: an ISO 8601 date-time with an offset")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidInputError(
            field, f"{value!r} has no UTC offset; add one, e.g. -05:00 or Z, so the time is exact"
        )
    try:
        return in_range(parsed.astimezone(UTC), field)
    except (UnacceptableError, OverflowError) as exc:
        raise InvalidInputError(field, "must be between the years 2000 and 2100") from exc


def parse_duration(value: Any, field: str) -> timedelta:
    """An ISO 8601 duration such as P3D, PT2H or P1DT30M (weeks to seconds, not months)."""
    text = value.strip().upper() if isinstance(value, str) else ""
    match = _DURATION.fullmatch(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise InvalidInputError(
            field, f"{value!r} is not an ISO 8601 duration like P3D, PT2H or P1DT12H"
        )
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    try:
        duration = timedelta(**parts)
    except OverflowError as exc:
        raise InvalidInputError(field, f"{value!r} is far too long") from exc
    if duration > MAX_DURATION:
        raise InvalidInputError(field, f"{value!r} is longer than a year")
    return duration


def parse_zone(value: Any, field: str) -> str:
    """An IANA time zone name such as America/New_York."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "required: an IANA time zone such as America/New_York")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(field, f"{value!r} is not a known time zone") from exc
    return value.strip()


def text_field(value: Any, field: str, *, max_length: int, required: bool = False) -> str | None:
    """A trimmed string no longer than the column holds; empty counts as absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInputError(field, "required")
        return None
    if not isinstance(value, str):
        raise InvalidInputError(field, "must be text")
    if has_unstorable(value):
        raise InvalidInputError(field, "holds characters that cannot be stored (a NUL byte)")
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInputError(field, f"at most {max_length} characters (got {len(value)})")
    return value


def web_link(value: Any, field: str, *, max_length: int) -> str | None:
    """An http(s) link with a host, e.g. a meeting's virtual_url; empty counts as absent.

    `urlsplit` raises ValueError on some malformed links ("http://[::1"): that is the
    client's mistake, named here, not a server error.
    """
    link = text_field(value, field, max_length=max_length)
    if link is None:
        return None
    try:
        parts = urlsplit(link)
    except ValueError as exc:
        raise InvalidInputError(field, f"{link!r} is not a link") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(field, "must be an http(s) link")
    return link


def string_list(value: Any, field: str) -> list[str]:
    """A list of non-empty strings (absent or null: empty), each one storable."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidInputError(field, "must be a list of non-empty strings")
    if any(has_unstorable(v) for v in value):
        raise InvalidInputError(field, "holds characters that cannot be stored (a NUL byte)")
    return [v.strip() for v in value]
