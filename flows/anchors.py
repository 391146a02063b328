"""Anchors: words every match of a phrase must contain, so a message skips phrases it can't match.

Reading a message against a thousand phrases one by one would cost milliseconds; looking up its
words in an index of anchors first leaves a few dozen to try.
"""

from __future__ import annotations

import re

from flows.phrases import (
    ARABIC_LETTER,
    ARABIC_PROCLITICS,
    alternatives,
    fold,
    is_wide,
    prepare,
    split_tokens,
)

Anchor = tuple[str, str]
"""("word", w): the message has the word w; ("prefix", p): a word starting with p; ("wide", s):
the Han text s appears. Words are folded, with repeated letters collapsed."""

_ANCHOR_WORD = re.compile(
    r"[0-9a-z\u00b5\u00df-\u024f\u0370-\u04ff\u0620-\u064a\u0660-\u0669\u066e-\u06d3"
    r"\u1e00-\u1eff]+"
)
# What Arabic writes onto a word ("and", "with", "the": والحريق): a message's word also counts
# as the word without it, since phrases name the bare word (see flows.phrases).
_ARABIC_JOINED = re.compile(ARABIC_PROCLITICS.removesuffix("?"))
_RUNS = re.compile(r"(.)\1+")


def collapse(word: str) -> str:
    """A word with runs of one letter made single ("stoooop" -> "stop")."""
    return _RUNS.sub(r"\1", word)


def anchor_words(folded: str) -> frozenset[str]:
    """The words of a folded, prepared text as anchors see them."""
    words = set(_ANCHOR_WORD.findall(collapse(folded)))
    for word in [w for w in words if ARABIC_LETTER.match(w)]:
        for end in range(1, min(len(word) - 1, 5)):
            if _ARABIC_JOINED.fullmatch(word[:end]):
                words.add(word[end:])
    return frozenset(words)


def anchors(phrase: str) -> frozenset[Anchor] | None:
    """Anchors one of which every match of the phrase contains; None when none can be named."""
    phrase = " ".join(str(phrase).split())
    found = [_sequence_anchors(split_tokens(a.strip())) for a in alternatives(phrase, phrase)]
    return _union(found)


def _union(sets: list[frozenset[Anchor] | None]) -> frozenset[Anchor] | None:
    if not sets or any(s is None for s in sets):
        return None
    return frozenset().union(*sets)  # type: ignore[arg-type]


def _sequence_anchors(parts: list[str]) -> frozenset[Anchor] | None:
    for part in parts:
        if part in ("..", "...") or (part.endswith("?") and len(part) > 1):
            continue
        if (found := _token_anchors(part)) is not None:
            return found
    return None


def _token_anchors(raw: str) -> frozenset[Anchor] | None:
    if raw.startswith("("):
        inner = [_sequence_anchors(split_tokens(a.strip())) for a in alternatives(raw[1:-1], raw)]
        return _union(inner)
    out: set[Anchor] = set()
    for word in raw.split("/"):
        word = word.rstrip("!")
        prefix = word.endswith("*")
        text = fold(prepare(word.rstrip("*")))
        if not text:
            return None
        if is_wide(text):
            out.add(("wide", text))
        else:
            out.add(("prefix" if prefix else "word", collapse(text)))
    return frozenset(out)
