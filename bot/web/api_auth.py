"""Bearer-token auth for the JSON API, shared by every /api/v1 blueprint.

`token_required("viewer")` guards reads, `token_required("staff")` writes; the token row is on
`flask.g.api_token`. Errors are JSON: `api_error(status, message)`, or raise `ApiError` from a
view (each API blueprint turns it into that answer). `json_body` reads a write's body.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, jsonify, request

from bot.guard import unstorable_at
from bot.services import tokens
from bot.services.accounts import role_allows
from bot.web.context import json_object, runtime

F = TypeVar("F", bound=Callable[..., Any])


def api_error(status: int, message: str) -> Response:
    """A JSON error body, `{"error": message}`, with the status set."""
    response = jsonify(error=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="townline"'
    return response


class ApiError(Exception):
    """A request the API refuses; the blueprints answer it with `api_error(status, message)`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_body(example: str) -> dict[str, Any]:
    """The request's JSON object, every string in it storable; ApiError 400 otherwise.

    `example` shows the expected shape in the error. NUL and lone surrogates are refused here,
    once for every field, because PostgreSQL cannot store them: a field the service forgot
    to check would otherwise fail inside the database as a 500.
    """
    body = json_object()
    if body is None:
        raise ApiError(400, f"send a JSON object: {example}")
    if (where := unstorable_at(body)) is not None:
        raise ApiError(
            400, f"{where}: holds characters that cannot be stored (a NUL or a lone surrogate)"
        )
    return body


def _bearer() -> str | None:
    """The token from `Authorization: Bearer …`, if one was sent."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def token_required(role: str) -> Callable[[F], F]:
    """401 without a valid token; 403 when the token's role is below `role` (viewer < staff)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            secret = _bearer()
            if secret is None:
                return api_error(401, "send a token: Authorization: Bearer <token>")
            token = tokens.lookup(runtime(), secret)
            if token is None:
                return api_error(401, "the token is not valid (unknown or revoked)")
            if not role_allows(token.role, role):
                return api_error(403, f"this needs a {role} token; this one is {token.role}")
            g.api_token = token
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
