"""Stories: staff accounts, logins slowed after failures, roles, CSRF and the audit log."""

from __future__ import annotations

import hashlib

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.cli import main
from bot.runtime import Runtime
from bot.services.accounts import IP_FREE_FAILURES
from storage.db import transaction
from storage.models import ApiToken, AuditEntry, StaffUser
from tests.conftest import Clock
from tests.dashboard import PASSWORD, csrf_token, log_in, post_form, raise_concern, staff_account


def _audit(rt: Runtime) -> list[AuditEntry]:
    with transaction(rt.db) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))  # type: ignore[arg-type]


def test_cli_creates_a_staff_account_with_a_hashed_password(rt: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("TOWNLINE_STAFF_PASSWORD", PASSWORD)
    result = CliRunner().invoke(
        main, ["staff", "create", "--email", "Ana@City.gov", "--role", "admin"]
    )
    assert result.exit_code == 0, result.output
    assert "created admin account ana@city.gov" in result.output
    with transaction(rt.db) as session:
        user = session.exec(select(StaffUser)).one()
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash
    assert [(e.actor, e.action) for e in _audit(rt)] == [("cli", "staff.create")]


def test_cli_refuses_a_short_password_and_an_unknown_role(rt: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("TOWNLINE_STAFF_PASSWORD", "short")
    result = CliRunner().invoke(main, ["staff", "create", "--email", "a@b.c", "--role", "staff"])
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    result = CliRunner().invoke(main, ["staff", "create", "--email", "a@b.c", "--role", "boss"])
    assert result.exit_code != 0


def test_cli_token_is_shown_once_and_stored_hashed(rt: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    result = CliRunner().invoke(main, ["token", "create", "--name", "records", "--role", "staff"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("tl_")
    assert len(secret) > 40
    with transaction(rt.db) as session:
        row = session.exec(select(ApiToken)).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (row.name, row.role) == ("records", "staff")


def test_staff_log_in_and_strangers_are_sent_to_the_login_page(
    rt: Runtime, client: FlaskClient
) -> None:
    staff_account(rt, "ana@city.gov", "staff")
    page = client.get("/staff")
    assert page.status_code == 302
    assert "/staff/login" in page.headers["Location"]
    assert log_in(client, "ana@city.gov", "wrong password!!") == 401
    assert log_in(client, "nobody@city.gov") == 401
    assert log_in(client, "ANA@city.gov") == 302
    assert client.get("/staff").status_code == 200


def test_session_cookie_is_http_only_and_secure_behind_https(rt: Runtime) -> None:
    staff_account(rt, "ana@city.gov", "staff")
    rt.settings = rt.settings.with_overrides(public_url="https://townline.example.org")
    client = create_app({"TESTING": True}, runtime=rt).test_client()
    token = csrf_token(client)
    response = client.post(
        "/staff/login", data={"email": "ana@city.gov", "password": PASSWORD, "csrf_token": token}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie


def test_repeated_failed_logins_are_slowed_per_account(
    rt: Runtime, client: FlaskClient, clock: Clock
) -> None:
    staff_account(rt, "ana@city.gov", "staff")
    for _ in range(5):
        assert log_in(client, "ana@city.gov", "guess guess guess") == 401
    token = csrf_token(client)
    locked = client.post(
        "/staff/login", data={"email": "ana@city.gov", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == 30
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    clock.advance(seconds=31)
    assert log_in(client, "ana@city.gov") == 302


def test_repeated_failed_logins_are_slowed_per_ip(rt: Runtime, app: Flask) -> None:
    staff_account(rt, "ana@city.gov", "staff")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for n in range(IP_FREE_FAILURES):  # guesses spread over many accounts
        assert log_in(attacker, f"user{n}@city.gov", "guess guess guess") == 401
    assert log_in(attacker, "ana@city.gov") == 429  # the right password, but from that IP
    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert log_in(colleague, "ana@city.gov") == 302


def test_one_persons_typos_behind_a_shared_address_lock_no_one_else(
    rt: Runtime, app: Flask
) -> None:
    staff_account(rt, "ana@city.gov", "staff")
    staff_account(rt, "bo@city.gov", "staff")
    office = "192.0.2.10"  # a proxy or an office connection every colleague shares
    ana, bo = app.test_client(), app.test_client()
    ana.environ_base["REMOTE_ADDR"] = bo.environ_base["REMOTE_ADDR"] = office
    for _ in range(20):
        log_in(ana, "ana@city.gov", "not my password at all")
    assert log_in(ana, "ana@city.gov") == 429  # her account waits a little
    assert log_in(bo, "bo@city.gov") == 302  # his does not


def test_viewers_read_but_cannot_change_anything(rt: Runtime, client: FlaskClient) -> None:
    said = raise_concern(rt, "sim-1", "en", "Cars race on Elm Street", "Elm St")
    staff_account(rt, "val@city.gov", "viewer")
    log_in(client, "val@city.gov")
    page = client.get("/staff").get_data(as_text=True)
    assert "Cars race on Elm Street" in page
    assert "Mark reviewed" not in page
    for path, data in [
        ("/staff/responses/bulk", {"op": "review", "ids": said.id}),
        (f"/staff/responses/{said.id}/reply", {"text": "hello"}),
        ("/staff/actions/new", {"ids": said.id}),
        (f"/staff/responses/{said.id}/reveal", {}),
    ]:
        assert post_form(client, path, data).status_code == 403, path  # type: ignore[attr-defined]
    assert client.get("/staff/audit").status_code == 403
    assert [e.action for e in _audit(rt)] == ["staff.create", "staff.login"]


def test_forms_without_a_csrf_token_are_refused(rt: Runtime) -> None:
    said = raise_concern(rt, "sim-1", "en", "Cars race on Elm Street", "Elm St")
    staff_account(rt, "ana@city.gov", "staff")
    client = create_app({"TESTING": True, "WTF_CSRF_ENABLED": True}, runtime=rt).test_client()
    no_token = client.post("/staff/login", data={"email": "ana@city.gov", "password": PASSWORD})
    assert no_token.status_code == 400
    assert log_in(client, "ana@city.gov") == 302
    forged = client.post("/staff/responses/bulk", data={"op": "review", "ids": said.id})
    assert forged.status_code == 400
    with transaction(rt.db) as session:
        assert session.get(type(said), said.id).status == "new"  # type: ignore[union-attr]
    assert (
        post_form(client, "/staff/responses/bulk", {"op": "review", "ids": said.id}).status_code
        == 302
    )  # type: ignore[attr-defined]


def test_admins_read_the_audit_log_of_staff_changes(rt: Runtime, client: FlaskClient) -> None:
    said = raise_concern(rt, "sim-1", "en", "Cars race on Elm Street", "Elm St")
    staff_account(rt, "sam@city.gov", "staff")
    staff_account(rt, "ada@city.gov", "admin")
    log_in(client, "sam@city.gov")
    post_form(client, "/staff/responses/bulk", {"op": "tag", "tag": "Speeding", "ids": said.id})
    post_form(client, "/staff/responses/bulk", {"op": "review", "ids": said.id})
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff")})
    log_in(client, "ada@city.gov")
    page = client.get("/staff/audit").get_data(as_text=True)
    for fragment in ("sam@city.gov", "response.tag", "speeding", "response.review", "staff.create"):
        assert fragment in page
