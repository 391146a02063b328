"""Staff login and logout, and the decorator that guards every staff page by role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
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


# Touching the session on every request would rewrite the cookie on every page; a minute's
# precision is plenty for an idle limit counted in hours.
SEEN_PRECISION_SECONDS = 60


def current_staff() -> StaffUser | None:
    """The logged-in, still active account, looked up once per request.

    The cookie is signed but cannot be recalled, so it also carries the account's session
    version and the login and last-seen times: a raised version (logout, password change,
    deactivation) or an idle or absolute lifetime passed ends it, whatever the cookie says.
    """
    if "staff" not in g:
        g.staff = _session_user()
    return g.staff  # type: ignore[no-any-return]


def _session_user() -> StaffUser | None:
    staff_id, version = session.get("staff_id"), session.get("v")
    login_at, seen_at = session.get("at"), session.get("seen")
    if not all(isinstance(v, int) for v in (staff_id, version, login_at, seen_at)):
        if "staff_id" in session:
            session.clear()
        return None
    settings = runtime().settings
    now = int(runtime().now().timestamp())
    expired = (
        now - login_at >= settings.staff_session_hours * 3600
        or now - seen_at >= settings.staff_idle_minutes * 60
    )
    user = None
    if not expired:
        with transaction(runtime().db) as db:
            user = store.get(db, staff_id)
    if user is None or not user.active or user.session_version != version:
        session.clear()
        return None
    if now - seen_at >= SEEN_PRECISION_SECONDS:
        session["seen"] = now
    return user


def start_session(user: StaffUser) -> None:
    """A fresh session on login: nothing from before carries over."""
    now = int(runtime().now().timestamp())
    session.clear()
    session.update(staff_id=user.id, v=user.session_version, at=now, seen=now)
    g.staff = user


def home_for(user: StaffUser) -> str:
    """Where an account lands: a partner on its own page, staff on the inbox."""
    return url_for("partner_view.home") if user.role == accounts.PARTNER else url_for("staff.inbox")


def _landing(user: StaffUser, asked: str | None) -> str:
    """The page asked for after login, unless a partner asked for one of staff's."""
    target = same_site(asked, home_for(user))
    path = urlsplit(target).path
    if user.role == accounts.PARTNER and not (path == "/partner" or path.startswith("/partner/")):
        return home_for(user)
    return target


def login_required(view: F) -> F:
    """Any active account, partners included (their own password page, their own view)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_staff() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def partner_required(view: F) -> F:
    """A partner's own login only: staff preview a partner's view on a staff page instead."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_staff()
        if user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if user.role != accounts.PARTNER or user.partner_id is None:
            abort(403, "this page is for a partner organisation's login")
        if not accounts.partner_is_active(runtime(), user.partner_id):
            abort(403, "this partnership has ended; ask the agency's staff")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def staff_required(role: str = "viewer") -> Callable[[F], F]:
    """Send strangers to the login page; refuse (403) a role below `role`, and every partner
    login (partners are outside the staff ladder)."""

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


def same_site(target: str | None, fallback: str | None = None) -> str:
    """Only same-site paths, so no form can bounce staff to another site (an open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target and target.isprintable():
            return target
    return fallback or url_for("staff.inbox")


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
    start_session(result.user)
    return redirect(_landing(result.user, request.form.get("next")))


@bp.post("/staff/logout")
def logout() -> ResponseReturnValue:
    """End this account's sessions everywhere (a shared computer, a lost phone)."""
    user = current_staff()
    if user is not None and user.id is not None:
        accounts.end_sessions(runtime(), user.id)
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/staff/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    """Change one's own password; every other session of the account ends."""
    user = current_staff()
    assert user is not None
    assert user.id is not None
    if request.method == "GET":
        return render_template("staff/password.html")
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        return render_template("staff/password.html", error="The new passwords differ."), 400
    try:
        changed = accounts.change_password(
            runtime(), user.id, request.form.get("current_password", ""), new
        )
    except accounts.AccountError as exc:
        return render_template("staff/password.html", error=f"{str(exc).capitalize()}."), 400
    start_session(changed)  # this browser stays in, on the new version
    flash("Your password is changed; you were logged out everywhere else.", "ok")
    return redirect(home_for(changed))


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    """Templates ask `current_staff()` to show the menu and role-dependent buttons."""
    return {"current_staff": current_staff}
