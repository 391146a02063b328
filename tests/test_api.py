"""Stories: a records system reads responses and publishes actions through the JSON API."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.runtime import Runtime
from bot.worker import Worker
from storage import outbox
from storage.db import transaction
from storage.models import AuditEntry, Outbox
from tests.conftest import Clock
from tests.dashboard import api_token, raise_concern

FIELDS = {
    "id",
    "created_at",
    "channel",
    "topic",
    "language",
    "text",
    "place",
    "status",
    "follow_up_consent",
    "viewpoint",
    "translation",  # null unless a provider is configured (tests/test_translation_story.py)
}


def test_reading_needs_a_valid_token(rt: Runtime, client: FlaskClient) -> None:
    missing = client.get("/api/v1/responses")
    assert missing.status_code == 401
    assert "Bearer" in missing.get_json()["error"]
    wrong = client.get("/api/v1/responses", headers={"Authorization": "Bearer tl_nope"})
    assert wrong.status_code == 401
    assert wrong.get_json() == {"error": "the token is not valid (unknown or revoked)"}
    ok = client.get("/api/v1/responses", headers=api_token(rt, "viewer"))
    assert ok.status_code == 200
    assert ok.get_json() == {"items": [], "next": None}


def test_responses_page_with_filters_and_a_cursor(rt: Runtime, client: FlaskClient) -> None:
    ids = [
        raise_concern(rt, f"sim-{n}", lang, f"Speeding report {n}", "Elm").id
        for n, lang in enumerate(["en", "es", "en", "es", "en"])
    ]
    auth = api_token(rt, "viewer")
    first = client.get("/api/v1/responses?limit=2", headers=auth).get_json()
    assert [i["id"] for i in first["items"]] == ids[::-1][:2]
    assert set(first["items"][0]) == FIELDS
    assert first["items"][0]["follow_up_consent"] is True
    assert first["items"][0]["topic"] == "safety"
    assert first["items"][0]["channel"] == "simulator"
    assert first["items"][0]["translation"] is None
    second = client.get(f"/api/v1/responses?limit=2&cursor={first['next']}", headers=auth)
    third = client.get(
        f"/api/v1/responses?limit=2&cursor={second.get_json()['next']}", headers=auth
    ).get_json()
    seen = first["items"] + second.get_json()["items"] + third["items"]
    assert [i["id"] for i in seen] == ids[::-1]
    assert third["next"] is None
    spanish = client.get("/api/v1/responses?language=es", headers=auth).get_json()
    assert [i["id"] for i in spanish["items"]] == [ids[3], ids[1]]
    for bad in ("from=last-week", "limit=0", "limit=abc", "cursor=xyz", "flag=loud"):
        answer = client.get(f"/api/v1/responses?{bad}", headers=auth)
        assert answer.status_code == 400, bad
        assert answer.get_json()["error"]


def test_a_script_publishes_an_action_and_reads_its_delivery(
    rt: Runtime, app: Flask, clock: Clock
) -> None:
    en = raise_concern(rt, "sim-en", "en", "Cars race on Elm Street", "Elm St")
    es = raise_concern(rt, "sim-es", "es", "Los carros van rápido en Elm", "Elm")
    dv = raise_concern(rt, "sim-dv", "en", "Domestic violence next door on Elm", "Elm")
    # The API is exempt from CSRF: bearer tokens, no cookies.
    client = create_app({"TESTING": True, "WTF_CSRF_ENABLED": True}, runtime=rt).test_client()
    staff = api_token(rt, "staff")
    created = client.post(
        "/api/v1/actions",
        headers=staff,
        json={
            "title": "Patrols on Elm",
            "message": {"en": "We added patrols on Elm.", "es": "Pusimos patrullas en Elm."},
            "response_ids": [en.id, es.id, dv.id],
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["recipients"] == 2
    assert body["sensitive_held"] == [dv.id]
    Worker(rt).drain()
    with transaction(rt.db) as session:
        rows = list(session.exec(select(Outbox).where(Outbox.kind == "follow_up")))
        outbox.finish(session, rows[0].id, delivery_status="delivered")  # type: ignore[arg-type]
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "action.publish")).one()
    assert sorted((r.language, r.text) for r in rows) == [
        ("en", "We added patrols on Elm."),
        ("es", "Pusimos patrullas en Elm."),
    ]
    assert audit.actor == "token:script-staff"
    status = client.get(f"/api/v1/actions/{body['id']}", headers=api_token(rt, "viewer"))
    assert status.status_code == 200
    assert {k: status.get_json()[k] for k in ("recipients", "sent", "delivered", "failed")} == {
        "recipients": 2,
        "sent": 2,
        "delivered": 1,
        "failed": 0,
    }


def test_writing_errors_are_clear_json(rt: Runtime, client: FlaskClient) -> None:
    en = raise_concern(rt, "sim-en", "en", "Cars race on Elm Street", "Elm St")
    es = raise_concern(rt, "sim-es", "es", "Los carros van rápido en Elm", "Elm")
    staff, viewer = api_token(rt, "staff"), api_token(rt, "viewer")
    good = {"title": "Patrols", "message": {"en": "Done."}, "response_ids": [en.id]}

    def post(body: object, headers: dict[str, str] = staff) -> tuple[int, str]:
        answer = client.post("/api/v1/actions", headers=headers, json=body)
        return answer.status_code, answer.get_json()["error"]

    assert post(good, viewer) == (403, "this needs a staff token; this one is viewer")
    assert post(good, {})[0] == 401
    assert post([1, 2])[0] == 400
    assert post({**good, "title": ""})[0] == 400
    assert post({**good, "message": "Done."})[0] == 400
    assert post({**good, "message": {"fr": "Fait."}})[1].startswith("unknown language 'fr'")
    assert post({**good, "message": {"en": "  "}})[0] == 400
    assert post({**good, "response_ids": []})[0] == 400
    assert post({**good, "response_ids": ["1"]})[0] == 400
    assert post({**good, "response_ids": [en.id, 999]}) == (404, "unknown response ids: [999]")
    status, error = post({**good, "response_ids": [en.id, es.id]})
    assert (status, error) == (
        400,
        "write the message in every language its recipients read; missing: es",
    )
    with transaction(rt.db) as session:
        assert not list(session.exec(select(Outbox).where(Outbox.kind == "follow_up")))
    missing = client.get("/api/v1/actions/4242", headers=viewer)
    assert (missing.status_code, missing.get_json()) == (404, {"error": "no action 4242"})
    assert client.get("/api/v1/nothing-here", headers=viewer).status_code == 404
    assert client.get("/api/v1/nothing-here", headers=viewer).is_json
    assert client.delete("/api/v1/actions/1", headers=staff).get_json()["error"]
