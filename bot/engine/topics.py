"""The topic menu and a topic's steps: what the resident raises, in the agency's own words."""

from __future__ import annotations

import re

from bot.engine import knowledge, meetings
from bot.engine.context import (
    DONE,
    LISTENING,
    OPENING,
    PROMPT,
    STEP,
    TOPIC,
    WORDY,
    Context,
    small_number,
)
from bot.events import (
    ReplyChoice,
    SetConsent,
    SetNeighbourhood,
    SetReminderArea,
    TagConversation,
)
from flows.catalog import Flow, Step, fill, step_text


def topic_choices(ctx: Context) -> tuple[ReplyChoice, ...]:
    return tuple(
        ReplyChoice(str(i), f.label[ctx.lang], f"topic:{f.id}")
        for i, f in enumerate(ctx.catalog.flows, start=1)
    )


def ask_topic(ctx: Context, message_id: str) -> None:
    ctx.state["stage"] = TOPIC
    ctx.say(message_id, topic_choices(ctx))


def answer_topic(ctx: Context) -> None:
    choice = ctx.pick(topic_choices(ctx))
    if choice is None:
        if len(ctx.text.split()) >= WORDY or not re.fullmatch(r"\d+", ctx.text):
            ctx.record("more")
            ctx.say("topic_again", topic_choices(ctx))
        else:
            ctx.say("invalid_choice", topic_choices(ctx))
        return
    start_flow(ctx, ctx.catalog.flow(choice.value.removeprefix("topic:")))


def start_flow(ctx: Context, flow: Flow) -> None:
    ctx.state["flow"] = flow.id
    ctx.state["answers"] = {}
    ctx.events.append(TagConversation(ctx.state["conversation"], topic=flow.id))
    if ctx.state.get("has_opening") or flow.id == "meetings":
        advance(ctx, flow, start=0)
    else:
        ctx.state["stage"] = OPENING
        ctx.say("ask_opening")


def advance(ctx: Context, flow: Flow, start: int) -> None:
    """Run steps from `start`: say what needs no answer, stop at the first question."""
    answers = ctx.state.setdefault("answers", {})
    for step in flow.steps[start:]:
        if step.when and answers.get(step.when[0]) != step.when[1]:
            continue
        if step.type == "knowledge":
            knowledge.say_answer(ctx, answers.get(step.source or "", ""))
        elif step.type == "meetings":
            meetings.say_upcoming(ctx)
        else:
            ctx.state["stage"] = STEP
            ctx.state["step"] = step.id
            ask_step(ctx, step)
            return
    ctx.state["stage"] = DONE
    ctx.state.pop("step", None)
    ctx.say_text(fill(flow.end[ctx.lang], {"agency": ctx.world.agency}))


def step_choices(ctx: Context, step: Step) -> tuple[ReplyChoice, ...]:
    if step.type == "choice":
        return tuple(
            ReplyChoice(str(i), c.label[ctx.lang], c.id)
            for i, c in enumerate(step.choices, start=1)
        )
    if step.type in ("consent", "subscribe"):
        return (
            ReplyChoice("1", ctx.msg("choice_yes"), "yes"),
            ReplyChoice("2", ctx.msg("choice_no"), "no"),
        )
    if step.type == "rating":
        return tuple(ReplyChoice(str(n), str(n), str(n)) for n in range(1, 6))
    return ()


def ask_step(ctx: Context, step: Step, prefix: str | None = None) -> None:
    text = fill(step_text(ctx.catalog, step, ctx.lang), {"agency": ctx.world.agency})
    if prefix:
        text = f"{ctx.msg(prefix)} {text}"
    ctx.say_text(text, step_choices(ctx, step))


def repeat_question(ctx: Context) -> None:
    """Whatever the resident was last asked, asked again (after a language switch)."""
    if ctx.stage == TOPIC:
        ctx.say("menu_question", topic_choices(ctx))
    elif ctx.stage in (OPENING, LISTENING, PROMPT):
        ctx.say("ask_opening")
    elif ctx.stage == STEP:
        flow = ctx.catalog.flow(ctx.state["flow"])
        ask_step(ctx, flow.step(ctx.state["step"]))


def answer_step(ctx: Context) -> None:
    flow = ctx.catalog.flow(ctx.state["flow"])
    step = flow.step(ctx.state["step"])
    answers = ctx.state.setdefault("answers", {})
    skipped = step.optional and ctx.kw.exact("skip", ctx.text) is not None
    if skipped:
        answers[step.id] = "skip"
        if step.type == "neighbourhood" and _for_reminders(ctx, answers):
            ctx.events.append(SetReminderArea(None))
    elif not _take_answer(ctx, step, answers):
        return
    index = next(i for i, s in enumerate(flow.steps) if s.id == step.id)
    advance(ctx, flow, start=index + 1)


def _take_answer(ctx: Context, step: Step, answers: dict[str, str]) -> bool:
    """Apply one answer; False (after re-asking) when it doesn't answer the question."""
    conversation = ctx.state["conversation"]
    if step.type == "open":
        ctx.record(step.id)
        answers[step.id] = "text"
    elif step.type == "place":
        ctx.events.append(TagConversation(conversation, place=ctx.text[:200]))
        answers[step.id] = "text"
    elif step.type == "neighbourhood":
        ctx.events.append(SetNeighbourhood(ctx.text[:120]))
        if _for_reminders(ctx, answers):
            ctx.events.append(SetReminderArea(ctx.text[:120]))
        answers[step.id] = "text"
    elif step.type == "rating":
        value = _rating(ctx.text, ctx.inbound.choice)
        if value is None:
            ctx.keep_if_wordy()
            ask_step(ctx, step, prefix="invalid_rating")
            return False
        ctx.record(step.id, kind="rating", value=value)
        answers[step.id] = str(value)
    elif step.type == "choice":
        choice = ctx.pick(step_choices(ctx, step))
        if choice is None:
            ctx.keep_if_wordy()
            ask_step(ctx, step, prefix="invalid_choice")
            return False
        ctx.record(step.id, kind="choice", value=int(choice.key))
        answers[step.id] = choice.value
    else:  # consent, subscribe
        yes = _yes_no(ctx, step)
        if yes is None:
            ctx.keep_if_wordy()
            ask_step(ctx, step, prefix="invalid_yes_no")
            return False
        answers[step.id] = "yes" if yes else "no"
        if step.type == "consent":
            ctx.events.append(TagConversation(conversation, follow_up_consent=yes))
            ctx.events.append(SetConsent(follow_up=yes))
        else:
            ctx.events.append(SetConsent(reminders=yes))
    return True


def _for_reminders(ctx: Context, answers: dict[str, str]) -> bool:
    """A neighbourhood asked right after saying yes to reminders narrows the reminders."""
    flow = ctx.catalog.flow(ctx.state["flow"])
    return any(answers.get(s.id) == "yes" for s in flow.steps if s.type == "subscribe")


def _yes_no(ctx: Context, step: Step) -> bool | None:
    choice = ctx.pick(step_choices(ctx, step))
    if choice is not None:
        return choice.value == "yes"
    if ctx.kw.exact("yes", ctx.text):
        return True
    if ctx.kw.exact("no", ctx.text):
        return False
    return None


def _rating(text: str, button: str | None) -> int | None:
    """1 to 5, typed in any digits (full-width too) or pressed as a button."""
    raw = small_number(button or text, r"[1-5]")
    return int(raw) if raw is not None else None
