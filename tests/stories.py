"""Conversation stories: a resident's lines in and the bot's lines out, checked line by line."""

from __future__ import annotations

from collections.abc import Sequence

from bot.simulate import Simulator

Expected = str | tuple[str, ...]


def play(resident: Simulator, script: Sequence[tuple[str, Sequence[Expected]]]) -> None:
    """Say each line; each reply must contain, in order, the expected fragments.

    A script entry is (what the resident says, [expected reply, ...]) where each expected
    reply is a fragment or a tuple of fragments; an empty list means the bot stays silent.
    Fragments keep stories readable and let wording be polished without rewriting tests.
    """
    for said, expected in script:
        replies = resident.say(said)
        assert len(replies) == len(expected), f"after {said!r} got {replies!r}"
        for reply, fragments in zip(replies, expected, strict=True):
            for fragment in (fragments,) if isinstance(fragments, str) else fragments:
                assert fragment in reply, f"after {said!r}: {fragment!r} not in {reply!r}"
