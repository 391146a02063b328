"""SQL for staff accounts and the failed-login throttle (kept in the database for every worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage.db import dialect_insert
from storage.models import LoginThrottle, StaffUser


def find_by_email(session: Session, email: str) -> StaffUser | None:
    """The account for an email address, compared case-insensitively."""
    return session.exec(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()


def get(session: Session, staff_id: int) -> StaffUser | None:
    """One account by id (the id kept in the login session)."""
    return session.get(StaffUser, staff_id)


def create(session: Session, *, email: str, password_hash: str, role: str) -> StaffUser:
    """Add an account; the caller has hashed the password and checked the role."""
    user = StaffUser(email=email.strip().lower(), password_hash=password_hash, role=role)
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, staff_id: int, **values: Any) -> None:
    """Change an account's role, password hash, state or last login."""
    session.exec(  # type: ignore[call-overload]
        update(StaffUser).where(col(StaffUser.id) == staff_id).values(**values)
    )


def end_sessions(session: Session, staff_id: int) -> None:
    """Raise the account's session version: every login cookie issued before is refused."""
    session.exec(  # type: ignore[call-overload]
        update(StaffUser)
        .where(col(StaffUser.id) == staff_id)
        .values(session_version=col(StaffUser.session_version) + 1)
    )


def count_active_admins(session: Session) -> int:
    """How many admins can still log in (the last one may not be demoted or deactivated)."""
    stmt = select(StaffUser).where(StaffUser.role == "admin", col(StaffUser.active).is_(True))
    return len(list(session.exec(stmt)))


def list_users(session: Session) -> list[StaffUser]:
    """Every account, by email."""
    return list(session.exec(select(StaffUser).order_by(col(StaffUser.email))))


def throttle_rows(session: Session, keys: list[str]) -> list[LoginThrottle]:
    """The throttle state of the given keys (account and IP)."""
    return list(session.exec(select(LoginThrottle).where(col(LoginThrottle.key).in_(keys))))


def count_failure(session: Session, key: str, now: datetime, forget_before: datetime) -> int:
    """Add one failure to a key (restarting an old streak) and return the streak's length."""
    session.exec(  # type: ignore[call-overload]
        dialect_insert(session, LoginThrottle)
        .values(key=key, failures=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    session.exec(  # type: ignore[call-overload]
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == key, col(LoginThrottle.updated_at) < forget_before)
        .values(failures=0, locked_until=None)
    )
    result = session.exec(  # type: ignore[call-overload]
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == key)
        .values(failures=col(LoginThrottle.failures) + 1, updated_at=now)
        .returning(LoginThrottle.failures)
    )
    return int(result.scalar_one())


def lock(session: Session, key: str, until: datetime) -> None:
    """Refuse logins on a key until a time."""
    session.exec(  # type: ignore[call-overload]
        update(LoginThrottle).where(col(LoginThrottle.key) == key).values(locked_until=until)
    )


def clear(session: Session, key: str) -> None:
    """Forget a key's failures (after a successful login)."""
    session.exec(delete(LoginThrottle).where(col(LoginThrottle.key) == key))  # type: ignore[call-overload]
