"""What every fuzz test shares: the Hypothesis profile, odd values, and the request tally.

The profile keeps CI bounded (`TOWNLINE_FUZZ_EXAMPLES`, default 100 examples per test); set
it higher for a long hunt, e.g. `TOWNLINE_FUZZ_EXAMPLES=2000 pytest tests/hardening`. The
tally counts every fuzzed request by status class; tests/hardening/conftest.py prints it at
the end of the run, so a note can quote "requests, 4xx, 5xx".
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROFILE = "townline-fuzz"
EXAMPLES = int(os.environ.get("TOWNLINE_FUZZ_EXAMPLES", "100"))

settings.register_profile(
    PROFILE,
    max_examples=EXAMPLES,
    deadline=None,  # a request through the engine and a database has no fixed cost
    # The app, its database and the fakes are built once per test and shared by its examples:
    # state piling up across examples is what a long-running line sees too.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    print_blob=True,  # a failure in CI prints the line that replays it
)
FUZZ = settings.get_profile(PROFILE)


@dataclass
class Tally:
    """Requests sent by the fuzz tests, by suite and status class (2xx, 3xx, 4xx, 5xx)."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def record(self, suite: str, status: int) -> int:
        """Count one answer; returns the status so a test can assert on it in one line."""
        counter = self.counts.setdefault(suite, Counter())
        counter["requests"] += 1
        counter[f"{status // 100}xx"] += 1
        return status

    def lines(self) -> list[str]:
        """One line per suite and a total: requests, 2xx, 3xx, 4xx, 5xx."""
        total: Counter[str] = Counter()
        rows = []
        for suite in sorted(self.counts):
            total.update(self.counts[suite])
            rows.append(_row(suite, self.counts[suite]))
        if rows:
            rows.append(_row("total", total))
        return rows


def _row(name: str, counts: Counter[str]) -> str:
    classes = ", ".join(f"{c} {counts[c]}" for c in ("2xx", "3xx", "4xx", "5xx"))
    return f"{name:<40} requests {counts['requests']:>6}: {classes}"


TALLY = Tally()

# ---- odd values ----------------------------------------------------------------------------
# Hypothesis's text already holds NUL, controls, combining marks and every script; these are
# the values that broke (or could break) something before, so they come up often.
ODD_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "²",
    "٣",  # an Arabic-Indic digit: int() takes it, a database does not
    "9" * 23,
    str(2**31),
    str(2**63),
    "-1",
    "0",
    "1e9",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "STOP",
    "HELP",
    "/start",
    "rsvp:1:yes",
    "#k",
    "🛑",
    "有人闯进我家",
    "có người đột nhập",
    "مرحبا",
    "\u202e\u2066",  # bidi controls
    "e\u0301" * 50,  # combining accents
    "%00%ff%zz",
    "http://[::1",
    "https://exa mple.org/\x00",
    "../../etc/passwd",
    "America/New_York",
    "P99999999999D",
    "9999-12-31",
    "0001-01-01T00:00:00Z",
    "2026-13-45",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
)
# Ordinary words with one troublemaker inside: the kind of value that slips past a check
# that looks only at the start or the shape of a string.
spiked = st.builds(
    lambda before, odd, after: before + odd + after,
    st.text(max_size=10),
    st.sampled_from(["\x00", "\u202e", "²", "\uffff", "\U0010ffff", "e\u0301", "\r\n", "%00"]),
    st.text(max_size=10),
)
odd_text = st.one_of(
    st.sampled_from(ODD_STRINGS),
    spiked,
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8),
)
# Huge values, but under the app's 1 MB body limit (above it is a 413, tried separately).
huge_text = st.builds(
    lambda char, n: char * n,
    st.sampled_from(["a", "9", "é", "语", "\x00", "🛑"]),
    st.sampled_from([300, 5_000, 60_000]),
)
any_text = st.one_of(odd_text, odd_text, odd_text, huge_text)

