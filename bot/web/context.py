"""The one place the web layer finds the runtime its app was built with."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request

from bot.guard import UnacceptableError, bounded_int, parse_json
from bot.runtime import Runtime

EXTENSION = "townline"


def install(app: Flask, rt: Runtime) -> None:
    """Attach the runtime to the app (create_app does this once)."""
    app.extensions[EXTENSION] = rt


def runtime_of(app: Flask) -> Runtime:
    """The runtime an app was built with."""
    return app.extensions[EXTENSION]  # type: ignore[no-any-return]


def runtime() -> Runtime:
    """The runtime of the app handling the current request."""
    return runtime_of(current_app)


def json_object() -> dict[str, Any] | None:
    """The request's JSON object, or None when the body is not one (too deep, too big, not
    JSON, not an object): callers answer 400, never a parser's RecursionError as a 500."""
    try:
        body = parse_json(request.get_data(cache=True))
    except UnacceptableError:
        return None
    return body if isinstance(body, dict) else None


def form_id(value: str | None) -> int | None:
    """A row id typed into a form or query string, or None when it cannot be one.

    `str.isdigit` accepts "²" and 30-digit numbers, which then fail in `int()` or in the
    database; an id is ASCII digits within the largest INTEGER a row can have.
    """
    try:
        return bounded_int(value or "", "id", 1)
    except UnacceptableError:
        return None


def form_ids(values: list[str]) -> list[int]:
    """The usable ids among several form values (checkboxes), in order, others dropped."""
    return [i for i in map(form_id, values) if i is not None]
