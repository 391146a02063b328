"""Stories: a script schedules a meeting and sends a broadcast through the JSON API."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlmodel import select

from bot.runtime import Runtime
from bot.simulate import Simulator
from bot.worker import Worker
from storage.db import transaction
from storage.models import AuditEntry, Reminder
from tests.dashboard import api_token


def _residents(rt: Runtime) -> None:
    for address, lang in (("sim-en-1", "en"), ("sim-en-2", "en"), ("sim-es-1", "es")):
        Simulator(rt, address, language=lang).say("MEETINGS")


def test_a_script_schedules_a_meeting_with_reminders(rt: Runtime, client: FlaskClient) -> None:
    staff = api_token(rt, "staff")
    created = client.post(
        "/api/v1/meetings",
        headers=staff,
        json={
            "title": "Northside community meeting",
            "starts_at": "2026-12-03T18:30:00-05:00",
            "location": "Northside Library, 12 Oak St",
            "virtual_url": "https://meet.example.org/northside",
            "neighbourhood": "Northside",
            "reminders": ["P3D", "PT2H"],
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["reminders"] == ["P3D", "PT2H"]
    assert body["ics"].endswith(f"/meetings/{body['id']}.ics")
    assert client.get(f"/meetings/{body['id']}.ics").status_code == 200
    with transaction(rt.db) as session:
        due = sorted(r.due_at.isoformat() for r in session.exec(select(Reminder)))
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "meeting.create"))
    assert due == ["2026-11-30T23:30:00+00:00", "2026-12-03T21:30:00+00:00"]
    assert entry.actor == "token:script-staff"
    summary = client.get(f"/api/v1/meetings/{body['id']}", headers=api_token(rt, "viewer"))
    assert summary.get_json()["title"] == "Northside community meeting"


def test_meeting_validation_errors_name_the_field(rt: Runtime, client: FlaskClient) -> None:
    staff = api_token(rt, "staff")
    cases = [
        ({"title": "x", "starts_at": "2026-12-03T18:30:00", "location": "Hall"}, "starts_at"),
        ({"title": "x", "starts_at": "2026-12-03T18:30:00Z"}, "location"),
        (
            {
                "title": "x",
                "starts_at": "2026-12-03T18:30Z",
                "location": "Hall",
                "reminders": ["3 days"],
            },
            "reminders[0]",
        ),
        (
            {"title": "x", "starts_at": "2026-12-03T18:30Z", "location": "Hall", "colour": "red"},
            "colour",
        ),
    ]
    for body, field in cases:
        answer = client.post("/api/v1/meetings", headers=staff, json=body)
        assert answer.status_code == 400
        assert answer.get_json()["error"].startswith(f"{field}:")
    assert client.post("/api/v1/meetings", headers=staff, data="nope").status_code == 400
    viewer = client.post("/api/v1/meetings", headers=api_token(rt, "viewer"), json=cases[0][0])
    assert viewer.status_code == 403
    assert client.post("/api/v1/meetings", json=cases[0][0]).status_code == 401
    assert client.get("/api/v1/meetings/999", headers=staff).status_code == 404


def test_a_broadcast_previewed_sent_and_followed(rt: Runtime, client: FlaskClient) -> None:
    _residents(rt)
    Worker(rt).drain()
    staff = api_token(rt, "staff")
    message = {
        "en": "The Northside meeting moves to Thursday.",
        "es": "La reunión se pasa al jueves.",
    }
    preview = client.post(
        "/api/v1/broadcasts", headers=staff, json={"message": message, "preview": True}
    )
    assert preview.status_code == 200
    by_language = preview.get_json()["by_language"]
    assert by_language["en"] == {"recipients": 2, "encoding": "GSM-7", "segments": 1}
    assert by_language["es"]["recipients"] == 1
    assert by_language["es"]["encoding"] == "UCS-2"  # the ó in reunión

    sent = client.post("/api/v1/broadcasts", headers=staff, json={"message": message})
    assert sent.status_code == 201
    created = sent.get_json()
    assert (created["recipients"], created["queued"]) == (3, 3)
    Worker(rt).drain()
    progress = client.get(f"/api/v1/broadcasts/{created['id']}", headers=api_token(rt, "viewer"))
    assert {
        k: progress.get_json()[k] for k in ("recipients", "queued", "sent", "failed", "held")
    } == {
        "recipients": 3,
        "queued": 0,
        "sent": 3,
        "failed": 0,
        "held": 0,
    }


def test_broadcast_errors_are_clear_json(rt: Runtime, client: FlaskClient) -> None:
    staff = api_token(rt, "staff")
    bad = [
        ({"message": {"en": "hi"}, "audience": {"languages": ["xx"]}}, "audience"),
        ({"message": {"en": "hi"}, "send_at": "tomorrow"}, "send_at"),
        ({"message": {"en": "hi"}, "prompt_window": "P1D"}, "prompt_window"),
        ({"message": {"en": "hi"}, "preview": "yes"}, "preview"),
        ({"message": {"en": "hi"}, "urgent": True}, "urgent"),
    ]
    for body, field in bad:
        answer = client.post("/api/v1/broadcasts", headers=staff, json=body)
        assert answer.status_code == 400, (body, answer.get_json())
        assert answer.get_json()["error"].startswith(field)
    viewer = client.post("/api/v1/broadcasts", headers=api_token(rt, "viewer"), json=bad[0][0])
    assert viewer.status_code == 403
    assert client.get("/api/v1/broadcasts/42", headers=staff).status_code == 404
