"""Public meeting pages: the `.ics` file a reminder links to (no login: it is a public notice)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, request

from bot.services.ics import meeting_calendar
from bot.web.context import runtime
from storage.db import transaction
from storage.meetings import get_meeting

bp = Blueprint("meetings", __name__)


@bp.get("/meetings/<int:meeting_id>.ics")
def ics(meeting_id: int) -> Response:
    """The meeting as an iCalendar file."""
    rt = runtime()
    with transaction(rt.db) as session:
        meeting = get_meeting(session, meeting_id)
    if meeting is None:
        abort(404)
    host = urlsplit(rt.settings.public_url or request.host_url).hostname or "townline"
    language = request.args.get("lang", "")
    body = meeting_calendar(
        meeting, host, rt.now(), language if language in rt.settings.languages else None
    )
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting_id}.ics"'},
    )
