"""Enrolment routes: the one-click half-hourly opt-out link, and the contact-details prompt before the app.

``/opt-out?token=...`` is public (the signed token from the notice email is the authority): GET shows what opting
out means and one button, whose POST (with the page's CSRF token) opts the organisation out. ``/contact-details``
asks a customer whose organisation has no usable contact for one; until it is given, :func:`require_contact_details`
sends every page load there. Plain server-rendered forms, like the sign-in page.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Flask, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portfolio.access import AccessDenied
from portfolio.queries.auth import load_active_user
from portfolio.services import customers, opt_out

from .context import app_state, current_viewer, request_session
from .security import wants_html

blueprint = Blueprint("enrolment", __name__)
PROMPT_PATH = "/contact-details"
_EXEMPT_PREFIXES = ("/assets/", "/_", "/login", "/logout", "/opt-out", "/account/", "/espi/", "/oauth/", "/healthz")


@blueprint.route("/opt-out", methods=["GET", "POST"])
def opt_out_link() -> ResponseReturnValue:
    """Show the opt-out (GET) or make it (POST); a link not signed by this install is refused with a 400."""
    settings = app_state().settings
    token = request.values.get("token", "")
    try:
        organisation_id = opt_out.read_token(settings, token)
    except AccessDenied as error:
        return render_template("opt_out.html", error=str(error), token="", done=None), 400
    if request.method == "GET":
        return render_template("opt_out.html", error=None, token=token, done=None, organisation_id=organisation_id)
    try:
        result = opt_out.opt_out_by_link(
            request_session(), settings, token, now=dt.datetime.now(dt.UTC), ip=request.remote_addr
        )
    except opt_out.OptOutError as error:
        return render_template("opt_out.html", error=str(error), token="", done=None), 400
    return render_template("opt_out.html", error=None, token="", done=result)


@blueprint.route(PROMPT_PATH, methods=["GET", "POST"])
def contact_details() -> ResponseReturnValue:
    """The prompt: primary contact (required) and billing contact (optional); General contacts are shown only."""
    db = request_session()
    try:
        viewer = current_viewer()
        details = customers.contact_details(db, viewer)
    except AccessDenied as error:
        return render_template("contact_details.html", details=None, error=str(error), form={}), 403
    if request.method == "GET":
        return render_template("contact_details.html", details=details, error=None, form={})
    form = {
        key: request.form.get(key, "")[:400]
        for key in ("primary_name", "primary_email", "billing_name", "billing_email")
    }
    try:
        customers.save_contact_details(
            db,
            viewer,
            primary_name=form["primary_name"],
            primary_email=form["primary_email"],
            billing_name=form["billing_name"],
            billing_email=form["billing_email"],
            ip=request.remote_addr,
        )
    except (customers.ContactDetailsError, AccessDenied) as error:
        return render_template("contact_details.html", details=details, error=str(error), form=form)
    return redirect("/", code=303)


def require_contact_details() -> ResponseReturnValue | None:
    """Send a customer whose organisation lacks a usable contact to the prompt before any page of the app."""
    if not wants_html(request) or not current_user.is_authenticated or current_user.role != "customer":
        return None
    if request.path == PROMPT_PATH or request.path.startswith(_EXEMPT_PREFIXES):
        return None
    user = load_active_user(request_session(), int(current_user.get_id()))
    if user is not None and customers.needs_contact_details(request_session(), user):
        return redirect(PROMPT_PATH, code=303)
    return None


def install_enrolment(server: Flask) -> None:
    server.register_blueprint(blueprint)
    server.before_request(require_contact_details)
