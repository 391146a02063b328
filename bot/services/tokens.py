"""API tokens: high-entropy secrets shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.guard import has_unstorable
from bot.runtime import Runtime
from storage import audit
from storage import tokens as store
from storage.db import transaction
from storage.meetings import aware
from storage.models import ApiToken

TOKEN_ROLES = ("viewer", "staff")
PREFIX = "tl_"  # makes a leaked token easy to recognise in logs and secret scanners


class TokenError(ValueError):
    """A token cannot be created as asked."""


def hash_token(token: str) -> str:
    """SHA-256 is enough: the token has 256 random bits, so there is nothing to brute-force."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """The stored row and the one and only copy of the secret."""

    row: ApiToken
    secret: str


MAX_LIFETIME_DAYS = 3660


def create_token(
    rt: Runtime, name: str, role: str, actor: str, expires_in_days: int | None = None
) -> NewToken:
    """Make a token for a script or a records system, audited; optionally one that expires."""
    name = name.strip()
    if role not in TOKEN_ROLES:
        raise TokenError(f"role must be one of {', '.join(TOKEN_ROLES)}")
    if not name or len(name) > 120 or has_unstorable(name):
        raise TokenError("give the token a name of 1-120 characters")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise TokenError(f"a token may last 1 to {MAX_LIFETIME_DAYS} days")
    now = rt.now()
    expires = now + timedelta(days=expires_in_days) if expires_in_days else None
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction(rt.db) as session:
        row = store.create(
            session,
            name=name,
            role=role,
            token_hash=hash_token(secret),
            now=now,
            expires_at=expires,
        )
        audit.record(
            session,
            actor=actor,
            action="token.create",
            at=now,
            target="token",
            target_id=row.id,
            detail={
                "name": name,
                "role": role,
                "expires_at": expires.isoformat() if expires else None,
            },
        )
    return NewToken(row, secret)


def list_tokens(rt: Runtime) -> list[ApiToken]:
    """Every token with its state; the hashes stay in the database."""
    with transaction(rt.db) as session:
        return store.list_tokens(session)


def token_state(row: ApiToken, now: datetime) -> str:
    """active, expired or revoked: what an admin needs to know at a glance."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and aware(row.expires_at) <= now:
        return "expired"
    return "active"


def revoke_token(rt: Runtime, token_id: int, actor: str) -> ApiToken:
    """Revoke one token at once (the next request with it gets 401), audited."""
    now = rt.now()
    with transaction(rt.db) as session:
        row = store.get(session, token_id)
        if row is None:
            raise TokenError(f"there is no token {token_id}")
        if not store.revoke_id(session, token_id, now):
            raise TokenError(f"token {token_id} ({row.name}) was already revoked")
        audit.record(
            session,
            actor=actor,
            action="token.revoke",
            at=now,
            target="token",
            target_id=token_id,
            detail={"name": row.name},
        )
        session.refresh(row)
        return row


def lookup(rt: Runtime, secret: str) -> ApiToken | None:
    """The active token a bearer secret belongs to, its last use recorded."""
    with transaction(rt.db) as session:
        row = store.find_active(session, hash_token(secret), rt.now())
        if row is not None and row.id is not None:
            store.touch(session, row.id, rt.now())
        return row
