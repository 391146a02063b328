"""Load and validate the flow files, so a broken flow fails at start-up, not mid-conversation."""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flows.matching import Patterns
from flows.triage import Triage, compile_names, load_triage
from flows.voice import VoiceBook, load_voice

FLOWS_DIR = Path(__file__).resolve().parent

# Named limits: a flow longer or wordier than this is a survey, not a conversation.
MAX_STEPS = 12
MAX_CHOICES = 9
MAX_TEXT_CHARS = 480
MAX_LABEL_CHARS = 60
MAX_KEYWORD_CHARS = 40
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
STEP_TYPES = {
    "open",  # free text, stored verbatim
    "choice",  # one of a few numbered choices
    "rating",  # 1 to 5
    "place",  # where it happens (free text, optional)
    "neighbourhood",  # the resident's own neighbourhood (optional)
    "consent",  # may we tell you when the agency acts (yes/no)
    "subscribe",  # meeting reminders (yes/no)
    "knowledge",  # answer from knowledge.yaml for an earlier choice; does not wait
    "meetings",  # list upcoming meetings; does not wait
}
WAITING_TYPES = STEP_TYPES - {"knowledge", "meetings"}
YES_NO_TYPES = {"consent", "subscribe"}
KEYWORD_GROUPS = (
    "help",
    "menu",
    "skip",
    "yes",
    "no",
    "greeting",
    "thanks",
    "telegram",
    "privacy",
    "erase",
)
PLACEHOLDERS = {
    "agency",
    "title",
    "when",
    "where",
    "count",
    "link",
    "contact",
    "days",
    "url",
    "partner",
    "partners",
    "keyword",
    "number",
}


class FlowError(ValueError):
    """A flow file breaks the schema; the message names the file and the item."""


Text = Mapping[str, str]


@dataclass(frozen=True)
class Choice:
    """A numbered option; `id` is stable, `label` is per language; `names` are phrases that
    name it in a resident's own words ("body cam"), so the question can be skipped."""

    id: str
    label: Text
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One question (or one message that needs no answer) inside a flow."""

    id: str
    type: str
    text: Text = field(default_factory=dict)
    optional: bool = False
    choices: tuple[Choice, ...] = ()
    source: str | None = None  # knowledge: the choice step whose answer selects the entry
    when: tuple[str, str] | None = None  # (step id, choice id) that must have been answered

    @property
    def waits(self) -> bool:
        """Whether the engine stops here for the resident's answer."""
        return self.type in WAITING_TYPES


@dataclass(frozen=True)
class Flow:
    """A short conversation about one topic, the way staff will group what was said."""

    id: str
    version: int
    menu: int  # its number on the topic menu; 0: not on the menu (the unsorted fallback)
    label: Text
    steps: tuple[Step, ...]
    end: Text  # the closing words; when the resident agreed to hear back, or was not asked
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    end_declined: Text | None = None  # the closing words after "no, don't text me back"
    start_when_named: bool = False  # an opening that names it starts it, skipping the menu
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # phrases naming it

    def step(self, step_id: str) -> Step:
        """The step with this id (ids are unique within a flow)."""
        return next(s for s in self.steps if s.id == step_id)


