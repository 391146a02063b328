"""Database errors in logs without the values residents sent.

The engine hides bound parameters (`hide_parameters=True`), but PostgreSQL repeats some values
in its own error text: `DETAIL:  Key (address)=(+15551234567) already exists`, `invalid input
syntax for type integer: "…"`. A traceback of such an error would copy a phone number or a
message into the error log, so every log record carrying a database error gets its traceback
rendered here, with those values hidden, before any handler formats it.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError

HIDDEN = "<hidden>"
_DETAIL = re.compile(r"^(\s*)(DETAIL|CONTEXT):.*$", re.MULTILINE)
# `invalid input syntax for type integer: "…"`, `… for enum x: "…"`, `value "…" is out of range`
_QUOTED = re.compile(r"(invalid input (?:syntax|value) for [^:\n]*:\s*|\bvalue\s+)\"[^\"\n]*\"")
_installed: list[Callable[..., logging.LogRecord]] = []


def scrub(text: str) -> str:
    """The text with PostgreSQL's echoed values hidden."""
    text = _DETAIL.sub(rf"\1\2:  {HIDDEN}", text)
    return _QUOTED.sub(rf'\1"{HIDDEN}"', text)


def _database_error(exc_info: Any) -> BaseException | None:
    """The DBAPIError in a record's exception chain, if any."""
    if not isinstance(exc_info, tuple) or len(exc_info) != 3 or exc_info[1] is None:
        return None
    exc: BaseException | None = exc_info[1]
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DBAPIError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def install() -> None:
    """Wrap the log record factory once per process (every logger, every handler)."""
    if _installed:
        return
    previous = logging.getLogRecordFactory()
    _installed.append(previous)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.exc_info and _database_error(record.exc_info) is not None:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        return record

    logging.setLogRecordFactory(factory)
