"""Lint the validated flows for SMS: encoding and segments for every message in every language."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.segments import count_segments
from flows.catalog import Catalog, fill

MAX_ENGLISH_SEGMENTS = 2  # English has no excuse to cost more than two SMS segments
SAMPLE_VALUES = {"agency": "Springfield Police", "title": "", "when": "", "where": ""}


@dataclass
class Findings:
    """What `townline flows check` prints, and whether it should fail."""

    report: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0


def texts(catalog: Catalog) -> Iterator[tuple[str, str, str]]:
    """Every (where, language, text) the bot can send, choices rendered as SMS shows them."""
    for key, by_lang in catalog.messages.items():
        for lang, text in by_lang.items():
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
        # Only in otherwise GSM-7 text: Chinese punctuation in Chinese text costs nothing extra.
        if info.needless_chars and set(info.forcing_chars) <= set(info.needless_chars):
            findings.warnings += 1
            chars = " ".join(repr(c) for c in info.needless_chars)
            line += f"  WARNING: {chars} force UCS-2 needlessly; use plain quotes and dashes"
        if lang == "en" and info.segments > MAX_ENGLISH_SEGMENTS:
            findings.errors += 1
            line += f"  ERROR: over {MAX_ENGLISH_SEGMENTS} segments in English"
        findings.report.append(line)
    return findings
