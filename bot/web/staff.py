"""The staff inbox: read, filter, review, tag, group and answer what residents said."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlmodel import Session

from bot.community import VIEWPOINTS
from bot.services import review, translation
from bot.services.charts import chart_data, viewpoint_balance
from bot.services.export import csv_text, response_rows
from bot.services.masking import mask_address
from bot.web.auth import current_staff, same_site, staff_required
from bot.web.context import form_id, form_ids, runtime
from bot.web.filters import FilterError, parse_filter
from bot.web.recordings import voice_channel
from bot.web.svg import bar_chart, line_chart
from storage import audit, calls, inbox, outbox
from storage.db import transaction
from storage.models import Response as ResponseRow
from storage.models import VoiceCall

bp = Blueprint("staff", __name__)
PAGE = 50
CONTEXT_BEFORE = timedelta(hours=1)
CONTEXT_AFTER = timedelta(hours=2)


def _actor() -> str:
    user = current_staff()
    assert user is not None
    return user.email


def _recordings(session: Session, responses: list[ResponseRow]) -> dict[int, VoiceCall]:
    """The recorded call behind each spoken response, by message id; none when calls are off
    (the proxy that plays them would only answer 503)."""
    if voice_channel() is None:
        return {}
    ids = [r.message_id for r in responses if r.message_id is not None]
    return calls.recordings_for_messages(session, ids)


def _ids() -> list[int]:
    """Checked response ids from a form."""
    return form_ids(request.form.getlist("ids"))


@bp.get("/staff", endpoint="inbox")
@staff_required("viewer")
def inbox_page() -> ResponseReturnValue:
    """Responses newest first, filtered; urgent and sensitive ones stand out."""
    rt = runtime()
    try:
        filters = parse_filter(request.args, rt.settings.timezone, rt.hidden_channels())
    except FilterError as exc:
        flash(str(exc), "error")
        filters = parse_filter({}, rt.settings.timezone, rt.hidden_channels())
    before = request.args.get("before", "")
    with transaction(rt.db) as session:
        rows = inbox.page(session, filters, before_id=form_id(before), limit=PAGE)
        ids = [r.id for r, _ in rows if r.id is not None]
        tags = inbox.tags_for(session, ids)
        groups = inbox.concerns_for(session, ids)
        menus = inbox.choices(session)
        concerns = inbox.concerns(session)
        recordings = _recordings(session, [r for r, _ in rows])
    translated = translation.translations_for(rt, ids)
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    more = url_for("staff.inbox", **args, before=rows[-1][0].id) if len(rows) == PAGE else None
    return render_template(
        "staff/inbox.html",
        rows=[(r, c, mask_address(c.channel, c.address)) for r, c in rows],
        tags=tags,
        groups=groups,
        menus=menus,
        concerns=concerns,
        args=request.args,
        more=more,
        hidden_channels=rt.hidden_channels(),
        translated=translated,
        usage=translation.usage(rt) if translation.enabled(rt) else None,
        viewpoints=VIEWPOINTS,
        recordings=recordings,
    )


@bp.post("/staff/responses/bulk")
@staff_required("staff")
def bulk() -> ResponseReturnValue:
    """One form, several operations on the checked responses."""
    rt, ids, op = runtime(), _ids(), request.form.get("op", "")
    try:
        if op == "review":
            n = review.mark_reviewed(rt, ids, _actor())
            flash(f"Marked {n} reviewed.", "ok")
        elif op == "tag":
            label = review.tag(rt, ids, request.form.get("tag", ""), _actor())
            flash(f"Tagged {len(ids)} with “{label}”.", "ok")
        elif op == "viewpoint":
            chosen = review.set_viewpoint(rt, ids, request.form.get("viewpoint", ""), _actor())
            what = f"set to {chosen}" if chosen else "cleared"
            flash(f"Viewpoint of {len(ids)} {what}.", "ok")
        elif op == "group":
            existing = request.form.get("concern_id", "")
            concern_id = review.group(
                rt,
                ids,
                _actor(),
                concern_id=form_id(existing),
                title=request.form.get("concern_title", ""),
            )
            flash("Grouped into the concern.", "ok")
            return redirect(url_for("actions.concern_page", concern_id=concern_id))
        else:
            abort(400, "unknown operation")
    except review.ReviewError as exc:
        flash(str(exc), "error")
    return redirect(same_site(request.form.get("back")))


@bp.get("/staff/responses/<int:response_id>")
@staff_required("viewer")
def response_page(response_id: int) -> ResponseReturnValue:
    """One response with the conversation around it."""
    return _response_page(response_id)


def _response_page(response_id: int, revealed: str | None = None) -> ResponseReturnValue:
    rt = runtime()
    with transaction(rt.db) as session:
        pairs = inbox.by_ids(session, [response_id])
        if not pairs:
            abort(404)
        response, contact = pairs[0]
        assert contact.id is not None
        lines = [
            line
            for line in outbox.transcript(
                session, contact.id, after=response.created_at - CONTEXT_BEFORE
            )
            if line["at"] <= response.created_at + CONTEXT_AFTER
        ]
        tags = inbox.tags_for(session, [response_id]).get(response_id, [])
        group = inbox.concerns_for(session, [response_id]).get(response_id)
        recording = _recordings(session, [response]).get(response.message_id or 0)
    shown = translation.translations_for(rt, [response_id]).get(response_id)
    return render_template(
        "staff/response.html",
        translated=shown,
        r=response,
        contact=contact,
        masked=mask_address(contact.channel, contact.address),
        revealed=revealed,
        lines=lines,
        tags=tags,
        group=group,
        viewpoints=VIEWPOINTS,
        recording=recording,
    )


@bp.post("/staff/responses/<int:response_id>/translation")
@staff_required("staff")
def correct_translation(response_id: int) -> ResponseReturnValue:
    """A person corrects the machine's translation; audited, and it wins from now on."""
    try:
        translation.correct(runtime(), response_id, request.form.get("text", ""), _actor())
    except translation.TranslationError as exc:
        flash(f"{str(exc).capitalize()}.", "error")
    else:
        flash("Translation corrected.", "ok")
    return redirect(url_for("staff.response_page", response_id=response_id))


