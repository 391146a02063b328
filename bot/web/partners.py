"""Partner pages: the list, one partner's keywords, links and QR codes, and its printable flyer.

Every change goes through bot.services.partners (checked and audited there); viewers see
everything but change nothing. The flyer's words come from flows/pages.yaml, so it is printed
wholly in the residents' language.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from bot.language import text_direction
from bot.services import partner_links, partners
from bot.services.accounts import role_allows
from bot.web.auth import current_staff, staff_required
from bot.web.context import runtime
from storage.models import Partner

bp = Blueprint("partners", __name__)


def _actor() -> str:
    user = current_staff()
    assert user is not None
    return user.email


def _can_edit() -> bool:
    user = current_staff()
    return user is not None and role_allows(user.role, "staff")


def _sentence(exc: Exception) -> str:
    """A refusal as a sentence; names in it keep their capitals."""
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


def _lines(text: str) -> list[str]:
    """Neighbourhoods typed one per line (or separated by semicolons)."""
    return [part for line in text.splitlines() for part in line.split(";")]


def _keywords(form: MultiDict[str, str], current: dict[str, str]) -> dict[str, str] | str | None:
    """The keywords staff typed: one for all, or per language; unchanged ones left out."""
    if everyone := form.get("keyword", "").strip():
        return everyone
    asked = {lang: form.get(f"keyword_{lang}", "").strip() for lang in runtime().catalog.languages}
    changed = {
        lang: word
        for lang, word in asked.items()
        if word and word.upper() != current.get(lang, "").upper()
    }
    return changed or None


def _list_page(status: int = 200, error: str | None = None) -> ResponseReturnValue:
    rt = runtime()
    return render_template(
        "staff/partners.html",
        rows=partners.list_partners(rt),
        languages=rt.catalog.languages,
        can_edit=_can_edit(),
        error=error,
        form=request.form if error else {},
        chosen=request.form.getlist("language") if error else [],
    ), status


@bp.get("/staff/partners")
@staff_required("viewer")
def partners_page() -> ResponseReturnValue:
    """Every active partner, how many residents came through it, and the form to add one."""
    return _list_page()


@bp.post("/staff/partners")
@staff_required("staff")
def partners_create() -> ResponseReturnValue:
    """Add a partner; a refused name or keyword shows the form again with the reason."""
    form = request.form
    try:
        partner = partners.create_partner(
            runtime(),
            name=form.get("name", ""),
            contact=form.get("contact", ""),
            languages=form.getlist("language"),
            neighbourhoods=_lines(form.get("neighbourhoods", "")),
            keywords=_keywords(form, {}),
            public_consent=form.get("public_consent") == "yes",
            actor=_actor(),
        )
    except partners.PartnerError as exc:
        return _list_page(400, _sentence(exc))
    words = ", ".join(sorted(set(partner.keywords.values())))
    flash(f"Added {partner.name} (code {partner.code}, keyword {words}).", "ok")
    return redirect(url_for("partners.partner_page", partner_id=partner.id))


def _partner(partner_id: int) -> Partner:
    partner = partners.get_partner(runtime(), partner_id)
    if partner is None:
        abort(404)
    return partner


def _detail_page(
    partner: Partner, status: int = 200, error: str | None = None
) -> ResponseReturnValue:
    rt = runtime()
    return render_template(
        "staff/partner.html",
        partner=partner,
        ways=partner_links.ways(rt, partner),
        flyer_languages=partner_links.flyer_languages(rt, partner),
        languages=rt.catalog.languages,
        sms_number=rt.settings.sms_number,
        telegram_bot=rt.settings.telegram_bot_username,
        can_edit=_can_edit() and partner.archived_at is None,
        error=error,
    ), status


@bp.get("/staff/partners/<int:partner_id>")
@staff_required("viewer")
def partner_page(partner_id: int) -> ResponseReturnValue:
    """One partner: its keyword and links in every language, QR codes, flyers, the edit form."""
    return _detail_page(_partner(partner_id))


@bp.post("/staff/partners/<int:partner_id>")
@staff_required("staff")
def partner_change(partner_id: int) -> ResponseReturnValue:
    """Save the edit form, or archive the partner."""
    rt, form = runtime(), request.form
    partner = _partner(partner_id)
    try:
        if form.get("op") == "archive":
            partners.archive_partner(rt, partner_id, actor=_actor())
            flash(f"{partner.name} is archived; its keyword no longer names it.", "ok")
            return redirect(url_for("partners.partners_page"))
        partners.update_partner(
            rt,
            partner_id,
            actor=_actor(),
            contact=form.get("contact", ""),
            languages=form.getlist("language"),
            neighbourhoods=_lines(form.get("neighbourhoods", "")),
            keywords=_keywords(form, partner.keywords),
            public_consent=form.get("public_consent") == "yes",
        )
    except partners.PartnerError as exc:
        return _detail_page(partner, 400, _sentence(exc))
    flash(f"Saved {partner.name}.", "ok")
    return redirect(url_for("partners.partner_page", partner_id=partner_id))


@bp.get("/staff/partners/<int:partner_id>/qr.<any(png, svg):fmt>")
@staff_required("viewer")
def partner_qr(partner_id: int, fmt: str) -> ResponseReturnValue:
    """A QR code to print: ?lang=es&channel=sms|telegram; 404 when that link cannot be made."""
    rt = runtime()
    partner = _partner(partner_id)
    lang = request.args.get("lang", rt.settings.default_language)
    channel = request.args.get("channel", "sms")
    if partner.archived_at is not None:
        abort(404)
    try:
        image = partner_links.partner_qr(rt, partner, lang, channel, fmt)
    except partners.PartnerError as exc:
        abort(404, str(exc))
    name = f"{partner.code}-{lang}-{channel}.{fmt}"
    return (
        image,
        200,
        {
            "Content-Type": partner_links.FORMATS[fmt],
            "Content-Disposition": f'inline; filename="{name}"',
        },
    )


@bp.get("/staff/partners/<int:partner_id>/flyer")
@staff_required("viewer")
def partner_flyer(partner_id: int) -> ResponseReturnValue:
    """A one-page flyer in one of the partner's languages, to print and pin up."""
    rt = runtime()
    partner = _partner(partner_id)
    offered = partner_links.flyer_languages(rt, partner)
    lang = request.args.get("lang") or offered[0]
    if lang not in offered or partner.archived_at is not None:
        abort(404)
    agency = rt.settings.agency_for(lang)
    way = partner_links.way(rt, partner, lang)
    values: dict[str, Any] = {
        "agency": agency,
        "partner": partner.name,
        "keyword": way.keyword,
        "number": rt.settings.sms_number or "",
        "link": way.telegram or "",
    }
    return render_template(
        "staff/partner_flyer.html",
        partner=partner,
        way=way,
        lang=lang,
        dir=text_direction(lang),
        t=lambda key: rt.catalog.page_text(key, lang, **values),
    )
