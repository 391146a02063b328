"""Translators' round trip in gettext: flow files out as .po, translations back in, checked.

Agencies' translators (staff, a language bank, a community partner) work in Poedit, Weblate or
any gettext tool, not in YAML. `export_po` writes one catalog per flow file: the English as the
msgid, the unit's id as msgctxt (so two identical English texts stay two entries), and the
comment beside the text plus its SMS budget for the translator. `import_po` splices the
translations back with `flows.sources`, validates the result as a whole, and writes nothing if
anything is wrong.

English changes are tracked in `translations.lock.tsv` beside the flows: for each language and
unit, a short hash of the English its translation was last checked against. When the English
changes, the next export marks that entry fuzzy; importing it un-fuzzied records the new hash.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import string
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polib

from bot.flowcheck import BUDGETS, DEFAULT_BUDGET, lint
from flows.catalog import FlowError, load_catalog
from flows.sources import SOURCE, Unit, Value, by_id, file_units, flow_files, splice, units

LOCK_FILE = "translations.lock.tsv"
FILE_HEADER = "X-Townline-File"
OPTIONAL = frozenset({"agency"})
"""Placeholders a translation may leave out: "the police" can stand for a long agency name."""
LIST_NOTE = "One entry per line: each line is a word or phrase residents may type."
_LOCK_HEAD = (
    "# The English each translation was last checked against: language, unit, hash.\n"
    "# Written by `townline flows import-po`; an entry whose English has changed since\n"
    "# comes out fuzzy in `townline flows export-po`. Do not edit by hand.\n"
)


class PoImportError(ValueError):
    """The .po files would leave the flows invalid; nothing was written. One problem per line."""


@dataclass
class ImportReport:
    """What an import changed and what it left alone, for the translator to read."""

    language: str = ""
    written: list[str] = field(default_factory=list)  # flow files that changed
    updated: int = 0  # entries whose text changed
    confirmed: int = 0  # entries unchanged but now checked against the current English
    skipped_fuzzy: int = 0
    untranslated: int = 0
    stale: list[str] = field(default_factory=list)  # exported from English that has changed since


def source_hash(value: Value) -> str:
    """A short, stable fingerprint of an English value."""
    raw = json.dumps(value, ensure_ascii=False)
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:10]


def read_lock(directory: Path) -> dict[str, dict[str, str]]:
    """language -> unit id -> hash of the English last checked."""
    path = directory / LOCK_FILE
    lock: dict[str, dict[str, str]] = {}
    if not path.exists():
        return lock
    for line in path.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            language, unit_id, digest = line.split("\t")
            lock.setdefault(language, {})[unit_id] = digest
    return lock


def write_lock(directory: Path, lock: Mapping[str, Mapping[str, str]]) -> None:
    """Sorted, one line per entry, so that it diffs well and an unchanged lock is unchanged."""
    lines = [
        f"{language}\t{unit_id}\t{digest}\n"
        for language in sorted(lock)
        for unit_id, digest in sorted(lock[language].items())
    ]
    (directory / LOCK_FILE).write_text(_LOCK_HEAD + "".join(lines), "utf-8")


def _joined(value: Value | None) -> str:
    if value is None:
        return ""
    return "\n".join(value) if isinstance(value, tuple) else value


def _parsed(unit: Unit, text: str) -> Value:
    if unit.is_list:
        return tuple(line.strip() for line in text.splitlines() if line.strip())
    return text.strip()


def _notes(unit: Unit, language: str) -> str:
    """What the translator needs beside the English: where it is used and what it may cost."""
    notes = [unit.comment] if unit.comment else []
    if unit.is_list:
        notes.append(LIST_NOTE)
        if unit.file == "keywords.yaml" and unit.path == "languages":
            notes.append(
                "Not a translation of English's words: the words that choose YOUR language,"
                " in it and in English. The first is shown to residents."
            )
        if unit.file == "triage.yaml":
            notes.append(
                "Phrases in the notation at the top of triage.yaml, for this language's own"
                " ways of saying it: not a translation word for word."
            )
    elif unit.file != "pages.yaml":
        budget = BUDGETS.get(language, DEFAULT_BUDGET)
        notes.append(
            f"Sent by SMS: at most {budget} segments with what is sent with it (160 characters"
            " each in plain Latin letters, 70 in other scripts; a little less when split)."
        )
    if unit.values.get(SOURCE) and "{" in _joined(unit.values[SOURCE]):
        notes.append("Keep the {placeholders} as they are, untranslated.")
    return "\n".join(notes)


def export_po(directory: Path, language: str) -> dict[str, polib.POFile]:
    """One .po catalog per flow file ("topics/safety.po"), English source, LANGUAGE target."""
    lock = read_lock(directory).get(language, {})
    catalogs: dict[str, polib.POFile] = {}
    for unit in units(directory):
        if SOURCE not in unit.values:
            continue
        name = unit.file.removesuffix(".yaml") + ".po"
        if name not in catalogs:
            po = polib.POFile(wrapwidth=0)
            po.metadata = {
                "Project-Id-Version": "Townline flows",
                "Language": language,
                "MIME-Version": "1.0",
                "Content-Type": "text/plain; charset=UTF-8",
                "Content-Transfer-Encoding": "8bit",
                FILE_HEADER: unit.file,
            }
            catalogs[name] = po
        english = unit.values[SOURCE]
        translated = unit.values.get(language) if language != SOURCE else None
        entry = polib.POEntry(
            msgctxt=unit.path,
            msgid=_joined(english),
            msgstr=_joined(translated),
            comment=_notes(unit, language),
            occurrences=[(unit.file, str(unit.line))],
        )
        checked = lock.get(f"{unit.file}:{unit.path}")
        if translated and checked is not None and checked != source_hash(english):
            entry.flags.append("fuzzy")
        catalogs[name].append(entry)
    return catalogs


def write_po(catalogs: Mapping[str, polib.POFile], out: Path) -> list[Path]:
    """Save the catalogs under out/, keeping the flow folder's layout."""
    written = []
    for name, po in catalogs.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        po.save(str(path))
        written.append(path)
    return written


