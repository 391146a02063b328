"""The optional "who is heard" questions: age band and years lived here, once per resident.

They come only after a conversation's end, when the resident's own words are already kept,
and never after a disclosure of danger or violence. Each says why it is asked and can be
skipped; anything that is not an answer ends them at once and is listened to as usual, so
the questions never stand between a resident and being heard.
"""

from __future__ import annotations

from bot.community import AGE_BANDS, YEARS_HERE
from bot.engine.context import DONE, HEARD, Context, small_number
from bot.events import AskedWhoIsHeard, ReplyChoice, SetProfile

QUESTIONS = {"age": AGE_BANDS, "years": YEARS_HERE}


def should_ask(ctx: Context) -> bool:
    """After a flow's end, once per resident, only where their words were kept."""
    return (
        ctx.world.who_is_heard
        and not ctx.contact.heard_asked
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
    """Take an answer or a SKIP and go on; False when the words are not an answer at all
    (the questions end and the caller listens to them as a new message)."""
    question = str(ctx.state.get("heard", "age"))
    skipped = ctx.kw.exact("skip", ctx.text) is not None
    picked = None if skipped else ctx.pick(choices(ctx, question))
    value = picked.value.split(":", 1)[1] if picked is not None else None
    if value is None and question == "age" and not skipped:
        value = _band_of_age(ctx.text)
    if not skipped and value is None:
        _end(ctx)
        return False
    if value is not None:
        profile = {"age_band": value} if question == "age" else {"years_here": value}
        ctx.events.append(SetProfile(**profile))
    if question == "age":
        _ask(ctx, "years")
    else:
        _end(ctx)
        ctx.say("heard_thanks")
    return True


def _band_of_age(text: str) -> str | None:
    """An age typed as a number ("34") instead of a choice: its band."""
    raw = small_number(text, r"\d{1,3}")
    if raw is None or not 6 <= int(raw) <= 120:  # 1-5 are the choices' own numbers
        return None
    age = int(raw)
    bounds = ((18, "under-18"), (30, "18-29"), (45, "30-44"), (65, "45-64"))
    return next((band for limit, band in bounds if age < limit), "65+")


def _end(ctx: Context) -> None:
    ctx.state["stage"] = DONE
    ctx.state.pop("heard", None)
