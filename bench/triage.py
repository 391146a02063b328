"""How well the line understands what residents write: recall per class, false alarms.

    python bench/triage.py                 # every split, per language and in total
    python bench/triage.py --misses tune   # list what the tuning splits miss
    python bench/triage.py --languages en,ar   # only these languages

Splits: `tune` and `tune2` were tuned on; `test` was measured blind once, then tuned on;
`heldout` was never tuned on and is the honest figure for wordings nobody has seen. Speed is
printed as the time to read one message, against a bare normalisation in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.understanding import Understanding
from flows.catalog import load_catalog
from flows.phrases import prepare
from tests.triage_corpus import CLASSES, Score, languages, rows, score

GROUPS = {"tune": ("tune", "tune2"), "test": ("test",), "heldout": ("heldout",)}


def _cell(value: float | None, found: int, total: int) -> str:
    return "     -    " if value is None else f"{value:6.1%} {found:>3}/{total:<3}"[:14]


def table(title: str, scores: dict[str, Score]) -> None:
    print(f"\n{title}")
    print("lang  " + "".join(f"{c:>15}" for c in CLASSES) + "   false alarms")
    total = Score()
    for language, result in scores.items():
        cells = "".join(
            f"{_cell(result.recall(c), result.found[c], result.total[c]):>15}" for c in CLASSES
        )
        fa = f"{result.false_alarm_rate:6.1%} {result.false_alarms}/{result.ordinary}"
        print(f"{language:<6}{cells}   {fa}")
        total.found.update(result.found)
        total.total.update(result.total)
        total.ordinary += result.ordinary
        total.false_alarms += result.false_alarms
    cells = "".join(
        f"{_cell(total.recall(c), total.found[c], total.total[c]):>15}" for c in CLASSES
    )
    fa = f"{total.false_alarm_rate:6.1%} {total.false_alarms}/{total.ordinary}"
    print(f"{'all':<6}{cells}   {fa}")


def speed(understanding: Understanding) -> None:
    texts = [row.text for row in rows(GROUPS["tune"])]
    start = time.perf_counter()
    for text in texts:
        prepare(text)
    bare = time.perf_counter() - start
    start = time.perf_counter()
    for text in texts:
        understanding.read(text)
    full = time.perf_counter() - start
    per = full / len(texts) * 1e6
    print(f"\nreading one message: {per:.0f} µs ({full / bare:.1f}x a bare normalisation)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", choices=sorted(GROUPS), help="list what this split misses")
    parser.add_argument(
        "--languages", help="comma-separated, e.g. en,ar (default: every language in the corpus)"
    )
    args = parser.parse_args()
    langs = args.languages.split(",") if args.languages else languages()
    understanding = Understanding(load_catalog(langs))
    for name, splits in GROUPS.items():
        scores = {lang: score(understanding, rows(splits, [lang])) for lang in langs}
        table(f"split: {name} ({', '.join(splits)})", scores)
        if args.misses == name:
            for result in scores.values():
                for label, text in result.misses:
                    print(f"  missed {label:<10} {text}")
                for wrong, text in result.alarms:
                    print(f"  false {','.join(wrong):<11} {text}")
    speed(understanding)


if __name__ == "__main__":
    main()
