"""Partner organisations: their keywords, links and QR codes, for the dashboard and the CLI.

A resident who trusts a church more than the police texts the church's keyword; so a keyword
must never be a word the line already acts on (STOP, HELP, a language, a greeting, anything
read as danger) nor another partner's, or a resident would land somewhere they did not mean.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.community import keyword_key
from bot.guard import has_unstorable
from bot.runtime import Runtime
from storage import audit
from storage import partners as store
from storage.db import transaction
from storage.models import Partner

MAX_NAME = 200
MAX_CONTACT = 300
MAX_CODE = 32
MAX_KEYWORD = 20
MAX_NEIGHBOURHOOD = 120
MAX_NEIGHBOURHOODS = 50
# Small words a name starts with that would make a poor keyword ("The", "Los", "of").
_MINOR = frozenset({"THE", "AND", "FOR", "OF", "LOS", "LAS", "DEL", "DES", "LES", "UNE", "AUX"})
# What the understanding step calls a class, said the way staff read it; the line's own
# keywords first (HELP is also read as an emergency, but "it asks for help" says more).
_WHY = {
    "stop": "it stops messages",
    "start": "it restarts messages",
    "help": "it asks for help",
    "language": "it chooses a language",
    "menu": "it asks for the menu",
    "meetings": "it asks about meetings",
    "emergency": "it reads as an emergency",
    "crisis": "it reads as a person in crisis",
    "violence": "it reads as a disclosure of violence",
    "sensitive": "it reads as something sensitive",
}


class PartnerError(ValueError):
    """A partner cannot be created or changed as asked; the message says why."""


def fold_ascii(text: str) -> str:
    """Accents dropped, anything outside ASCII gone: "Tiếng Việt" -> "Tieng Viet"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def slug(name: str) -> str:
    """A code for links and the Telegram payload: a-z, 0-9 and hyphens, at most 32."""
    words = re.sub(r"[^a-z0-9]+", "-", fold_ascii(name).lower()).strip("-")
    return _cut(words, MAX_CODE) or "partner"


def _cut(code: str, limit: int) -> str:
    """At most `limit` characters, ending at a whole word when one fits."""
    if len(code) <= limit:
        return code
    head = code[:limit]
    whole = head.rsplit("-", 1)[0] if code[limit] != "-" and "-" in head else head
    return whole.rstrip("-")


def _name_words(name: str) -> list[str]:
    """Keyword candidates from a name, most significant first, then the rest."""
    words = [re.sub(r"[^A-Z0-9]", "", w) for w in fold_ascii(name).upper().split()]
    good = [w[:MAX_KEYWORD] for w in words if len(w) >= 3 and w not in _MINOR]
    rest = [w[:MAX_KEYWORD] for w in words if w and w not in good]
    return list(dict.fromkeys([*good, *rest]))


def line_word(rt: Runtime, word: str) -> str | None:
    """Why the line already acts on this word, in any configured language, or None."""
    reading = rt.understanding.read(word)
    if reading.classes:
        known = [why for name, why in _WHY.items() if reading.has(name)]
        return known[0] if known else f"it is read as {reading.classes[0]}"
    keywords = rt.understanding.keywords
    for group in (*rt.catalog.keywords, "language"):
        if keywords.exact(group, word) is not None:
            return f"it is the line's word for {group}"
    if (flow := keywords.flow_keyword(word)) is not None:
        return f"it opens the {flow[0]} topic"
    return None


def _taken(session: Session, keep_id: int | None) -> dict[str, str]:
    """Folded keyword -> the name of the active partner using it (in any language: a resident
    whose language is not known yet must still reach the partner they meant)."""
    taken: dict[str, str] = {}
    for other in store.listed(session):
        if other.id != keep_id:
            for word in other.keywords.values():
                taken.setdefault(keyword_key(word), other.name)
    return taken


