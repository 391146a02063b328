"""Inbox filters from a query string, shared by the staff pages and the JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.community import VIEWPOINTS
from bot.guard import UnacceptableError, bounded_int, has_unstorable, in_range
from storage.inbox import NO_VIEWPOINT, ResponseFilter

TEXT_FILTERS = ("topic", "status", "language", "channel", "neighbourhood", "tag")
FLAGS = ("urgent", "sensitive")
MAX_QUERY = 200


class FilterError(ValueError):
    """A filter value cannot be understood; the message names it."""


def _day(value: str, name: str, zone: ZoneInfo) -> datetime:
    """Midnight of a YYYY-MM-DD day in the agency's time zone, between 2000 and 2100."""
    try:
        day = date.fromisoformat(value)
        return in_range(datetime.combine(day, time(0), zone), name)
    except (ValueError, OverflowError) as exc:
        raise FilterError(f"{name} must be a date like 2026-11-24, between 2000 and 2100") from exc


def parse_filter(
    args: Mapping[str, str], timezone: str, hide_channels: tuple[str, ...] = ()
) -> ResponseFilter:
    """`from`/`to` are inclusive agency-local days; empty values mean no filter.

    `hide_channels` (the simulator in production) stay out unless `simulated=include` or
    `channel=` names one of them.
    """
    zone = ZoneInfo(timezone)
    values: dict[str, object] = {name: args.get(name, "").strip() or None for name in TEXT_FILTERS}
    for name in TEXT_FILTERS:
        # No stored value holds a NUL; PostgreSQL would refuse even to compare with one.
        if has_unstorable(args.get(name, "")):
            raise FilterError(f"{name} holds characters no response can have (a NUL byte)")
    if args.get("simulated", "").strip() != "include":
        values["hide_channels"] = hide_channels
    if query := " ".join(args.get("q", "").split()):
        if len(query) > MAX_QUERY or has_unstorable(query):
            raise FilterError(f"search words must be at most {MAX_QUERY} characters")
        values["q"] = query
    if start := args.get("from", "").strip():
        values["start"] = _day(start, "from", zone)
    if end := args.get("to", "").strip():
        values["end"] = _day(end, "to", zone) + timedelta(days=1)
    if concern := args.get("concern", "").strip():
        try:
            values["concern_id"] = bounded_int(concern, "concern")
        except UnacceptableError as exc:
            raise FilterError("concern must be a concern id") from exc
    if flag := args.get("flag", "").strip():
        if flag not in FLAGS:
            raise FilterError(f"flag must be one of {', '.join(FLAGS)}")
        values["flag"] = flag
    if viewpoint := args.get("viewpoint", "").strip():
        if viewpoint not in (*VIEWPOINTS, NO_VIEWPOINT):
            raise FilterError(
                f"viewpoint must be one of {', '.join(VIEWPOINTS)} or {NO_VIEWPOINT} (not tagged)"
            )
        values["viewpoint"] = viewpoint
    return ResponseFilter(**values)  # type: ignore[arg-type]
