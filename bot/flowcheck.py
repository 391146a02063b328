"""Lint the validated flows for SMS: what each message costs, as it is actually sent.

Every text is counted with what goes out with it: a step's question with its numbered choices,
a menu with its topics, the help text with the agency's contact. English must fit in 2 SMS
segments and every other language in 3, unless the message says why it needs more
(`over_budget: "..."` beside its texts in messages.yaml). The report ends with what a typical
conversation costs in each language.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.keywords import key as keyword_key
from bot.segments import SegmentInfo, count_segments, gsm7_replacement
from flows.catalog import Catalog, Flow, Step, fill, step_text

BUDGETS = {"en": 2}  # segments; English has no excuse to cost more than two
DEFAULT_BUDGET = 3
SAMPLE_VALUES = {
    "agency": "Springfield Police",
    "title": "",
    "when": "",
    "where": "",
    "contact": "311 or springfield.gov/talk",
}
MENU_MESSAGES = ("topic_question", "menu_question", "topic_again", "invalid_choice")
TYPICAL_FLOW = "safety"  # a typical conversation: a concern, then its questions
# Keyword groups that may share a word: "no thanks" skips an optional question and answers no
# to a yes-or-no one; no question is both.
MAY_SHARE = frozenset({frozenset({"skip", "no"})})


@dataclass
class Findings:
    """What `townline flows check` prints, and whether it should fail."""

    report: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    typical: dict[str, int] = field(default_factory=dict)  # segments per language
    totals: dict[str, int] = field(default_factory=dict)  # every text once, per language


def _menu(catalog: Catalog, lang: str) -> list[str]:
    return [f"{i} {f.label[lang]}" for i, f in enumerate(catalog.menu_flows, start=1)]


def _choice_lines(catalog: Catalog, step: Step, lang: str) -> list[str]:
    """The numbered lines SMS shows under a step's question."""
    if step.type == "choice":
        return [f"{i} {c.label[lang]}" for i, c in enumerate(step.choices, start=1)]
    if step.type in ("consent", "subscribe"):
        yes, no = catalog.text("choice_yes", lang), catalog.text("choice_no", lang)
        return [f"1 {yes}", f"2 {no}"]
    if step.type == "rating":
        return [str(n) for n in range(1, 6)]
    return []


def step_as_sent(catalog: Catalog, step: Step, lang: str) -> str:
    """A step's question as SMS sends it."""
    return "\n".join([step_text(catalog, step, lang), *_choice_lines(catalog, step, lang)])


def texts(catalog: Catalog) -> Iterator[tuple[str, str, str]]:
    """Every (where, language, text) the bot can send, as it is sent."""
    for key, by_lang in catalog.messages.items():
        for lang, text in by_lang.items():
            if key in MENU_MESSAGES:  # sent with the topic list under it
                text = "\n".join([text, *_menu(catalog, lang)])
            if key == "help":  # with the agency's contact, when it has one
                text = f"{text} {catalog.text('help_contact', lang, contact='{contact}')}"
            yield f"messages.{key}", lang, text
    for flow in catalog.flows:
        for lang in catalog.languages:
            yield f"{flow.id}.end", lang, flow.end[lang]
            if flow.end_declined:
                yield f"{flow.id}.end_declined", lang, flow.end_declined[lang]
            for step in flow.steps:
                if step.waits:
                    yield f"{flow.id}.{step.id}", lang, step_as_sent(catalog, step, lang)
    for key, by_lang in catalog.knowledge.items():
        for lang, text in by_lang.items():
            yield f"knowledge.{key}", lang, text


def _segments(text: str) -> SegmentInfo:
    return count_segments(fill(text, SAMPLE_VALUES))


def typical_conversation(catalog: Catalog, lang: str) -> int:
    """Segments a resident reads raising a safety concern: the menu, the questions, the close."""
    flow: Flow = catalog.flow(TYPICAL_FLOW)
    note = catalog.text("not_emergency_note", lang)
    sent = [f"{note} " + "\n".join([catalog.text("topic_question", lang), *_menu(catalog, lang)])]
    sent += [step_as_sent(catalog, step, lang) for step in flow.steps if step.waits]
    sent.append(flow.end[lang])
    return sum(_segments(text).segments for text in sent)


def lint(catalog: Catalog) -> Findings:
    """Report each message's encoding and segments; flag waste and texts over their budget."""
    findings = Findings()
    for where, lang, template in texts(catalog):
        info = _segments(template)
        findings.totals[lang] = findings.totals.get(lang, 0) + info.segments
        line = f"{where:<32} {lang:<3} {info.encoding:<5} {info.segments} seg"
        if (plain := gsm7_without_lookalikes(fill(template, SAMPLE_VALUES), info)) is not None:
            findings.warnings += 1
            chars = " ".join(repr(c) for c in info.needless_chars)
            line += (
                f"  WARNING: {chars} force UCS-2 needlessly (GSM-7 would be {plain} seg);"
                " use plain quotes, dashes and dots"
            )
        budget = BUDGETS.get(lang, DEFAULT_BUDGET)
        why = catalog.over_budget.get(where.removeprefix("messages."), "")
        if info.segments > budget:
            if why:
                line += f"  (over {budget}: {why})"
            else:
                findings.errors += 1
                line += f"  ERROR: over {budget} segments in {lang}"
        findings.report.append(line)
    for problem in keyword_collisions(catalog):
        findings.errors += 1
        findings.report.append(f"ERROR: {problem}")
    totals = ", ".join(f"{lang} {n}" for lang, n in findings.totals.items())
    findings.report.append(f"every message once, segments: {totals}")
    if TYPICAL_FLOW in {f.id for f in catalog.flows}:
        for lang in catalog.languages:
            findings.typical[lang] = typical_conversation(catalog, lang)
        totals = ", ".join(f"{lang} {n}" for lang, n in findings.typical.items())
        findings.report.append(f"a typical conversation (a safety concern), segments: {totals}")
    return findings


def gsm7_without_lookalikes(text: str, info: SegmentInfo) -> int | None:
    """Segments the text would cost if its look-alike punctuation were plain, when only that
    keeps it out of GSM-7; None when it is GSM-7 already or other characters need UCS-2."""
    if not info.needless_chars or info.needless_chars != info.forcing_chars:
        return None
    for char in info.needless_chars:
        text = text.replace(char, gsm7_replacement(char) or char)
    return count_segments(text).segments


def keyword_collisions(catalog: Catalog) -> list[str]:
    """Words that would mean two things: one word in two keyword groups, or naming two languages.

    Compared as the line reads them (case, accents and Chinese script aside), so "中文" and
    "中文" in Traditional are one word.
    """
    groups: dict[str, dict[str, set[str]]] = {}
    for group, by_lang in [*catalog.keywords.items(), ("language", catalog.language_words)]:
        for lang, words in by_lang.items():
            for word in words:
                groups.setdefault(group, {}).setdefault(keyword_key(word), set()).add(lang)
    problems: list[str] = []
    names = sorted(groups)
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            if frozenset({first, second}) in MAY_SHARE:
                continue
            for word in sorted(groups[first].keys() & groups[second].keys()):
                problems.append(f"keyword {word!r} is in both {first} and {second}")
    for word, langs in sorted(groups.get("language", {}).items()):
        if len(langs - {"any"}) > 1:
            problems.append(f"language word {word!r} names {', '.join(sorted(langs))}")
    return problems
