"""The outbox sender: claim due rows, send each at its channel's rate, record what happened."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlmodel import Session

from bot import linking
from bot.quiet import next_allowed
from bot.runtime import Runtime
from channels.base import FAILED, OPTED_OUT, RETRY, SENT, UNREACHABLE, Outbound, SendResult
from storage import links, outbox
from storage.conversations import update_contact
from storage.db import transaction
from storage.meetings import aware
from storage.models import Contact, Outbox
from storage.scheduling import SchedulerLock, reserve

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 1800.0
POLL_SECONDS = 0.5
SCHEDULE_SECONDS = 5.0
BATCH_SECONDS = 1.0  # claim about a second's worth of sending at a time
MAX_BATCH = 500


def backoff(attempts: int) -> float:
    """5 s, 10 s, 20 s … up to 30 min: a provider outage is waited out, not hammered."""
    return float(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)))


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
        self._lock = threading.Lock()
        self._schedule_lock = threading.Lock()

    def run_scheduled(self) -> bool:
        """Due reminders and scheduled broadcasts, only in the worker holding the database lock."""
        if not self._schedule_lock.acquire(blocking=False):
            return False
        try:
            if not self.scheduler_lock.acquire():
                return False
            from bot.services.broadcasts import queue_due_broadcasts
            from bot.services.meetings import queue_due_reminders

            queue_due_reminders(self.rt)
            queue_due_broadcasts(self.rt)
            return True
        finally:
            self._schedule_lock.release()

    def run_once(self, limit_per_channel: int | None = None) -> int:
        """Claim and send one batch per channel; returns how many rows were handled."""
        if not self._lock.acquire(blocking=False):
            return 0
        try:
            handled = 0
            for name, channel in list(self.rt.channels.items()):
                # About a second's sending: far inside the lease, and short reserved slots
                # keep several workers interleaved rather than queued behind each other.
                batch = limit_per_channel or max(
                    1, min(MAX_BATCH, int(channel.rate_per_second * BATCH_SECONDS))
                )
                now = self.rt.now()
                rows = outbox.claim(
                    self.rt.db, now=now, lease_until=now + LEASE, limit=batch, channels=[name]
                )
                if not rows:
                    continue
                costs = [channel.cost(self._outbound(row, "")) for row in rows]
                rate = channel.rate_per_second
                start = reserve(self.rt.db, name, sum(costs) / rate, self.wall())
                spent = 0
                for row, cost in zip(rows, costs, strict=True):
                    self._deliver(row, slot=start + spent / rate)
                    spent += cost
                    handled += 1
            return handled
        finally:
            self._lock.release()

    def drain(self, max_rounds: int = 1000) -> int:
        """Send until nothing is due (tests and `townline chat`)."""
        total = 0
        for _ in range(max_rounds):
            handled = self.run_once()
            total += handled
            if handled == 0:
                break
        return total

    def _deliver(self, row: Outbox, slot: float) -> None:
        """Check the row still makes sense, wait for its reserved slot, send, record."""
        assert row.id is not None
        now = self.rt.now()
        with transaction(self.rt.db) as session:
            contact = outbox.contact_for(session, row.contact_id)
            if contact is None:
                outbox.finish(session, row.id, status=outbox.FAILED, last_error="contact missing")
                return
            if row.proactive and (target := self._route(session, contact)) is not None:
                # One resident, several channels: hand the row to the channel they used last.
                outbox.finish(
                    session,
                    row.id,
                    status=outbox.PENDING,
                    contact_id=target.id,
                    channel=target.channel,
                    next_attempt_at=now,
                    attempts=max(0, row.attempts - 1),
                    last_error=None,
                )
                return
            if contact.opted_out_at is not None and row.kind not in outbox.OPT_OUT_EXEMPT_KINDS:
                outbox.finish(session, row.id, status=outbox.CANCELLED, last_error="opted out")
                return
            if contact.unreachable_at is not None and row.proactive:
                # The provider said this address can't receive (invalid number, landline): don't
                # spend a send on it until the resident writes again, which clears the mark.
                outbox.finish(session, row.id, status=outbox.CANCELLED, last_error="unreachable")
                return
            stale = aware(row.stale_at) if row.stale_at is not None else None
            if stale is not None and now >= stale:
                outbox.finish(session, row.id, status=outbox.DROPPED, last_error="stale")
                return
            if row.proactive and (later := self._quiet_until(now, contact)) is not None:
                if stale is not None and later >= stale:
                    outbox.finish(session, row.id, status=outbox.DROPPED, last_error="stale")
                    return
                outbox.finish(
                    session,
                    row.id,
                    status=outbox.PENDING,
                    next_attempt_at=later,
                    attempts=max(0, row.attempts - 1),
                    last_error=outbox.HELD,
                )
                return
            address = contact.address
        channel = self.rt.channels[row.channel]
        text = self._late_text(row.text)
        if text is None:
            self._record(row, SendResult(RETRY, error="the Telegram bot's name is not known yet"))
            return
        message = self._outbound(row, address, text)
        if (wait := slot - self.wall()) > 0:
            self.sleep(wait)
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
        assert row.id is not None
        now = self.rt.now()
        with transaction(self.rt.db) as session:
            if result.outcome == SENT:
                outbox.finish(
                    session,
                    row.id,
                    status=outbox.SENT,
                    provider_id=result.provider_id,
                    sent_at=now,
                    delivery_status="sent",
                    last_error=None,
                    text=text or row.text,  # as the resident read it (a deep link filled in)
                )
            elif result.outcome == RETRY and row.attempts < MAX_ATTEMPTS:
                delay = max(result.retry_after or 0.0, backoff(row.attempts))
                outbox.finish(
                    session,
                    row.id,
                    status=outbox.PENDING,
                    last_error=result.error,
                    next_attempt_at=now + timedelta(seconds=delay),
                )
            elif result.outcome == OPTED_OUT:
                outbox.finish(session, row.id, status=outbox.FAILED, last_error=result.error)
                update_contact(session, row.contact_id, opted_out_at=now)
                contact = outbox.contact_for(session, row.contact_id)
                linked = contact is not None and links.is_linked(session, contact)
                # Honoured for this channel only: a linked resident's follow-ups are rerouted.
                outbox.cancel_pending_for(
                    session, row.contact_id, "opted out", (), keep_proactive=linked
                )
            elif result.outcome == UNREACHABLE:
                outbox.finish(session, row.id, status=outbox.FAILED, last_error=result.error)
                update_contact(session, row.contact_id, unreachable_at=now)
            else:
                error = result.error if result.outcome == FAILED else f"gave up: {result.error}"
                outbox.finish(
                    session,
                    row.id,
                    status=outbox.FAILED,
                    last_error=error,
                    needs_staff=result.flag_staff,
                )


def start_background(rt: Runtime) -> BackgroundScheduler:
    """The in-process worker for `townline serve`: one laptop, one command."""
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_jobs(scheduler, Worker(rt))
    scheduler.start()
    return scheduler


def run_forever(rt: Runtime) -> None:
    """`townline worker`: the sender in every worker, the scheduled jobs in the lock holder."""
    scheduler = BlockingScheduler(timezone="UTC")
    worker = Worker(rt)
    _add_jobs(scheduler, worker)
    try:
        scheduler.start()
    finally:
        worker.scheduler_lock.release()


def _add_jobs(scheduler: BaseScheduler, worker: Worker) -> None:
    """Explicit ids, replace_existing, coalesce and one instance: no job ever runs twice."""
    scheduler.add_job(
        worker.run_once,
        "interval",
        seconds=POLL_SECONDS,
        id="outbox",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        worker.run_scheduled,
        "interval",
        seconds=SCHEDULE_SECONDS,
        id="scheduled",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
