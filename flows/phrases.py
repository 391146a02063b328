"""The phrase language of the flow files, and the normalised copy of a message it is matched on.

Agencies write phrases, not regular expressions, so that a community officer can add the way
their residents say "someone is breaking in" without learning a new notation. A phrase is words
in order; the message may hold other words around it. The notation, in full:

    break in            the words, in this order, as whole words
    burglar*            any word that starts so: burglar, burglars, burglary
    cháy!               (where marks matter) only as written with its marks: not "chay"
    broke/broken/break  one word of several
    take me off|remove me     one phrase of several (inside parentheses: a part of a phrase)
    is? / (a|the)?      a word or group that may be missing
    ..                  up to 3 other words in between (up to 4 characters between Han text)
    ...                 up to 8 other words in between (up to 16 characters between Han text)

Matching ignores case, width, punctuation and accents (so "ayudenme" is "ayúdenme"), and lets a
letter repeat ("stopp", "helppp"). In languages whose marks tell words apart (Vietnamese: "cháy"
is fire, "chạy" is running) a written mark must agree, but a word typed without marks matches
any marked form ("chay" matches "cháy"). Chinese is matched in Simplified characters: the message
is converted from Traditional with OpenCC first, so one phrase serves both scripts.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import opencc

SHORT_GAP_WORDS = 3
LONG_GAP_WORDS = 8
SHORT_GAP_CHARS = 4
LONG_GAP_CHARS = 16

# Characters written without spaces between words: Han, kana, Hangul.
_WIDE = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]"
)
# A phrase's word starts and ends where letters do. `prepare` puts a space between Han text and
# other letters ("有人break in" -> "有人 break in"), so for alphabetic words \w is exact here.
_NOT_AFTER_LETTER = r"(?<!\w)"
_NOT_BEFORE_LETTER = r"(?!\w)"
_APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc"
# Combining marks that only carry a Vietnamese tone (grave, acute, tilde, hook above, dot below);
# the others (circumflex, breve, horn) make a different vowel.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_INVISIBLE = dict.fromkeys(map(ord, "\ufe0e\ufe0f\u200b\u200c\u200d\u2060\u00ad"), None)
# Arabic vowel marks (tashkeel) and the tatweel that stretches a word: few residents type them,
# and a word means the same with or without, so neither may keep a phrase from matching.
_INVISIBLE.update(dict.fromkeys([*range(0x064B, 0x0660), 0x0670, 0x0640], None))
# Arabic letters that residents write one for the other: alef maqsura for ya, ta marbuta for ha.
_SAME_LETTER = {"\u0649": "\u064a", "\u0629": "\u0647"}


class PhraseError(ValueError):
    """A phrase breaks the notation; the message says where."""


@functools.cache
def _t2s() -> opencc.OpenCC:
    """One Traditional-to-Simplified converter per process (it loads dictionaries)."""
    return opencc.OpenCC("t2s")


@functools.cache
def fold_char(char: str) -> str:
    """The character without accents or tone marks (đ is d), always one character for one."""
    if char in "đĐ":
        return "d"
    if char.isascii():
        return char
    if char in _SAME_LETTER:
        return _SAME_LETTER[char]
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
    )
    # A Hangul syllable decomposes into its letters (jamo), not a letter and marks: keep it whole.
    return stripped if len(stripped) == 1 else char


def fold(text: str) -> str:
    """Accents and tone marks removed, one character for one, so spans line up with the text."""
    return "".join(map(fold_char, text))


@functools.cache
def _untoned(char: str) -> str:
    """The letter without its tone mark but with its vowel mark (ộ -> ô, ế -> ê)."""
    kept = "".join(c for c in unicodedata.normalize("NFD", char) if c not in _TONE_MARKS)
    return unicodedata.normalize("NFC", kept)[:1] or char


def simplify(text: str) -> str:
    """Traditional Chinese characters as Simplified; other text unchanged."""
    return _t2s().convert(text) if _WIDE.search(text) else text


_CLAUSE_ENDS = frozenset(
    ".,!?;:\n\u3002\uff0c\uff01\uff1f\uff1b\uff1a\u3001\u2026\u060c\u061b\u061f"
)


def prepare(text: str, emoji: Mapping[str, str] | None = None) -> str:
    """The copy of a message that phrases are matched on; the stored text stays verbatim.

    NFKC and case folding, emoji that carry intent as words, Simplified Chinese, apostrophes
    dropped ("don't" is "dont"), clause ends (. , ! ? and their CJK forms, emoji) as line breaks,
    other punctuation and symbols as spaces, spaces collapsed. Accents are kept here: `fold`
    removes them where a language allows.
    """
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    for symbol, word in (emoji or {}).items():
        if symbol in text:
            text = text.replace(symbol, f"\n{word}\n")
    text = simplify(unicodedata.normalize("NFC", text.casefold()))
    out: list[str] = []
    for char in text:
        if char in _APOSTROPHES:
            continue
        if char in _CLAUSE_ENDS:
            out.append("\n")
            continue
        category = unicodedata.category(char)
        if category[0] not in "LNM":
            out.append(" ")
            continue
        if out and out[-1] not in " \n" and is_wide(char) != is_wide(out[-1]):
            out.append("\t")  # Han text and other letters meet: a word boundary, not a space
        out.append(char)
    lines = (_SPACES.sub(_one_space, line).strip() for line in "".join(out).split("\n"))
    return "\n".join(line for line in lines if line)


_SPACES = re.compile(r"[ \t]+")
# Arabic writes "and", "so", "with", "for", "like" and "the" joined to the next word: وحريق,
# بالسكين, والشرطة. Any Arabic word of three letters or more may carry them, so phrases name the
# bare word.
ARABIC_LETTER = re.compile(r"[\u0620-\u064a\u066e-\u06d3]")
_AND = "[\u0648\u0641]"  # wa, fa
_WITH = "[\u0628\u0643\u0644]"  # bi, ka, li
_THE = "\u0627\u0644"  # al
ARABIC_PROCLITICS = f"(?:{_AND}?(?:{_WITH}?{_THE}|\u0644\u0644|{_WITH})|{_AND})?"


def _one_space(match: re.Match[str]) -> str:
    """A run of blanks as one: a space if the writer typed one, else the boundary's tab."""
    return " " if " " in match.group() else "\t"


