"""Twilio settings, checked at start-up: all present, none present (SMS off), or a clear error."""

from __future__ import annotations

from dataclasses import dataclass

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
