"""Who is heard: respondents' shares beside the community's, and the figures staff enter."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from bot.community import AGE_BANDS, HIDDEN
from bot.services import community_figures as figures
from bot.services import representation as rep
from bot.services.accounts import role_allows
from bot.web.auth import current_staff, staff_required
from bot.web.context import runtime
from bot.web.svg import paired_bar_chart

bp = Blueprint("representation", __name__)
TITLES = {"neighbourhood": "Neighbourhood", "language": "Language", "age_band": "Age band"}
NAMES = ("Residents heard", "The community")


def _actor() -> str:
    user = current_staff()
    assert user is not None
    return user.email


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def heard_text(group: rep.Group) -> str:
    """What a group's respondents cell says: every hidden cell says the same, so a reader
    cannot tell the small group from the one hidden beside it."""
    if group.suppressed:
        return HIDDEN
    if group.respondents_share is None:
        return "0"
    return f"{percent(group.respondents_share)} ({group.respondents})"


def chart(table: rep.Table) -> Markup:
    """The side-by-side bars of one dimension, in the table's order."""
    rows = [
        (
            g.value,
            (g.respondents_share, heard_text(g)),
            (g.community_share, percent(g.community_share) or "no figure"),
        )
        for g in table.groups
    ]
    title = f"{TITLES[table.dimension]}: residents heard against the community"
    return paired_bar_chart(rows, title, NAMES, chart_id=f"representation-{table.dimension}")


@bp.get("/staff/representation")
@staff_required("viewer")
def page() -> ResponseReturnValue:
    """Per dimension, the most under-heard groups first; filters by partner and prompt."""
    rt = runtime()
    args = request.args
    try:
        window = rep.window_from(
            rt, args.get("days", ""), args.get("partner", ""), args.get("prompt", "")
        )
    except rep.FilterError as exc:
        flash(f"{str(exc).capitalize()}.", "error")
        window = rep.Window()
    tables = rep.representation(rt, window)
    user = current_staff()
    return render_template(
        "staff/representation.html",
        sections=[(t, TITLES[t.dimension], chart(t)) for t in tables],
        window=window,
        windows=rep.WINDOWS,
        partners=rep.partner_choices(rt),
        prompts=rep.prompt_choices(rt),
        shares=figures.list_shares(rt),
        dimensions=TITLES,
        age_bands=AGE_BANDS,
        can_edit=user is not None and role_allows(user.role, "staff"),
        hidden_channels=rt.hidden_channels(),
        heard_text=heard_text,
        percent=percent,
    )


def _back() -> ResponseReturnValue:
    return redirect(url_for("representation.page") + "#figures")


def _try(work: Callable[[], object], done: str) -> ResponseReturnValue:
    """Run a change; its refusal becomes the message staff read, never a 500."""
    try:
        work()
    except figures.ShareError as exc:
        flash(f"Not saved: {exc}.", "error")
    except LookupError:
        abort(404)
    else:
        flash(done, "ok")
    return _back()


@bp.post("/staff/representation/shares")
@staff_required("staff")
def add_share() -> ResponseReturnValue:
    """Enter one group's figure (or replace the one entered before)."""
    form = request.form
    return _try(
        lambda: figures.save_share(
            runtime(),
            form.get("dimension", ""),
            form.get("value", ""),
            form.get("amount", ""),
            form.get("source", ""),
            _actor(),
        ),
        "Figure saved.",
    )


@bp.post("/staff/representation/shares/<int:share_id>")
@staff_required("staff")
def edit_share(share_id: int) -> ResponseReturnValue:
    form = request.form
    return _try(
        lambda: figures.edit_share(
            runtime(),
            share_id,
            form.get("value", ""),
            form.get("amount", ""),
            form.get("source", ""),
            _actor(),
        ),
        "Figure changed.",
    )


@bp.post("/staff/representation/shares/<int:share_id>/delete")
@staff_required("staff")
def delete_share(share_id: int) -> ResponseReturnValue:
    return _try(lambda: figures.delete_share(runtime(), share_id, _actor()), "Figure removed.")


@bp.post("/staff/representation/import")
@staff_required("staff")
def import_shares() -> ResponseReturnValue:
    """A CSV of figures: every row is entered, or (one bad row) none is."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a CSV file to upload.", "error")
        return _back()
    data, name = upload.read(), upload.filename
    try:
        count = figures.import_csv(runtime(), data, _actor(), name=name)
    except figures.ShareError as exc:
        flash(f"Nothing imported: {exc}.", "error")
    else:
        flash(f"Imported {count} figures from {name}.", "ok")
    return _back()
