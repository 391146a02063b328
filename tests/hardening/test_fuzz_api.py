"""Fuzzing the JSON API by hand-written strategies: every route, every kind of token, no 5xx.

Each route gets generated query strings and JSON bodies (a right body with a few fields
changed, dropped or added; any JSON; bytes that are not JSON at all) with a staff token, a
viewer token, an unknown token, an odd Authorization header and none. Schemathesis fuzzes
the same API from its OpenAPI description in test_openapi_fuzz.py; this file also sends what
no schema would describe. Afterwards an ordinary read, an ordinary write and an ordinary
resident are still answered.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from bot.runtime import Runtime
from bot.simulate import Simulator
from tests.dashboard import api_token, raise_concern
from tests.hardening.fuzzkit import (
    FUZZ,
    NASTY_TEXT,
    TALLY,
    any_text,
    json_text,
    json_values,
    mutated,
    nasty_text,
    odd_ints,
    odd_text,
    raw_bodies,
    sweep,
)

# Huge generated values make a failing example's repr large; Hypothesis warns, and the suite
# turns warnings into errors, which would hide the failure itself.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

Strategies = dict[str, st.SearchStrategy[Any]]
# Mostly the right token: without one the answer is a 401 before anything else is read.
AUTH = st.sampled_from(("staff",) * 8 + ("viewer", "unknown", "odd", "none"))
header_text = st.text(
    alphabet=st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=80
)
ids = st.one_of(st.integers(1, 5), odd_ints)
dates = st.one_of(st.dates().map(str), any_text)
instants = st.one_of(
    st.sampled_from(
        ["2026-12-03T18:30:00-05:00", "2026-12-03T18:30Z", "2026-12-03T18:30:00", "2027-01-01"]
    ),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    json_text,
)
durations = st.one_of(
    st.sampled_from(["P3D", "PT2H", "morning", "P1DT30M", "P0D", "PT", "P61D", "p3d"]),
    st.from_regex(
        r"P([0-9]{1,12}W)?([0-9]{1,12}D)?(T([0-9]{1,12}H)?([0-9]{1,12}M)?)?", fullmatch=True
    ),
    json_text,
)
languages = st.sampled_from(["en", "es", "vi", "zh", "fr", "", "EN", "\x00"])
TWO_TEXTS = {"en": "We added patrols.", "es": "Pusimos patrullas."}


def texts_like(valid: dict[str, str]) -> st.SearchStrategy[Any]:
    """Texts by language: a right object with one text changed, any object, or any JSON."""
    return st.one_of(
        st.builds(lambda lang, text: {**valid, lang: text}, languages, json_text),
        st.builds(lambda lang, text: {**valid, lang: text}, languages, json_values),
        st.dictionaries(languages, json_values, max_size=4),
        json_values,
    )


def text_or(*right: Any) -> st.SearchStrategy[Any]:
    """A right value, odd text or any JSON."""
    return st.one_of(st.sampled_from(right), json_text, json_values) if right else json_text


# ---- the query string of GET /responses -----------------------------------------------------
RIGHT_QUERY: Strategies = {
    "topic": st.sampled_from(["safety", "policy", "feedback"]),
    "status": st.sampled_from(["new", "read", "done"]),
    "language": st.sampled_from(["en", "es"]),
    "channel": st.sampled_from(["sms", "telegram", "simulator"]),
    "neighbourhood": st.sampled_from(["Elm", "Oak"]),
    "tag": st.sampled_from(["speeding", "lights"]),
    "from": st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)).map(str),
    "to": st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 30)).map(str),
    "concern": st.integers(1, 5).map(str),
    "flag": st.sampled_from(["urgent", "sensitive", ""]),
    "cursor": st.integers(1, 10).map(str),
    "limit": st.integers(1, 200).map(str),
}
ODD_QUERY: Strategies = {
    name: st.one_of(nasty_text, dates if name in ("from", "to") else ids.map(str))
    for name in RIGHT_QUERY
}


@st.composite
def queries(draw: st.DrawFn) -> str:
    """The inbox's filters, mostly with right values and one or two odd ones; or noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=80).map(lambda b: quote(b, safe="=&%+")))
    names = draw(st.lists(st.sampled_from(sorted(RIGHT_QUERY)), max_size=5, unique=True))
    odd = set(draw(st.lists(st.sampled_from(sorted(RIGHT_QUERY)), max_size=2)))
    pairs = [(n, draw(ODD_QUERY[n] if n in odd else RIGHT_QUERY[n])) for n in names]
    pairs += draw(st.lists(st.tuples(odd_text, any_text), max_size=1))
    return urlencode(pairs)


