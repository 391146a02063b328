"""Measure the language policy (bot.language) on labelled samples, to choose its thresholds.

    python bench/langid.py [--samples FILE] [--languages en,es,vi,zh] [--rivals all] [--sweep]

For every sample, decide_language runs as for a new resident (no explicit, stored or hint
language). A decision from the script or the detector counts as "accepted"; the default does
not. For a configured language an accepted text is correct if the language is right; a text in
an unconfigured language is correct only if it is not accepted, else it is a false accept.
Rows "first-N-words" are the first N words of each longer sentence: closer to SMS length.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # measure this checkout, whatever the venv has installed

import langdetect  # noqa: E402
import yaml  # noqa: E402
from langdetect import DetectorFactory, LangDetectException  # noqa: E402

from bot.language import (  # noqa: E402
    MIN_LETTERS,
    MIN_PROBABILITY,
    MIN_WORDS,
    Detector,
    LangdetectDetector,
    MarkedDetector,
    decide_language,
    langdetect_languages,
)

DEFAULT_SAMPLES = REPO_ROOT.parent / "shared" / "data" / "langid" / "samples.tsv"
ACCEPTED = frozenset({"script", "detected"})
BASELINE_STRIDE = 4
SWEEP_WORDS = (1, 2, 3, 4, 5)
SWEEP_LETTERS = (0, 8, 10, 12, 15, 20)
SWEEP_PROBABILITIES = (0.5, 0.8, 0.9, 0.99, 0.999)


@dataclass(frozen=True)
class Sample:
    """One labelled text."""

    lang: str
    kind: str
    text: str


@dataclass
class Tally:
    """Counts for one group of samples, so rows and totals are computed the same way."""

    n: int = 0
    accepted: int = 0
    correct_accepted: int = 0
    false_accepts: int = 0
    seconds: float = 0.0

    def add(self, other: Tally) -> None:
        """Fold another group into this one for totals."""
        self.n += other.n
        self.accepted += other.accepted
        self.correct_accepted += other.correct_accepted
        self.false_accepts += other.false_accepts
        self.seconds += other.seconds

    def cells(self) -> str:
        """Accepted share, precision of the accepted and false accepts, formatted for a row."""
        share = f"{self.accepted / self.n:6.1%}" if self.n else "     -"
        precision = f"{self.correct_accepted / self.accepted:.3f}" if self.accepted else "    -"
        return f"{self.n:5d} {share:>8} {precision:>9} {self.false_accepts:6d}"


class CachingDetector:
    """Remember answers so a threshold sweep pays for each detection once."""

    def __init__(self, inner: Detector) -> None:
        """Wrap a detector."""
        self.inner = inner
        self.cache: dict[str, tuple[str, float] | None] = {}

    def detect(self, text: str) -> tuple[str, float] | None:
        """The inner detector's answer, computed once per distinct text."""
        if text not in self.cache:
            self.cache[text] = self.inner.detect(text)
        return self.cache[text]


def read_samples(path: Path) -> list[Sample]:
    """Rows of a lang/kind/text TSV (quotes are text, not quoting)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Sample(row["lang"], row["kind"], row["text"]) for row in rows]


def sms_samples(languages: Sequence[str]) -> list[Sample]:
    """Residents' messages from the triage corpus's held-out split (nobody tuned language
    identification or triage on it), kind "sms": the only samples there are of ht and zh-Hant."""
    out = []
    for language in languages:
        path = REPO_ROOT / "tests" / "data" / "triage" / "heldout" / f"{language}.tsv"
        if path.exists():
            with path.open(encoding="utf-8", newline="") as handle:
                rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
                out += [Sample(language, "sms", row["text"]) for row in rows]
    return out


def markers(languages: Sequence[str]) -> dict[str, list[str]]:
    """flows/keywords.yaml's marker words of the configured languages, as the line loads them."""
    data = yaml.safe_load((REPO_ROOT / "flows" / "keywords.yaml").read_text(encoding="utf-8"))
    found = data.get("markers") or {}
    return {lang: [str(w) for w in found[lang]] for lang in languages if lang in found}


