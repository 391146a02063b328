"""The Flask application factory: web pages, webhooks and the JSON API share one runtime."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from bot.config import Settings, load_settings
from bot.guard import MAX_ID
from bot.runtime import Runtime, build_runtime
from bot.web import context
from channels import twilio_sms, twilio_voice
from channels.simulator import SimulatorChannel

csrf = CSRFProtect()


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
) -> Flask:
    """Build the app; tests pass their own settings or runtime (a fresh database each)."""
    if runtime is None:
        runtime = build_runtime(settings or load_settings())
    settings = runtime.settings
    app = Flask(
        __name__,
        instance_path=str(settings.instance.resolve()),
        template_folder="web/templates",
        static_folder="web/static",
    )
    # <int:...> in every route stops at the largest id a row can have: beyond it, 404.
    app.url_map.converters["int"] = BoundedInt
    app.config.update(
        SECRET_KEY=settings.signing_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.public_url and settings.public_url.startswith("https")),
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    _secure_headers(app, settings)
    _configure_channels(runtime)
    if twilio_sms.NAME in runtime.channels:
        app.wsgi_app = twilio_sms.InboundWebhook(  # type: ignore[method-assign]
            app.wsgi_app, runtime, app.config["MAX_CONTENT_LENGTH"]
        )
    if settings.trusted_proxies:
        # Client address, scheme and host from X-Forwarded-* set by that many proxies, no more:
        # login throttling and HSTS need the real ones, and a client must not forge them.
        # Outermost, so the inbound webhook checks its signature against the real URL too.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    context.install(app, runtime)
    csrf.init_app(app)
    app.add_template_filter(_local_time(settings.timezone), "local")
    _register_blueprints(app)
    return app


# Everything the pages load comes from this site; no inline script or style, no framing.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def _secure_headers(app: Flask, settings: Settings) -> None:
    """Security headers with flask-talisman (maintained, and it knows the details: HSTS only on
    https requests, CSP syntax). TLS is the reverse proxy's job, so it never redirects."""
    https = bool(settings.public_url and settings.public_url.startswith("https"))
    Talisman(
        app,
        force_https=False,
        frame_options="DENY",
        content_security_policy=CSP,
        referrer_policy="same-origin",
        strict_transport_security=https,
        session_cookie_secure=https,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        x_content_type_options=True,
    )


class BoundedInt(IntegerConverter):
    """Werkzeug's int converter, capped at the largest INTEGER PostgreSQL stores."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _configure_channels(runtime: Runtime) -> None:
    """Every channel whose settings are present; the simulator is always on."""
    runtime.channels.setdefault("simulator", SimulatorChannel())
    if twilio_sms.NAME not in runtime.channels and (
        sms := twilio_sms.channel_for(runtime.settings)
    ):
        runtime.channels[twilio_sms.NAME] = sms
    if twilio_voice.NAME not in runtime.channels and (
        voice := twilio_voice.channel_for(runtime.settings, runtime.catalog.voice)
    ):
        runtime.channels[twilio_voice.NAME] = voice
    if runtime.settings.telegram_bot_token:
        from channels.telegram import TelegramChannel

        runtime.channels.setdefault("telegram", TelegramChannel.from_settings(runtime.settings))


def _register_blueprints(app: Flask) -> None:
    from bot.web import (
        actions,
        admin,
        api,
        api_meetings,
        auth,
        health,
        meetings,
        partner_view,
        partners,
        privacy,
        public,
        recordings,
        simulator,
        staff,
    )
    from channels import telegram

    app.register_blueprint(health.bp)
    if context.runtime_of(app).settings.simulator_mode != "off":
        app.register_blueprint(simulator.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(meetings.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(actions.bp)
    from bot.web import representation  # who is heard (issue 17)

    app.register_blueprint(representation.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(partner_view.bp)
    app.register_blueprint(partners.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(recordings.bp)  # calls' recordings, for staff, through this site
    app.register_blueprint(api.bp)
    app.register_blueprint(api_meetings.bp)
    for api_bp in (api.bp, api_meetings.bp):
        csrf.exempt(api_bp)  # bearer tokens, no cookies: nothing for a forged form to ride on
    if twilio_sms.NAME in context.runtime_of(app).channels:
        app.register_blueprint(twilio_sms.bp)
        csrf.exempt(twilio_sms.bp)  # signed by Twilio instead
    if twilio_voice.NAME in context.runtime_of(app).channels:
        app.register_blueprint(twilio_voice.bp)
        csrf.exempt(twilio_voice.bp)  # signed by Twilio instead
    app.register_blueprint(telegram.bp)
    csrf.exempt(telegram.bp)  # checked against TELEGRAM_WEBHOOK_SECRET instead


def _local_time(zone_name: str) -> Callable[[datetime | None, str], str]:
    """A template filter: stored UTC shown in the agency's time zone, as staff live in it."""
    zone = ZoneInfo(zone_name)

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(zone).strftime(fmt)

    return local
