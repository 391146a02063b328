"""`townline export`, `db upgrade` and `flows check`: the stored words and the data files."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from bot.cli.common import runtime


def _region(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An ISO country libphonenumber knows ("US", "MX"), upper-cased; None: the setting's."""
    from phonenumbers import SUPPORTED_REGIONS

    if value is None:
        return None
    region = value.upper()
    if region not in SUPPORTED_REGIONS:
        raise click.BadParameter(f"{value!r} is not a country code such as US, MX or VN")
    return region


@click.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "--redact",
    is_flag=True,
    help="A release copy for a records request: phone numbers, e-mails, handles and house "
    "numbers masked in residents' words, sensitive disclosures withheld, days not times. "
    "Recorded in the audit log as records.release.",
)
@click.option(
    "--region",
    default=None,
    callback=_region,
    help="With --redact: the country whose phone numbers residents write without +country "
    "(default: TOWNLINE_PHONE_REGION, else US).",
)
def export(fmt: str, redact: bool, region: str | None) -> None:
    """Write stored responses to standard output."""
    from bot.services.export import response_rows
    from storage import audit
    from storage.db import transaction
    from storage.migrate import upgrade

    rt = runtime()
    region = region or rt.settings.phone_region
    try:
        upgrade(rt.db)
        rows = response_rows(rt, redacted=redact, region=region)
        if redact:
            # Counted before the copy leaves: a release that is written down but cut short is
            # better than one that left and was never counted.
            with transaction(rt.db) as session:
                audit.record(
                    session,
                    actor="cli",
                    action="records.release",
                    at=rt.now(),
                    detail={"rows": len(rows), "redacted": True, "format": fmt, "region": region},
                )
    finally:
        rt.db.dispose()  # close pooled connections before the command returns
    write_rows(rows, fmt, sys.stdout)


def write_rows(rows: list[dict[str, Any]], fmt: str, out: TextIO) -> None:
    """JSON lines, or CSV made safe for spreadsheets."""
    from bot.services.export import FIELDS, spreadsheet_safe

    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (run on release, and safe to run twice)."""
    from storage.migrate import upgrade

    applied = upgrade(runtime().db)
    if applied:
        click.echo(
            f"applied {len(applied)} migration(s): {', '.join(applied)}; database is up to date"
        )
    else:
        click.echo("nothing to apply: database is up to date")


@click.group()
def flows() -> None:
    """Flow file commands."""


@flows.command("check")
def flows_check() -> None:
    """Validate every flow, then report SMS encoding and length for every message."""
    from bot.flowcheck import lint

    rt = runtime()
    findings = lint(rt.catalog)
    for line in findings.report:
        click.echo(line)
    click.echo(
        f"{len(rt.catalog.flows)} flows in {len(rt.catalog.languages)} languages: "
        f"{findings.errors} errors, {findings.warnings} warnings"
    )
    if findings.errors:
        sys.exit(1)


def _flows_dir() -> tuple[Path, tuple[str, ...]]:
    """The flows folder the line loads and the languages it is configured with."""
    from bot.config import load_settings
    from flows.catalog import FLOWS_DIR

    settings = load_settings()
    return settings.flows_dir or FLOWS_DIR, settings.languages


@flows.command("export-po")
@click.option("--language", "language", required=True, help="Target language code, e.g. tl.")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write into (default: po/LANGUAGE).",
)
def flows_export_po(language: str, out: Path | None) -> None:
    """Write one gettext .po file per flow file, English as the source, for translators."""
    from bot.po import export_po, write_po

    directory, _ = _flows_dir()
    out = out or Path("po") / language
    catalogs = export_po(directory, language)
    written = write_po(catalogs, out)
    entries = sum(len(po) for po in catalogs.values())
    todo = sum(len(po.untranslated_entries()) for po in catalogs.values())
    fuzzy = sum(len(po.fuzzy_entries()) for po in catalogs.values())
    click.echo(
        f"wrote {len(written)} .po files to {out}: {entries} entries,"
        f" {todo} untranslated, {fuzzy} fuzzy (English changed since)"
    )


@flows.command("import-po")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def flows_import_po(files: tuple[Path, ...]) -> None:
    """Write translated .po files back into the flows, after checking the whole result."""
    from bot.po import PoImportError, import_po

    directory, languages = _flows_dir()
    paths: list[Path] = []
    for item in files:
        paths += sorted(item.rglob("*.po")) if item.is_dir() else [item]
    try:
        report = import_po(directory, paths, languages)
    except PoImportError as error:
        click.echo(f"nothing written; fix these first:\n{error}", err=True)
        sys.exit(1)
    click.echo(
        f"{report.language}: {report.updated} updated, {report.confirmed} confirmed,"
        f" {report.skipped_fuzzy} fuzzy and {report.untranslated} untranslated left out;"
        f" files changed: {', '.join(report.written) or 'none'}"
    )
    for unit_id in report.stale:
        click.echo(f"left out (its English changed after this .po was made): {unit_id}")
