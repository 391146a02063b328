"""Stories: a resident raises a safety concern and everything they say is kept."""

from __future__ import annotations

from bot.runtime import Runtime
from bot.simulate import Simulator
from storage import conversations
from storage.db import transaction
from tests.stories import play


def test_listening_first_safety_concern_in_english(rt: Runtime, resident: Simulator) -> None:
    play(
        resident,
        [
            ("hi", ["what's on your mind?"]),
            ("There is speeding on Elm Street every night", [("kept your words", "1 A safety")]),
            ("1", ["Anything else we should know"]),
            ("It happens after 10pm", ["Where is this happening?"]),
            ("Elm and 5th", ["may we text you what was done?\n1 Yes\n2 No"]),
            ("yes", ["Thank you for raising this"]),
        ],
    )
    with transaction(rt.db) as session:
        rows = conversations.list_responses(session)
    said = [(r.item, r.text, r.topic, r.place, r.follow_up_consent) for r, _ in rows]
    assert said == [
        ("opening", "There is speeding on Elm Street every night", "safety", "Elm and 5th", True),
        ("details", "It happens after 10pm", "safety", "Elm and 5th", True),
    ]
