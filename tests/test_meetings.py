"""Stories: staff schedule meetings, subscribers are reminded in their language and RSVP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.runtime import Runtime
from bot.services import meetings
from bot.services.validation import InvalidInputError
from bot.simulate import Simulator
from bot.worker import Worker
from storage import conversations
from storage.db import transaction
from storage.meetings import aware
from storage.models import Outbox, Reminder
from tests.conftest import Clock

NY_SATURDAY_EVENING = "2026-11-28T18:30:00-05:00"


def subscribe(rt: Runtime, address: str, language: str, area: str | None = None) -> Simulator:
    """A resident says MEETINGS (in their language), yes to reminders, and a neighbourhood."""
    keyword = {"en": "MEETINGS", "es": "REUNIONES", "vi": "HỌP", "zh": "会议"}[language]
    yes = {"en": "yes", "es": "sí", "vi": "có", "zh": "是"}[language]
    skip = {"en": "skip", "es": "saltar", "vi": "bỏ qua", "zh": "跳过"}[language]
    resident = Simulator(rt, address, language=language)
    resident.say(keyword)
    resident.say(yes)
    resident.say(area or skip)
    return resident


def tick(rt: Runtime) -> None:
    """One scheduler pass and one drain, as the worker's jobs would do."""
    worker = Worker(rt)
    assert worker.run_scheduled()
    worker.drain()
    worker.scheduler_lock.release()  # the next tick's worker takes over at once


def test_reminders_go_three_days_before_and_the_morning_of(rt: Runtime, clock: Clock) -> None:
    es = subscribe(rt, "sim-es", "es")
    meeting = meetings.create_meeting(
        rt, title="Reunión del barrio", starts_at=NY_SATURDAY_EVENING, location="Biblioteca"
    )
    clock.now = datetime(2026, 11, 25, 23, 29, tzinfo=UTC)  # a minute before three days out
    tick(rt)
    assert es.replies() == []
    clock.advance(minutes=1)
    tick(rt)
    (reminder,) = es.replies()
    assert reminder.startswith("Recordatorio de Springfield Police: Reunión del barrio")
    assert "sábado, 28 de noviembre, 6:30\u202fp.m., Biblioteca" in reminder  # as Spanish writes it
    assert "Responda SÍ, NO" in reminder
    tick(rt)
    assert es.replies() == [], "a reminder goes once"
    clock.now = datetime(2026, 11, 28, 13, 59, tzinfo=UTC)  # 08:59 in New York
    tick(rt)
    assert es.replies() == []
    clock.advance(minutes=1)
    tick(rt)
    assert len(es.replies()) == 1
    with transaction(rt.db) as session:
        reminders = session.exec(select(Reminder).where(Reminder.meeting_id == meeting.id)).all()
    assert {(r.offset, r.status, r.recipients) for r in reminders} == {
        ("P3D", "queued", 1),
        ("morning", "queued", 1),
    }


def test_rsvp_in_several_languages_and_by_button(rt: Runtime, clock: Clock) -> None:
    residents = {lang: subscribe(rt, f"sim-{lang}", lang) for lang in ("en", "es", "vi", "zh")}
    meeting = meetings.create_meeting(
        rt, title="Town hall", starts_at=NY_SATURDAY_EVENING, virtual_url="https://meet.example/th"
    )
    clock.now = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    tick(rt)
    for resident in residents.values():
        assert len(resident.replies()) == 1
    assert residents["es"].say("Sí") == ["¡Gracias, le esperamos!"]
    assert residents["vi"].say("không") == [
        "Cảm ơn quý vị đã báo. Trả lời HỌP để xem các buổi họp khác."
    ]
    assert residents["zh"].say("３") == ["谢谢，已为您登记3人。期待与您见面！"]
    assert residents["en"].say("", choice=f"rsvp:{meeting.id}:yes") == ["Thank you, see you there!"]
    assert meetings.summary(rt, meeting.id or 0)["rsvp"] == {"yes": 3, "no": 1, "people": 5}
    # Changing one's mind replaces the answer rather than counting twice.
    residents["es"].say("", choice=f"rsvp:{meeting.id}:no")
    assert meetings.summary(rt, meeting.id or 0)["rsvp"] == {"yes": 2, "no": 2, "people": 4}


