"""The conversation engine: (inbound, contact, state, world) -> (new state, events). No I/O.

It listens first: whatever a resident writes first is kept verbatim before any menu. Every
message is read once by the understanding step (`bot.understanding`); then, in the order
`handle` shows, STOP, START, danger or crisis or violence, HELP, a language, an RSVP, a link
and MENU act before any flow. Safety replies come first and alone. The engine never sends,
commits or imports a channel; `bot.conversation` applies its events.

Each kind of message has its module: `commands` (STOP, START, HELP, MENU, a chat opened),
`safety`, `languages`, `topics` (the topic menu and steps), `knowledge`, `meetings` (the list
and RSVPs), `linking`, `prompts`; `context` holds the turn they share.

Channels with commands pass them neutrally in `Inbound.extra`: {"command": "start",
"payload": <deep-link code or absent>} when a chat is opened, {"command": "language"} to ask
for the language menu. HELP and STOP commands arrive as `Inbound.opt_out`.
"""

from __future__ import annotations

from typing import Any

from bot.engine import (
    commands,
    heard,
    languages,
    linking,
    meetings,
    partners,
    prompts,
    safety,
    topics,
)
from bot.engine.context import (
    ACTIVE_STAGES,
    DONE,
    HEARD,
    IDLE,
    LISTENING,
    OPENING,
    PROMPT,
    STEP,
    TOPIC,
    Context,
    PrivacyFacts,
    Turn,
    World,
    is_active,
)
from bot.events import ContactView, Inbound

__all__ = ["ACTIVE_STAGES", "PrivacyFacts", "Turn", "World", "handle", "is_active"]


def handle(inbound: Inbound, contact: ContactView, state: dict[str, Any], world: World) -> Turn:
    """Advance one contact's conversation by one inbound message."""
    ctx = Context(inbound, contact, state, world)
    command = inbound.extra.get("command")
    if commands.is_stop(ctx):
        return commands.stop(ctx)
    if command == "start":
        return commands.opened(ctx)
    if commands.is_start(ctx):
        return commands.start(ctx)
    if ctx.reading.safety:
        return safety.reply(ctx)
    # Privacy questions and erasure are answered even after STOP: a resident's own data.
    if "pending_erase" in ctx.state:
        return commands.answer_erase(ctx)
    if (turn := commands.ask_erase(ctx) or commands.privacy(ctx)) is not None:
        return turn
    if ctx.contact.opted_out:  # silence until START; HELP is still answered
        return commands.help_(ctx) if commands.is_help(ctx) else ctx.finish()
    if commands.is_help(ctx):
        return commands.help_(ctx)
    if (chosen := languages.picked(ctx)) is not None:
        languages.switch(ctx, chosen)
        topics.repeat_question(ctx)
        return ctx.finish(touch=ctx.active)
    if command == "language":
        return languages.menu(ctx)
    if meetings.answer_rsvp(ctx):
        return ctx.finish()
    if (came := partners.by_keyword(ctx)) is not None:
        return partners.arrived(ctx, *came)
    languages.choose(ctx, allow_detection=True)
    if "pending_link" in ctx.state and (turn := linking.confirm(ctx)) is not None:
        return turn
    if ctx.kw.exact("menu", ctx.text):
        return commands.menu(ctx)
    if ctx.kw.exact("telegram", ctx.text):
        return linking.offer(ctx, "telegram")
    return _converse(ctx)


def _converse(ctx: Context) -> Turn:
    """Anything else is the conversation itself: kept, then the next question."""
    if ctx.reading.has("sensitive"):
        ctx.flag(urgent=False, sensitive=True)  # handled with care; nothing is said
    if ctx.inbound.media and ctx.text:
        ctx.say("media_with_text")  # the words go on as usual; the picture can't be read
    if not ctx.text:
        ctx.say("media_received" if ctx.inbound.media else "empty")
        if not ctx.active:
            ctx.new_conversation(ctx.opening_stage())
        return ctx.finish(touch=True)
    if (hit := ctx.kw.flow_keyword(ctx.text)) is not None:
        ctx.new_conversation(STEP)
        topics.start_flow(ctx, ctx.catalog.flow(hit[0]))
        return ctx.finish(touch=True)
    _by_stage(ctx)
    languages.offer(ctx)
    return ctx.finish(touch=True)


def _by_stage(ctx: Context) -> None:
    if ctx.stage == HEARD and heard.answer(ctx):
        return
    stage = ctx.stage
    if stage == DONE and ctx.kw.exact("thanks", ctx.text):
        ctx.say("you_are_welcome")  # a courtesy after the close is not a new concern
        return
    if stage in (IDLE, DONE):
        stage = ctx.opening_stage()
        ctx.new_conversation(stage)
        if stage == LISTENING and ctx.kw.exact("greeting", ctx.text):
            ctx.say("welcome")
            return
    if stage == PROMPT:
        prompts.answer(ctx)
    elif stage in (LISTENING, OPENING):
        ctx.record("more" if ctx.state.get("has_opening") else "opening")
        ctx.state["has_opening"] = True
        if stage == OPENING:
            topics.advance(ctx, ctx.catalog.flow(ctx.state["flow"]), start=0)
        elif (flow := topics.starts_on_its_name(ctx)) is not None:
            topics.start_flow(ctx, flow, named_in=ctx.text)
        else:
            topics.ask_topic(ctx, "topic_question")
    elif stage == TOPIC:
        topics.answer_topic(ctx)
    elif stage == STEP:
        topics.answer_step(ctx)
