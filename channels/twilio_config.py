"""Twilio settings, checked at start-up: all present, none present (SMS off), or a clear error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Blueprint, Request, Response
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator

from bot.config import ConfigError, Settings


@dataclass(frozen=True)
class TwilioConfig:
    """What the SMS channel needs; built only from complete settings."""

    account_sid: str
    auth_token: str
    messaging_service_sid: str | None
    from_: str | None
    api_url: str | None
    public_url: str | None
    mps: float

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioConfig | None:
        """None when no Twilio setting is given; ConfigError naming the first one missing."""
        given = (
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_messaging_service_sid,
            settings.twilio_from,
            settings.twilio_api_url,
        )
        if not any(given):
            return None
        sid, token = settings.twilio_account_sid, settings.twilio_auth_token
        if not sid:
            raise ConfigError("SMS is half-configured: TWILIO_ACCOUNT_SID is missing")
        if not sid.startswith("AC"):
            raise ConfigError("TWILIO_ACCOUNT_SID must start with AC (see the Twilio console)")
        if not token:
            raise ConfigError("SMS is half-configured: TWILIO_AUTH_TOKEN is missing")
        service, sender = settings.twilio_messaging_service_sid, settings.twilio_from
        if not service and not sender:
            raise ConfigError(
                "SMS is half-configured: set TWILIO_MESSAGING_SERVICE_SID (recommended) "
                "or TWILIO_FROM"
            )
        if service and not service.startswith("MG"):
            raise ConfigError("TWILIO_MESSAGING_SERVICE_SID must start with MG")
        if not settings.twilio_mps > 0:
            raise ConfigError(
                f"TWILIO_MPS must be above 0 segments a second, not {settings.twilio_mps}"
            )
        return cls(
            account_sid=sid,
            auth_token=token,
            messaging_service_sid=service,
            from_=sender,
            api_url=settings.twilio_api_url,
            public_url=settings.public_url,
            mps=settings.twilio_mps,
        )


class SignedWebhooks:
    """Twilio's signature check, shared by the SMS and voice webhooks (same token, same rule)."""

    config: TwilioConfig
    validator: RequestValidator

    def signed(self, req: Request) -> bool:
        """X-Twilio-Signature over the URL Twilio called and every posted field."""
        signature = req.headers.get("X-Twilio-Signature", "")
        url = self.signed_url(req.path, req.query_string, lambda: req.url)
        return self.verify(url, req.form, signature)

    def verify(self, url: str, form: Mapping[str, str], signature: str) -> bool:
        """Twilio's own check, with and without the port as Twilio may sign either."""
        return bool(signature) and bool(self.validator.validate(url, form, signature))

    def signed_url(self, path: str, query_string: bytes, seen: Callable[[], str]) -> str:
        """The URL Twilio signed: PUBLIC_URL + path behind a proxy, else the one requested."""
        if not self.config.public_url:
            return seen()
        query = query_string.decode("latin-1")
        return self.config.public_url + path + (f"?{query}" if query else "")


class SignatureError(PermissionError):
    """A webhook without Twilio's signature: answered with a bare 403."""


class MalformedError(ValueError):
    """A signed request without the fields Twilio always sends: answered 400."""


def answer_refusals(bp: Blueprint) -> None:
    """The SMS and voice webhooks refuse alike: 403 unsigned, 400 malformed, plain text."""

    @bp.errorhandler(SignatureError)
    def _forbidden(_exc: SignatureError) -> ResponseReturnValue:
        return Response("signature does not match\n", status=403, mimetype="text/plain")

    @bp.errorhandler(MalformedError)
    def _malformed(exc: MalformedError) -> ResponseReturnValue:
        return Response(f"{exc}\n", status=400, mimetype="text/plain")
