"""The hardening suite's fuzz profile and, at the end of a run, how many requests it sent."""

from __future__ import annotations

import pytest

from tests.conftest import PG_URL
from tests.hardening.fuzzkit import EXAMPLES, TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the fuzz tally: requests and status classes per suite (5xx must be 0)."""
    lines = TALLY.lines()
    if not lines:
        return
    database = "PostgreSQL" if PG_URL else "SQLite"
    terminalreporter.section(f"fuzz requests ({database}, {EXAMPLES} examples per test)")
    for line in lines:
        terminalreporter.write_line(line)
