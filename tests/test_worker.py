"""The outbox worker: claims atomically, paces, retries, respects opt-out and quiet hours."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.runtime import Runtime
from bot.worker import MAX_ATTEMPTS, Worker, backoff
from channels.base import RETRY, SENT, Outbound, SendResult
from storage import conversations, outbox
from storage.db import transaction
from storage.models import Outbox
from storage.scheduling import reserve
from tests.conftest import Clock


@dataclass
class RecordingChannel:
    """A channel that records sends and answers from a script: the worker's wire, faked."""

    name: str = "recorder"
    rate_per_second: float = 1000.0
    script: list[SendResult] = field(default_factory=list)
    sent: list[Outbound] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cost(self, message: Outbound) -> int:
        return 1

    def send(self, message: Outbound) -> SendResult:
        with self.lock:
            self.sent.append(message)
            return self.script.pop(0) if self.script else SendResult(SENT, f"p-{message.outbox_id}")


def _queue(rt: Runtime, n: int, **values: object) -> list[int]:
    with transaction(rt.db) as session:
        ids = []
        for i in range(n):
            contact = conversations.get_or_create_contact(session, "recorder", f"r{i}", rt.now())
            values = {"channel": "recorder", "text": f"hello {i}", "kind": "reply", **values}
            [row] = outbox.enqueue(
                session, [{"contact_id": contact.id, "next_attempt_at": rt.now(), **values}]
            )
            session.flush()
            ids.append(row.id)
        return ids


def _row(rt: Runtime, outbox_id: int) -> Outbox:
    with transaction(rt.db) as session:
        row = session.get(Outbox, outbox_id)
        assert row is not None
        return row


def test_sends_each_row_once_and_records_the_provider_id(rt: Runtime) -> None:
    channel = RecordingChannel()
    rt.channels["recorder"] = channel
    [row_id] = _queue(rt, 1)
    assert Worker(rt).drain() == 1
    row = _row(rt, row_id)
    assert (row.status, row.provider_id, row.attempts) == ("sent", f"p-{row_id}", 1)
    assert Worker(rt).drain() == 0


def test_replies_go_before_bulk_messages(rt: Runtime) -> None:
    channel = RecordingChannel()
    rt.channels["recorder"] = channel
    _queue(rt, 3, priority=10, kind="broadcast", proactive=True)
    _queue(rt, 1, priority=0)
    Worker(rt).run_once(limit_per_channel=1)
    assert channel.sent[0].kind == "reply"


def test_a_transient_failure_is_retried_later_with_backoff(rt: Runtime, clock: Clock) -> None:
    channel = RecordingChannel(script=[SendResult(RETRY, error="HTTP 500")])
    rt.channels["recorder"] = channel
    [row_id] = _queue(rt, 1)
    Worker(rt).drain()
    row = _row(rt, row_id)
    assert (row.status, row.last_error) == ("pending", "HTTP 500")
    assert row.next_attempt_at == clock.now + timedelta(seconds=backoff(1))
    assert Worker(rt).drain() == 0  # not due yet
    clock.advance(seconds=backoff(1))
    Worker(rt).drain()
    assert _row(rt, row_id).status == "sent"


def test_retry_after_from_the_provider_wins_over_a_shorter_backoff(
    rt: Runtime, clock: Clock
) -> None:
    rt.channels["recorder"] = RecordingChannel(script=[SendResult(RETRY, retry_after=120)])
    [row_id] = _queue(rt, 1)
    Worker(rt).drain()
    assert _row(rt, row_id).next_attempt_at == clock.now + timedelta(seconds=120)