def test_after_an_rsvp_a_yes_is_not_taken_as_another(rt: Runtime, clock: Clock) -> None:
    resident = subscribe(rt, "sim-en", "en")
    meeting = meetings.create_meeting(
        rt, title="Town hall", starts_at=NY_SATURDAY_EVENING, location="Hall"
    )
    clock.now = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    tick(rt)
    resident.replies()
    resident.say("2")
    # The last thing the resident read is now our thanks, so words go to the listening flow.
    replies = resident.say("The streetlight on Oak is out")
    assert "kept your words" in replies[0]
    assert meetings.summary(rt, meeting.id or 0)["rsvp"] == {"yes": 1, "no": 0, "people": 2}


def test_a_neighbourhood_subscription_hears_only_its_meetings(rt: Runtime, clock: Clock) -> None:
    north = subscribe(rt, "sim-north", "en", area="Northside")
    everywhere = subscribe(rt, "sim-all", "en")
    meetings.create_meeting(
        rt,
        title="Southside walk",
        starts_at=NY_SATURDAY_EVENING,
        location="Park",
        neighbourhood="Southside",
    )
    meetings.create_meeting(
        rt,
        title="Northside chat",
        starts_at=NY_SATURDAY_EVENING,
        location="Cafe",
        neighbourhood="northside",
    )
    clock.now = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    tick(rt)
    assert [r.split(":")[1].split(",")[0].strip() for r in north.replies()] == ["Northside chat"]
    assert len(everywhere.replies()) == 2


def test_quiet_hours_hold_a_reminder_until_morning(rt: Runtime, clock: Clock) -> None:
    resident = subscribe(rt, "sim-en", "en")
    meetings.create_meeting(
        rt,
        title="Breakfast meeting",
        starts_at="2026-11-27T19:00:00-05:00",
        location="Diner",
        reminders=["PT22H"],  # due 21:00 the evening before: inside quiet hours
    )
    clock.now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 21:00 in New York
    tick(rt)
    assert resident.replies() == []
    with transaction(rt.db) as session:
        (row,) = session.exec(select(Outbox).where(Outbox.kind == "reminder")).all()
    assert row.status == "pending"
    assert row.last_error == "held for quiet hours"
    assert aware(row.next_attempt_at) == datetime(2026, 11, 27, 13, 0, tzinfo=UTC)  # 08:00 NY
    clock.now = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    tick(rt)
    assert len(resident.replies()) == 1


def test_the_residents_own_time_zone_decides_quiet_hours(rt: Runtime, clock: Clock) -> None:
    east = subscribe(rt, "sim-east", "en")
    west = subscribe(rt, "sim-west", "en")
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, "simulator", "sim-west")
        assert contact is not None
        assert contact.id is not None
        conversations.update_contact(session, contact.id, timezone="America/Los_Angeles")
    meetings.create_meeting(
        rt,
        title="Town hall",
        starts_at="2026-11-27T19:00:00-05:00",
        location="Hall",
        reminders=["PT10H"],  # 09:00 in New York, 06:00 in Los Angeles
    )
    clock.now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    tick(rt)
    assert len(east.replies()) == 1
    assert west.replies() == []
    clock.now = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 08:00 in Los Angeles
    tick(rt)
    assert len(west.replies()) == 1


def test_a_reminder_for_a_meeting_that_started_is_dropped_and_counted(
    rt: Runtime, clock: Clock
) -> None:
    resident = subscribe(rt, "sim-en", "en")
    meeting = meetings.create_meeting(
        rt,
        title="Early meeting",
        starts_at="2026-11-27T09:00:00-05:00",
        location="Hall",
        reminders=["PT3H"],  # due 06:00: held until 08:00
    )
    clock.now = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)  # 06:00 in New York
    tick(rt)
    assert resident.replies() == []
    clock.now = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # the workers were down until 09:30
    tick(rt)
    assert resident.replies() == []
    assert meetings.summary(rt, meeting.id or 0)["reminders"] == {"dropped": 1}


def test_a_reminder_due_after_the_start_never_queues(rt: Runtime, clock: Clock) -> None:
    subscribe(rt, "sim-en", "en")
    meeting = meetings.create_meeting(
        rt, title="Soon", starts_at="2026-11-24T12:00:00-05:00", location="Hall", reminders=["PT1H"]
    )
    clock.now = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # the scheduler was down past 13:00 NY
    tick(rt)
    with transaction(rt.db) as session:
        (reminder,) = session.exec(select(Reminder).where(Reminder.meeting_id == meeting.id)).all()
    assert reminder.status == "stale"