# ---- the bodies of the writes: a right one, and what each field may become -------------------
ACTION: Strategies = {
    "title": text_or("Patrols on Elm"),
    "message": texts_like(TWO_TEXTS),
    "response_ids": st.one_of(st.lists(ids, max_size=6), json_values),
    "include_sensitive": st.one_of(st.lists(ids, max_size=3), json_values),
}
MEETING: Strategies = {
    "title": text_or("Northside meeting"),
    "starts_at": instants,
    "timezone": st.one_of(st.timezone_keys(), json_text, json_values),
    "duration_minutes": st.one_of(st.integers(-5, 2000), json_values),
    "location": text_or("Library, 12 Oak St"),
    "virtual_url": text_or("https://meet.example.org/x", "http://[::1", "mailto:x@y.org"),
    "neighbourhood": text_or("Northside"),
    "titles": texts_like({"es": "Reunión"}),
    "locations": texts_like({"es": "Biblioteca"}),
    "accessibility": text_or(),
    "language_notes": text_or(),
    "notes": text_or(),
    "reminders": st.one_of(st.lists(durations, max_size=4), json_values),
}
BROADCAST: Strategies = {
    "message": texts_like(TWO_TEXTS),
    "audience": st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "languages": st.one_of(st.lists(languages, max_size=3), json_values),
                "neighbourhoods": st.one_of(st.lists(json_text, max_size=3), json_values),
                "channels": st.one_of(st.lists(json_text, max_size=3), json_values),
                "subscribers": json_values,
            },
        ),
        json_values,
    ),
    "send_at": instants,
    "fallback_to_default": json_values,
    "prompt": st.one_of(st.booleans(), json_values),
    "prompt_window": st.one_of(durations, json_values),
    "preview": st.one_of(st.booleans(), json_values),
}
RIGHT_ACTION = {
    "title": "Patrols on Elm",
    "message": TWO_TEXTS,
    "response_ids": [1, 2, 3],
    "include_sensitive": [3],
}
RIGHT_MEETING = {
    "title": "Northside meeting",
    "starts_at": "2026-12-03T18:30:00-05:00",
    "timezone": "America/New_York",
    "duration_minutes": 90,
    "location": "Library, 12 Oak St",
    "virtual_url": "https://meet.example.org/northside",
    "neighbourhood": "Northside",
    "titles": {"es": "Reunión del norte"},
    "locations": {"es": "Biblioteca, 12 Oak St"},
    "accessibility": "Step-free entrance",
    "language_notes": "Spanish interpreter",
    "notes": "Bring questions",
    "reminders": ["P3D", "morning"],
}
RIGHT_BROADCAST = {
    "message": TWO_TEXTS,
    "audience": {"languages": ["en", "es"], "channels": ["simulator"], "subscribers": False},
    "fallback_to_default": True,
    "prompt": True,
    "prompt_window": "P2D",
    "preview": False,
}
POSTS: dict[str, tuple[dict[str, Any], Strategies]] = {
    "/api/v1/actions": (RIGHT_ACTION, ACTION),
    "/api/v1/meetings": (RIGHT_MEETING, MEETING),
    "/api/v1/broadcasts": (RIGHT_BROADCAST, BROADCAST),
}
GETS = ("/api/v1/actions/{}", "/api/v1/meetings/{}", "/api/v1/broadcasts/{}")


@st.composite
def objects(draw: st.DrawFn, right: dict[str, Any], fields: Strategies) -> Any:
    """A right body with one to three things changed; now and then any JSON at all.

    A few changes at a time get past the first check a view makes, so the odd value reaches
    the code (and the database) behind it: odd values anywhere in the body (a NUL inside
    `message.es`), or a field's own kind of wrong value (a duration that overflows).
    """
    mode = draw(st.integers(0, 9))
    if mode == 0:
        return draw(json_values)
    if mode <= 5:
        return draw(mutated(right))
    body = dict(right)
    for name in draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=2)):
        body[name] = draw(fields[name])
    return body


@st.composite
def bodies(draw: st.DrawFn, right: dict[str, Any], fields: Strategies) -> tuple[bytes, str]:
    """(body, content type): JSON of the route's shape, or bytes that are not JSON at all."""
    if draw(st.integers(0, 7)) == 0:
        body = draw(raw_bodies)
    else:
        body = json.dumps(draw(objects(right, fields))).encode()
    kind = draw(st.sampled_from(["application/json"] * 6 + ["text/plain", "", "form"]))
    return body, "application/x-www-form-urlencoded" if kind == "form" else kind


# ---- running them -------------------------------------------------------------------------
@pytest.fixture
def tokens(rt: Runtime) -> dict[str, dict[str, str]]:
    """Responses 1-3 to refer to (one sensitive), and a token of each role."""
    raise_concern(rt, "sim-a", "en", "Cars race on Elm Street", "Elm")
    raise_concern(rt, "sim-b", "es", "Los carros van rápido", "Elm")
    raise_concern(rt, "sim-c", "en", "Domestic violence next door", "Oak")
    return {"staff": api_token(rt, "staff"), "viewer": api_token(rt, "viewer")}


def _headers(tokens: dict[str, dict[str, str]], auth: str, odd: str) -> dict[str, str]:
    if auth in tokens:
        return tokens[auth]
    if auth == "unknown":
        return {"Authorization": "Bearer tl_" + "0" * 40}
    return {"Authorization": odd} if auth == "odd" else {}


