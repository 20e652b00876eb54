"""The admin's users page (server-rendered forms with CSRF tokens): list, invite, role, deactivate, resend.

Admin only, decided by :func:`portfolio.access.require_admin` inside every service call; a refusal reads 403.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, redirect, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from portfolio.access import AccessDenied
from portfolio.services import users
from portfolio.services.accounts import UserError

from ..context import app_state, current_viewer, request_session
from .accounts import deliver_after, message_page

blueprint = Blueprint("users", __name__)

PAGE = "/admin/users"
DONE = {
    "invited": "Invitation sent.",
    "resent": "A new invitation was sent; the earlier link no longer works.",
    "role": "Role changed.",
    "deactivated": "Account deactivated: its sessions have ended.",
    "reactivated": "Account reactivated.",
}
EMPTY_FORM = {"invite_email": "", "display_name": "", "role": "customer", "organisation": ""}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _page(status: int = 200, error: str | None = None, form: dict[str, str] | None = None) -> Response:
    session, viewer = request_session(), current_viewer()
    body = render_template(
        "users.html",
        rows=users.list_users(session, viewer, _now()),
        organisations=users.organisation_choices(session, viewer),
        roles=list(users.ROLE_LABELS.items()),
        role_labels=users.ROLE_LABELS,
        me=viewer.user_id,
        invitation_days=app_state().settings.invitation_valid_seconds // 86400,
        notice=DONE.get(request.args.get("done", "")) if status == 200 else None,
        error=error,
        form=form or EMPTY_FORM,
    )
    return Response(body, status=status, mimetype="text/html")


def _refused() -> Response:
    return message_page("Users", "Only administrators may manage users.", 403, link=("/", "Back to the dashboard"))


@blueprint.get(PAGE)
def page() -> ResponseReturnValue:
    try:
        return _page()
    except AccessDenied:
        return _refused()


def _done(what: str) -> Response:
    return redirect(f"{PAGE}?done={what}", code=303)


@blueprint.post(f"{PAGE}/invite")
def invite() -> ResponseReturnValue:
    form = {key: request.form.get(key, "")[:320] for key in EMPTY_FORM}
    try:
        outbox_id = users.invite_user(
            request_session(),
            current_viewer(),
            email=form["invite_email"],
            role=form["role"],
            organisation_account=form["organisation"],
            display_name=form["display_name"],
            settings=app_state().settings,
            now=_now(),
            ip=request.remote_addr,
        )
    except AccessDenied:
        return _refused()
    except UserError as error:
        request_session().rollback()
        return _page(400, str(error), form)
    return deliver_after(_done("invited"), outbox_id)


@blueprint.post(f"{PAGE}/resend")
def resend() -> ResponseReturnValue:
    try:
        outbox_id = users.resend_invitation(
            request_session(),
            current_viewer(),
            request.form.get("user_id", ""),
            settings=app_state().settings,
            now=_now(),
            ip=request.remote_addr,
        )
    except AccessDenied:
        return _refused()
    except UserError as error:
        request_session().rollback()
        return _page(400, str(error))
    return deliver_after(_done("resent"), outbox_id)


@blueprint.post(f"{PAGE}/role")
def role() -> ResponseReturnValue:
    try:
        users.change_role(
            request_session(),
            current_viewer(),
            request.form.get("user_id", ""),
            request.form.get("role", ""),
            organisation_account=request.form.get("organisation", "")[:64],
            ip=request.remote_addr,
        )
    except AccessDenied:
        return _refused()
    except UserError as error:
        request_session().rollback()
        return _page(400, str(error))
    return _done("role")


@blueprint.post(f"{PAGE}/active")
def active() -> ResponseReturnValue:
    activate = request.form.get("active") == "yes"
    try:
        users.set_user_active(
            request_session(), current_viewer(), request.form.get("user_id", ""), activate, ip=request.remote_addr
        )
    except AccessDenied:
        return _refused()
    except UserError as error:
        request_session().rollback()
        return _page(400, str(error))
    return _done("reactivated" if activate else "deactivated")
