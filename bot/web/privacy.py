"""Privacy on the web: the public /privacy page, legal holds and an admin's erasure.

The public page is generated from the same settings the retention job enforces and the bot's
PRIVACY answer quotes, with live figures, in the reader's language (flows/pages.yaml).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.services import privacy
from bot.web.auth import current_staff, staff_required
from bot.web.context import runtime
from bot.web.public import page_language, words
from storage import conversations
from storage.db import transaction
from storage.models import Response

bp = Blueprint("privacy", __name__)


@bp.get("/privacy")
def page() -> ResponseReturnValue:
    """What is collected, why, who sees it, for how long, erasure, and the figures."""
    rt = runtime()
    return render_template(
        "public/privacy.html",
        facts=privacy.facts(rt),
        counts=privacy.public_counts(rt),
        **words(rt, page_language(rt)),
    )


def _actor() -> str:
    user = current_staff()
    assert user is not None
    return user.email


def _held(op: str) -> bool:
    if op not in ("hold", "release"):
        abort(400, "op must be hold or release")
    return op == "hold"


@bp.post("/staff/responses/<int:response_id>/hold")
@staff_required("staff")
def hold_response(response_id: int) -> ResponseReturnValue:
    """Put a response on legal hold (a records request, litigation) or release it."""
    held = _held(request.form.get("op", ""))
    try:
        privacy.hold_response(runtime(), response_id, held, _actor())
    except privacy.PrivacyError:
        abort(404)
    flash("On legal hold: kept through retention and erasure." if held else "Hold released.", "ok")
    return redirect(url_for("staff.response_page", response_id=response_id))


@bp.post("/staff/concerns/<int:concern_id>/hold")
@staff_required("staff")
def hold_concern(concern_id: int) -> ResponseReturnValue:
    """Hold (or release) a concern and every response grouped into it."""
    held = _held(request.form.get("op", ""))
    try:
        privacy.hold_concern(runtime(), concern_id, held, _actor())
    except privacy.PrivacyError:
        abort(404)
    flash("The concern and its responses are on legal hold." if held else "Hold released.", "ok")
    return redirect(url_for("actions.concern_page", concern_id=concern_id))


@bp.post("/staff/responses/<int:response_id>/erase")
@staff_required("admin")
def erase(response_id: int) -> ResponseReturnValue:
    """Erase the resident behind a response, who asked by phone or in person; audited."""
    if request.form.get("confirm") != "yes":
        flash("Tick the box to confirm the resident asked for erasure.", "error")
        return redirect(url_for("staff.response_page", response_id=response_id))
    rt = runtime()
    with transaction(rt.db) as session:
        response = session.get(Response, response_id)
        if response is None:
            abort(404)
        contact_id = response.contact_id
        if conversations.is_erased(session, contact_id):
            flash("This resident's data was already erased.", "error")
            return redirect(url_for("staff.response_page", response_id=response_id))
    result = privacy.erase_by_staff(rt, contact_id, _actor())
    kept = f" {result.held} on legal hold were kept." if result.held else ""
    flash(f"Erased: {result.responses} responses' words and the resident's details.{kept}", "ok")
    return redirect(url_for("staff.response_page", response_id=response_id))
