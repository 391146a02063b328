"""Choose the language to answer a resident in: explicit choice, memory, hint, script, detector.

Pure logic: the only I/O is reading langdetect's bundled profiles, once per process.

Thresholds were chosen with `python bench/langid.py --sweep` on shared/data/langid/samples.tsv
(web text, 200 per language and kind; "first-N-words" are sentence prefixes, nearer SMS length),
languages en,es,vi,zh, share accepted / precision of accepted for the configured languages:

* MIN_WORDS = 3: letting two-word texts reach the detector gives word pairs 95% / 0.958 (en and
  es alone about 0.92), and single words are worse (yes->tr, hola->cy). With 3: first-3-words
  89% / 0.983, first-5-words 98% / 0.990, sentences 99.8% / 0.999. With 4, 3-word texts are lost.
* MIN_PROBABILITY = 0.9: langdetect says ~0.9999 right or wrong; 0.9, 0.99 and 0.999 accept the
  same texts, while 0.8 and 0.5 drop first-3-words precision to 0.976 and 0.968.
* MIN_LETTERS = 8: precision is flat (0.981-0.984) from 0 to 20 letters, so this only keeps out
  junk like "ok ok ok"; 8 costs 3 points of first-3-words acceptance, 12 would cost 24.
* VI_WORD_SHARE = 0.2: no sample in another language has a Vietnamese-only letter; the lowest
  share in a Vietnamese sentence that has one is 0.26.
* Limitation: the default detector knows only the configured languages, so Latin-script text in
  another language is forced into the nearest one: 560 of 1400 unconfigured sentences accepted
  (pt->es 189/200, tl 143, fr 122, so 105). No threshold fixes it. rivals=langdetect_languages()
  does: 4/1400, configured sentences 98% / 1.000, first-3-words 70% / 0.988, at ~1.4 ms per
  sentence instead of ~0.5 ms (bare langdetect with all profiles: ~1.5-1.8 ms).
"""

from __future__ import annotations

import functools
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import opencc
from langdetect import PROFILES_DIRECTORY, DetectorFactory, LangDetectException
from langdetect.utils.lang_profile import LangProfile

MIN_WORDS = 3
"""Fewest words before the statistical detector is consulted; single words and pairs mislead it."""
MIN_LETTERS = 8
"""Fewest letters before the detector is consulted, so that "ok ty 2 u" does not count as text."""
MIN_PROBABILITY = 0.9
"""Detector probability needed to act on its answer; above this langdetect's scores don't help."""
VI_WORD_SHARE = 0.2
"""Share of lowercase words with Vietnamese-only letters that marks a text as Vietnamese."""
MAX_TEXT_CHARS = 1000
"""Only this much of a message is examined; the language is settled long before, and time is not."""
CJK_WEIGHT = 3
"""A Han, kana or Hangul character carries about as much as three alphabetic letters."""

RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur", "ps", "yi", "dv", "ckb", "syr"})
"""Languages written right to left: pages in them are laid out from the right."""

SOURCES = ("explicit", "stored", "hint", "script", "detected", "default")

# Our codes that langdetect spells differently.
_LANGDETECT_ALIASES = {
    "zh": "zh-cn",
    "zh-hant": "zh-tw",
    "zh-hans": "zh-cn",
    "fil": "tl",
    "nb": "no",
}
# Chinese tags that mean Traditional characters.
_TRADITIONAL_TAGS = frozenset({"zh-hant", "zh-tw", "zh-hk", "zh-mo"})

