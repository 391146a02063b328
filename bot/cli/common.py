"""What every `townline` command shares: the runtime and the app, built with clear errors."""

from __future__ import annotations

import click
from flask import Flask

from bot.config import ConfigError, load_settings
from bot.runtime import Runtime, build_runtime
from flows.catalog import FlowError


def runtime() -> Runtime:
    """Build the runtime, turning configuration and flow mistakes into a clear exit."""
    try:
        return build_runtime(load_settings())
    except (ConfigError, FlowError) as exc:
        raise click.ClickException(str(exc)) from exc


def migrated_runtime() -> Runtime:
    """The runtime with the database schema brought up to date first."""
    from storage.migrate import upgrade

    rt = runtime()
    upgrade(rt.db)
    return rt


def app(rt: Runtime) -> Flask:
    """Build the app, whose channels check their settings: a half-configured one stops here."""
    from bot.app import create_app

    try:
        return create_app(runtime=rt)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
