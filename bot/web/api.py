"""The JSON API under /api/v1: list responses, publish actions, read their delivery."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from bot.community import DIMENSIONS
from bot.guard import MAX_ID, UnacceptableError, bounded_int
from bot.services import followups, translation
from bot.services import representation as rep
from bot.web.api_auth import ApiError, api_error, json_body, token_required
from bot.web.context import runtime
from bot.web.filters import FilterError, parse_filter
from storage import actions, inbox
from storage.db import transaction
from storage.models import Contact, Response

bp = Blueprint("api", __name__, url_prefix="/api/v1")
DEFAULT_LIMIT, MAX_LIMIT, MAX_IDS = 50, 200, 5000
OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")


@cache
def openapi_document() -> dict[str, Any]:
    """The API's description, read once per process: it is data shipped with the code."""
    document: dict[str, Any] = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    return document


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI document, readable without a token so clients can be generated from it."""
    return jsonify(openapi_document())


def _item(
    response: Response, contact: Contact, shown: translation.Shown | None = None
) -> dict[str, Any]:
    """A response as the API shows it: no address, ever; a translation beside the words."""
    return {
        "id": response.id,
        "created_at": response.created_at.isoformat(),
        "channel": contact.channel,
        "topic": response.topic,
        "language": response.language,
        "text": response.text,
        "place": response.place,
        "status": response.status,
        "follow_up_consent": response.follow_up_consent,
        "viewpoint": response.viewpoint,
        "translation": shown.as_json() if shown else None,
    }


@bp.get("/responses")
@token_required("viewer")
def list_responses() -> ResponseReturnValue:
    """Newest first, the inbox's filters, `?cursor=` from the previous page's `next`."""
    rt = runtime()
    try:
        filters = parse_filter(request.args, rt.settings.timezone, rt.hidden_channels())
    except FilterError as exc:
        return api_error(400, str(exc))
    cursor, limit = request.args.get("cursor", ""), request.args.get("limit", "")
    try:
        before = bounded_int(cursor, "cursor") if cursor else None
    except UnacceptableError:
        return api_error(400, "cursor must be the `next` value of a previous page")
    try:
        size = bounded_int(limit, "limit", 1, MAX_LIMIT) if limit else DEFAULT_LIMIT
    except UnacceptableError:
        return api_error(400, f"limit must be a number from 1 to {MAX_LIMIT}")
    with transaction(rt.db) as session:
        rows = inbox.page(session, filters, before_id=before, limit=size + 1)
    more = len(rows) > size
    rows = rows[:size]
    shown = translation.translations_for(rt, [r.id for r, _ in rows if r.id is not None])
    items = [_item(r, c, shown.get(r.id or 0)) for r, c in rows]
    return jsonify(items=items, next=rows[-1][0].id if more else None)


def _id_list(body: dict[str, Any], name: str, required: bool) -> list[int]:
    """A list of integer ids from the body, or ValueError saying what is wrong."""
    value = body.get(name, [] if not required else None)
    if not isinstance(value, list) or (required and not value):
        raise ValueError(f'"{name}" must be a non-empty list of response ids')
    if len(value) > MAX_IDS or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID for i in value
    ):
        raise ValueError(f'"{name}" must hold at most {MAX_IDS} integer ids')
    return list(dict.fromkeys(value))


@bp.post("/actions")
@token_required("staff")
def create_action() -> ResponseReturnValue:
    """Record and publish an action: one follow-up per consenting resident, in their language."""
    rt = runtime()
    body = json_body('{"title", "message", "response_ids"}')
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        return api_error(400, '"title" must be text of 1-200 characters')
    try:
        messages = followups.check_messages(rt, body.get("message"))
        ids = _id_list(body, "response_ids", required=True)
        included = _id_list(body, "include_sensitive", required=False)
    except (followups.FollowUpError, ValueError) as exc:
        return api_error(400, str(exc))
    if not messages:
        return api_error(400, '"message" needs the text in at least one language')
    if stray := sorted(set(included) - set(ids)):
        return api_error(400, f'"include_sensitive" ids must be in "response_ids": {stray}')
    translate = body.get("translate", False)
    if not isinstance(translate, bool):
        return api_error(400, '"translate" must be true or false')
    actor = f"token:{g.api_token.name}"
    if translate:
        return _create_translated(rt, title, messages, ids, included, actor)
    try:
        with transaction(rt.db) as session:
            found = {r.id for r, _ in inbox.by_ids(session, ids)}
            if unknown := [i for i in ids if i not in found]:
                raise LookupError(f"unknown response ids: {unknown[:20]}")
            action = followups.create_draft(
                rt,
                session,
                title=title,
                messages=messages,
                response_ids=ids,
                actor=actor,
                include_sensitive=included,
            )
            plan = followups.publish_in(rt, session, action, actor)
    except LookupError as exc:
        return api_error(404, str(exc.args[0]))
    except followups.FollowUpError as exc:
        return api_error(400, str(exc))
    payload = {
        "id": action.id,
        "recipients": len(plan.recipients),
        "sensitive_held": [r.id for r in plan.sensitive_held],
    }
    location = url_for("api.get_action", action_id=action.id)
    return jsonify(payload), 201, {"Location": location}


def _create_translated(
    rt: Any, title: str, messages: dict[str, str], ids: list[int], included: list[int], actor: str
) -> ResponseReturnValue:
    """`"translate": true`: draft the missing languages by machine; publish only if every
    draft a recipient needs may go unreviewed, else leave a draft for staff to review."""
    if not translation.enabled(rt):
        return api_error(400, '"translate" needs a translation provider (TOWNLINE_TRANSLATE)')
    with transaction(rt.db) as session:
        found = {r.id for r, _ in inbox.by_ids(session, ids)}
        if unknown := [i for i in ids if i not in found]:
            return api_error(404, f"unknown response ids: {unknown[:20]}")
        action = followups.create_draft(
            rt,
            session,
            title=title,
            messages=messages,
            response_ids=ids,
            actor=actor,
            include_sensitive=included,
        )
    assert action.id is not None
    try:
        translation.draft_action(rt, action.id, actor)
        plan = followups.publish(rt, action.id, actor)
    except translation.TranslationError as exc:
        return api_error(400, str(exc))
    except followups.FollowUpError:
        plan = None  # drafts await a person's review: the action stays a draft
    with transaction(rt.db) as session:
        action = actions.get(session, action.id)
    assert action is not None
    payload = {
        "id": action.id,
        "status": action.status,
        "recipients": len(plan.recipients) if plan else 0,
        "sensitive_held": [r.id for r in plan.sensitive_held] if plan else [],
        "drafts": _drafts(action),
    }
    location = url_for("api.get_action", action_id=action.id)
    return jsonify(payload), 201, {"Location": location}


def _drafts(action: Any) -> dict[str, Any]:
    """Machine-drafted languages with their text and whether a person reviewed them."""
    return {
        lang: {
            "text": action.messages.get(lang, ""),
            "source": draft.get("source"),
            "provider": draft.get("provider"),
            "reviewed": bool(draft.get("reviewed")),
        }
        for lang, draft in (action.drafts or {}).items()
    }


@bp.get("/actions/<int:action_id>")
@token_required("viewer")
def get_action(action_id: int) -> ResponseReturnValue:
    """An action's delivery so far: recipients, sent (delivered included), delivered, failed."""
    with transaction(runtime().db) as session:
        action = actions.get(session, action_id)
        if action is None:
            return api_error(404, f"no action {action_id}")
        tally = followups.delivery(session, action_id)
    return jsonify(
        id=action.id,
        title=action.title,
        status=action.status,
        published_at=action.published_at.isoformat() if action.published_at else None,
        recipients=tally.recipients,
        sent=tally.sent,
        delivered=tally.delivered,
        failed=tally.failed,
        pending=tally.pending,
        drafts=_drafts(action),
    )


