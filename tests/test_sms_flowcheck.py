"""`townline flows check`: encoding and segments for every message, needless UCS-2 flagged."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.flowcheck import gsm7_without_lookalikes, lint
from bot.runtime import Runtime
from bot.segments import count_segments


@pytest.mark.parametrize(
    ("text", "plain_segments"),
    [
        ("Don\u2019t worry \u2013 we read every message\u2026", 1),  # curly quote, dash, ellipsis
        ("\u201cPlain\u201d " + "a" * 150, 1),  # 158 GSM-7 characters fit in one
        ("\u201cCurly\u201d " + "a" * 150, 1),
        ("Est\u00e1 bien\u2019", None),  # the accent needs UCS-2 anyway
        ("\u4f60\u597d\uff0c\u8c22\u8c22\u3002", None),  # Chinese is UCS-2 whatever the commas
        ("Plain text", None),  # GSM-7 already
    ],
)
def test_only_lookalikes_that_alone_force_ucs2_are_flagged(
    text: str, plain_segments: int | None
) -> None:
    assert gsm7_without_lookalikes(text, count_segments(text)) == plain_segments


def test_a_needless_curly_quote_costs_segments() -> None:
    text = "\u2019" + "a" * 100
    info = count_segments(text)
    assert (info.encoding, info.segments) == ("UCS-2", 2)
    assert gsm7_without_lookalikes(text, info) == 1


def test_every_message_is_reported_in_every_language(rt: Runtime) -> None:
    report = lint(rt.catalog).report
    for key in rt.catalog.messages:
        for lang in rt.catalog.languages:
            assert any(line.split()[:2] == [f"messages.{key}", lang] for line in report), key
    [help_en] = [line for line in report if line.split()[:2] == ["messages.help", "en"]]
    assert help_en.split()[2:5] == ["GSM-7", "2", "seg"]
    [menu_en] = [line for line in report if line.split()[:2] == ["messages.topic_question", "en"]]
    assert "2 seg" in menu_en  # measured with the numbered topic list SMS shows under it


def test_the_command_prints_the_report_and_a_summary(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.chdir(str(tmp_path))
    result = CliRunner().invoke(main, ["flows", "check"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "messages.stopped" in result.output
    assert "0 errors" in result.output
