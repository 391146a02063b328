"""Stories: a partner organisation logs in and sees its residents counted, never who they are;
it downloads a summary for its members; the public page names it only with its consent."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlmodel import select

from bot.cli import main
from bot.runtime import Runtime
from bot.services import accounts, tokens
from bot.services.accounts import AccountError, create_staff
from bot.services.masking import mask_address
from bot.simulate import Simulator
from storage import partners
from storage.db import transaction
from storage.models import Partner, Response, StaffUser
from tests.dashboard import PASSWORD, csrf_token, log_in, post_form, raise_concern, staff_account

EN = "We added patrols and a speed camera on Elm Street."
ES = "Pusimos patrullas y un radar de velocidad en la calle Elm."
GRACE_WORDS = [f"Cars race past number {n} every night" for n in range(5)]
GRACE_SPANISH = "Los carros corren frente a la escuela"
VOZ_WORDS = "The landlord's tenants are scared of the speeding"


def _partner(rt: Runtime, name: str, code: str, consent: bool) -> Partner:
    with transaction(rt.db) as session:
        return partners.add(
            session, name=name, code=code, keywords={"en": code.upper()}, public_consent=consent
        )


def _through(rt: Runtime, partner: Partner, address: str, language: str, words: str) -> Response:
    """A resident texts the partner's keyword from its flyer, then raises a concern."""
    [greeting] = Simulator(rt, address, language=language).say(partner.keywords["en"])
    assert partner.name in greeting
    response = raise_concern(rt, address, language, words, "Elm St")
    assert response.partner_id == partner.id
    return response


def _seed(rt: Runtime, client: FlaskClient) -> tuple[Partner, Partner, list[Response]]:
    """Grace Church (six residents, named in public) and Voz (one, not named); staff group
    everything under one concern and publish what they did about it."""
    grace = _partner(rt, "Grace Church", "grace", consent=True)
    voz = _partner(rt, "Voz Tenants Union", "voz", consent=False)
    said = [_through(rt, grace, f"sim-grace-{n}", "en", w) for n, w in enumerate(GRACE_WORDS)]
    said.append(_through(rt, grace, "sim-grace-es", "es", GRACE_SPANISH))
    said.append(_through(rt, voz, "sim-voz-1", "en", VOZ_WORDS))
    said.append(raise_concern(rt, "sim-alone", "en", "Nobody sent me, speeding again", "Elm"))
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    grouped = post_form(
        client,
        "/staff/responses/bulk",
        {"op": "group", "concern_title": "Speeding on Elm", "ids": [r.id for r in said]},
    )
    concern_id = grouped.headers["Location"].rsplit("/", 1)[-1]  # type: ignore[attr-defined]
    draft = str(
        post_form(client, "/staff/actions/new", {"concern_id": concern_id}).headers["Location"]  # type: ignore[attr-defined]
    )
    post_form(
        client, draft + "/edit", {"title": "Patrols on Elm", "message_en": EN, "message_es": ES}
    )
    post_form(client, draft + "/publish", {})
    assert "Published" in client.get(draft).get_data(as_text=True)
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff")})
    return grace, voz, said


def _partner_login(rt: Runtime, email: str, partner: Partner) -> str:
    create_staff(rt, email, PASSWORD, "partner", actor="test", partner_id=partner.id)
    return email


def _private_bits() -> list[str]:
    """Everything that could identify a resident: addresses, masked addresses, their words."""
    addresses = [f"sim-grace-{n}" for n in range(5)] + ["sim-grace-es", "sim-voz-1", "sim-alone"]
    return [
        *addresses,
        *(mask_address("simulator", a) for a in addresses),
        *GRACE_WORDS,
        GRACE_SPANISH,
        VOZ_WORDS,
        "Nobody sent me",
    ]


def test_a_partner_logs_in_and_sees_its_residents_counted_but_never_who_they_are(
    rt: Runtime, client: FlaskClient
) -> None:
    grace, _, _ = _seed(rt, client)
    _partner_login(rt, "pastor@grace.org", grace)
    login = client.post(
        "/staff/login",
        data={"email": "pastor@grace.org", "password": PASSWORD, "next": "/staff/charts"},
    )
    assert login.headers["Location"] == "/partner"  # not the staff page it asked for
    page = client.get("/partner").get_data(as_text=True)
    assert "Residents who came through Grace Church" in page
    assert "<strong>6</strong> residents" in page  # five in English, one in Spanish
    assert "A safety concern</td><td>6</td>" in page
    # One Spanish speaker would stand out; hiding only that cell would give it away from the
    # total, so the English cell is hidden with it.
    assert "Español</td><td>hidden (small group)</td>" in page
    assert "English</td><td>hidden (small group)</td>" in page
    assert "Nov 23</td><td>6</td>" in page  # the agency-local week of Monday 23 November
    assert "Nov 16</td><td>0</td>" in page  # nobody that week: a zero names no one
    assert "Speeding on Elm" in page
    assert EN in page
    for private in [*_private_bits(), "Voz Tenants Union", "sam@city.gov"]:
        assert private not in page
    assert "Inbox" not in page  # a partner's menu holds its own links only
    assert "<svg" in page


def test_staff_preview_a_small_partner_and_its_counts_stay_hidden(
    rt: Runtime, client: FlaskClient
) -> None:
    _, voz, _ = _seed(rt, client)
    staff_account(rt, "val@city.gov", "viewer")
    log_in(client, "val@city.gov")
    assert client.get(f"/staff/partners/{voz.id}/view").status_code == 403  # staff and up
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff")})
    log_in(client, "sam@city.gov")
    page = client.get(f"/staff/partners/{voz.id}/view").get_data(as_text=True)
    assert "Staff preview" in page
    assert "<strong>hidden (small group)</strong> residents" in page
    assert "<strong>hidden (small group)</strong> responses" in page
    assert "Speeding on Elm" not in page  # one of its residents: the title would tell
    for private in _private_bits():
        assert private not in page
    assert client.get("/staff/partners/999/view").status_code == 404


