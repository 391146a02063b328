"""Who is heard: respondents' shares against the community's own, small cells hidden.

A dashboard full of one neighbourhood's voice looks like the whole city's unless it is set
beside the city's make-up. Staff enter that make-up (census or agency figures) by hand or from
a CSV; the table puts the most under-heard groups first. Groups of fewer than five residents
are never shown, and when hiding one would let it be worked out by subtraction, the next
smallest is hidden too.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.community import AGE_BANDS, DIMENSIONS, SMALL_CELL, hidden_cells
from bot.guard import has_unstorable
from bot.runtime import Runtime
from storage import audit, partners
from storage import representation as store
from storage.db import transaction
from storage.models import CommunityShare, Partner

SMALL = SMALL_CELL  # fewer residents than this are never shown
# The group of values without a community figure that too few residents gave to name.
OTHER, OTHER_LABEL = "\x00other", "other (no community figure)"
DEFAULT_DAYS, MAX_DAYS = 365, 3650
MAX_VALUE, MAX_SOURCE, MAX_AMOUNT, MAX_ROWS = 120, 200, 1e12, 5000
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
AMOUNT = re.compile(r"(\d{1,3}(,\d{3})+|\d+)(\.\d+)?|\.\d+")
TARGET = "community_share"
REQUIRED = {"dimension", "value", "amount"}
COLUMNS = ("language", "neighbourhood", "age_band")  # as storage.representation.respondents


class ShareError(ValueError):
    """A community figure (or a file of them) that cannot be stored; says what to fix."""


class FilterError(ValueError):
    """A window, partner or prompt the table cannot be narrowed to."""


# --- The community's figures --------------------------------------------------------------


def key(value: str) -> str:
    """How a group is matched: trimmed and case-folded ("Northside " is "northside")."""
    return value.strip().casefold()


def parse_amount(text: str) -> float:
    """A count ("12,400") or a percentage ("23.5%"): either works, a share is over the total."""
    plain = text.strip().removesuffix("%").strip()
    if not AMOUNT.fullmatch(plain):
        raise ShareError(f"amount must be a number above 0 (a count or a percentage): {text!r}")
    amount = float(plain.replace(",", ""))
    if not 0 < amount <= MAX_AMOUNT or not math.isfinite(amount):
        raise ShareError(f"amount must be a number above 0 and at most {MAX_AMOUNT:g}")
    return amount


def check_value(dimension: str, value: str) -> str:
    """The group's value as stored: a language code, one of the age bands, or a place name."""
    value = value.strip()
    if dimension not in DIMENSIONS:
        raise ShareError(f"dimension must be one of {', '.join(DIMENSIONS)}")
    if not value or len(value) > MAX_VALUE:
        raise ShareError(f"value must be text of 1-{MAX_VALUE} characters")
    if has_unstorable(value):
        raise ShareError("value holds characters that cannot be stored (a NUL)")
    if dimension == "language":
        if not LANGUAGE_CODE.fullmatch(value):
            raise ShareError(f"a language is a language code such as en or es, not {value!r}")
        primary, _, rest = value.partition("-")
        return primary.lower() + (f"-{rest}" if rest else "")
    if dimension == "age_band" and value not in AGE_BANDS:
        raise ShareError(f"an age band is one of {', '.join(AGE_BANDS)}, not {value!r}")
    return value


def check_source(source: str) -> str:
    source = source.strip()
    if len(source) > MAX_SOURCE or has_unstorable(source):
        raise ShareError(f"source must be at most {MAX_SOURCE} characters")
    return source


@dataclass(frozen=True)
class ShareInput:
    """One checked figure, ready to store."""

    dimension: str
    value: str
    amount: float
    source: str = ""


def checked(dimension: str, value: str, amount: str, source: str = "") -> ShareInput:
    """A figure as typed into the form or read from a CSV row, checked."""
    dimension = dimension.strip()
    return ShareInput(
        dimension, check_value(dimension, value), parse_amount(amount), check_source(source)
    )


def _audit(
    rt: Runtime, session: Session, actor: str, action: str, target_id: int | None, detail: Any
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        at=rt.now(),
        target=TARGET,
        target_id=target_id,
        detail=detail,
    )


def list_shares(rt: Runtime) -> list[CommunityShare]:
    with transaction(rt.db) as session:
        return store.shares(session)


def _upsert(rt: Runtime, session: Session, item: ShareInput) -> tuple[CommunityShare, bool]:
    """Replace the figure of a group already entered (matched as residents are), else add it."""
    now = rt.now()
    for row in store.shares(session, item.dimension):
        if key(row.value) == key(item.value):
            assert row.id is not None
            values = {"value": item.value, "amount": item.amount, "source": item.source}
            store.update_share(session, row.id, **values, updated_at=now)
            return row, False
    return store.add_share(session, **vars(item), updated_at=now), True


