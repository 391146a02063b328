"""Public pages, in the reader's language: the home page and "you said, we did".

The language comes from the link (?lang=es), else the browser's Accept-Language, else the
agency's default. Every word on these pages is in flows/pages.yaml (and topic names are the
flows' own labels), so a page is never half in English. No personal data is ever shown.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from bot.community import SMALL_CELL
from bot.dates import format_month
from bot.language import text_direction
from bot.runtime import Runtime
from bot.services.charts import OTHER_TOPICS
from bot.web.context import runtime
from storage import actions
from storage.db import transaction

bp = Blueprint("public", __name__)


def page_language(rt: Runtime) -> str:
    """?lang= when it names a configured language, else the browser's best, else the default."""
    languages = rt.settings.languages
    asked = request.args.get("lang", "")
    if asked in languages:
        return asked
    return request.accept_languages.best_match(languages) or rt.settings.default_language


def words(rt: Runtime, lang: str) -> dict[str, Any]:
    """What every public template needs: its words, the languages, the agency's name."""
    agency = rt.settings.agency_for(lang)
    return {
        "lang": lang,
        "dir": text_direction(lang),
        "agency": agency,
        "t": lambda key, **values: rt.catalog.page_text(key, lang, agency=agency, **values),
        "languages": [
            (code, rt.catalog.text("language_name", code)) for code in rt.catalog.languages
        ],
    }


@bp.get("/")
def home() -> ResponseReturnValue:
    """A short page that says what the line is and where to go next."""
    rt = runtime()
    return render_template("public/home.html", **words(rt, page_language(rt)))


@bp.get("/you-said-we-did")
def you_said_we_did() -> ResponseReturnValue:
    """Published actions grouped by month and topic, with how many residents raised each and
    through which consenting partners."""
    rt = runtime()
    lang = page_language(rt)
    default = rt.settings.default_language
    labels = {flow.id: flow.label[lang] for flow in rt.catalog.flows}
    with transaction(rt.db) as session:
        rows = actions.published_with_residents(session)
        named = actions.consenting_partners(
            session, [a.id for a, _ in rows if a.id is not None], at_least=SMALL_CELL
        )
    items = []
    for action, residents in rows:
        topic = action.topic if action.topic not in OTHER_TOPICS else None
        items.append(
            {
                "month": format_month(action.published_at, rt.settings.timezone, lang)
                if action.published_at
                else "",
                "topic": labels.get(topic or "") or rt.catalog.page_text("topic_other", lang),
                # Staff write the title in the agency's default language only.
                "title": action.title if lang == default else "",
                "message": action.messages.get(lang) or action.messages.get(default, ""),
                "residents": residents,
                # Partners are named only with their consent (the partner's name is theirs).
                "partners": ", ".join(named.get(action.id or 0, [])),
            }
        )
    months = [
        (month, [(topic, list(g)) for topic, g in groupby(group, key=lambda i: i["topic"])])
        for month, group in (
            (m, sorted(g, key=lambda i: i["topic"]))
            for m, g in groupby(items, key=lambda i: i["month"])
        )
    ]
    return render_template("public/you_said_we_did.html", months=months, **words(rt, lang))
