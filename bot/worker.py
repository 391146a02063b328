"""The outbox sender: claim due rows, send each at its channel's rate, record what happened.

Sends run concurrently, paced. For each channel a worker keeps a lane: one pacer that starts
every send at a slot reserved in the database (one pace row per channel, so several workers
together keep to one rate), and a bounded pool of threads that make the sends and record
their outcomes. A provider slow to answer holds one thread, not the channel: the next
send starts at its own slot. Replies to one resident still go one after another, in order.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlmodel import Session

from bot import conversation, linking
from bot.quiet import next_allowed
from bot.runtime import Runtime
from channels.base import (
    FAILED,
    OPTED_OUT,
    RETRY,
    SENT,
    UNREACHABLE,
    Channel,
    Outbound,
    SendResult,
)
from storage import calls, links, outbox
from storage import inbound as inbound_queue
from storage.conversations import update_contact
from storage.db import is_postgres, transaction
from storage.meetings import aware
from storage.models import Contact, Outbox
from storage.scheduling import SchedulerLock, reserve

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
# Seconds before the retry that follows failed attempt n (1-based). A fault that is a blip
# (one 500, one late answer among many good ones) is retried within seconds; a fault that
# keeps coming back is an outage, waited out (84 minutes in all before giving up), not hammered.
# A worker killed while holding a row also counts an attempt, hence four short ones.
# No jitter: retries come back through the channel's pacing, which spreads them anyway.
RETRY_SCHEDULE = (5.0, 5.0, 5.0, 5.0, 10.0, 20.0, 40.0, 120.0, 1200.0, 1800.0, 1800.0)
POLL_SECONDS = 0.5
# A worker in another process than the web on SQLite has no signal that a message was stored
# (PostgreSQL NOTIFYs; `townline serve` sets an event): it looks this often, without a lock.
INBOUND_LOOK_SECONDS = 0.05
# Whatever wakes it, the inbound loop looks at least this often (a lost notification, a
# message waiting out a retry).
INBOUND_IDLE_SECONDS = 1.0
SCHEDULE_SECONDS = 5.0
# Recordings erased or past retention are deleted at Twilio this often (gone from the
# dashboard already; a failed delete is tried again on the next run).
RECORDINGS_SECONDS = 60.0
# Calls placed whose ending never reached us are asked about this often (voice only).
SETTLE_CALLS_SECONDS = 300.0
BATCH_SECONDS = 1.0  # claim about a second's worth of sending at a time
MAX_BATCH = 500
# `pump` claims the next batch while less than this much sending is queued: the pacer never
# runs dry between two polls, and a claimed row waits at most about two batches for its slot.
LOOKAHEAD_SECONDS = 2 * POLL_SECONDS
# Batches and look-ahead are sized from the rate a lane has been getting over this window
# (several workers share a channel's rate), so a claimed row's wait stays short however
# many workers run; never below this fraction of the channel's rate.
SHARE_WINDOW_SECONDS = 2.0
MIN_SHARE = 0.05
# Sends in flight per channel and worker: enough that a whole send timeout's worth of slow
# answers at the channel's rate cannot stall it, within what one process sensibly holds open.
MAX_IN_FLIGHT = 64
# How long one send may take, for channels that do not say (`send_timeout` on the channel):
# the slowest channel here, Telegram, gives a Bot API call 30 s.
DEFAULT_SEND_TIMEOUT_SECONDS = 30.0
# A row's lease covers its wait for a slot (a few batches, several workers sharing the rate),
# the send itself (the channel's timeout) and the recording of its outcome. A row whose
# lease could run out before its send ends is put back unsent, so a worker that reclaims an
# expired lease never sends alongside a live one. A killed worker's rows return this soon.
LEASE_HOLD_SECONDS = 5.0
LEASE_MARGIN_SECONDS = 3.0
# Slots are reserved a quarter second of sending at a time, just before they are used: a
# killed worker leaves at most that much of the channel's time unused.
RESERVE_SECONDS = 0.25
# A pacer that has fallen this far behind its reserved slots (every thread busy with slow
# answers) reserves new slots rather than catching up in a burst over another worker's.
SLIP_SECONDS = 0.1


def backoff(attempts: int) -> float:
    """Seconds before retrying a row whose attempt number `attempts` failed."""
    return RETRY_SCHEDULE[min(max(attempts, 1), len(RETRY_SCHEDULE)) - 1]


def send_timeout(channel: Channel) -> float:
    """The longest one send on this channel may take (its `send_timeout`, when it has one)."""
    return float(getattr(channel, "send_timeout", DEFAULT_SEND_TIMEOUT_SECONDS))


def lease_for(channel: Channel) -> timedelta:
    """How long a claimed row stays this worker's: slot wait, send, record."""
    return timedelta(seconds=LEASE_HOLD_SECONDS + send_timeout(channel) + LEASE_MARGIN_SECONDS)


