"""`townline flows check` reports SMS cost and flags characters that make it needlessly dearer."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.flowcheck import lint
from flows.catalog import FLOWS_DIR, Catalog, load_catalog


def _catalog_with(tmp_path: Path, old: str, new: str) -> Catalog:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = target / "messages.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return load_catalog(("en", "es", "vi", "zh"), target)


def test_the_shipped_flows_have_no_errors_and_no_needless_ucs2() -> None:
    findings = lint(load_catalog(("en", "es", "vi", "zh")))
    assert (findings.errors, findings.warnings) == (0, 0)
    assert any(
        "messages.welcome" in line and " en  GSM-7 1 seg" in line for line in findings.report
    )


def test_a_curly_quote_in_english_is_flagged(tmp_path: Path) -> None:
    catalog = _catalog_with(tmp_path, "We're listening", "We\u2019re listening")
    findings = lint(catalog)
    [line] = [line for line in findings.report if "WARNING" in line]
    assert line.startswith("messages.welcome")
    assert "'\u2019'" in line


def test_english_over_two_segments_is_an_error(tmp_path: Path) -> None:
    long_text = "We read every message. " * 15
    catalog = _catalog_with(tmp_path, "We read every message.", long_text.strip())
    findings = lint(catalog)
    assert findings.errors == 1
    assert any("ERROR: over 2 segments in en" in line for line in findings.report)


def test_a_message_may_go_over_budget_only_when_it_says_why(tmp_path: Path) -> None:
    long_es = "Gracias por escribirnos; leemos con atención cada mensaje que recibimos. " * 4
    over = _catalog_with(
        tmp_path / "a", '    es: "Gracias, también lo guardamos."', f'    es: "{long_es.strip()}"'
    )
    assert any(
        "kept_more" in line and "ERROR: over 3 segments in es" in line for line in lint(over).report
    )
    said_why = _catalog_with(
        tmp_path / "b",
        '    es: "Gracias, también lo guardamos."',
        f'    es: "{long_es.strip()}"\n    over_budget: "a test of the note"',
    )
    findings = lint(said_why)
    assert findings.errors == 0
    assert any(
        "kept_more" in line and "(over 3: a test of the note)" in line for line in findings.report
    )


def test_the_report_ends_with_what_a_typical_conversation_costs() -> None:
    findings = lint(load_catalog(("en", "es", "vi", "zh")))
    assert set(findings.typical) == {"en", "es", "vi", "zh"}
    assert findings.report[-1].startswith("a typical conversation (a safety concern), segments:")
    assert all(0 < n <= 12 for n in findings.typical.values())


def test_a_word_that_would_mean_two_things_is_an_error(tmp_path: Path) -> None:
    """A translator's "sí" in both yes and skip, or "中文" naming two languages, fails the check."""
    copy = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    keywords = copy / "keywords.yaml"
    text = keywords.read_text("utf-8")
    text = text.replace("    es: [saltar, omitir,", "    es: [saltar, sí, omitir,", 1)
    text = text.replace("  vi: [TIẾNG VIỆT,", "  vi: [ESPAÑOL, TIẾNG VIỆT,", 1)
    keywords.write_text(text, "utf-8")
    findings = lint(load_catalog(("en", "es", "vi", "zh"), copy))
    errors = [line for line in findings.report if line.startswith("ERROR")]
    assert errors == [
        "ERROR: keyword 'si' is in both skip and yes",
        "ERROR: language word 'espanol' names es, vi",
    ]
    assert findings.errors == 2
