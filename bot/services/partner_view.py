"""What a partner organisation may see: aggregates of the residents who came through it.

A partner is trusted by its members, not by Townline: it never sees an address, a masked
address, a contact id or a resident's words, and no group of fewer than five residents
(a small group can be recognised). Cells are counted in residents, not responses, since five
answers from one person are still one person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton

from bot.community import HIDDEN, hidden_cells
from bot.dates import locale_for
from bot.runtime import Runtime
from bot.services.charts import OTHER_TOPICS, WEEKS, week_of
from storage import partner_stats, partners
from storage.db import transaction
from storage.models import Partner

FEWER = HIDDEN


@dataclass(frozen=True)
class Cell:
    """A label and its count of residents; `shown` is None when the cell is hidden."""

    label: str
    shown: int | None

    @property
    def text(self) -> str:
        return FEWER if self.shown is None else str(self.shown)


@dataclass(frozen=True)
class ActionLine:
    """What the agency did, in the words it sent residents."""

    title: str
    message: str
    published: str


@dataclass(frozen=True)
class ConcernLine:
    """A concern the partner's residents raised and what was done about it."""

    title: str
    residents: Cell
    actions: list[ActionLine]


@dataclass(frozen=True)
class PartnerView:
    """Everything the partner's page and its one-page summary show."""

    partner: Partner
    residents: Cell
    responses: Cell
    topics: list[Cell]
    languages: list[Cell]
    weeks: list[Cell]
    concerns: list[ConcernLine]  # those five or more of its residents share
    dated: str


def _cell(label: str, n: int) -> Cell:
    return Cell(label, None if hidden_cells([n])[0] else n)


def protect(counts: Iterable[tuple[str, int]]) -> list[Cell]:
    """Cells with small counts hidden (bot.community.hidden_cells: 1-4, and one more when a
    single hidden one could be worked out from the total)."""
    pairs = list(counts)
    hide = hidden_cells([n for _, n in pairs])
    return [Cell(label, None if h else n) for (label, n), h in zip(pairs, hide, strict=True)]


def _language(rt: Runtime) -> str:
    """The staff language when the flows speak it, else the agency's default."""
    wanted = rt.settings.staff_language
    return wanted if wanted in rt.catalog.languages else rt.settings.default_language


def _names(rt: Runtime, lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """Topic labels and language names, as residents see them on the menu."""
    topics = {flow.id: flow.label.get(lang, flow.id) for flow in rt.catalog.flows}
    names = rt.catalog.messages.get("language_name", {})
    return topics, dict(names)


def _grouped(pairs: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Distinct residents per label, largest first: pairs are (label, resident key)."""
    people: dict[str, set[int]] = defaultdict(set)
    for label, key in pairs:
        people[label].add(key)
    return sorted(((k, len(v)) for k, v in people.items()), key=lambda kv: (-kv[1], kv[0]))


def _action(
    rt: Runtime, action_title: str, messages: dict[str, str], at: datetime | None
) -> ActionLine:
    lang = _language(rt)
    message = messages.get(lang) or messages.get(rt.settings.default_language, "")
    return ActionLine(action_title, message, _day(rt, at) if at else "")


def _day(rt: Runtime, at: datetime) -> str:
    local = at.astimezone(ZoneInfo(rt.settings.timezone)).date()
    return format_date(local, "long", locale=locale_for(_language(rt)))


def partner_view(rt: Runtime, partner_id: int) -> PartnerView | None:
    """The partner's aggregates, or None when there is no such partner."""
    hide = rt.hidden_channels()
    with transaction(rt.db) as session:
        partner = partners.get(session, partner_id)
        if partner is None:
            return None
        facets = partner_stats.response_facets(session, partner_id, hide)
        # Only concerns at least five of its residents share: a title a single member raised
        # would tell the partner what that member said.
        concerns = [
            (c, n)
            for c, n in partner_stats.concerns_raised(session, partner_id, hide)
            if not hidden_cells([n])[0] and n > 0
        ]
        ids = [c.id for c, _ in concerns if c.id is not None]
        done = partner_stats.published_actions(session, ids)
    lang = _language(rt)
    topics, languages = _names(rt, lang)
    other = rt.catalog.page_text("topic_other", lang)
    zone = ZoneInfo(rt.settings.timezone)
    first = week_of(rt.now(), zone) - timedelta(weeks=WEEKS - 1)
    weeks = [first + timedelta(weeks=i) for i in range(WEEKS)]
    per_week: dict[date, set[int]] = defaultdict(set)
    for key, _, _, at in facets:
        per_week[week_of(at, zone)].add(key)
    by_concern: dict[int | None, list[ActionLine]] = defaultdict(list)
    for action in done:
        line = _action(rt, action.title, action.messages, action.published_at)
        by_concern[action.concern_id].append(line)
    residents = _cell("residents", len({key for key, *_ in facets}))
    return PartnerView(
        partner=partner,
        residents=residents,
        # Five answers may all be one person's: no total of responses without five residents.
        responses=(
            _cell("responses", len(facets))
            if residents.shown is not None
            else Cell("responses", None)
        ),
        topics=protect(
            _grouped(
                (other if t in OTHER_TOPICS else topics.get(t or "", t or other), k)
                for k, t, _, _ in facets
            )
        ),
        languages=protect(
            _grouped((languages.get(la or "", la or "unknown"), k) for k, _, la, _ in facets)
        ),
        weeks=protect(
            (format_skeleton("MMMd", w, locale=locale_for(lang)), len(per_week[w])) for w in weeks
        ),
        concerns=[
            ConcernLine(c.title, _cell("residents", n), by_concern.get(c.id, []))
            for c, n in concerns
        ],
        dated=_day(rt, rt.now()),
    )


def chart_pairs(cells: list[Cell]) -> list[tuple[str, float]]:
    """Only the cells large enough to draw: a bar's length would give a small count away."""
    return [(c.label, float(c.shown)) for c in cells if c.shown is not None]


def partner_choices(rt: Runtime) -> list[Partner]:
    """Partners an admin may give a login to (archived ones cannot have new logins)."""
    with transaction(rt.db) as session:
        return partners.listed(session)


def partner_names(rt: Runtime) -> dict[int, str]:
    """Every partner's name by id, archived ones too (for the accounts table)."""
    with transaction(rt.db) as session:
        return {p.id: p.name for p in partners.listed(session, include_archived=True) if p.id}
