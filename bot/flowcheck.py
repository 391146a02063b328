"""Lint the validated flows for SMS: what each message costs, as it is actually sent.

Every text is counted with what goes out with it: a step's question with its numbered choices,
a menu with its topics, the help text with the agency's contact. English must fit in 2 SMS
segments and every other language in 3, unless the message says why it needs more
(`over_budget: "..."` beside its texts in messages.yaml). The report ends with what a typical
conversation costs in each language.

A call speaks the same texts (see flows/voice.yaml): a text's spoken variant when it has one,
else the text with its written-only sentences ("Reply with a number") left out. Each voiced
language is checked for texts that lose a sentence aloud (a warning, naming the sentence, so a
writer can add a variant), texts with nothing left to say or with a link still in them (errors),
and variants that belong to no text (a warning: a typo).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from bot.keywords import key as keyword_key
from bot.segments import SegmentInfo, count_segments, gsm7_replacement
from flows.catalog import Catalog, Flow, Step, fill, step_text
from flows.voice import URL, split_sentences, written_only

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
QUOTED_CHARS = 60  # a dropped sentence is quoted up to this long: enough to find it


@dataclass
class Findings:
    """What `townline flows check` prints, and whether it should fail."""

    report: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    typical: dict[str, int] = field(default_factory=dict)  # segments per language
    totals: dict[str, int] = field(default_factory=dict)  # every text once, per language
    voices: dict[str, str] = field(default_factory=dict)  # the voice of each voiced language


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
    lint_voice(catalog, findings)
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


# ---- calls ---------------------------------------------------------------------------------


def spoken_texts(catalog: Catalog) -> dict[str, Mapping[str, str]]:
    """Every text a call may say from the flows, by the key its spoken variant goes under:
    the message id, or `flow.step` / `flow.end` / `flow.end_declined` for a flow's own texts.
    A step that refers to a shared message is spoken under the message's id."""
    keys: dict[str, Mapping[str, str]] = dict(catalog.messages)
    for flow in catalog.flows:
        for step in flow.steps:
            if step.text and "ref" not in step.text:
                keys[f"{flow.id}.{step.id}"] = step.text
        keys[f"{flow.id}.end"] = flow.end
        if flow.end_declined:
            keys[f"{flow.id}.end_declined"] = flow.end_declined
    return keys


def _quoted(sentences: list[str]) -> str:
    def cut(s: str) -> str:
        return s if len(s) <= QUOTED_CHARS else s[: QUOTED_CHARS - 1].rstrip() + "\u2026"

    return " + ".join(f'"{cut(s)}"' for s in sentences)


def spoken_problem(catalog: Catalog, key: str, text: str, language: str) -> tuple[str, str] | None:
    """("ERROR" or "WARNING", why) when a text does not read well aloud in a voiced language."""
    book = catalog.voice
    variant = book.spoken.get(key, {}).get(language)
    if variant is not None:
        if found := URL.search(variant):
            return "ERROR", f"spoken variant still says a link ({found.group(0)!r})"
        return None
    phrases = book.written.get(language, ())
    dropped = [s for s in split_sentences(text) if written_only(s, phrases)]
    said = book.aloud(text, language)
    if not said:  # the call then reads the written text as it is: "reply", links and all
        return (
            "ERROR",
            f"nothing left aloud: {_quoted(dropped)} is written-only; add a spoken variant",
        )
    if found := URL.search(said):
        return "ERROR", f"spoken form still says a link ({found.group(0)!r}); add a spoken variant"
    if dropped:
        return "WARNING", f"aloud drops {_quoted(dropped)} (no spoken variant)"
    return None


def _stray_variant(catalog: Catalog, key: str, known: Mapping[str, object]) -> str:
    """Why a spoken variant's key is no text's: a step that speaks a shared message, or a typo."""
    flow_id, _, step_id = key.partition(".")
    for flow in catalog.flows:
        if flow.id == flow_id:
            for step in flow.steps:
                if step.id == step_id and "ref" in step.text:
                    ref = step.text["ref"]
                    return f"never said: this step speaks message {ref}; put the variant there"
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"is no message id or flow text (flow.step, flow.end){hint}"


def lint_voice(catalog: Catalog, findings: Findings) -> None:
    """What a call would say of every text, in every voiced language (see flows/voice.yaml)."""
    book = catalog.voice
    voiced = [lang for lang in catalog.languages if book.voiced(lang)]
    silent = [lang for lang in catalog.languages if lang not in voiced]
    findings.voices = {lang: book.voices[lang].voice for lang in voiced}
    first = catalog.languages[0]
    line = "calls: " + (
        ", ".join(f"{lang} {voice}" for lang, voice in findings.voices.items())
        or "no configured language has a voice"
    )
    if silent and voiced:
        line += f"; not offered on calls: {', '.join(silent)}"
        line += f" (callers hear {first})" if first in voiced else ""
    findings.report.append(line)
    if first not in voiced:  # the voice channel refuses to start without it
        findings.warnings += 1
        findings.report.append(
            f"WARNING: {first}, the first language, has no voice in voice.yaml:"
            " with Twilio set up, the line will not start"
        )
    texts = spoken_texts(catalog)
    for key, by_lang in texts.items():
        for lang in voiced:
            problem = spoken_problem(catalog, key, by_lang[lang], lang)
            if problem is None:
                continue
            level, why = problem
            if level == "ERROR":
                findings.errors += 1
            else:
                findings.warnings += 1
            findings.report.append(f"{'spoken.' + key:<32} {lang:<3} {level}: {why}")
    for key in book.spoken:
        if key not in texts:
            findings.warnings += 1
            langs = ",".join(book.spoken[key]) or "-"
            why = _stray_variant(catalog, key, texts)
            findings.report.append(f"{'spoken.' + key:<32} {langs:<3} WARNING: {why}")
