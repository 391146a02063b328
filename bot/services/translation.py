"""Translation for staff: residents' words beside a translation, and drafted follow-ups.

Off unless the agency names a provider (TOWNLINE_TRANSLATE): residents' words leave the
server only then, and phone numbers, e-mail addresses and house numbers are masked before
they go. Inbound translations are made by the worker, never in a webhook, stored once and
never billed twice; a provider that is down is retried later and nothing is lost. Drafted
follow-up languages must be reviewed by a person before they are sent, unless the agency
decides otherwise (TOWNLINE_SEND_UNREVIEWED_TRANSLATIONS), in which case they say so.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.runtime import Runtime
from bot.translation import (
    TranslationRefused,
    TranslationUnavailable,
    Translator,
    translator_for,
)
from storage import actions, audit
from storage import translations as store
from storage.db import transaction
from storage.models import Action, Translation

log = logging.getLogger(__name__)
BATCH = 20
BACKOFF_SECONDS = (5.0, 15.0, 60.0, 300.0)
_translators: dict[int, Translator | None] = {}


class TranslationError(ValueError):
    """A translation cannot be made or changed as asked; the message says why."""


def translator(rt: Runtime) -> Translator | None:
    """The provider the settings name (None: off), built once per runtime."""
    key = id(rt)
    if key not in _translators:
        _translators[key] = translator_for(rt.settings)
    return _translators[key]


def enabled(rt: Runtime) -> bool:
    """Whether any words may leave the server for translation."""
    return translator(rt) is not None


def _month(now: datetime) -> str:
    return now.strftime("%Y-%m")


def budget_left(rt: Runtime) -> int | None:
    """Characters left this month (None: no limit)."""
    limit = rt.settings.translate_monthly_chars
    if not limit:
        return None
    with transaction(rt.db) as session:
        return max(0, limit - store.used(session, _month(rt.now())))


def usage(rt: Runtime) -> tuple[int, int]:
    """(characters used this month, the monthly budget; 0 = none), for the dashboard."""
    with transaction(rt.db) as session:
        return store.used(session, _month(rt.now())), rt.settings.translate_monthly_chars


def _send(
    provider: Translator, texts: list[str], target: str, source: str | None
) -> tuple[list[str], int]:
    """Translate (each provider masks numbers, e-mails and house numbers itself and puts them
    back); the characters counted against the budget."""
    out = provider.translate(texts, target=target, source=source)
    return [t.text for t in out], sum(len(text) for text in texts)


# ---- inbound: responses beside a translation ---------------------------------------------------
class InboundJob:
    """The worker's job: translate waiting responses, backing off while the provider is down."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.failures = 0
        self.resume_at = 0.0

    def run(self, rt: Runtime) -> int:
        """One batch; how many responses got a translation (0 when off, waiting or done)."""
        provider = translator(rt)
        if provider is None or self.clock() < self.resume_at:
            return 0
        try:
            done = translate_pending(rt, provider)
        except TranslationUnavailable as exc:
            delay = BACKOFF_SECONDS[min(self.failures, len(BACKOFF_SECONDS) - 1)]
            self.failures += 1
            self.resume_at = self.clock() + delay
            log.warning("translation provider unavailable (%s); retrying in %.0f s", exc, delay)
            return 0
        self.failures = 0
        return done


def translate_pending(rt: Runtime, provider: Translator, limit: int = BATCH) -> int:
    """Translate up to `limit` waiting responses into the staff language, within the budget."""
    target = rt.settings.staff_language
    with transaction(rt.db) as session:
        waiting = store.pending(session, target, limit)
    left = budget_left(rt)
    by_source: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for response in waiting:
        if left is not None:
            if len(response.text) > left:
                break  # the month's budget is spent: the rest waits for next month
            left -= len(response.text)
        assert response.id is not None
        by_source[response.language or ""].append((response.id, response.text))
    done = 0
    for source, items in by_source.items():
        try:
            texts, sent = _send(provider, [t for _, t in items], target, source or None)
        except TranslationRefused as exc:
            _store(rt, items, [""] * len(items), provider.name, source, 0, error=str(exc))
            continue
        _store(rt, items, texts, provider.name, source, sent)
        done += len(items)
    return done


def _store(
    rt: Runtime,
    items: list[tuple[int, str]],
    texts: list[str],
    provider: str,
    source: str,
    sent: int,
    error: str | None = None,
) -> None:
    now = rt.now()
    with transaction(rt.db) as session:
        for (response_id, _), text in zip(items, texts, strict=True):
            store.save(
                session,
                response_id=response_id,
                language=rt.settings.staff_language,
                source_language=source or None,
                text=text,
                provider=provider,
                status="refused" if error else "done",
                error=error[:300] if error else None,
                created_at=now,
            )
        if sent:
            store.add_usage(session, _month(now), sent)


@dataclass(frozen=True)
class Shown:
    """A translation as staff see it: the correction if there is one, and whose words."""

    text: str
    language: str
    provider: str
    corrected_by: str | None

    def as_json(self) -> dict[str, str]:
        """The API's `"translation"` object."""
        return {"text": self.text, "language": self.language, "provider": self.provider}


def shown(row: Translation | None) -> Shown | None:
    """What to show beside the original (nothing for a refused or erased one)."""
    if row is None or row.status != "done":
        return None
    text = row.corrected_text if row.corrected_text is not None else row.text
    if not text:
        return None
    provider = (
        f"corrected by {row.corrected_by}" if row.corrected_text is not None else row.provider
    )
    return Shown(text, row.language, provider, row.corrected_by)


