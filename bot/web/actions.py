"""Concerns and actions: record what the agency did, check who hears back, publish."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.services import followups, translation
from bot.services.masking import mask_address
from bot.web.auth import current_staff, staff_required
from bot.web.context import form_id, form_ids, runtime
from storage import actions, audit, inbox
from storage.db import transaction

bp = Blueprint("actions", __name__)


def _actor() -> str:
    user = current_staff()
    assert user is not None
    return user.email


@bp.get("/staff/concerns")
@staff_required("viewer")
def concerns_page() -> ResponseReturnValue:
    """Every concern with its size."""
    with transaction(runtime().db) as session:
        rows = inbox.concerns(session)
    return render_template("staff/concerns.html", rows=rows)


@bp.get("/staff/concerns/<int:concern_id>")
@staff_required("viewer")
def concern_page(concern_id: int) -> ResponseReturnValue:
    """A concern's responses, and the button to record what the agency did."""
    with transaction(runtime().db) as session:
        concern = inbox.concern(session, concern_id)
        if concern is None:
            abort(404)
        pairs = inbox.by_ids(session, inbox.concern_response_ids(session, concern_id))
    rows = [(r, c, mask_address(c.channel, c.address)) for r, c in pairs]
    return render_template("staff/concern.html", concern=concern, rows=rows)


@bp.post("/staff/actions/new")
@staff_required("staff")
def new_action() -> ResponseReturnValue:
    """A draft on a concern's responses (or on checked responses), then the draft page."""
    rt = runtime()
    concern_id = form_id(request.form.get("concern_id"))
    with transaction(rt.db) as session:
        if concern_id is not None:
            concern = inbox.concern(session, concern_id)
            if concern is None:
                abort(404)
            ids, title = inbox.concern_response_ids(session, concern_id), concern.title
        else:
            ids = form_ids(request.form.getlist("ids"))
            ids = [r.id for r, _ in inbox.by_ids(session, ids) if r.id is not None]
            title = ""
        if not ids:
            flash("Choose responses (or a concern with responses) first.", "error")
            return redirect(url_for("staff.inbox"))
        action = followups.create_draft(
            rt,
            session,
            title=title,
            messages={},
            response_ids=ids,
            actor=_actor(),
            concern_id=concern_id,
        )
    return redirect(url_for("actions.action_page", action_id=action.id))


@bp.get("/staff/actions")
@staff_required("viewer")
def actions_page() -> ResponseReturnValue:
    """Drafts and published actions."""
    with transaction(runtime().db) as session:
        rows = actions.listing(session)
    return render_template("staff/actions.html", rows=rows)


@bp.get("/staff/actions/<int:action_id>")
@staff_required("viewer")
def action_page(action_id: int) -> ResponseReturnValue:
    """A draft: texts, flags, recipients and segments. Published: each recipient's delivery."""
    rt = runtime()
    with transaction(rt.db) as session:
        action = actions.get(session, action_id)
        if action is None:
            abort(404)
        plan = followups.plan(rt, session, action) if action.status == "draft" else None
        sent = [
            (
                link,
                row,
                mask_address(c.channel, c.address),
                followups.state_of(row.status, row.delivery_status),
            )
            for link, row, c in actions.recipients(session, action_id)
        ]
        tally = followups.delivery(session, action_id)
    return render_template(
        "staff/action.html",
        action=action,
        plan=plan,
        sent=sent,
        tally=tally,
        languages=rt.settings.languages,
        mask=mask_address,
        can_translate=translation.enabled(rt),
        send_unreviewed=rt.settings.send_unreviewed_translations,
    )


@bp.post("/staff/actions/<int:action_id>/edit")
@staff_required("staff")
def edit_action(action_id: int) -> ResponseReturnValue:
    """Save a draft's title, messages and the sensitive responses included one by one."""
    rt = runtime()
    messages = {lang: request.form.get(f"message_{lang}", "") for lang in rt.settings.languages}
    included = form_ids(request.form.getlist("include"))
    try:
        clean = followups.check_messages(rt, messages)
    except followups.FollowUpError as exc:
        flash(str(exc), "error")
        return redirect(url_for("actions.action_page", action_id=action_id))
    with transaction(rt.db) as session:
        action = actions.get(session, action_id)
        if action is None:
            abort(404)
        if action.status != "draft":
            flash("A published action cannot be changed.", "error")
            return redirect(url_for("actions.action_page", action_id=action_id))
        title = " ".join(request.form.get("title", "").split())[:200]
        actions.update_text(session, action_id, title, clean)
        # Machine drafts: a cleared language is no longer a draft; a ticked one was reviewed.
        drafts = {lang: d for lang, d in (action.drafts or {}).items() if lang in clean}
        reviewed = [lang for lang in drafts if request.form.get(f"reviewed_{lang}") == "yes"]
        drafts = translation.mark_reviewed(drafts, reviewed)
        actions.update_messages(session, action_id, messages=clean, drafts=drafts)
        actions.set_included(session, action_id, included)
        audit.record(
            session,
            actor=_actor(),
            action="action.edit",
            at=rt.now(),
            target="action",
            target_id=action_id,
            detail={"title": title, "languages": sorted(clean), "sensitive_included": included},
        )
    flash("Saved.", "ok")
    return redirect(url_for("actions.action_page", action_id=action_id))


@bp.post("/staff/actions/<int:action_id>/translate")
@staff_required("staff")
def translate_action(action_id: int) -> ResponseReturnValue:
    """Machine-draft the languages the follow-up lacks; each must be reviewed before sending."""
    try:
        drafted = translation.draft_action(
            runtime(), action_id, _actor(), source=request.form.get("source") or None
        )
    except translation.TranslationError as exc:
        flash(f"{str(exc).capitalize()}.", "error")
    else:
        if drafted:
            flash(f"Drafted {', '.join(drafted)}: read each draft and tick Reviewed.", "ok")
        else:
            flash("Nothing to draft: every language is written.", "ok")
    return redirect(url_for("actions.action_page", action_id=action_id))


@bp.post("/staff/actions/<int:action_id>/publish")
@staff_required("staff")
def publish(action_id: int) -> ResponseReturnValue:
    """Send the follow-ups (through the outbox, in each resident's allowed hours)."""
    try:
        plan = followups.publish(runtime(), action_id, _actor())
    except LookupError:
        abort(404)
    except followups.FollowUpError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Published: {len(plan.recipients)} follow-ups queued.", "ok")
    return redirect(url_for("actions.action_page", action_id=action_id))
