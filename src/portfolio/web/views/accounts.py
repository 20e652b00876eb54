"""Account self-service pages (server-rendered forms with CSRF tokens, like sign-in).

Public: ``/account/set-password?token=`` (an invitation or reset link), ``/account/forgot-password`` and
``/account/renew-invitation``. Signed in: ``/account`` (profile, notification channels, password change, sign
out everywhere). Emails with links are sent after the response has gone (``call_on_close``), so a reset request
takes as long, and reads the same, whether or not the address has an account.
"""

from __future__ import annotations

import datetime as dt
import time

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from portfolio.models import TokenPurpose
from portfolio.queries.auth import load_active_user, record_login_attempt
from portfolio.services import account_tokens, profile
from portfolio.services.account_tokens import LinkCheck, LinkError, LinkState
from portfolio.services.accounts import UserError, normalise_email

from ..auth import SignedInUser
from ..context import app_state, request_session
from ..login_limits import describe_wait, load_counts, retry_after_seconds
from ..sessions import start_session

blueprint = Blueprint("accounts", __name__)

ACCOUNT_PAGE = "/account"
SET_PASSWORD = "/account/set-password"
FORGOT_PASSWORD = "/account/forgot-password"
RENEW_INVITATION = "/account/renew-invitation"
PUBLIC_ENDPOINTS = frozenset({"accounts.set_password", "accounts.forgot_password", "accounts.renew_invitation"})
RESET_LIMIT_PREFIX = "reset:"  # reset requests are weighed by the sign-in limits under their own key
RESET_SENT = (
    "If an account uses that address, a link to reset its password is on its way. It works once, for a short "
    "while. Nothing arrived? Check your spam folder, or ask again in a few minutes."
)
RENEW_SENT = (
    "If this invitation can be renewed, a new link is on its way to the address it was sent to. "
    "Nothing arrived? Ask your administrator to invite you again."
)
DONE = {"profile": "Your profile is saved.", "password": "Your password is changed. Other sessions were ended."}
TOO_MANY = "Too many requests. Please wait {wait} and try again."


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def deliver_after(response: Response, outbox_id: int | None) -> Response:
    """Send the queued email once the response has gone (its timing must not tell the address exists)."""
    if outbox_id is not None:
        state = app_state()
        factory, settings = state.session_factory, state.settings
        response.call_on_close(lambda: account_tokens.deliver(factory, settings, outbox_id))
    return response


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html")


def message_page(title: str, message: str, status: int = 200, link: tuple[str, str] | None = None) -> Response:
    return _html(render_template("account_message.html", title=title, message=message, link=link), status)


def _set_password_page(check: LinkCheck, token: str, status: int = 200, error: str | None = None) -> Response:
    statuses = {LinkState.VALID: 200, LinkState.UNKNOWN: 404, LinkState.EXPIRED: 410, LinkState.USED: 410}
    return _html(
        render_template(
            "set_password.html",
            state=check.state.value,
            invitation=check.purpose is TokenPurpose.INVITATION,
            email=check.email or "",
            token=token if check.state is not LinkState.UNKNOWN else "",
            error=error,
        ),
        status if error else statuses[check.state],
    )


@blueprint.route(SET_PASSWORD, methods=["GET", "POST"])
def set_password() -> ResponseReturnValue:
    """Show what the link can do (GET never spends it), or set the password from it (POST)."""
    token = request.values.get("token", "")[:200]
    db = request_session()
    if request.method == "GET":
        return _set_password_page(account_tokens.check_link(db, token, _now()), token)
    try:
        user = account_tokens.redeem(
            db,
            token,
            request.form.get("password", ""),
            confirm=request.form.get("confirm", ""),
            now=_now(),
            ip=request.remote_addr,
        )
    except LinkError as error:
        return _set_password_page(error.check, token)
    except UserError as error:
        return _set_password_page(account_tokens.check_link(db, token, _now()), token, 400, str(error))
    if current_user.is_authenticated and int(current_user.get_id()) == user.id:
        logout_user()  # its session row was deleted with the others
    session.clear()
    return redirect(url_for("auth.login", notice="password-set", email=user.email), code=303)


def _reset_wait(email: str) -> int:
    settings = app_state().settings
    now = int(time.time())
    counts = load_counts(
        request_session(), settings, email=RESET_LIMIT_PREFIX + email, ip=request.remote_addr, now_ts=now
    )
    return retry_after_seconds(counts, settings, now)


