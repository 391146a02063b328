"""The Flask application factory: web pages, webhooks and the JSON API share one runtime."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from bot.config import Settings, load_settings
from bot.runtime import Runtime, build_runtime
from channels.simulator import SimulatorChannel

csrf = CSRFProtect()


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
) -> Flask:
    """Build the app; tests pass their own settings or runtime (a fresh database each)."""
    app = Flask(__name__, instance_relative_config=True)
    if runtime is None:
        settings = settings or load_settings()
        runtime = build_runtime(settings)
    settings = runtime.settings
    app.config.update(
        SECRET_KEY=settings.secret_key or _local_secret(Path(app.instance_path)),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.public_url and settings.public_url.startswith("https")),
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    _configure_channels(runtime)
    app.extensions["townline"] = runtime
    csrf.init_app(app)
    _register_blueprints(app)
    return app


def _configure_channels(runtime: Runtime) -> None:
    """Every channel whose settings are present; the simulator is always on."""
    runtime.channels.setdefault("simulator", SimulatorChannel())


def _register_blueprints(app: Flask) -> None:
    from bot.web import health, meetings, simulator

    app.register_blueprint(health.bp)
    app.register_blueprint(simulator.bp)
    app.register_blueprint(meetings.bp)


def _local_secret(instance: Path) -> str:
    """On a laptop with no SECRET_KEY, keep a random one in the instance folder."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def runtime_of(app: Flask) -> Runtime:
    """The runtime an app was built with."""
    return app.extensions["townline"]  # type: ignore[no-any-return]
