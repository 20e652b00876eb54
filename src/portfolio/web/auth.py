"""Sign in and out: argon2 passwords, a new server-side session at login, and sign-in limits shared by all workers."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from portfolio.models import User
from portfolio.queries.auth import record_login_attempt
from portfolio.services import audit
from portfolio.services.accounts import check_password, find_user, normalise_email
from portfolio.services.profile import sign_out_everywhere

from .context import app_state, request_session
from .login_limits import describe_wait, load_counts, notify_owner_if_targeted, retry_after_seconds
from .security import CSRF_COOKIE, safe_next
from .sessions import end_current_session, load_signed_in, start_session

WRONG_CREDENTIALS = "Wrong email or password."
NOTICES = {"password-set": "Your password is set. Sign in with it now."}  # fixed texts: nothing from the URL is echoed
TOO_MANY_ATTEMPTS = "Too many failed sign-in attempts. Please wait {wait} and try again."

blueprint = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


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
    """Re-read the account and its server-side session on every request, so revocation takes effect at once."""
    try:
        user = load_signed_in(int(user_id))
    except ValueError:
        return None
    return None if user is None else SignedInUser.from_model(user)


def make_login_manager(server: Flask) -> LoginManager:
    manager = LoginManager()
    # Flask-Login's "strong" protection only marks a permanent session non-fresh when the browser changes; the
    # binding that ends a copied session is done server-side, in web/sessions.py.
    manager.session_protection = None
    manager.login_view = "auth.login"
    manager.user_loader(load_signed_in_user)
    manager.init_app(server)
    return manager


def _login_form(
    status: int = 200, error: str | None = None, email: str = "", next_path: str = "/", notice: str | None = None
) -> tuple[str, int]:
    return render_template("login.html", error=error, email=email, next=next_path, notice=notice), status


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
    """Show the form, or weigh the attempt against the shared sign-in limits before checking the password."""
    next_path = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_path)
        return _login_form(
            email=normalise_email(request.args.get("email", ""))[:320],
            next_path=next_path,
            notice=NOTICES.get(request.args.get("notice", "")),
        )
    settings = app_state().settings
    email = normalise_email(request.form.get("email", ""))
    now = int(time.time())
    db = request_session()
    wait = retry_after_seconds(
        load_counts(db, settings, email=email, ip=request.remote_addr, now_ts=now), settings, now
    )
    if wait:
        log.warning("sign-in delayed %ss for %r from %s", wait, email[:80], request.remote_addr)
        body, status = _login_form(429, TOO_MANY_ATTEMPTS.format(wait=describe_wait(wait)), email, next_path)
        return body, status, {"Retry-After": str(wait)}
    user = find_user(db, email)
    success = _password_matches(user, request.form.get("password", ""))
    record_login_attempt(db, email=email, ip=request.remote_addr, success=success, at_ts=now)
    if not success and user is not None:
        notify_owner_if_targeted(db, settings, user, ip=request.remote_addr, now_ts=now, base_url=settings.base_url)
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
        log.info("sign-in failed for %r from %s", email[:80], request.remote_addr)
        return _login_form(401, WRONG_CREDENTIALS, email, next_path)
    _renew_session()
    login_user(SignedInUser.from_model(user))
    start_session(user)
    session.permanent = True
    log.info("user %s signed in from %s", user.id, request.remote_addr)
    return redirect(next_path, code=303)


def _signed_out(response_target: str = "auth.login") -> ResponseReturnValue:
    logout_user()
    session.clear()
    response = redirect(url_for(response_target), code=303)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@blueprint.post("/logout")
def logout() -> ResponseReturnValue:
    """A POST with a CSRF token, so no other site can sign the user out; the server-side session is deleted."""
    if current_user.is_authenticated:
        log.info("user %s signed out", current_user.get_id())
    end_current_session()
    return _signed_out()


@blueprint.post("/logout/everywhere")
def logout_everywhere() -> ResponseReturnValue:
    """Sign out of every browser and device at once (for a lost laptop or a shared computer)."""
    if current_user.is_authenticated:
        sign_out_everywhere(request_session(), int(current_user.get_id()), ip=request.remote_addr)
    return _signed_out()
