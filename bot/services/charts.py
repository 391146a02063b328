"""The numbers behind the dashboard's charts: weekly buckets in the agency's time zone."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.community import VIEWPOINTS
from bot.runtime import Runtime
from storage import stats
from storage.db import transaction
from storage.models import Contact, Response

WEEKS = 12
FEEDBACK_FLOW = "interaction"
FEEDBACK_ITEMS = ("respect", "heard", "fairness", "trust")
# Topics shown to the public and to partners as "other": none yet, or filed for staff to sort.
OTHER_TOPICS = (None, "", "other", "unsorted")
# One viewpoint this large a share of at least this many tagged responses reads as one-sided.
ONE_SIDED_SHARE, ONE_SIDED_MIN = 0.75, 10


@dataclass(frozen=True)
class ChartData:
    """Everything the charts page draws."""

    weeks: list[str]
    topics_by_week: dict[str, list[float | None]]
    languages: list[tuple[str, int]]
    channels: list[tuple[str, int]]
    neighbourhoods: list[tuple[str, int]]
    feedback_by_week: dict[str, list[float | None]]
    viewpoints_by_week: dict[str, list[float | None]]
    viewpoint_totals: dict[str, int]  # every viewpoint, in VIEWPOINTS order, over the weeks
    untagged: int  # responses in words nobody has read for a viewpoint yet


def viewpoint_balance(totals: dict[str, int], untagged: int) -> str:
    """The period's viewpoints in one plain sentence, so a one-sided picture is said out loud."""
    tagged = sum(totals.values())
    waiting = f"{untagged} {'response is' if untagged == 1 else 'responses are'} not tagged."
    if not tagged:
        return f"No responses are tagged with a viewpoint yet. {waiting}"
    parts = ", ".join(f"{n} {v} ({n * 100 / tagged:.0f}%)" for v, n in totals.items())
    noun = "response" if tagged == 1 else "responses"
    sentence = f"Of {tagged} tagged {noun}: {parts}. {waiting}"
    top, most = max(totals.items(), key=lambda pair: pair[1])
    if tagged >= ONE_SIDED_MIN and most / tagged >= ONE_SIDED_SHARE:
        sentence += f" Most tagged responses are {top}: seek out other voices too."
    return sentence


def week_of(at: datetime, zone: ZoneInfo) -> date:
    """The Monday of the agency-local week a time falls in."""
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def chart_data(rt: Runtime, include_simulated: bool = False) -> ChartData:
    """Counts for the last twelve weeks; average feedback per week (None when nobody rated).

    Simulated residents are counted only when asked, or when the simulator is the only channel.
    """
    zone = ZoneInfo(rt.settings.timezone)
    now = rt.now()
    first = week_of(now, zone) - timedelta(weeks=WEEKS - 1)
    since = datetime.combine(first, datetime.min.time(), zone)
    weeks = [first + timedelta(weeks=i) for i in range(WEEKS)]
    hide = () if include_simulated else rt.hidden_channels()
    with transaction(rt.db) as session:
        times = stats.topic_times(session, since, hide)
        languages = stats.counts(session, Response.language, since, hide)
        channels = stats.counts(session, Contact.channel, since, hide)
        places = stats.counts(session, Contact.neighbourhood, since, hide)
        ratings = stats.ratings(session, since, FEEDBACK_FLOW, hide)
        stances = stats.viewpoint_times(session, since, hide)
    per_topic: dict[str, Counter[date]] = defaultdict(Counter)
    for topic, at in times:
        per_topic[topic or "none"][week_of(at, zone)] += 1
    sums: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(list))
    for item, value, at in ratings:
        sums[item][week_of(at, zone)].append(value)
    feedback = {
        item: [round(sum(v) / len(v), 2) if (v := sums[item].get(w)) else None for w in weeks]
        for item in FEEDBACK_ITEMS
    }
    per_viewpoint: dict[str | None, Counter[date]] = defaultdict(Counter)
    for viewpoint, at in stances:
        per_viewpoint[viewpoint][week_of(at, zone)] += 1
    return ChartData(
        weeks=[w.strftime("%b %d") for w in weeks],
        topics_by_week={t: [float(c[w]) for w in weeks] for t, c in sorted(per_topic.items())},
        languages=languages,
        channels=channels,
        neighbourhoods=places[:15],
        feedback_by_week=feedback,
        viewpoints_by_week={v: [float(per_viewpoint[v][w]) for w in weeks] for v in VIEWPOINTS},
        viewpoint_totals={v: sum(per_viewpoint[v].values()) for v in VIEWPOINTS},
        untagged=sum(per_viewpoint[None].values()),
    )
