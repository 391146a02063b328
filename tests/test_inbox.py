"""Stories: staff read the inbox with masked addresses, filter, tag, group, reply and export."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.runtime import Runtime
from bot.services.masking import mask_address
from storage import conversations
from storage.db import transaction
from storage.models import AuditEntry, Outbox
from tests.conftest import Clock
from tests.dashboard import log_in, post_form, raise_concern, staff_account


@pytest.mark.parametrize(
    ("channel", "address", "masked"),
    [
        ("sms", "+15551231234", "+1 ••• ••• 12 34"),
        ("sms", "+442071838750", "+44 ••• ••• 87 50"),
        ("telegram", "123455678", "telegram ••••5678"),
        ("simulator", "sim-resident-1", "simulator ••••nt-1"),
        ("simulator", "abc", "simulator ••••"),
    ],
)
def test_addresses_are_masked(channel: str, address: str, masked: str) -> None:
    assert mask_address(channel, address) == masked


def _sms_resident(rt: Runtime, text: str) -> int:
    """A response from a phone number, stored as the SMS channel would store it."""
    with transaction(rt.db) as session:
        contact = conversations.get_or_create_contact(session, "sms", "+15551231234", rt.now())
        row = conversations.add_response(
            session,
            contact_id=contact.id,
            conversation="c1",
            text=text,
            language="en",
            created_at=rt.now(),
        )
        session.flush()
        assert row.id is not None
        return row.id


def test_inbox_masks_phone_numbers_and_only_admins_reveal_them_audited(
    rt: Runtime, client: FlaskClient
) -> None:
    response_id = _sms_resident(rt, "Streetlight out on Pine")
    staff_account(rt, "sam@city.gov", "staff")
    staff_account(rt, "ada@city.gov", "admin")
    log_in(client, "sam@city.gov")
    for path in ("/staff", f"/staff/responses/{response_id}"):
        page = client.get(path).get_data(as_text=True)
        assert "+1 ••• ••• 12 34" in page
        assert "5551231234" not in page
    assert post_form(client, f"/staff/responses/{response_id}/reveal", {}).status_code == 403  # type: ignore[attr-defined]
    log_in(client, "ada@city.gov")
    revealed = post_form(client, f"/staff/responses/{response_id}/reveal", {})
    assert "+15551231234" in revealed.get_data(as_text=True)  # type: ignore[attr-defined]
    assert revealed.headers["Cache-Control"] == "no-store"  # type: ignore[attr-defined]
    with transaction(rt.db) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "contact.reveal")).one()
    assert entry.actor == "ada@city.gov"
    assert "+15551231234" not in str(entry.detail)


def test_inbox_filters_and_flags_urgent_and_sensitive(rt: Runtime, client: FlaskClient) -> None:
    raise_concern(rt, "sim-es", "es", "Los carros van muy rápido en la calle Elm", "Elm y 5")
    raise_concern(rt, "sim-dv", "en", "My neighbour hits his wife, it is domestic violence", "Oak")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    page = client.get("/staff").get_data(as_text=True)
    assert 'class="sensitive"' in page
    assert "SENSITIVE" in page
    spanish = client.get("/staff?language=es").get_data(as_text=True)
    assert "Los carros" in spanish
    assert "domestic violence" not in spanish
    flagged = client.get("/staff?flag=sensitive").get_data(as_text=True)
    assert "domestic violence" in flagged
    assert "Los carros" not in flagged
    assert "Los carros" not in client.get("/staff?from=2026-11-25").get_data(as_text=True)
    assert "Los carros" in client.get("/staff?from=2026-11-24&to=2026-11-24").get_data(as_text=True)


def test_a_response_shows_the_conversation_around_it(rt: Runtime, client: FlaskClient) -> None:
    said = raise_concern(rt, "sim-1", "en", "Cars race on Elm Street", "Elm and 5th")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    page = client.get(f"/staff/responses/{said.id}").get_data(as_text=True)
    for line in ("Cars race on Elm Street", "what is this about?", "Elm and 5th", "Thank you for"):
        assert line in page


def test_staff_tag_review_group_and_reply_through_the_outbox(
    rt: Runtime, client: FlaskClient, clock: Clock
) -> None:
    first = raise_concern(rt, "sim-1", "en", "Cars race on Elm Street", "Elm St")
    second = raise_concern(rt, "sim-2", "es", "Los carros van rápido en Elm", "Elm")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    ids = [first.id, second.id]
    post_form(client, "/staff/responses/bulk", {"op": "tag", "tag": "  Speeding ", "ids": ids})
    post_form(client, "/staff/responses/bulk", {"op": "review", "ids": ids})
    grouped = post_form(
        client,
        "/staff/responses/bulk",
        {"op": "group", "concern_title": "Speeding on Elm Street", "ids": ids},
    )
    concern_page = client.get(grouped.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Speeding on Elm Street" in concern_page
    assert "Los carros" in concern_page
    inbox = client.get("/staff?tag=speeding&status=reviewed").get_data(as_text=True)
    assert "Cars race" in inbox
    assert "Los carros" in inbox
    post_form(client, f"/staff/responses/{second.id}/reply", {"text": "Gracias, lo revisamos."})
    with transaction(rt.db) as session:
        reply = session.exec(select(Outbox).where(Outbox.kind == "staff_reply")).one()
    assert (reply.channel, reply.language, reply.proactive) == ("simulator", "es", True)
    assert reply.text == "Gracias, lo revisamos."
    with transaction(rt.db) as session:
        actions = [e.action for e in session.exec(select(AuditEntry))]
    for action in ("response.tag", "response.review", "concern.create", "concern.group"):
        assert action in actions
    assert "response.reply" in actions


def test_staff_cannot_write_to_a_resident_who_opted_out(rt: Runtime, client: FlaskClient) -> None:
    said = raise_concern(rt, "sim-1", "en", "Cars race on Elm Street", "Elm St")
    from bot.simulate import Simulator

    Simulator(rt, "sim-1").say("STOP")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    post_form(client, f"/staff/responses/{said.id}/reply", {"text": "Hello again"})
    page = client.get(f"/staff/responses/{said.id}").get_data(as_text=True)
    assert "opted out" in page
    with transaction(rt.db) as session:
        assert not list(session.exec(select(Outbox).where(Outbox.kind == "staff_reply")))


def test_csv_export_is_safe_against_formula_injection(rt: Runtime, client: FlaskClient) -> None:
    raise_concern(rt, "sim-1", "en", '=HYPERLINK("http://evil.example","click")', "@SUM(A1)")
    staff_account(rt, "val@city.gov", "viewer")
    log_in(client, "val@city.gov")
    export = client.get("/staff/export.csv?from=2026-11-01&to=2026-11-30")
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0]["text"] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[0]["place"] == "'@SUM(A1)"
    assert "sim-1" not in export.get_data(as_text=True)
    assert client.get("/staff/export.csv?from=2026-12-01").get_data(as_text=True).count("\n") == 1
    assert client.get("/staff/export.csv?from=yesterday").status_code == 400


def test_charts_are_drawn_without_scripts_or_external_urls(
    rt: Runtime, client: FlaskClient
) -> None:
    raise_concern(rt, "sim-1", "en", "Cars race on Elm Street", "Elm St")
    raise_concern(rt, "sim-2", "es", "Los carros van rápido", "Elm")
    staff_account(rt, "val@city.gov", "viewer")
    log_in(client, "val@city.gov")
    page = client.get("/staff/charts").get_data(as_text=True)
    assert page.count("<svg") == 6
    assert "<script" not in page
    assert "http://" not in page
    assert "https://" not in page
    assert ">es</text>" in page
    assert ">simulator</text>" in page


def test_interaction_feedback_scores_are_averaged_per_week(rt: Runtime) -> None:
    from bot.services.charts import chart_data
    from bot.simulate import Simulator

    for address, scores in (("sim-1", ("2", "3", "2", "1")), ("sim-2", ("4", "5", "4", "3"))):
        resident = Simulator(rt, address, language="en")
        for line in ("The officer at the stop was short with me", "4", *scores, "skip"):
            resident.say(line)
    data = chart_data(rt)
    this_week = {item: values[-1] for item, values in data.feedback_by_week.items()}
    assert this_week == {"respect": 3.0, "heard": 4.0, "fairness": 3.0, "trust": 2.0}
    assert data.feedback_by_week["respect"][0] is None
    assert data.topics_by_week["interaction"][-1] >= 2


def test_the_inbox_shows_times_in_the_agencys_time_zone(rt: Runtime, client: FlaskClient) -> None:
    _sms_resident(rt, "Streetlight out on Pine")  # stored at 15:00 UTC
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    page = client.get("/staff").get_data(as_text=True)
    assert "2026-11-24 10:00" in page  # 10:00 in New York
    assert "2026-11-24 15:00" not in page


def test_the_csv_opens_in_a_spreadsheet_as_utf8_with_arabic_intact(
    rt: Runtime, client: FlaskClient
) -> None:
    """Excel reads a CSV as UTF-8 only with a byte-order mark; without it Arabic is mojibake."""
    arabic = "الشارع أمام المدرسة مظلم جدا في الليل"
    raise_concern(rt, "sim-ar", "en", arabic, "شارع النخيل")  # words kept as written
    staff_account(rt, "val@city.gov", "viewer")
    log_in(client, "val@city.gov")
    raw = client.get("/staff/export.csv?from=2026-11-01&to=2026-11-30").get_data()
    assert raw.startswith("\ufeff".encode())
    [row] = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert (row["text"], row["place"]) == (arabic, "شارع النخيل")
