"""Twilio settings: complete turns SMS on, none leaves it off, half stops start-up clearly."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.app import create_app
from bot.cli import main
from bot.config import ConfigError, Settings
from bot.runtime import Runtime, build_runtime
from channels import twilio_sms
from tests.conftest import Clock

SID = "AC" + "0" * 32
SERVICE = "MG" + "0" * 32


def _runtime(settings: Settings, clock: Clock, **twilio: object) -> Runtime:
    return build_runtime(settings.with_overrides(**twilio), clock=clock)


@pytest.mark.parametrize(
    ("twilio", "named"),
    [
        ({"twilio_account_sid": SID, "twilio_messaging_service_sid": SERVICE}, "TWILIO_AUTH_TOKEN"),
        ({"twilio_auth_token": "t", "twilio_from": "+15017122661"}, "TWILIO_ACCOUNT_SID"),
        ({"twilio_account_sid": SID, "twilio_auth_token": "t"}, "TWILIO_MESSAGING_SERVICE_SID"),
        (
            {"twilio_account_sid": "sid", "twilio_auth_token": "t", "twilio_from": "+1"},
            "TWILIO_ACCOUNT_SID must start with AC",
        ),
        (
            {"twilio_account_sid": SID, "twilio_auth_token": "t", "twilio_from": "+1"}
            | {"twilio_mps": 0.0},
            "TWILIO_MPS",
        ),
    ],
)
def test_a_half_configured_twilio_stops_start_up_naming_the_setting(
    settings: Settings, clock: Clock, twilio: dict[str, object], named: str
) -> None:
    rt = _runtime(settings, clock, **twilio)
    with pytest.raises(ConfigError, match=named):
        create_app({"TESTING": True}, runtime=rt)
    rt.db.dispose()


def test_no_twilio_settings_means_sms_is_simply_off(settings: Settings, clock: Clock) -> None:
    rt = _runtime(settings, clock)
    create_app({"TESTING": True}, runtime=rt)
    assert set(rt.channels) == {"simulator"}
    rt.db.dispose()


def test_complete_settings_turn_sms_on_at_the_configured_rate(
    settings: Settings, clock: Clock
) -> None:
    rt = _runtime(
        settings,
        clock,
        twilio_account_sid=SID,
        twilio_auth_token="t",
        twilio_from="+15017122661",
        twilio_mps=3.0,
    )
    create_app({"TESTING": True}, runtime=rt)
    channel = rt.channels[twilio_sms.NAME]
    assert isinstance(channel, twilio_sms.TwilioSmsChannel)
    assert channel.rate_per_second == 3.0
    channel.close()
    rt.db.dispose()


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_the_cli_exits_cleanly_with_the_missing_setting_named(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object, command: str
) -> None:
    monkeypatch.chdir(str(tmp_path))
    env = {
        "DATABASE_URL": database_url,
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_MESSAGING_SERVICE_SID": SERVICE,
        "TWILIO_AUTH_TOKEN": "",
    }
    result = CliRunner().invoke(main, [command], env=env)
    assert result.exit_code == 1
    assert "TWILIO_AUTH_TOKEN is missing" in result.output
    assert "Traceback" not in result.output
