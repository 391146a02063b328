"""The webhook stores, the worker answers: every message once, each resident's in order.

A 200 from the SMS webhook means the message is kept; answering it is the worker's. These
stories push on the seam between the two: many messages from one resident at once, several
workers answering together, a resident's STOP waiting unread, and a worker killed while
answering.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.conversation import MAX_ATTEMPTS
from bot.worker import Worker, start_background
from channels import twilio_sms
from storage import inbound
from storage.db import transaction
from storage.models import ConversationSession, InboundQueue, Message, Outbox
from tests.conftest import LANGUAGES, Clock
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, sign
from tests.sms_kit import AGENCY_NUMBER, SERVICE_SID, SmsLine, _sids, queue_broadcast, sms_line

RESIDENT = "+15558675310"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def line(settings: Settings, clock: Clock) -> Iterator[SmsLine]:
    with sms_line(settings, clock) as sms:
        yield sms


def _queued(line: SmsLine) -> list[str]:
    """Provider ids of the messages waiting, in the order they were stored."""
    with transaction(line.rt.db) as session:
        rows = session.exec(select(InboundQueue).order_by(col(InboundQueue.id))).all()
        return [row.provider_id or "" for row in rows]


def _answered(line: SmsLine) -> list[Message]:
    with transaction(line.rt.db) as session:
        return list(session.exec(select(Message).order_by(col(Message.id))).all())


def _replies(line: SmsLine) -> list[Outbox]:
    with transaction(line.rt.db) as session:
        return list(session.exec(select(Outbox).order_by(col(Outbox.id))).all())


def _post_at_once(line: SmsLine, texts: list[tuple[str, str]], sid: str | None = None) -> None:
    """Each (number, text) posted by its own thread, all released together (as one `sid`)."""
    barrier = threading.Barrier(len(texts))
    statuses: list[int] = []

    def post(number: str, text: str) -> None:
        client = line.app.test_client()
        form = {
            "MessageSid": sid or f"SM{next(_sids):032d}",  # the kit's counter: each its own
            "AccountSid": DEFAULT_ACCOUNT_SID,
            "From": number,
            "To": AGENCY_NUMBER,
            "Body": text,
        }
        signature = sign(line.url(twilio_sms.INBOUND_PATH), form)
        barrier.wait()
        response = client.post(
            twilio_sms.INBOUND_PATH, data=form, headers={"X-Twilio-Signature": signature}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post, args=pair) for pair in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(texts)


def test_many_messages_from_one_resident_at_once_are_answered_once_each_in_order(
    line: SmsLine,
) -> None:
    words = [f"Message {i}: the streetlight on Elm is out again" for i in range(12)]
    others = [(f"+1555000{i:04d}", "Cars race down Elm Street every night") for i in range(6)]
    _post_at_once(line, [(RESIDENT, text) for text in words] + others)
    stored = _queued(line)
    assert len(stored) == len(words) + len(others)

    # Three workers (as if three processes) answer together, one of them with three threads.
    workers = [Worker(line.rt) for _ in range(3)]
    threads = [
        threading.Thread(target=worker.answer) for worker in (workers[0], *workers, workers[0])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.close()
    assert _queued(line) == []

    messages = _answered(line)
    assert Counter(m.provider_id for m in messages) == Counter(stored)  # each exactly once
    resident = line.contact(RESIDENT).id
    theirs = [m.provider_id for m in messages if m.contact_id == resident]
    assert theirs == [sid for sid in stored if sid in set(theirs)]  # in the order stored
    with transaction(line.rt.db) as session:
        state = session.exec(
            select(ConversationSession).where(ConversationSession.contact_id == resident)
        ).one()
    assert state.version == len(words)  # every turn saw the one before it
    replied_to = [row.in_reply_to for row in _replies(line)]
    assert set(replied_to) == {m.id for m in messages}  # every message has its reply
    their_ids = [m.id for m in messages if m.contact_id == resident]
    theirs_replied = [r for r in replied_to if r in their_ids]
    assert theirs_replied == sorted(theirs_replied)  # replies queued in turn order

    line.drain()
    phone = line.phone(RESIDENT)
    assert len(phone.inbox()) == len([r for r in replied_to if r in their_ids])


def test_one_message_delivered_several_times_at_once_is_answered_once(line: SmsLine) -> None:
    # Twilio retrying a webhook it thinks timed out, while the first delivery is still running.
    _post_at_once(line, [(RESIDENT, "Cars race down Elm Street")] * 6, sid="SM" + "e" * 32)
    assert len(_queued(line)) == 1
    line.drain()
    assert [m.provider_id for m in _answered(line)] == ["SM" + "e" * 32]
    assert len(line.phone(RESIDENT).inbox()) == 1


def test_nothing_is_sent_to_a_resident_whose_message_waits_unread(line: SmsLine) -> None:
    phone = line.phone(RESIDENT)
    phone.send("Cars race down Elm Street every night")
    line.worker.answer()  # answered: the reply waits in the outbox
    phone.send("STOP")  # stored, not yet read
    line.worker.run_once()  # the sender runs before the inbound loop has read the STOP
    assert phone.inbox() == []
    line.drain()
    [confirmation] = phone.inbox()
    assert "Reply START to come back" in confirmation
    statuses = sorted((row.kind, row.status) for row in line.outbox_rows(RESIDENT))
    assert statuses == [("opt_out", "sent"), ("reply", "cancelled")]


def test_a_look_at_the_queue_never_undoes_a_later_store(line: SmsLine) -> None:
    # A worker's lock-free look and /healthz share the pool with the webhook's insert.
    phone = line.phone(RESIDENT)
    for text in ("one", "two", "three"):
        assert phone.send(text).status_code == 200
        assert inbound.has_waiting(line.rt.db)
        assert line.client.get("/healthz").status_code == 200
    line.rt.db.dispose()  # only what was committed survives the pool
    assert inbound.count_waiting(line.rt.db) == 3


@contextmanager
def _outbox_refuses(line: SmsLine, kind: str) -> Iterator[None]:
    """The database itself refuses outbox rows of one kind (a trigger the test owns)."""
    postgres = line.rt.db.dialect.name == "postgresql"
    with line.rt.db.begin() as conn:
        if postgres:
            conn.exec_driver_sql(
                "CREATE FUNCTION test_refuse() RETURNS trigger AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON outbox FOR EACH ROW "
                f"WHEN (NEW.kind = '{kind}') EXECUTE FUNCTION test_refuse()"
            )
        else:
            conn.exec_driver_sql(
                f"CREATE TRIGGER test_refuse BEFORE INSERT ON outbox WHEN NEW.kind = '{kind}' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
    try:
        yield
    finally:
        with line.rt.db.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER test_refuse" + (" ON outbox" if postgres else ""))
            if postgres:
                conn.exec_driver_sql("DROP FUNCTION test_refuse()")


def test_a_stop_no_turn_can_answer_is_still_honoured_and_kept(line: SmsLine, clock: Clock) -> None:
    phone = line.phone(RESIDENT)
    assert phone.text("Cars race down Elm Street every night")
    with _outbox_refuses(line, "opt_out"):  # the STOP turn fails every time
        assert queue_broadcast(line, RESIDENT, "Community meeting Thursday 7pm")
        phone.send("STOP")
        for _ in range(MAX_ATTEMPTS):
            line.drain()
            assert phone.inbox() == []  # nothing goes out while the STOP waits unread
            clock.advance(minutes=10)  # past the retry's wait
    assert _queued(line) == []
    assert line.contact(RESIDENT).opted_out_at is not None
    assert [m.text for m in _answered(line)][-1] == "STOP"  # the words are kept
    statuses = [(row.kind, row.status) for row in line.outbox_rows(RESIDENT)]
    assert ("broadcast", "cancelled") in statuses
    line.drain()
    assert phone.inbox() == []
    assert phone.text("Cars race down Elm Street every night") == []  # STOP holds


def test_the_in_process_worker_answers_a_stored_message_without_being_asked(
    line: SmsLine,
) -> None:
    scheduler = start_background(line.rt)  # as `townline serve` runs it
    try:
        assert line.phone(RESIDENT).send("Cars race down Elm Street").status_code == 200
        for _ in range(200):
            if line.phone(RESIDENT).inbox():
                break
            time.sleep(0.05)
        else:
            raise AssertionError("no reply from the in-process worker")
    finally:
        scheduler.shutdown(wait=True)
    assert _queued(line) == []


def _worker_env(line: SmsLine, tmp_path: Path) -> dict[str, str]:
    settings = line.rt.settings
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "TOWNLINE_INSTANCE": str(tmp_path / "worker-instance"),
        "SECRET_KEY": settings.secret_key,
        "TOWNLINE_LANGUAGES": ",".join(LANGUAGES),
        "TOWNLINE_TIMEZONE": settings.timezone,
        "TOWNLINE_AGENCY_NAME": settings.agency_name,
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID,
        "TWILIO_API_URL": line.fake.url,
        "TWILIO_MPS": "1000",
    }


def test_a_worker_killed_while_answering_leaves_every_message_answered_once(
    line: SmsLine, tmp_path: Path
) -> None:
    residents = [f"+1555100{i:04d}" for i in range(20)]
    script = ["Cars race down Elm Street every night", "1", "Near the school", "no"]
    for turn in script:
        for number in residents:
            assert line.phone(number).send(turn).status_code == 200
    stored = _queued(line)
    total = len(stored)

    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        env=_worker_env(line, tmp_path),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        # Read without a lock: the worker holds SQLite's write lock turn after turn.
        while inbound.count_waiting(line.rt.db) > total * 3 // 4:  # killed once under way
            assert worker.poll() is None, "the worker stopped by itself"
            assert time.monotonic() < deadline, "the worker never started answering"
            time.sleep(0.01)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    left = inbound.count_waiting(line.rt.db)
    assert 0 < left < total  # killed half way, mid-transaction as likely as not

    line.drain()  # the next worker
    assert _queued(line) == []
    messages = _answered(line)
    assert Counter(m.provider_id for m in messages) == Counter(stored)  # each exactly once
    with transaction(line.rt.db) as session:
        versions = [row.version for row in session.exec(select(ConversationSession)).all()]
    assert versions == [len(script)] * len(residents)  # every turn applied once, none lost
    replied_to = Counter(row.in_reply_to for row in _replies(line) if row.kind == "reply")
    assert set(replied_to) == {m.id for m in messages}
    for number in residents:  # each resident's replies, in the order of their messages
        contact = line.contact(number).id
        theirs = [r.in_reply_to for r in _replies(line) if r.contact_id == contact]
        assert theirs == sorted(theirs)
