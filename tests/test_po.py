"""Translators' round trip: flows out as gettext .po files, back in through `import-po`, checked.

Each story works on a copy of the shipped flows folder, as an agency's translator would on
theirs, through the real commands (`townline flows export-po` and `import-po`).
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import polib
import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.po import LOCK_FILE, export_po
from flows.catalog import FLOWS_DIR, load_catalog
from flows.sources import file_units, units


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    """A copy of the shipped flows, as the agency's own folder."""
    copy = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return copy


def _townline(flows: Path, *args: str, languages: str = "en,es,vi,zh") -> Result:
    env = {"TOWNLINE_FLOWS_DIR": str(flows), "TOWNLINE_LANGUAGES": languages}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _same_tree(a: Path, b: Path) -> bool:
    """Every file byte for byte (filecmp's shallow mode trusts sizes and times)."""
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    other = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return names == other and not mismatch and not errors


def _entry(po_dir: Path, name: str, context: str) -> tuple[polib.POFile, polib.POEntry]:
    po = polib.pofile(str(po_dir / name))
    entry = po.find(context, by="msgctxt")
    assert entry is not None, context
    return po, entry


def test_the_round_trip_leaves_the_flows_byte_identical_when_nothing_changed(
    flows: Path, tmp_path: Path
) -> None:
    before = tmp_path / "before"
    shutil.copytree(flows, before)
    for language in ("es", "vi", "zh"):
        out = tmp_path / "po" / language
        exported = _townline(flows, "flows", "export-po", "--language", language, "--out", str(out))
        assert exported.exit_code == 0, exported.output
        assert "0 untranslated, 0 fuzzy" in exported.output
        imported = _townline(flows, "flows", "import-po", str(out))
        assert imported.exit_code == 0, imported.output
        assert "files changed: none" in imported.output
    assert _same_tree(flows, before)


def test_one_po_file_per_flow_file_with_ids_comments_and_budgets(
    flows: Path, tmp_path: Path
) -> None:
    out = tmp_path / "po"
    _townline(flows, "flows", "export-po", "--language", "es", "--out", str(out))
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.po"))
    flow_names = sorted(
        p.relative_to(flows).with_suffix(".po").as_posix()
        for p in [*flows.glob("*.yaml"), *flows.glob("topics/*.yaml")]
        if p.name != "voice.yaml"  # spoken words: not in the .po round trip yet
    )
    assert names == flow_names
    po, entry = _entry(out, "messages.po", "messages.welcome")
    assert po.metadata["Language"] == "es"
    assert entry.msgid.startswith("Hi, this is the {agency} community line")
    assert entry.msgstr.startswith("Hola")
    assert "at most 3 segments" in entry.comment
    assert "{placeholders}" in entry.comment
    assert entry.occurrences == [("messages.yaml", "7")]
    _, words = _entry(out, "keywords.po", "keywords.skip")
    assert "saltar" in words.msgstr.splitlines()
    assert "One entry per line" in words.comment


def test_an_english_edit_comes_out_fuzzy_until_a_translator_confirms_it(
    flows: Path, tmp_path: Path
) -> None:
    messages = flows / "messages.yaml"
    messages.write_text(
        messages.read_text("utf-8").replace(
            'en: "Not for emergencies: call 911."',
            'en: "This line is not for emergencies: call 911."',
        ),
        "utf-8",
    )
    out = tmp_path / "po"
    _townline(flows, "flows", "export-po", "--language", "es", "--out", str(out))
    po, entry = _entry(out, "messages.po", "messages.not_emergency_note")
    assert "fuzzy" in entry.flags
    assert entry.msgstr == "No es para emergencias: llame al 911."
    assert [e.msgctxt for e in po.fuzzy_entries()] == ["messages.not_emergency_note"]

    # Imported as it is, still fuzzy: left out, and still fuzzy next time.
    result = _townline(flows, "flows", "import-po", str(out / "messages.po"))
    assert "1 fuzzy" in result.output
    again = tmp_path / "again"
    _townline(flows, "flows", "export-po", "--language", "es", "--out", str(again))
    assert "fuzzy" in _entry(again, "messages.po", "messages.not_emergency_note")[1].flags

    # The translator updates it and clears the flag, as Poedit does on "needs work" off.
    entry.msgstr = "Esta línea no es para emergencias: llame al 911."
    entry.flags.remove("fuzzy")
    po.save()
    result = _townline(flows, "flows", "import-po", str(out / "messages.po"))
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output
    catalog = load_catalog(("en", "es"), flows)
    assert catalog.text("not_emergency_note", "es") == entry.msgstr
    third = tmp_path / "third"
    _townline(flows, "flows", "export-po", "--language", "es", "--out", str(third))
    assert "fuzzy" not in _entry(third, "messages.po", "messages.not_emergency_note")[1].flags


