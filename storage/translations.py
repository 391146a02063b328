"""SQL for translations beside residents' words, and the monthly character budget."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.db import dialect_insert
from storage.models import Response, Translation, TranslationUsage


def pending(session: Session, staff_language: str, limit: int) -> list[Response]:
    """Responses in another language with words and no translation yet, oldest first."""
    done = select(Translation.response_id)
    stmt = (
        select(Response)
        .where(
            col(Response.language).is_not(None),
            Response.language != staff_language,
            Response.text != "",
            col(Response.erased_at).is_(None),
            col(Response.id).not_in(done),
        )
        .order_by(col(Response.id))
        .limit(limit)
    )
    return list(session.exec(stmt))


def save(session: Session, **values: object) -> None:
    """Store one translation; a second worker's copy of the same one is ignored."""
    session.exec(  # type: ignore[call-overload]
        dialect_insert(session, Translation)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["response_id"])
    )


def for_responses(session: Session, ids: Sequence[int]) -> dict[int, Translation]:
    """Translations of these responses, by response id."""
    if not ids:
        return {}
    stmt = select(Translation).where(col(Translation.response_id).in_(list(ids)))
    return {t.response_id: t for t in session.exec(stmt)}


def correct(session: Session, response_id: int, text: str, by: str, now: datetime) -> bool:
    """A person's correction, which wins over the machine's text from now on."""
    result = session.exec(  # type: ignore[call-overload]
        update(Translation)
        .where(col(Translation.response_id) == response_id)
        .values(corrected_text=text, corrected_by=by, corrected_at=now)
    )
    return bool(result.rowcount)


def used(session: Session, month: str) -> int:
    """Characters sent to the provider this month."""
    row = session.get(TranslationUsage, month)
    return row.characters if row else 0


def add_usage(session: Session, month: str, characters: int) -> None:
    """Count characters sent (one row per month, shared by every worker)."""
    session.exec(  # type: ignore[call-overload]
        dialect_insert(session, TranslationUsage)
        .values(month=month, characters=0)
        .on_conflict_do_nothing(index_elements=["month"])
    )
    session.exec(  # type: ignore[call-overload]
        update(TranslationUsage)
        .where(col(TranslationUsage.month) == month)
        .values(characters=col(TranslationUsage.characters) + characters)
    )