# First word of a letter's Unicode name -> languages written mainly in that script.
_SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "CJK": ("zh",),
    "KANA": ("ja",),
    "HANGUL": ("ko",),
    "ARABIC": ("ar", "fa", "ur", "ps"),
    "CYRILLIC": ("ru", "uk", "bg", "mk", "sr", "be", "kk", "ky", "mn", "tg"),
    "ETHIOPIC": ("am", "ti"),
    "GREEK": ("el",),
    "HEBREW": ("he", "yi"),
    "THAI": ("th",),
    "LAO": ("lo",),
    "KHMER": ("km",),
    "MYANMAR": ("my",),
    "DEVANAGARI": ("hi", "mr", "ne"),
    "BENGALI": ("bn", "as"),
    "GURMUKHI": ("pa",),
    "GUJARATI": ("gu",),
    "ORIYA": ("or",),
    "TAMIL": ("ta",),
    "TELUGU": ("te",),
    "KANNADA": ("kn",),
    "MALAYALAM": ("ml",),
    "SINHALA": ("si",),
    "ARMENIAN": ("hy",),
    "GEORGIAN": ("ka",),
    "TIBETAN": ("bo",),
    "THAANA": ("dv",),
}
_WIDE_SCRIPTS = frozenset({"CJK", "KANA", "HANGUL"})  # one character is about a syllable or word

# Vietnamese letters no other common Latin-script language uses: ơ ư ĩ ũ and the dotted/hooked
# vowels of Latin Extended Additional (U+1EA0-U+1EF9). Á é í ó ú ñ ü â ê ô ã õ à è are shared.
_VI_LETTERS = frozenset("ơưĩũƠƯĨŨ" + "".join(chr(c) for c in range(0x1EA0, 0x1EFA)))
# Letters that are Vietnamese-only unless one of these languages is configured too.
_VI_SHARED_LETTERS = {
    "ă": ("ro",),
    "Ă": ("ro",),
    "đ": ("hr", "sr", "bs"),
    "Đ": ("hr", "sr", "bs"),
    "ỳ": ("cy",),
    "Ỳ": ("cy",),
}

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\S+|\S+\.(?:com|org|net|gov|us)\b\S*", re.I)
_JOINERS = frozenset("'’-")


class Detector(Protocol):
    """A statistical language identifier, so that decide_language can be tested and swapped."""

    def detect(self, text: str) -> tuple[str, float] | None:
        """Best configured language for text and its probability, or None if unsure."""
        ...


@functools.cache
def langdetect_languages() -> tuple[str, ...]:
    """Every profile langdetect ships (its spelling: "zh-cn"), e.g. to pass as rivals."""
    names = os.listdir(PROFILES_DIRECTORY)
    return tuple(sorted(name for name in names if not name.startswith(".")))


@functools.cache
def _profile(code: str) -> LangProfile:
    """Read one bundled langdetect profile once per process; they are large and never change."""
    data = json.loads((Path(PROFILES_DIRECTORY) / code).read_text(encoding="utf-8"))
    return LangProfile(**data)


@functools.cache
def _factory(codes: tuple[str, ...]) -> DetectorFactory:
    """A seeded factory holding only these profiles, shared by detectors of the same set."""
    factory = DetectorFactory()
    factory.set_seed(0)  # instance attribute: langdetect's global factory and seed stay untouched
    for index, code in enumerate(codes):
        factory.add_profile(_profile(code), index, len(codes))
    return factory


def _langdetect_code(code: str) -> str | None:
    """langdetect's name for one of our language codes, or None if it has no profile for it."""
    code = _normalize(code)
    for candidate in (_LANGDETECT_ALIASES.get(code, code), _LANGDETECT_ALIASES.get(_primary(code))):
        if candidate in langdetect_languages():
            return candidate
    return None


class LangdetectDetector:
    """langdetect limited to the agency's languages and seeded, so answers are repeatable."""

    def __init__(self, languages: Sequence[str], *, rivals: Sequence[str] = ()) -> None:
        """Load the configured languages' profiles, plus optional rivals that only veto.

        Rivals are languages the agency does not offer: text closest to one of them yields None
        instead of being forced into the nearest configured language (Portuguese into Spanish).
        """
        self._labels: dict[str, str | None] = {}
        for language in languages:
            code = _langdetect_code(language)
            if code is not None:
                self._labels.setdefault(code, language)
        self.languages = tuple(label for label in self._labels.values() if label is not None)
        for rival in rivals:
            code = _langdetect_code(rival)
            if code is not None and code not in self._labels:
                # A rival such as zh-tw is still our zh when zh is configured.
                self._labels[code] = configured_language(code, self.languages)
        self._factory = _factory(tuple(self._labels)) if self.languages else None

    def detect(self, text: str) -> tuple[str, float] | None:
        """Best configured language and its probability, or None if nothing fits."""
        if self._factory is None:
            return None
        detector = self._factory.create()
        try:
            detector.append(text[:MAX_TEXT_CHARS])
            ranked = detector.get_probabilities()
        except LangDetectException:  # no usable character n-grams, e.g. Ethiopic or emoji only
            return None
        totals: dict[str | None, float] = {}
        for item in ranked:
            label = self._labels[item.lang]
            totals[label] = totals.get(label, 0.0) + float(item.prob)
        if not totals:
            return None
        label, probability = max(totals.items(), key=lambda pair: pair[1])
        if label is None:
            return None
        return label, probability


