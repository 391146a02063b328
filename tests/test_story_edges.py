"""Stories at the edges: odd text, pictures, silence, retries and residents who come back later."""

from __future__ import annotations

from bot.conversation import receive
from bot.events import Inbound
from bot.runtime import Runtime
from bot.simulate import Simulator
from bot.worker import Worker
from storage import conversations
from storage.db import transaction
from storage.models import Message, Outbox, Response
from tests.conftest import Clock
from tests.stories import play


def _responses(rt: Runtime) -> list[Response]:
    with transaction(rt.db) as session:
        return [r for r, _ in conversations.list_responses(session)]


def test_a_returning_resident_is_listened_to_afresh(
    rt: Runtime, resident: Simulator, clock: Clock
) -> None:
    play(
        resident,
        [
            ("The crosswalk paint on Birch is gone", ["kept your words"]),
            ("1", ["Anything else we should know"]),
        ],
    )
    clock.advance(minutes=rt.settings.session_idle_minutes + 1)
    play(
        resident,
        [
            (
                "Also the school zone sign is bent",
                [
                    "kept your words",
                ],
            )
        ],
    )
    openings = [r.text for r in _responses(rt) if r.item == "opening"]
    assert openings == ["The crosswalk paint on Birch is gone", "Also the school zone sign is bent"]
    assert len({r.conversation for r in _responses(rt)}) == 2


def test_within_the_idle_time_the_conversation_continues(
    resident: Simulator, clock: Clock, rt: Runtime
) -> None:
    resident.say("The crosswalk paint on Birch is gone")
    clock.advance(minutes=rt.settings.session_idle_minutes - 1)
    play(resident, [("1", ["Anything else we should know"])])


def test_emoji_only_gets_a_kind_reply_and_is_kept(rt: Runtime, resident: Simulator) -> None:
    play(resident, [("👍🙏", ["kept your words"])])
    assert _responses(rt)[0].text == "👍🙏"


def test_a_very_long_message_is_kept_whole(rt: Runtime, resident: Simulator) -> None:
    text = "The lights on Cedar Street are out again. " * 48  # about 2,000 characters
    play(resident, [(text, ["kept your words"])])
    assert _responses(rt)[0].text == text.strip()


def test_another_script_gets_a_sensible_reply(rt: Runtime, resident: Simulator) -> None:
    # Amharic: not a configured language, and langdetect cannot read Ethiopic at all.
    play(resident, [("በመንገዳችን ላይ መብራት የለም", ["kept your words"])])
    assert _responses(rt)[0].text == "በመንገዳችን ላይ መብራት የለም"


def test_an_empty_message_asks_for_words(resident: Simulator) -> None:
    play(resident, [("", ["We didn't get any words"]), ("   ", ["We didn't get any words"])])


def test_a_picture_without_words_is_kept_and_explained(rt: Runtime) -> None:
    receive(rt, Inbound("simulator", "pic", "", "p1", media=("https://example.test/m/1.jpg",)))
    Worker(rt).drain()
    with transaction(rt.db) as session:
        message = session.get(Message, 1)
        reply = session.get(Outbox, 1)
    assert message is not None
    assert message.media == ["https://example.test/m/1.jpg"]
    assert reply is not None
    assert "reads text only" in reply.text


def test_a_redelivered_message_is_processed_once(rt: Runtime) -> None:
    inbound = Inbound("simulator", "dup", "Graffiti on the library wall", "provider-42")
    first = receive(rt, inbound)
    second = receive(rt, inbound)
    assert (first.duplicate, second.duplicate) == (False, True)
    assert [r.text for r in _responses(rt)] == ["Graffiti on the library wall"]
    with transaction(rt.db) as session:
        assert conversations.count_rows(session, Outbox) == 1


def test_an_unexpected_answer_is_kept_and_the_question_asked_again(
    rt: Runtime, resident: Simulator
) -> None:
    play(
        resident,
        [
            ("An officer stopped me on Friday", ["1 A safety"]),
            ("4", ["did the officers treat you with respect?"]),
            ("he was polite but rushed me", [("we've kept that too", "respect?")]),
            ("9", ["Please reply with a number from 1 to 5"]),
            ("3", ["did they listen"]),
        ],
    )
    kept = [(r.item, r.text) for r in _responses(rt)]
    assert ("more", "he was polite but rushed me") in kept
    assert ("respect", "3") in kept


def test_thanks_after_the_close_is_not_a_new_concern(rt: Runtime, resident: Simulator) -> None:
    play(
        resident,
        [
            ("MEETINGS", ["No community meetings", "reminders of meetings"]),
            ("no", ["Reply MEETINGS any time"]),
            ("thank you!", ["You're welcome"]),
            ("gracias", ["You're welcome"]),
            ("One more thing: the bus shelter glass is broken", ["kept your words"]),
        ],
    )
    assert [r.text for r in _responses(rt)] == ["One more thing: the bus shelter glass is broken"]
