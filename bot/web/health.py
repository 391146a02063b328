"""Liveness for platforms and load balancers: the app answers and the database is reachable."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from bot.web.context import runtime
from storage import inbound

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 with {"status": "ok"} when the database answers; 503 otherwise.

    `inbound_waiting` counts residents' messages stored and not yet answered: it grows in a
    surge and shrinks as the worker catches up; one that only grows means no worker runs.
    """
    try:
        with runtime().db.connect() as conn:
            conn.execute(text("SELECT 1"))
        waiting = inbound.count_waiting(runtime().db)
    except Exception:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok", inbound_waiting=waiting)
