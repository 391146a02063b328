"""Residents' contact details stay home: masked before text goes to a provider, put back after.

Phone numbers (found by `phonenumbers`, the port of Google's libphonenumber, with a backstop
for any long run of digits), e-mail addresses and house or unit numbers ("1428 Elm St",
"calle Elm 1428", "số nhà 12", "1428号") are swapped for numbered placeholders. The provider
only ever sees the placeholders; `unmask` puts the originals back into its translation.

Two placeholder styles, because no plain-text token is *guaranteed* to survive machine
translation and the one provider that offers a guarantee needs markup:

- `XML` (`<x id="1"/>`), for DeepL with `tag_handling="xml"`: DeepL documents that it keeps
  tags and moves them where the translated sentence needs them. The rest of the text is
  XML-escaped so a resident's "<3" or "A & B" cannot break the markup; `unmask` unescapes.
- `BRACKET` (`[1]`), for plain-text engines such as LibreTranslate (OpenNMT/Argos models).
  ASCII brackets and digits are in every model's vocabulary and are copied through like the
  citation marks the models saw in training; rarer symbols such as `⟦1⟧` risk coming back
  as an unknown-token mark. `unmask` tolerates what engines do to such tokens: spaces inside
  ("[ 1 ]"), full-width or CJK brackets ("［1］", "【1】"), a moved position.

Whatever already looks like a placeholder in the resident's own words (a literal "[1]", or the
placeholders of an earlier `mask`) is itself masked, so it comes back verbatim and can never be
confused with ours. A placeholder the provider dropped is not lost: its original is appended.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from typing import Literal
from xml.sax.saxutils import escape

import phonenumbers

Style = Literal["bracket", "xml"]
BRACKET: Style = "bracket"
XML: Style = "xml"

REGION = "US"  # residents dial US numbers; others still match in +<country> form

# What a bracket placeholder may look like after a provider had it: "[1]", "[ 1 ]", "［1］".
_BRACKET_TOKEN = re.compile(r"[\[［【⟦]\s*(\d{1,3})\s*[\]］】⟧]")
# What an XML placeholder may look like after a provider had it: spaced, quoted either way,
# self-closing or opened (the matching "</x>" is dropped separately).
_XML_TOKEN = re.compile(r"<\s*x\s+id\s*=\s*[\"']?\s*(\d{1,3})\s*[\"']?\s*/?\s*>", re.IGNORECASE)
_XML_CLOSE = re.compile(r"<\s*/\s*x\s*>", re.IGNORECASE)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A backstop for numbers phonenumbers does not recognise: seven or more digits, possibly
# separated by spaces, dots, dashes, slashes or brackets (local numbers, IDs, plates of digits).
_DIGIT_RUN = re.compile(r"(?<!\d)\+?\d(?:[ \t().\-–/]{0,2}\d){6,}(?!\d)")

_HOUSE = r"\d{1,6}(?:-\d{1,4})?[A-Za-z]?"
_STREET_TYPES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|drive|dr|lane|ln|way|court|ct|place|pl"
    "|terrace|ter|parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl|alley|plaza|loop"
    "|đường|phố|ngõ|hẻm|hẽm"
)
_HOUSE_PATTERNS = (
    # "1428 Elm St", "1428 N Elm Street", "12 đường Lê Lợi": the number before a street.
    re.compile(
        rf"(?<![0-9A-Za-z.])({_HOUSE})(?=\s+(?:[\w'.-]+\s+){{0,3}}?(?:{_STREET_TYPES})\b)",
        re.IGNORECASE,
    ),
    # "calle Elm 1428", "Avenida Central #1428": Spanish puts the number after the name.
    re.compile(
        r"\b(?:calle|avenida|avda|av|camino|carretera|bulevar|paseo)\.?\s+"
        rf"(?:[\w'.-]+\s+){{0,3}}?#?\s?({_HOUSE})\b",
        re.IGNORECASE,
    ),
    # "apt 4B", "unit 12", "#4B", "apto 3", "số nhà 12", "số 12/3".
    re.compile(
        r"(?:\b(?:apt|apartment|unit|suite|ste|apto|apartamento|số nhà|số)\.?\s*#?\s*|#\s?)"
        r"(\d{1,6}[A-Za-z]?(?:/\d{1,4})?)\b",
        re.IGNORECASE,
    ),
    # "Elm街1428号": Chinese addresses end the number with 号/號.
    re.compile(r"(\d{1,6})\s*[号號]"),
)


def mask(text: str, *, style: Style = BRACKET) -> tuple[str, list[str]]:
    """The text with contact details replaced by placeholders, and the originals in order.

    Placeholder n (1-based) stands for `originals[n - 1]`.
    """
    spans = _spans(text)
    out: list[str] = []
    originals: list[str] = []
    last = 0
    for start, end in spans:
        out.append(_plain(text[last:start], style))
        originals.append(text[start:end])
        out.append(_token(len(originals), style))
        last = end
    out.append(_plain(text[last:], style))
    return "".join(out), originals


def unmask(text: str, originals: Sequence[str], *, style: Style = BRACKET) -> str:
    """Put the originals back where the provider left the placeholders.

    Placeholders the provider spaced out, re-bracketed or moved are still found; any it
    dropped are appended at the end, so no detail a resident gave is silently lost.
    """
    pattern = _XML_TOKEN if style == XML else _BRACKET_TOKEN
    if style == XML:
        text = _XML_CLOSE.sub("", text)
    used: set[int] = set()
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        index = int(match.group(1))
        if not 1 <= index <= len(originals):
            continue  # not one of ours: leave it as the provider wrote it
        out.append(_unplain(text[last : match.start()], style))
        out.append(originals[index - 1])
        used.add(index)
        last = match.end()
    out.append(_unplain(text[last:], style))
    result = "".join(out)
    missing = [original for i, original in enumerate(originals, 1) if i not in used]
    if missing:
        result = " ".join([result.rstrip(), *missing]) if result.strip() else " ".join(missing)
    return result


def _token(index: int, style: Style) -> str:
    return f'<x id="{index}"/>' if style == XML else f"[{index}]"


def _plain(segment: str, style: Style) -> str:
    """Text between placeholders, escaped when it travels inside XML."""
    return escape(segment) if style == XML else segment


def _unplain(segment: str, style: Style) -> str:
    return html.unescape(segment) if style == XML else segment


def _spans(text: str) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans to mask, in order; on overlap the longer one wins."""
    found = sorted(_candidates(text), key=lambda span: (span[0], -(span[1] - span[0])))
    spans: list[tuple[int, int]] = []
    for start, end in found:
        if start >= end:
            continue
        if spans and start < spans[-1][1]:
            prev_start, prev_end = spans[-1]
            if end > prev_end:  # overlapping: keep one span covering both
                spans[-1] = (prev_start, end)
            continue
        spans.append((start, end))
    return spans


def _candidates(text: str) -> Iterator[tuple[int, int]]:
    """Every span some detector wants masked; overlaps are resolved by `_spans`."""
    for pattern in (_BRACKET_TOKEN, _XML_TOKEN, _XML_CLOSE, _EMAIL):
        for match in pattern.finditer(text):
            yield match.span()
    matcher = phonenumbers.PhoneNumberMatcher(text, REGION, leniency=phonenumbers.Leniency.POSSIBLE)
    for number in matcher:
        yield number.start, number.end
    for match in _DIGIT_RUN.finditer(text):
        yield match.span()
    for pattern in _HOUSE_PATTERNS:
        for match in pattern.finditer(text):
            yield match.span(1)