def is_wide(text: str) -> bool:
    """Whether the text is written without spaces between words (Han, kana, Hangul)."""
    return bool(_WIDE.search(text))


# ---- the notation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    """One slot of a phrase: a regular expression, whether it is wide script, and optionality."""

    regex: str
    wide: bool
    optional: bool = False
    gap: str | None = None  # ".." or "..."


def split_tokens(phrase: str) -> list[str]:
    """Split on spaces outside parentheses; a group is a word of its own even without spaces."""
    phrase = re.sub(r"\)(\??)(?=[^\s|)?])", r")\1 ", phrase)
    phrase = re.sub(r"(?<=[^\s(|])\(", " (", phrase)
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in phrase:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise PhraseError(f"{phrase!r}: ')' without '('")
        if char == " " and depth == 0:
            if current:
                parts.append("".join(current))
                current = []
            continue
        current.append(char)
    if depth:
        raise PhraseError(f"{phrase!r}: '(' without ')'")
    if current:
        parts.append("".join(current))
    return parts


def alternatives(inner: str, phrase: str) -> list[str]:
    """Split a group's inside on the bars that are not inside a nested group."""
    parts, depth, current = [], 0, []
    for char in inner:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    if depth:
        raise PhraseError(f"{phrase!r}: unbalanced parentheses")
    return parts


def _letter_regex(char: str, marks_matter: bool, exact: bool = False) -> str:
    """One letter of a phrase: it may repeat, and its accents are optional or ignored."""
    if _WIDE.match(char):
        return re.escape(char)
    if char.isdigit():
        return re.escape(char)
    if not marks_matter:
        return re.escape(fold_char(char)) + "+"
    if exact:
        return re.escape(char) + "+"
    forms = dict.fromkeys([char, _untoned(char), fold_char(char)])
    if len(forms) == 1:
        return re.escape(char) + "+"
    return "[" + "".join(re.escape(f) for f in forms) + "]+"


def _word_regex(word: str, marks_matter: bool, phrase: str) -> tuple[str, bool]:
    """A word (with an optional trailing * or !) as a regex, and whether it is wide script."""
    exact = word.endswith("!")
    word = word.rstrip("!")
    prefix = word.endswith("*")
    word = word.rstrip("*")
    if not word or "*" in word or "!" in word:
        raise PhraseError(f"{phrase!r}: '*' and '!' go only at the end of a word")
    text = prepare(word)
    if not text or "\n" in text or " " in text:
        raise PhraseError(f"{phrase!r}: {word!r} is not a word")
    # "打911", "police快": Han text and other letters in one word, spaced apart by `prepare`.
    body = r"\s*".join(
        "".join(_letter_regex(c, marks_matter, exact) for c in part) for part in text.split()
    )
    start = "" if _WIDE.match(text[0]) else _NOT_AFTER_LETTER
    if ARABIC_LETTER.match(text[0]) and len(text) > 2:
        start += ARABIC_PROCLITICS  # not on short words: ما would match لما (when), حد لحد
    end = "" if _WIDE.match(text[-1]) else (r"\w*" if prefix else _NOT_BEFORE_LETTER)
    return start + body + end, bool(_WIDE.search(text))


