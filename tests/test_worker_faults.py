"""Stories: the worker keeps sending through a slow, failing or ambiguous provider, and crashes.

Real HTTP to fake gateways on 127.0.0.1: the FaultyProvider (500, 429, late or held answers on
demand) and, for the ambiguous case through the real twilio client, a FakeTwilio that accepts
a message and answers after the client has given up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bench.faults import run_faults
from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.worker import LEASE_HOLD_SECONDS, MAX_ATTEMPTS, RETRY_SCHEDULE, Worker, backoff
from channels import twilio_sms
from channels.twilio_config import TwilioConfig
from storage import conversations, outbox
from storage.db import transaction
from storage.models import Outbox
from tests.conftest import Clock
from tests.fakes._http import RecordedRequest, Reply
from tests.fakes.faulty_provider import (
    ERROR,
    HOLD,
    LATE,
    LIMITED,
    FaultyHttpChannel,
    FaultyProvider,
)
from tests.fakes.twilio_api import FakeTwilio
from tests.sms_kit import twilio_settings

PATIENCE = 20.0  # seconds a story waits for something that should happen at once, before failing


@pytest.fixture
def provider() -> Iterator[FaultyProvider]:
    """A fake gateway whose answers each story plans; late answers come after 0.6 s."""
    fake = FaultyProvider(late_seconds=0.6)
    yield fake
    fake.release()
    fake.close()


@pytest.fixture
def channel(rt: Runtime, provider: FaultyProvider) -> Iterator[FaultyHttpChannel]:
    """The channel to it, giving up on an answer after 0.2 s."""
    bulk = FaultyHttpChannel(provider.url, rate=1000, send_timeout=0.2)
    rt.channels["bulk"] = bulk
    yield bulk
    bulk.close()


def _queue(rt: Runtime, *addresses: str) -> list[int]:
    """One outbox row per address (repeat an address for several rows to one resident)."""
    ids = []
    with transaction(rt.db) as session:
        for n, address in enumerate(addresses):
            contact = conversations.get_or_create_contact(session, "bulk", address, rt.now())
            [row] = outbox.enqueue(
                session,
                [
                    {
                        "contact_id": contact.id,
                        "channel": "bulk",
                        "text": f"message {n}",
                        "next_attempt_at": rt.now(),
                    }
                ],
            )
            session.flush()
            assert row.id is not None
            ids.append(row.id)
    return ids


def _row(rt: Runtime, row_id: int) -> Outbox:
    with transaction(rt.db) as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        return row


def _eventually(check: Callable[[], bool]) -> bool:
    """Poll until `check()` holds; False only if it never does within PATIENCE."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def _in_background(run: Callable[[], int]) -> tuple[threading.Thread, list[int]]:
    """Run a worker call in a thread; the list gets what it returned."""
    handled: list[int] = []
    thread = threading.Thread(target=lambda: handled.append(run()), daemon=True)
    thread.start()
    return thread, handled


def test_one_send_held_by_the_provider_does_not_stop_the_rest_of_the_batch(
    rt: Runtime, provider: FaultyProvider, channel: FaultyHttpChannel
) -> None:
    channel.send_timeout = 30.0  # the held answer is slow, not late
    first, *others = _queue(rt, *(f"+1555000{n:04d}" for n in range(6)))
    provider.plan(first, HOLD)
    thread, handled = _in_background(Worker(rt).drain)
    assert _eventually(lambda: all(provider.received(ref) == 1 for ref in others))
    assert provider.holding == 1, "the first answer is still held while the others went"
    assert thread.is_alive(), "the worker is still waiting for that answer"
    provider.release()
    thread.join(PATIENCE)
    assert handled == [6]
    assert {_row(rt, ref).status for ref in [first, *others]} == {"sent"}
    assert provider.duplicates == 0