@dataclass(frozen=True)
class Catalog:
    """Everything the engine may say or recognise, validated for the configured languages."""

    languages: tuple[str, ...]
    messages: Mapping[str, Text]
    keywords: Mapping[str, Mapping[str, tuple[str, ...]]]
    language_words: Mapping[str, tuple[str, ...]]
    language_markers: Mapping[str, tuple[str, ...]]  # see keywords.yaml `markers`
    flows: tuple[Flow, ...]
    knowledge: Mapping[str, Text]
    triage: Triage
    # Compiled `names` of each flow ("technology") and choice ("technology.body_cameras").
    names: Mapping[str, Patterns] = field(default_factory=dict)
    pages: Mapping[str, Text] = field(default_factory=dict)  # words on the public web pages
    over_budget: Mapping[str, str] = field(default_factory=dict)  # message id -> why it's long
    voice: VoiceBook = field(default_factory=VoiceBook)  # how a phone call speaks (voice.yaml)

    @property
    def menu_flows(self) -> tuple[Flow, ...]:
        """The flows on the topic menu, in menu order."""
        return tuple(f for f in self.flows if f.menu)

    def flow(self, flow_id: str) -> Flow:
        """The flow with this id."""
        return next(f for f in self.flows if f.id == flow_id)

    def text(self, message_id: str, language: str, **values: str) -> str:
        """A shared message in a language, with its placeholders filled."""
        return fill(self.messages[message_id][language], values)

    def page_text(self, key: str, language: str, **values: str) -> str:
        """Words for a public page, in a language, with its placeholders filled."""
        return fill(self.pages[key][language], values)


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace `{name}` placeholders; unknown names were rejected at load."""
    return string.Formatter().vformat(template, (), _Defaulting(values))


class _Defaulting(dict[str, str]):
    """Leave a placeholder visible rather than crash mid-conversation."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def normalise(text: str) -> str:
    """Fold case, width and spacing, and strip edge punctuation, for keyword matching."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = re.sub(r"\s+", " ", text)
    return text.strip(" \t.,;:!?¡¿。！？，、\"'()[]*~")


def with_base_words(data: Any, languages: Sequence[str]) -> Any:
    """Give a variant (zh-Hant) the word and phrase lists of its base (zh) when the base is not
    offered itself; the data is changed in place and returned.

    zh-Hant lists only what Simplified zh does not already say (Cantonese, Taiwanese usage), and
    Traditional text is matched in Simplified; so a line offering zh-Hant alone must still read
    "救命" through zh's phrases, labelled zh-Hant so that every answer is in an offered language.
    Texts are never inherited: every offered language has its own.
    """
    inherit = {
        code: code.split("-", 1)[0]
        for code in languages
        if "-" in code and code.split("-", 1)[0] not in languages
    }
    if not inherit:
        return data
    if isinstance(data, dict):
        for variant, base in inherit.items():
            if isinstance(data.get(base), list):
                own = data.get(variant)
                data[variant] = [*(own if isinstance(own, list) else []), *data[base]]
        for value in data.values():
            with_base_words(value, languages)
    elif isinstance(data, list):
        for item in data:
            with_base_words(item, languages)
    return data


def _load_yaml(text: str) -> Any:
    """Parse with libyaml where PyYAML has it: ten times faster, and start-up reads it all."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FlowError(f"{path.name}: missing from {path.parent}")
    try:
        data = _load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FlowError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise FlowError(f"{path.name}: the file must be a mapping")
    if data.get("version") != 1:
        raise FlowError(f"{path.name}: version must be 1 (got {data.get('version')!r})")
    return data