@blueprint.route(FORGOT_PASSWORD, methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    """Ask for a reset link by email: one answer for every address, limited like sign-in."""
    if request.method == "GET":
        return _html(render_template("forgot_password.html", sent=False, error=None, email=""))
    email = normalise_email(request.form.get("email", ""))[:300]
    db = request_session()
    wait = _reset_wait(email)
    if wait:
        body = render_template(
            "forgot_password.html", sent=False, error=TOO_MANY.format(wait=describe_wait(wait)), email=email
        )
        response = _html(body, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    record_login_attempt(
        db, email=RESET_LIMIT_PREFIX + email, ip=request.remote_addr, success=False, at_ts=int(time.time())
    )
    outbox_id = account_tokens.request_password_reset(
        db, email, settings=app_state().settings, now=_now(), ip=request.remote_addr
    )
    page = render_template("forgot_password.html", sent=True, sent_message=RESET_SENT, error=None, email="")
    return deliver_after(_html(page), outbox_id)


@blueprint.post(RENEW_INVITATION)
def renew_invitation() -> ResponseReturnValue:
    """From an expired or used invitation link: send a new one to the invited address (same answer always)."""
    outbox_id = account_tokens.renew_invitation(
        request_session(),
        request.form.get("token", "")[:200],
        settings=app_state().settings,
        now=_now(),
        ip=request.remote_addr,
    )
    return deliver_after(message_page("New invitation", RENEW_SENT, link=("/login", "Back to sign in")), outbox_id)


# Signed in ------------------------------------------------------------------------------------------------------


def _user_id() -> int:
    return int(current_user.get_id())


def _account_page(status: int = 200, error: str | None = None, notice: str | None = None) -> Response:
    details = profile.load_profile(request_session(), _user_id())
    return _html(render_template("account.html", profile=details, error=error, notice=notice), status)


@blueprint.get(ACCOUNT_PAGE)
def account() -> ResponseReturnValue:
    try:
        return _account_page(notice=DONE.get(request.args.get("done", "")))
    except UserError as error:
        return message_page("Account", str(error), 403)


@blueprint.post(f"{ACCOUNT_PAGE}/profile")
def save_profile() -> ResponseReturnValue:
    try:
        profile.update_profile(
            request_session(),
            _user_id(),
            display_name=request.form.get("display_name", ""),
            email=request.form.get("email_notifications") == "on",
            in_app=request.form.get("in_app_notifications") == "on",
            ip=request.remote_addr,
        )
    except UserError as error:
        request_session().rollback()
        return _account_page(400, error=str(error))
    return redirect(f"{ACCOUNT_PAGE}?done=profile", code=303)


@blueprint.post(f"{ACCOUNT_PAGE}/password")
def change_password() -> ResponseReturnValue:
    """Current password required (weighed by the sign-in limits); other sessions end, this browser gets a new one."""
    db = request_session()
    user = load_active_user(db, _user_id())
    if user is None:
        return message_page("Account", "This account is no longer active.", 403)
    settings = app_state().settings
    now_ts = int(time.time())
    wait = retry_after_seconds(
        load_counts(db, settings, email=user.email, ip=request.remote_addr, now_ts=now_ts), settings, now_ts
    )
    if wait:
        return _account_page(429, error=TOO_MANY.format(wait=describe_wait(wait)))
    try:
        user = profile.change_own_password(
            db,
            user.id,
            current=request.form.get("current_password", ""),
            new=request.form.get("new_password", ""),
            confirm=request.form.get("confirm_password", ""),
            now=_now(),
            ip=request.remote_addr,
        )
    except profile.WrongPassword as error:
        db.rollback()
        record_login_attempt(db, email=user.email, ip=request.remote_addr, success=False, at_ts=now_ts)
        db.commit()
        return _account_page(400, error=str(error))
    except UserError as error:
        db.rollback()
        return _account_page(400, error=str(error))
    # Every session ended with the change: give this browser a fresh one (a new id, as at sign-in).
    session.clear()
    g.pop("csrf_token", None)
    login_user(SignedInUser.from_model(user))
    start_session(user)
    session.permanent = True
    return redirect(f"{ACCOUNT_PAGE}?done=password", code=303)
