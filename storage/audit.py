"""SQL for the audit log: every change staff make, written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import AuditEntry


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    at: datetime,
    target: str | None = None,
    target_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry; it commits or rolls back with the change it describes."""
    session.add(
        AuditEntry(
            actor=actor, action=action, at=at, target=target, target_id=target_id, detail=detail
        )
    )


def recent(session: Session, limit: int = 200, before_id: int | None = None) -> list[AuditEntry]:
    """The newest entries first."""
    stmt = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(col(AuditEntry.id) < before_id)
    return list(session.exec(stmt))


def last_at(session: Session, action: str) -> datetime | None:
    """When an action was last recorded (the daily retention job reads its own last run)."""
    stmt = select(AuditEntry.at).where(AuditEntry.action == action)
    return session.exec(stmt.order_by(col(AuditEntry.at).desc()).limit(1)).first()


def count_since(
    session: Session, action: str, since: datetime, exclude_actor: str | None = None
) -> int:
    """How many times an action was recorded since a moment (the public privacy figures)."""
    stmt = (
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == action, col(AuditEntry.at) >= since)
    )
    if exclude_actor is not None:
        stmt = stmt.where(AuditEntry.actor != exclude_actor)
    return int(session.exec(stmt).one())  # type: ignore[call-overload]
