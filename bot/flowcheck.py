"""Lint the validated flows for SMS: encoding and segments for every message in every language."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.segments import SegmentInfo, count_segments, gsm7_replacement
from flows.catalog import Catalog, fill

MAX_ENGLISH_SEGMENTS = 2  # English has no excuse to cost more than two SMS segments
SAMPLE_VALUES = {"agency": "Springfield Police", "title": "", "when": "", "where": ""}


@dataclass
class Findings:
    """What `townline flows check` prints, and whether it should fail."""

    report: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0


MENU_MESSAGES = ("topic_question", "menu_question", "topic_again", "invalid_choice")


def texts(catalog: Catalog) -> Iterator[tuple[str, str, str]]:
    """Every (where, language, text) the bot can send, choices rendered as SMS shows them."""
    for key, by_lang in catalog.messages.items():
        for lang, text in by_lang.items():
            if key in MENU_MESSAGES:  # sent with the topic list under it
                topics = [f"{i} {f.label[lang]}" for i, f in enumerate(catalog.flows, start=1)]
                text = "\n".join([text, *topics])
            yield f"messages.{key}", lang, text
    for flow in catalog.flows:
        for lang, text in flow.end.items():
            yield f"{flow.id}.end", lang, text
        for step in flow.steps:
            if "ref" in step.text:
                continue
            for lang, text in step.text.items():
                lines = [f"{i} {c.label[lang]}" for i, c in enumerate(step.choices, start=1)]
                yield f"{flow.id}.{step.id}", lang, "\n".join([text, *lines])
    for key, by_lang in catalog.knowledge.items():
        for lang, text in by_lang.items():
            yield f"knowledge.{key}", lang, text


def lint(catalog: Catalog) -> Findings:
    """Report each message's encoding and segments; flag waste and over-long English."""
    findings = Findings()
    for where, lang, template in texts(catalog):
        text = fill(template, SAMPLE_VALUES)
        info = count_segments(text)
        line = f"{where:<32} {lang:<3} {info.encoding:<5} {info.segments} seg"
        if (plain := gsm7_without_lookalikes(text, info)) is not None:
            findings.warnings += 1
            chars = " ".join(repr(c) for c in info.needless_chars)
            line += (
                f"  WARNING: {chars} force UCS-2 needlessly (GSM-7 would be {plain} seg);"
                " use plain quotes, dashes and dots"
            )
        if lang == "en" and info.segments > MAX_ENGLISH_SEGMENTS:
            findings.errors += 1
            line += f"  ERROR: over {MAX_ENGLISH_SEGMENTS} segments in English"
        findings.report.append(line)
    return findings


def gsm7_without_lookalikes(text: str, info: SegmentInfo) -> int | None:
    """Segments the text would cost if its look-alike punctuation were plain, when only that
    keeps it out of GSM-7; None when it is GSM-7 already or other characters need UCS-2."""
    if not info.needless_chars or info.needless_chars != info.forcing_chars:
        return None
    for char in info.needless_chars:
        text = text.replace(char, gsm7_replacement(char) or char)
    return count_segments(text).segments
