"""SQL for API tokens: looked up by the SHA-256 of the presented token, never stored in clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import ApiToken


def create(session: Session, *, name: str, role: str, token_hash: str, now: datetime) -> ApiToken:
    """Keep a new token's hash and role."""
    token = ApiToken(name=name, role=role, token_hash=token_hash, created_at=now)
    session.add(token)
    session.flush()
    return token


def find_active(session: Session, token_hash: str) -> ApiToken | None:
    """The unrevoked token with this hash."""
    return session.exec(
        select(ApiToken).where(
            ApiToken.token_hash == token_hash, col(ApiToken.revoked_at).is_(None)
        )
    ).first()


def touch(session: Session, token_id: int, now: datetime) -> None:
    """Remember when a token was last used, so idle ones can be spotted and revoked."""
    session.exec(  # type: ignore[call-overload]
        update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=now)
    )


def revoke(session: Session, name: str, now: datetime) -> int:
    """Revoke every active token with a name; returns how many."""
    result = session.exec(  # type: ignore[call-overload]
        update(ApiToken)
        .where(col(ApiToken.name) == name, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)