def in_flight_for(channel: Channel) -> int:
    """Concurrent sends for a channel: its rate times its send timeout, at most MAX_IN_FLIGHT."""
    wanted = math.ceil(channel.rate_per_second * send_timeout(channel))
    return max(1, min(MAX_IN_FLIGHT, wanted))


@dataclass
class _Item:
    """A claimed row waiting for its turn; `slot` (wall-clock epoch seconds) once reserved."""

    row: Outbox
    cost: int
    slot: float | None = None


class _Lane:
    """One channel's sending in one worker: a queue of claimed rows, a pacer, a bounded pool.

    The pacer (the caller of `run_until_empty`, or the lane's own thread under `pump`)
    reserves slots for the head of the queue a little at a time, starts each send at its
    slot, and never sooner after the previous start than that send's cost allows, so a send
    that starts late is not followed by a burst. While answers come back before the next
    slot the sends are in effect sequential; a slower answer only holds its own thread. A
    row waits for the previous row to the same resident to be recorded, so a resident reads
    replies in order and a STOP answered on one row is seen by the next.
    """

    def __init__(self, worker: Worker, name: str, channel: Channel, *, in_order: bool) -> None:
        self.worker = worker
        self.name = name
        self.channel = channel
        self.rate = channel.rate_per_second
        # Blocking callers (tests, `townline chat`) see replies answered before bulk starts;
        # the long-running worker only starts them in that order, as waiting costs rate.
        self.in_order = in_order
        size = in_flight_for(channel)
        self.pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"send-{name}")
        self.gate = threading.BoundedSemaphore(size)
        self.cond = threading.Condition()
        self.queue: deque[_Item] = deque()
        self.futures: set[Future[None]] = set()
        self.chains: dict[int, threading.Event] = {}  # contact id -> its latest send's "done"
        self.errors: list[BaseException] = []
        self.previous: threading.Event | None = None
        self.previous_priority: int | None = None
        self.last_start: float | None = None
        self.last_gap = 0.0
        self.stopping = False
        self.thread: threading.Thread | None = None
        self.started: deque[tuple[float, int]] = deque()  # (wall, cost) of recent starts
        self.busy_since: float | None = None  # since when the queue has not run dry

    def start(self) -> None:
        """Pace from a thread of the lane's own (the long-running worker)."""
        self.thread = threading.Thread(target=self._run, name=f"pace-{self.name}", daemon=True)
        self.thread.start()

    def push(self, items: Iterable[_Item]) -> None:
        """Queue claimed rows behind the ones already waiting."""
        with self.cond:
            self.queue.extend(items)
            if self.queue and self.busy_since is None:
                self.busy_since = self.worker.wall()
            self.cond.notify_all()

    def queued_cost(self) -> int:
        """Rate units (messages, segments) queued and not yet started."""
        with self.cond:
            return sum(item.cost for item in self.queue)

    def share(self) -> float:
        """The rate this lane has been getting (other workers take theirs), in rate units/s.

        The channel's whole rate until the lane has been busy for a window: an idle lane's
        slow starts say nothing about what it could get.
        """
        now = self.worker.wall()
        with self.cond:
            while self.started and self.started[0][0] < now - SHARE_WINDOW_SECONDS:
                self.started.popleft()
            if self.busy_since is None or now - self.busy_since < SHARE_WINDOW_SECONDS:
                return self.rate
            got = sum(cost for _, cost in self.started) / SHARE_WINDOW_SECONDS
        return min(self.rate, max(got, self.rate * MIN_SHARE))

    def run_until_empty(self) -> None:
        """Pace every queued row from the calling thread (`run_once`)."""
        while self.queue and not self.stopping:
            self._start_next()

    def close(self) -> list[Outbox]:
        """Stop pacing, let sends in flight finish; returns the rows never started."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        if self.thread is not None:
            self.thread.join()
        self.pool.shutdown(wait=True)
        with self.cond:
            left = [item.row for item in self.queue]
            self.queue.clear()
        return left

    def raise_errors(self) -> None:
        """A blocking caller hears of a send that raised (a bug, a database error)."""
        if self.errors:
            raise self.errors[0]

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.stopping:
                    self.busy_since = None
                    self.cond.wait()
                if self.stopping:
                    return
            try:
                self._start_next()
            except Exception:  # the database is away: the rows wait for it (or their lease)
                log.exception("pacing channel %s failed; trying again", self.name)
                time.sleep(POLL_SECONDS)

    def _start_next(self) -> None:
        """Wait for the head of the queue's moment, then hand it to a sending thread."""
        if self.previous is not None:  # a quick answer lands before the next send starts
            self.previous.wait(self.last_gap)
        head = self.queue[0]
        if (
            self.in_order
            and self.previous_priority is not None
            and head.row.priority != self.previous_priority
        ):
            self._settle()
        while not self.gate.acquire(timeout=POLL_SECONDS):
            if self.stopping:
                return
        started = False
        try:
            with self.cond:
                if self.stopping or not self.queue:
                    return
                if self.queue[0].slot is None:
                    self._reserve()
                not_before = self._not_before(self.queue[0])
                if self.worker.wall() - not_before > SLIP_SECONDS:
                    for waiting in self.queue:
                        waiting.slot = None
                    self.last_start = None
                    self._reserve()
                    not_before = self._not_before(self.queue[0])
                item = self.queue.popleft()
            now = self.worker.wall()
            if not_before > now:
                self.worker.sleep(not_before - now)
                start = not_before
            else:
                start = now  # late: the next one is spaced from when this one really went
            done = threading.Event()
            with self.cond:
                before = self.chains.get(item.row.contact_id)
                self.chains[item.row.contact_id] = done
            try:
                future = self.pool.submit(self._send, item, before, done)
            except RuntimeError:  # the interpreter is exiting and takes no more work
                with self.cond:
                    if self.chains.get(item.row.contact_id) is done:
                        del self.chains[item.row.contact_id]
                    self.queue.appendleft(item)
                    self.stopping = True
                return
            started = True
            with self.cond:
                self.futures.add(future)
                self.started.append((start, item.cost))
            future.add_done_callback(self._finished)
            self.previous, self.previous_priority = done, item.row.priority
            self.last_start, self.last_gap = start, item.cost / self.rate
        finally:
            if not started:
                self.gate.release()

    def _not_before(self, item: _Item) -> float:
        assert item.slot is not None
        if self.last_start is None:
            return item.slot
        return max(item.slot, self.last_start + self.last_gap)

    def _reserve(self) -> None:
        """Reserve slots for the next RESERVE_SECONDS of the queue (called holding `cond`)."""
        chunk: list[_Item] = []
        cost = 0
        for item in self.queue:
            if chunk and (cost + item.cost) / self.rate > RESERVE_SECONDS:
                break
            chunk.append(item)
            cost += item.cost
        with self.worker.writes:
            start = reserve(self.worker.rt.db, self.name, cost / self.rate, self.worker.wall())
        spent = 0
        for item in chunk:
            item.slot = start + spent / self.rate
            spent += item.cost

    def _settle(self) -> None:
        """Wait until every send started so far has been recorded."""
        with self.cond:
            pending = list(self.futures)
        for future in pending:
            future.exception()  # waits; errors are kept by `_finished`

    def _send(self, item: _Item, before: threading.Event | None, done: threading.Event) -> None:
        try:
            if before is not None:
                before.wait()  # the resident's previous message first (bounded by its timeout)
            self.worker._deliver(item.row, self.channel)
        finally:
            done.set()
            with self.cond:
                if self.chains.get(item.row.contact_id) is done:
                    del self.chains[item.row.contact_id]
            self.gate.release()

    def _finished(self, future: Future[None]) -> None:
        with self.cond:
            self.futures.discard(future)
        error = future.exception()
        if error is not None:
            log.error("sending on %s failed", self.name, exc_info=error)
            self.errors.append(error)


