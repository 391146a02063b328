"""Helpers for dashboard tests: residents who raise concerns, staff who log in, CSRF tokens."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from bot.runtime import Runtime
from bot.services.accounts import create_staff
from bot.services.tokens import create_token
from bot.simulate import Simulator
from storage import conversations
from storage.db import transaction
from storage.models import Response

PASSWORD = "correct horse battery staple"
# What a resident says, per language, to go through the safety flow: topic 1, skip the
# details, a place, then yes or no to a follow-up.
ANSWERS = {
    "en": ("1", "skip", "yes", "no"),
    "es": ("1", "saltar", "sí", "no"),
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def raise_concern(
    rt: Runtime, address: str, language: str, words: str, place: str, consent: bool = True
) -> Response:
    """A resident on the simulator writes, picks "safety" and answers; returns the response."""
    topic, skip, yes, no = ANSWERS[language]
    resident = Simulator(rt, address, language=language)
    for line in (words, topic, skip, place, yes if consent else no):
        resident.say(line)
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, "simulator", address)
        assert contact is not None
        rows = [r for r, c in conversations.list_responses(session) if c.id == contact.id]
    return rows[-1]


def staff_account(rt: Runtime, email: str, role: str) -> str:
    """Create an account with the test password; returns the email."""
    create_staff(rt, email, PASSWORD, role, actor="test")
    return email


def csrf_token(client: FlaskClient, path: str = "/staff/login") -> str:
    """The CSRF token a page's forms carry for this client's session."""
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no csrf token on {path}"
    return match.group(1)


def log_in(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs: object) -> int:
    """Submit the login form as a browser would; returns the status code."""
    token = csrf_token(client)
    response = client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": token},
        **kwargs,  # type: ignore[arg-type]
    )
    return response.status_code


def post_form(client: FlaskClient, path: str, data: dict[str, object]) -> object:
    """POST a staff form with a valid CSRF token for the logged-in session."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/staff")})


def api_token(rt: Runtime, role: str, name: str = "script") -> dict[str, str]:
    """An Authorization header for a fresh token of a role."""
    return {"Authorization": f"Bearer {create_token(rt, f'{name}-{role}', role, 'test').secret}"}
