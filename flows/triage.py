"""Load flows/triage.yaml into matchers, so a phrase the notation can't read fails at start-up.

The classes here are the ones that act before any flow (danger, crisis, violence, opt-out and
opt-in). This module only finds which classes' phrases a message holds, and in which language;
what each class makes the line do is the engine's business.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flows.anchors import Anchor, anchors
from flows.matching import Patterns, Phrase, Text
from flows.phrases import PhraseError, compile_phrase, prepare

CLASSES = ("emergency", "crisis", "violence", "sensitive", "stop", "start")
LIST_KINDS = ("anywhere", "whole", "unless", "after_stop")
ANY = "any"
MAX_SPELLED = 12  # "s t o p": single letters are joined for short clauses only
MAX_WHOLE_WORDS = 12  # a clause of more words is never a whole-message phrase
_REPEATED = re.compile(r"^(.+?)(?:\s*\1)+$")
_LATIN_WORD = re.compile(r"^[a-z]{3,12}$")


@dataclass(frozen=True)
class Triage:
    """The compiled classes of triage.yaml, ready to read any message."""

    emoji: Mapping[str, str]
    fillers: Patterns
    anywhere: Mapping[str, Patterns]
    whole: Mapping[str, Patterns]
    unless: Mapping[str, Patterns]
    after_stop: Mapping[str, Patterns] = field(default_factory=dict)
    marks_matter: frozenset[str] = frozenset()
    _short: dict[Text, tuple[Text, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def empty(cls) -> Triage:
        """No classes at all: what a broken triage.yaml yields beside its problems."""
        return cls(emoji={}, fillers=Patterns(), anywhere={}, whole={}, unless={})

    def text(self, message: str) -> Text:
        """The normalised copy of a message that every phrase is matched against."""
        return _text(message, tuple(self.emoji.items()))

    def classes(self, message: str) -> dict[str, str | None]:
        """Each class the message belongs to, with the language of the phrase that showed it."""
        text = self.text(message)
        found: dict[str, str | None] = {}
        for name in CLASSES:
            language = self._anywhere(name, text)
            if language is None:
                language = self._whole(name, text)
            if language is not None:
                found[name] = None if language == ANY else language
        return found

    def explain(self, message: str) -> list[str]:
        """Which phrase put the message in each class, and which phrases hid words from one."""
        text = self.text(message)
        lines: list[str] = []
        for name in CLASSES:
            if (masks := self.unless.get(name)) is not None:
                for language, phrase, words in masks.which(text):
                    lines.append(f"{name}: unless {language} {phrase!r} hid {words!r}")
                text_for = text.blank([hit.span() for _, hit in masks.search(text)])
            else:
                text_for = text
            if (anywhere := self.anywhere.get(name)) is not None:
                for language, phrase, words in anywhere.which(text_for):
                    lines.append(f"{name}: {language} {phrase!r} matched {words!r}")
            if (whole := self.whole.get(name)) is not None:
                for clause in [text.tidy(), *text.clauses()]:
                    for form in self.short_forms(clause):
                        for language, phrase, words in whole.which(form, anchored=True):
                            lines.append(f"{name}: whole {language} {phrase!r} is {words!r}")
        return list(dict.fromkeys(lines))

    def resumes(self, message: str) -> bool:
        """Whether a resident who has stopped asks to start again with this whole message."""
        patterns = self.after_stop.get("start")
        if patterns is None:
            return False
        return any(patterns.fullmatch(form) for form in self.short_forms(self.text(message)))

    def whole_message(self, name: str, message: str) -> bool:
        """Whether the message, as a whole and not one clause of it, is a phrase of the class."""
        return self._whole_text(name, self.text(message).tidy()) is not None

    def _masked(self, name: str, text: Text) -> Text:
        """The text with what the class's `unless` phrases cover turned to spaces."""
        masks = self.unless.get(name)
        if masks is None:
            return text
        return text.blank([hit.span() for _, hit in masks.search(text)])

    def _anywhere(self, name: str, text: Text) -> str | None:
        patterns = self.anywhere.get(name)
        if patterns is None:
            return None
        return next((language for language, _ in patterns.search(self._masked(name, text))), None)

    def _whole(self, name: str, text: Text) -> str | None:
        if name not in self.whole:
            return None
        text = self._masked(name, text)
        for clause in [text.tidy(), *text.clauses()]:
            if clause.folded.count(" ") >= MAX_WHOLE_WORDS:
                continue  # a clause this long is not a short request
            if (language := self._whole_text(name, clause)) is not None:
                return language
        return None

    def _whole_text(self, name: str, text: Text) -> str | None:
        patterns = self.whole.get(name)
        if patterns is None:
            return None
        for candidate in self.short_forms(text):
            if (language := patterns.fullmatch(candidate)) is not None:
                return language
        return None

    def short_forms(self, text: Text) -> tuple[Text, ...]:
        """A short request with its fillers, repeats and spelling slips set aside (cached)."""
        if (cached := self._short.get(text)) is not None:
            return cached
        forms = tuple(dict.fromkeys(self._short_forms(text)))
        if len(self._short) > 4096:
            self._short.clear()
        self._short[text] = forms
        return forms

    def _short_forms(self, text: Text) -> Iterator[Text]:
        """A short request with its fillers, repeats and spelling slips set aside.

        "stop please" -> "stop"; "STOP STOP" and "停停停" -> one; "s t o p" -> "stop"; and a
        word with two neighbouring letters swapped ("stpo") is tried both ways round.
        """
        text = text.tidy()
        yield text
        bare = text.blank([hit.span() for _, hit in self.fillers.search(text)]).tidy()
        if not bare.folded:
            return
        if bare != text:
            yield bare
        if (repeated := _REPEATED.match(bare.folded)) is not None:
            end = len(repeated.group(1))
            bare = Text(bare.marked[:end], bare.folded[:end]).tidy()
            yield bare
        words = bare.folded.split(" ")
        if 1 < len(words) <= MAX_SPELLED and all(len(w) == 1 for w in words):
            bare = Text(bare.marked.replace(" ", ""), bare.folded.replace(" ", ""))
            yield bare
        if _LATIN_WORD.match(bare.folded):
            for i in range(len(bare.folded) - 1):
                if bare.folded[i] != bare.folded[i + 1]:
                    swapped = _swap(bare.folded, i)
                    yield Text(_swap(bare.marked, i), swapped)


