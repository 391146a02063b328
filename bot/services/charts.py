"""The numbers behind the dashboard's charts: weekly buckets in the agency's time zone."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from storage import stats
from storage.db import transaction
from storage.models import Contact, Response

WEEKS = 12
FEEDBACK_FLOW = "interaction"
FEEDBACK_ITEMS = ("respect", "heard", "fairness", "trust")


@dataclass(frozen=True)
class ChartData:
    """Everything the charts page draws."""

    weeks: list[str]
    topics_by_week: dict[str, list[float | None]]
    languages: list[tuple[str, int]]
    channels: list[tuple[str, int]]
    neighbourhoods: list[tuple[str, int]]
    feedback_by_week: dict[str, list[float | None]]


def _week(at: datetime, zone: ZoneInfo) -> date:
    """The Monday of the agency-local week a time falls in."""
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def chart_data(rt: Runtime, include_simulated: bool = False) -> ChartData:
    """Counts for the last twelve weeks; average feedback per week (None when nobody rated).

    Simulated residents are counted only when asked, or when the simulator is the only channel.
    """
    zone = ZoneInfo(rt.settings.timezone)
    now = rt.now()
    first = _week(now, zone) - timedelta(weeks=WEEKS - 1)
    since = datetime.combine(first, datetime.min.time(), zone)
    weeks = [first + timedelta(weeks=i) for i in range(WEEKS)]
    hide = () if include_simulated else rt.hidden_channels()
    with transaction(rt.db) as session:
        times = stats.topic_times(session, since, hide)
        languages = stats.counts(session, Response.language, since, hide)
        channels = stats.counts(session, Contact.channel, since, hide)
        places = stats.counts(session, Contact.neighbourhood, since, hide)
        ratings = stats.ratings(session, since, FEEDBACK_FLOW, hide)
    per_topic: dict[str, Counter[date]] = defaultdict(Counter)
    for topic, at in times:
        per_topic[topic or "none"][_week(at, zone)] += 1
    sums: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(list))
    for item, value, at in ratings:
        sums[item][_week(at, zone)].append(value)
    feedback = {
        item: [round(sum(v) / len(v), 2) if (v := sums[item].get(w)) else None for w in weeks]
        for item in FEEDBACK_ITEMS
    }
    return ChartData(
        weeks=[w.strftime("%b %d") for w in weeks],
        topics_by_week={t: [float(c[w]) for w in weeks] for t, c in sorted(per_topic.items())},
        languages=languages,
        channels=channels,
        neighbourhoods=places[:15],
        feedback_by_week=feedback,
    )