MARKER_SHARE = 0.2
"""Share of a text's words that must be marker words of one language for it to be taken as it."""
MIN_MARKERS = 2
"""Fewest marker words: one "nou" is a coincidence, two in three words are a language."""


class MarkedDetector:
    """Marker words first, for languages the detector has no profile for; then the detector.

    langdetect knows no Haitian Creole: left to it, Kreyòl is forced into Tagalog or English.
    Kreyòl's everyday words (mwen, nou, tanpri, kounye a) are its own, so a text where enough of
    the words are such markers is Kreyòl. The markers are data (flows/keywords.yaml `markers`).
    """

    def __init__(self, markers: Mapping[str, Iterable[str]], fallback: Detector) -> None:
        self._markers = {
            language: frozenset(_fold_word(word) for word in words)
            for language, words in markers.items()
        }
        self._fallback = fallback

    def detect(self, text: str) -> tuple[str, float] | None:
        """The marked language when the words show it, else what the detector says."""
        words = [_fold_word(word) for word in _words(text)]
        best: tuple[int, str] | None = None
        for language, markers in self._markers.items():
            hits = sum(word in markers for word in words)
            if hits >= MIN_MARKERS and hits >= MARKER_SHARE * len(words):
                best = max(best or (hits, language), (hits, language))
        if best is not None:
            return best[1], 1.0
        return self._fallback.detect(text)


