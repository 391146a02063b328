"""The understanding step: what a message is, read once, before the engine decides anything.

The engine, the CLI's `townline triage` and `bench/triage.py` all call `Understanding.read`,
so what an agency tests on the command line is what residents get. The stored response is
always the resident's verbatim text; matching happens on a normalised copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.keywords import Keywords
from bot.language import script_language
from flows.catalog import Catalog
from flows.triage import Triage, names_in

SAFETY = ("emergency", "crisis", "violence")
"""Classes that get who to call, first and alone; in the order their replies are sent."""
CLASSES = (*SAFETY, "sensitive", "stop", "start", "help", "language", "menu", "meetings")
"""Every class `read` can report, in the order it reports them."""


@dataclass(frozen=True)
class Reading:
    """What a message is: its classes and, for each, the language of the words that showed it."""

    text: str
    classes: tuple[str, ...] = ()
    languages: Mapping[str, str | None] = field(default_factory=dict)
    chosen_language: str | None = None  # the language a `language` message names
    resumes: bool = False  # a whole "YES" that re-subscribes a resident who stopped

    def has(self, name: str) -> bool:
        """Whether the message belongs to this class."""
        return name in self.classes

    @property
    def safety(self) -> tuple[str, ...]:
        """The safety classes the message belongs to, in reply order."""
        return tuple(c for c in SAFETY if c in self.classes)

    def phrase_language(self, *names: str) -> str | None:
        """The language of the first of these classes (all of them if none is named) whose
        words belong to one language: what a too-short message is answered in."""
        for name in names or self.classes:
            if (language := self.languages.get(name)) is not None:
                return language
        return None


class Understanding:
    """The compiled phrases and keywords of one catalog; `read` is the one door."""

    def __init__(self, catalog: Catalog) -> None:
        self.triage: Triage = catalog.triage
        self.keywords = Keywords(catalog)
        self._names = catalog.names
        self._menu = tuple(f.id for f in catalog.menu_flows)
        self._languages = catalog.languages

    def _script_variant(self, language: str | None, text: str) -> str | None:
        """Chinese words are listed in Simplified: Traditional text means zh-Hant where offered."""
        if language is None or not language.startswith("zh"):
            return language
        return script_language(text, self._languages) or language

    def named(self, key: str, text: str) -> bool:
        """Whether the text names this topic ("technology") or choice ("technology.drones")."""
        patterns = self._names.get(key)
        return patterns is not None and names_in(patterns, self.triage.text(text))

    def topics_named(self, text: str) -> tuple[str, ...]:
        """The menu's topics the text names, itself or through one of its choices."""
        named = []
        for flow_id in self._menu:
            keys = [k for k in self._names if k == flow_id or k.startswith(f"{flow_id}.")]
            if any(self.named(key, text) for key in keys):
                named.append(flow_id)
        return tuple(named)

    def read(self, text: str) -> Reading:
        """Read one message; the text itself is never changed."""
        found = self.triage.classes(text)
        if any(name in found for name in SAFETY):
            # "Stop! he has a knife" is not an opt-out: with danger in the message, only a
            # message that is nothing but an opt-out opts out.
            if "stop" in found and not self.triage.whole_message("stop", text):
                del found["stop"]
            found.pop("start", None)
        if "violence" in found or "crisis" in found:
            found.pop("sensitive", None)  # the writer's own: it has its class already
        chosen: str | None = None
        for group, name in (("help", "help"), ("menu", "menu"), ("language", "language")):
            if (hit := self.keywords.exact(group, text)) is not None:
                found.setdefault(name, hit.language)
                if name == "language":
                    chosen = hit.language
        if (flow := self.keywords.flow_keyword(text)) is not None and flow[0] == "meetings":
            found.setdefault("meetings", flow[1])
        if "help" in found:
            # HELP alone is the carriers' keyword, and also what a frightened person types:
            # classed as both; the engine answers with the help text, which opens with 911.
            found.setdefault("emergency", found["help"])
        classes = tuple(c for c in CLASSES if c in found)
        return Reading(
            text=text,
            classes=classes,
            languages={c: self._script_variant(found[c], text) for c in classes},
            chosen_language=chosen,
            resumes=self.triage.resumes(text),
        )
