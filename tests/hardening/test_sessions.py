"""Staff sessions end when they should, headers protect the pages, redirects stay on site.

Stories: Sam logs out at the library computer and the session on the phone ends too; a copied
cookie is useless after logout; a password change keeps this browser and ends the others; an
idle or day-old login must log in again; a proxy's X-Forwarded-For counts only when trusted.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.app import create_app
from bot.runtime import Runtime
from bot.services import accounts
from tests.conftest import Clock
from tests.dashboard import PASSWORD, csrf_token, log_in, post_form, raise_concern, staff_account

NEW_PASSWORD = "a-brand-new-passphrase-42"


def _in(client: FlaskClient) -> bool:
    """Whether the client's session still reaches the inbox (not bounced to the login page)."""
    return client.get("/staff").status_code == 200


def _second_browser(app: Flask, email: str) -> FlaskClient:
    other = app.test_client()
    assert log_in(other, email) == 302
    return other


def test_logout_ends_every_session_of_the_account(
    rt: Runtime, app: Flask, client: FlaskClient
) -> None:
    staff_account(rt, "sam@city.gov", "staff")
    assert log_in(client, "sam@city.gov") == 302
    phone = _second_browser(app, "sam@city.gov")
    assert _in(client)
    assert _in(phone)
    post_form(client, "/staff/logout", {})
    assert not _in(client)
    assert not _in(phone)  # the phone's cookie is still signed, but its version is old