def prefixes(samples: Iterable[Sample], counts: Sequence[int]) -> list[Sample]:
    """The first N words of each sentence that has more than N: SMS-length texts."""
    derived = []
    for count in counts:
        for sample in samples:
            words = sample.text.split()
            if sample.kind == "sentences" and len(words) > count:
                derived.append(Sample(sample.lang, f"first-{count}-words", " ".join(words[:count])))
    return derived


def tally(
    samples: Sequence[Sample],
    languages: Sequence[str],
    detector: Detector,
    min_words: int = MIN_WORDS,
    min_letters: int = MIN_LETTERS,
    min_probability: float = MIN_PROBABILITY,
) -> dict[tuple[str, str], Tally]:
    """Run the policy on every sample; counts and time per (lang, kind)."""
    tallies: dict[tuple[str, str], Tally] = {}
    for sample in samples:
        start = time.perf_counter()
        decision = decide_language(
            sample.text,
            explicit=None,
            stored=None,
            hint=None,
            languages=languages,
            default=languages[0],
            detector=detector,
            min_words=min_words,
            min_letters=min_letters,
            min_probability=min_probability,
        )
        row = tallies.setdefault((sample.lang, sample.kind), Tally())
        row.seconds += time.perf_counter() - start
        row.n += 1
        if decision.source in ACCEPTED:
            row.accepted += 1
            if decision.language == sample.lang:
                row.correct_accepted += 1
            elif sample.lang not in languages:
                row.false_accepts += 1
    return tallies


def totals(
    tallies: dict[tuple[str, str], Tally], languages: Sequence[str]
) -> dict[tuple[str, str], Tally]:
    """Sums over configured and unconfigured languages, per kind and over all kinds."""
    sums: dict[tuple[str, str], Tally] = {}
    for (lang, kind), row in tallies.items():
        group = "configured" if lang in languages else "unconfigured"
        for key in ((group, kind), (group, "all"), ("everything", "all")):
            sums.setdefault(key, Tally()).add(row)
    return sums


def baseline_seconds(samples: Sequence[Sample]) -> dict[str, float]:
    """Mean seconds per kind of a bare langdetect.detect with all 55 profiles, seeded.

    Timed on every BASELINE_STRIDE-th text only: it is the slow part, and the mean is the same.
    """
    DetectorFactory.seed = 0
    langdetect.detect("warm up the global factory before timing")
    seconds: dict[str, list[float]] = {}
    for sample in samples[::BASELINE_STRIDE]:
        start = time.perf_counter()
        with contextlib.suppress(LangDetectException):  # e.g. emoji-only texts
            langdetect.detect(sample.text)
        seconds.setdefault(sample.kind, []).append(time.perf_counter() - start)
    return {kind: sum(times) / len(times) for kind, times in seconds.items()}


def print_timing(tallies: dict[tuple[str, str], Tally], bare: dict[str, float]) -> None:
    """Mean milliseconds per call of the policy and of bare langdetect, per kind and overall."""
    print(f"\n{'mean time/call':<16} {'calls':>5} {'policy ms':>9} {'bare ms':>8} {'ratio':>6}")
    calls: dict[str, int] = {}
    policy: dict[str, float] = {}  # total seconds
    for (_, kind), row in tallies.items():
        if kind in bare:
            calls[kind] = calls.get(kind, 0) + row.n
            policy[kind] = policy.get(kind, 0.0) + row.seconds
    baseline = {kind: bare[kind] * calls[kind] for kind in calls}  # estimated total seconds
    for kind, n, mine, theirs in [
        *((kind, calls[kind], policy[kind], baseline[kind]) for kind in sorted(calls)),
        ("all", sum(calls.values()), sum(policy.values()), sum(baseline.values())),
    ]:
        print(
            f"{kind:<16} {n:5d} {mine / n * 1e3:9.3f} {theirs / n * 1e3:8.3f} {mine / theirs:6.2f}"
        )
    print(
        "(bare = langdetect.detect with all 55 profiles, DetectorFactory.seed = 0,"
        f" timed on every {BASELINE_STRIDE}th text)"
    )


