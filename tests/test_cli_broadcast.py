"""Story: staff send a broadcast from the terminal and watch it go out."""

from __future__ import annotations

import threading
from datetime import time

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.runtime import Runtime
from bot.simulate import Simulator
from bot.worker import Worker
from storage.models import utcnow


def test_broadcast_send_previews_then_waits_for_the_workers(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    residents = [
        Simulator(rt, f"sim-{i}", language=lang) for i, lang in enumerate(["en", "es", "zh"])
    ]
    residents[0].say("hi")
    runner = CliRunner()
    shown = runner.invoke(
        main,
        [
            "broadcast",
            "send",
            "--message",
            "en=Road closed",
            "--message",
            "es=Calle cerrada",
            "--preview",
        ],
    )
    assert shown.exit_code == 0, shown.output
    assert "recipients: 2" in shown.output
    assert "zh: 1 with no text in their language: they get nothing" in shown.output
    # The command runs on the real clock, so the worker does too, with no quiet hours.
    rt.clock = utcnow
    rt.settings = rt.settings.with_overrides(quiet_hours=(time(0, 0), time(0, 0)))
    stop = threading.Event()
    worker = Worker(rt)

    def work() -> None:
        while not stop.is_set():
            worker.run_once()
            stop.wait(0.05)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        sent = runner.invoke(
            main,
            [
                "broadcast",
                "send",
                "--message",
                "en=Road closed",
                "--message",
                "es=Calle cerrada",
                "--fallback-default",
                "--wait",
                "--timeout",
                "60",
            ],
        )
    finally:
        stop.set()
        thread.join()
    assert sent.exit_code == 0, sent.output
    assert "broadcast 1: queued, 3 queued" in sent.output
    assert '"sent": 3' in sent.output
    assert [r.replies() for r in residents][1:] == [["Calle cerrada"], ["Road closed"]]
    bad = runner.invoke(main, ["broadcast", "send", "--message", "fr=Bonjour"])
    assert bad.exit_code == 1
    assert "message.fr: unknown language" in bad.output
