"""Sign in and out: argon2 passwords, a renewed session at login, and rate limits shared by all workers."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from portfolio.models import User
from portfolio.queries.auth import load_active_user, login_blocked, record_login_attempt
from portfolio.services import audit
from portfolio.services.accounts import check_password, find_user, normalise_email

from .context import app_state, request_session
from .security import CSRF_COOKIE, safe_next

WRONG_CREDENTIALS = "Wrong email or password."
TOO_MANY_ATTEMPTS = "Too many failed sign-in attempts. Please wait {minutes} minutes and try again."

blueprint = Blueprint("auth", __name__)


@dataclass(frozen=True, eq=False)
class SignedInUser(UserMixin):
    """A snapshot of the account for the current request; access rights are resolved separately, per request."""

    id: int
    email: str
    role: str
    display_name: str | None

    @classmethod
    def from_model(cls, user: User) -> SignedInUser:
        return cls(
            id=user.id,
            email=user.email,
            role=getattr(user.role, "value", str(user.role)),
            display_name=user.display_name,
        )


def load_signed_in_user(user_id: str) -> SignedInUser | None:
    """Re-read the account on every request so deactivating a user ends their sessions at once."""
    try:
        user = load_active_user(request_session(), int(user_id))
    except ValueError:
        return None
    return SignedInUser.from_model(user) if user is not None else None


def make_login_manager(server: Flask) -> LoginManager:
    manager = LoginManager()
    manager.session_protection = "strong"
    manager.login_view = "auth.login"
    manager.user_loader(load_signed_in_user)
    manager.init_app(server)
    return manager


def _login_form(
    status: int = 200, error: str | None = None, email: str = "", next_path: str = "/"
) -> ResponseReturnValue:
    return render_template("login.html", error=error, email=email, next=next_path), status


def _password_matches(user: User | None, password: str) -> bool:
    """Spend the same argon2 work whether or not the account exists, so timing reveals nothing."""
    if user is None:
        check_password(User(password_hash=app_state().dummy_password_hash), password)
        return False
    return check_password(user, password) and bool(user.is_active)


def _renew_session() -> None:
    """Drop everything from before login (CSRF token included) so a planted session cannot be fixated."""
    session.clear()
    g.pop("csrf_token", None)


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the form, or check the credentials against the shared rate limit before the password."""
    next_path = safe_next(request.values.get("next"))
    if request.method == "GET":
        return redirect(next_path) if current_user.is_authenticated else _login_form(next_path=next_path)
    settings = app_state().settings
    email = normalise_email(request.form.get("email", ""))
    now = int(time.time())
    db = request_session()
    if login_blocked(
        db,
        email=email,
        ip=request.remote_addr,
        since_ts=now - settings.login_window_seconds,
        max_failures=settings.login_max_failures,
    ):
        minutes = max(1, round(settings.login_window_seconds / 60))
        return _login_form(429, TOO_MANY_ATTEMPTS.format(minutes=minutes), email, next_path)
    user = find_user(db, email)
    success = _password_matches(user, request.form.get("password", ""))
    record_login_attempt(db, email=email, ip=request.remote_addr, success=success, at_ts=now)
    audit.record(
        db,
        "login" if success else "login_failed",
        user_id=user.id if user is not None else None,
        organisation_id=user.organisation_id if user is not None else None,
        detail={"email": email[:320]},
        ip=request.remote_addr,
    )
    db.commit()
    if not success or user is None:
        return _login_form(401, WRONG_CREDENTIALS, email, next_path)
    _renew_session()
    login_user(SignedInUser.from_model(user))
    session.permanent = True
    return redirect(next_path, code=303)


@blueprint.post("/logout")
def logout() -> ResponseReturnValue:
    """A POST with a CSRF token, so no other site can sign the user out."""
    logout_user()
    session.clear()
    response = redirect(url_for("auth.login"), code=303)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
