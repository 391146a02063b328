"""`townline export`, `db upgrade` and `flows check`: the stored words and the data files."""

from __future__ import annotations

import csv
import json
import sys
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
