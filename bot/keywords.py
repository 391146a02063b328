"""Recognise the words that act before any flow: STOP, START, HELP, MENU, languages, emergencies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flows.catalog import Catalog, normalise

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class Match:
    """A keyword hit, with the language its word belongs to (None for language-neutral words)."""

    group: str
    language: str | None


def _phrase_pattern(phrase: str) -> str:
    """Whole words for alphabetic scripts; plain substrings for CJK, which has no spaces."""
    escaped = re.escape(phrase)
    if _CJK.search(phrase):
        return escaped
    return rf"(?<!\w){escaped}(?!\w)"


class Keywords:
    """An index over a catalog's keyword lists, compiled once per process."""

    def __init__(self, catalog: Catalog) -> None:
        self._exact: dict[str, dict[str, str | None]] = {}
        for group, by_lang in catalog.keywords.items():
            self._exact[group] = self._invert(by_lang)
        self._exact["language"] = {
            word: lang for lang, words in catalog.language_words.items() for word in words
        }
        for flow in catalog.flows:
            self._exact[f"flow:{flow.id}"] = self._invert(flow.keywords)
        self._search = {
            "emergency": self._compile(catalog.emergency),
            "sensitive": self._compile(catalog.sensitive),
        }

    @staticmethod
    def _invert(by_lang: Mapping[str, tuple[str, ...]]) -> dict[str, str | None]:
        """word -> language; a word two languages share keeps the first ('any' is neutral)."""
        out: dict[str, str | None] = {}
        for lang, words in by_lang.items():
            for word in words:
                out.setdefault(word, None if lang == "any" else lang)
        return out

    @staticmethod
    def _compile(by_lang: Mapping[str, tuple[str, ...]]) -> list[tuple[str, re.Pattern[str]]]:
        return [
            (lang, re.compile("|".join(_phrase_pattern(w) for w in words)))
            for lang, words in by_lang.items()
            if words
        ]

    def exact(self, group: str, text: str) -> Match | None:
        """The message is, as a whole, one of the group's words."""
        norm = normalise(text)
        table = self._exact.get(group, {})
        if norm in table:
            return Match(group, table[norm])
        return None

    def language_choice(self, text: str) -> str | None:
        """A language named on its own ("ESPAÑOL", "中文") is an explicit choice."""
        hit = self.exact("language", text)
        return hit.language if hit else None

    def flow_keyword(self, text: str) -> tuple[str, str | None] | None:
        """A flow's own keyword (e.g. MEETINGS) starts that flow directly."""
        for group in self._exact:
            if group.startswith("flow:") and (hit := self.exact(group, text)):
                return group.removeprefix("flow:"), hit.language
        return None

    def contains(self, group: str, text: str) -> Match | None:
        """Any of the group's phrases appears in the message (emergency, sensitive)."""
        folded = normalise(text)
        for lang, pattern in self._search[group]:
            if pattern.search(folded):
                return Match(group, None if lang == "any" else lang)
        return None