def test_a_residents_messages_stay_in_order_behind_a_slow_one(
    rt: Runtime, provider: FaultyProvider, channel: FaultyHttpChannel
) -> None:
    channel.send_timeout = 30.0
    first, second, other = _queue(rt, "+15550001111", "+15550001111", "+15550002222")
    provider.plan(first, HOLD)
    thread, _ = _in_background(Worker(rt).drain)
    assert _eventually(lambda: provider.received(other) == 1)
    assert provider.received(second) == 0, "the resident's second message waits for the first"
    provider.release()
    thread.join(PATIENCE)
    assert provider.received(second) == 1
    accepted = provider.snapshot()
    assert accepted[first][0].seq < accepted[second][0].seq


def test_a_late_answer_is_retried_and_makes_exactly_one_duplicate(
    rt: Runtime, clock: Clock, provider: FaultyProvider, channel: FaultyHttpChannel
) -> None:
    [row_id] = _queue(rt, "+15550003333")
    provider.plan(row_id, LATE)
    Worker(rt).drain()
    row = _row(rt, row_id)
    assert (row.status, row.last_error) == ("pending", "network: timeout")
    assert row.next_attempt_at == clock.now + timedelta(seconds=backoff(1))
    assert provider.received(row_id) == 1, "it went, though the worker could not know"
    clock.advance(seconds=backoff(1))
    Worker(rt).drain()
    assert (_row(rt, row_id).status, _row(rt, row_id).attempts) == ("sent", 2)
    assert (provider.received(row_id), provider.duplicates, provider.late) == (2, 1, 1)


class _LateTwilio(FakeTwilio):
    """A FakeTwilio that creates the first message at once but answers after 1 s."""

    def __init__(self) -> None:
        self.stalled = False
        super().__init__()

    def handle(self, request: RecordedRequest) -> Reply:
        reply = super().handle(request)
        if reply.status == 201 and not self.stalled:
            self.stalled = True
            reply.delay = 1.0
        return reply


def test_a_late_answer_from_twilio_is_retried_through_the_real_client(
    settings: Settings, clock: Clock
) -> None:
    with _LateTwilio() as fake:
        configured = twilio_settings(settings, fake)
        rt = build_runtime(configured, clock=clock)
        config = TwilioConfig.from_settings(configured)
        assert config is not None
        sms = twilio_sms.TwilioSmsChannel(config, timeout=0.3)
        rt.channels[twilio_sms.NAME] = sms
        try:
            with transaction(rt.db) as session:
                contact = conversations.get_or_create_contact(
                    session, twilio_sms.NAME, "+15558675310", clock.now
                )
                [row] = outbox.enqueue(
                    session,
                    [
                        {
                            "contact_id": contact.id,
                            "channel": twilio_sms.NAME,
                            "text": "Hello",
                            "next_attempt_at": clock.now,
                        }
                    ],
                )
                session.flush()
                row_id = row.id
            assert row_id is not None
            Worker(rt).drain()
            assert _row(rt, row_id).last_error == "network: ReadTimeout"
            clock.advance(seconds=backoff(1))
            Worker(rt).drain()
            assert _row(rt, row_id).status == "sent"
            assert [m.body for m in fake.messages()] == ["Hello", "Hello"]  # one duplicate
        finally:
            sms.close()
            rt.db.dispose()


def test_500_and_429_are_retried_within_seconds(
    rt: Runtime, clock: Clock, provider: FaultyProvider, channel: FaultyHttpChannel
) -> None:
    [row_id] = _queue(rt, "+15550004444")
    provider.plan(row_id, ERROR, LIMITED)
    waited = 0.0
    for error in ("HTTP 500", "HTTP 429"):
        Worker(rt).drain()
        row = _row(rt, row_id)
        assert (row.status, row.last_error) == ("pending", error)
        wait = (row.next_attempt_at - clock.now).total_seconds()
        assert wait == max(backoff(row.attempts), provider.retry_after if "429" in error else 0)
        waited += wait
        clock.advance(seconds=wait)
    Worker(rt).drain()
    assert _row(rt, row_id).status == "sent"
    assert waited <= 10, "two blips cost seconds, not minutes"
    assert provider.duplicates == 0


