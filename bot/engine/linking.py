"""One resident, two channels: ask for a link, and confirm one in the chat it opens."""

from __future__ import annotations

from bot.engine.context import Context, Turn
from bot.events import LinkContact, ReplyChoice, RequestLink


def choices(ctx: Context) -> tuple[ReplyChoice, ...]:
    return (
        ReplyChoice("1", ctx.msg("choice_yes"), "link:yes"),
        ReplyChoice("2", ctx.msg("choice_no"), "link:no"),
    )


def confirm(ctx: Context) -> Turn | None:
    """Yes links this chat to the resident who asked; anything but yes/no carries on."""
    code = ctx.state.pop("pending_link")
    ctx.note_later = True  # an answer about linking: the note waits for the conversation
    choice = ctx.pick(choices(ctx))
    if choice is not None:
        yes: bool | None = choice.value == "link:yes"
    elif ctx.kw.exact("yes", ctx.text):
        yes = True
    elif ctx.kw.exact("no", ctx.text):
        yes = False
    else:
        return None
    if yes and ctx.world.link_code_ok:
        ctx.events.append(LinkContact(code))
        ctx.say("linked")
    else:
        ctx.say("link_invalid" if yes else "link_declined")
    return ctx.finish(touch=True)


def offer(ctx: Context, channel: str) -> Turn:
    """Ask the host for a deep link to `channel`, when that channel is on and is elsewhere."""
    if ctx.inbound.channel == channel:
        ctx.say("link_already")
    elif channel not in ctx.world.link_channels:
        ctx.say("link_unavailable")
    else:
        ctx.events.append(RequestLink(channel, ctx.lang))
    return ctx.finish(touch=ctx.active)
