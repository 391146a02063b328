"""`townline staff create` and `townline token create`: accounts and API tokens from a shell."""

from __future__ import annotations

import os

import click

from bot.cli.common import migrated_runtime
from bot.services.accounts import ROLES, AccountError, create_staff
from bot.services.tokens import TOKEN_ROLES, TokenError, create_token

PASSWORD_ENV = "TOWNLINE_STAFF_PASSWORD"
CLI_ACTOR = "cli"


@click.group("staff")
def staff() -> None:
    """Staff accounts for the dashboard."""


@staff.command("create")
@click.option("--email", required=True, help="The person's email; they log in with it.")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What they may do.")
def staff_create(email: str, role: str) -> None:
    """Add an account; the password is prompted for (or read from TOWNLINE_STAFF_PASSWORD)."""
    password = os.environ.get(PASSWORD_ENV) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    rt = migrated_runtime()
    try:
        user = create_staff(rt, email, password, role, actor=CLI_ACTOR)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        rt.db.dispose()  # close pooled connections before the command returns
    click.echo(f"created {user.role} account {user.email}")


@click.group("token")
def token() -> None:
    """Bearer tokens for the JSON API."""


@token.command("create")
@click.option("--name", required=True, help="Who uses it, e.g. records-system.")
@click.option(
    "--role", type=click.Choice(TOKEN_ROLES), required=True, help="viewer reads; staff writes."
)
def token_create(name: str, role: str) -> None:
    """Make a token and print it once; only its hash is kept."""
    rt = migrated_runtime()
    try:
        new = create_token(rt, name, role, actor=CLI_ACTOR)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        rt.db.dispose()
    click.echo(f"token {new.row.name} ({new.row.role}), shown only this once:", err=True)
    click.echo(new.secret)
