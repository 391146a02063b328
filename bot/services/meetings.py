"""Community meetings: create them (alone or as a rotating series), remind subscribers, count RSVPs.

A series is a title plus a list of occurrences, each with its own place, day and time.
Staff rotate meetings between places, days and times that follow no rule a recurrence
pattern could express (the second Tuesday at the library, then a Saturday morning in the
park), so listing occurrences is simpler to enter, to read back and to change one at a time
than a rule with exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.dates import format_when
from bot.events import MeetingView
from bot.runtime import Runtime
from bot.services.validation import (
    InvalidInputError,
    parse_duration,
    parse_instant,
    parse_zone,
    text_field,
    web_link,
)
from storage import meetings as store
from storage import outbox
from storage.db import transaction
from storage.models import Meeting, MeetingSeries

MORNING = "morning"
MORNING_AT = time(9, 0)  # after the default quiet hours end, before most people's day fills
MIN_NOTICE = timedelta(hours=1)  # a morning-of reminder comes at least this long before
MAX_REMINDER = timedelta(days=60)
FIELDS = {
    "title",
    "starts_at",
    "timezone",
    "duration_minutes",
    "location",
    "virtual_url",
    "neighbourhood",
    "titles",
    "locations",
    "accessibility",
    "language_notes",
    "notes",
    "reminders",
}


def create_meeting(rt: Runtime, **fields: Any) -> Meeting:
    """Validate and store one meeting with its reminder timers; nothing is stored on error."""
    values, offsets = _validated(rt, fields)
    with transaction(rt.db) as session:
        return _store(rt, session, values, offsets, series_id=None)


def create_series(
    rt: Runtime, title: str, occurrences: Sequence[Mapping[str, Any]], **shared: Any
) -> tuple[MeetingSeries, list[Meeting]]:
    """A series: `shared` fields apply to every occurrence, each occurrence may override them."""
    name = text_field(title, "title", max_length=200, required=True)
    if not occurrences:
        raise InvalidInputError("occurrences", "a series needs at least one occurrence")
    checked = []
    for i, occurrence in enumerate(occurrences):
        try:
            checked.append(_validated(rt, {"title": name, **shared, **occurrence}))
        except InvalidInputError as exc:
            raise InvalidInputError(f"occurrences[{i}].{exc.field}", exc.message) from exc
    with transaction(rt.db) as session:
        series = store.add_series(session, str(name), rt.now())
        made = [_store(rt, session, v, o, series_id=series.id) for v, o in checked]
    return series, made


def _validated(rt: Runtime, fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise InvalidInputError(unknown[0], f"unknown field; expected some of {sorted(FIELDS)}")
    starts_at = parse_instant(fields.get("starts_at"), "starts_at")
    if starts_at <= rt.now():
        raise InvalidInputError("starts_at", "is in the past")
    location = text_field(fields.get("location"), "location", max_length=300)
    virtual_url = web_link(fields.get("virtual_url"), "virtual_url", max_length=500)
    if location is None and virtual_url is None:
        raise InvalidInputError("location", "give a location, a virtual_url, or both")
    duration = fields.get("duration_minutes", 90)
    if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= 1440:
        raise InvalidInputError("duration_minutes", "must be a whole number of minutes, 1 to 1440")
    values = {
        "title": text_field(fields.get("title"), "title", max_length=200, required=True),
        "starts_at": starts_at,
        "timezone": parse_zone(fields.get("timezone") or rt.settings.timezone, "timezone"),
        "duration_minutes": duration,
        "location": location,
        "virtual_url": virtual_url,
        "neighbourhood": text_field(fields.get("neighbourhood"), "neighbourhood", max_length=120),
        "titles": _per_language(rt, fields.get("titles"), "titles", max_length=200),
        "locations": _per_language(rt, fields.get("locations"), "locations", max_length=300),
        "accessibility": text_field(fields.get("accessibility"), "accessibility", max_length=500),
        "language_notes": text_field(
            fields.get("language_notes"), "language_notes", max_length=500
        ),
        "notes": text_field(fields.get("notes"), "notes", max_length=2000),
    }
    return values, _offsets(fields.get("reminders", None), rt.settings.reminder_offsets)


def _per_language(rt: Runtime, value: Any, field: str, *, max_length: int) -> dict[str, str]:
    """{"es": "...", "zh": "..."}: texts in configured languages; absent means none."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(field, 'must be an object of texts by language, e.g. {"es": …}')
    out = {}
    for lang, text in value.items():
        if lang not in rt.settings.languages:
            known = ", ".join(rt.settings.languages)
            raise InvalidInputError(f"{field}.{lang}", f"unknown language; configured: {known}")
        checked = text_field(text, f"{field}.{lang}", max_length=max_length)
        if checked is not None:
            out[str(lang)] = checked
    return out


def _offsets(value: Any, default: Sequence[str]) -> list[str]:
    """Reminder offsets: ISO 8601 durations before the start, or "morning"; [] for none."""
    if value is None:
        value = list(default)
    if not isinstance(value, list):
        raise InvalidInputError("reminders", 'must be a list such as ["P3D", "PT2H"]')
    offsets: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, str) and item.strip().lower() == MORNING:
            offset = MORNING
        else:
            delta = parse_duration(item, f"reminders[{i}]")
            if not timedelta(0) < delta <= MAX_REMINDER:
                raise InvalidInputError(f"reminders[{i}]", "must be above zero, at most P60D")
            offset = str(item).strip().upper()
        if offset not in offsets:
            offsets.append(offset)
    return offsets