def test_a_copied_cookie_is_useless_after_logout(
    rt: Runtime, app: Flask, client: FlaskClient
) -> None:
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    stolen = client.get_cookie("session")
    assert stolen is not None
    post_form(client, "/staff/logout", {})
    thief = app.test_client()
    thief.set_cookie("session", stolen.value)
    response = thief.get("/staff")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_a_password_change_keeps_this_browser_and_ends_the_others(
    rt: Runtime, app: Flask, client: FlaskClient
) -> None:
    staff_account(rt, "sam@city.gov", "viewer")
    log_in(client, "sam@city.gov")
    phone = _second_browser(app, "sam@city.gov")
    wrong = post_form(
        client,
        "/staff/password",
        {
            "current_password": "not-it-at-all",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 400  # type: ignore[attr-defined]
    assert "current password is not right" in wrong.get_data(as_text=True)  # type: ignore[attr-defined]
    changed = post_form(
        client,
        "/staff/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302  # type: ignore[attr-defined]
    assert _in(client)
    assert not _in(phone)
    assert log_in(app.test_client(), "sam@city.gov", PASSWORD) == 401
    assert log_in(app.test_client(), "sam@city.gov", NEW_PASSWORD) == 302


def test_deactivation_ends_sessions_at_once(rt: Runtime, client: FlaskClient) -> None:
    staff_account(rt, "ana@city.gov", "admin")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    assert _in(client)
    accounts.set_active(rt, "sam@city.gov", False, actor="ana@city.gov")
    assert not _in(client)
    accounts.set_active(rt, "sam@city.gov", True, actor="ana@city.gov")
    assert not _in(client)  # reactivated, but the old session stays ended
    assert log_in(client, "sam@city.gov") == 302


def test_an_idle_login_ends_and_an_active_one_ends_after_a_working_day(
    rt: Runtime, client: FlaskClient, clock: Clock
) -> None:
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    clock.advance(minutes=rt.settings.staff_idle_minutes - 1)
    assert _in(client)  # a long read of the inbox is not idleness
    clock.advance(minutes=rt.settings.staff_idle_minutes + 1)
    assert not _in(client)

    log_in(client, "sam@city.gov")
    for _ in range(rt.settings.staff_session_hours - 1):
        clock.advance(hours=1)
        assert _in(client)  # busy all day, never idle
    clock.advance(hours=1)
    assert not _in(client)  # but twelve hours after login, log in again


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    for path in ("/", "/staff/login", "/simulator", "/you-said-we-did"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path
        assert "Strict-Transport-Security" not in headers, path  # plain http on a laptop


def test_hsts_when_the_public_url_is_https_behind_a_trusted_proxy(rt: Runtime) -> None:
    settings = rt.settings.with_overrides(public_url="https://line.city.gov", trusted_proxies=1)
    app = create_app({"TESTING": True}, runtime=Runtime(**{**rt.__dict__, "settings": settings}))
    client = app.test_client()
    behind_proxy = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in behind_proxy.headers["Strict-Transport-Security"]
    login = client.get("/staff/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in login.headers.get("Set-Cookie", "")


def test_the_client_address_comes_from_the_proxy_only_when_trusted(rt: Runtime) -> None:
    """Behind one trusted proxy, each person's address is theirs: one office's typos lock out
    only that office, and a client cannot pick its own address by sending the header twice."""
    staff_account(rt, "sam@city.gov", "staff")
    settings = rt.settings.with_overrides(trusted_proxies=1)
    app = create_app({"TESTING": True}, runtime=Runtime(**{**rt.__dict__, "settings": settings}))
    seen: list[str] = []

    @app.get("/_whoami")
    def whoami() -> str:
        from flask import request

        seen.append(request.remote_addr or "")
        return "ok"

    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.2"  # the proxy
    client.get("/_whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    client.get("/_whoami", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
    assert seen == ["203.0.113.9", "198.51.100.7"]  # the forged first hop is ignored


def test_a_proxy_header_is_ignored_without_the_setting(app: Flask) -> None:
    seen: list[str] = []

    @app.get("/_whoami")
    def whoami() -> str:
        from flask import request

        seen.append(request.remote_addr or "")
        return "ok"

    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    client.get("/_whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen == ["192.0.2.44"]


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "http:/evil.example",
        "javascript:alert(1)",
        "/staff\r\nLocation: https://evil.example/",
    ],
)
def test_bulk_review_redirects_only_to_this_site(
    rt: Runtime, client: FlaskClient, back: str
) -> None:
    response = raise_concern(rt, "sim-a", "en", "Cars race on Elm Street", "Elm St")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    result = client.post(
        "/staff/responses/bulk",
        data={
            "op": "review",
            "ids": [str(response.id)],
            "back": back,
            "csrf_token": csrf_token(client, "/staff"),
        },
    )
    assert result.status_code == 302
    location = result.headers["Location"]
    assert location == "/staff" or location.startswith("/staff?") or location == "/staff/", location
    assert "evil" not in location


def test_a_same_site_back_link_is_kept(rt: Runtime, client: FlaskClient) -> None:
    response = raise_concern(rt, "sim-a", "en", "Cars race on Elm Street", "Elm St")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    result = client.post(
        "/staff/responses/bulk",
        data={
            "op": "review",
            "ids": [str(response.id)],
            "back": "/staff?topic=safety",
            "csrf_token": csrf_token(client, "/staff"),
        },
    )
    assert result.headers["Location"] == "/staff?topic=safety"


def test_idle_and_absolute_lifetimes_are_settings(rt: Runtime) -> None:
    from bot.config import ConfigError, load_settings

    settings = load_settings(
        {"TOWNLINE_STAFF_IDLE_MINUTES": "30", "TOWNLINE_STAFF_SESSION_HOURS": "8"},
        instance=rt.settings.instance,
    )
    assert (settings.staff_idle_minutes, settings.staff_session_hours) == (30, 8)
    with pytest.raises(ConfigError, match="TOWNLINE_STAFF_IDLE_MINUTES"):
        load_settings({"TOWNLINE_STAFF_IDLE_MINUTES": "0"}, instance=rt.settings.instance)
    with pytest.raises(ConfigError, match="TOWNLINE_TRUSTED_PROXIES"):
        load_settings({"TOWNLINE_TRUSTED_PROXIES": "many"}, instance=rt.settings.instance)
    assert timedelta(
        minutes=load_settings({}, instance=rt.settings.instance).staff_idle_minutes
    ) == timedelta(hours=2)
