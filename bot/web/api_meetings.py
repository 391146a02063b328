"""JSON API for meetings and broadcasts: thin views over bot.meetings and bot.broadcasts.

The same bearer tokens as the rest of /api/v1: viewers read, staff write. Validation lives
in the functions these views call; an InvalidInputError names the field and becomes a 400.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, url_for
from flask.typing import ResponseReturnValue

from bot.runtime import Runtime
from bot.services import broadcasts, meetings, translation
from bot.services.validation import InvalidInputError, web_link
from bot.web.api_auth import ApiError, api_error, json_body, token_required
from bot.web.context import runtime
from storage import audit
from storage.db import transaction

bp = Blueprint("api_meetings", __name__, url_prefix="/api/v1")
BROADCAST_FIELDS = {
    "translate",
    "message",
    "audience",
    "send_at",
    "fallback_to_default",
    "prompt",
    "prompt_window",
    "preview",
}


@bp.errorhandler(ApiError)
def refused(exc: ApiError) -> ResponseReturnValue:
    """A view's ApiError as the JSON error every API answer uses."""
    return api_error(exc.status, exc.message)


def _audit(
    rt: Runtime, action: str, target: str, target_id: int | None, detail: dict[str, Any]
) -> None:
    """Every change made with a token is on the admins' audit log, like a change made on a page."""
    with transaction(rt.db) as session:
        audit.record(
            session,
            actor=f"token:{g.api_token.name}",
            action=action,
            at=rt.now(),
            target=target,
            target_id=target_id,
            detail=detail,
        )


@bp.post("/meetings")
@token_required("staff")
def create_meeting() -> ResponseReturnValue:
    """A meeting with its reminders: 201 with its id, times and .ics link."""
    rt = runtime()
    body = json_body('{"title", "starts_at", "location", ...}')
    drafts: dict[str, Any] = {}
    try:
        # bot.services.meetings checks only the scheme, and urlsplit raises on some links.
        web_link(body.get("virtual_url"), "virtual_url", max_length=500)
        if _translate_flag(body):
            drafts = _meeting_drafts(rt, body)
            if not rt.settings.send_unreviewed_translations:
                return jsonify(created=False, drafts=drafts)
        meeting = meetings.create_meeting(rt, **body)
    except InvalidInputError as exc:
        return api_error(400, str(exc))
    _audit(rt, "meeting.create", "meeting", meeting.id, {"title": meeting.title})
    payload = {
        "id": meeting.id,
        "title": meeting.title,
        "starts_at": meeting.starts_at.isoformat(),
        "timezone": meeting.timezone,
        "location": meeting.location,
        "virtual_url": meeting.virtual_url,
        "neighbourhood": meeting.neighbourhood,
        "reminders": meeting.reminders,
        "ics": url_for("meetings.ics", meeting_id=meeting.id, _external=True),
    }
    if drafts:
        payload["drafts"] = drafts
    location = url_for("api_meetings.get_meeting", meeting_id=meeting.id)
    return jsonify(payload), 201, {"Location": location}


@bp.get("/meetings/<int:meeting_id>")
@token_required("viewer")
def get_meeting(meeting_id: int) -> ResponseReturnValue:
    """RSVP counts and reminder outcomes."""
    try:
        return jsonify(meetings.summary(runtime(), meeting_id))
    except LookupError as exc:
        return api_error(404, str(exc.args[0]))


@bp.post("/broadcasts")
@token_required("staff")
def create_broadcast() -> ResponseReturnValue:
    """A broadcast, or with "preview": true a dry run of who would get what, at what cost."""
    rt = runtime()
    body = json_body('{"message": {"en": ...}, "audience": {...}}')
    if unknown := sorted(set(body) - BROADCAST_FIELDS):
        return api_error(
            400, f"{unknown[0]}: unknown field; expected some of {sorted(BROADCAST_FIELDS)}"
        )
    dry_run = body.get("preview", False)
    if not isinstance(dry_run, bool):
        return api_error(400, "preview: must be true or false")
    message, audience = body.get("message"), body.get("audience")
    fallback = body.get("fallback_to_default", False)
    drafts: dict[str, Any] = {}
    try:
        translated = _translate_flag(body)
        if translated:
            message, drafts = _drafted(rt, message)
            if dry_run or not rt.settings.send_unreviewed_translations:
                # Nothing is sent until a person has read the drafts: they come back to be
                # reviewed and posted again as plain text in "message".
                payload: dict[str, Any] = {"created": False, "drafts": _shown(message, drafts)}
                if dry_run:
                    payload["preview"] = broadcasts.preview(rt, message, audience, fallback)
                return jsonify(payload)
            message = translation.with_notes(rt, message, drafts)
        if dry_run:
            return jsonify(broadcasts.preview(rt, message, audience, fallback))
        broadcast = broadcasts.create_broadcast(
            rt,
            message,
            audience,
            send_at=body.get("send_at"),
            fallback_to_default=fallback,
            prompt=body.get("prompt", False),
            prompt_window=body.get("prompt_window"),
            created_by=f"token:{g.api_token.name}",
        )
    except InvalidInputError as exc:
        return api_error(400, str(exc))
    assert broadcast.id is not None
    _audit(
        rt,
        "broadcast.create",
        "broadcast",
        broadcast.id,
        {"languages": sorted(broadcast.messages), "recipients": broadcast.recipients},
    )
    location = url_for("api_meetings.get_broadcast", broadcast_id=broadcast.id)
    progress = broadcasts.progress(rt, broadcast.id)
    if drafts:
        progress = {**progress, "drafts": _shown(message, drafts)}
    return jsonify(progress), 201, {"Location": location}


def _meeting_drafts(rt: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Titles and places in the agency's other languages, drafted by machine into `body`."""
    drafts: dict[str, Any] = {}
    for field, single in (("titles", "title"), ("locations", "location")):
        given = body.get(field) or {}
        if not isinstance(given, dict):
            raise InvalidInputError(field, "must be an object of language code to text")
        base = body.get(single)
        if isinstance(base, str) and base.strip():
            given = {rt.settings.default_language: base, **given}
        if not given:
            continue
        texts, made = _drafted(rt, given)
        body[field] = texts
        drafts[field] = _shown(texts, made)
    return drafts


def _translate_flag(body: dict[str, Any]) -> bool:
    value = body.pop("translate", False)
    if not isinstance(value, bool):
        raise InvalidInputError("translate", "must be true or false")
    return value


def _drafted(rt: Any, texts: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """Texts by language with the missing ones drafted by machine (400 if that cannot be)."""
    if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
        raise InvalidInputError("message", "must be an object of language code to text")
    try:
        return translation.draft_texts(rt, texts)
    except translation.TranslationError as exc:
        raise InvalidInputError("translate", str(exc)) from exc


def _shown(texts: dict[str, str], drafts: dict[str, Any]) -> dict[str, Any]:
    """Drafts with their text and review state, as the API returns them."""
    return {lang: {"text": texts.get(lang, ""), **d} for lang, d in drafts.items()}


@bp.get("/broadcasts/<int:broadcast_id>")
@token_required("viewer")
def get_broadcast(broadcast_id: int) -> ResponseReturnValue:
    """recipients, queued, sent, delivered, failed, held (and dropped, cancelled)."""
    try:
        return jsonify(broadcasts.progress(runtime(), broadcast_id))
    except LookupError as exc:
        return api_error(404, str(exc.args[0]))
