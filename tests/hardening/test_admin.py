"""Staff and token administration, from the shell and from the admin pages, all audited.

Stories: Ana (admin) promotes Sam, deactivates a departed colleague, resets a forgotten
password; she makes a token for the records system that expires, lists tokens without ever
seeing a secret again, and revokes one: its next request gets 401.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlmodel import select

from bot.cli import main
from bot.runtime import Runtime
from bot.services import accounts, tokens
from storage.db import transaction
from storage.models import AuditEntry, StaffUser
from tests.conftest import Clock
from tests.dashboard import PASSWORD, csrf_token, log_in, post_form, staff_account

NEW_PASSWORD = "a-brand-new-passphrase-42"


def _actions(rt: Runtime) -> list[tuple[str, str]]:
    with transaction(rt.db) as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.id))  # type: ignore[arg-type]
        return [(e.actor, e.action) for e in rows]


def _user(rt: Runtime, email: str) -> StaffUser:
    with transaction(rt.db) as session:
        return session.exec(select(StaffUser).where(StaffUser.email == email)).one()


@pytest.fixture
def cli(rt: Runtime, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env=env)

    return run


def test_staff_commands_list_promote_deactivate_and_reset(
    rt: Runtime, cli, client: FlaskClient
) -> None:  # type: ignore[no-untyped-def]
    staff_account(rt, "ana@city.gov", "admin")
    staff_account(rt, "sam@city.gov", "viewer")
    listed = cli("staff", "list")
    assert listed.exit_code == 0, listed.output
    assert re.search(r"sam@city\.gov\s+viewer\s+active", listed.output)
    assert PASSWORD not in listed.output
    assert "scrypt" not in listed.output

    assert cli("staff", "set-role", "sam@city.gov", "staff").exit_code == 0
    assert _user(rt, "sam@city.gov").role == "staff"

    log_in(client, "sam@city.gov")
    gone = cli("staff", "deactivate", "Sam@City.gov")
    assert gone.exit_code == 0, gone.output
    assert "every session of it has ended" in gone.output
    assert client.get("/staff").status_code == 302  # logged out at once
    assert log_in(client, "sam@city.gov") == 401
    assert cli("staff", "activate", "sam@city.gov").exit_code == 0

    reset = cli(
        "staff", "reset-password", "sam@city.gov", env={"TOWNLINE_STAFF_PASSWORD": NEW_PASSWORD}
    )
    assert reset.exit_code == 0, reset.output
    assert log_in(client, "sam@city.gov", NEW_PASSWORD) == 302
    assert ("cli", "staff.set_role") in _actions(rt)
    assert ("cli", "staff.deactivate") in _actions(rt)
    assert ("cli", "staff.reset_password") in _actions(rt)


def test_the_last_admin_cannot_be_demoted_or_deactivated(rt: Runtime, cli) -> None:  # type: ignore[no-untyped-def]
    staff_account(rt, "ana@city.gov", "admin")
    for args in (
        ("staff", "set-role", "ana@city.gov", "staff"),
        ("staff", "deactivate", "ana@city.gov"),
    ):
        refused = cli(*args)
        assert refused.exit_code == 1
        assert "last active admin" in refused.output
    assert cli("staff", "set-role", "nobody@city.gov", "staff").exit_code == 1
    assert (
        cli(
            "staff", "reset-password", "ana@city.gov", env={"TOWNLINE_STAFF_PASSWORD": "short"}
        ).exit_code
        == 1
    )
    staff_account(rt, "bo@city.gov", "admin")
    assert cli("staff", "set-role", "ana@city.gov", "staff").exit_code == 0  # now there is another


def test_token_commands_expire_list_and_revoke(
    rt: Runtime, cli, client: FlaskClient, clock: Clock
) -> None:  # type: ignore[no-untyped-def]
    made = cli("token", "create", "--name", "records", "--role", "viewer", "--expires-days", "30")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/responses", headers=bearer).status_code == 200

    listed = cli("token", "list")
    assert re.search(r"1\s+records\s+viewer .* active", listed.output)
    assert secret not in listed.output

    clock.now = datetime.now(UTC) + timedelta(days=31)  # the CLI made it on the real clock
    assert client.get("/api/v1/responses", headers=bearer).status_code == 401
    assert [tokens.token_state(row, clock.now) for row in tokens.list_tokens(rt)] == ["expired"]

    forever = tokens.create_token(rt, "dispatch", "staff", "test")
    assert (
        client.get(
            "/api/v1/responses", headers={"Authorization": f"Bearer {forever.secret}"}
        ).status_code
        == 200
    )
    revoked = cli("token", "revoke", str(forever.row.id))
    assert revoked.exit_code == 0, revoked.output
    assert (
        client.get(
            "/api/v1/responses", headers={"Authorization": f"Bearer {forever.secret}"}
        ).status_code
        == 401
    )
    again = cli("token", "revoke", str(forever.row.id))
    assert again.exit_code == 1
    assert "already revoked" in again.output
    assert cli("token", "revoke", "999").exit_code == 1
    assert [a for a in _actions(rt) if a[1].startswith("token.")] == [
        ("cli", "token.create"),
        ("test", "token.create"),
        ("cli", "token.revoke"),
    ]


def test_admin_pages_manage_accounts(rt: Runtime, client: FlaskClient) -> None:
    staff_account(rt, "ana@city.gov", "admin")
    log_in(client, "ana@city.gov")
    page = client.get("/staff/admin/accounts").get_data(as_text=True)
    assert "ana@city.gov" in page
    post_form(
        client,
        "/staff/admin/accounts",
        {"op": "create", "email": "lee@city.gov", "role": "viewer", "password": PASSWORD},
    )
    post_form(
        client,
        "/staff/admin/accounts",
        {"op": "set-role", "email": "lee@city.gov", "role": "staff"},
    )
    assert _user(rt, "lee@city.gov").role == "staff"
    post_form(client, "/staff/admin/accounts", {"op": "deactivate", "email": "lee@city.gov"})
    assert not _user(rt, "lee@city.gov").active
    refused = post_form(
        client, "/staff/admin/accounts", {"op": "deactivate", "email": "ana@city.gov"}
    )
    assert refused.status_code == 302  # type: ignore[attr-defined]
    assert "last active admin" in client.get("/staff/admin/accounts").get_data(as_text=True)
    assert _user(rt, "ana@city.gov").active
    assert ("ana@city.gov", "staff.create") in _actions(rt)
    assert ("ana@city.gov", "staff.deactivate") in _actions(rt)


def test_admin_pages_show_a_new_token_once_and_revoke(rt: Runtime, client: FlaskClient) -> None:
    staff_account(rt, "ana@city.gov", "admin")
    log_in(client, "ana@city.gov")
    made = post_form(
        client,
        "/staff/admin/tokens",
        {"op": "create", "name": "records", "role": "viewer", "days": "7"},
    )
    assert made.status_code == 201  # type: ignore[attr-defined]
    assert made.headers["Cache-Control"] == "no-store"  # type: ignore[attr-defined]
    secret = re.search(r"tl_[A-Za-z0-9_-]{40,}", made.get_data(as_text=True))  # type: ignore[attr-defined]
    assert secret is not None
    listing = client.get("/staff/admin/tokens").get_data(as_text=True)
    assert secret.group(0) not in listing  # shown once, never again
    assert "records" in listing
    bearer = {"Authorization": f"Bearer {secret.group(0)}"}
    assert client.get("/api/v1/responses", headers=bearer).status_code == 200
    [row] = tokens.list_tokens(rt)
    post_form(client, "/staff/admin/tokens", {"op": "revoke", "token_id": str(row.id)})
    assert client.get("/api/v1/responses", headers=bearer).status_code == 401
    bad = post_form(
        client, "/staff/admin/tokens", {"op": "create", "name": "x", "role": "viewer", "days": "²"}
    )
    assert bad.status_code == 302  # type: ignore[attr-defined]
    assert len(tokens.list_tokens(rt)) == 1


@pytest.mark.parametrize("role", ["viewer", "staff"])
def test_only_admins_reach_the_admin_pages(rt: Runtime, client: FlaskClient, role: str) -> None:
    staff_account(rt, "sam@city.gov", role)
    log_in(client, "sam@city.gov")
    for path in ("/staff/admin/accounts", "/staff/admin/tokens"):
        assert client.get(path).status_code == 403
        token = csrf_token(client, "/staff")
        assert client.post(path, data={"op": "create", "csrf_token": token}).status_code == 403
    assert accounts.list_staff(rt)[0].role == role