def _fold_word(word: str) -> str:
    """A word lowercased without accents: residents type "kreyol" as often as "kreyòl"."""
    decomposed = unicodedata.normalize("NFD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _normalize(code: str) -> str:
    """Compare language tags case- and separator-insensitively ("es_MX" is "es-mx")."""
    return code.strip().lower().replace("_", "-")


def _primary(code: str) -> str:
    """The primary subtag of a language tag ("es" of "es-mx")."""
    return _normalize(code).split("-", 1)[0]


def same_language(first: str, second: str) -> bool:
    """Two scripts or regions of one language (zh and zh-Hant, es and es-MX)."""
    return _primary(first) == _primary(second)


def text_direction(code: str) -> str:
    """The HTML dir of a language: "rtl" for Arabic and its neighbours, else "ltr"."""
    return "rtl" if _primary(code) in RIGHT_TO_LEFT else "ltr"


def configured_language(code: str | None, languages: Sequence[str]) -> str | None:
    """The configured language a tag such as "es-MX" or "ES" stands for, or None if not offered."""
    if not code or not code.strip():
        return None
    wanted = _normalize(code)
    for language in languages:
        if _normalize(language) == wanted:
            return language
    matches = [language for language in languages if _primary(language) == _primary(wanted)]
    return matches[0] if len(matches) == 1 else None


def _script_of(char: str) -> str | None:
    """The writing system of a letter: a key of _SCRIPT_LANGUAGES, "LATIN", or None."""
    script = unicodedata.name(char, "").split(" ", 1)[0]
    if script in ("HIRAGANA", "KATAKANA"):
        return "KANA"
    if script == "LATIN" or script in _SCRIPT_LANGUAGES:
        return script
    return None


def _is_letter(char: str) -> bool:
    """Whether a character belongs to a word (letters and the combining marks on them)."""
    return unicodedata.category(char)[0] in "LM"


def _prepare(text: str) -> str:
    """Compose accents (so ệ is one letter) and keep only the part worth examining."""
    return unicodedata.normalize("NFC", text[: MAX_TEXT_CHARS * 2])[:MAX_TEXT_CHARS]


def _words(text: str) -> list[str]:
    """Words without URLs, digits, emoji or punctuation; each Han or kana character is a word."""
    text = _URL_RE.sub(" ", _prepare(text))
    words: list[str] = []
    current: list[str] = []
    for index, char in enumerate(text):
        letter = _is_letter(char)
        if letter and _script_of(char) in ("CJK", "KANA"):  # written without spaces
            if current:
                words.append("".join(current))
                current = []
            words.append(char)
        elif letter or (
            char in _JOINERS and current and _is_letter(text[index + 1 : index + 2] or " ")
        ):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _weight(word: str) -> int:
    """Letters in a word, a Han/kana/Hangul character counting as CJK_WEIGHT letters."""
    return sum(
        (CJK_WEIGHT if _script_of(char) in _WIDE_SCRIPTS else 1) for char in word if char.isalpha()
    )


def enough_text(text: str, min_words: int = MIN_WORDS, min_letters: int = MIN_LETTERS) -> bool:
    """Whether text has enough words and letters for the statistical detector to be trusted."""
    return _enough(_words(text), min_words, min_letters)


def _enough(words: Sequence[str], min_words: int, min_letters: int) -> bool:
    """enough_text on words already extracted."""
    return len(words) >= min_words and sum(map(_weight, words)) >= min_letters


def _dominant_script(words: Sequence[str]) -> str | None:
    """The script carrying most of the letters (Han with any kana counts as Japanese)."""
    weights: dict[str, int] = {}
    for word in words:
        for char in word:
            script = _script_of(char)
            if script is not None:
                weights[script] = weights.get(script, 0) + (
                    CJK_WEIGHT if script in _WIDE_SCRIPTS else 1
                )
    if "KANA" in weights:
        weights["KANA"] += weights.pop("CJK", 0)
    return max(weights, key=lambda script: weights[script]) if weights else None


def _is_vietnamese_word(word: str, languages: Sequence[str]) -> bool:
    """Whether a word has a letter that, among the configured languages, only Vietnamese uses."""
    configured = {_primary(language) for language in languages}
    for char in word:
        if char in _VI_LETTERS:
            return True
        sharers = _VI_SHARED_LETTERS.get(char)
        if sharers is not None and not configured.intersection(sharers):
            return True
    return False


def _script_language(words: Sequence[str], languages: Sequence[str]) -> str | None:
    """script_language on words already extracted."""
    script = _dominant_script(words)
    if script is None:
        return None
    if script == "LATIN":
        vietnamese = configured_language("vi", languages)
        if vietnamese is None:
            return None
        latin = [word for word in words if _script_of(word[0]) == "LATIN"]
        # Capitalised words are often names ("My name is Nguyễn"): judge by the others if any.
        judged = [word for word in latin if not word[0].isupper()] or latin
        marked = sum(_is_vietnamese_word(word, languages) for word in judged)
        return vietnamese if marked and marked >= VI_WORD_SHARE * len(judged) else None
    candidates = {_primary(language) for language in languages} & set(_SCRIPT_LANGUAGES[script])
    if len(candidates) != 1:
        return None
    found = candidates.pop()
    if found == "zh":
        return _chinese(words, languages)
    return configured_language(found, languages)


@functools.cache
def _opencc(config: str) -> opencc.OpenCC:
    """One converter per direction per process: each loads its dictionaries."""
    return opencc.OpenCC(config)


def _script_counts(text: str) -> tuple[int, int]:
    """Han characters only Traditional writes, and only Simplified writes, in a text."""
    han = [char for char in text if _script_of(char) == "CJK"]
    traditional = sum(_opencc("t2s").convert(char) != char for char in han)
    simplified = sum(_opencc("s2t").convert(char) != char for char in han)
    return traditional, simplified


def is_traditional(text: str) -> bool:
    """Whether Han text uses more Traditional-only than Simplified-only characters."""
    traditional, simplified = _script_counts(text)
    return traditional > simplified


def _shows_variant(text: str) -> bool:
    """Whether Han text leans to one script: characters only Traditional or only Simplified
    has, more of one kind than the other. Text both write alike shows neither."""
    traditional, simplified = _script_counts(text)
    return traditional != simplified


def _chinese(words: Sequence[str], languages: Sequence[str]) -> str | None:
    """The configured Chinese for Han text: Traditional script to zh-Hant when both are offered."""
    chinese = [language for language in languages if _primary(language) == "zh"]
    if len(chinese) == 1:
        return chinese[0]
    traditional = [lang for lang in chinese if _normalize(lang) in _TRADITIONAL_TAGS]
    simplified = [lang for lang in chinese if lang not in traditional]
    wanted = traditional if is_traditional("".join(words)) else simplified
    return wanted[0] if len(wanted) == 1 else None


def script_language(text: str, languages: Sequence[str]) -> str | None:
    """The configured language the writing system alone shows, even in one word, or None."""
    return _script_language(_words(text), languages)


def _written_in_configured_script(words: Sequence[str], languages: Sequence[str]) -> bool:
    """Whether some configured language uses the text's main script; else detecting is moot."""
    script = _dominant_script(words)
    if script == "LATIN":
        in_other_script = {lang for langs in _SCRIPT_LANGUAGES.values() for lang in langs}
        return any(_primary(language) not in in_other_script for language in languages)
    wanted = _SCRIPT_LANGUAGES.get(script or "", ())
    return any(_primary(language) in wanted for language in languages)


@dataclass(frozen=True)
class LanguageDecision:
    """What language to answer in now, why, and whether to remember it or offer another."""

    language: str
    source: str
    remember: bool
    proposal: str | None = None


def _evidence(
    text: str,
    languages: Sequence[str],
    detector: Detector,
    min_words: int,
    min_letters: int,
    min_probability: float,
) -> tuple[str, str] | None:
    """The language the text itself shows and how ("script" or "detected"), if clear enough."""
    words = _words(text)
    by_script = _script_language(words, languages)
    if by_script is not None:
        return by_script, "script"
    if not _enough(words, min_words, min_letters):
        return None
    if not _written_in_configured_script(words, languages):
        return None  # Arabic or Cyrillic text would be forced into some configured language
    found = detector.detect(_URL_RE.sub(" ", _prepare(text)))
    if found is None or found[1] < min_probability:
        return None
    language = configured_language(found[0], languages)
    return (language, "detected") if language is not None else None


def decide_language(
    text: str,
    *,
    explicit: str | None,
    stored: str | None,
    hint: str | None,
    languages: Sequence[str],
    default: str,
    detector: Detector,
    min_words: int = MIN_WORDS,
    min_letters: int = MIN_LETTERS,
    min_probability: float = MIN_PROBABILITY,
) -> LanguageDecision:
    """Pick the reply language: explicit, stored, hint, script, detector, then default.

    A stored or hinted language is never switched by the text; clear evidence of another
    configured language only becomes a proposal to offer. Unconfigured codes are ignored.
    """
    default_language = configured_language(default, languages)
    if default_language is None:
        raise ValueError(f"default language {default!r} is not among {list(languages)!r}")

    chosen = configured_language(explicit, languages)
    if chosen is not None:
        return LanguageDecision(chosen, "explicit", remember=True)

    seen = _evidence(text, languages, detector, min_words, min_letters, min_probability)
    for source, code, remember in (("stored", stored, False), ("hint", hint, True)):
        current = configured_language(code, languages)
        if current is not None:
            proposal = seen[0] if seen is not None and seen[0] != current else None
            if proposal and same_language(proposal, current) and not _shows_variant(text):
                proposal = None  # "好" or "冇" is written alike in both Chinese scripts
            return LanguageDecision(current, source, remember=remember, proposal=proposal)

    if seen is not None:
        return LanguageDecision(seen[0], seen[1], remember=True)
    return LanguageDecision(default_language, "default", remember=False)