def _refusal(rt: Runtime, word: str, taken: Mapping[str, str]) -> str | None:
    """Why a keyword cannot be used, or None when it can."""
    if not word:
        return "a keyword cannot be empty"
    if len(word) > MAX_KEYWORD:
        return f"{word} is longer than {MAX_KEYWORD} characters"
    if any(ch.isspace() for ch in word):
        return f"{word!r} must be one word, with no spaces"
    if not all(ch == "-" or unicodedata.category(ch)[0] in "LNM" for ch in word):
        return f"{word!r} must be letters and digits only (a hyphen at most)"
    if not keyword_key(word):
        return f"{word!r} has no letters or digits"
    if (why := line_word(rt, word)) is not None:
        return f"{word} is a word the line already acts on ({why})"
    if (owner := taken.get(keyword_key(word))) is not None:
        return f"{word} is already the keyword of {owner}"
    return None


def _asked_keywords(rt: Runtime, keywords: Mapping[str, str] | str | None) -> dict[str, str]:
    """Staff's keywords by language: one word for every language, or some languages' own."""
    languages = rt.catalog.languages
    if keywords is None:
        return {}
    if isinstance(keywords, str):
        return {lang: keywords.strip().upper() for lang in languages}
    out = {}
    for lang, word in keywords.items():
        if lang not in languages:
            raise PartnerError(f"{lang} is not a language the line offers ({', '.join(languages)})")
        out[lang] = word.strip().upper()
    return out


def _keywords(
    rt: Runtime,
    session: Session,
    *,
    name: str,
    asked: Mapping[str, str],
    current: Mapping[str, str],
    keep_id: int | None,
) -> dict[str, str]:
    """A checked keyword for every configured language: asked, else kept, else from the name."""
    taken = _taken(session, keep_id)
    chosen: dict[str, str] = {}
    for lang, word in asked.items():
        if (why := _refusal(rt, word, taken)) is not None:
            raise PartnerError(f"{why}; choose another keyword for {lang}")
        chosen[lang] = word
    missing = [lang for lang in rt.catalog.languages if lang not in chosen]
    kept = {lang: current[lang] for lang in missing if lang in current}
    chosen.update(kept)
    if len(chosen) < len(rt.catalog.languages):
        default = next((w for w in _name_words(name) if _refusal(rt, w, taken) is None), None)
        if default is None:
            raise PartnerError("no word of the name can be its keyword; give one")
        chosen.update({lang: default for lang in rt.catalog.languages if lang not in chosen})
    return {lang: chosen[lang] for lang in rt.catalog.languages}


def _languages(rt: Runtime, languages: Iterable[str]) -> list[str]:
    """The partner's languages, in the line's order; refuses one the line does not offer."""
    asked = {lang.strip() for lang in languages if lang.strip()}
    unknown = sorted(asked - set(rt.catalog.languages))
    if unknown:
        offered = ", ".join(rt.catalog.languages)
        raise PartnerError(f"{', '.join(unknown)} is not a language the line offers ({offered})")
    return [lang for lang in rt.catalog.languages if lang in asked]


def _neighbourhoods(values: Iterable[str]) -> list[str]:
    """Free text, trimmed, each at most 120 characters, without repeats."""
    out = list(dict.fromkeys(" ".join(v.split()) for v in values if v.strip()))
    for place in out:
        if len(place) > MAX_NEIGHBOURHOOD or has_unstorable(place):
            raise PartnerError(f"a neighbourhood must be at most {MAX_NEIGHBOURHOOD} characters")
    if len(out) > MAX_NEIGHBOURHOODS:
        raise PartnerError(f"list at most {MAX_NEIGHBOURHOODS} neighbourhoods")
    return out


def _contact(contact: str) -> str:
    contact = contact.strip()
    if len(contact) > MAX_CONTACT or has_unstorable(contact):
        raise PartnerError(f"the contact must be at most {MAX_CONTACT} characters")
    return contact


def _free_code(session: Session, name: str) -> str:
    """The name's slug, or slug-2, slug-3 … when another partner (even archived) has it."""
    base = slug(name)
    code, n = base, 1
    while store.by_code(session, code) is not None:
        n += 1
        suffix = f"-{n}"
        code = _cut(base, MAX_CODE - len(suffix)) + suffix
    return code


