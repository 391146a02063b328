"""The outbox sender: claim due rows, send each at its channel's rate, record what happened."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlmodel import Session

from bot import linking
from bot.conversation import OPT_OUT_EXEMPT_KINDS
from bot.quiet import next_allowed
from bot.runtime import Runtime
from channels.base import FAILED, OPTED_OUT, RETRY, SENT, UNREACHABLE, Outbound, SendResult
from storage import links, outbox
from storage.conversations import update_contact
from storage.db import transaction
from storage.models import Contact, Outbox

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 1800.0
POLL_SECONDS = 0.5


def backoff(attempts: int) -> float:
    """5 s, 10 s, 20 s … up to 30 min: a provider outage is waited out, not hammered."""
    return float(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)))


class TokenBucket:
    """Paces sends to `rate` units a second (segments or messages), bursting one second's worth."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self, cost: float) -> float:
        """Seconds until `cost` units are available (0 if now)."""
        self._refill()
        need = min(cost, self.capacity) - self.tokens
        return max(0.0, need / self.rate)

    def take(self, cost: float) -> None:
        """Spend `cost` units; a message dearer than a second's worth borrows from the future."""
        self._refill()
        self.tokens -= cost


class Worker:
    """Drains the outbox; safe to run in several processes at once (rows are claimed)."""

    def __init__(
        self,
        rt: Runtime,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rt = rt
        self.sleep = sleep
        self.monotonic = monotonic  # the pacing clock; tests pass one that `sleep` advances
        self.buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, channel: str) -> TokenBucket:
        """One rate limiter per channel, at the channel's configured rate."""
        if channel not in self.buckets:
            rate = self.rt.channels[channel].rate_per_second
            self.buckets[channel] = TokenBucket(rate, clock=self.monotonic)
        return self.buckets[channel]

    def run_once(self, limit_per_channel: int | None = None) -> int:
        """Claim and send one batch per channel; returns how many rows were handled."""
        if not self._lock.acquire(blocking=False):
            return 0
        try:
            handled = 0
            for name, channel in list(self.rt.channels.items()):
                # A batch small enough to finish well inside the lease at the channel's rate.
                batch = limit_per_channel or max(
                    1, int(channel.rate_per_second * LEASE.seconds / 4)
                )
                now = self.rt.now()
                rows = outbox.claim(
                    self.rt.db, now=now, lease_until=now + LEASE, limit=batch, channels=[name]
                )
                for row in rows:
                    self._deliver(row)
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

    def _deliver(self, row: Outbox) -> None:
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
            if contact.opted_out_at is not None and row.kind not in OPT_OUT_EXEMPT_KINDS:
                outbox.finish(session, row.id, status=outbox.CANCELLED, last_error="opted out")
                return
            if row.proactive and (later := self._quiet_until(now)) is not None:
                outbox.finish(
                    session,
                    row.id,
                    status=outbox.PENDING,
                    next_attempt_at=later,
                    attempts=max(0, row.attempts - 1),
                    last_error="held for quiet hours",
                )
                return
            address = contact.address
        channel = self.rt.channels[row.channel]
        text = self._late_text(row.text)
        if text is None:
            self._record(row, SendResult(RETRY, error="the Telegram bot's name is not known yet"))
            return
        message = Outbound(
            outbox_id=row.id,
            channel=row.channel,
            address=address,
            text=text,
            choices=row.choices or (),
            language=row.language,
            kind=row.kind,
            provider_ref=row.provider_ref,
        )
        bucket = self.bucket(row.channel)
        cost = channel.cost(message)
        if (wait := bucket.wait_time(cost)) > 0:
            self.sleep(wait)
        bucket.take(cost)
        try:
            result = channel.send(message)
        except Exception as exc:  # a bug or an unexpected library error: keep the message
            log.exception("channel %s raised while sending outbox row %s", row.channel, row.id)
            result = SendResult(RETRY, error=f"{type(exc).__name__}: {exc}")
        self._record(row, result, text=text)

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

    def _quiet_until(self, now: datetime) -> datetime | None:
        """When proactive messages may go out again, or None if they may go now."""
        zone = ZoneInfo(self.rt.settings.timezone)
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
    """`townline worker`: a dedicated process running the scheduler and the sender."""
    scheduler = BlockingScheduler(timezone="UTC")
    _add_jobs(scheduler, Worker(rt))
    scheduler.start()


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
