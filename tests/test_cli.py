"""The `townline` command as an admin or a newcomer uses it: real processes, real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.data import write_rows


def townline(
    *args: str, database_url: str, stdin: str = "", tmp_path: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the command in a child process with a clean environment of our own."""
    env = {
        **extra,
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "TOWNLINE_AGENCY_NAME": "Springfield Police",
        "TOWNLINE_INSTANCE": str(tmp_path / "instance"),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def test_chat_then_export_keeps_the_residents_sentence_verbatim(
    database_url: str, tmp_path: Path
) -> None:
    sentence = "There is speeding on Elm Street every night"
    chat = townline("chat", database_url=database_url, stdin=sentence + "\n", tmp_path=tmp_path)
    assert chat.returncode == 0, chat.stderr
    assert f"> {sentence}" in chat.stdout
    assert "Thank you, we've kept your words" in chat.stdout
    assert "1 A safety concern" in chat.stdout

    export = townline("export", "--format", "jsonl", database_url=database_url, tmp_path=tmp_path)
    assert export.returncode == 0, export.stderr
    [row] = [json.loads(line) for line in export.stdout.splitlines()]
    assert row["text"] == sentence
    assert row["channel"] == "simulator"
    assert "address" not in row


def test_chat_holds_a_whole_conversation_in_the_chosen_language(
    database_url: str, tmp_path: Path
) -> None:
    lines = "Hay basura en el parque\n1\nsaltar\nsaltar\nno\n"
    chat = townline(
        "chat",
        "--language",
        "es",
        "--address",
        "cli-ana",
        database_url=database_url,
        stdin=lines,
        tmp_path=tmp_path,
    )
    assert chat.returncode == 0, chat.stderr
    assert "Gracias por avisarnos" in chat.stdout


def test_chat_rejects_a_language_the_agency_does_not_offer(
    database_url: str, tmp_path: Path
) -> None:
    chat = townline("chat", "--language", "fr", database_url=database_url, tmp_path=tmp_path)
    assert chat.returncode == 2
    assert "choose one of en, es, vi, zh" in chat.stderr


def test_flows_check_passes_and_reports_segments(database_url: str, tmp_path: Path) -> None:
    check = townline("flows", "check", database_url=database_url, tmp_path=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "messages.welcome" in check.stdout
    assert "0 errors" in check.stdout


def test_a_broken_flow_stops_start_up_with_a_clear_message(
    database_url: str, tmp_path: Path
) -> None:
    flows = Path(__file__).resolve().parents[1] / "flows"
    broken = tmp_path / "flows"
    (broken / "topics").mkdir(parents=True)
    for name in ("messages.yaml", "keywords.yaml", "knowledge.yaml"):
        (broken / name).write_text((flows / name).read_text(encoding="utf-8"), encoding="utf-8")
    text = (flows / "topics" / "safety.yaml").read_text(encoding="utf-8")
    (broken / "topics" / "safety.yaml").write_text(text.replace("type: place", "type: sorcery"))
    result = townline(
        "flows",
        "check",
        database_url=database_url,
        tmp_path=tmp_path,
        TOWNLINE_FLOWS_DIR=str(broken),
    )
    assert result.returncode == 1
    assert "safety.yaml step 2 (place): type 'sorcery' is not one of" in result.stderr


def test_db_upgrade_is_safe_to_run_twice_and_says_what_it_applied(
    tmp_path: Path,
) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = townline("db", "upgrade", database_url=fresh, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout
    assert "0001" in first.stdout
    second = townline("db", "upgrade", database_url=fresh, tmp_path=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "nothing to apply: database is up to date" in second.stdout


def test_version(database_url: str, tmp_path: Path) -> None:
    result = townline("--version", database_url=database_url, tmp_path=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("townline, version ")


@pytest.mark.parametrize("danger", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)"])
def test_csv_export_is_safe_against_formula_injection(danger: str) -> None:
    import io

    out = io.StringIO()
    write_rows([{"id": 1, "text": danger, "topic": "safety"}], "csv", out)
    cell = out.getvalue().splitlines()[1].split(",", 6)
    assert any(c.strip('"').startswith("'" + danger[0]) for c in cell)
