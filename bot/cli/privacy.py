"""`townline retention run [--dry-run]`: the daily retention job, by hand.

The worker runs it once a day on its own; an admin runs it to see what the settings will do
before going live (--dry-run), or after shortening a period.
"""

from __future__ import annotations

import click

from bot.cli.common import migrated_runtime


@click.group("retention")
def retention() -> None:
    """Retention of numbers and words (TOWNLINE_RETAIN_CONTACT_DAYS, _WORDS_DAYS)."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
def retention_run(dry_run: bool) -> None:
    """Unlink numbers and remove words past their time; counts and held responses stay."""
    from bot.services.privacy import run_retention

    rt = migrated_runtime()
    try:
        report = run_retention(rt, dry_run=dry_run, actor="cli")
    finally:
        rt.db.dispose()
    for line in report.lines():
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing was changed")
