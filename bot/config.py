"""Settings, read once from the environment (and `.env`), so every process agrees."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any

DEFAULT_INSTANCE = Path.cwd() / "instance"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it so an admin can fix it."""


def _bool(value: str | None, default: bool) -> bool:
    """Read yes/no settings the way people write them."""
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def parse_quiet_hours(value: str) -> tuple[time, time]:
    """Parse `21:00-08:00`; the window may wrap past midnight."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    if not match:
        raise ConfigError(f"TOWNLINE_QUIET_HOURS must look like 21:00-08:00, not {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        return time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ConfigError(f"TOWNLINE_QUIET_HOURS has an impossible time: {value!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Everything configurable; a channel whose credentials are absent is simply off."""

    database_url: str
    secret_key: str
    instance: Path = DEFAULT_INSTANCE
    public_url: str | None = None
    agency_name: str = "Townline"
    # The agency's name in other languages: TOWNLINE_AGENCY_NAME_ES="Policía de Springfield".
    agency_names: Mapping[str, str] = field(default_factory=dict)
    contact: str = ""  # a person to reach, said with HELP (TOWNLINE_CONTACT)
    timezone: str = "America/New_York"
    languages: tuple[str, ...] = ("en", "es", "vi", "zh")
    quiet_hours: tuple[time, time] = (time(21, 0), time(8, 0))
    session_idle_minutes: int = 30
    # Staff dashboard logins: ended after this long without a request, and this long after login.
    staff_idle_minutes: int = 120
    staff_session_hours: int = 12
    # The resident simulator: "public" (anyone), "staff" (logged-in staff) or "off". None means
    # the default: public on the embedded SQLite database (a laptop), staff-only otherwise.
    simulator: str | None = None
    # Reverse proxies in front of the app whose X-Forwarded-* headers are believed (ProxyFix).
    trusted_proxies: int = 0
    # Retention: how long a response stays linked to the address it came from (0: forever), and
    # how long the verbatim words are kept (None: kept). Told to residents with PRIVACY.
    retain_contact_days: int = 365
    retain_words_days: int | None = None
    # Said with PRIVACY only when the agency declares it true (TOWNLINE_NO_IMMIGRATION_QUESTIONS).
    no_immigration_questions: bool = False
    # Machine translation for staff: off unless the agency names a provider (residents' words
    # leave the server only then). "libretranslate" or "deepl".
    translate: str | None = None
    libretranslate_url: str | None = None
    libretranslate_key: str | None = None
    deepl_auth_key: str | None = None
    deepl_server_url: str | None = None
    staff_language: str = "en"
    send_unreviewed_translations: bool = False
    translate_monthly_chars: int = 500_000  # a budget; 0 means no limit
    # The country whose phone numbers residents write without +country (redaction, masking).
    phone_region: str = "US"
    # Meeting reminders before the start: ISO 8601 durations, or "morning" (09:00 that day).
    reminder_offsets: tuple[str, ...] = ("P3D", "morning")
    flows_dir: Path | None = None
    run_worker_in_process: bool = True
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_from: str | None = None
    twilio_api_url: str | None = None
    twilio_mps: float = 1.0
    # Voice (issue 18): calls out are paced in calls per second (Twilio's default CPS is 1),
    # and placed from this number (a Messaging Service cannot call): TWILIO_FROM by default.
    twilio_voice_cps: float = 1.0
    twilio_voice_from: str | None = None
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_url: str | None = None
    telegram_mps: float = 25.0
    # What a partner's flyer links to: the number or short code residents text (default
    # TWILIO_FROM) and the bot's @username (Telegram's getMe is never called from the web).
    sms_number: str | None = None
    # Ask the optional "who is heard" questions (age band, years lived here) once per resident.
    who_is_heard: bool = True
    telegram_bot_username: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def default_language(self) -> str:
        """The agency's first language answers anyone whose language is not yet known."""
        return self.languages[0]

    @property
    def simulator_mode(self) -> str:
        """Who may use the simulator: an explicit setting, else by the database in use."""
        if self.simulator:
            return self.simulator
        return "public" if self.database_url.startswith("sqlite") else "staff"

    @property
    def signing_key(self) -> str:
        """SECRET_KEY, or on a laptop the instance's own random key: signs cookies, keys hashes."""
        return self.secret_key or local_secret(self.instance.resolve())

    def agency_for(self, language: str) -> str:
        """The agency's name as residents of this language know it."""
        return self.agency_names.get(language.lower()) or self.agency_name

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed: tests and the CLI use it instead of mutating."""
        return replace(self, **changes)


def local_secret(instance: Path) -> str:
    """On a laptop with no SECRET_KEY, a random one kept in the instance folder (0600)."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def language_tag(code: str) -> str:
    """A language tag in its usual case, as the flow files spell it: "zh-hant" is "zh-Hant",
    "ES" is "es", "es_mx" is "es-MX" (language lower, script title, region upper)."""
    parts = code.strip().replace("_", "-").split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        out.append(part.title() if len(part) == 4 else part.upper() if len(part) == 2 else part)
    return "-".join(out)