class _Checker:
    """Collects every problem in one pass so an editor fixes them all at once."""

    def __init__(self, languages: Sequence[str]) -> None:
        self.languages = tuple(languages)
        self.problems: list[str] = []

    def fail(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def text(self, where: str, value: Any, limit: int = MAX_TEXT_CHARS) -> dict[str, str]:
        if not isinstance(value, dict):
            self.fail(where, "must be a mapping of language to text")
            return {}
        out: dict[str, str] = {}
        for lang in self.languages:
            item = value.get(lang)
            if not isinstance(item, str) or not item.strip():
                self.fail(where, f"missing text in '{lang}'")
                continue
            if len(item) > limit:
                self.fail(where, f"'{lang}' text is {len(item)} characters (limit {limit})")
            names = {n for _, n, _, _ in string.Formatter().parse(item) if n}
            if names - PLACEHOLDERS:
                self.fail(
                    where, f"'{lang}' uses unknown placeholders {sorted(names - PLACEHOLDERS)}"
                )
            out[lang] = item.strip()
        return out

    def ident(self, where: str, value: Any) -> str:
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            self.fail(where, f"id {value!r} must be lower_snake_case")
            return str(value)
        return value

    def words(self, where: str, value: Any, require_all: bool) -> dict[str, tuple[str, ...]]:
        if not isinstance(value, dict):
            self.fail(where, "must be a mapping of language to a list of words")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for lang, words in value.items():
            if lang != "any" and lang not in self.languages:
                continue
            if not isinstance(words, list) or not all(isinstance(w, str | int) for w in words):
                self.fail(where, f"'{lang}' must be a list of words")
                continue
            cleaned = tuple(normalise(str(w)) for w in words if normalise(str(w)))
            too_long = [w for w in cleaned if len(w) > MAX_KEYWORD_CHARS]
            if too_long:
                self.fail(where, f"'{lang}' has over-long keywords {too_long}")
            out[lang] = cleaned
        if require_all:
            for lang in self.languages:
                if lang not in out and "any" not in out:
                    self.fail(where, f"missing words in '{lang}'")
        return out


def _load_flow(path: Path, check: _Checker, message_ids: set[str]) -> Flow | None:
    data = with_base_words(_read(path), check.languages)
    where = path.name
    flow_id = check.ident(f"{where} id", data.get("id"))
    if f"{flow_id}.yaml" != path.name:
        check.fail(where, f"id {flow_id!r} must match the file name")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        check.fail(where, "steps must be a non-empty list")
        raw_steps = []
    if len(raw_steps) > MAX_STEPS:
        check.fail(where, f"{len(raw_steps)} steps (limit {MAX_STEPS})")
    steps: list[Step] = []
    for index, raw in enumerate(raw_steps):
        step = _load_step(f"{where} step {index + 1}", raw, check, message_ids, steps)
        if step is not None:
            steps.append(step)
    menu = data.get("menu")
    if not isinstance(menu, int) or not 0 <= menu <= MAX_CHOICES:
        check.fail(where, f"menu must be a number from 0 (not on the menu) to {MAX_CHOICES}")
        menu = 0
    declined = data.get("end_declined")
    return Flow(
        id=flow_id,
        version=int(data["version"]),
        menu=menu,
        label=check.text(f"{where} label", data.get("label"), MAX_LABEL_CHARS),
        steps=tuple(steps),
        end=check.text(f"{where} end", data.get("end")),
        keywords=check.words(f"{where} keywords", data.get("keywords", {}), require_all=False),
        end_declined=None if declined is None else check.text(f"{where} end_declined", declined),
        names=_names(f"{where} names", data.get("names"), check),
        start_when_named=bool(data.get("start_when_named", False)),
    )


def _load_step(
    where: str, raw: Any, check: _Checker, message_ids: set[str], earlier: list[Step]
) -> Step | None:
    if not isinstance(raw, dict):
        check.fail(where, "must be a mapping")
        return None
    step_id = check.ident(where, raw.get("id"))
    where = f"{where} ({step_id})"
    kind = raw.get("type")
    if kind not in STEP_TYPES:
        check.fail(where, f"type {kind!r} is not one of {sorted(STEP_TYPES)}")
        return None
    if any(s.id == step_id for s in earlier):
        check.fail(where, "id is used twice in this flow")
    text: dict[str, str] = {}
    raw_text = raw.get("text")
    if isinstance(raw_text, str):
        if raw_text not in message_ids:
            check.fail(where, f"text refers to unknown message {raw_text!r}")
        text = {"ref": raw_text}
    elif kind in WAITING_TYPES:
        text = check.text(f"{where} text", raw_text)
    choices = _load_choices(where, raw.get("choices"), check) if kind == "choice" else ()
    source = raw.get("from")
    if kind == "knowledge" and not any(s.id == source and s.type == "choice" for s in earlier):
        check.fail(where, f"from must name an earlier choice step, not {source!r}")
    when = raw.get("when")
    when_pair: tuple[str, str] | None = None
    if when is not None:
        if not isinstance(when, dict) or not {"step", "is"} <= set(when):
            check.fail(where, "when must be {step: <earlier step id>, is: <choice id>}")
        elif not any(s.id == when["step"] for s in earlier):
            check.fail(where, f"when refers to {when['step']!r}, which is not an earlier step")
        else:
            when_pair = (str(when["step"]), str(when["is"]))
    return Step(
        id=step_id,
        type=kind,
        text=text,
        optional=bool(raw.get("optional", kind in {"place", "neighbourhood"})),
        choices=choices,
        source=str(source) if source else None,
        when=when_pair,
    )


def _names(where: str, raw: Any, check: _Checker) -> dict[str, tuple[str, ...]]:
    """Phrases (in the triage notation) per language; checked when the catalog compiles them."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
        check.fail(where, "must be a mapping of language to a list of phrases")
        return {}
    return {
        str(lang): tuple(str(p) for p in phrases)
        for lang, phrases in raw.items()
        if lang == "any" or lang in check.languages
    }


def _load_choices(where: str, raw: Any, check: _Checker) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_CHOICES:
        check.fail(where, f"choices must be a list of 2 to {MAX_CHOICES}")
        return ()
    choices = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            check.fail(f"{where} choice {index + 1}", "must be a mapping")
            continue
        choice_id = check.ident(f"{where} choice {index + 1}", item.get("id"))
        label = check.text(f"{where} choice {choice_id}", item.get("label"), MAX_LABEL_CHARS)
        names = _names(f"{where} choice {choice_id} names", item.get("names"), check)
        choices.append(Choice(choice_id, label, names))
    if len({c.id for c in choices}) != len(choices):
        check.fail(where, "choice ids must be unique")
    return tuple(choices)


def load_catalog(languages: Sequence[str], directory: Path | None = None) -> Catalog:
    """Read and validate every flow file; raise FlowError listing every problem found."""
    directory = directory or FLOWS_DIR
    check = _Checker(languages)
    messages_data = _read(directory / "messages.yaml")
    raw_messages = messages_data.get("messages") or {}
    messages = {
        check.ident(f"messages.yaml {key}", key): check.text(f"messages.yaml {key}", value)
        for key, value in raw_messages.items()
    }
    keywords_data = with_base_words(_read(directory / "keywords.yaml"), languages)
    raw_keywords = keywords_data.get("keywords") or {}
    keywords = {
        group: check.words(f"keywords.yaml {group}", raw_keywords.get(group), require_all=True)
        for group in KEYWORD_GROUPS
    }
    language_words = check.words("keywords.yaml languages", keywords_data.get("languages"), True)
    language_markers = check.words(
        "keywords.yaml markers", keywords_data.get("markers") or {}, require_all=False
    )
    flows = [
        flow
        for path in sorted((directory / "topics").glob("*.yaml"))
        if (flow := _load_flow(path, check, set(messages))) is not None
    ]
    flows.sort(key=lambda f: f.menu)
    on_menu = [f.menu for f in flows if f.menu]
    if len(set(on_menu)) != len(on_menu):
        check.fail("topics", "two flows share a menu number")
    if not flows:
        check.fail("topics", "no flows found")
    knowledge_data = _read(directory / "knowledge.yaml")
    knowledge = {
        key: check.text(f"knowledge.yaml {key}", value)
        for key, value in (knowledge_data.get("answers") or {}).items()
    }
    pages_file = directory / "pages.yaml"
    pages_data = _read(pages_file if pages_file.exists() else FLOWS_DIR / "pages.yaml")
    pages = {
        check.ident(f"pages.yaml {key}", key): check.text(f"pages.yaml {key}", value)
        for key, value in (pages_data.get("pages") or {}).items()
    }
    # Safety must never vanish with a custom folder: without its own triage.yaml, it uses ours.
    triage_file = directory / "triage.yaml"
    if not triage_file.exists():
        triage_file = FLOWS_DIR / "triage.yaml"
    triage, problems = _triage(triage_file.read_text(encoding="utf-8"), tuple(languages))
    check.problems.extend(problems)
    names: dict[str, Patterns] = {}
    for flow in flows:
        named = [(flow.id, flow.names)]
        named += [(f"{flow.id}.{c.id}", c.names) for s in flow.steps for c in s.choices]
        for key, raw in named:
            if raw:
                names[key], found = compile_names(f"{key} names", raw, languages, triage)
                check.problems.extend(found)
    voice_file = directory / "voice.yaml"
    voice = load_voice(
        voice_file if voice_file.exists() else FLOWS_DIR / "voice.yaml", languages, check.fail
    )
    if check.problems:
        raise FlowError("flows are not valid:\n  " + "\n  ".join(check.problems))
    return Catalog(
        languages=tuple(languages),
        messages=messages,
        keywords=keywords,
        language_words=language_words,
        language_markers={k: v for k, v in language_markers.items() if k != "any"},
        flows=tuple(flows),
        knowledge=knowledge,
        triage=triage,
        names=names,
        pages=pages,
        over_budget={
            key: str(value["over_budget"])
            for key, value in raw_messages.items()
            if isinstance(value, dict) and value.get("over_budget")
        },
        voice=voice,
    )


@functools.lru_cache(maxsize=8)
def _triage(text: str, languages: tuple[str, ...]) -> tuple[Triage, list[str]]:
    """Compile triage.yaml once per content and languages: a thousand phrases take a while."""
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        return Triage.empty(), [f"triage.yaml: not valid YAML: {exc}"]
    if not isinstance(data, dict) or data.get("version") != 1:
        return Triage.empty(), ["triage.yaml: must be a mapping with version: 1"]
    return load_triage(with_base_words(data, languages), languages)


def step_text(catalog: Catalog, step: Step, language: str) -> str:
    """A step's question: its own text, or the shared message it refers to."""
    if "ref" in step.text:
        return catalog.messages[step.text["ref"]][language]
    return step.text[language]