def save_share(
    rt: Runtime, dimension: str, value: str, amount: str, source: str, actor: str
) -> CommunityShare:
    """Enter (or replace) one group's figure, audited."""
    item = checked(dimension, value, amount, source)
    with transaction(rt.db) as session:
        row, new = _upsert(rt, session, item)
        action = "community_share.add" if new else "community_share.update"
        _audit(rt, session, actor, action, row.id, vars(item))
    return row


def edit_share(
    rt: Runtime, share_id: int, value: str, amount: str, source: str, actor: str
) -> None:
    """Change a figure's value, amount or source; LookupError when it is gone."""
    with transaction(rt.db) as session:
        row = store.share(session, share_id)
        if row is None:
            raise LookupError(share_id)
        item = checked(row.dimension, value, amount, source)
        clash = [
            s
            for s in store.shares(session, row.dimension)
            if s.id != share_id and key(s.value) == key(item.value)
        ]
        if clash:
            raise ShareError(f"{row.dimension} {item.value!r} already has a figure")
        store.update_share(
            session,
            share_id,
            value=item.value,
            amount=item.amount,
            source=item.source,
            updated_at=rt.now(),
        )
        _audit(rt, session, actor, "community_share.update", share_id, vars(item))


def delete_share(rt: Runtime, share_id: int, actor: str) -> CommunityShare:
    """Remove a figure, audited; LookupError when it is already gone."""
    with transaction(rt.db) as session:
        row = store.share(session, share_id)
        if row is None:
            raise LookupError(share_id)
        store.delete_share(session, share_id)
        detail = {"dimension": row.dimension, "value": row.value}
        _audit(rt, session, actor, "community_share.delete", share_id, detail)
    return row


def read_csv(data: bytes | str) -> list[ShareInput]:
    """Rows `dimension,value,amount[,source]` under a header; the first bad row refuses all."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise ShareError("the file must be UTF-8 text (save it as CSV UTF-8)") from exc
    try:
        return _read_rows(csv.reader(io.StringIO(text)))
    except csv.Error as exc:  # a NUL, an unclosed quote over a huge cell
        raise ShareError(f"the file cannot be read as CSV: {exc}") from exc


def _read_rows(rows: Iterator[list[str]]) -> list[ShareInput]:
    header = [h.strip().lower() for h in next(rows, [])]
    if not REQUIRED <= set(header) <= {*REQUIRED, "source"} or len(set(header)) < len(header):
        raise ShareError("row 1 must be the header: dimension,value,amount[,source]")
    items: list[ShareInput] = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise ShareError(f"row {number}: {len(cells)} cells, the header has {len(header)}")
        named = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
        try:
            item = checked(
                named["dimension"], named["value"], named["amount"], named.get("source", "")
            )
        except ShareError as exc:
            raise ShareError(f"row {number}: {exc}") from exc
        if (first := seen.get((item.dimension, key(item.value)))) is not None:
            raise ShareError(
                f"row {number}: {item.dimension} {item.value!r} is already on row {first}"
            )
        seen[(item.dimension, key(item.value))] = number
        items.append(item)
        if len(items) > MAX_ROWS:
            raise ShareError(f"row {number}: a file holds at most {MAX_ROWS} figures")
    if not items:
        raise ShareError("the file has no figures under its header")
    return items


def import_csv(rt: Runtime, data: bytes | str, actor: str, name: str = "") -> int:
    """Enter every figure of a file in one transaction (all or nothing), audited once."""
    items = read_csv(data)
    with transaction(rt.db) as session:
        added = sum(_upsert(rt, session, item)[1] for item in items)
        detail = {"file": name[:200], "rows": len(items), "added": added}
        _audit(rt, session, actor, "community_share.import", None, detail)
    return len(items)


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
    window_days = _number(days, "days", 1, MAX_DAYS) if days else DEFAULT_DAYS
    partner_id = _number(partner, "partner") if partner else None
    prompt_id = _number(prompt, "prompt") if prompt else None
    with transaction(rt.db) as session:
        found = partners.get(session, partner_id) if partner_id is not None else None
        if partner_id is not None and found is None:
            raise FilterError(f"no partner {partner_id}")
        if prompt_id is not None and store.prompt(session, prompt_id) is None:
            raise FilterError(f"no listening prompt {prompt_id}")
    return Window(window_days, found, prompt_id)


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
