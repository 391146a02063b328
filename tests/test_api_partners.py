"""Stories: a records system reads the partner organisations and "who is heard" with a token."""

from __future__ import annotations

from flask.testing import FlaskClient

from bot.runtime import Runtime
from storage import conversations, partners
from storage.db import transaction
from tests.dashboard import api_token

PARTNER_FIELDS = {
    "id",
    "name",
    "code",
    "languages",
    "neighbourhoods",
    "keywords",
    "public_consent",
    "created_at",
    "residents",
}


def add_partner(rt: Runtime, name: str, code: str, **values: object) -> int:
    with transaction(rt.db) as session:
        row = partners.add(session, name=name, code=code, created_at=rt.now(), **values)
    assert row.id is not None
    return row.id


def came_through(rt: Runtime, partner_id: int, *addresses: str) -> None:
    """Residents who texted the partner's keyword (the engine remembers it on the contact)."""
    with transaction(rt.db) as session:
        for address in addresses:
            contact = conversations.get_or_create_contact(session, "sms", address, rt.now())
            assert contact.id is not None
            partners.arrived_through(session, contact.id, partner_id)


def test_both_need_a_token(rt: Runtime, client: FlaskClient) -> None:
    for path in ("/api/v1/partners", "/api/v1/representation"):
        missing = client.get(path)
        assert missing.status_code == 401, path
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="townline"'
        wrong = client.get(path, headers={"Authorization": "Bearer tl_nope"})
        assert wrong.status_code == 401, path
        assert client.get(path, headers=api_token(rt, "viewer")).status_code == 200


def test_partners_with_how_many_residents_came_through_each(
    rt: Runtime, client: FlaskClient
) -> None:
    grace = add_partner(
        rt,
        "Grace Church",
        "grace",
        languages=["en", "es"],
        neighbourhoods=["Riverside"],
        keywords={"en": "GRACE", "es": "GRACIA"},
        public_consent=True,
    )
    voz = add_partner(rt, "Voz Vecinal", "voz", keywords={"es": "VOZ"})
    gone = add_partner(rt, "Old Youth League", "league")
    came_through(rt, grace, *(f"+1555020{n:04d}" for n in range(6)))
    came_through(rt, voz, "+15550300001", "+15550300002")  # two: too few to show
    with transaction(rt.db) as session:
        partners.archive(session, gone, rt.now())

    answer = client.get("/api/v1/partners", headers=api_token(rt, "viewer"))
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert [i["name"] for i in items] == ["Grace Church", "Voz Vecinal"]  # archived: left out
    first, second = items
    assert set(first) == PARTNER_FIELDS
    assert {k: first[k] for k in PARTNER_FIELDS - {"created_at"}} == {
        "id": grace,
        "name": "Grace Church",
        "code": "grace",
        "languages": ["en", "es"],
        "neighbourhoods": ["Riverside"],
        "keywords": {"en": "GRACE", "es": "GRACIA"},
        "public_consent": True,
        "residents": 6,
    }
    assert first["created_at"].startswith("2026-11-24T15:00:00")
    assert (second["residents"], second["public_consent"]) == (None, False)
    assert "contact" not in first  # the person at the partner is for staff, not for scripts


def test_bad_parameters_are_refused_with_what_to_fix(rt: Runtime, client: FlaskClient) -> None:
    viewer = api_token(rt, "viewer")
    grace = add_partner(rt, "Grace Church", "grace")
    for query, error in (
        ("dimension=religion", "dimension must be one of neighbourhood, language, age_band"),
        ("days=0", "days must be one of 30, 90, 365, 730, 3650"),
        ("days=366", "days must be one of 30, 90, 365, 730, 3650"),  # no day-by-day slicing
        ("days=-5", "days must be one of 30, 90, 365, 730, 3650"),
        ("partner=abc", "partner must be a whole number"),
        ("partner=99999999999", "partner must be a whole number"),
        ("partner=4242", "no partner 4242"),
        ("prompt=7", "no listening prompt 7"),
    ):
        answer = client.get(f"/api/v1/representation?{query}", headers=viewer)
        assert answer.status_code == 400, query
        assert answer.get_json()["error"].startswith(error), query
    ok = client.get(f"/api/v1/representation?dimension=age_band&partner={grace}", headers=viewer)
    body = ok.get_json()
    assert (body["partner"], [t["dimension"] for t in body["dimensions"]]) == (grace, ["age_band"])
    assert body["dimensions"][0]["groups"] == []
