"""Liveness for platforms and load balancers: the app answers and the database is reachable."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 with {"status": "ok"} when the database answers; 503 otherwise."""
    runtime = current_app.extensions["townline"]
    try:
        with runtime.db.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