def print_table(tallies: dict[tuple[str, str], Tally], languages: Sequence[str]) -> None:
    """One row per language and kind, then the totals."""
    kinds = sorted({kind for _, kind in tallies}, key=lambda kind: (kind[0] == "f", kind))
    print(f"{'lang':<12} {'kind':<16} {'n':>5} {'accepted':>8} {'precision':>9} {'false':>6}")
    ordered = sorted({lang for lang, _ in tallies}, key=lambda lang: (lang not in languages, lang))
    for lang in ordered:
        for kind in kinds:
            if (lang, kind) in tallies:
                print(f"{lang:<12} {kind:<16} {tallies[(lang, kind)].cells()}")
    print()
    sums = totals(tallies, languages)
    for group in ("configured", "unconfigured", "everything"):
        for kind in (*kinds, "all"):
            if (group, kind) in sums:
                print(f"{group:<12} {kind:<16} {sums[(group, kind)].cells()}")


def sweep(samples: Sequence[Sample], languages: Sequence[str], detector: Detector) -> None:
    """Vary one threshold at a time around the chosen values and print what changes."""
    kinds = ("word-pairs", "first-3-words", "first-5-words", "sentences")
    samples = [sample for sample in samples if sample.kind in kinds]
    cached = CachingDetector(detector)
    chosen = (MIN_WORDS, MIN_LETTERS, MIN_PROBABILITY)
    points = sorted(
        {(words, MIN_LETTERS, MIN_PROBABILITY) for words in SWEEP_WORDS}
        | {(MIN_WORDS, letters, MIN_PROBABILITY) for letters in SWEEP_LETTERS}
        | {(MIN_WORDS, MIN_LETTERS, probability) for probability in SWEEP_PROBABILITIES}
    )
    print("\nsweep: configured accepted share and precision; unconfigured false accepts")
    print(f"{'words':>5} {'letters':>7} {'p':>6}  " + " ".join(f"{kind:>24}" for kind in kinds))
    for point in points:
        sums = totals(tally(samples, languages, cached, *point), languages)
        cells = []
        for kind in kinds:
            mine = sums.get(("configured", kind), Tally())
            other = sums.get(("unconfigured", kind), Tally())
            share = mine.accepted / mine.n if mine.n else 0.0
            precision = mine.correct_accepted / mine.accepted if mine.accepted else 1.0
            cells.append(f"{share:6.1%} {precision:.3f} FA {other.false_accepts:4d}")
        mark = "*" if point == chosen else " "
        words, letters, probability = point
        print(
            f"{words:5d} {letters:7d} {probability:6}{mark} "
            + " ".join(f"{cell:>24}" for cell in cells)
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table, the timing and optionally a threshold sweep."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--languages", default="en,es,vi,zh")
    parser.add_argument("--prefixes", default="3,5", help="also test first-N-words of sentences")
    parser.add_argument(
        "--rivals", default="", help="'all' or codes whose profiles may veto (default: none)"
    )
    parser.add_argument("--sweep", action="store_true", help="try other thresholds too")
    args = parser.parse_args(argv)

    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    rivals = langdetect_languages() if args.rivals == "all" else args.rivals.split(",")
    rivals = [code for code in rivals if code]
    samples = read_samples(args.samples) + sms_samples(languages)
    counts = [int(count) for count in args.prefixes.split(",") if count]
    derived = prefixes(samples, counts)
    detector = MarkedDetector(markers(languages), LangdetectDetector(languages, rivals=rivals))
    detector.detect("warm up the profiles before timing")

    print(f"samples: {args.samples} ({len(samples)} texts, {len(derived)} derived)")
    print(
        f"languages: {','.join(languages)} (default {languages[0]}); rivals: {len(rivals)};"
        f" MIN_WORDS={MIN_WORDS} MIN_LETTERS={MIN_LETTERS} MIN_PROBABILITY={MIN_PROBABILITY}\n"
    )
    tallies = tally(samples, languages, detector)
    print_table({**tallies, **tally(derived, languages, detector)}, languages)
    print_timing(tallies, baseline_seconds(samples))
    if args.sweep:
        sweep([*samples, *derived], languages, detector)


if __name__ == "__main__":
    main()
