"""`townline broadcast`: preview, send (now or at a time) and follow a broadcast from a terminal."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import yaml

from bot.cli.common import runtime
from bot.services.validation import InvalidInputError

DONE_STATES = ("sent", "failed", "cancelled", "dropped")


def _messages(pairs: tuple[str, ...], file: Path | None) -> dict[str, Any]:
    """`--message en="..."` pairs, over a YAML/JSON file's `message` (and its other fields)."""
    spec: dict[str, Any] = {}
    if file is not None:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8"))  # JSON is YAML too
        if not isinstance(loaded, dict):
            raise click.BadParameter("must hold an object with a `message`", param_hint="--file")
        spec = loaded
    messages = dict(spec.get("message") or {})
    for pair in pairs:
        lang, sep, text = pair.partition("=")
        if not sep or not lang.strip():
            raise click.BadParameter(f"{pair!r} is not LANG=TEXT", param_hint="--message")
        messages[lang.strip()] = text
    spec["message"] = messages
    return spec


@click.group()
def broadcast() -> None:
    """Send a message to many residents, in their languages."""


@broadcast.command("send")
@click.option("--message", "pairs", multiple=True, help='A text per language: en="Hello".')
@click.option(
    "--file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML or JSON with message, audience, send_at, prompt, prompt_window.",
)
@click.option("--language", "languages", multiple=True, help="Only residents of this language.")
@click.option("--neighbourhood", "neighbourhoods", multiple=True, help="Only this neighbourhood.")
@click.option("--channel", "channels", multiple=True, help="Only this channel (sms, telegram…).")
@click.option("--subscribers", is_flag=True, help="Only residents subscribed to meeting news.")
@click.option("--at", "send_at", default=None, help="ISO 8601 time with offset; default now.")
@click.option(
    "--fallback-default",
    is_flag=True,
    help="Residents whose language has no text get the default language's.",
)
@click.option("--prompt", is_flag=True, help="An open question: keep replies tied to it.")
@click.option("--window", default=None, help="How long a prompt stays open (ISO 8601, P3D).")
@click.option("--preview", is_flag=True, help="Show recipients and segments; send nothing.")
@click.option("--wait", is_flag=True, help="Show a progress bar until the workers are done.")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds --wait waits.")
def send(**options: Any) -> None:
    """Preview or send a broadcast; workers (`townline worker`) do the sending."""
    rt = runtime()
    try:
        _send(rt, **options)  # the options, typed, as _send declares them
    finally:
        rt.db.dispose()  # close pooled connections before the process (or test) moves on


def _send(
    rt: Any,
    *,
    pairs: tuple[str, ...],
    file: Path | None,
    languages: tuple[str, ...],
    neighbourhoods: tuple[str, ...],
    channels: tuple[str, ...],
    subscribers: bool,
    send_at: str | None,
    fallback_default: bool,
    prompt: bool,
    window: str | None,
    preview: bool,
    wait: bool,
    timeout: float,
) -> None:
    from bot.app import create_app
    from bot.services import broadcasts
    from storage.migrate import upgrade

    upgrade(rt.db)
    create_app(runtime=rt)
    spec = _messages(pairs, file)
    audience = dict(spec.get("audience") or {})
    for key, values in (
        ("languages", languages),
        ("neighbourhoods", neighbourhoods),
        ("channels", channels),
    ):
        if values:
            audience[key] = list(values)
    if subscribers:
        audience["subscribers"] = True
    fallback = fallback_default or bool(spec.get("fallback_to_default", False))
    try:
        shown = broadcasts.preview(rt, spec["message"], audience, fallback)
        _print_preview(shown)
        if preview:
            return
        sent = broadcasts.create_broadcast(
            rt,
            spec["message"],
            audience,
            send_at=send_at or spec.get("send_at"),
            fallback_to_default=fallback,
            prompt=prompt or bool(spec.get("prompt", False)),
            prompt_window=window or spec.get("prompt_window"),
            created_by="cli",
        )
    except InvalidInputError as exc:
        raise click.ClickException(str(exc)) from exc
    assert sent.id is not None
    click.echo(f"broadcast {sent.id}: {sent.status}, {sent.recipients} queued")
    if wait:
        _wait(rt, sent.id, timeout)


def _print_preview(shown: dict[str, Any]) -> None:
    click.echo(f"recipients: {shown['recipients']}")
    for lang, info in shown["by_language"].items():
        click.echo(f"  {lang}: {info['recipients']} ({info['encoding']}, {info['segments']} seg)")
    for lang, n in shown["missing"].items():
        fate = "get the default language" if shown["fallback_to_default"] else "get nothing"
        click.echo(f"  {lang}: {n} with no text in their language: they {fate}")


def _wait(rt: Any, broadcast_id: int, timeout: float) -> None:
    """A progress bar over finished rows; stops when only rows held for quiet hours remain."""
    from bot.services.broadcasts import progress

    state = progress(rt, broadcast_id)
    deadline = time.monotonic() + timeout
    with click.progressbar(length=max(1, state["recipients"]), label="sending") as bar:
        done = 0
        while True:
            state = progress(rt, broadcast_id)
            finished = sum(state[k] for k in DONE_STATES)
            bar.update(finished - done)
            done = finished
            if state["status"] == "queued" and state["queued"] == 0:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
    click.echo(json.dumps({k: v for k, v in state.items() if k != "send_at"}))
    if state["held"]:
        click.echo(f"{state['held']} held for quiet hours; they go when the window opens")


@broadcast.command("progress")
@click.argument("broadcast_id", type=int)
def show_progress(broadcast_id: int) -> None:
    """Print a broadcast's counts as JSON."""
    from bot.services.broadcasts import progress

    rt = runtime()
    try:
        click.echo(json.dumps(progress(rt, broadcast_id)))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        rt.db.dispose()