def _call(
    client: FlaskClient, label: str, method: str, path: str, auth: str = "", **kwargs: Any
) -> int:
    """One request: tallied, never a 5xx, JSON whenever it has a body, refused without a token.

    `auth` names the kind of token sent (see AUTH) when the test wants that checked too.
    """
    try:
        response = client.open(path, method=method, **kwargs)
    except Exception:  # TESTING propagates what would have been a 500: count it as one
        TALLY.record(f"api {label}", 500)
        raise
    status = TALLY.record(f"api {label}", response.status_code)
    assert status < 500, response.get_data(as_text=True)[:500]
    if method not in ("OPTIONS", "HEAD"):  # Flask answers these itself, with no body
        assert response.is_json, (status, response.get_data(as_text=True)[:200])
    if status in (401, 403):
        assert response.get_json()["error"]
    if auth in ("unknown", "odd", "none"):
        assert status in (401, 404), status  # 404: no route matched, so nothing was read
    elif auth == "viewer" and method == "POST":
        assert status in (403, 404), status
    return status


def _still_answered(rt: Runtime, client: FlaskClient, tokens: dict[str, dict[str, str]]) -> None:
    """After the fuzzing: an ordinary read, an ordinary write and a resident all answered."""
    assert client.get("/api/v1/responses?limit=2", headers=tokens["viewer"]).status_code == 200
    created = client.post(
        "/api/v1/meetings",
        headers=tokens["staff"],
        json={"title": "After", "starts_at": "2026-12-30T18:00:00Z", "location": "Hall"},
    )
    assert created.status_code == 201, created.get_json()
    assert Simulator(rt, "sim-after-fuzz").say("hi"), "no reply after the fuzzing"


def test_fuzzed_api_requests_never_answer_5xx(
    rt: Runtime, client: FlaskClient, tokens: dict[str, dict[str, str]]
) -> None:
    @FUZZ
    @given(query=queries(), auth=AUTH, odd=header_text)
    def list_responses(query: str, auth: str, odd: str) -> None:
        headers = _headers(tokens, auth, odd)
        _call(
            client,
            "GET /responses",
            "GET",
            "/api/v1/responses",
            auth,
            query_string=query,
            headers=headers,
        )

    def writes(path: str) -> None:
        @FUZZ
        @given(body=bodies(*POSTS[path]), auth=AUTH, odd=header_text)
        def write(body: tuple[bytes, str], auth: str, odd: str) -> None:
            data, kind = body
            headers = _headers(tokens, auth, odd)
            label = f"POST {path.removeprefix('/api/v1')}"
            kind = kind or None
            _call(client, label, "POST", path, auth, data=data, content_type=kind, headers=headers)

        write()

    @FUZZ
    @given(
        template=st.sampled_from(GETS),
        item=st.one_of(ids.map(str), odd_text.map(lambda t: quote(t, safe=""))),
        query=queries(),
        auth=AUTH,
        odd=header_text,
    )
    def reads(template: str, item: str, query: str, auth: str, odd: str) -> None:
        headers = _headers(tokens, auth, odd)
        label = "GET " + template.removeprefix("/api/v1").format("{id}")
        url = template.format(item)
        _call(client, label, "GET", url, auth, query_string=query, headers=headers)

    @FUZZ
    @given(
        method=st.sampled_from(["PUT", "PATCH", "DELETE", "POST", "GET", "TRACE", "OPTIONS"]),
        path=st.one_of(
            st.sampled_from([*POSTS, *(t.format(1) for t in GETS), "/api/v1/openapi.json"]),
            odd_text.map(lambda t: "/api/v1/" + quote(t, safe="/")),
        ),
        auth=AUTH,
        odd=header_text,
    )
    def elsewhere(method: str, path: str, auth: str, odd: str) -> None:
        _call(client, "other methods, paths", method, path, headers=_headers(tokens, auth, odd))

    list_responses()
    for path in POSTS:
        writes(path)
    reads()
    elsewhere()
    _still_answered(rt, client, tokens)


def test_every_field_of_every_request_with_every_odd_value(
    rt: Runtime, client: FlaskClient, tokens: dict[str, dict[str, str]]
) -> None:
    """A sweep beside the random search: each odd value alone in each field, each field gone.

    Random search finds a NUL in `message.es` only now and then; this finds it every run.
    """
    staff, viewer = tokens["staff"], tokens["viewer"]
    for path, (right, _fields) in POSTS.items():
        label = f"sweep POST {path.removeprefix('/api/v1')}"
        for change, body in sweep(right):
            try:
                _call(client, label, "POST", path, json=body, headers=staff)
            except Exception as exc:
                exc.add_note(f"POST {path} with {change}")
                raise
    for name in RIGHT_QUERY:
        for value in NASTY_TEXT:
            query = urlencode({name: value})
            try:
                _call(
                    client,
                    "sweep GET /responses",
                    "GET",
                    "/api/v1/responses",
                    query_string=query,
                    headers=viewer,
                )
            except Exception as exc:
                exc.add_note(f"GET /api/v1/responses?{query[:80]}")
                raise
    _still_answered(rt, client, tokens)
