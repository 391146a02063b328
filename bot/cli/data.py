"""`townline export`, `db upgrade` and `flows check`: the stored words and the data files."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any, TextIO

import click

from bot.cli.common import runtime


@click.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
def export(fmt: str) -> None:
    """Write stored responses to standard output."""
    from bot.services.export import response_rows
    from storage.migrate import upgrade

    rt = runtime()
    upgrade(rt.db)
    write_rows(response_rows(rt), fmt, sys.stdout)


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
