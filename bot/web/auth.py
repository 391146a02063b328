"""Staff login and logout, and the decorator that guards every staff page by role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from bot.services import accounts
from bot.web.context import runtime
from storage import staff as store
from storage.db import transaction
from storage.models import StaffUser

# The app's root is bot/, so bot/web's templates and static files are served through this
# blueprint (Flask searches every blueprint's template folder).
bp = Blueprint(
    "auth",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/staff/static",
)
F = TypeVar("F", bound=Callable[..., Any])


def current_staff() -> StaffUser | None:
    """The logged-in, still active account, looked up once per request."""
    if "staff" not in g:
        user = None
        staff_id = session.get("staff_id")
        if isinstance(staff_id, int):
            with transaction(runtime().db) as db:
                user = store.get(db, staff_id)
            if user is not None and not user.active:
                user = None
        g.staff = user
    return g.staff  # type: ignore[no-any-return]


def staff_required(role: str = "viewer") -> Callable[[F], F]:
    """Send strangers to the login page; refuse (403) a role below `role`."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_staff()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not accounts.role_allows(user.role, role):
                abort(403, f"this needs the {role} role")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot bounce staff to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("staff.inbox")


@bp.route("/staff/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Email and password; wrong guesses are counted per account and per IP."""
    if request.method == "GET":
        return render_template("staff/login.html", next=request.args.get("next", ""))
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    result = accounts.login(runtime(), email, password, request.remote_addr or "unknown")
    if result.retry_after:
        error = f"Too many failed attempts. Try again in {result.retry_after} seconds."
        page = render_template("staff/login.html", error=error, email=email)
        return page, 429, {"Retry-After": str(result.retry_after)}
    if result.user is None:
        error = "Wrong email or password."
        return render_template("staff/login.html", error=error, email=email), 401
    session.clear()  # a fresh session on login: nothing from before carries over
    session["staff_id"] = result.user.id
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/staff/logout")
def logout() -> ResponseReturnValue:
    """Forget the login."""
    session.clear()
    return redirect(url_for("auth.login"))


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    """Templates ask `current_staff()` to show the menu and role-dependent buttons."""
    return {"current_staff": current_staff}