@functools.lru_cache(maxsize=1024)
def _text(message: str, emoji: tuple[tuple[str, str], ...]) -> Text:
    """Prepared once per message: the engine, keywords and triage all ask for it."""
    return Text.of(prepare(message, dict(emoji)))


def _swap(word: str, i: int) -> str:
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


class _Loader:
    """Compiles every list, collecting each problem with where it is."""

    def __init__(self, languages: Sequence[str], marks_matter: frozenset[str]) -> None:
        self.languages = tuple(languages)
        self.marks_matter = marks_matter
        self.problems: list[str] = []

    def patterns(
        self, where: str, raw: Any, anchored: bool = False, greedy: bool = False
    ) -> Patterns:
        if raw is None:
            return Patterns()
        if not isinstance(raw, dict):
            self.problems.append(f"{where}: must be a mapping of language to a list of phrases")
            return Patterns()
        phrases: list[Phrase] = []
        for language, items in raw.items():
            if language != ANY and language not in self.languages:
                continue
            if not isinstance(items, list):
                self.problems.append(f"{where} {language}: must be a list of phrases")
                continue
            marked = language in self.marks_matter
            for item in items:
                try:
                    pattern, found = _compiled(str(item), marked, greedy, anchored)
                except (PhraseError, re.error) as exc:
                    self.problems.append(f"{where} {language}: {exc}")
                    continue
                phrases.append(Phrase(language, str(item), pattern, marked, found))
        return Patterns(phrases)


@functools.lru_cache(maxsize=65536)
def _compiled(
    phrase: str, marked: bool, greedy: bool, anchored: bool
) -> tuple[re.Pattern[str], frozenset[Anchor] | None]:
    """One phrase compiled once per process: every runtime (each test builds one) loads the
    topic names again, and ten languages' names outgrow the re module's own cache."""
    regex = compile_phrase(phrase, marks_matter=marked, greedy=greedy)
    if anchored:
        regex = f"(?:{regex})"
    return re.compile(regex), anchors(phrase)


def load_triage(data: Mapping[str, Any], languages: Sequence[str]) -> tuple[Triage, list[str]]:
    """Compile triage.yaml's content; the problems found, each naming its place, come back too."""
    marks = data.get("marks_matter") or []
    problems: list[str] = []
    if not isinstance(marks, list):
        problems.append("triage.yaml marks_matter: must be a list of languages")
        marks = []
    loader = _Loader(languages, frozenset(str(m) for m in marks))
    emoji = data.get("emoji") or {}
    if not isinstance(emoji, dict) or not all(isinstance(v, str) for v in emoji.values()):
        problems.append("triage.yaml emoji: must map each emoji to words")
        emoji = {}
    classes = data.get("classes") or {}
    if not isinstance(classes, dict):
        problems.append("triage.yaml classes: must be a mapping")
        classes = {}
    for name in classes:
        if name not in CLASSES:
            problems.append(f"triage.yaml classes: unknown class {name!r} (known: {CLASSES})")
    lists: dict[str, dict[str, Patterns]] = {kind: {} for kind in LIST_KINDS}
    for name in CLASSES:
        spec = classes.get(name) or {}
        if not isinstance(spec, dict):
            problems.append(f"triage.yaml {name}: must be a mapping")
            continue
        for kind in LIST_KINDS:
            if spec.get(kind) is not None:
                where = f"triage.yaml {name}.{kind}"
                anchored = kind in ("whole", "after_stop")
                lists[kind][name] = loader.patterns(
                    where, spec[kind], anchored=anchored, greedy=kind == "unless"
                )
        if not spec.get("anywhere") and not spec.get("whole"):
            problems.append(f"triage.yaml {name}: needs phrases in 'anywhere' or 'whole'")
    fillers = loader.patterns("triage.yaml fillers", data.get("fillers"))
    triage = Triage(
        emoji={str(k): v for k, v in emoji.items()},
        fillers=fillers,
        anywhere=lists["anywhere"],
        whole=lists["whole"],
        unless=lists["unless"],
        after_stop=lists["after_stop"],
        marks_matter=loader.marks_matter,
    )
    return triage, problems + loader.problems


def compile_names(
    where: str, raw: Mapping[str, Sequence[str]], languages: Sequence[str], triage: Triage
) -> tuple[Patterns, list[str]]:
    """Phrases that name a topic or a choice, compiled like triage phrases; with problems."""
    loader = _Loader(languages, triage.marks_matter)
    patterns = loader.patterns(where, {lang: list(p) for lang, p in raw.items()})
    return patterns, loader.problems


def names_in(patterns: Patterns, text: Text) -> bool:
    """Whether any of the phrases appears in the text."""
    return next(patterns.search(text), None) is not None
