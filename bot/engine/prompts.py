"""Listening prompts: staff asked residents an open question; every line is an answer."""

from __future__ import annotations

from bot.engine.context import Context


def answer(ctx: Context) -> None:
    """Every line is the resident's answer to the open question: kept verbatim, thanked."""
    first = not ctx.state.get("has_opening")
    ctx.record("prompt" if first else "more")
    ctx.state["has_opening"] = True
    ctx.say("prompt_thanks" if first else "prompt_more")
