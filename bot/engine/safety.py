"""Danger, crisis, violence: who to call, first and alone, in the resident's own language."""

from __future__ import annotations

from bot.engine import heard
from bot.engine.context import (
    HEARD,
    LISTENING,
    OPENING,
    PROMPT,
    STEP,
    TOPIC,
    Context,
    Turn,
)
from bot.events import SetLanguage
from bot.language import decide_language


def reply(ctx: Context) -> Turn:
    """Who to call, first and alone: no menu and no question in this turn.

    The words are kept and flagged (urgent: danger or crisis, sorted first for staff;
    sensitive: crisis or violence), and the conversation stays open for when the resident
    is safe. A bare HELP is the carriers' keyword: its reply opens with 911.
    """
    ctx.lang = _language(ctx)
    if ctx.reading.has("help"):
        ctx.say("help")
        return ctx.finish(touch=True)
    for name in ctx.reading.safety:
        ctx.say(name)
    safety = set(ctx.reading.safety)
    ctx.flag(urgent=bool(safety & {"emergency", "crisis"}), sensitive=bool(safety - {"emergency"}))
    _keep_words(ctx)
    return ctx.finish(touch=True)


def _language(ctx: Context) -> str:
    """The language of the message itself; when it is too short to tell, of its words."""
    languages = ctx.catalog.languages
    decision = decide_language(
        ctx.text,
        explicit=None,
        stored=None,
        hint=None,
        languages=languages,
        default=languages[0],
        detector=ctx.world.detector,
    )
    if decision.source in ("script", "detected"):
        language = decision.language
    else:
        language = ctx.reading.phrase_language(*ctx.reading.safety) or ctx.lang
    if language not in languages:
        language = ctx.lang
    if ctx.contact.language is None:
        ctx.events.append(SetLanguage(language, decision.source))
    return language


def _keep_words(ctx: Context) -> None:
    """Keep what was said where the conversation is, without moving it on. After a
    conversation's end (its optional questions included), danger starts a new one."""
    if ctx.stage == HEARD:
        heard.stop(ctx)
    if not ctx.active:
        ctx.new_conversation(ctx.opening_stage())
    first = not ctx.state.get("has_opening")
    if ctx.stage == PROMPT:
        ctx.record("prompt" if first else "more")
    elif ctx.stage in (LISTENING, OPENING):
        ctx.record("opening" if first else "more")
    else:
        ctx.record("more")
    if ctx.stage not in (STEP, TOPIC):
        ctx.state["has_opening"] = True
