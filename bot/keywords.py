"""Recognise the conversation's own words as whole messages: HELP, MENU, yes, no, a language.

Matching uses the same normalised copy as triage (flows.phrases): case, accents, width,
punctuation and Traditional or Simplified Chinese aside. Requests (HELP, MENU, a language,
TELEGRAM, a flow's keyword) may also carry fillers such as "please"; answers (yes, no, skip)
may not, since "please" alone is an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flows.catalog import Catalog, normalise
from flows.phrases import fold, prepare
from flows.triage import Triage

# Groups that are requests: "menu please" and "español por favor" are still the request.
RELAXED_GROUPS = frozenset({"help", "menu", "language", "telegram", "privacy", "erase"})


@dataclass(frozen=True)
class Match:
    """A keyword hit, with the language its word belongs to (None for language-neutral words)."""

    group: str
    language: str | None


def key(text: str) -> str:
    """The form a whole message is looked up by; punctuation-only words ("-") keep their shape."""
    return " ".join(fold(prepare(text)).split()) or normalise(text)


class Keywords:
    """An index over a catalog's keyword lists, built once per process."""

    def __init__(self, catalog: Catalog) -> None:
        self._triage: Triage = catalog.triage
        self._cache: dict[str, tuple[str, ...]] = {}
        self._exact: dict[str, dict[str, str | None]] = {}
        for group, by_lang in catalog.keywords.items():
            self._exact[group] = self._invert(by_lang)
        self._exact["language"] = self._invert(catalog.language_words)
        for flow in catalog.flows:
            self._exact[f"flow:{flow.id}"] = self._invert(flow.keywords)

    @staticmethod
    def _invert(by_lang: Mapping[str, tuple[str, ...]]) -> dict[str, str | None]:
        """word -> language; a word two languages share keeps the first ('any' is neutral)."""
        out: dict[str, str | None] = {}
        for lang, words in by_lang.items():
            for word in words:
                out.setdefault(key(word), None if lang == "any" else lang)
        return out

    def _forms(self, group: str, text: str) -> tuple[str, ...]:
        if group in RELAXED_GROUPS or group.startswith("flow:"):
            return self._relaxed(text)
        return (key(text),)

    def _relaxed(self, text: str) -> tuple[str, ...]:
        """The message and its short forms ("menu please" -> "menu"), worked out once."""
        if (cached := self._cache.get(text)) is not None:
            return cached
        forms = (key(text), *(f.folded for f in self._triage.short_forms(self._triage.text(text))))
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[text] = forms
        return forms

    def exact(self, group: str, text: str) -> Match | None:
        """The message is, as a whole, one of the group's words."""
        table = self._exact.get(group, {})
        for form in self._forms(group, text):
            if form in table:
                return Match(group, table[form])
        return None

    def language_choice(self, text: str) -> str | None:
        """A language named on its own ("ESPAÑOL", "en español", "说中文") is an explicit choice."""
        hit = self.exact("language", text)
        return hit.language if hit else None

    def flow_keyword(self, text: str) -> tuple[str, str | None] | None:
        """A flow's own keyword (e.g. MEETINGS) starts that flow directly."""
        for group in self._exact:
            if group.startswith("flow:") and (hit := self.exact(group, text)):
                return group.removeprefix("flow:"), hit.language
        return None