@bp.post("/staff/responses/<int:response_id>/reply")
@staff_required("staff")
def reply(response_id: int) -> ResponseReturnValue:
    """Queue a message to the one resident, on their channel."""
    try:
        review.reply(runtime(), response_id, request.form.get("text", ""), _actor())
        flash("Reply queued: it goes out within the resident's allowed hours.", "ok")
    except review.ReviewError as exc:
        flash(str(exc), "error")
    except LookupError:
        abort(404)
    return redirect(url_for("staff.response_page", response_id=response_id))


@bp.post("/staff/responses/<int:response_id>/reveal")
@staff_required("admin")
def reveal(response_id: int) -> ResponseReturnValue:
    """Show an admin the full address once, on this page only; the look is audited."""
    try:
        address = review.reveal_address(runtime(), response_id, _actor())
    except LookupError:
        abort(404)
    page = _response_page(response_id, revealed=address)
    return page, 200, {"Cache-Control": "no-store"}


@bp.get("/staff/export.csv")
@staff_required("viewer")
def export_csv() -> ResponseReturnValue:
    """Responses for a date range as CSV, safe to open in a spreadsheet, audited.

    `?redacted=1` is the release copy for a records request (masked, see
    `bot.services.export.release_row`), audited as `records.release` so releases can be counted.
    """
    rt = runtime()
    try:
        f = parse_filter(
            {"from": request.args.get("from", ""), "to": request.args.get("to", "")},
            rt.settings.timezone,
        )
    except FilterError as exc:
        abort(400, str(exc))
    redacted = request.args.get("redacted") == "1"
    rows = response_rows(rt, f.start, f.end, redacted=redacted, region=rt.settings.phone_region)
    detail: dict[str, object] = {
        "from": request.args.get("from"),
        "to": request.args.get("to"),
        "rows": len(rows),
    }
    if redacted:
        detail["redacted"] = True
    with transaction(rt.db) as session:
        audit.record(
            session,
            actor=_actor(),
            action="records.release" if redacted else "responses.export",
            at=rt.now(),
            detail=detail,
        )
    name = "townline-responses-redacted.csv" if redacted else "townline-responses.csv"
    # The byte-order mark is what tells Excel the file is UTF-8: without it, Arabic, Chinese and
    # Vietnamese open as mojibake. Other tools read past it.
    return Response(
        "\ufeff" + csv_text(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/staff/audit")
@staff_required("admin")
def audit_page() -> ResponseReturnValue:
    """Every staff change, newest first."""
    before = request.args.get("before", "")
    with transaction(runtime().db) as session:
        entries = audit.recent(session, before_id=form_id(before))
    return render_template("staff/audit.html", entries=entries)


@bp.get("/staff/charts")
@staff_required("viewer")
def charts() -> ResponseReturnValue:
    """Responses per topic per week, language/channel mix, places, feedback and viewpoints."""
    include = request.args.get("simulated") == "include"
    data = chart_data(runtime(), include_simulated=include)
    return render_template(
        "staff/charts.html",
        hidden_channels=runtime().hidden_channels(),
        include_simulated=include,
        topics=line_chart(data.weeks, data.topics_by_week, "Responses per topic per week"),
        languages=bar_chart(data.languages, "Languages"),
        channels=bar_chart(data.channels, "Channels"),
        places=bar_chart(data.neighbourhoods, "Neighbourhoods"),
        feedback=line_chart(
            data.weeks, data.feedback_by_week, "Interaction feedback (1-5)", y_max=5
        ),
        viewpoints=line_chart(data.weeks, data.viewpoints_by_week, "Viewpoints per week"),
        balance=viewpoint_balance(data.viewpoint_totals, data.untagged),
    )
