"""One contact's messages are applied one at a time, even when they arrive at once."""

from __future__ import annotations

import threading

from sqlmodel import select

from bot.conversation import receive
from bot.events import Inbound
from bot.runtime import Runtime
from storage import conversations
from storage.db import transaction
from storage.models import ConversationSession, Message, Response


def test_simultaneous_messages_from_one_resident_are_all_applied_in_turn(rt: Runtime) -> None:
    lines = [f"Message number {i} about the broken streetlight" for i in range(12)]
    barrier = threading.Barrier(len(lines))

    def send(i: int) -> None:
        barrier.wait()
        receive(rt, Inbound("simulator", "busy-resident", lines[i], f"busy-{i}"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(lines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with transaction(rt.db) as session:
        assert conversations.count_rows(session, Message) == len(lines)
        [state] = session.exec(select(ConversationSession)).all()
        kept = {r.text for r in session.exec(select(Response)).all()}
    assert state.version == len(lines)  # every turn saw the one before it
    assert kept == set(lines)  # the opening, then each further line kept as more words
