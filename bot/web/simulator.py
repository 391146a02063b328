"""The simulator page: a pretend phone that takes the same path as SMS, outbox included."""

from __future__ import annotations

import re
import secrets
import uuid

from flask import Blueprint, abort, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from bot.conversation import receive
from bot.events import Inbound
from bot.guard import storable
from bot.web.auth import current_staff
from bot.web.context import json_object, runtime
from channels.simulator import NAME, SimulatorChannel
from storage import conversations, outbox
from storage.db import transaction

bp = Blueprint("simulator", __name__)
ADDRESS = re.compile(r"^[A-Za-z0-9_.:+-]{3,64}$")
VISITOR = re.compile(r"[0-9a-f]{16}")
MAX_TEXT = 4000


VISITOR_KEY = "sim_visitor"


@bp.before_request
def _who_may_use_it() -> ResponseReturnValue | None:
    """TOWNLINE_SIMULATOR=staff: only logged-in staff (a production line is not a toy); a
    partner's login is not staff, and its words would land in the agency's inbox."""
    user = current_staff()
    if runtime().settings.simulator_mode != "staff" or (user and user.role != "partner"):
        return None
    if request.method == "GET":
        return redirect(url_for("auth.login", next=request.path))
    return jsonify(error="log in as staff to use the simulator"), 401


def _address(data: dict[str, object]) -> str:
    """The pretend phone's number, kept apart per visitor.

    The page names its own address, but the stored one is prefixed with a random id held in
    this visitor's signed session cookie: another visitor who sends the same address (or
    guesses it) reaches a different pretend phone and can never read these replies.
    """
    address = data.get("address")
    if not isinstance(address, str) or not ADDRESS.match(address):
        abort(400, "address must be 3-64 letters, digits or _.:+-")
    return f"{_visitor()}~{address}"


def _visitor() -> str:
    """This browser's random id, made on its first visit and kept in its session cookie."""
    visitor = session.get(VISITOR_KEY)
    if not isinstance(visitor, str) or not VISITOR.fullmatch(visitor):
        visitor = session[VISITOR_KEY] = secrets.token_hex(8)
    return visitor


@bp.get("/simulator")
def page() -> ResponseReturnValue:
    """The phone-like page; its address lives in the browser, not the URL."""
    _visitor()  # set with the page's cookie, so the page's own requests never change it
    return render_template("simulator.html", agency=runtime().settings.agency_name)


@bp.post("/simulator/send")
def send() -> ResponseReturnValue:
    """Take one line from the pretend phone; replies arrive through the outbox."""
    data = json_object()
    if not isinstance(data, dict):
        return jsonify(error="send JSON: {address, text}"), 400
    text = data.get("text", "")
    choice = data.get("choice")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return jsonify(error=f"text must be a string of at most {MAX_TEXT} characters"), 400
    if choice is not None and not isinstance(choice, str):
        return jsonify(error="choice must be a string"), 400
    inbound = Inbound(
        channel=NAME,
        address=_address(data),
        text=storable(text),
        choice=choice,
        provider_id=f"sim-in-{uuid.uuid4().hex}",
    )
    receipt = receive(runtime(), inbound)
    return jsonify(accepted=True, duplicate=receipt.duplicate), 202


@bp.post("/simulator/messages")
def messages() -> ResponseReturnValue:
    """Replies sent to a pretend phone after an outbox id (POST keeps addresses out of logs)."""
    data = json_object()
    if not isinstance(data, dict):
        return jsonify(error="send JSON: {address, after}"), 400
    address = _address(data)
    after = data.get("after", 0)
    if not isinstance(after, int) or after < 0:
        return jsonify(error="after must be a non-negative integer"), 400
    with transaction(runtime().db) as session:
        contact = conversations.find_contact(session, NAME, address)
        rows = outbox.outbound_after(session, contact.id, after) if contact and contact.id else []
    return jsonify(
        messages=[
            {
                "id": row.id,
                "text": SimulatorChannel.render(row.text, row.choices or []),
                "choices": row.choices or [],
            }
            for row in rows
        ]
    )
