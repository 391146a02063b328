"""Answers the agency has published (knowledge.yaml), for a technology or policy question."""

from __future__ import annotations

from bot.engine.context import Context
from flows.catalog import fill


def say_answer(ctx: Context, entry: str) -> None:
    """The published answer, or an honest "staff will look into it" when there is none."""
    answer = ctx.catalog.knowledge.get(entry)
    if answer:
        ctx.say_text(fill(answer[ctx.lang], {"agency": ctx.agency()}))
    else:
        ctx.say("no_answer")