def _store(
    rt: Runtime, session: Any, values: dict[str, Any], offsets: list[str], series_id: int | None
) -> Meeting:
    now = rt.now()
    meeting = store.add_meeting(
        session, **values, reminders=offsets, series_id=series_id, created_at=now
    )
    assert meeting.id is not None
    zone = ZoneInfo(meeting.timezone)
    for offset in offsets:
        due = reminder_due(values["starts_at"], zone, offset)
        # A reminder whose moment has already passed would arrive out of order: skip it.
        status = store.PENDING if due > now else store.SKIPPED
        store.add_reminder(session, meeting.id, offset, due, status)
    return meeting


def reminder_due(starts_at: datetime, zone: ZoneInfo, offset: str) -> datetime:
    """When a reminder goes: `offset` before the start, or 09:00 on the day (local time)."""
    if offset == MORNING:
        local_day = starts_at.astimezone(zone).date()
        morning = datetime.combine(local_day, MORNING_AT, tzinfo=zone).astimezone(UTC)
        return min(morning, starts_at - MIN_NOTICE)
    return starts_at - parse_duration(offset, "reminders")


def queue_due_reminders(rt: Runtime) -> int:
    """The scheduler's job: queue every due reminder to its subscribers; returns rows queued."""
    now = rt.now()
    with transaction(rt.db) as session:
        due = store.due_reminders(session, now)
    queued = 0
    for reminder in due:
        assert reminder.id is not None
        with transaction(rt.db) as session:
            meeting = store.get_meeting(session, reminder.meeting_id)
            if meeting is None or meeting.cancelled_at is not None:
                store.take_reminder(session, reminder.id, store.SKIPPED)
                continue
            if store.aware(meeting.starts_at) <= now:
                store.take_reminder(session, reminder.id, store.STALE)
                continue
            if not store.take_reminder(session, reminder.id, store.QUEUED, queued_at=now):
                continue
            count = outbox.bulk_enqueue(
                session,
                store.reminder_audience(meeting),
                texts=reminder_texts(rt, meeting, with_link=reminder.offset != MORNING),
                choices=rsvp_choices(rt, meeting),
                default_language=rt.settings.default_language,
                values={
                    "kind": "reminder",
                    "meeting_id": meeting.id,
                    "stale_at": store.aware(meeting.starts_at),
                    "created_at": now,
                    "next_attempt_at": now,
                },
            )
            store.set_reminder_recipients(session, reminder.id, count)
            queued += count
    return queued


def reminder_texts(rt: Runtime, meeting: Meeting, with_link: bool) -> dict[str, str]:
    """The reminder in every language, with the calendar link when the public URL is known."""
    view = meeting_view(meeting, rt.catalog.languages)
    texts = {}
    for lang in rt.catalog.languages:
        title, when, where = view.in_language(lang, rt.settings.default_language)
        body = rt.catalog.text(
            "meeting_reminder",
            lang,
            agency=rt.settings.agency_for(lang),
            title=title,
            when=when,
            where=where,
        )
        if with_link and rt.settings.public_url:
            link = f"{rt.settings.public_url}/meetings/{meeting.id}.ics?lang={lang}"
            body += " " + rt.catalog.text("meeting_calendar", lang, link=link)
        texts[lang] = body
    return texts


def rsvp_choices(rt: Runtime, meeting: Meeting) -> dict[str, list[dict[str, str]]]:
    """Yes / No buttons carrying the meeting id (SMS shows none: key equals label)."""
    choices = {}
    for lang in rt.catalog.languages:
        yes, no = rt.catalog.text("choice_yes", lang), rt.catalog.text("choice_no", lang)
        choices[lang] = [
            {"key": yes, "label": yes, "value": f"rsvp:{meeting.id}:yes"},
            {"key": no, "label": no, "value": f"rsvp:{meeting.id}:no"},
        ]
    return choices


def meeting_view(meeting: Meeting, languages: Sequence[str]) -> MeetingView:
    """Title, day and time in the meeting's time zone, and place, in each language."""
    starts = store.aware(meeting.starts_at)
    titles, whens, wheres = {}, {}, {}
    for lang in languages:
        titles[lang] = (meeting.titles or {}).get(lang) or meeting.title
        whens[lang] = format_when(starts, meeting.timezone, lang)
        location = (meeting.locations or {}).get(lang) or meeting.location
        wheres[lang] = " / ".join(p for p in (location, meeting.virtual_url) if p)
    return MeetingView(titles, whens, wheres)


def upcoming_views(
    rt: Runtime, session: Any, now: datetime, neighbourhood: str | None
) -> tuple[MeetingView, ...]:
    """The next meetings for the meetings flow, narrowed to the resident's chosen neighbourhood."""
    languages = rt.catalog.languages
    return tuple(meeting_view(m, languages) for m in store.upcoming(session, now, neighbourhood))


def summary(rt: Runtime, meeting_id: int) -> dict[str, Any]:
    """RSVP counts and reminder outcomes for one meeting (for the dashboard and the API)."""
    with transaction(rt.db) as session:
        meeting = store.get_meeting(session, meeting_id)
        if meeting is None:
            raise LookupError(f"no meeting {meeting_id}")
        return {
            "id": meeting.id,
            "title": meeting.title,
            "rsvp": store.rsvp_counts(session, meeting_id),
            "reminders": store.reminder_outcomes(session, meeting_id),
        }