class Worker:
    """Drains the outbox; safe to run in several processes at once (rows are claimed)."""

    def __init__(
        self,
        rt: Runtime,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.rt = rt
        self.sleep = sleep
        self.wall = wall  # pacing is real time shared by every worker, whatever rt.clock says
        self.scheduler_lock = SchedulerLock(rt.db, clock=rt.now)
        from bot.services.translation import InboundJob

        self.translations = InboundJob()  # backs off on its own while the provider is down
        self._lock = threading.Lock()
        self._schedule_lock = threading.Lock()
        self._lanes: dict[str, _Lane] = {}
        self._closed = False
        # SQLite lets one writer in at a time (BEGIN IMMEDIATE) and makes the others poll with
        # growing sleeps; sending threads queue on a lock instead. PostgreSQL needs none.
        self.writes: AbstractContextManager[object] = (
            nullcontext() if is_postgres(rt.db) else threading.Lock()
        )

    def run_scheduled(self) -> bool:
        """Due reminders and scheduled broadcasts, only in the worker holding the database lock."""
        if not self._schedule_lock.acquire(blocking=False):
            return False
        try:
            if not self.scheduler_lock.acquire():
                return False
            from bot.services import privacy
            from bot.services.broadcasts import queue_due_broadcasts
            from bot.services.meetings import queue_due_reminders

            queue_due_reminders(self.rt)
            queue_due_broadcasts(self.rt)
            # Privacy: an erased resident's address goes once its confirmation has been sent;
            # retention once a day. Then residents' words in other languages, for staff.
            privacy.finish_erasures(self.rt)
            privacy.run_retention_if_due(self.rt)
            self.translations.run(self.rt)
            return True
        finally:
            self._schedule_lock.release()

    def delete_recordings(self) -> int:
        """Delete at Twilio the recordings erasure and retention took off the dashboard.

        Nothing to do without phone calls configured. Several workers may run this at once:
        a recording another one deleted first is "already gone", which counts as done.
        """
        channel = self.rt.channels.get(calls.VOICE)
        delete = getattr(channel, "delete_recording", None)
        if delete is None:
            return 0
        with transaction(self.rt.db) as session:
            due = calls.recordings_to_delete(session)
        deleted = 0
        for call_id, sid in due:
            if not delete(sid):
                log.warning("a recording could not be deleted at Twilio; will try again")
                continue
            with transaction(self.rt.db) as session:
                calls.recording_deleted(session, call_id)
            deleted += 1
        return deleted

    def settle_calls(self) -> int:
        """Ask Twilio how calls we placed ended when its status callback never reached us;
        nothing to do without phone calls configured."""
        channel = self.rt.channels.get(calls.VOICE)
        settle = getattr(channel, "settle_unreported", None)
        return int(settle(self.rt)) if settle is not None else 0

    def run_once(self, limit_per_channel: int | None = None) -> int:
        """Claim one batch per channel and send it; returns when every outcome is recorded.

        Returns how many rows were handled. Sends within a batch are concurrent and paced
        as in the long-running worker (`pump`); a send that raised is raised here.
        """
        if not self._lock.acquire(blocking=False):
            return 0
        try:
            handled = 0
            for name, channel in list(self.rt.channels.items()):
                items = self._claim(name, channel, limit_per_channel)
                if not items:
                    continue
                lane = _Lane(self, name, channel, in_order=True)
                try:
                    lane.push(items)
                    lane.run_until_empty()
                finally:
                    for row in lane.close():
                        self._release(row)
                lane.raise_errors()
                handled += len(items)
            return handled
        finally:
            self._lock.release()

    def drain(self, max_rounds: int = 1000) -> int:
        """Answer every stored message and send until nothing is due (tests, `townline chat`)."""
        total = 0
        for _ in range(max_rounds):
            handled = self.answer() + self.run_once()
            total += handled
            if handled == 0:
                break
        return total

    def answer(self) -> int:
        """Answer every stored message the webhooks left; returns how many were answered.

        One message per transaction, each under the SQLite write lock the sending threads
        queue on, so a burst never holds up the recording of sends for long.
        """
        answered = 0
        while True:
            with self.writes:
                done = conversation.answer_waiting(self.rt, limit=1)
            if not done:
                return answered
            answered += done

    def listen(self, stop: threading.Event, *, in_process: bool) -> None:
        """Answer stored messages as they arrive, then hand their replies to the lanes at once.

        Woken by the web in the same process (`townline serve`), by PostgreSQL's NOTIFY, or,
        for a worker of its own on SQLite, by looking every INBOUND_LOOK_SECONDS. One thread
        answers: more threads in one process made turns slower, not faster (a turn's twenty
        round trips each wait for the interpreter lock behind busy threads); more worker
        processes answer side by side (`storage.inbound.next_waiting` keeps one resident's
        messages in order across them).
        """
        wait = self._waiter(stop, in_process=in_process)
        while not stop.is_set():
            try:
                if self.answer():
                    self.pump(wait=True)
                wait()
            except Exception:  # the database is away: messages wait for it, safely stored
                log.exception("answering stored messages failed; trying again")
                stop.wait(INBOUND_IDLE_SECONDS)

    def _waiter(self, stop: threading.Event, *, in_process: bool) -> Callable[[], None]:
        """How the inbound loop waits for the next stored message in this kind of process."""
        stored = self.rt.inbound_stored
        if in_process:

            def wait_for_event() -> None:
                stored.wait(INBOUND_IDLE_SECONDS)
                stored.clear()

            return wait_for_event
        if is_postgres(self.rt.db):
            listening: list[inbound_queue.Listener] = []  # one, once it could connect

            def stop_listening() -> None:
                stop.wait()
                for listener in listening:
                    listener.close()

            threading.Thread(target=stop_listening, daemon=True).start()

            def wait_for_notify() -> None:
                try:
                    if not listening:
                        listening.append(inbound_queue.Listener(self.rt.db))
                    listening[0].wait(inbound_queue.LISTEN_SECONDS)
                except Exception:  # the server restarted or is away: listen again shortly
                    if not stop.is_set():
                        log.warning("listening for stored messages failed; trying again")
                    for listener in listening:
                        listener.close()
                    listening.clear()
                    stop.wait(INBOUND_IDLE_SECONDS)

            return wait_for_notify

        def look() -> None:
            deadline = time.monotonic() + INBOUND_IDLE_SECONDS
            while not stop.wait(INBOUND_LOOK_SECONDS) and time.monotonic() < deadline:
                if inbound_queue.has_waiting(self.rt.db):
                    return

        return look

    def pump(self, wait: bool = False) -> int:
        """Keep each channel's lane fed: claim a batch when little is queued; returns at once.

        The long-running worker calls this twice a second, and the inbound loop as soon as it
        has answered messages (`wait`: after a pump already running, not instead of it); the
        lanes send in the background, so slow answers never hold up the next claim.
        """
        if not self._lock.acquire(blocking=wait):
            return 0
        try:
            if self._closed:
                return 0
            handled = 0
            for name, channel in list(self.rt.channels.items()):
                lane = self._lanes.get(name)
                if lane is None:
                    lane = self._lanes[name] = _Lane(self, name, channel, in_order=False)
                    lane.start()
                share = lane.share()
                if lane.queued_cost() >= share * LOOKAHEAD_SECONDS:
                    continue
                batch = max(1, min(MAX_BATCH, int(share * BATCH_SECONDS)))
                items = self._claim(name, channel, batch)
                lane.push(items)
                handled += len(items)
            return handled
        finally:
            self._lock.release()

    def close(self) -> None:
        """Stop sending: rows not yet started go back unsent; sends in flight are recorded."""
        with self._lock:
            self._closed = True
            lanes = list(self._lanes.values())
            self._lanes.clear()
        for lane in lanes:
            for row in lane.close():
                self._release(row)

    def _claim(self, name: str, channel: Channel, limit: int | None) -> list[_Item]:
        """Claim due rows for one channel; the lane reserves their sending time as it goes."""
        # About a second's sending: far inside the lease.
        batch = limit or max(1, min(MAX_BATCH, int(channel.rate_per_second * BATCH_SECONDS)))
        now = self.rt.now()
        with self.writes:
            rows = outbox.claim(
                self.rt.db,
                now=now,
                lease_until=now + lease_for(channel),
                limit=batch,
                channels=[name],
            )
        return [_Item(row, channel.cost(self._outbound(row, ""))) for row in rows]

    def _release(self, row: Outbox) -> None:
        """Put a claimed row back unsent: due now, and the claim not counted as an attempt."""
        assert row.id is not None
        with self.writes, transaction(self.rt.db) as session:
            outbox.finish(
                session,
                row.id,
                held=row.lease_until,
                status=outbox.PENDING,
                next_attempt_at=self.rt.now(),
                attempts=max(0, row.attempts - 1),
            )

    def _lease_covers_send(self, row: Outbox, channel: Channel) -> bool:
        """True if the row's lease outlasts a send that takes the channel's whole timeout."""
        if row.lease_until is None:
            return True
        left = (aware(row.lease_until) - self.rt.now()).total_seconds()
        return left >= send_timeout(channel) + LEASE_MARGIN_SECONDS

    def _deliver(self, row: Outbox, channel: Channel) -> None:
        """Check the row still makes sense, send it while its lease covers that, record."""
        assert row.id is not None
        now = self.rt.now()
        held = row.lease_until
        with self.writes, transaction(self.rt.db) as session:
            contact = outbox.contact_for(session, row.contact_id)
            if contact is None:
                outbox.finish(
                    session, row.id, held=held, status=outbox.FAILED, last_error="contact missing"
                )
                return
            if row.proactive and (target := self._route(session, contact)) is not None:
                # One resident, several channels: hand the row to the channel they used last.
                outbox.finish(
                    session,
                    row.id,
                    held=held,
                    status=outbox.PENDING,
                    contact_id=target.id,
                    channel=target.channel,
                    next_attempt_at=now,
                    attempts=max(0, row.attempts - 1),
                    last_error=None,
                )
                return
            if inbound_queue.waiting_from(session, contact.channel, contact.address):
                # The resident has written and not yet been answered, maybe STOP: nothing
                # goes to them until the inbound loop has read it (it is answering now).
                # Claimed again a poll later, not at once: it must not spin on the slots.
                outbox.finish(
                    session,
                    row.id,
                    held=held,
                    status=outbox.PENDING,
                    next_attempt_at=now + timedelta(seconds=POLL_SECONDS),
                    attempts=max(0, row.attempts - 1),
                )
                return
            if contact.opted_out_at is not None and row.kind not in outbox.OPT_OUT_EXEMPT_KINDS:
                outbox.finish(
                    session, row.id, held=held, status=outbox.CANCELLED, last_error="opted out"
                )
                return
            if contact.unreachable_at is not None and row.proactive:
                # The provider said this address can't receive (invalid number, landline): don't
                # spend a send on it until the resident writes again, which clears the mark.
                outbox.finish(
                    session, row.id, held=held, status=outbox.CANCELLED, last_error="unreachable"
                )
                return
            stale = aware(row.stale_at) if row.stale_at is not None else None
            if stale is not None and now >= stale:
                outbox.finish(session, row.id, held=held, status=outbox.DROPPED, last_error="stale")
                return
            if row.proactive and (later := self._quiet_until(now, contact)) is not None:
                if stale is not None and later >= stale:
                    outbox.finish(
                        session, row.id, held=held, status=outbox.DROPPED, last_error="stale"
                    )
                    return
                outbox.finish(
                    session,
                    row.id,
                    held=held,
                    status=outbox.PENDING,
                    next_attempt_at=later,
                    attempts=max(0, row.attempts - 1),
                    last_error=outbox.HELD,
                )
                return
            address = contact.address
        text = self._late_text(row.text)
        if text is None:
            self._record(row, SendResult(RETRY, error="the Telegram bot's name is not known yet"))
            return
        if not self._lease_covers_send(row, channel):
            # Waited too long for a slot or a thread: another worker may take it once the
            # lease runs out, so it must not be in flight then.
            self._release(row)
            return
        message = self._outbound(row, address, text)
        try:
            result = channel.send(message)
        except Exception as exc:  # a bug or an unexpected library error: keep the message
            log.exception("channel %s raised while sending outbox row %s", row.channel, row.id)
            result = SendResult(RETRY, error=f"{type(exc).__name__}: {exc}")
        self._record(row, result, text=text)

    @staticmethod
    def _outbound(row: Outbox, address: str, text: str | None = None) -> Outbound:
        assert row.id is not None
        return Outbound(
            outbox_id=row.id,
            channel=row.channel,
            address=address,
            text=text if text is not None else row.text,
            choices=row.choices or (),
            language=row.language,
            kind=row.kind,
            provider_ref=row.provider_ref,
        )

    def _route(self, session: Session, contact: Contact) -> Contact | None:
        """The resident's most recently used contact, if it is not this row's."""
        target = links.route_for(session, contact, set(self.rt.channels))
        return target if target.id != contact.id else None

    def _late_text(self, text: str) -> str | None:
        """Fill what only a worker may look up (the Telegram bot's name); None if it can't yet."""
        if linking.BOT_PLACEHOLDER not in text:
            return text
        channel = self.rt.channels.get("telegram")
        username = getattr(channel, "bot_username", lambda: None)()
        return linking.fill_bot(text, username) if username else None

    def _quiet_until(self, now: datetime, contact: Contact) -> datetime | None:
        """When proactive messages may go out again (the resident's own zone when known)."""
        zone = ZoneInfo(self.rt.settings.timezone)
        if contact.timezone:
            try:
                zone = ZoneInfo(contact.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("contact %s has an unknown time zone; using the agency's", contact.id)
        allowed = next_allowed(now, zone, self.rt.settings.quiet_hours)
        return None if allowed <= now else allowed

    def _record(self, row: Outbox, result: SendResult, text: str | None = None) -> None:
        """Write a send's outcome, only while the row's lease is still this worker's."""
        assert row.id is not None
        now = self.rt.now()
        held = row.lease_until
        with self.writes, transaction(self.rt.db) as session:
            if result.outcome == SENT:
                recorded = outbox.finish(
                    session,
                    row.id,
                    held=held,
                    status=outbox.SENT,
                    provider_id=result.provider_id,
                    sent_at=now,
                    delivery_status="sent",
                    last_error=None,
                    text=text or row.text,  # as the resident read it (a deep link filled in)
                )
            elif result.outcome == RETRY and row.attempts < MAX_ATTEMPTS:
                delay = max(result.retry_after or 0.0, backoff(row.attempts))
                recorded = outbox.finish(
                    session,
                    row.id,
                    held=held,
                    status=outbox.PENDING,
                    last_error=result.error,
                    next_attempt_at=now + timedelta(seconds=delay),
                )
            elif result.outcome == OPTED_OUT:
                recorded = outbox.finish(
                    session, row.id, held=held, status=outbox.FAILED, last_error=result.error
                )
                if recorded:
                    update_contact(session, row.contact_id, opted_out_at=now)
                    contact = outbox.contact_for(session, row.contact_id)
                    if contact is not None:
                        calls.opt_out_twins(session, contact, now)
                    linked = contact is not None and links.is_linked(session, contact)
                    # Honoured for this channel only: a linked resident's follow-ups are rerouted.
                    outbox.cancel_pending_for(
                        session, row.contact_id, "opted out", (), keep_proactive=linked
                    )
            elif result.outcome == UNREACHABLE:
                recorded = outbox.finish(
                    session, row.id, held=held, status=outbox.FAILED, last_error=result.error
                )
                if recorded:
                    update_contact(session, row.contact_id, unreachable_at=now)
            else:
                error = result.error if result.outcome == FAILED else f"gave up: {result.error}"
                recorded = outbox.finish(
                    session,
                    row.id,
                    held=held,
                    status=outbox.FAILED,
                    last_error=error,
                    needs_staff=result.flag_staff,
                )
        if not recorded:
            # Only if recording took longer than the lease's margin: the worker that took
            # the row over records its own outcome.
            log.warning(
                "outbox row %s: lease ran out before its %s was recorded", row.id, result.outcome
            )


def start_background(rt: Runtime) -> BackgroundScheduler:
    """The in-process worker for `townline serve`: one laptop, one command."""
    scheduler = BackgroundScheduler(timezone="UTC")
    worker = Worker(rt)
    _add_jobs(scheduler, worker)
    stop = _start_listening(worker, in_process=True)

    def stopped(_event: object) -> None:
        # Rows claimed but not yet sent go back at once rather than waiting out their lease,
        # and another process may take the scheduled jobs straight away.
        stop.set()
        worker.close()
        worker.scheduler_lock.release()

    scheduler.add_listener(stopped, EVENT_SCHEDULER_SHUTDOWN)
    scheduler.start()
    return scheduler


def run_forever(rt: Runtime) -> None:
    """`townline worker`: the sender in every worker, the scheduled jobs in the lock holder."""
    scheduler = BlockingScheduler(timezone="UTC")
    worker = Worker(rt)
    _add_jobs(scheduler, worker)
    stop = _start_listening(worker, in_process=False)
    try:
        scheduler.start()
    finally:
        stop.set()
        worker.close()
        worker.scheduler_lock.release()


def _start_listening(worker: Worker, *, in_process: bool) -> threading.Event:
    """The inbound loop in a thread of its own; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.listen,
        args=(stop,),
        kwargs={"in_process": in_process},
        daemon=True,
        name="inbound",
    )
    thread.start()
    return stop


def _add_jobs(scheduler: BaseScheduler, worker: Worker) -> None:
    """Explicit ids, replace_existing, coalesce and one instance: no job ever runs twice.

    The outbox job only tops up each channel's lane (`pump`) and returns at once; the lanes
    pace and send in their own threads, so sending never waits for the next poll.
    """
    scheduler.add_job(
        worker.pump,
        "interval",
        seconds=POLL_SECONDS,
        id="outbox",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC),  # a restarted worker sends at once, not a poll later
    )
    timers = (
        ("scheduled", worker.run_scheduled, SCHEDULE_SECONDS),
        ("recordings", worker.delete_recordings, RECORDINGS_SECONDS),
        ("settle_calls", worker.settle_calls, SETTLE_CALLS_SECONDS),
    )
    for job_id, job, seconds in timers:
        scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
