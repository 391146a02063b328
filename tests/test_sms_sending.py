"""The worker sends SMS with the real twilio client: errors as Twilio means them, paced."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest

from bot.config import Settings
from bot.segments import count_segments
from bot.worker import Worker
from channels import twilio_sms
from channels.base import FAILED, OPTED_OUT, RETRY, UNREACHABLE, Outbound
from storage import conversations, outbox
from storage.db import transaction
from storage.models import Outbox
from tests.conftest import Clock
from tests.fakes._http import RecordedRequest, Reply
from tests.fakes.twilio_api import FakeTwilio
from tests.sms_kit import SmsLine, sms_line

RESIDENT = "+15558675310"


@pytest.fixture
def line(settings: Settings, clock: Clock) -> Iterator[SmsLine]:
    """The agency's SMS line, talking to a FakeTwilio."""
    with sms_line(settings, clock) as sms:
        yield sms


def _queue(line: SmsLine, number: str, text: str, **values: object) -> int | None:
    """An outbox row for a resident, as a broadcast or a reply would write it (None: refused)."""
    now = line.rt.now()
    with transaction(line.rt.db) as session:
        contact = conversations.get_or_create_contact(session, twilio_sms.NAME, number, now)
        row = {"contact_id": contact.id, "channel": twilio_sms.NAME, "text": text}
        row.update({"created_at": now, "next_attempt_at": now, **values})
        items = outbox.enqueue(session, [row])
        session.flush()
        return items[0].id if items else None


def _row(line: SmsLine, row_id: int | None) -> Outbox:
    assert row_id is not None
    with transaction(line.rt.db) as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        return row


def test_a_number_sender_and_status_callback_are_used_when_configured(
    settings: Settings, clock: Clock
) -> None:
    with sms_line(
        settings,
        clock,
        twilio_messaging_service_sid=None,
        twilio_from="+15017122661",
        public_url="https://townline.example.org",
    ) as line:
        row_id = _queue(line, RESIDENT, "Hello", choices=[{"key": "1", "label": "Yes"}])
        line.drain()
        [sms] = line.fake.messages()
        assert (sms.from_, sms.messaging_service_sid) == ("+15017122661", None)
        assert sms.status_callback == "https://townline.example.org/sms/twilio/status"
        assert sms.body == "Hello\n1 Yes"
        assert _row(line, row_id).provider_id == sms.sid


def test_without_public_url_no_status_callback_is_asked_for(line: SmsLine) -> None:
    _queue(line, RESIDENT, "Hello")
    line.drain()
    assert "StatusCallback" not in line.fake.requests[0].params


def test_21610_at_send_time_opts_the_resident_out_and_is_never_retried(
    line: SmsLine, clock: Clock
) -> None:
    line.fake.fail_next(400, 21610)
    first = _queue(line, RESIDENT, "Reminder: meeting tonight", kind="broadcast", priority=10)
    line.drain()
    row = _row(line, first)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "twilio 21610 (HTTP 400)")
    assert line.contact(RESIDENT).opted_out_at is not None
    clock.advance(hours=1)
    later = _queue(line, RESIDENT, "Another reminder", kind="broadcast", priority=10)
    line.drain()
    assert len(line.fake.requests) == 1
    assert _row(line, first).status == "failed"
    assert later is None  # the agency's record said no before anything was queued


@pytest.mark.parametrize("code", [21211, 21614])
def test_an_invalid_number_is_marked_unreachable(line: SmsLine, code: int) -> None:
    line.fake.fail_next(400, code)
    row_id = _queue(line, RESIDENT, "Hello")
    line.drain()
    assert _row(line, row_id).status == "failed"
    assert line.contact(RESIDENT).unreachable_at is not None
    assert len(line.fake.requests) == 1