def test_a_retry_after_longer_than_the_backoff_is_honoured(rt: Runtime, clock: Clock) -> None:
    with FaultyProvider(retry_after=90) as slow_down:
        bulk = FaultyHttpChannel(slow_down.url, rate=1000, send_timeout=1.0)
        rt.channels["bulk"] = bulk
        [row_id] = _queue(rt, "+15550005555")
        slow_down.plan(row_id, LIMITED)
        Worker(rt).drain()
        bulk.close()
    assert _row(rt, row_id).next_attempt_at == clock.now + timedelta(seconds=90)


def test_an_outage_is_waited_out_not_hammered() -> None:
    """Blips are retried within seconds; a row failing every time is given well over an hour."""
    waits = [backoff(attempt) for attempt in range(1, MAX_ATTEMPTS)]
    assert waits == sorted(waits)
    assert sum(waits[:3]) <= 15
    assert sum(waits) >= 3600
    assert max(waits) == RETRY_SCHEDULE[-1]


def test_a_row_that_waited_too_long_for_its_turn_goes_back_unsent(
    rt: Runtime, clock: Clock, provider: FaultyProvider, channel: FaultyHttpChannel
) -> None:
    """Its lease may run out mid-send, and another worker may then take it: it is not sent."""
    channel.send_timeout = 30.0
    first, second = _queue(rt, "+15550006666", "+15550006666")
    provider.plan(first, HOLD)
    thread, handled = _in_background(Worker(rt).run_once)  # one batch: both rows
    assert _eventually(lambda: provider.holding == 1)
    clock.advance(seconds=LEASE_HOLD_SECONDS + 1)  # the second waited behind the first
    provider.release()
    thread.join(PATIENCE)
    assert handled == [2]
    row = _row(rt, second)
    assert (row.status, row.attempts, row.lease_until) == ("pending", 0, None)
    assert provider.received(second) == 0
    Worker(rt).drain()
    assert _row(rt, second).status == "sent"
    assert provider.duplicates == 0


def test_nothing_is_lost_when_the_worker_process_is_killed_mid_broadcast(
    database_url: str, tmp_path: Path
) -> None:
    """A real worker process, SIGKILLed while sending through a faulty gateway, restarted."""
    report = run_faults(
        database_url,
        n=150,
        rate=150,
        kills=1,
        fault_rate=0.0,  # faults have their own stories; this one is about the kill
        timeout=0.5,
        deadline=120,
        log_dir=tmp_path,
    )
    assert (report.delivered, report.pending, report.lost) == (150, 0, 0)
    assert report.duplicates <= report.ambiguous
    assert report.worker_errors == 0


def test_closing_a_worker_puts_rows_not_yet_started_back_at_once(
    rt: Runtime, provider: FaultyProvider, channel: FaultyHttpChannel
) -> None:
    """`townline serve` stopping (or `townline worker`): claimed rows still waiting for their
    slot go back unsent and due now, instead of waiting out a lease; none is lost or doubled."""
    channel.rate_per_second = 4.0  # four rows claimed, slots a quarter of a second apart
    ids = _queue(rt, *(f"+1555001{n:04d}" for n in range(4)))
    worker = Worker(rt)
    worker.pump()
    worker.close()  # at once: at most the first slot has come
    rows = [_row(rt, row_id) for row_id in ids]
    back = [r for r in rows if r.status == outbox.PENDING]
    assert len(back) >= 2
    for row in back:
        assert (row.lease_until, row.attempts) == (None, 0)
        assert provider.received(row.id or 0) == 0
    for row in rows:
        if row.status != outbox.PENDING:
            assert row.status == outbox.SENT
            assert provider.received(row.id or 0) == 1
