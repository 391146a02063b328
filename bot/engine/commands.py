"""The words that act before any flow: STOP, START, HELP, MENU, and a chat being opened."""

from __future__ import annotations

from bot.engine import languages, linking, partners, topics
from bot.engine.context import IDLE, LISTENING, TOPIC, Context, Turn
from bot.events import EraseMe, ReplyChoice, SetOptOut


def is_stop(ctx: Context) -> bool:
    return ctx.inbound.opt_out == "STOP" or ctx.reading.has("stop")


def is_start(ctx: Context) -> bool:
    """START, UNSTOP, YES and each language's "start again"; never "ok" or "sure".

    A resident who has stopped may say it in a sentence ("please send me the alerts
    again"); anyone else only as the whole message, so a story that mentions starting
    is not mistaken for a request.
    """
    if ctx.inbound.opt_out == "START":
        return True
    if ctx.contact.opted_out:
        return ctx.reading.has("start") or ctx.reading.resumes
    triage = ctx.world.understanding.triage
    return ctx.reading.has("start") and triage.whole_message("start", ctx.text)


def is_help(ctx: Context) -> bool:
    return ctx.inbound.opt_out == "HELP" or ctx.kw.exact("help", ctx.text) is not None


def stop(ctx: Context) -> Turn:
    """Opt out at once; confirm only the first time (one confirmation, as carriers require)."""
    if ctx.contact.opted_out:
        return ctx.finish()
    languages.choose(ctx, allow_detection=False, command="stop")
    ctx.events.append(SetOptOut(True))
    if ctx.inbound.opt_out != "STOP":  # else the provider sent its confirmation already
        # A resident linked across channels stops only this one, and is told so.
        ctx.say("stopped_here" if ctx.contact.linked else "stopped")
    ctx.state = {"stage": IDLE}
    return ctx.finish()


def start(ctx: Context) -> Turn:
    languages.choose(ctx, allow_detection=False, command="start")
    if ctx.contact.opted_out:
        ctx.events.append(SetOptOut(False))
    ctx.say("started")
    ctx.new_conversation(LISTENING)
    return ctx.finish(touch=True)


def help_(ctx: Context) -> Turn:
    """Who we are and that this is not for emergencies; answered even after STOP."""
    languages.choose(ctx, allow_detection=False, command="help")
    ctx.say("help")
    return ctx.finish(touch=not ctx.contact.opted_out)


def opened(ctx: Context) -> Turn:
    """A chat was opened (Telegram's /start): welcome, resume after STOP, or confirm a link."""
    payload = ctx.inbound.extra.get("payload")
    if payload and (partner := partners.by_payload(ctx, payload)) is not None:
        if ctx.contact.opted_out:
            ctx.events.append(SetOptOut(False))
        return partners.arrived(ctx, partner)
    linking_now = bool(payload) and ctx.world.link_code_ok
    languages.choose(ctx, allow_detection=False, command="start")
    if payload and not linking_now and partners.PAYLOAD_PREFIX not in payload:
        ctx.say("link_invalid")
    if ctx.contact.opted_out and ctx.inbound.extra.get("keeps_opt_out"):
        # Opening a chat is asking to hear from us again; calling the line is not. A caller
        # who said STOP is reminded how to come back, and stays stopped until they do.
        ctx.say("stopped")
        ctx.state = {"stage": IDLE}
        return ctx.finish()
    if ctx.contact.opted_out:
        ctx.events.append(SetOptOut(False))
        ctx.say("started")
    elif not linking_now:
        ctx.say("welcome")
    ctx.new_conversation(LISTENING)
    if linking_now:
        ctx.state["pending_link"] = payload
        ctx.say("link_confirm", linking.choices(ctx))
        ctx.note_later = True  # a yes/no about linking: the note waits for the conversation
    return ctx.finish(touch=True)


def menu(ctx: Context) -> Turn:
    ctx.new_conversation(TOPIC)
    ctx.state["has_opening"] = False
    topics.ask_topic(ctx, "menu_question")
    return ctx.finish(touch=True)


