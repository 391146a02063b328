"""`townline community …`: the community's own figures (census or agency), from a shell.

The same service as the dashboard's "Who is heard" page, audited as "cli": an analyst with a
census extract loads it on the server in one step.
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import migrated_runtime
from bot.services import community_figures

CLI_ACTOR = "cli"


@click.group("community")
def community() -> None:
    """The community's make-up, set beside who the line hears."""


@community.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def community_import(file: Path) -> None:
    """Enter the figures of a CSV (dimension,value,amount[,source]); one bad row, none."""
    rt = migrated_runtime()
    try:
        count = community_figures.import_csv(rt, file.read_bytes(), CLI_ACTOR, name=file.name)
    except community_figures.ShareError as exc:
        raise click.ClickException(f"nothing imported: {exc}") from exc
    finally:
        rt.db.dispose()
    click.echo(f"imported {count} figures from {file.name}")


@community.command("list")
def community_list() -> None:
    """Every figure: dimension, group, amount, its share of the dimension, and source."""
    rt = migrated_runtime()
    try:
        rows = community_figures.list_shares(rt)
    finally:
        rt.db.dispose()
    totals: dict[str, float] = {}
    for row in rows:
        totals[row.dimension] = totals.get(row.dimension, 0.0) + row.amount
    click.echo(f"{'DIMENSION':14} {'GROUP':30} {'AMOUNT':>12} {'SHARE':>7} SOURCE")
    for row in rows:
        share = row.amount / totals[row.dimension] * 100
        click.echo(
            f"{row.dimension:14} {row.value[:30]:30} {row.amount:>12g} {share:>6.1f}% {row.source}"
        )
