"""The community's own make-up: census or agency figures per neighbourhood, language and age
band, entered by hand or from a CSV, audited. `bot.services.representation` sets them beside
the residents the line hears.

Amounts may be counts or percentages: a group's share is its amount over its dimension's
total, so "6000" and "60%" mean the same beside figures of the same kind.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.community import AGE_BANDS, DIMENSIONS
from bot.guard import has_unstorable
from bot.runtime import Runtime
from storage import audit
from storage import representation as store
from storage.db import transaction
from storage.models import CommunityShare

MAX_VALUE, MAX_SOURCE, MAX_AMOUNT, MAX_ROWS = 120, 200, 1e12, 5000
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
AMOUNT = re.compile(r"(\d{1,3}(,\d{3})+|\d+)(\.\d+)?|\.\d+")
TARGET = "community_share"
REQUIRED = {"dimension", "value", "amount"}


class ShareError(ValueError):
    """A community figure (or a file of them) that cannot be stored; says what to fix."""


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
