"""Staff accounts: roles, password hashing, and logins slowed down after repeated failures."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from bot.guard import has_unstorable
from bot.runtime import Runtime
from storage import audit
from storage import staff as store
from storage.db import transaction
from storage.models import StaffUser

MAX_EMAIL = 254
ROLES = ("viewer", "staff", "admin")  # each may do what the ones before it may
MIN_PASSWORD = 12
# Failures allowed before a key is locked, and how long the lock lasts (doubling, capped).
ACCOUNT_FREE_FAILURES = 5
# An address is locked only after failures across many accounts: behind a proxy or a shared
# office connection, one person's typos must not lock every colleague out.
IP_FREE_FAILURES = 100
LOCK_BASE = timedelta(seconds=30)
LOCK_CAP = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)
# Checked when the email is unknown, so a wrong email costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("townline-not-a-password", method="scrypt")


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


def hash_password(password: str) -> str:
    """scrypt, werkzeug's memory-hard default, with a random salt per password."""
    return generate_password_hash(password, method="scrypt")


def role_allows(role: str, needed: str) -> bool:
    """Whether a role includes another (admin > staff > viewer)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def create_staff(rt: Runtime, email: str, password: str, role: str, actor: str) -> StaffUser:
    """Add an account, audited; refuses bad roles, short passwords and duplicate emails."""
    email = email.strip().lower()
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email or len(email) > MAX_EMAIL or has_unstorable(email):
        raise AccountError("give a valid email address")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    with transaction(rt.db) as session:
        if store.find_by_email(session, email) is not None:
            raise AccountError(f"an account for {email} already exists")
        user = store.create(session, email=email, password_hash=hash_password(password), role=role)
        audit.record(
            session,
            actor=actor,
            action="staff.create",
            at=rt.now(),
            target="staff",
            target_id=user.id,
            detail={"email": email, "role": role},
        )
        return user


@dataclass(frozen=True)
class LoginResult:
    """The account that logged in, or how long to wait before trying again."""

    user: StaffUser | None
    retry_after: int = 0  # seconds; > 0 means the attempt was refused unchecked


def _keys(email: str, ip: str) -> list[str]:
    """Throttle keys: the account (hashed: no email in the throttle table) and the address."""
    digest = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()[:40]
    return [f"account:{digest}", f"ip:{ip[:64]}"]


def _lock_for(failures: int, free: int) -> timedelta | None:
    """No lock for the first `free` failures, then 30 s, 1 min, 2 min … up to 15 min."""
    if failures < free:
        return None
    return min(LOCK_CAP, LOCK_BASE * 2 ** (failures - free))


def login(rt: Runtime, email: str, password: str, ip: str) -> LoginResult:
    """Check a password unless the account or the IP is locked; count failures in the database."""
    now = rt.now()
    account_key, ip_key = _keys(email, ip)
    usable = len(email) <= MAX_EMAIL and not has_unstorable(email) and not has_unstorable(password)
    if not usable:
        email = ""  # no account has it: checked like a wrong password, failure counted
    with transaction(rt.db) as session:
        locked = [
            row.locked_until
            for row in store.throttle_rows(session, [account_key, ip_key])
            if row.locked_until is not None and _aware(row.locked_until) > now
        ]
        if locked:
            return LoginResult(None, max(1, int((max(map(_aware, locked)) - now).total_seconds())))
        user = store.find_by_email(session, email)
        ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
        if user is not None and ok and user.active:
            store.clear(session, account_key)
            store.update_user(session, user.id, last_login_at=now)  # type: ignore[arg-type]
            audit.record(
                session,
                actor=user.email,
                action="staff.login",
                at=now,
                target="staff",
                target_id=user.id,
            )
            return LoginResult(user)
        for key, free in ((account_key, ACCOUNT_FREE_FAILURES), (ip_key, IP_FREE_FAILURES)):
            failures = store.count_failure(session, key, now, now - FORGET_AFTER)
            if (lock := _lock_for(failures, free)) is not None:
                store.lock(session, key, now + lock)
    return LoginResult(None)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; make them comparable with the aware clock."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