def _token(raw: str, marks_matter: bool, phrase: str) -> _Token:
    optional = raw.endswith("?") and len(raw) > 1
    if optional:
        raw = raw[:-1]
    if raw.startswith("("):
        if not raw.endswith(")"):
            raise PhraseError(f"{phrase!r}: {raw!r} must end with ')'")
        options = [a.strip() for a in alternatives(raw[1:-1], phrase)]
        if not all(options):
            raise PhraseError(f"{phrase!r}: empty alternative in {raw!r}")
        compiled = [_sequence(split_tokens(a), marks_matter, phrase) for a in options]
        regex = "(?:" + "|".join(r for r, _ in compiled) + ")"
        return _Token(regex, any(w for _, w in compiled), optional)
    if "(" in raw or ")" in raw or "|" in raw:
        raise PhraseError(f"{phrase!r}: a group must be a whole word: {raw!r}")
    words = [_word_regex(w, marks_matter, phrase) for w in raw.split("/")]
    if not all(words) or any(not w for w, _ in words):
        raise PhraseError(f"{phrase!r}: empty alternative in {raw!r}")
    regex = "(?:" + "|".join(r for r, _ in words) + ")" if len(words) > 1 else words[0][0]
    return _Token(regex, any(w for _, w in words), optional)


def _separator(left: _Token, right: _Token, gap: str | None) -> str:
    wide = left.wide or right.wide
    if gap in ("..", "..."):
        short = gap == ".."
        chars = SHORT_GAP_CHARS if short else LONG_GAP_CHARS
        words = SHORT_GAP_WORDS if short else LONG_GAP_WORDS
        # Lazy: the nearest match is enough to find a phrase. `compile_phrase(greedy=True)`
        # turns these greedy, so that a phrase that hides words hides as much as it can.
        return rf"[\s\S]{{0,{chars}}}?" if wide else rf"\s+(?:\S+\s+){{0,{words}}}?"
    return r"\s*" if wide else r"\s+"


def _sequence(parts: list[str], marks_matter: bool, phrase: str) -> tuple[str, bool]:
    """Tokens joined by separators, gaps and optional slots resolved; (regex, any wide)."""
    tokens: list[_Token] = []
    gap: str | None = None
    for part in parts:
        if part in ("..", "..."):
            if not tokens or gap:
                raise PhraseError(f"{phrase!r}: a gap must stand between two words")
            gap = part
            continue
        token = _token(part, marks_matter, phrase)
        tokens.append(_Token(token.regex, token.wide, token.optional, gap))
        gap = None
    if gap or not tokens:
        raise PhraseError(f"{phrase!r}: a phrase must start and end with a word")
    if all(t.optional for t in tokens):
        raise PhraseError(f"{phrase!r}: at least one word must be required")
    # Each token owns the separator before it; an optional first word owns the one after it.
    pieces = [token.regex for token in tokens]
    seps = [""] + [_separator(a, b, b.gap) for a, b in itertools.pairwise(tokens)]
    regex = ""
    for index, token in enumerate(tokens):
        if index == 0 and token.optional and len(tokens) > 1:
            regex += f"(?:{pieces[0]}{seps[1]})?"
            seps[1] = ""
        elif token.optional:
            regex += f"(?:{seps[index]}{pieces[index]})?"
        else:
            regex += seps[index] + pieces[index]
    return regex, any(t.wide for t in tokens)


def compile_phrase(phrase: str, marks_matter: bool = False, greedy: bool = False) -> str:
    """A phrase as a regular expression over `prepare`d (and, unless marks matter, folded) text.

    `greedy` makes gaps reach as far as they can: for phrases that hide words rather than
    find them, covering "the guy from the Main St shooting" and not only "the guy".
    """
    phrase = " ".join(str(phrase).split())
    if not phrase:
        raise PhraseError("an empty phrase")
    options = [a.strip() for a in alternatives(phrase, phrase)]
    if not all(options):
        raise PhraseError(f"{phrase!r}: empty alternative")
    regexes = [_sequence(split_tokens(a), marks_matter, phrase)[0] for a in options]
    regex = regexes[0] if len(regexes) == 1 else "|".join(f"(?:{r})" for r in regexes)
    if greedy:
        regex = regex.replace("}?", "}")
    re.compile(regex)
    return regex


def compile_phrases(phrases: Iterable[str], marks_matter: bool = False) -> re.Pattern[str] | None:
    """Several phrases as one pattern that finds any of them, or None when there are none."""
    regexes = [compile_phrase(p, marks_matter) for p in phrases]
    return re.compile("|".join(f"(?:{r})" for r in regexes)) if regexes else None