def test_a_partner_login_is_refused_every_staff_page_and_the_api(
    rt: Runtime, client: FlaskClient
) -> None:
    grace = _partner(rt, "Grace Church", "grace", consent=True)
    _partner_login(rt, "pastor@grace.org", grace)
    assert log_in(client, "pastor@grace.org") == 302
    for path in (
        "/staff",
        "/staff/charts",
        "/staff/export.csv",
        "/staff/concerns",
        "/staff/admin/accounts",
        f"/staff/partners/{grace.id}/view",
    ):
        assert client.get(path).status_code == 403, path
    assert client.get("/api/v1/responses").status_code == 401  # the login is no API token
    assert client.get("/partner").status_code == 200
    assert client.get("/staff/password").status_code == 200  # its own password, though
    assert not any(accounts.role_allows("partner", role) for role in accounts.ROLES)
    with pytest.raises(tokens.TokenError):
        tokens.create_token(rt, "grace-script", "partner", actor="test")
    staff_account(rt, "sam@city.gov", "staff")
    other = client.application.test_client()
    log_in(other, "sam@city.gov")
    assert other.get("/partner").status_code == 403  # staff preview on their own path
    with transaction(rt.db) as session:
        partners.archive(session, grace.id or 0, rt.now())
    assert client.get("/partner").status_code == 403  # the partnership ended: so did its view


def test_a_partner_account_must_name_a_current_partner(
    rt: Runtime, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    grace = _partner(rt, "Grace Church", "grace", consent=True)
    old = _partner(rt, "Old League", "old", consent=False)
    with transaction(rt.db) as session:
        partners.archive(session, old.id or 0, rt.now())
    with pytest.raises(AccountError, match="must name its partner"):
        create_staff(rt, "pastor@grace.org", PASSWORD, "partner", actor="test")
    with pytest.raises(AccountError, match="archived"):
        create_staff(rt, "coach@old.org", PASSWORD, "partner", actor="test", partner_id=old.id)
    with pytest.raises(AccountError, match="only a partner account"):
        create_staff(rt, "sam@city.gov", PASSWORD, "staff", actor="test", partner_id=grace.id)

    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("TOWNLINE_STAFF_PASSWORD", PASSWORD)
    cli = ["staff", "create", "--email", "pastor@grace.org", "--role", "partner"]
    refused = CliRunner().invoke(main, cli)
    assert refused.exit_code != 0
    assert "must name its partner" in refused.output
    assert CliRunner().invoke(main, [*cli, "--partner", "nope"]).exit_code != 0
    made = CliRunner().invoke(main, [*cli, "--partner", "grace"])
    assert made.exit_code == 0, made.output

    staff_account(rt, "ada@city.gov", "admin")
    log_in(client, "ada@city.gov")
    form = {"op": "create", "email": "deacon@grace.org", "password": PASSWORD, "role": "partner"}
    post_form(client, "/staff/admin/accounts", form)
    assert "A partner account must name its partner." in client.get(
        "/staff/admin/accounts"
    ).get_data(as_text=True)
    post_form(client, "/staff/admin/accounts", {**form, "partner_id": grace.id})
    post_form(
        client,
        "/staff/admin/accounts",
        {"op": "set-role", "email": "pastor@grace.org", "role": "viewer", "partner_id": grace.id},
    )
    with transaction(rt.db) as session:
        users = {u.email: u for u in session.exec(select(StaffUser))}
    assert (users["deacon@grace.org"].role, users["deacon@grace.org"].partner_id) == (
        "partner",
        grace.id,
    )
    assert (users["pastor@grace.org"].role, users["pastor@grace.org"].partner_id) == (
        "viewer",
        None,
    )
    page = client.get("/staff/admin/accounts").get_data(as_text=True)
    assert "Grace Church" in page


def test_a_partner_downloads_a_one_page_summary_for_its_members(
    rt: Runtime, client: FlaskClient
) -> None:
    grace, _, _ = _seed(rt, client)
    _partner_login(rt, "pastor@grace.org", grace)
    log_in(client, "pastor@grace.org")
    download = client.get("/partner/summary")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="grace-summary.html"'
    page = download.get_data(as_text=True)
    assert "November 24, 2026" in page  # dated
    assert "<strong>6</strong> residents" in page
    assert "Español</td><td>hidden (small group)</td>" in page
    assert "Speeding on Elm" in page
    assert EN in page
    assert "<style>" in page
    for external in ("<link", "<script", 'src="http', 'href="http', "url("):
        assert external not in page
    for private in _private_bits():
        assert private not in page


def test_the_public_page_names_a_partner_only_with_its_consent(
    rt: Runtime, client: FlaskClient
) -> None:
    grace, _, _ = _seed(rt, client)
    stranger = client.application.test_client()
    page = stranger.get("/you-said-we-did").get_data(as_text=True)
    assert "Raised by 8 residents" in page
    assert "Heard with the help of: Grace Church" in page
    assert "Voz Tenants Union" not in page
    spanish = stranger.get("/you-said-we-did?lang=es").get_data(as_text=True)
    assert "Escuchado con la ayuda de: Grace Church" in spanish
    with transaction(rt.db) as session:
        partners.update_partner(session, grace.id or 0, public_consent=False)
    page = stranger.get("/you-said-we-did").get_data(as_text=True)
    assert "Heard with the help of" not in page
    assert "Grace Church" not in page
