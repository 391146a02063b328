"""`townline telegram set-webhook` and `townline telegram poll`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from bot.cli.common import app, runtime
from bot.runtime import Runtime


@click.group("telegram")
def telegram() -> None:
    """Connect the Telegram bot: by webhook (with a public URL) or by long polling."""


@contextmanager
def _telegram_runtime() -> Iterator[Runtime]:
    """A runtime with its channels configured; the Telegram channel is closed on the way out."""
    rt = runtime()
    if not rt.settings.telegram_bot_token:
        raise click.ClickException("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather")
    app(rt)  # registers the configured channels on the runtime
    try:
        yield rt
    finally:
        rt.channels["telegram"].close()  # type: ignore[attr-defined]
        rt.db.dispose()


@telegram.command("set-webhook")
def set_webhook() -> None:
    """Tell Telegram to POST updates to PUBLIC_URL/telegram/webhook with the secret."""
    from channels.telegram import ALLOWED_UPDATES, WEBHOOK_PATH

    with _telegram_runtime() as rt:
        settings = rt.settings
        if not settings.public_url:
            raise click.ClickException("PUBLIC_URL is not set (e.g. https://townline.example.org)")
        if not settings.telegram_webhook_secret:
            raise click.ClickException(
                "TELEGRAM_WEBHOOK_SECRET is not set: the webhook refuses unsigned updates"
            )
        url = settings.public_url + WEBHOOK_PATH
        rt.channels["telegram"].call(  # type: ignore[attr-defined]
            lambda bot: bot.set_webhook(
                url,
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        )
        click.echo(f"Telegram will send updates to {url}")


@telegram.command("poll")
@click.option("--max-updates", type=int, default=None, help="Stop after this many updates.")
@click.option("--once", is_flag=True, help="Make one getUpdates call, then stop.")
@click.option("--wait", type=int, default=25, show_default=True, help="Long-poll seconds.")
@click.option(
    "--worker/--no-worker", default=True, help="Send replies from this process too (default)."
)
def poll_command(max_updates: int | None, once: bool, wait: int, worker: bool) -> None:
    """Receive updates by long polling (deletes any webhook); Ctrl-C stops."""
    from bot.worker import start_background
    from channels.telegram_poll import poll
    from storage.migrate import upgrade

    with _telegram_runtime() as rt:
        upgrade(rt.db)
        scheduler = start_background(rt) if worker else None
        click.echo("Polling Telegram for updates; Ctrl-C to stop.")
        handled = 0
        try:
            handled = poll(
                rt,
                rt.channels["telegram"],  # type: ignore[arg-type]
                max_updates=max_updates,
                rounds=1 if once else None,
                wait=wait,
            )
        except KeyboardInterrupt:
            pass
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=True)
        click.echo(f"{handled} updates received")