def create_partner(
    rt: Runtime,
    *,
    name: str,
    contact: str = "",
    languages: Sequence[str] = (),
    neighbourhoods: Sequence[str] = (),
    keywords: Mapping[str, str] | str | None = None,
    public_consent: bool = False,
    actor: str,
) -> Partner:
    """Add a partner with a code and a keyword in every language, audited."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME or has_unstorable(name):
        raise PartnerError(f"give the partner's name (at most {MAX_NAME} characters)")
    values: dict[str, Any] = {
        "name": name,
        "contact": _contact(contact),
        "languages": _languages(rt, languages),
        "neighbourhoods": _neighbourhoods(neighbourhoods),
        "public_consent": public_consent,
        "created_at": rt.now(),
    }
    asked = _asked_keywords(rt, keywords)
    try:
        with transaction(rt.db) as session:
            values["keywords"] = _keywords(
                rt, session, name=name, asked=asked, current={}, keep_id=None
            )
            partner = store.add(session, code=_free_code(session, name), **values)
            _audit(session, rt, actor, "partner.create", partner, keywords=values["keywords"])
            return partner
    except IntegrityError as exc:  # another request took the same code a moment ago
        raise PartnerError("another partner was just added with this name; try again") from exc


def update_partner(
    rt: Runtime,
    partner_id: int,
    *,
    actor: str,
    contact: str | None = None,
    languages: Sequence[str] | None = None,
    neighbourhoods: Sequence[str] | None = None,
    keywords: Mapping[str, str] | str | None = None,
    public_consent: bool | None = None,
) -> Partner:
    """Change what is given (None leaves a field as it is), audited with what changed."""
    changes: dict[str, Any] = {}
    if contact is not None:
        changes["contact"] = _contact(contact)
    if languages is not None:
        changes["languages"] = _languages(rt, languages)
    if neighbourhoods is not None:
        changes["neighbourhoods"] = _neighbourhoods(neighbourhoods)
    if public_consent is not None:
        changes["public_consent"] = public_consent
    asked = _asked_keywords(rt, keywords)
    with transaction(rt.db) as session:
        partner = _active(session, partner_id)
        if asked:
            changes["keywords"] = _keywords(
                rt,
                session,
                name=partner.name,
                asked=asked,
                current=partner.keywords,
                keep_id=partner.id,
            )
        changed = {k: v for k, v in changes.items() if getattr(partner, k) != v}
        if changed:
            store.update_partner(session, partner_id, **changed)
            shown = {k: v for k, v in changed.items() if k != "contact"}  # a person: not logged
            _audit(session, rt, actor, "partner.update", partner, changed=sorted(changed), **shown)
            session.refresh(partner)
        return partner


def archive_partner(rt: Runtime, partner_id: int, *, actor: str) -> Partner:
    """Retire a partner: its keyword and links stop naming it; what was said stays."""
    with transaction(rt.db) as session:
        partner = _active(session, partner_id)
        store.archive(session, partner_id, rt.now())
        _audit(session, rt, actor, "partner.archive", partner)
        session.refresh(partner)
        return partner


def _active(session: Session, partner_id: int) -> Partner:
    partner = store.get(session, partner_id)
    if partner is None:
        raise PartnerError("there is no such partner")
    if partner.archived_at is not None:
        raise PartnerError(f"{partner.name} is archived")
    return partner


def _audit(
    session: Session, rt: Runtime, actor: str, action: str, partner: Partner, **detail: Any
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        at=rt.now(),
        target="partner",
        target_id=partner.id,
        detail={"name": partner.name, "code": partner.code, **detail},
    )


def list_partners(rt: Runtime, include_archived: bool = False) -> list[tuple[Partner, int]]:
    """Partners by name, each with how many residents came in through it (staff see every
    count: they read the residents' own words in the inbox)."""
    with transaction(rt.db) as session:
        counts = store.resident_counts(session, rt.hidden_channels())
        rows = store.listed(session, include_archived=include_archived)
        return [(p, counts.get(p.id or 0, 0)) for p in rows]


def get_partner(rt: Runtime, partner_id: int) -> Partner | None:
    """One partner, archived or not."""
    with transaction(rt.db) as session:
        return store.get(session, partner_id)


def by_code(rt: Runtime, code: str) -> Partner | None:
    """The partner a code names (the CLI and links use codes, not ids)."""
    with transaction(rt.db) as session:
        return store.by_code(session, code.strip().lower())
