"""`townline triage`: the understanding step on lines of text, as JSON, for agencies to test."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import click

from bot.cli.common import runtime
from bot.language import decide_language
from bot.runtime import Runtime
from bot.understanding import Reading

MAX_LINE_CHARS = 4000  # a line longer than any SMS conversation is cut, not refused


def message_language(rt: Runtime, reading: Reading) -> str:
    """What a new resident writing this would be answered in: the text's own language when
    it shows, else the language of the words that matched, else the agency's default."""
    languages = rt.catalog.languages
    decision = decide_language(
        reading.text,
        explicit=None,
        stored=None,
        hint=None,
        languages=languages,
        default=languages[0],
        detector=rt.detector,
    )
    if decision.source in ("script", "detected"):
        return decision.language
    phrase = reading.phrase_language()
    return phrase if phrase in languages else decision.language


def read_lines(
    rt: Runtime, lines: Iterable[str], *, explain: bool = False
) -> Iterator[dict[str, Any]]:
    """One JSON-ready object per non-blank line."""
    for line in lines:
        text = line.rstrip("\r\n")[:MAX_LINE_CHARS]
        if not text.strip():
            continue
        reading = rt.understanding.read(text)
        row: dict[str, Any] = {
            "text": text,
            "language": message_language(rt, reading),
            "classes": list(reading.classes),
        }
        if explain:
            row["because"] = rt.understanding.triage.explain(text)
        yield row


@click.command()
@click.option("--explain", is_flag=True, help="Also say which phrases matched, to tune flows.")
def triage(explain: bool) -> None:
    """Read one message per line on standard input; print how the line understands each.

    Each line of output is a JSON object: {"text", "language", "classes"}, the same reading the
    engine acts on. Agencies use it to test their residents' phrasings before going live.
    """
    rt = runtime()
    for row in read_lines(rt, sys.stdin, explain=explain):
        click.echo(json.dumps(row, ensure_ascii=False))
