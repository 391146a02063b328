"""The optional "who is heard" questions: age band and years lived here, once per resident.

They come only after a conversation's end, when the resident's own words are already kept,
and never after a disclosure of danger or violence. Each says why it is asked and can be
skipped. A short reply that answers neither ends them with thanks, without pressing; words
enough to be a message end them and are listened to as usual, and danger gets its safety
reply alone: the questions never stand between a resident and being heard.
"""

from __future__ import annotations

import re
import unicodedata

from bot.community import AGE_BANDS, YEARS_HERE
from bot.engine.context import DONE, HEARD, WORDY, Context
from bot.events import AskedWhoIsHeard, ReplyChoice, SetProfile

QUESTIONS = {"age": AGE_BANDS, "years": YEARS_HERE}


def should_ask(ctx: Context) -> bool:
    """After a flow's end, once per resident, only where their words were kept."""
    return (
        ctx.world.who_is_heard
        and not ctx.contact.heard_asked
        and ctx.stage == DONE
        and bool(ctx.state.get("kept"))
        and not ctx.state.get("urgent")
        and not ctx.state.get("sensitive")
    )


def ask_first(ctx: Context) -> None:
    """Put the first question; from now on the resident is never asked again."""
    ctx.events.append(AskedWhoIsHeard())
    _ask(ctx, "age")


def ask_again(ctx: Context) -> None:
    """The open question once more (after the resident switched language)."""
    _ask(ctx, str(ctx.state.get("heard", "age")))


def _ask(ctx: Context, question: str) -> None:
    ctx.state["stage"] = HEARD
    ctx.state["heard"] = question
    ctx.say(f"heard_{question}", choices(ctx, question))


def choices(ctx: Context, question: str) -> tuple[ReplyChoice, ...]:
    return tuple(
        ReplyChoice(str(i), ctx.msg(_label(question, value)), f"{question}:{value}")
        for i, value in enumerate(QUESTIONS[question], start=1)
    )


def _label(question: str, value: str) -> str:
    """The message id of a choice's label: "65+" is heard_age_65_plus."""
    return f"heard_{question}_" + value.replace("-", "_").replace("+", "_plus")


def answer(ctx: Context) -> bool:
    """Take an answer or a SKIP and go on; False when the words are a message of their own
    (the questions end and the caller listens to them as a new message).

    A short reply that answers neither ("ok", "why?") ends the questions politely: they are
    optional, and asking again would press the resident.
    """
    question = str(ctx.state.get("heard", "age"))
    skipped = ctx.kw.exact("skip", ctx.text) is not None
    value = None if skipped else _value(ctx, question)
    if not skipped and value is None:
        stop(ctx)
        if _is_a_message(ctx.text):
            return False
        ctx.say("heard_thanks")
        return True
    if value is not None:
        profile = {"age_band": value} if question == "age" else {"years_here": value}
        ctx.events.append(SetProfile(**profile))
    if question == "age":
        _ask(ctx, "years")
    else:
        stop(ctx)
        ctx.say("heard_thanks")
    return True


def _value(ctx: Context, question: str) -> str | None:
    """A choice by number, button or label, or a number typed as the answer itself
    ("34" years old, "10 years" here)."""
    picked = ctx.pick(choices(ctx, question))
    if picked is not None:
        return picked.value.split(":", 1)[1]
    match = re.match(r"\s*(\d{1,3})(?!\d)", unicodedata.normalize("NFKC", ctx.text))
    if match is None:
        return None
    number = int(match.group(1))
    return _band_of_age(number) if question == "age" else _band_of_years(number)


def _band_of_age(age: int) -> str | None:
    if not 6 <= age <= 120:  # 1-5 alone are the choices' own numbers
        return None
    bounds = ((18, "under-18"), (30, "18-29"), (45, "30-44"), (65, "45-64"))
    return next((band for limit, band in bounds if age < limit), "65+")


def _band_of_years(years: int) -> str | None:
    """Only numbers beyond the choices (1-3) can be years: "10" is over five years."""
    if not 4 <= years <= 120:
        return None
    return "1-5" if years <= 5 else "over-5"


def _is_a_message(text: str) -> bool:
    """Words enough to be the resident telling us something, not a reply to the question."""
    return len(text.split()) >= WORDY or len(text) >= 12


def stop(ctx: Context) -> None:
    """The questions are over (answered, skipped, or set aside by what the resident said)."""
    ctx.state["stage"] = DONE
    ctx.state.pop("heard", None)
