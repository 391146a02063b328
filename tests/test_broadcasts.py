"""Stories: staff preview and send broadcasts and listening prompts; workers share the load."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.services import broadcasts
from bot.services.validation import InvalidInputError
from bot.simulate import Simulator
from bot.worker import Worker
from storage import conversations, outbox
from storage.db import transaction
from storage.models import Contact, Outbox
from storage.scheduling import SchedulerLock
from tests.conftest import Clock
from tests.fakes.bulk_provider import BulkHttpChannel, FakeBulkProvider

HOLA = "Hola vecinos: la reunión es el jueves."
_numbers = itertools.count()


def seed(rt: Runtime, n: int, **values: object) -> list[int]:
    """Residents on the bulk channel, created straight in the database."""
    ids = []
    with transaction(rt.db) as session:
        for _i in range(n):
            contact = conversations.get_or_create_contact(
                session, "bulk", f"+1555{next(_numbers):07d}", rt.now()
            )
            assert contact.id is not None
            if values:
                conversations.update_contact(session, contact.id, **values)
            ids.append(contact.id)
    return ids


@pytest.fixture
def provider() -> Iterator[FakeBulkProvider]:
    """A fake SMS gateway on 127.0.0.1."""
    fake = FakeBulkProvider()
    yield fake
    fake.close()


@pytest.fixture
def bulk(rt: Runtime, provider: FakeBulkProvider) -> Iterator[BulkHttpChannel]:
    """The bulk channel registered on the test runtime."""
    channel = BulkHttpChannel(provider.url, rate=2000)
    rt.channels["bulk"] = channel
    yield channel
    channel.close()


def test_preview_counts_recipients_and_segments_per_language(rt: Runtime, bulk: object) -> None:
    seed(rt, 3, language="en")
    seed(rt, 2, language="es")
    seed(rt, 1, language="zh", neighbourhood="Northside")
    seed(rt, 1, language="vi", opted_out_at=rt.now())
    message = {"en": "Meeting Thursday at the library, 6pm.", "es": HOLA}
    shown = broadcasts.preview(rt, message)
    assert shown["recipients"] == 5
    assert shown["by_language"] == {
        "en": {"recipients": 3, "encoding": "GSM-7", "segments": 1},
        "es": {"recipients": 2, "encoding": "UCS-2", "segments": 1},  # the ó costs UCS-2
    }
    assert shown["missing"] == {"zh": 1}, "the opted-out resident is not counted"
    with_fallback = broadcasts.preview(rt, message, fallback_to_default=True)
    assert with_fallback["recipients"] == 6
    assert with_fallback["by_language"]["en"]["recipients"] == 4
    chinese = broadcasts.preview(rt, {"zh": "周四晚上六点在图书馆开会。"}, {"languages": ["zh"]})
    assert chinese["by_language"] == {"zh": {"recipients": 1, "encoding": "UCS-2", "segments": 1}}
    north = broadcasts.preview(rt, {"zh": "你好"}, {"neighbourhoods": ["northside"]})
    assert north["recipients"] == 1


def test_a_broadcast_reaches_its_audience_once_in_their_language(
    rt: Runtime, bulk: object, provider: FakeBulkProvider
) -> None:
    english = seed(rt, 3, language="en")
    spanish = seed(rt, 2, language="es")
    seed(rt, 1, language="zh")  # no Chinese text and no fallback: left out
    seed(rt, 2, language="en", opted_out_at=rt.now())  # opted out: excluded at queue time
    sent = broadcasts.create_broadcast(rt, {"en": "Meeting Thursday.", "es": HOLA})
    assert sent.status == "queued"
    assert sent.recipients == 5
    # One Spanish speaker sends STOP by another route after the rows were queued.
    with transaction(rt.db) as session:
        conversations.update_contact(session, spanish[0], opted_out_at=rt.now())
    Worker(rt).drain()
    assert provider.received == 4
    assert provider.duplicates == 0
    with transaction(rt.db) as session:
        rows = session.exec(select(Outbox).where(Outbox.broadcast_id == sent.id)).all()
    texts = {row.contact_id: (row.text, row.status) for row in rows}
    assert texts[english[0]] == ("Meeting Thursday.", "sent")
    assert texts[spanish[1]] == (HOLA, "sent")
    assert texts[spanish[0]] == (HOLA, "cancelled"), "excluded again at send time"
    progress = broadcasts.progress(rt, sent.id or 0)
    assert progress["recipients"] == 5
    assert (progress["queued"], progress["sent"], progress["cancelled"]) == (0, 4, 1)


def test_the_default_language_reaches_others_only_when_staff_say_so(
    rt: Runtime, bulk: object
) -> None:
    (chinese,) = seed(rt, 1, language="zh")
    sent = broadcasts.create_broadcast(rt, {"en": "Hello"}, fallback_to_default=True)
    with transaction(rt.db) as session:
        (row,) = session.exec(select(Outbox).where(Outbox.broadcast_id == sent.id)).all()
    assert (row.contact_id, row.language, row.text) == (chinese, "en", "Hello")


def test_a_scheduled_broadcast_waits_for_its_time_and_quiet_hours_hold_it(
    rt: Runtime, clock: Clock, bulk: object, provider: FakeBulkProvider
) -> None:
    seed(rt, 2, language="en")
    sent = broadcasts.create_broadcast(
        rt, {"en": "Road closed tomorrow."}, send_at="2026-11-24T20:30:00-05:00"
    )
    assert sent.status == "scheduled"
    worker = Worker(rt)
    worker.run_scheduled()
    assert broadcasts.progress(rt, sent.id or 0)["recipients"] == 0
    clock.now = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)  # 20:30 in New York
    worker.run_scheduled()
    assert broadcasts.progress(rt, sent.id or 0)["queued"] == 2
    clock.now = datetime(2026, 11, 25, 2, 5, tzinfo=UTC)  # 21:05: quiet hours began meanwhile
    worker.drain()
    progress = broadcasts.progress(rt, sent.id or 0)
    assert (progress["held"], progress["sent"]) == (2, 0)
    clock.now = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 08:00
    worker.drain()
    progress = broadcasts.progress(rt, sent.id or 0)
    assert (progress["held"], progress["sent"], progress["delivered"]) == (0, 2, 0)
    assert provider.received == 2


def test_a_listening_prompt_keeps_the_answers_tied_to_it(rt: Runtime, clock: Clock) -> None:
    resident = Simulator(rt, "sim-1", language="en")
    resident.say("hi")
    clock.advance(hours=2)
    prompt = broadcasts.create_broadcast(
        rt,
        {"en": "After last week's incident on Elm St, what would help you feel safe?"},
        prompt=True,
        prompt_window="P2D",
    )
    Worker(rt).drain()
    assert resident.replies() == [
        "After last week's incident on Elm St, what would help you feel safe?"
    ]
    (thanks,) = resident.say("More lights on Elm, and someone to talk to")
    assert "kept your words" in thanks
    assert "Reply with a number" not in thanks, "no menu: the answer is the point"
    assert resident.say("Also the bus stop") == ["Thank you, we've added that."]
    answers = broadcasts.prompt_answers(rt, prompt.id or 0)
    assert [(a["item"], a["text"]) for a in answers] == [
        ("prompt", "More lights on Elm, and someone to talk to"),
        ("more", "Also the bus stop"),
    ]
    assert len({a["conversation"] for a in answers}) == 1
    clock.advance(days=3)  # the window closed: a new message starts the usual listening
    (reply,) = resident.say("There is speeding on Oak Street")
    assert "what is this about?" in reply
    assert len(broadcasts.prompt_answers(rt, prompt.id or 0)) == 2


@pytest.mark.parametrize(
    ("call", "field", "says"),
    [
        ({"message": {}}, "message", "object of texts by language"),
        ({"message": {"fr": "Bonjour"}}, "message.fr", "unknown language"),
        ({"message": {"en": "  "}}, "message.en", "non-empty"),
        ({"message": {"en": "x" * 1601}}, "message.en", "at most 1600"),
        ({"audience": {"languages": ["klingon"]}}, "audience.languages", "not a configured"),
        ({"audience": {"channels": ["fax"]}}, "audience.channels", "not a channel"),
        ({"audience": {"subscribers": "yes"}}, "audience.subscribers", "true or false"),
        ({"audience": {"age": [30]}}, "audience.age", "unknown"),
        ({"audience": {"neighbourhoods": "Northside"}}, "audience.neighbourhoods", "list"),
        ({"send_at": "tomorrow"}, "send_at", "not an ISO 8601 date-time"),
        ({"send_at": "2026-11-25T09:00:00"}, "send_at", "no UTC offset"),
        ({"send_at": "2026-11-20T09:00:00Z"}, "send_at", "in the past"),
        ({"prompt": True, "prompt_window": "2 days"}, "prompt_window", "ISO 8601 duration"),
        ({"prompt_window": "P1D"}, "prompt_window", "only for a prompt"),
        ({"message": {"es": "Hola"}, "fallback_to_default": True}, "fallback_to_default", "(en)"),
    ],
)
def test_create_broadcast_names_the_field_to_fix(
    rt: Runtime, bulk: object, call: dict[str, object], field: str, says: str
) -> None:
    args: dict[str, object] = {"message": {"en": "Hello"}, **call}
    with pytest.raises(InvalidInputError) as caught:
        broadcasts.create_broadcast(rt, **args)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert says in caught.value.message
    with transaction(rt.db) as session:
        assert session.exec(select(Outbox)).first() is None, "nothing queued"


def test_preview_checks_its_input_too(rt: Runtime) -> None:
    with pytest.raises(InvalidInputError) as caught:
        broadcasts.preview(rt, {"en": "Hi"}, {"languages": "en"})
    assert caught.value.field == "audience.languages"


def test_two_workers_share_one_broadcast_without_sending_twice(
    settings: Settings, clock: Clock, provider: FakeBulkProvider
) -> None:
    runtimes = [build_runtime(settings, clock=clock) for _ in range(2)]  # two engines, two pools
    channels = [BulkHttpChannel(provider.url, rate=5000) for _ in runtimes]
    for runtime, channel in zip(runtimes, channels, strict=True):
        runtime.channels["bulk"] = channel
    seed(runtimes[0], 600, language="en")
    sent = broadcasts.create_broadcast(runtimes[0], {"en": "Water main repair on Elm tonight."})
    assert sent.recipients == 600
    workers = [Worker(runtime) for runtime in runtimes]
    handled = [0, 0]

    def run(i: int) -> None:
        while (n := workers[i].run_once(limit_per_channel=25)) > 0:
            handled[i] += n

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert provider.received == 600
    assert provider.duplicates == 0
    assert all(n > 0 for n in handled), f"both workers took a share: {handled}"
    assert broadcasts.progress(runtimes[0], sent.id or 0)["sent"] == 600
    for runtime, channel in zip(runtimes, channels, strict=True):
        channel.close()
        runtime.db.dispose()


def test_only_one_worker_holds_the_scheduler_lock(settings: Settings, clock: Clock) -> None:
    runtimes = [build_runtime(settings, clock=clock) for _ in range(2)]
    first, second = (SchedulerLock(r.db, clock=clock) for r in runtimes)
    assert first.acquire()
    assert not second.acquire()
    assert first.acquire(), "the holder keeps it"
    first.release()
    assert second.acquire(), "another worker takes over once it is free"
    second.release()
    for runtime in runtimes:
        runtime.db.dispose()


def test_bulk_enqueue_skips_opted_out_and_unreachable(rt: Runtime) -> None:
    seed(rt, 2, language="vi")
    seed(rt, 1, unreachable_at=rt.now())
    with transaction(rt.db) as session:
        from storage.broadcasts import audience

        count = outbox.bulk_enqueue(
            session,
            audience(default_language="en"),
            texts={"vi": "Xin chào"},
            default_language="en",
            values={"kind": "broadcast", "created_at": rt.now(), "next_attempt_at": rt.now()},
        )
        assert count == 2
        assert conversations.count_rows(session, Contact) == 3
