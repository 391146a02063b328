"""Who is heard: respondents' shares against the community's own, small cells hidden.

A dashboard full of one neighbourhood's voice looks like the whole city's unless it is set
beside the city's make-up (`bot.services.community_figures`). The table puts the most
under-heard groups first; small groups are hidden by `bot.community.hidden_cells`, and
places typed by too few residents to name are pooled into one group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.community import DIMENSIONS, SMALL_CELL, hidden_cells
from bot.runtime import Runtime
from bot.services.community_figures import key
from storage import partners
from storage import representation as store
from storage.db import transaction
from storage.models import CommunityShare, Partner

SMALL = SMALL_CELL  # fewer residents than this are never shown
# The group of values without a community figure that too few residents gave to name.
OTHER, OTHER_LABEL = "\x00other", "other (no community figure)"
DEFAULT_DAYS = 365
WINDOWS = (30, 90, 365, 730, 3650)  # days a table may look back
COLUMNS = ("language", "neighbourhood", "age_band")  # as storage.representation.respondents


class FilterError(ValueError):
    """A window, partner or prompt the table cannot be narrowed to."""


# --- The table ------------------------------------------------------------------------------


@dataclass
class Group:
    """One group of a dimension: its residents who spoke beside its share of the community.

    A hidden group (`suppressed`) has its count, share and ratio cleared as soon as it is
    hidden, so nothing drawn or serialised afterwards can carry them.
    """

    value: str
    respondents: int
    respondents_share: float | None
    community_share: float | None
    ratio: float | None
    suppressed: bool = False


@dataclass
class Table:
    """One dimension's groups, most under-heard first, and the residents who did not say."""

    dimension: str
    groups: list[Group]
    known: int | None  # residents whose value is known (None when a hidden cell would show)
    not_said: int | None  # None: 1-4, hidden like any small cell
    community_total: float | None
    sources: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """What the table is narrowed to."""

    days: int = DEFAULT_DAYS
    partner: Partner | None = None
    prompt_id: int | None = None


Row = tuple[int, int, str | None, str | None, str | None]  # storage's respondents() rows


def _resident_values(rows: Iterable[Row]) -> dict[int, dict[str, str | None]]:
    """One value per dimension per resident: the first contact (the resident's own first)
    that has one, so a linked resident counts once whatever channel they answered on."""
    by_resident: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_resident[row[0]].append(row)
    values: dict[int, dict[str, str | None]] = {}
    for resident, contacts in by_resident.items():
        contacts.sort(key=lambda r: (r[1] != resident, r[1]))
        values[resident] = {
            dim: next((v.strip() for r in contacts if (v := r[2 + i]) and v.strip()), None)
            for i, dim in enumerate(COLUMNS)
        }
    return values


def _shown(n: int) -> int | None:
    return n if n == 0 or n >= SMALL else None


def build_table(
    dimension: str, values: Sequence[str | None], shares: Sequence[CommunityShare]
) -> Table:
    """The table for one dimension from each respondent's value and the community's figures."""
    counts: dict[str, int] = defaultdict(int)
    spellings: dict[str, set[str]] = defaultdict(set)
    for value in values:
        if value is not None:
            counts[key(value)] += 1
            spellings[key(value)].add(value)
    known = sum(counts.values())
    total = sum(s.amount for s in shares)
    figures = {key(s.value): s for s in shares}
    _pool_unlisted(counts, spellings, figures)
    groups = []
    for k in sorted(set(counts) | set(figures)):
        n = counts.get(k, 0)
        label = figures[k].value if k in figures else min(spellings[k])
        mine = n / known if known else None
        theirs = figures[k].amount / total if k in figures and total else None
        ratio = mine / theirs if mine is not None and theirs else None
        groups.append(Group(label, n, mine, theirs, ratio))
    _suppress(groups)
    groups.sort(key=_under_heard_first)
    hidden = any(g.suppressed for g in groups)
    return Table(
        dimension=dimension,
        groups=groups,
        known=None if hidden else known,
        not_said=_shown(sum(v is None for v in values)),
        community_total=total or None,
        sources=sorted({s.source for s in shares if s.source}),
    )


def _pool_unlisted(
    counts: dict[str, int], spellings: dict[str, set[str]], figures: Mapping[str, object]
) -> None:
    """Values the community's figures do not list, each held by fewer than five residents,
    become one group: a neighbourhood is what the resident typed ("12 Elm St apt 4"), and
    even hidden, its label would show their words and that someone wrote them."""
    few = [k for k, n in counts.items() if k not in figures and n < SMALL]
    if not few:
        return
    counts[OTHER] = counts.get(OTHER, 0) + sum(counts.pop(k) for k in few)
    spellings[OTHER] = {OTHER_LABEL}
    for k in few:
        spellings.pop(k, None)