odd_ints = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**52, 2**53, 2**63, 2**64, 10**30]),
)
# Half a surrogate pair: JSON can spell it (\\ud800), UTF-8 cannot encode it, so it only
# travels in JSON bodies, never in forms or headers.
lone_surrogates = st.sampled_from(["\ud800", "a\udfffb", "\udbff"])
json_text = st.one_of(any_text, lone_surrogates)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    odd_ints,
    st.floats(),  # NaN and Infinity too: Python's json reads them
    json_text,
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(odd_text | lone_surrogates, inner, max_size=4)
    ),
    max_leaves=12,
)


def nested(depth: int, leaf: Any = 1) -> Any:
    """`leaf` wrapped `depth` times in alternating lists and objects."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"x": value}
    return value


raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"just a string"',
            b"{",
            b"\xff\xfe\x00",
            b'{"a": NaN}',
            b'{"a": 1e999}',
            b"[" * 5000 + b"]" * 5000,
            b'{"x":' * 40 + b"1" + b"}" * 40,
            b'{"update_id": 1, "message": ' + b"[" * 1000 + b"]" * 1000 + b"}",
            b'"' + b"\\ud800" + b'"',
            b'{"\\u0000": "\\u0000"}',
        ]
    ),
)

# ---- one field at a time ---------------------------------------------------------------------
# The values that break code behind a check which looks only at the type or the start of a
# string; a sweep puts each of them, alone, in every field of a right request, and the
# Hypothesis strategies draw them often.
NASTY_TEXT: tuple[str, ...] = (
    "\x00",
    "a\x00b",
    "",
    " ",
    "²",
    "9" * 30,
    "-1",
    "🛑",
    "有人闯进我家",
    "\u202e",
    "http://[::1",
    "x" * 100_000,
)
NASTY_JSON: tuple[Any, ...] = (
    *NASTY_TEXT,
    "\ud800",
    "a\udfffb",
    None,
    True,
    0,
    -1,
    1.5,
    2**31,
    2**63,
    float("nan"),
    [],
    {},
    ["\x00"],
    {"\x00": 1},
    {"en": "\x00"},
    nested(30),
)
# One of each kind, for sweeps that must stay quick on PostgreSQL (each request is a turn).
NASTY_CORE: tuple[Any, ...] = (
    "a\x00b",
    "\ud800",
    "",
    "9" * 30,
    "x" * 100_000,
    "http://[::1",
    "²",
    None,
    True,
    -1,
    1.5,
    2**31,
    2**63,
    float("nan"),
    [],
    {},
    nested(30),
)
nasty_json = st.one_of(st.sampled_from(NASTY_JSON), json_values)
nasty_text = st.one_of(st.sampled_from(NASTY_TEXT), any_text)

Path = tuple[Any, ...]


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every key path (object keys, list indexes) in a nested JSON value."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    found: list[Path] = []
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def replaced(value: Any, path: Path, new: Any) -> Any:
    """A deep copy of `value` with the item at `path` set to `new`."""
    copy = json.loads(json.dumps(value))
    holder = copy
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = new
    return copy


def removed(value: Any, path: Path) -> Any:
    """A deep copy of `value` without the object key at `path` (a list item stays)."""
    copy = json.loads(json.dumps(value))
    holder = copy
    for step in path[:-1]:
        holder = holder[step]
    if isinstance(holder, dict):
        del holder[path[-1]]
    return copy


def sweep(value: Any, nasties: tuple[Any, ...] = NASTY_CORE) -> list[tuple[str, Any]]:
    """(what changed, the value changed): each nasty at each path, and each key removed."""
    variants: list[tuple[str, Any]] = []
    for path in paths(value):
        where = ".".join(map(str, path))
        variants.append((f"{where} removed", removed(value, path)))
        variants.extend((f"{where}={new!r:.40}", replaced(value, path, new)) for new in nasties)
    return variants


@st.composite
def mutated(draw: st.DrawFn, value: Any, values: st.SearchStrategy[Any] = nasty_json) -> Any:
    """`value` with one to three items replaced by `values` or removed."""
    for _ in range(draw(st.integers(1, 3))):
        found = paths(value)
        if not found:
            break
        path = draw(st.sampled_from(found))
        if draw(st.integers(0, 4)) == 0:
            value = removed(value, path)
        else:
            value = replaced(value, path, draw(values))
    return value