def _placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"<unbalanced braces>"}


def import_po(directory: Path, files: Iterable[Path], languages: Sequence[str]) -> ImportReport:
    """Write the .po files' translations into the flows, after checking the whole result.

    `languages` are the ones the agency has configured; the catalog is checked with those and
    the imported language, as the line would load it. Fuzzy and empty entries are left out;
    an entry exported from an English text that has changed since is left out and listed.
    """
    found = by_id(list(units(directory)))
    changes: dict[str, dict[Unit, Value]] = {}
    confirmed: dict[str, str] = {}
    report = ImportReport()
    problems: list[str] = []
    for path in files:
        po = polib.pofile(str(path))
        language = po.metadata.get("Language", "").strip()
        flow_file = po.metadata.get(FILE_HEADER, "").strip()
        if not language or language == SOURCE:
            raise PoImportError(f"{path}: the header names no target language")
        if report.language and language != report.language:
            raise PoImportError(f"{path}: one language at a time ({report.language}, {language})")
        report.language = language
        for entry in po:
            if entry.obsolete:
                continue
            unit = found.get(f"{flow_file}:{entry.msgctxt}")
            if unit is None:
                problems.append(
                    f"{path}: {entry.msgctxt!r} is not in {flow_file or 'any flow file'}"
                )
                continue
            if "fuzzy" in entry.flags:
                report.skipped_fuzzy += 1
                continue
            if not entry.msgstr.strip():
                report.untranslated += 1
                continue
            if entry.msgid != _joined(unit.values[SOURCE]):
                report.stale.append(f"{unit.file}:{unit.path}")
                continue
            value = _parsed(unit, entry.msgstr)
            if not unit.is_list:
                missing = _placeholders(entry.msgid) - _placeholders(entry.msgstr) - OPTIONAL
                extra = _placeholders(entry.msgstr) - _placeholders(entry.msgid)
                if missing or extra:
                    problems.append(
                        f"{unit.file} {unit.path}: placeholders must match the English"
                        f" (missing {sorted(missing)}, unknown {sorted(extra)})"
                    )
                    continue
            changes.setdefault(unit.file, {})[unit] = value
            confirmed[f"{unit.file}:{unit.path}"] = source_hash(unit.values[SOURCE])
            if unit.values.get(language) == value:
                report.confirmed += 1
            else:
                report.updated += 1
    if problems:
        raise PoImportError("\n".join(problems))
    texts = {
        name: splice((directory / name).read_text("utf-8"), report.language, by_unit)
        for name, by_unit in changes.items()
    }
    _check(directory, texts, report.language, languages)
    for name, text in texts.items():
        path = directory / name
        if path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")
            report.written.append(name)
    if confirmed:
        lock = read_lock(directory)
        before = dict(lock.get(report.language, {}))
        lock.setdefault(report.language, {}).update(confirmed)
        if lock[report.language] != before or not (directory / LOCK_FILE).exists():
            write_lock(directory, lock)
    return report


def _check(
    directory: Path, texts: Mapping[str, str], language: str, languages: Sequence[str]
) -> None:
    """Load the changed flows in a scratch copy, as the line would; raise on any problem.

    Units the language has no text for yet are not problems while it is not configured: a
    translator may import a language a file at a time.
    """
    wanted = list(dict.fromkeys([*languages, language]))
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "flows"
        shutil.copytree(directory, copy)
        for name, text in texts.items():
            (copy / name).write_text(text, "utf-8")
        if language not in languages:
            _fill_with_english(copy, language)
        try:
            catalog = load_catalog(wanted, copy)
        except FlowError as error:
            raise PoImportError("\n".join(str(error).splitlines()[1:])) from None
        errors = [line for line in lint(catalog).report if "ERROR" in line]
        if errors:
            raise PoImportError("\n".join(errors))


def _fill_with_english(copy: Path, language: str) -> None:
    """Give a scratch copy's untranslated units their English, so the rest can be checked."""
    for path in flow_files(copy):
        name = path.relative_to(copy).as_posix()
        text = path.read_text("utf-8")
        gaps = {u: u.values[SOURCE] for u in file_units(name, text) if language not in u.values}
        if gaps:
            path.write_text(splice(text, language, gaps), "utf-8")
