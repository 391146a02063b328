"""API tokens: high-entropy secrets shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from bot.runtime import Runtime
from storage import audit
from storage import tokens as store
from storage.db import transaction
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


def create_token(rt: Runtime, name: str, role: str, actor: str) -> NewToken:
    """Make a token for a script or a records system, audited."""
    name = name.strip()
    if role not in TOKEN_ROLES:
        raise TokenError(f"role must be one of {', '.join(TOKEN_ROLES)}")
    if not name or len(name) > 120:
        raise TokenError("give the token a name of 1-120 characters")
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction(rt.db) as session:
        row = store.create(
            session, name=name, role=role, token_hash=hash_token(secret), now=rt.now()
        )
        audit.record(
            session,
            actor=actor,
            action="token.create",
            at=rt.now(),
            target="token",
            target_id=row.id,
            detail={"name": name, "role": role},
        )
    return NewToken(row, secret)


def lookup(rt: Runtime, secret: str) -> ApiToken | None:
    """The active token a bearer secret belongs to, its last use recorded."""
    with transaction(rt.db) as session:
        row = store.find_active(session, hash_token(secret))
        if row is not None and row.id is not None:
            store.touch(session, row.id, rt.now())
        return row
