"""A partner organisation's own pages: its residents' aggregates and a summary to share.

A partner login sees only its own partner; staff preview any partner's page on a staff path,
so what staff check is exactly what the partner will see.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from bot.services.partner_view import FEWER, PartnerView, chart_pairs, partner_view
from bot.web.auth import current_staff, partner_required, staff_required
from bot.web.context import runtime
from bot.web.svg import bar_chart

bp = Blueprint("partner_view", __name__)


def _view(partner_id: int) -> PartnerView:
    view = partner_view(runtime(), partner_id)
    if view is None:
        abort(404)
    return view


def _own() -> int:
    """The partner of the logged-in partner account (partner_required made sure of it)."""
    user = current_staff()
    assert user is not None
    assert user.partner_id is not None
    return user.partner_id


def _page(view: PartnerView, preview: bool) -> str:
    return render_template(
        "staff/partner_home.html",
        view=view,
        preview=preview,
        fewer=FEWER,
        topics_chart=bar_chart(chart_pairs(view.topics), "Residents by topic"),
        weeks_chart=bar_chart(chart_pairs(view.weeks), "Residents by week"),
    )


def _summary(view: PartnerView) -> ResponseReturnValue:
    """A self-contained page, sent as a download to print or pass on."""
    page = render_template(
        "staff/partner_summary.html",
        view=view,
        fewer=FEWER,
        agency=runtime().settings.agency_name,
        lang=runtime().settings.staff_language,
        topics_chart=bar_chart(chart_pairs(view.topics), "Residents by topic"),
    )
    filename = f"{view.partner.code}-summary.html"
    return (
        page,
        200,
        {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/partner")
@partner_required
def home() -> ResponseReturnValue:
    """The partner's own residents, counted, with what the agency did about their concerns."""
    return _page(_view(_own()), preview=False)


@bp.get("/partner/summary")
@partner_required
def summary() -> ResponseReturnValue:
    """The one-page summary a partner shares with its members."""
    return _summary(_view(_own()))


@bp.get("/staff/partners/<int:partner_id>/view")
@staff_required("staff")
def preview(partner_id: int) -> ResponseReturnValue:
    """Exactly what the partner's login shows, for staff to check before handing it over."""
    return _page(_view(partner_id), preview=True)


@bp.get("/staff/partners/<int:partner_id>/summary")
@staff_required("staff")
def preview_summary(partner_id: int) -> ResponseReturnValue:
    """The partner's one-page summary, for staff to print for a partner without a login."""
    return _summary(_view(partner_id))
