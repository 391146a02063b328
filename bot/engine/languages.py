"""Which language to answer in, and switching it: explicit choice, memory, hint, the text."""

from __future__ import annotations

from bot.engine.context import Context, Turn
from bot.events import Reply, ReplyChoice, SetLanguage
from bot.language import decide_language, same_language


def choose(ctx: Context, allow_detection: bool, command: str | None = None) -> None:
    """Apply the language policy; a keyword in a known language counts as a hint.

    A command word (STOP, HELP…) written in one language is answered in that language,
    this once, even if the resident's stored language differs: it is what they can read.
    """
    said_in: str | None = None
    for group in (command, "stop", "start", "help"):
        if group and (language := ctx.reading.languages.get(group)):
            said_in = language
            break
    if said_in is None and (hit := ctx.kw.exact("greeting", ctx.text)) and hit.language:
        said_in = hit.language
    if said_in and ctx.contact.language and same_language(said_in, ctx.contact.language):
        said_in = ctx.contact.language  # 謝謝 from a resident who chose Simplified: still zh
    decision = decide_language(
        ctx.text if allow_detection else "",
        explicit=None,
        stored=ctx.contact.language,
        hint=ctx.inbound.language_hint or said_in,
        languages=ctx.catalog.languages,
        default=ctx.catalog.languages[0],
        detector=ctx.world.detector,
    )
    ctx.lang = decision.language
    if decision.remember and decision.language != ctx.contact.language:
        ctx.events.append(SetLanguage(decision.language, decision.source))
    if command and said_in:
        ctx.lang = said_in
    ctx.proposal = decision.proposal if allow_detection else None


def offer(ctx: Context) -> None:
    """Ask before switching a resident who already has a language; offer each only once."""
    proposal = ctx.proposal
    offered = list(ctx.state.get("offered", []))
    if proposal and proposal != ctx.lang and proposal not in offered:
        ctx.events.append(
            Reply(
                ctx.msg("offer_language", proposal),
                proposal,
                spoken=ctx.spoken("offer_language", proposal),
            )
        )
        ctx.state["offered"] = [*offered, proposal]


def picked(ctx: Context) -> str | None:
    """A language by name, by the menu's button, or by its number right after the menu."""
    menu = ctx.state.pop("language_menu", False)
    choice = ctx.inbound.choice or ""
    if choice.startswith("lang:") and choice[5:] in ctx.catalog.languages:
        return choice[5:]
    if menu and (chosen := ctx.pick(_choices(ctx))) is not None:
        return chosen.value[5:]
    return ctx.kw.language_choice(ctx.text)


def _choices(ctx: Context) -> tuple[ReplyChoice, ...]:
    return tuple(
        ReplyChoice(str(i), ctx.msg("language_name", lang), f"lang:{lang}")
        for i, lang in enumerate(ctx.catalog.languages, start=1)
    )


def menu(ctx: Context) -> Turn:
    """Every language by its own name; the current question waits."""
    choose(ctx, allow_detection=False)
    ctx.state["language_menu"] = True
    ctx.say("language_menu", _choices(ctx))
    return ctx.finish()


def switch(ctx: Context, language: str) -> None:
    """An explicit choice wins and is remembered (the caller asks the question again)."""
    ctx.lang = language
    ctx.events.append(SetLanguage(language, "explicit"))
    ctx.say("language_set")
