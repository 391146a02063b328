"""`townline staff …` and `townline token …`: accounts and API tokens from a shell.

The same operations as the admin pages, through the same services, audited as "cli": an admin
locked out of the dashboard (or setting up the first account) needs them on the server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from bot.cli.common import migrated_runtime
from bot.runtime import Runtime
from bot.services import accounts, tokens
from bot.services.accounts import ACCOUNT_ROLES, PARTNER, AccountError, create_staff
from bot.services.tokens import TOKEN_ROLES, TokenError, create_token

PASSWORD_ENV = "TOWNLINE_STAFF_PASSWORD"
CLI_ACTOR = "cli"


@click.group("staff")
def staff() -> None:
    """Staff accounts for the dashboard."""


@staff.command("create")
@click.option("--email", required=True, help="The person's email; they log in with it.")
@click.option("--role", type=click.Choice(ACCOUNT_ROLES), required=True, help="What they may do.")
@click.option("--partner", "partner_code", help="For role partner: the partner's code.")
def staff_create(email: str, role: str, partner_code: str | None) -> None:
    """Add an account; the password is prompted for (or read from TOWNLINE_STAFF_PASSWORD)."""
    password = os.environ.get(PASSWORD_ENV) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    rt = migrated_runtime()
    try:
        partner_id = accounts.partner_id_for(rt, partner_code) if partner_code else None
        user = create_staff(rt, email, password, role, actor=CLI_ACTOR, partner_id=partner_id)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        rt.db.dispose()  # close pooled connections before the command returns
    click.echo(f"created {user.role} account {user.email}")


@contextmanager
def _runtime() -> Iterator[Runtime]:
    """A migrated runtime whose service errors become a clear message and exit status 1."""
    rt = migrated_runtime()
    try:
        yield rt
    except (AccountError, TokenError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        rt.db.dispose()


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


@staff.command("list")
def staff_list() -> None:
    """Every account: email, role, state and last login."""
    with _runtime() as rt:
        users = accounts.list_staff(rt)
    click.echo(f"{'EMAIL':40} {'ROLE':7} {'STATE':12} LAST LOGIN (UTC)")
    for user in users:
        state = "active" if user.active else "deactivated"
        click.echo(f"{user.email:40} {user.role:7} {state:12} {_when(user.last_login_at)}")


@staff.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ACCOUNT_ROLES))
@click.option("--partner", "partner_code", help="For role partner: the partner's code.")
def staff_set_role(email: str, role: str, partner_code: str | None) -> None:
    """Change what an account may do (the last active admin stays an admin)."""
    with _runtime() as rt:
        partner_id = accounts.partner_id_for(rt, partner_code) if partner_code else None
        if partner_id is not None and role != PARTNER:
            raise AccountError("--partner goes with the role partner only")
        user = accounts.set_role(rt, email, role, actor=CLI_ACTOR, partner_id=partner_id)
    click.echo(f"{user.email} is now {user.role}")


def _set_active(active: bool) -> Callable[[str], None]:
    def run(email: str) -> None:
        with _runtime() as rt:
            user = accounts.set_active(rt, email, active, actor=CLI_ACTOR)
        click.echo(
            f"{user.email} is active again"
            if user.active
            else f"{user.email} is deactivated; every session of it has ended"
        )

    return run


staff.command("deactivate", help="Stop an account logging in; its sessions end at once.")(
    click.argument("email")(_set_active(False))
)
staff.command("activate", help="Let a deactivated account log in again.")(
    click.argument("email")(_set_active(True))
)


@staff.command("reset-password")
@click.argument("email")
def staff_reset_password(email: str) -> None:
    """Set a new password (prompted, or TOWNLINE_STAFF_PASSWORD); every session ends."""
    password = os.environ.get(PASSWORD_ENV) or click.prompt(
        "New password", hide_input=True, confirmation_prompt=True
    )
    with _runtime() as rt:
        user = accounts.reset_password(rt, email, password, actor=CLI_ACTOR)
    click.echo(f"new password set for {user.email}; every session of it has ended")


@click.group("token")
def token() -> None:
    """Bearer tokens for the JSON API."""


@token.command("create")
@click.option("--name", required=True, help="Who uses it, e.g. records-system.")
@click.option(
    "--role", type=click.Choice(TOKEN_ROLES), required=True, help="viewer reads; staff writes."
)
@click.option(
    "--expires-days",
    type=click.IntRange(1, tokens.MAX_LIFETIME_DAYS),
    default=None,
    help="Stop working after this many days (default: until revoked).",
)
def token_create(name: str, role: str, expires_days: int | None) -> None:
    """Make a token and print it once; only its hash is kept."""
    with _runtime() as rt:
        new = create_token(rt, name, role, actor=CLI_ACTOR, expires_in_days=expires_days)
    until = f", expires {_when(new.row.expires_at)} UTC" if new.row.expires_at else ""
    click.echo(f"token {new.row.name} ({new.row.role}{until}), shown only this once:", err=True)
    click.echo(new.secret)


@token.command("list")
def token_list() -> None:
    """Every token: id, name, role, created, last used, expiry and state (never the secret)."""
    with _runtime() as rt:
        rows = tokens.list_tokens(rt)
        now = rt.now()
    click.echo(
        f"{'ID':>4} {'NAME':30} {'ROLE':6} {'CREATED':16} {'LAST USED':16} {'EXPIRES':16} STATE"
    )
    for row in rows:
        click.echo(
            f"{row.id:>4} {row.name[:30]:30} {row.role:6} {_when(row.created_at):16} "
            f"{_when(row.last_used_at):16} {_when(row.expires_at):16} "
            f"{tokens.token_state(row, now)}"
        )


@token.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
def token_revoke(token_id: int) -> None:
    """Revoke a token by the id `townline token list` shows; its next request gets 401."""
    with _runtime() as rt:
        row = tokens.revoke_token(rt, token_id, actor=CLI_ACTOR)
    click.echo(f"token {row.id} ({row.name}) is revoked")
