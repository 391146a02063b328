"""What the edges accept: bounded numbers, storable text, JSON of sane depth.

Everything a resident, a provider or a client sends passes one of these before it reaches the
engine or the database, so odd input gets a clear 4xx (or is cleaned and kept) and never a 500.
PostgreSQL cannot store a NUL character or a lone surrogate in text, and its integers stop at
2**31-1: both used to surface as server errors with the SQL parameters in the log.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

MAX_ID = 2**31 - 1  # an id beyond this can never be a row: PostgreSQL's INTEGER
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1_000_000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # dates outside this are typos, not plans
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_DIGITS = re.compile(r"[0-9]{1,18}")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnacceptableError(ValueError):
    """Input no part of Townline can use; the message says what was wrong."""


def storable(text: str) -> str:
    """Text with what a database cannot hold (NUL, lone surrogates) taken out."""
    return _UNSTORABLE.sub("", text)


def has_unstorable(text: str) -> bool:
    """Whether text holds characters a database cannot store."""
    return _UNSTORABLE.search(text) is not None


def unstorable_at(value: Any, where: str = "body") -> str | None:
    """Where in a parsed JSON value a string (or a key) holds what a database cannot store.

    A JSON body may spell NUL as \\u0000 and half a surrogate pair as \\ud800; checking the
    whole body once at the edge means no field a view forgets can reach a database.
    """
    if isinstance(value, str):
        return where if has_unstorable(value) else None
    if isinstance(value, list):
        items: Any = ((f"{where}[{i}]", item) for i, item in enumerate(value))
    elif isinstance(value, dict):
        for key in value:
            if has_unstorable(key):
                return f"{where}.{storable(key)!r}"
        items = (
            (f"{where}.{key}" if where != "body" else key, item) for key, item in value.items()
        )
    else:
        return None
    for path, item in items:
        if (found := unstorable_at(item, path)) is not None:
            return found
    return None


def bounded_int(value: str, name: str, lo: int = 0, hi: int = MAX_ID) -> int:
    """ASCII digits only ("²" is a digit to Python, not to a database), within [lo, hi]."""
    if not _DIGITS.fullmatch(value):
        raise UnacceptableError(f"{name} must be a whole number")
    number = int(value)
    if not lo <= number <= hi:
        raise UnacceptableError(f"{name} must be from {lo} to {hi}")
    return number


def json_depth(text: str) -> int:
    """How deeply a JSON text nests, found without parsing it (parsing could recurse away)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json(raw: bytes) -> Any:
    """A JSON body of sane size and depth; UnacceptableError otherwise."""
    if len(raw) > MAX_JSON_BYTES:
        raise UnacceptableError("the body is too large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnacceptableError("the body is not UTF-8") from exc
    if json_depth(text) > MAX_JSON_DEPTH:
        raise UnacceptableError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UnacceptableError("the body is not valid JSON") from exc


def in_range(moment: datetime, name: str) -> datetime:
    """A date between 2000 and 2100."""
    if not EARLIEST <= moment < LATEST:
        raise UnacceptableError(f"{name} must be between 2000 and 2100")
    return moment
