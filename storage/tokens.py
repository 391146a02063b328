"""SQL for API tokens: looked up by the SHA-256 of the presented token, never stored in clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from storage.models import ApiToken


def create(
    session: Session,
    *,
    name: str,
    role: str,
    token_hash: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> ApiToken:
    """Keep a new token's hash, role and optional expiry."""
    token = ApiToken(
        name=name, role=role, token_hash=token_hash, created_at=now, expires_at=expires_at
    )
    session.add(token)
    session.flush()
    return token


def find_active(session: Session, token_hash: str, now: datetime) -> ApiToken | None:
    """The unrevoked, unexpired token with this hash."""
    return session.exec(
        select(ApiToken).where(
            ApiToken.token_hash == token_hash,
            col(ApiToken.revoked_at).is_(None),
            or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now),
        )
    ).first()


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token ever made (hashes included, for the caller to leave out), newest first."""
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id).desc())))


def get(session: Session, token_id: int) -> ApiToken | None:
    """One token by id."""
    return session.get(ApiToken, token_id)


def revoke_id(session: Session, token_id: int, now: datetime) -> int:
    """Revoke one token by id if it is active; returns 1 if it was."""
    result = session.exec(  # type: ignore[call-overload]
        update(ApiToken)
        .where(col(ApiToken.id) == token_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)


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
