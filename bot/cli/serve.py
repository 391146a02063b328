"""`townline serve`, `worker` and `chat`: the app, the outbox sender, a resident in a terminal."""

from __future__ import annotations

import sys
import uuid

import click

from bot.cli.common import app, runtime


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Run the web app and the worker in one process (the laptop way)."""
    from bot.worker import start_background
    from storage.migrate import upgrade

    rt = runtime()
    web = app(rt)
    upgrade(rt.db)
    scheduler = start_background(rt) if rt.settings.run_worker_in_process else None
    click.echo(f"Townline on http://{host}:{port}/  (simulator: /simulator, health: /healthz)")
    try:
        web.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@click.command()
def worker() -> None:
    """Run the scheduler and the outbox sender (a Procfile process)."""
    from bot.worker import run_forever

    rt = runtime()
    app(rt)  # registers the configured channels on the runtime
    click.echo("Townline worker started")
    try:
        run_forever(rt)
    finally:  # close provider clients (the Telegram bot's loop) on the way out
        for channel in rt.channels.values():
            getattr(channel, "close", lambda: None)()


@click.command()
@click.option("--address", default=None, help="The simulated resident's address (default: new).")
@click.option("--language", default=None, help="Start as a resident who chose this language.")
def chat(address: str | None, language: str | None) -> None:
    """Talk to the bot from a terminal: lines from standard input, replies printed."""
    from bot.simulate import Simulator
    from storage.migrate import upgrade

    rt = runtime()
    upgrade(rt.db)
    app(rt)
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
