"""The words that act before any flow: STOP, START, HELP, MENU, and a chat being opened."""

from __future__ import annotations

from bot.engine import languages, linking, topics
from bot.engine.context import IDLE, LISTENING, TOPIC, Context, Turn
from bot.events import SetOptOut


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
    linking_now = bool(payload) and ctx.world.link_code_ok
    languages.choose(ctx, allow_detection=False, command="start")
    if payload and not linking_now:
        ctx.say("link_invalid")
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