def translations_for(rt: Runtime, ids: list[int]) -> dict[int, Shown]:
    """Shown translations for these responses."""
    with transaction(rt.db) as session:
        rows = store.for_responses(session, ids)
    return {i: s for i, row in rows.items() if (s := shown(row)) is not None}


def correct(rt: Runtime, response_id: int, text: str, actor: str) -> None:
    """A person corrects a machine translation; audited, and it wins from now on."""
    text = text.strip()
    if not text or len(text) > 4000:
        raise TranslationError("write the corrected translation (at most 4000 characters)")
    now = rt.now()
    with transaction(rt.db) as session:
        if not store.correct(session, response_id, text, actor, now):
            raise TranslationError("this response has no translation to correct")
        audit.record(
            session,
            actor=actor,
            action="translation.correct",
            at=now,
            target="response",
            target_id=response_id,
        )


# ---- outbound: drafting a follow-up's missing languages ---------------------------------------
def draft_action(rt: Runtime, action_id: int, actor: str, source: str | None = None) -> list[str]:
    """Machine-draft every agency language the follow-up lacks, from one written language.

    Synchronous: staff asked for it and wait for the page. Drafts are marked unreviewed.
    Returns the drafted languages.
    """
    provider = translator(rt)
    if provider is None:
        raise TranslationError("machine translation is off (TOWNLINE_TRANSLATE)")
    with transaction(rt.db) as session:
        action = actions.get(session, action_id)
        if action is None:
            raise TranslationError(f"there is no action {action_id}")
        if action.status != "draft":
            raise TranslationError("this action was already published")
        messages, drafts = dict(action.messages), dict(action.drafts or {})
    written = [lang for lang in rt.settings.languages if lang in messages and lang not in drafts]
    source = source if source in written else (written[0] if written else None)
    if source is None:
        raise TranslationError("write the message in one language first")
    missing = [lang for lang in rt.settings.languages if lang not in messages]
    left = budget_left(rt)
    if left is not None and len(messages[source]) * len(missing) > left:
        raise TranslationError("this month's translation budget is spent")
    sent_total = _draft_into(provider, messages, drafts, source, missing)
    drafted = [lang for lang in missing if lang in messages]
    now = rt.now()
    with transaction(rt.db) as session:
        actions.update_messages(session, action_id, messages=messages, drafts=drafts)
        if sent_total:
            store.add_usage(session, _month(now), sent_total)
        audit.record(
            session,
            actor=actor,
            action="action.draft_translations",
            at=now,
            target="action",
            target_id=action_id,
            detail={"source": source, "languages": drafted, "provider": provider.name},
        )
    return drafted


def _draft_into(
    provider: Translator,
    texts: dict[str, str],
    drafts: dict[str, Any],
    source: str,
    missing: list[str],
) -> int:
    """Machine-draft each missing language from the source text, in place, marked unreviewed;
    a language the provider cannot do is left out. Returns the characters sent."""
    sent_total = 0
    for lang in missing:
        try:
            [text], sent = _send(provider, [texts[source]], lang, source)
        except TranslationRefused as exc:
            log.info("provider cannot draft %s: %s", lang, exc)
            continue
        except TranslationUnavailable as exc:
            raise TranslationError(f"the translation service is not answering ({exc})") from exc
        texts[lang] = text
        drafts[lang] = {"source": source, "provider": provider.name, "reviewed": False}
        sent_total += sent
    return sent_total


def draft_texts(
    rt: Runtime, texts: dict[str, str], source: str | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Any text staff wrote in some languages ({lang: text}, e.g. a broadcast or a meeting's
    title), with the agency's other languages drafted by machine; and the drafts' state."""
    provider = translator(rt)
    if provider is None:
        raise TranslationError("machine translation is off (TOWNLINE_TRANSLATE)")
    written = [lang for lang in rt.settings.languages if texts.get(lang, "").strip()]
    source = source if source in written else (written[0] if written else None)
    if source is None:
        return dict(texts), {}
    missing = [lang for lang in rt.settings.languages if lang not in written]
    left = budget_left(rt)
    if left is not None and len(texts[source]) * len(missing) > left:
        raise TranslationError("this month's translation budget is spent")
    out: dict[str, str] = dict(texts)
    drafts: dict[str, Any] = {}
    sent_total = _draft_into(provider, out, drafts, source, missing)
    if sent_total:
        with transaction(rt.db) as session:
            store.add_usage(session, _month(rt.now()), sent_total)
    return out, drafts


def with_notes(rt: Runtime, texts: dict[str, str], drafts: dict[str, Any]) -> dict[str, str]:
    """Unreviewed machine drafts, each ending with a translated "(machine translation)"."""
    return {
        lang: f"{text}\n{rt.catalog.text('machine_translation_note', lang)}"
        if lang in drafts and not drafts[lang].get("reviewed") and lang in rt.catalog.languages
        else text
        for lang, text in texts.items()
    }


def unreviewed(action: Action) -> list[str]:
    """Drafted languages nobody has reviewed yet."""
    return sorted(lang for lang, d in (action.drafts or {}).items() if not d.get("reviewed"))


def mark_reviewed(drafts: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    """The drafts with these languages marked reviewed by a person."""
    out = {lang: dict(d) for lang, d in drafts.items()}
    for lang in languages:
        if lang in out:
            out[lang]["reviewed"] = True
    return out
