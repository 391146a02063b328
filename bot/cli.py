"""The `townline` command: serve, worker, chat, triage, export, db upgrade, flows check."""

from __future__ import annotations

import csv
import json
import sys
import uuid
from typing import Any, TextIO

import click
from flask import Flask

from bot.config import ConfigError, load_settings
from bot.runtime import Runtime, build_runtime
from flows.catalog import FlowError


def _runtime() -> Runtime:
    """Build the runtime, turning configuration and flow mistakes into a clear exit."""
    try:
        return build_runtime(load_settings())
    except (ConfigError, FlowError) as exc:
        raise click.ClickException(str(exc)) from exc


def _app(rt: Runtime) -> Flask:
    """Build the app, whose channels check their settings: a half-configured one stops here."""
    from bot.app import create_app

    try:
        return create_app(runtime=rt)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def main() -> None:
    """Townline: a listening-first line between residents and their police agency."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Run the web app and the worker in one process (the laptop way)."""
    from bot.worker import start_background
    from storage.migrate import upgrade

    rt = _runtime()
    app = _app(rt)
    upgrade(rt.db)
    scheduler = start_background(rt) if rt.settings.run_worker_in_process else None
    click.echo(f"Townline on http://{host}:{port}/  (simulator: /simulator, health: /healthz)")
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@main.command()
def worker() -> None:
    """Run the scheduler and the outbox sender (a Procfile process)."""
    from bot.worker import run_forever

    rt = _runtime()
    _app(rt)  # registers the configured channels on the runtime
    click.echo("Townline worker started")
    try:
        run_forever(rt)
    finally:  # close provider clients (the Telegram bot's loop) on the way out
        for channel in rt.channels.values():
            getattr(channel, "close", lambda: None)()


@main.command()
@click.option("--address", default=None, help="The simulated resident's address (default: new).")
@click.option("--language", default=None, help="Start as a resident who chose this language.")
def chat(address: str | None, language: str | None) -> None:
    """Talk to the bot from a terminal: lines from standard input, replies printed."""
    from bot.simulate import Simulator
    from storage.migrate import upgrade

    rt = _runtime()
    upgrade(rt.db)
    _app(rt)
    if language and language not in rt.settings.languages:
        raise click.BadParameter(
            f"choose one of {', '.join(rt.settings.languages)}", param_hint="--language"
        )
    sim = Simulator(rt, address or f"cli-{uuid.uuid4().hex[:8]}", language=language)
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo("Type as a resident would; Ctrl-D to finish.")
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not interactive:
            click.echo(f"> {text}")
        for reply in sim.say(text):
            click.echo(reply)
            click.echo()


@main.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
def export(fmt: str) -> None:
    """Write stored responses to standard output."""
    from bot.export import response_rows
    from storage.migrate import upgrade

    rt = _runtime()
    upgrade(rt.db)
    write_rows(response_rows(rt), fmt, sys.stdout)


def write_rows(rows: list[dict[str, Any]], fmt: str, out: TextIO) -> None:
    """JSON lines, or CSV made safe for spreadsheets."""
    from bot.export import FIELDS, spreadsheet_safe

    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})


@main.command()
@click.option("--explain", is_flag=True, help="Also say which phrases matched, to tune flows.")
def triage(explain: bool) -> None:
    """Read one message per line on standard input; print how the line understands each.

    Each line of output is a JSON object: {"text", "language", "classes"}, the same reading the
    engine acts on. Agencies use it to test their residents' phrasings before going live.
    """
    from bot.triage_cli import read_lines

    rt = _runtime()
    for row in read_lines(rt, sys.stdin, explain=explain):
        click.echo(json.dumps(row, ensure_ascii=False))


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (run on release, and safe to run twice)."""
    from storage.migrate import upgrade

    upgrade(_runtime().db)
    click.echo("database is up to date")


@main.group()
def flows() -> None:
    """Flow file commands."""


@flows.command("check")
def flows_check() -> None:
    """Validate every flow, then report SMS encoding and length for every message."""
    from bot.flowcheck import lint

    rt = _runtime()
    findings = lint(rt.catalog)
    for line in findings.report:
        click.echo(line)
    click.echo(
        f"{len(rt.catalog.flows)} flows in {len(rt.catalog.languages)} languages: "
        f"{findings.errors} errors, {findings.warnings} warnings"
    )
    if findings.errors:
        sys.exit(1)


from bot.cli_telegram import telegram  # noqa: E402

main.add_command(telegram)
from bot.cli_staff import staff as _staff_group  # noqa: E402
from bot.cli_staff import token as _token_group  # noqa: E402

main.add_command(_staff_group)
main.add_command(_token_group)
from bot.cli_broadcast import broadcast  # noqa: E402 - registered last, like every subcommand

main.add_command(broadcast)
