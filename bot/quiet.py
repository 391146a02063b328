"""Quiet hours: when proactive messages (reminders, broadcasts, follow-ups) may go out."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def in_quiet_hours(local: time, window: tuple[time, time]) -> bool:
    """Whether a local time falls in the quiet window; the window may wrap past midnight."""
    start, end = window
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_allowed(now: datetime, zone: ZoneInfo, window: tuple[time, time]) -> datetime:
    """`now` if a proactive message may go now, else the moment the quiet window ends."""
    local = now.astimezone(zone)
    if not in_quiet_hours(local.time(), window):
        return now
    end = window[1]
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    # Rebuild through the zone so a DST change overnight lands on the right wall-clock time.
    naive = candidate.replace(tzinfo=None)
    return naive.replace(tzinfo=zone).astimezone(now.tzinfo)