def _languages(value: str | None) -> tuple[str, ...]:
    """Parse `en,es,vi,zh` into a tuple, keeping order (the first is the default)."""
    if not value:
        return Settings.languages
    langs = tuple(language_tag(part) for part in value.split(",") if part.strip())
    if not langs:
        raise ConfigError("TOWNLINE_LANGUAGES is empty; give at least one, e.g. en")
    return langs


def _agency_names(env: Mapping[str, str]) -> dict[str, str]:
    """TOWNLINE_AGENCY_NAME_ES, TOWNLINE_AGENCY_NAME_ZH_HANT, ...: the name per language."""
    prefix = "TOWNLINE_AGENCY_NAME_"
    return {
        key[len(prefix) :].lower().replace("_", "-"): value.strip()
        for key, value in env.items()
        if key.startswith(prefix) and value.strip()
    }


def _offsets(value: str | None) -> tuple[str, ...]:
    """Parse `P3D,morning`: ISO 8601 durations before a meeting, or the morning of it."""
    from bot.services.validation import InvalidInputError, parse_duration

    if not value:
        return Settings.reminder_offsets
    offsets = tuple(part.strip() for part in value.split(",") if part.strip())
    for offset in offsets:
        if offset.lower() != "morning":
            try:
                parse_duration(offset, "TOWNLINE_REMINDERS")
            except InvalidInputError as exc:
                raise ConfigError(str(exc)) from exc
    return offsets


SIMULATOR_MODES = ("public", "staff", "off")
TRANSLATORS = ("libretranslate", "deepl", "off")


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    """A setting that must be one of a few words; unset means the default."""
    value = (env.get(name) or "").strip().lower()
    if not value:
        return None
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _count(env: Mapping[str, str], name: str, default: int, low: int = 0, high: int = 10**6) -> int:
    """A whole-number setting within sane bounds; the message names the setting."""
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return int(value)


def _region(value: str | None) -> str:
    """An ISO country code libphonenumber knows ("US", "MX", "VN")."""
    from phonenumbers import SUPPORTED_REGIONS

    region = (value or "US").strip().upper()
    if region not in SUPPORTED_REGIONS:
        raise ConfigError(
            f"TOWNLINE_PHONE_REGION must be a country code such as US or MX, not {value!r}"
        )
    return region