def test_a_rate_limit_is_retried_after_the_backoff(line: SmsLine, clock: Clock) -> None:
    line.fake.fail_next(429)
    row_id = _queue(line, RESIDENT, "Hello")
    line.drain()
    row = _row(line, row_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "twilio 20429 (HTTP 429)")
    due = row.next_attempt_at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    assert due == clock.now + timedelta(seconds=5)
    assert line.drain() == 0  # not due yet: Twilio is not hammered
    clock.now = due + timedelta(seconds=1)
    line.drain()
    row = _row(line, row_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert [m.body for m in line.fake.messages()] == ["Hello"]


def test_a_server_error_is_retried_not_dropped(line: SmsLine, clock: Clock) -> None:
    line.fake.fail_next(500)
    line.fake.fail_next(503, 20503)
    row_id = _queue(line, RESIDENT, "Hello")
    for _ in range(3):
        line.drain()
        clock.advance(minutes=5)
    row = _row(line, row_id)
    assert (row.status, row.attempts) == ("sent", 3)


def test_a_carrier_filter_at_send_time_fails_and_flags_staff(line: SmsLine) -> None:
    line.fake.fail_next(400, 30007)
    row_id = _queue(line, RESIDENT, "Hello")
    line.drain()
    row = _row(line, row_id)
    assert (row.status, row.needs_staff) == ("failed", True)
    assert line.contact(RESIDENT).unreachable_at is None


def test_a_timeout_is_retried(settings: Settings, clock: Clock) -> None:
    with sms_line(settings, clock) as line:
        channel = twilio_sms.TwilioSmsChannel(
            line.rt.channels[twilio_sms.NAME].config,  # type: ignore[attr-defined]
            timeout=0.2,
        )
        line.fake.fail_next(500, delay=2.0)
        message = Outbound(outbox_id=1, channel=twilio_sms.NAME, address=RESIDENT, text="Hi")
        try:
            result = channel.send(message)
        finally:
            channel.close()
        assert result.outcome == RETRY
        assert result.error == "network: ReadTimeout"


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (400, 21610, OPTED_OUT),
        (400, 21211, UNREACHABLE),
        (400, 21614, UNREACHABLE),
        (400, 30005, UNREACHABLE),
        (400, 30006, UNREACHABLE),
        (429, 20429, RETRY),
        (429, None, RETRY),
        (500, 20500, RETRY),
        (502, None, RETRY),
        (400, 30007, FAILED),
        (400, 21602, FAILED),
        (401, 20003, FAILED),
    ],
)
def test_every_error_means_what_twilio_means(status: int, code: int | None, outcome: str) -> None:
    result = twilio_sms.send_error(status, code)
    assert result.outcome == outcome
    assert result.flag_staff == (outcome == FAILED)


def test_cost_is_the_segments_of_the_rendered_text(line: SmsLine) -> None:
    channel = line.rt.channels[twilio_sms.NAME]
    choices = [{"key": "1", "label": "Sí"}, {"key": "2", "label": "No"}]
    message = Outbound(1, twilio_sms.NAME, RESIDENT, "a" * 150, choices=choices)
    rendered = "a" * 150 + "\n1 Sí\n2 No"
    assert count_segments(rendered).segments == 3  # the í makes it UCS-2
    assert channel.cost(message) == 3
    assert channel.cost(Outbound(2, twilio_sms.NAME, RESIDENT, "a" * 160)) == 1
    assert channel.cost(Outbound(3, twilio_sms.NAME, RESIDENT, "a" * 1600)) == 11


def test_conversational_replies_go_before_bulk(line: SmsLine, clock: Clock) -> None:
    for n in range(3):
        _queue(line, f"+1555000000{n}", f"Meeting reminder {n}", kind="broadcast", priority=10)
    clock.advance(seconds=30)  # the reply is queued later but is due all the same
    _queue(line, RESIDENT, "Thanks, we've kept your words", priority=0)
    line.drain()
    bodies = [m.body for m in line.fake.messages()]
    assert bodies[0] == "Thanks, we've kept your words"
    assert sorted(bodies[1:]) == [f"Meeting reminder {n}" for n in range(3)]


class _Stamped(FakeTwilio):
    """A FakeTwilio that notes the pacing clock's time of every request it receives."""

    def __init__(self, clock: _MonotonicClock) -> None:
        self.clock = clock
        self.stamps: list[tuple[float, int]] = []
        super().__init__()

    def handle(self, request: RecordedRequest) -> Reply:
        self.stamps.append((self.clock.now, count_segments(request.params["Body"]).segments))
        return super().handle(request)


class _MonotonicClock:
    """Stands in for time.monotonic; the worker's sleep is the only thing that moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("mps", [1.0, 3.0])
def test_sending_never_exceeds_twilio_mps_in_segments(
    settings: Settings, clock: Clock, mps: float
) -> None:
    pacing = _MonotonicClock()
    fake = _Stamped(pacing)
    with fake, sms_line(settings, clock, twilio_mps=mps) as line:
        line.rt.channels[twilio_sms.NAME].client = fake.client()  # type: ignore[attr-defined]
        bodies = ["short"] * 4 + ["x" * 400] * 2 + ["é" * 100, "ok"] + ["y" * 160] * 3
        for n, body in enumerate(bodies):
            _queue(line, f"+1555000{n:04d}", body)
        Worker(line.rt, sleep=pacing.sleep, wall=pacing).drain()
    assert len(fake.stamps) == len(bodies)
    assert pacing.slept  # it had to wait
    capacity = max(1.0, mps)  # the bucket may start full: one second's worth
    for i, (start, _) in enumerate(fake.stamps):
        for j in range(i, len(fake.stamps)):
            end = fake.stamps[j][0]
            sent = sum(seg for _, seg in fake.stamps[i : j + 1])
            # Everything sent in [start, end] fits the bucket: its burst plus the rate, except
            # that one message dearer than the burst may borrow from the seconds after it.
            dearest = max(seg for _, seg in fake.stamps[i : j + 1])
            assert sent <= max(capacity, dearest) + mps * (end - start) + 1e-9, (i, j)
    total_time = fake.stamps[-1][0] - fake.stamps[0][0]
    total = sum(seg for _, seg in fake.stamps)
    assert total_time >= (total - capacity - 3) / mps  # the rate was actually the limit
