"""Stories: staff tag responses supportive, neutral or critical; the charts show the balance.

A dashboard full of praise can be a picture of who was asked, not of what the community thinks;
tagging each response's stance and drawing the three side by side makes one-sidedness visible.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.services.charts import chart_data, viewpoint_balance
from storage import conversations
from storage.db import transaction
from storage.models import AuditEntry, Response
from tests.conftest import Clock
from tests.dashboard import api_token, log_in, post_form, raise_concern, staff_account
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_kit import channel_of, telegram_settings

BULK = "/staff/responses/bulk"


def _viewpoints(rt: Runtime) -> dict[int, str | None]:
    """Every response's stored viewpoint, by id."""
    with transaction(rt.db) as session:
        return {r.id: r.viewpoint for r, _ in conversations.list_responses(session) if r.id}


def _audited(rt: Runtime) -> list[AuditEntry]:
    with transaction(rt.db) as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.action == "response.viewpoint"))
        )


def test_staff_tag_critical_in_bulk_and_supportive_on_its_page_then_filter_export_and_read(
    rt: Runtime, client: FlaskClient
) -> None:
    words = [
        "The officer was rude to my son",
        "Nobody called me back about my complaint",
        "Stop and frisk on our block has to end",
        "Thank you for the new crossing guard on Elm",
        "Trash pickup was late this week",
    ]
    rude, nobody, frisk, thanks, trash = (
        raise_concern(rt, f"sim-{n}", "en", said, "Elm St").id for n, said in enumerate(words)
    )
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")

    post_form(
        client, BULK, {"op": "viewpoint", "viewpoint": "critical", "ids": [rude, nobody, frisk]}
    )
    page = client.get(f"/staff/responses/{thanks}").get_data(as_text=True)
    assert 'name="viewpoint"' in page  # one at a time, on the response's own page
    back = f"/staff/responses/{thanks}"
    answered = post_form(
        client, BULK, {"op": "viewpoint", "viewpoint": "supportive", "ids": [thanks], "back": back}
    )
    assert answered.headers["Location"] == back  # type: ignore[attr-defined]
    page = client.get(back).get_data(as_text=True)
    assert 'data-viewpoint="supportive"' in page
    assert "Viewpoint of 1 set to supportive." in page
    assert _viewpoints(rt) == {
        rude: "critical",
        nobody: "critical",
        frisk: "critical",
        thanks: "supportive",
        trash: None,
    }

    critical = client.get("/staff?viewpoint=critical").get_data(as_text=True)
    for said in words[:3]:
        assert said in critical
    assert words[3] not in critical
    assert words[4] not in critical
    assert critical.count('data-viewpoint="critical"') == 3
    assert '<option value="critical" selected>' in critical  # the filter stays chosen
    untagged = client.get("/staff?viewpoint=none").get_data(as_text=True)
    assert words[4] in untagged
    assert all(said not in untagged for said in words[:4])

    [bulk_entry, page_entry] = sorted(_audited(rt), key=lambda e: e.id or 0)
    assert bulk_entry.actor == "sam@city.gov"
    assert bulk_entry.detail == {"ids": [rude, nobody, frisk], "viewpoint": "critical"}
    assert page_entry.detail == {"ids": [thanks], "viewpoint": "supportive"}

    export = client.get("/staff/export.csv?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    rows = {int(r["id"]): r["viewpoint"] for r in csv.DictReader(io.StringIO(export[1:]))}
    assert rows == {
        rude: "critical",
        nobody: "critical",
        frisk: "critical",
        thanks: "supportive",
        trash: "",
    }

    auth = api_token(rt, "viewer")
    items = client.get("/api/v1/responses", headers=auth).get_json()["items"]
    assert {i["id"]: i["viewpoint"] for i in items} == _viewpoints(rt)
    only = client.get("/api/v1/responses?viewpoint=critical", headers=auth).get_json()["items"]
    assert sorted(i["id"] for i in only) == [rude, nobody, frisk]


def test_clearing_a_viewpoint_puts_the_response_back_among_the_untagged(
    rt: Runtime, client: FlaskClient
) -> None:
    said = raise_concern(rt, "sim-1", "en", "Great job at the block party", "Oak").id
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    post_form(client, BULK, {"op": "viewpoint", "viewpoint": "supportive", "ids": [said]})
    post_form(client, BULK, {"op": "viewpoint", "viewpoint": "clear", "ids": [said]})
    assert _viewpoints(rt) == {said: None}
    assert "Great job" in client.get("/staff?viewpoint=none").get_data(as_text=True)
    assert [e.detail for e in _audited(rt)][-1] == {"ids": [said], "viewpoint": None}


def test_only_staff_tag_and_only_the_three_viewpoints_are_accepted(
    rt: Runtime, client: FlaskClient
) -> None:
    said = raise_concern(rt, "sim-1", "en", "The officer listened to me", "Oak").id
    staff_account(rt, "val@city.gov", "viewer")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "val@city.gov")
    assert 'value="viewpoint"' not in client.get("/staff").get_data(as_text=True)
    refused = post_form(client, BULK, {"op": "viewpoint", "viewpoint": "critical", "ids": [said]})
    assert refused.status_code == 403  # type: ignore[attr-defined]

    log_in(client, "sam@city.gov")
    for wrong in ("hostile", "Critical!", "", "none"):
        post_form(client, BULK, {"op": "viewpoint", "viewpoint": wrong, "ids": [said]})
        page = client.get("/staff").get_data(as_text=True)
        assert "a viewpoint is supportive, neutral, critical, or clear" in page
    assert _viewpoints(rt) == {said: None}
    assert _audited(rt) == []

    bad_filter = client.get("/staff?viewpoint=hostile").get_data(as_text=True)
    assert "viewpoint must be one of supportive, neutral, critical or none" in bad_filter
    assert "The officer listened" in bad_filter  # the inbox falls back to no filter
    api = client.get("/api/v1/responses?viewpoint=hostile", headers=api_token(rt, "viewer"))
    assert api.status_code == 400