def load_settings(env: Mapping[str, str] | None = None, instance: Path | None = None) -> Settings:
    """Read settings from the environment; `.env` in the working directory is honoured."""
    if env is None:
        from dotenv import load_dotenv

        load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ
    instance = instance or Path(env.get("TOWNLINE_INSTANCE", DEFAULT_INSTANCE))
    default_db = f"sqlite:///{(instance / 'townline.db').resolve()}"
    flows_dir = env.get("TOWNLINE_FLOWS_DIR")
    return Settings(
        instance=instance,
        database_url=env.get("DATABASE_URL") or default_db,
        secret_key=env.get("SECRET_KEY") or "",
        public_url=(env.get("PUBLIC_URL") or "").rstrip("/") or None,
        agency_name=env.get("TOWNLINE_AGENCY_NAME") or Settings.agency_name,
        agency_names=_agency_names(env),
        contact=(env.get("TOWNLINE_CONTACT") or "").strip(),
        timezone=env.get("TOWNLINE_TIMEZONE") or Settings.timezone,
        languages=_languages(env.get("TOWNLINE_LANGUAGES")),
        quiet_hours=parse_quiet_hours(env.get("TOWNLINE_QUIET_HOURS") or "21:00-08:00"),
        session_idle_minutes=int(env.get("TOWNLINE_SESSION_IDLE_MINUTES") or 30),
        staff_idle_minutes=_count(env, "TOWNLINE_STAFF_IDLE_MINUTES", 120, 1, 7 * 24 * 60),
        staff_session_hours=_count(env, "TOWNLINE_STAFF_SESSION_HOURS", 12, 1, 24 * 30),
        simulator=_choice(env, "TOWNLINE_SIMULATOR", SIMULATOR_MODES),
        trusted_proxies=_count(env, "TOWNLINE_TRUSTED_PROXIES", 0, 0, 5),
        retain_contact_days=_count(env, "TOWNLINE_RETAIN_CONTACT_DAYS", 365, 0, 36500),
        retain_words_days=(
            _count(env, "TOWNLINE_RETAIN_WORDS_DAYS", 0, 1, 36500)
            if (env.get("TOWNLINE_RETAIN_WORDS_DAYS") or "").strip().lower() not in ("", "keep")
            else None
        ),
        no_immigration_questions=_bool(env.get("TOWNLINE_NO_IMMIGRATION_QUESTIONS"), False),
        translate=_choice(env, "TOWNLINE_TRANSLATE", TRANSLATORS),
        libretranslate_url=(env.get("LIBRETRANSLATE_URL") or "").rstrip("/") or None,
        libretranslate_key=env.get("LIBRETRANSLATE_API_KEY") or None,
        deepl_auth_key=env.get("DEEPL_AUTH_KEY") or None,
        deepl_server_url=(env.get("DEEPL_SERVER_URL") or "").rstrip("/") or None,
        staff_language=(env.get("TOWNLINE_STAFF_LANGUAGE") or "en").strip().lower(),
        send_unreviewed_translations=_bool(env.get("TOWNLINE_SEND_UNREVIEWED_TRANSLATIONS"), False),
        phone_region=_region(env.get("TOWNLINE_PHONE_REGION")),
        translate_monthly_chars=_count(env, "TOWNLINE_TRANSLATE_MONTHLY_CHARS", 500_000, 0, 10**10),
        reminder_offsets=_offsets(env.get("TOWNLINE_REMINDERS")),
        flows_dir=Path(flows_dir) if flows_dir else None,
        run_worker_in_process=_bool(env.get("TOWNLINE_IN_PROCESS_WORKER"), True),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
        twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
        twilio_from=env.get("TWILIO_FROM") or None,
        twilio_api_url=env.get("TWILIO_API_URL") or None,
        twilio_mps=float(env.get("TWILIO_MPS") or 1.0),
        twilio_voice_cps=float(env.get("TWILIO_VOICE_CPS") or 1.0),
        twilio_voice_from=(env.get("TWILIO_VOICE_FROM") or env.get("TWILIO_FROM") or "").strip()
        or None,
        telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
        telegram_api_url=env.get("TELEGRAM_API_URL") or None,
        telegram_mps=float(env.get("TELEGRAM_MPS") or 25.0),
        who_is_heard=_bool(env.get("TOWNLINE_WHO_IS_HEARD"), True),
        sms_number=(env.get("TOWNLINE_SMS_NUMBER") or env.get("TWILIO_FROM") or "").strip() or None,
        telegram_bot_username=(env.get("TELEGRAM_BOT_USERNAME") or "").strip().lstrip("@") or None,
    )
