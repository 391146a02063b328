"""The public "you said, we did" page: what the agency did, by topic and month, no personal data."""

from __future__ import annotations

from itertools import groupby
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from bot.web.context import runtime
from storage import actions
from storage.db import transaction

bp = Blueprint("public", __name__)


@bp.get("/you-said-we-did")
def you_said_we_did() -> ResponseReturnValue:
    """Published actions grouped by month and topic, with how many residents raised each."""
    rt = runtime()
    languages = rt.settings.languages
    lang = request.args.get("lang", "")
    lang = lang if lang in languages else rt.settings.default_language
    zone = ZoneInfo(rt.settings.timezone)
    with transaction(rt.db) as session:
        rows = actions.published_with_residents(session)
    items = [
        {
            "month": a.published_at.astimezone(zone).strftime("%B %Y") if a.published_at else "",
            "topic": a.topic or "other",
            "title": a.title,
            "message": a.messages.get(lang) or a.messages.get(rt.settings.default_language, ""),
            "residents": residents,
        }
        for a, residents in rows
    ]
    months = [
        (
            month,
            [
                (topic, list(g))
                for topic, g in groupby(
                    sorted(group, key=lambda i: i["topic"]), key=lambda i: i["topic"]
                )
            ],
        )
        for month, group in ((m, list(g)) for m, g in groupby(items, key=lambda i: i["month"]))
    ]
    return render_template(
        "public/you_said_we_did.html",
        months=months,
        agency=rt.settings.agency_name,
        lang=lang,
        languages=languages,
    )