def _suppress(groups: list[Group]) -> None:
    """Hide what bot.community.hidden_cells says, clearing the numbers as it goes."""
    hide = hidden_cells([g.respondents for g in groups])
    for g, hidden in zip(groups, hide, strict=True):
        if hidden:
            g.suppressed = True
            g.respondents, g.respondents_share, g.ratio = 0, None, None


def _under_heard_first(g: Group) -> tuple[Any, ...]:
    """Groups the community has but nobody from it spoke first, then the lowest ratio; hidden
    groups after those (placing them by ratio would hint at it), then groups with no figure."""
    if g.suppressed:
        return (2, 0.0, -(g.community_share or 0), g.value)
    if g.community_share is None:
        return (3, 0.0, -g.respondents, g.value)
    return (0 if g.respondents == 0 else 1, g.ratio or 0.0, -g.community_share, g.value)


def window_from(rt: Runtime, days: str = "", partner: str = "", prompt: str = "") -> Window:
    """The window and filters from query-string text; FilterError names what is wrong."""
    window_days = _window(days) if days else DEFAULT_DAYS
    partner_id = _number(partner, "partner") if partner else None
    prompt_id = _number(prompt, "prompt") if prompt else None
    with transaction(rt.db) as session:
        found = partners.get(session, partner_id) if partner_id is not None else None
        if partner_id is not None and found is None:
            raise FilterError(f"no partner {partner_id}")
        if prompt_id is not None and store.prompt(session, prompt_id) is None:
            raise FilterError(f"no listening prompt {prompt_id}")
    return Window(window_days, found, prompt_id)


def _window(days: str) -> int:
    """One of a few set windows: with any number of days, two tables a day apart would show
    by subtraction the few residents who spoke on that day."""
    if days not in {str(w) for w in WINDOWS}:
        raise FilterError(f"days must be one of {', '.join(map(str, WINDOWS))}")
    return int(days)


def _number(text: str, name: str, lo: int = 1, hi: int = 2**31 - 1) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 10 or not lo <= int(text) <= hi:
        raise FilterError(f"{name} must be a whole number from {lo} to {hi}")
    return int(text)


def since(rt: Runtime, window: Window) -> datetime:
    """The start of the window: responses from then on count."""
    return rt.now() - timedelta(days=window.days)


def representation(
    rt: Runtime, window: Window | None = None, dimensions: Sequence[str] = DIMENSIONS
) -> list[Table]:
    """One table per dimension for residents who spoke in the window (simulated ones left out
    once a real channel is configured, as on the charts)."""
    window = window or Window()
    partner_id = window.partner.id if window.partner else None
    with transaction(rt.db) as session:
        rows = store.respondents(
            session, since(rt, window), rt.hidden_channels(), partner_id, window.prompt_id
        )
        figures = store.shares(session)
    residents = _resident_values(rows)
    return [
        build_table(
            dim,
            [v[dim] for v in residents.values()],
            [s for s in figures if s.dimension == dim],
        )
        for dim in dimensions
    ]


def as_json(table: Table) -> dict[str, Any]:
    """A table as the API shows it: hidden cells are null with `"suppressed": true`."""
    return {
        "dimension": table.dimension,
        "known": table.known,
        "not_said": table.not_said,
        "community_total": table.community_total,
        "sources": table.sources,
        "groups": [
            {
                "value": g.value,
                "respondents": None if g.suppressed else g.respondents,
                "respondents_share": _round(g.respondents_share, 4),
                "community_share": _round(g.community_share, 4),
                "ratio": _round(g.ratio, 3),
                "suppressed": g.suppressed,
            }
            for g in table.groups
        ],
    }


def _round(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


# --- Filters and partners ---------------------------------------------------------------------


def prompt_choices(rt: Runtime) -> list[tuple[int, str]]:
    """Listening prompts as the filter lists them: date and the first words."""
    with transaction(rt.db) as session:
        rows = store.prompts(session)
    default = rt.settings.default_language
    choices = []
    for row in rows:
        text = row.messages.get(default) or next(iter(row.messages.values()), "")
        words = text if len(text) <= 60 else text[:59] + "…"
        assert row.id is not None
        choices.append((row.id, f"{row.send_at:%Y-%m-%d}: {words}"))
    return choices


def partner_choices(rt: Runtime) -> list[Partner]:
    with transaction(rt.db) as session:
        return partners.listed(session, include_archived=True)


def partners_with_reach(rt: Runtime) -> list[tuple[Partner, int | None]]:
    """Active partners and how many residents came through each (None for 1-4: too few)."""
    with transaction(rt.db) as session:
        rows = partners.listed(session)
        reach = partners.resident_counts(session, rt.hidden_channels())
    return [(p, _shown(reach.get(p.id or 0, 0))) for p in rows]
