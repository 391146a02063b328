"""Stories: staff record what the agency did and every consenting resident hears back."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlmodel import select

from bot.runtime import Runtime
from bot.simulate import Simulator
from bot.worker import Worker
from storage import outbox
from storage.db import transaction
from storage.models import Action, ActionRecipient, Outbox
from tests.conftest import Clock
from tests.dashboard import log_in, post_form, raise_concern, staff_account

EN = "We added patrols and a speed camera on Elm Street."
ES = "Pusimos patrullas y un radar de velocidad en la calle Elm."


def _draft(client: FlaskClient, ids: list[int | None]) -> str:
    """Group responses, open a draft on the concern; returns the draft's path."""
    grouped = post_form(
        client, "/staff/responses/bulk", {"op": "group", "concern_title": "Speeding", "ids": ids}
    )
    concern_id = grouped.headers["Location"].rsplit("/", 1)[-1]  # type: ignore[attr-defined]
    draft = post_form(client, "/staff/actions/new", {"concern_id": concern_id})
    return str(draft.headers["Location"])  # type: ignore[attr-defined]


def _follow_ups(rt: Runtime) -> list[Outbox]:
    with transaction(rt.db) as session:
        return list(session.exec(select(Outbox).where(Outbox.kind == "follow_up")))


def test_recipients_are_consenting_residents_and_sensitive_ones_only_by_hand(
    rt: Runtime, client: FlaskClient
) -> None:
    en = raise_concern(rt, "sim-en", "en", "Cars race on Elm Street", "Elm St")
    es = raise_concern(rt, "sim-es", "es", "Los carros van rápido en Elm", "Elm")
    no = raise_concern(rt, "sim-no", "en", "Speeding again on Elm", "Elm", consent=False)
    stop = raise_concern(rt, "sim-stop", "en", "Elm Street is a racetrack", "Elm")
    Simulator(rt, "sim-stop").say("STOP")
    dv = raise_concern(rt, "sim-dv", "en", "Domestic violence next door on Elm", "Elm")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    draft = _draft(client, [en.id, es.id, no.id, stop.id, dv.id])
    page = client.get(draft).get_data(as_text=True)
    assert "Recipients (2)" in page
    assert "1 without consent, 1 opted out" in page
    assert "1 sensitive not included" in page
    assert 'data-missing="en"' in page
    assert 'data-missing="es"' in page

    post_form(client, draft + "/edit", {"title": "Patrols on Elm", "message_en": EN})
    page = client.get(draft).get_data(as_text=True)
    assert 'data-missing="es"' in page
    assert 'data-missing="en"' not in page
    refused = post_form(client, draft + "/publish", {})
    assert "missing: es" in client.get(refused.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert _follow_ups(rt) == []

    post_form(
        client,
        draft + "/edit",
        {"title": "Patrols on Elm", "message_en": EN, "message_es": ES, "include": dv.id},
    )
    assert "Recipients (3)" in client.get(draft).get_data(as_text=True)
    post_form(client, draft + "/publish", {})
    rows = sorted(_follow_ups(rt), key=lambda r: r.id or 0)
    assert [(r.language, r.text, r.priority, r.proactive) for r in rows] == [
        ("en", EN, 10, True),
        ("es", ES, 10, True),
        ("en", EN, 10, True),
    ]
    assert post_form(client, draft + "/publish", {}).status_code == 302  # type: ignore[attr-defined]
    assert len(_follow_ups(rt)) == 3  # a second click sends nothing more


def test_follow_ups_wait_for_allowed_hours_and_the_page_shows_delivery(
    rt: Runtime, client: FlaskClient, clock: Clock
) -> None:
    en = raise_concern(rt, "sim-en", "en", "Cars race on Elm Street", "Elm St")
    es = raise_concern(rt, "sim-es", "es", "Los carros van rápido en Elm", "Elm")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    draft = _draft(client, [en.id, es.id])
    post_form(client, draft + "/edit", {"title": "Patrols", "message_en": EN, "message_es": ES})
    clock.now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 22:00 in New York: quiet hours
    log_in(client, "sam@city.gov")  # twelve hours on, the morning's login has ended
    post_form(client, draft + "/publish", {})
    Worker(rt).drain()
    assert {r.status for r in _follow_ups(rt)} == {"pending"}
    clock.now = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # 09:00 in New York
    Worker(rt).drain()
    rows = _follow_ups(rt)
    assert {r.status for r in rows} == {"sent"}
    with transaction(rt.db) as session:  # the SMS status callback writes these
        outbox.finish(session, rows[0].id, delivery_status="delivered")  # type: ignore[arg-type]
        outbox.finish(session, rows[1].id, delivery_status="undelivered")  # type: ignore[arg-type]
    log_in(client, "sam@city.gov")  # back the next morning
    page = client.get(draft).get_data(as_text=True)
    assert "<strong>2</strong> recipients" in page
    assert "<strong>1</strong> delivered" in page
    assert "<strong>1</strong> failed" in page
    assert 'data-state="delivered"' in page
    assert Simulator(rt, "sim-es").replies()[-1] == ES


def test_public_page_shows_what_was_done_and_no_personal_data(
    rt: Runtime, client: FlaskClient
) -> None:
    en = raise_concern(rt, "sim-en", "en", "Cars race on Elm Street", "Elm St")
    es = raise_concern(rt, "sim-es", "es", "Los carros van rápido en Elm", "Elm")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    draft = _draft(client, [en.id, es.id])
    post_form(
        client, draft + "/edit", {"title": "Patrols on Elm", "message_en": EN, "message_es": ES}
    )
    assert "Patrols on Elm" not in client.get("/you-said-we-did").get_data(as_text=True)
    post_form(client, draft + "/publish", {})
    stranger = client.application.test_client()
    public = stranger.get("/you-said-we-did").get_data(as_text=True)
    for fragment in (
        "November 2026",
        "A safety concern",
        "Patrols on Elm",
        EN,
        "Raised by 2 residents",
    ):
        assert fragment in public
    for private in ("sim-en", "sim-es", "Cars race", "sam@city.gov"):
        assert private not in public
    assert ES in stranger.get("/you-said-we-did?lang=es").get_data(as_text=True)
    with transaction(rt.db) as session:
        action = session.exec(select(Action)).one()
        assert action.topic == "safety"
        assert len(list(session.exec(select(ActionRecipient)))) == 2
