"""Staff accounts: roles, password hashing, and logins slowed down after repeated failures."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.guard import has_unstorable
from bot.runtime import Runtime
from storage import audit, partners
from storage import staff as store
from storage.db import transaction
from storage.models import StaffUser

MAX_EMAIL = 254
ROLES = ("viewer", "staff", "admin")  # each may do what the ones before it may
# Outside that ladder: a partner organisation's login sees its own aggregates and nothing else,
# so no staff page or API ever admits it.
PARTNER = "partner"
ACCOUNT_ROLES = (*ROLES, PARTNER)
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
    """Whether a role includes another (admin > staff > viewer); partner includes none."""
    return role in ROLES and needed in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _check_role(role: str) -> None:
    if role not in ACCOUNT_ROLES:
        raise AccountError(f"role must be one of {', '.join(ACCOUNT_ROLES)}")


def _partner_for(session: Session, role: str, partner_id: int | None) -> int | None:
    """The partner a partner account belongs to (required, current); None for other roles."""
    if role != PARTNER:
        if partner_id is not None:
            raise AccountError("only a partner account names a partner")
        return None
    if partner_id is None:
        raise AccountError("a partner account must name its partner")
    partner = partners.get(session, partner_id)
    if partner is None or partner.archived_at is not None:
        raise AccountError("that partner does not exist or is archived")
    return partner_id


def partner_id_for(rt: Runtime, code: str) -> int:
    """The id of the partner a code names (the CLI takes codes, the database keeps ids)."""
    with transaction(rt.db) as session:
        partner = partners.by_code(session, code.strip().lower())
    if partner is None or partner.id is None:
        raise AccountError(f"there is no partner with the code {code}")
    return partner.id


def create_staff(
    rt: Runtime,
    email: str,
    password: str,
    role: str,
    actor: str,
    partner_id: int | None = None,
) -> StaffUser:
    """Add an account, audited; refuses bad roles, short passwords, duplicate emails and a
    partner account that names no partner."""
    email = email.strip().lower()
    _check_role(role)
    if "@" not in email or len(email) > MAX_EMAIL or has_unstorable(email):
        raise AccountError("give a valid email address")
    _check_password(password)
    with transaction(rt.db) as session:
        partner_id = _partner_for(session, role, partner_id)
        if store.find_by_email(session, email) is not None:
            raise AccountError(f"an account for {email} already exists")
        user = store.create(session, email=email, password_hash=hash_password(password), role=role)
        detail: dict[str, Any] = {"email": email, "role": role}
        if partner_id is not None:
            store.update_user(session, user.id, partner_id=partner_id)  # type: ignore[arg-type]
            detail["partner_id"] = partner_id
            session.refresh(user)
        audit.record(
            session,
            actor=actor,
            action="staff.create",
            at=rt.now(),
            target="staff",
            target_id=user.id,
            detail=detail,
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


def list_staff(rt: Runtime) -> list[StaffUser]:
    """Every account, by email."""
    with transaction(rt.db) as session:
        return store.list_users(session)


def _account(session: Session, email: str) -> StaffUser:
    user = store.find_by_email(session, email)
    if user is None or user.id is None:
        raise AccountError(f"there is no account for {email.strip().lower()}")
    return user


def _keeps_an_admin(session: Session, user: StaffUser, role: str, active: bool) -> None:
    """Refuse a change that would leave nobody able to manage accounts."""
    losing = user.role == "admin" and user.active and (role != "admin" or not active)
    if losing and store.count_active_admins(session) <= 1:
        raise AccountError(f"{user.email} is the last active admin; make another admin first")


def _audit(
    session: Session, rt: Runtime, actor: str, action: str, user: StaffUser, **detail: Any
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        at=rt.now(),
        target="staff",
        target_id=user.id,
        detail={"email": user.email, **detail},
    )


def set_role(
    rt: Runtime, email: str, role: str, actor: str, partner_id: int | None = None
) -> StaffUser:
    """Change what an account may do; its open sessions pick the new role up at once.

    A partner account keeps its partner unless given another; any other role drops it.
    """
    _check_role(role)
    with transaction(rt.db) as session:
        user = _account(session, email)
        if role == PARTNER and partner_id is None:
            partner_id = user.partner_id
        partner_id = _partner_for(session, role, partner_id)
        _keeps_an_admin(session, user, role, user.active)
        store.update_user(session, user.id, role=role, partner_id=partner_id)  # type: ignore[arg-type]
        extra = {"partner_id": partner_id} if partner_id is not None else {}
        _audit(session, rt, actor, "staff.set_role", user, old=user.role, new=role, **extra)
        session.refresh(user)
        return user


def set_active(rt: Runtime, email: str, active: bool, actor: str) -> StaffUser:
    """Deactivate (ending every session at once) or reactivate an account."""
    with transaction(rt.db) as session:
        user = _account(session, email)
        _keeps_an_admin(session, user, user.role, active)
        store.update_user(session, user.id, active=active)  # type: ignore[arg-type]
        if not active:
            store.end_sessions(session, user.id)  # type: ignore[arg-type]
        _audit(session, rt, actor, "staff.activate" if active else "staff.deactivate", user)
        session.refresh(user)
        return user


def reset_password(rt: Runtime, email: str, password: str, actor: str) -> StaffUser:
    """An admin sets a new password (the person forgot theirs); every session ends."""
    _check_password(password)
    with transaction(rt.db) as session:
        user = _account(session, email)
        store.update_user(session, user.id, password_hash=hash_password(password))  # type: ignore[arg-type]
        store.end_sessions(session, user.id)  # type: ignore[arg-type]
        _audit(session, rt, actor, "staff.reset_password", user)
        session.refresh(user)
        return user


def change_password(rt: Runtime, staff_id: int, current: str, new: str) -> StaffUser:
    """A person changes their own password; sessions elsewhere end (the caller renews its own)."""
    _check_password(new)
    with transaction(rt.db) as session:
        user = store.get(session, staff_id)
        if user is None or not user.active:
            raise AccountError("this account can no longer log in")
        if not check_password_hash(user.password_hash, current):
            raise AccountError("the current password is not right")
        store.update_user(session, staff_id, password_hash=hash_password(new))
        store.end_sessions(session, staff_id)
        _audit(session, rt, user.email, "staff.change_password", user)
        session.refresh(user)
        return user


def end_sessions(rt: Runtime, staff_id: int) -> None:
    """Log out everywhere: every cookie issued to this account stops working."""
    with transaction(rt.db) as session:
        store.end_sessions(session, staff_id)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if has_unstorable(password) or len(password) > 1024:
        raise AccountError("the password has characters that cannot be used")


def partner_is_active(rt: Runtime, partner_id: int) -> bool:
    """Whether a partner login's organisation is still a partner (archiving ends its view)."""
    with transaction(rt.db) as session:
        partner = partners.get(session, partner_id)
        return partner is not None and partner.archived_at is None
