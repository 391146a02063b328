"""Liveness for platforms and load balancers: the app answers and the database is reachable."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from bot.web.context import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 with {"status": "ok"} when the database answers; 503 otherwise."""
    try:
        with runtime().db.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
