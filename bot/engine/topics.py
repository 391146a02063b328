"""The topic menu and a topic's steps: what the resident raises, in the agency's own words."""

from __future__ import annotations

import re

from bot.engine import heard, knowledge, meetings
from bot.engine.context import (
    DONE,
    HEARD,
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

MAX_TOPIC_MISSES = 2  # then the words are filed for staff to sort and the conversation moves on
UNSORTED = "unsorted"  # the flow (not on the menu) that takes them
STORY_WORDS = 6  # an answer to "where?" this long is also kept as the resident's words


def topic_choices(ctx: Context) -> tuple[ReplyChoice, ...]:
    return tuple(
        ReplyChoice(str(i), f.label[ctx.lang], f"topic:{f.id}")
        for i, f in enumerate(ctx.catalog.menu_flows, start=1)
    )


def ask_topic(ctx: Context, message_id: str) -> None:
    ctx.state["stage"] = TOPIC
    ctx.say(message_id, topic_choices(ctx))


def answer_topic(ctx: Context) -> None:
    """A number, a label, or the topic named in words; twice nothing: the words are filed
    under a topic staff sort later, and the conversation moves on instead of looping."""
    choice = ctx.pick(topic_choices(ctx))
    if choice is not None:
        start_flow(ctx, ctx.catalog.flow(choice.value.removeprefix("topic:")))
        return
    named = ctx.world.understanding.topics_named(ctx.text)
    if len(named) == 1:
        if len(ctx.text.split()) >= WORDY:
            ctx.record("more")  # more than the topic's name: the resident's words, kept
        start_flow(ctx, ctx.catalog.flow(named[0]), named_in=ctx.text)
        return
    skipped = ctx.kw.exact("skip", ctx.text) is not None
    wordy = not skipped and (len(ctx.text.split()) >= WORDY or not re.fullmatch(r"\d+", ctx.text))
    if wordy:
        ctx.record("more")
    misses = int(ctx.state.get("topic_misses", 0)) + 1
    ctx.state["topic_misses"] = misses
    if misses >= MAX_TOPIC_MISSES and UNSORTED in {f.id for f in ctx.catalog.flows}:
        start_flow(ctx, ctx.catalog.flow(UNSORTED), prefix="topic_unsorted")
    elif wordy or skipped:
        ctx.say("topic_again", topic_choices(ctx))
    else:
        ctx.say("invalid_choice", topic_choices(ctx))


def start_flow(
    ctx: Context, flow: Flow, *, named_in: str | None = None, prefix: str | None = None
) -> None:
    """Begin a topic; choices its opening words already named ("body cameras") are taken."""
    ctx.state["flow"] = flow.id
    ctx.state["answers"] = {}
    ctx.events.append(TagConversation(ctx.state["conversation"], topic=flow.id))
    if named_in is not None:
        _take_named_choices(ctx, flow, named_in)
    if ctx.state.get("has_opening") or flow.id == "meetings":
        advance(ctx, flow, start=0, prefix=prefix)
    else:
        ctx.state["stage"] = OPENING
        ctx.say("ask_opening")


def starts_on_its_name(ctx: Context) -> Flow | None:
    """The flow an opening message names so plainly that its questions can start at once:
    a technology ("do your officers wear body cameras?") or a meeting.

    A flow with named choices starts only when one of them is named ("body cameras", not
    just "camera", which a doorbell camera in a safety report would match too).
    """
    understanding = ctx.world.understanding
    named = []
    for flow_id in understanding.topics_named(ctx.text):
        flow = ctx.catalog.flow(flow_id)
        if not flow.start_when_named:
            continue
        choices = [f"{flow.id}.{c.id}" for s in flow.steps for c in s.choices if c.names]
        if not choices or any(understanding.named(key, ctx.text) for key in choices):
            named.append(flow)
    return named[0] if len(named) == 1 else None


def _take_named_choices(ctx: Context, flow: Flow, text: str) -> None:
    understanding = ctx.world.understanding
    answers = ctx.state["answers"]
    for step in flow.steps:
        if step.type != "choice":
            continue
        named = [
            (index, choice)
            for index, choice in enumerate(step.choices, start=1)
            if understanding.named(f"{flow.id}.{choice.id}", text)
        ]
        if len(named) == 1:
            index, choice = named[0]
            answers[step.id] = choice.id
            ctx.record(step.id, kind="choice", value=index)


def advance(ctx: Context, flow: Flow, start: int, prefix: str | None = None) -> None:
    """Run steps from `start`: say what needs no answer, stop at the first question.

    A choice already named and a neighborhood already known are not asked again.
    """
    answers = ctx.state.setdefault("answers", {})
    for step in flow.steps[start:]:
        if step.when and answers.get(step.when[0]) != step.when[1]:
            continue
        if step.waits and step.id in answers:
            continue
        if step.type == "neighbourhood" and ctx.contact.neighbourhood:
            answers[step.id] = "known"
            if _for_reminders(ctx, answers):
                ctx.events.append(SetReminderArea(ctx.contact.neighbourhood))
            continue
        if step.type == "knowledge":
            knowledge.say_answer(ctx, answers.get(step.source or "", ""))
        elif step.type == "meetings":
            meetings.say_upcoming(ctx)
        else:
            ctx.state["stage"] = STEP
            ctx.state["step"] = step.id
            ask_step(ctx, step, prefix=prefix)
            return
    ctx.state["stage"] = DONE
    ctx.state.pop("step", None)
    declined = any(answers.get(s.id) == "no" for s in flow.steps if s.type == "consent")
    end = flow.end_declined if declined and flow.end_declined else flow.end
    key = f"{flow.id}.end_declined" if end is flow.end_declined else f"{flow.id}.end"
    ctx.say_text(fill(end[ctx.lang], {"agency": ctx.agency()}), spoken=ctx.spoken(key))
    if heard.should_ask(ctx):
        heard.ask_first(ctx)


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
    text = fill(step_text(ctx.catalog, step, ctx.lang), {"agency": ctx.agency()})
    key = step.text.get("ref") or f"{ctx.state.get('flow')}.{step.id}"
    spoken = ctx.spoken(key)
    if prefix:
        text = f"{ctx.msg(prefix)} {text}"
        spoken = f"{ctx.spoken(prefix) or ctx.msg(prefix)} {spoken}" if spoken else None
    ctx.say_text(text, step_choices(ctx, step), spoken)


def repeat_question(ctx: Context) -> None:
    """Whatever the resident was last asked, asked again (after a language switch)."""
    if ctx.stage == TOPIC:
        ctx.say("menu_question", topic_choices(ctx))
    elif ctx.stage in (OPENING, LISTENING, PROMPT):
        ctx.say("ask_opening")
    elif ctx.stage == STEP:
        flow = ctx.catalog.flow(ctx.state["flow"])
        ask_step(ctx, flow.step(ctx.state["step"]))
    elif ctx.stage == HEARD:
        heard.ask_again(ctx)


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
    elif step.type in ("place", "neighbourhood") and _is_a_question(ctx.text):
        ctx.record("more")  # another question, not a place: kept, thanked, asked again
        ask_step(ctx, step, prefix="kept_more")
        return False
    elif step.type == "place":
        _keep_if_a_story(ctx)
        ctx.events.append(TagConversation(conversation, place=ctx.text[:200]))
        answers[step.id] = "text"
    elif step.type == "neighbourhood":
        _keep_if_a_story(ctx)
        ctx.events.append(SetNeighbourhood(ctx.text[:120]))
        if _for_reminders(ctx, answers):
            ctx.events.append(SetReminderArea(ctx.text[:120]))
        answers[step.id] = "text"
    elif step.type == "rating":
        value = _rating(ctx.text, ctx.inbound.choice)
        if value is None:
            ask_step(ctx, step, prefix=_again(ctx, "invalid_rating"))
            return False
        ctx.record(step.id, kind="rating", value=value)
        answers[step.id] = str(value)
    elif step.type == "choice":
        choice = ctx.pick(step_choices(ctx, step))
        if choice is None:
            ask_step(ctx, step, prefix=_again(ctx, "invalid_choice"))
            return False
        ctx.record(step.id, kind="choice", value=int(choice.key))
        answers[step.id] = choice.value
    else:  # consent, subscribe
        yes = _yes_no(ctx, step)
        if yes is None:
            ask_step(ctx, step, prefix=_again(ctx, "invalid_yes_no"))
            return False
        answers[step.id] = "yes" if yes else "no"
        if step.type == "consent":
            ctx.events.append(TagConversation(conversation, follow_up_consent=yes))
            ctx.events.append(SetConsent(follow_up=yes))
        else:
            ctx.events.append(SetConsent(reminders=yes))
    return True


def _is_a_question(text: str) -> bool:
    """A resident asking something ("do you share it with ICE?") rather than naming a place."""
    return text.rstrip().endswith(("?", "？")) or text.lstrip().startswith("¿")


def _keep_if_a_story(ctx: Context) -> None:
    """A place is a few words; more than that is the resident still telling us: keep it."""
    if len(ctx.text.split()) >= STORY_WORDS:
        ctx.record("more")


def _again(ctx: Context, invalid: str) -> str:
    """What to say before asking again: that we kept their words, or how to answer."""
    return "kept_more" if ctx.keep_if_wordy() else invalid


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
