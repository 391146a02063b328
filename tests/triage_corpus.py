"""The triage corpus: messages written by native-quality writers, and how the line reads them.

`tests/data/triage/<lang>.tsv` holds the `tune` and `test` splits (the test split was measured
blind once, then tuned on; its first-look figures are in the closing note), `more/<lang>.tsv`
a second tuning set (`tune2`), and `heldout/<lang>.tsv` a set nobody tuned on.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.understanding import Understanding

DATA = Path(__file__).resolve().parent / "data" / "triage"
CLASSES = ("emergency", "crisis", "violence", "stop", "start")
ACTING = frozenset(CLASSES)  # on an ordinary message, any of these is a false alarm
SPLITS = {"tune": "", "test": "", "tune2": "more", "heldout": "heldout"}


@dataclass(frozen=True)
class Row:
    """One message and the classes its writer gave it ("ordinary" for none)."""

    language: str
    split: str
    labels: tuple[str, ...]
    text: str


@dataclass
class Score:
    """Recall per class and false alarms on ordinary messages, with what went wrong."""

    found: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    ordinary: int = 0
    false_alarms: int = 0
    misses: list[tuple[str, str]] = field(default_factory=list)
    alarms: list[tuple[tuple[str, ...], str]] = field(default_factory=list)

    def recall(self, name: str) -> float | None:
        return self.found[name] / self.total[name] if self.total[name] else None

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.ordinary if self.ordinary else 0.0


def languages() -> list[str]:
    """The languages the corpus has files for."""
    return sorted(path.stem for path in DATA.glob("*.tsv"))


def rows(splits: Iterable[str], langs: Sequence[str] | None = None) -> list[Row]:
    """The corpus rows of these splits, in these languages (all by default)."""
    out: list[Row] = []
    wanted = set(splits)
    for language in langs or languages():
        for folder in dict.fromkeys(SPLITS[s] for s in wanted):
            path = DATA / folder / f"{language}.tsv"
            if not path.exists():
                continue
            with path.open(encoding="utf-8", newline="") as handle:
                for item in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                    if item["split"] in wanted:
                        labels = tuple(item["class"].split(","))
                        out.append(Row(language, item["split"], labels, item["text"]))
    return out


def score(understanding: Understanding, corpus: Iterable[Row]) -> Score:
    """Read every row as the engine would and count what was caught and what was not."""
    result = Score()
    for row in corpus:
        classes = understanding.read(row.text).classes
        if row.labels == ("ordinary",):
            result.ordinary += 1
            wrong = tuple(c for c in classes if c in ACTING)
            if wrong:
                result.false_alarms += 1
                result.alarms.append((wrong, row.text))
            continue
        for label in row.labels:
            result.total[label] += 1
            if label in classes:
                result.found[label] += 1
            else:
                result.misses.append((label, row.text))
    return result