@pytest.fixture
def live(settings: Settings, clock: Clock) -> Iterator[tuple[Runtime, FlaskClient]]:
    """An agency with Telegram live (against the local fake), so simulated residents are hidden."""
    with FakeTelegram() as fake:
        rt = build_runtime(telegram_settings(settings, fake), clock=clock)
        app = create_app({"TESTING": True}, runtime=rt)
        yield rt, app.test_client()
        channel_of(rt).close()
        rt.db.dispose()


def _telegram_said(rt: Runtime, chat: str, text: str, at: datetime, kind: str = "text") -> int:
    """A resident's words stored as the Telegram channel would store them, at a given time."""
    with transaction(rt.db) as session:
        contact = conversations.get_or_create_contact(session, "telegram", chat, at)
        row = conversations.add_response(
            session,
            contact_id=contact.id,
            conversation=f"c-{chat}-{at.isoformat()}",
            text=text,
            kind=kind,
            value=4 if kind == "rating" else None,
            language="en",
            created_at=at,
        )
        session.flush()
        assert row.id is not None
        return row.id


def test_the_charts_count_viewpoints_per_agency_week_and_say_the_balance(
    live: tuple[Runtime, FlaskClient],
) -> None:
    rt, client = live
    now = rt.now()  # Tuesday 24 November 2026, 10:00 in New York
    this_week = [
        _telegram_said(rt, "101", "Officers ignored my complaint", now),
        _telegram_said(rt, "102", "Why was my car towed without notice", now),
    ]
    # Monday 03:00 UTC is still Sunday evening in New York: the week before, on the charts.
    sunday_night = _telegram_said(
        rt, "103", "Too many stops on our street", datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    )
    three_weeks_ago = _telegram_said(
        rt, "104", "Thanks for the quick help", datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
    )
    _telegram_said(rt, "105", "Where is the community meeting", now)  # nobody tags it
    _telegram_said(rt, "106", "", now, kind="rating")  # a 1-5 answer is no stance to tag
    simulated = raise_concern(rt, "sim-staff", "en", "Testing: the police are awful", "Elm").id
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    tag = {"op": "viewpoint", "viewpoint": "critical"}
    post_form(client, BULK, {**tag, "ids": [*this_week, sunday_night, simulated]})
    post_form(
        client, BULK, {"op": "viewpoint", "viewpoint": "supportive", "ids": [three_weeks_ago]}
    )

    data = chart_data(rt)
    assert data.weeks[-1] == "Nov 23"
    assert data.viewpoints_by_week["critical"][-2:] == [1.0, 2.0]  # the simulator left out
    assert data.viewpoints_by_week["supportive"][-4:] == [1.0, 0.0, 0.0, 0.0]
    assert data.viewpoints_by_week["neutral"] == [0.0] * 12
    assert (data.viewpoint_totals, data.untagged) == (
        {"supportive": 1, "neutral": 0, "critical": 3},
        1,
    )
    with_simulated = chart_data(rt, include_simulated=True)
    assert with_simulated.viewpoints_by_week["critical"][-1] == 3.0

    page = client.get("/staff/charts").get_data(as_text=True)
    assert 'aria-label="Viewpoints per week"' in page
    assert (
        "Of 4 tagged responses: 1 supportive (25%), 0 neutral (0%), 3 critical (75%). "
        "1 response is not tagged." in page
    )
    assert "Of 5 tagged responses" in client.get("/staff/charts?simulated=include").get_data(
        as_text=True
    )


def test_the_balance_sentence_says_when_the_picture_is_one_sided() -> None:
    praise = viewpoint_balance({"supportive": 30, "neutral": 6, "critical": 4}, 12)
    assert praise == (
        "Of 40 tagged responses: 30 supportive (75%), 6 neutral (15%), 4 critical (10%). "
        "12 responses are not tagged. Most tagged responses are supportive: seek out other "
        "voices too."
    )
    mixed = viewpoint_balance({"supportive": 5, "neutral": 3, "critical": 4}, 0)
    assert mixed.endswith("0 responses are not tagged.")
    assert viewpoint_balance({"supportive": 0, "neutral": 0, "critical": 0}, 3) == (
        "No responses are tagged with a viewpoint yet. 3 responses are not tagged."
    )


def test_a_response_tagged_in_storage_is_read_back_by_the_inbox_row(
    rt: Runtime, client: FlaskClient
) -> None:
    said = raise_concern(rt, "sim-1", "en", "Neither good nor bad, just slow", "Oak").id
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    post_form(client, BULK, {"op": "viewpoint", "viewpoint": "neutral", "ids": [said]})
    with transaction(rt.db) as session:
        stored = session.get(Response, said)
        assert stored is not None
        assert stored.viewpoint == "neutral"
    row = client.get("/staff").get_data(as_text=True)
    assert 'data-viewpoint="neutral">neutral</span>' in row