@bp.get("/partners")
@token_required("viewer")
def list_partners() -> ResponseReturnValue:
    """Active partners, each with how many residents came in through it (null for 1-4)."""
    items = [
        {
            "id": p.id,
            "name": p.name,
            "code": p.code,
            "languages": p.languages,
            "neighbourhoods": p.neighbourhoods,
            "keywords": p.keywords,
            "public_consent": p.public_consent,
            "created_at": p.created_at.isoformat(),
            "residents": residents,
        }
        for p, residents in rep.partners_with_reach(runtime())
    ]
    return jsonify(items=items)


@bp.get("/representation")
@token_required("viewer")
def representation() -> ResponseReturnValue:
    """Who is heard against the community, per dimension; small cells null and suppressed."""
    rt, args = runtime(), request.args
    dimension = args.get("dimension", "")
    if dimension and dimension not in DIMENSIONS:
        return api_error(400, f"dimension must be one of {', '.join(DIMENSIONS)}")
    try:
        window = rep.window_from(
            rt, args.get("days", ""), args.get("partner", ""), args.get("prompt", "")
        )
    except rep.FilterError as exc:
        return api_error(400, str(exc))
    tables = rep.representation(rt, window, [dimension] if dimension else DIMENSIONS)
    return jsonify(
        days=window.days,
        since=rep.since(rt, window).isoformat(),
        partner=window.partner.id if window.partner else None,
        prompt=window.prompt_id,
        dimensions=[rep.as_json(t) for t in tables],
    )


@bp.errorhandler(ApiError)
def refused(exc: ApiError) -> ResponseReturnValue:
    """A view's ApiError as the JSON error every API answer uses."""
    return api_error(exc.status, exc.message)


@bp.app_errorhandler(HTTPException)
def json_errors(exc: HTTPException) -> ResponseReturnValue:
    """Unknown URLs, wrong methods and oversize bodies under /api/ answer JSON too.

    The exception's own headers are kept: a 405 must say which methods are `Allow`ed.
    """
    if not request.path.startswith("/api/"):
        return exc
    response = api_error(exc.code or 500, exc.description or exc.name)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
