"""The OpenAPI description at /api/v1/openapi.json: it matches the app, and Schemathesis,
generating requests from it against the live app (in-process, over WSGI), gets no 5xx.

Schemathesis sends what the description allows and what it forbids (its negative mode),
with a staff token; every answer must be no server error, with a documented status code,
content type and body shape. The route comparison keeps the description from drifting.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from schemathesis import checks

from bot.runtime import Runtime
from bot.web.api import openapi_document
from tests.dashboard import api_token, raise_concern
from tests.hardening.fuzzkit import FUZZ, TALLY

DESCRIPTION = "/api/v1/openapi.json"
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
# Every answer is checked for these: no 5xx, and the status, headers, content type and body
# are the ones the description documents for that operation.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.unsupported_method,  # a method a route lacks: 405 with an Allow header
]


def _served(app: Flask) -> set[tuple[str, str]]:
    """(path, method) of every /api/v1 route, paths written as OpenAPI writes them."""
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            served |= {
                (path, m.lower()) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")
            }
    return served


def test_the_description_lists_exactly_the_api_routes(app: Flask, client: FlaskClient) -> None:
    answer = client.get(DESCRIPTION)  # no token: clients read it before they have one
    assert answer.status_code == 200
    document = answer.get_json()
    documented = {
        (path, method)
        for path, operations in document["paths"].items()
        for method in operations
        if method in METHODS
    }
    assert documented == _served(app)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in METHODS and operation.get("security") != []:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_the_description_is_valid_openapi(app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi(DESCRIPTION, app)
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    operations = [result.ok() for result in schema.get_all_operations()]  # each one usable
    # Schemathesis leaves out the operation that serves the description it was loaded from.
    assert {(op.path, op.method) for op in operations} == _served(app) - {(DESCRIPTION, "get")}


# Loaded from the data the route serves (the tests above check that it serves exactly that),
# because Schemathesis's fixture-based loader (`schemathesis.pytest.from_fixture`) fails under
# pytest 9.2 (it sets `Node._nodeid`, which pytest renamed). Requests still go to the live app
# of each test, in-process over WSGI: `case.call(app=...)`.
schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture
def live(app: Flask, rt: Runtime, client: FlaskClient) -> tuple[Flask, dict[str, str]]:
    """The app with a row of each kind for the GETs to find, and a staff token.

    A staff token may call every operation, so answers get past the 401 and 403 to the
    code behind them (test_fuzz_api.py covers the tokens themselves).
    """
    staff = api_token(rt, "staff", "schemathesis")
    raise_concern(rt, "sim-a", "en", "Cars race on Elm Street", "Elm")
    for path, body in (
        ("/api/v1/actions", {"title": "T", "message": {"en": "a"}, "response_ids": [1]}),
        ("/api/v1/meetings", {"title": "M", "starts_at": "2026-12-03T18:30:00Z", "location": "L"}),
        ("/api/v1/broadcasts", {"message": {"en": "a", "es": "b"}}),
    ):
        assert client.post(path, json=body, headers=staff).status_code == 201
    return app, staff


@schema.parametrize()
@FUZZ
def test_schemathesis_finds_no_server_error(case: Any, live: tuple[Flask, dict[str, str]]) -> None:
    app, staff = live
    method, path = case.operation.method.upper(), case.operation.path.removeprefix("/api/v1")
    label = f"schemathesis {method} {path}"
    try:
        response = case.call(app=app, headers=staff)
    except Exception:  # TESTING propagates what would have been a 500: count it as one
        TALLY.record(label, 500)
        raise
    TALLY.record(label, response.status_code)
    case.validate_response(response, checks=CHECKS)
