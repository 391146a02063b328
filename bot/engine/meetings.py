"""Meetings: the upcoming list, and answers to a reminder (YES, NO, how many, or its button)."""

from __future__ import annotations

import re

from bot.engine import languages
from bot.engine.context import Context, small_number
from bot.events import RecordRsvp

RSVP_PREFIX = "rsvp:"  # button values look like "rsvp:<meeting id>:yes"
MAX_PARTY = 50


def say_upcoming(ctx: Context) -> None:
    if not ctx.world.meetings:
        ctx.say("meetings_none")
        return
    lines = [ctx.msg("meetings_intro")]
    default = ctx.catalog.languages[0]
    for meeting in ctx.world.meetings:
        title, when, where = meeting.in_language(ctx.lang, default)
        lines.append(ctx.msg("meeting_line", title=title, when=when, where=where))
    ctx.say_text("\n".join(lines))


def answer_rsvp(ctx: Context) -> bool:
    """YES / NO / a number after a reminder, or a reminder's button at any time."""
    parsed = _parse_rsvp(ctx)
    if parsed is None:
        return False
    meeting_id, attending, party = parsed
    languages.choose(ctx, allow_detection=False)
    if meeting_id not in ctx.contact.reminded:  # past, cancelled, never sent, or forged
        ctx.say("rsvp_closed")
        return True
    ctx.events.append(RecordRsvp(meeting_id, attending, party, ctx.text))
    if not attending:
        ctx.say("rsvp_no")
    elif party is not None:
        ctx.say_text(ctx.msg("rsvp_count", count=str(party)))
    else:
        ctx.say("rsvp_yes")
    return True


def _parse_rsvp(ctx: Context) -> tuple[int, bool, int | None] | None:
    button = ctx.inbound.choice or ""
    if button.startswith(RSVP_PREFIX):
        meeting, _, answer = button.removeprefix(RSVP_PREFIX).partition(":")
        if re.fullmatch(r"[0-9]{1,9}", meeting) and answer in ("yes", "no"):
            return int(meeting), answer == "yes", None
        return -1, False, None  # a button we never made: answered, never recorded
    meeting_id = ctx.contact.rsvp_meeting
    if meeting_id is None:
        return None
    if ctx.kw.exact("yes", ctx.text):
        return meeting_id, True, None
    if ctx.kw.exact("no", ctx.text):
        return meeting_id, False, None
    number = small_number(ctx.text, r"\+?\d{1,2}")
    if number is not None and int(number) <= MAX_PARTY:
        party = int(number)
        return meeting_id, party > 0, party or None
    return None
