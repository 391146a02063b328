"""A message as phrases see it, and lists of compiled phrases indexed by their anchors."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from flows.anchors import Anchor, anchor_words
from flows.phrases import fold, is_wide

_PREFIX_KEY = 3  # prefix anchors are looked up by up to this many first letters


@dataclass(frozen=True)
class Text:
    """A message as phrases see it: marks kept (`marked`) and folded, aligned char for char."""

    marked: str
    folded: str

    @property
    def words(self) -> frozenset[str]:
        """Its words as anchors see them, worked out when first asked for."""
        cached: frozenset[str] | None = self.__dict__.get("_words")
        if cached is None:
            cached = anchor_words(self.folded)
            object.__setattr__(self, "_words", cached)
        return cached

    @classmethod
    def of(cls, prepared: str) -> Text:
        return cls(prepared, fold(prepared))

    def blank(self, spans: Sequence[tuple[int, int]]) -> Text:
        """The same text with these spans turned to spaces in both forms."""
        if not spans:
            return self
        marked, folded = list(self.marked), list(self.folded)
        for start, end in spans:
            marked[start:end] = " " * (end - start)
            folded[start:end] = " " * (end - start)
        return Text("".join(marked), "".join(folded))

    def tidy(self) -> Text:
        """Spaces collapsed the same way in both forms."""
        return Text(" ".join(self.marked.split()), " ".join(self.folded.split()))

    def clauses(self) -> list[Text]:
        """The text cut at sentence ends (kept by `prepare` as line breaks).

        Chinese writers often put a space where others put a full stop ("别发了 STOP"), so a
        clause written in Han characters is also cut at its spaces.
        """
        pairs = zip(self.marked.split("\n"), self.folded.split("\n"), strict=True)
        out: list[Text] = []
        for marked, folded in pairs:
            if not marked.strip():
                continue
            out.append(Text(marked, folded).tidy())
            if is_wide(marked) and " " in marked.strip():
                parts = zip(marked.split(" "), folded.split(" "), strict=True)
                out.extend(Text(m, f).tidy() for m, f in parts if m.strip())
        return out


@dataclass(frozen=True)
class Phrase:
    """One phrase as written, compiled, with the anchors that let a message skip it."""

    language: str
    text: str
    pattern: re.Pattern[str]
    marked: bool  # matched against the text with its marks (marks_matter languages)
    anchors: frozenset[Anchor] | None  # None: always tried

    def form(self, text: Text) -> str:
        return text.marked if self.marked else text.folded


class Patterns:
    """One list of phrases, indexed by their anchors.

    A message is tried only against the phrases whose anchor words it contains: a few dozen
    regular expressions per message instead of a thousand, which keeps reading a message well
    under a millisecond.
    """

    def __init__(self, phrases: Sequence[Phrase] = ()) -> None:
        self.phrases = tuple(phrases)
        self._always: list[int] = []
        self._words: dict[str, list[int]] = {}
        self._prefixes: dict[str, list[tuple[str, int]]] = {}  # by their first letters
        self._wide: list[tuple[str, int]] = []
        for index, phrase in enumerate(self.phrases):
            if phrase.anchors is None:
                self._always.append(index)
                continue
            for kind, value in phrase.anchors:
                if kind == "word":
                    self._words.setdefault(value, []).append(index)
                elif kind == "prefix":
                    self._prefixes.setdefault(value[:_PREFIX_KEY], []).append((value, index))
                else:
                    self._wide.append((value, index))

    def candidates(self, text: Text) -> list[Phrase]:
        """The phrases this text could match, in their written order."""
        chosen = set(self._always)
        for word in text.words:
            chosen.update(self._words.get(word, ()))
        if self._prefixes:
            for word in text.words:
                for length in range(1, _PREFIX_KEY + 1):
                    for prefix, index in self._prefixes.get(word[:length], ()):
                        if len(prefix) >= length and word.startswith(prefix):
                            chosen.add(index)
        for part, index in self._wide:
            if part in text.folded:
                chosen.add(index)
        return [self.phrases[i] for i in sorted(chosen)]

    def search(self, text: Text) -> Iterator[tuple[str, re.Match[str]]]:
        """(language, match) for every match of every phrase the text could hold."""
        for phrase in self.candidates(text):
            for hit in phrase.pattern.finditer(phrase.form(text)):
                yield phrase.language, hit

    def fullmatch(self, text: Text) -> str | None:
        """The language of the first phrase that is the whole text."""
        for phrase in self.candidates(text):
            if phrase.pattern.fullmatch(phrase.form(text)):
                return phrase.language
        return None

    def which(self, text: Text, anchored: bool = False) -> Iterator[tuple[str, str, str]]:
        """(language, phrase, matched words) for every phrase that matches."""
        for phrase in self.candidates(text):
            form = phrase.form(text)
            hit = phrase.pattern.fullmatch(form) if anchored else phrase.pattern.search(form)
            if hit is not None:
                yield phrase.language, phrase.text, hit.group(0)