def test_opted_out_subscribers_get_no_reminder(rt: Runtime, clock: Clock) -> None:
    stays = subscribe(rt, "sim-stays", "en")
    leaves = subscribe(rt, "sim-leaves", "en")
    leaves.say("STOP")
    meetings.create_meeting(rt, title="Town hall", starts_at=NY_SATURDAY_EVENING, location="Hall")
    clock.now = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    tick(rt)
    assert len(stays.replies()) == 1
    assert leaves.replies() == []


def test_a_series_rotates_places_and_times(rt: Runtime) -> None:
    series, made = meetings.create_series(
        rt,
        "Coffee with a cop",
        [
            {
                "starts_at": "2026-12-08T18:00:00-05:00",
                "location": "Library",
                "neighbourhood": "Northside",
            },
            {"starts_at": "2026-12-19T10:00:00-05:00", "location": "Riverside Park"},
            {"starts_at": "2027-01-12T18:30:00-05:00", "virtual_url": "https://meet.example/c"},
        ],
        accessibility="Step-free entrance",
        language_notes="Spanish interpretation",
    )
    assert [m.series_id for m in made] == [series.id] * 3
    assert [m.location for m in made] == ["Library", "Riverside Park", None]
    assert {m.accessibility for m in made} == {"Step-free entrance"}


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"starts_at": "2026-12-01T18:00:00"}, "starts_at", "no UTC offset"),
        ({"starts_at": "next tuesday"}, "starts_at", "not an ISO 8601 date-time"),
        ({"starts_at": "2026-01-01T18:00:00Z"}, "starts_at", "in the past"),
        ({"reminders": ["3 days"]}, "reminders[0]", "not an ISO 8601 duration"),
        ({"reminders": ["P1M"]}, "reminders[0]", "not an ISO 8601 duration"),
        ({"reminders": ["PT0H"]}, "reminders[0]", "above zero"),
        ({"reminders": "P3D"}, "reminders", "must be a list"),
        ({"location": None}, "location", "give a location, a virtual_url, or both"),
        ({"virtual_url": "javascript:alert(1)"}, "virtual_url", "http(s)"),
        ({"title": "  "}, "title", "required"),
        ({"title": "x" * 201}, "title", "at most 200"),
        ({"timezone": "Mars/Olympus"}, "timezone", "not a known time zone"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_create_meeting_names_the_field_to_fix(
    rt: Runtime, fields: dict[str, object], field: str, says: str
) -> None:
    good = {"title": "Town hall", "starts_at": NY_SATURDAY_EVENING, "location": "Hall"}
    with pytest.raises(InvalidInputError) as caught:
        meetings.create_meeting(rt, **{**good, **fields})
    assert caught.value.field == field
    assert says in caught.value.message


def test_a_series_error_names_the_occurrence(rt: Runtime) -> None:
    with pytest.raises(InvalidInputError) as caught:
        meetings.create_series(
            rt,
            "Walks",
            [{"starts_at": NY_SATURDAY_EVENING}, {"starts_at": "soon"}],
            location="Park",
        )
    assert caught.value.field == "occurrences[1].starts_at"
    with transaction(rt.db) as session:
        assert conversations.count_rows(session, Reminder) == 0, "nothing half-saved"


def test_each_meeting_has_an_ics_file(rt: Runtime, client: FlaskClient) -> None:
    meeting = meetings.create_meeting(
        rt,
        title="Safety, parks; and you",
        starts_at=NY_SATURDAY_EVENING,
        location="Biblioteca Central, Sala 2",
        virtual_url="https://meet.example/abc",
        accessibility="Rampa de acceso y subtítulos en pantalla para todas las personas asistentes",
        duration_minutes=60,
    )
    response = client.get(f"/meetings/{meeting.id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\n")
    assert body.endswith("END:VCALENDAR\r\n")
    assert "\n" not in body.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    unfolded = body.replace("\r\n ", "")
    assert "SUMMARY:Safety\\, parks\\; and you\r\n" in unfolded
    assert "DTSTART:20261128T233000Z\r\nDTEND:20261129T003000Z" in unfolded
    assert "LOCATION:Biblioteca Central\\, Sala 2" in unfolded
    assert "subtítulos en pantalla" in unfolded
    assert "\\nhttps://meet.example/abc" in unfolded
    assert client.get("/meetings/999.ics").status_code == 404
