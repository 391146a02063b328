"""Admin pages: staff accounts and API tokens, the same operations as `townline staff|token`.

Every change goes through bot.services (audited there); these views only read forms, show the
outcome and never reveal a token again after the page that created it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.services import accounts, partner_view, tokens
from bot.web.auth import current_staff, staff_required
from bot.web.context import form_id, runtime

bp = Blueprint("admin", __name__)


def _actor() -> str:
    user = current_staff()
    assert user is not None
    return user.email


@bp.get("/staff/admin/accounts")
@staff_required("admin")
def accounts_page() -> ResponseReturnValue:
    """Every account: role, partner, state, last login, and the forms to change them."""
    rt = runtime()
    return render_template(
        "staff/admin_accounts.html",
        users=accounts.list_staff(rt),
        roles=accounts.ACCOUNT_ROLES,
        partners=partner_view.partner_choices(rt),
        partner_names=partner_view.partner_names(rt),
    )


def _partner_id(role: str) -> int | None:
    """The partner chosen on the form, read only for a partner account (the select is always
    on the page, since there is no script to show it for that role alone)."""
    return form_id(request.form.get("partner_id")) if role == accounts.PARTNER else None


@bp.post("/staff/admin/accounts")
@staff_required("admin")
def accounts_change() -> ResponseReturnValue:
    """One change to one account: create, set-role, deactivate, activate, reset-password."""
    rt, form = runtime(), request.form
    op, email = form.get("op", ""), form.get("email", "")
    try:
        if op == "create":
            role = form.get("role", "")
            user = accounts.create_staff(
                rt, email, form.get("password", ""), role, _actor(), _partner_id(role)
            )
            flash(f"Created {user.role} account {user.email}.", "ok")
        elif op == "set-role":
            role = form.get("role", "")
            user = accounts.set_role(rt, email, role, _actor(), _partner_id(role))
            flash(f"{user.email} is now {user.role}.", "ok")
        elif op in ("deactivate", "activate"):
            user = accounts.set_active(rt, email, op == "activate", _actor())
            state = "active again" if user.active else "deactivated; every session ended"
            flash(f"{user.email} is {state}.", "ok")
        elif op == "reset-password":
            user = accounts.reset_password(rt, email, form.get("password", ""), _actor())
            flash(f"New password set for {user.email}; every session ended.", "ok")
        else:
            flash("Unknown operation.", "error")
            return redirect(url_for("admin.accounts_page")), 400  # type: ignore[return-value]
    except accounts.AccountError as exc:
        flash(f"{str(exc).capitalize()}.", "error")
    return redirect(url_for("admin.accounts_page"))


@bp.get("/staff/admin/tokens")
@staff_required("admin")
def tokens_page() -> ResponseReturnValue:
    """Every API token: name, role, created, last used, expiry and state (never the secret)."""
    rt = runtime()
    rows = [(row, tokens.token_state(row, rt.now())) for row in tokens.list_tokens(rt)]
    return render_template("staff/admin_tokens.html", rows=rows, roles=tokens.TOKEN_ROLES)


@bp.post("/staff/admin/tokens")
@staff_required("admin")
def tokens_change() -> ResponseReturnValue:
    """Create a token (its secret shown on this response only) or revoke one."""
    rt, form = runtime(), request.form
    try:
        if form.get("op") == "create":
            days = form.get("days", "").strip()
            lifetime = form_id(days) if days else None
            if days and lifetime is None:
                raise tokens.TokenError("the lifetime must be a whole number of days")
            new = tokens.create_token(
                rt, form.get("name", ""), form.get("role", ""), _actor(), lifetime
            )
            rows = [(row, tokens.token_state(row, rt.now())) for row in tokens.list_tokens(rt)]
            page = render_template(
                "staff/admin_tokens.html", rows=rows, roles=tokens.TOKEN_ROLES, new=new
            )
            return page, 201, {"Cache-Control": "no-store"}
        token_id = form_id(form.get("token_id"))
        if form.get("op") != "revoke" or token_id is None:
            raise tokens.TokenError("choose a token to revoke")
        row = tokens.revoke_token(rt, token_id, _actor())
        flash(f"Token {row.name} is revoked; requests with it now get 401.", "ok")
    except tokens.TokenError as exc:
        flash(f"{str(exc).capitalize()}.", "error")
    return redirect(url_for("admin.tokens_page"))
