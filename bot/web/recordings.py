"""Recordings of residents' calls, played to staff through the dashboard.

The browser never sees where Twilio keeps a recording: it asks this site, which checks the
staff login (the same role that reads residents' words in the inbox; never a partner's),
fetches the audio with the account's credentials and passes it on, uncached. Each listen is
audited, as a look at a resident's full address is: a voice identifies a person.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue

from bot.web.auth import current_staff, staff_required
from bot.web.context import runtime
from channels import twilio_voice
from storage import audit, calls
from storage.db import transaction

bp = Blueprint("recordings", __name__)
AUDIO = "audio/wav"  # what fetch_recording asks Twilio for
PLAY_ACTION = "recording.play"


def voice_channel() -> twilio_voice.TwilioVoiceChannel | None:
    """The configured phone channel, or None when the agency takes no calls."""
    channel = runtime().channels.get(twilio_voice.NAME)
    return channel if isinstance(channel, twilio_voice.TwilioVoiceChannel) else None


@bp.app_template_filter("duration")
def duration(seconds: int | None) -> str:
    """A recording's length as a player shows it: 0:42, 12:05, 1:02:03."""
    if seconds is None or seconds < 0:
        return "?:??"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@bp.get("/staff/recordings/<int:call_id>")
@staff_required("viewer")
def audio(call_id: int) -> ResponseReturnValue:
    """The caller's side of one call, as WAV; 404 once erased or past retention."""
    channel = voice_channel()
    if channel is None:
        abort(503, "phone calls are not configured")
    rt = runtime()
    with transaction(rt.db) as session:
        call = calls.by_id(session, call_id)
        sid = call.recording_sid if call is not None else None
    if not sid:
        abort(404)
    content = channel.fetch_recording(sid)
    if content is None:
        abort(404)
    answer = Response(content, mimetype=AUDIO)
    # Range requests (seeking in the player) are answered from the fetched bytes.
    answer.make_conditional(request, accept_ranges=True, complete_length=len(content))
    answer.headers["Cache-Control"] = "private, no-store"
    if _starts_listening():
        user = current_staff()
        assert user is not None
        with transaction(rt.db) as session:
            audit.record(
                session,
                actor=user.email,
                action=PLAY_ACTION,
                at=rt.now(),
                target="voice_call",
                target_id=call_id,
            )
    return answer


def _starts_listening() -> bool:
    """A request from the start of the audio: a player seeking within it is the same listen."""
    ranges = request.range
    if ranges is None or not ranges.ranges:
        return True
    start, _end = ranges.ranges[0]
    return start == 0