def test_a_new_language_is_imported_as_lines_beside_the_others(flows: Path, tmp_path: Path) -> None:
    """A language the flows do not have yet: every text and list, from .po to a loadable catalog."""
    out = tmp_path / "po"
    _townline(flows, "flows", "export-po", "--language", "xx", "--out", str(out))
    spanish = {(u.file, u.path): u.values["es"] for u in units(flows)}
    for path in out.rglob("*.po"):
        po = polib.pofile(str(path))
        for entry in po:
            value = spanish[(entry.occurrences[0][0], entry.msgctxt)]
            if entry.msgctxt == "languages":  # the words that choose it are its own
                value = ("XXISH", "in xxish")
            entry.msgstr = "\n".join(value) if isinstance(value, tuple) else value
        po.save()
    result = _townline(flows, "flows", "import-po", str(out))
    assert result.exit_code == 0, result.output
    catalog = load_catalog(("en", "xx"), flows)
    assert catalog.text("welcome", "xx", agency="A").startswith("Hola, este es el canal")
    text = (flows / "topics" / "safety.yaml").read_text("utf-8")
    assert '\n  xx: "Seguridad"\n# Phrases that name this topic' in text  # after the last
    unit = next(
        u
        for u in file_units("triage.yaml", (flows / "triage.yaml").read_text("utf-8"))
        if u.path == "classes.emergency.anywhere"
    )
    assert unit.values["xx"] == unit.values["es"]
    lock = (flows / LOCK_FILE).read_text("utf-8").splitlines()
    assert any(line.startswith("xx\ttopics/safety.yaml:label\t") for line in lock)


@pytest.mark.parametrize(
    ("context", "msgstr", "problem"),
    [
        ("messages.welcome", "Hola {agencia}", "placeholders must match"),
        ("messages.help", "Ayuda, escriba {count}", "placeholders must match"),
    ],
)
def test_a_bad_translation_is_refused_and_nothing_is_written(
    flows: Path, tmp_path: Path, context: str, msgstr: str, problem: str
) -> None:
    before = tmp_path / "before"
    shutil.copytree(flows, before)
    out = tmp_path / "po"
    _townline(flows, "flows", "export-po", "--language", "es", "--out", str(out))
    po, entry = _entry(out, "messages.po", context)
    entry.msgstr = msgstr
    po.save()
    result = _townline(flows, "flows", "import-po", str(out / "messages.po"))
    assert result.exit_code == 1
    assert problem in result.output
    assert _same_tree(flows, before)


def test_a_triage_phrase_that_breaks_the_notation_is_refused(flows: Path, tmp_path: Path) -> None:
    out = tmp_path / "po"
    _townline(flows, "flows", "export-po", "--language", "es", "--out", str(out))
    po, entry = _entry(out, "triage.po", "classes.emergency.anywhere")
    entry.msgstr += "\nalguien (entró"
    po.save()
    result = _townline(flows, "flows", "import-po", str(out / "triage.po"))
    assert result.exit_code == 1
    assert "unbalanced parentheses" in result.output


def test_a_message_over_its_sms_budget_is_refused(flows: Path, tmp_path: Path) -> None:
    out = tmp_path / "po"
    _townline(flows, "flows", "export-po", "--language", "es", "--out", str(out))
    po, entry = _entry(out, "messages.po", "messages.kept_more")
    entry.msgstr = "Gracias, también lo guardamos. " * 15  # 465 characters: 4 segments
    po.save()
    result = _townline(flows, "flows", "import-po", str(out / "messages.po"))
    assert result.exit_code == 1
    assert "over 3 segments in es" in result.output


def test_po_files_keep_english_text_apart_from_its_context(flows: Path) -> None:
    """Two identical English texts in different places stay two entries (msgctxt)."""
    catalogs = export_po(flows, "es")
    for po in catalogs.values():
        keys = [(e.msgctxt, e.msgid) for e in po]
        assert len(keys) == len(set(keys))
        assert len({e.msgctxt for e in po}) == len(po)