# ---- privacy: what happens to the words, and erasure on request ------------------------------
def _said_in(ctx: Context, group: str, command: str) -> bool:
    """Whether the message is one of a group's words; if so, answer in that word's language."""
    hit = ctx.kw.exact(group, ctx.text)
    if hit is None:
        return False
    languages.choose(ctx, allow_detection=False, command=command)
    if hit.language and hit.language in ctx.catalog.languages:
        ctx.lang = hit.language  # "PRIVACIDAD" is answered in Spanish, this once
    return True


def privacy(ctx: Context) -> Turn | None:
    """PRIVACY (and "who reads this?"): who reads, what is kept and for how long, records law.

    Every figure comes from the agency's settings (World.privacy), so what residents are told
    is what the retention job does.
    """
    if not _said_in(ctx, "privacy", "privacy"):
        return None
    facts = ctx.world.privacy
    if facts is None:
        ctx.say("privacy_unset")
        return ctx.finish(touch=ctx.active and not ctx.contact.opted_out)
    said: list[tuple[str, dict[str, str]]] = [("privacy", {})]
    if facts.contact_days:
        said.append(("privacy_number_days", {"days": str(facts.contact_days)}))
    else:
        said.append(("privacy_number_kept", {}))
    if facts.words_days:
        said.append(("privacy_words_days", {"days": str(facts.words_days)}))
    said.append(("privacy_records", {}))
    if facts.no_immigration_questions:
        said.append(("privacy_immigration", {}))
    said.append(("privacy_delete", {}))
    if facts.url:
        said.append(("privacy_more", {"url": facts.url}))
    parts = [ctx.msg(key, **values) for key, values in said]
    # On a call each part is said from its own spoken variant ("say DELETE MY DATA" rather
    # than "reply …"), or as much of it as reads aloud.
    aloud = [
        ctx.spoken(key, **values) or ctx.catalog.voice.aloud(part, ctx.lang)
        for (key, values), part in zip(said, parts, strict=True)
    ]
    ctx.say_text(_joined(ctx.lang, parts), spoken=_joined(ctx.lang, [p for p in aloud if p]))
    return ctx.finish(touch=ctx.active and not ctx.contact.opted_out)


def _joined(language: str, parts: list[str]) -> str:
    """Sentences joined as the language writes them (Chinese needs no spaces)."""
    return ("" if language.startswith("zh") else " ").join(parts)


def ask_erase(ctx: Context) -> Turn | None:
    """DELETE MY DATA: say what will go and what stays, and ask once."""
    if not _said_in(ctx, "erase", "erase"):
        return None
    ctx.state["pending_erase"] = ctx.lang  # the answer comes in the language of the question
    ctx.say("erase_confirm", _yes_no(ctx))
    return ctx.finish(touch=True)


def _yes_no(ctx: Context) -> tuple[ReplyChoice, ...]:
    return (
        ReplyChoice("1", ctx.msg("choice_yes"), "yes"),
        ReplyChoice("2", ctx.msg("choice_no"), "no"),
    )


def answer_erase(ctx: Context) -> Turn:
    """Yes erases at once (the confirmation is the last message to this address); anything
    else keeps everything and says so."""
    asked_in = ctx.state.pop("pending_erase", None)
    languages.choose(ctx, allow_detection=False)
    if isinstance(asked_in, str) and asked_in in ctx.catalog.languages:
        ctx.lang = asked_in
    picked = ctx.pick(_yes_no(ctx))
    yes = (picked is not None and picked.value == "yes") or (
        ctx.inbound.choice is None
        and (ctx.kw.exact("yes", ctx.text) is not None or ctx.kw.exact("erase", ctx.text))
    )
    if not yes:
        ctx.say("erase_cancelled")
        return ctx.finish(touch=ctx.active)
    ctx.events.append(EraseMe())
    ctx.say("erased")
    ctx.state = {"stage": IDLE}
    return ctx.finish()