def test_after_the_last_attempt_the_row_fails_visibly_not_silently(
    rt: Runtime, clock: Clock
) -> None:
    rt.channels["recorder"] = RecordingChannel(
        script=[SendResult(RETRY, error="down")] * MAX_ATTEMPTS
    )
    [row_id] = _queue(rt, 1)
    for _ in range(MAX_ATTEMPTS):
        Worker(rt).drain()
        clock.advance(hours=1)
    row = _row(rt, row_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", MAX_ATTEMPTS, "gave up: down")


def test_a_crashed_workers_rows_are_reclaimed_after_the_lease(rt: Runtime, clock: Clock) -> None:
    rt.channels["recorder"] = RecordingChannel()
    [row_id] = _queue(rt, 1)
    now = clock.now
    claimed = outbox.claim(rt.db, now=now, lease_until=now + timedelta(seconds=60), limit=10)
    assert [r.id for r in claimed] == [row_id]  # ...and then the worker dies
    assert Worker(rt).drain() == 0
    clock.advance(seconds=61)
    assert Worker(rt).drain() == 1
    assert _row(rt, row_id).attempts == 2


def test_an_opted_out_resident_gets_nothing_queued_before_they_opted_out(rt: Runtime) -> None:
    channel = RecordingChannel()
    rt.channels["recorder"] = channel
    [row_id] = _queue(rt, 1, kind="broadcast", proactive=True, priority=10)
    with transaction(rt.db) as session:
        conversations.update_contact(session, 1, opted_out_at=rt.now())
    Worker(rt).drain()
    assert channel.sent == []
    assert _row(rt, row_id).status == "cancelled"


def test_proactive_messages_wait_for_the_end_of_quiet_hours(rt: Runtime, clock: Clock) -> None:
    channel = RecordingChannel()
    rt.channels["recorder"] = channel
    clock.now = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # 22:30 in New York
    [bulk] = _queue(rt, 1, kind="broadcast", proactive=True, priority=10)
    [reply] = _queue(rt, 1)
    Worker(rt).drain()
    assert [m.outbox_id for m in channel.sent] == [reply]  # a reply is never held
    held = _row(rt, bulk)
    assert held.status == "pending"
    assert held.next_attempt_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 08:00 local
    clock.now = held.next_attempt_at
    Worker(rt).drain()
    assert _row(rt, bulk).status == "sent"


def test_two_workers_never_send_the_same_row(rt: Runtime) -> None:
    channel = RecordingChannel()
    rt.channels["recorder"] = channel
    _queue(rt, 60)
    workers = [Worker(rt) for _ in range(3)]
    threads = [threading.Thread(target=w.drain) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [m.outbox_id for m in channel.sent]
    assert len(ids) == 60
    assert len(set(ids)) == 60


def test_workers_share_one_pace_per_channel(rt: Runtime) -> None:
    """Slots come from one row per channel, so three workers together keep to one rate."""
    slots = [reserve(rt.db, "recorder", 0.5, now=100.0) for _ in range(3)]
    assert slots == [100.0, 100.5, 101.0]
    assert reserve(rt.db, "recorder", 0.5, now=200.0) == 200.0  # idle time is not banked


def test_a_worker_waits_for_its_slot_at_the_channel_rate(rt: Runtime) -> None:
    channel = RecordingChannel(rate_per_second=2.0)
    rt.channels["recorder"] = channel
    _queue(rt, 6)
    wall = [1000.0]
    sent_at: list[float] = []
    original = channel.send

    def stamped(message: Outbound) -> SendResult:
        sent_at.append(wall[0])
        return original(message)

    channel.send = stamped  # type: ignore[method-assign]
    Worker(rt, sleep=lambda s: wall.__setitem__(0, wall[0] + s), wall=lambda: wall[0]).drain()
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert len(sent_at) == 6
    assert all(abs(g - 0.5) < 1e-6 for g in gaps)


def test_an_unreachable_address_gets_no_bulk_until_the_resident_writes_again(
    rt: Runtime,
) -> None:
    from bot.conversation import receive
    from bot.events import Inbound

    channel = RecordingChannel()
    rt.channels["recorder"] = channel
    [bulk] = _queue(rt, 1, kind="broadcast", proactive=True, priority=10)
    with transaction(rt.db) as session:
        conversations.update_contact(session, 1, unreachable_at=rt.now())
    Worker(rt).drain()
    assert channel.sent == []
    assert (_row(rt, bulk).status, _row(rt, bulk).last_error) == ("cancelled", "unreachable")

    receive(rt, Inbound("recorder", "r0", "I got a new phone, same number", "p-new"))
    [later] = _queue(rt, 1, kind="broadcast", proactive=True, priority=10)
    Worker(rt).drain()
    assert later in [m.outbox_id for m in channel.sent]


def test_a_claim_takes_no_more_rows_than_its_limit_on_a_freshly_filled_table(rt: Runtime) -> None:
    """The pacer asks for exactly what the provider may take now; more would be sent late.

    On PostgreSQL a plain `IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` may be re-run per
    outer row on a table the planner has no statistics for, taking several rows for n = 1.
    """
    _queue(rt, 150)
    taken = 0
    for _ in range(100):
        rows = outbox.claim(
            rt.db, now=rt.now(), lease_until=rt.now() + timedelta(seconds=13), limit=1
        )
        assert len(rows) <= 1
        taken += len(rows)
    with transaction(rt.db) as session:
        sending = session.exec(select(Outbox).where(col(Outbox.status) == "sending")).all()
    assert taken == len(sending) == 100
