"""The one place the web layer finds the runtime its app was built with."""

from __future__ import annotations

from flask import Flask, current_app

from bot.runtime import Runtime

EXTENSION = "townline"


def install(app: Flask, rt: Runtime) -> None:
    """Attach the runtime to the app (create_app does this once)."""
    app.extensions[EXTENSION] = rt


def runtime_of(app: Flask) -> Runtime:
    """The runtime an app was built with."""
    return app.extensions[EXTENSION]  # type: ignore[no-any-return]


def runtime() -> Runtime:
    """The runtime of the app handling the current request."""
    return runtime_of(current_app)
