"""The OAuth endpoints on the Flask server: the customer's consent page at ``/oauth/authorize`` (signed in through
the existing login), and the application's ``/oauth/token`` and ``/oauth/revoke`` (client-authenticated, no cookies).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Flask, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect

from portfolio.access import AccessDenied, visible_sites
from portfolio.api.oauth import OAuthClient, make_authorization_server
from portfolio.models import DataType, Site
from portfolio.services import third_parties
from portfolio.web.context import current_viewer, request_session
from portfolio.web.security import content_security_policy

consent = Blueprint("oauth", __name__)
endpoints = Blueprint("oauth_api", __name__)
EXTENSION = "portfolio_oauth"
DATA_LABELS = {
    DataType.INTERVAL_USAGE: "interval usage (half-hourly and hourly readings)",
    DataType.DAILY_TOTALS: "daily and billing summaries",
    DataType.SITE_DETAILS: "account and site details (postcode, MPAN/MPRN)",
}
LOCAL_ZONE = ZoneInfo("Europe/London")


def _server() -> AuthorizationServer:
    return current_app.extensions[EXTENSION]


def _form_page(
    client: OAuthClient, asked: frozenset[DataType], error: str | None = None, status: int = 200
) -> Response:
    viewer = current_viewer()
    own = viewer.own_organisation_id
    sites = request_session().scalars(visible_sites(viewer).where(Site.organisation_id == own).order_by(Site.name))
    redirect_origins = sorted(
        {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in client.application.redirect_uris}
    )
    html = render_template(
        "oauth_authorize.html",
        application=client.application,
        asked=", ".join(DATA_LABELS[kind] for kind in DataType if kind in asked),
        sites=list(sites),
        data_types=[(kind.value, DATA_LABELS[kind]) for kind in DataType if kind in asked],
        error=error,
    )
    response = current_app.response_class(html, status=status, mimetype="text/html")
    # The form posts here, then the browser follows a redirect to the application: CSP form-action covers both.
    policy = content_security_policy([]).replace(
        "form-action 'self'", "form-action 'self' " + " ".join(redirect_origins)
    )
    response.headers["Content-Security-Policy"] = policy
    return response


@consent.route("/oauth/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    """Show what the application asks for; on submit store the customer's choice as a grant and redirect back."""
    server = _server()
    try:
        viewer = current_viewer()
    except AccessDenied as error:
        return {"error": str(error)}, 403
    try:
        grant = server.get_consent_grant(end_user=viewer)
    except OAuth2Error as error:
        return {"error": error.error, "error_description": error.description}, 400
    client: OAuthClient = grant.client
    try:
        scope = third_parties.parse_requested_scope(grant.request.payload.scope)
    except third_parties.ThirdPartyError as error:
        return {"error": "invalid_scope", "error_description": str(error)}, 400
    if viewer.own_organisation_id is None:
        return {"error": "access_denied", "error_description": "only customers authorize third parties"}, 403
    if request.method == "GET":
        return _form_page(client, scope.data_types)
    if request.form.get("decision") != "allow":
        return server.create_authorization_response(grant_user=None, grant=grant)
    data = [kind.value for kind in scope.data_types] if request.form.get("all_data") else request.form.getlist("data")
    sites = None if request.form.get("all_sites") else request.form.getlist("site")
    try:
        until = _until(request.form.get("duration"), request.form.get("until"))
        authorization = third_parties.authorize(
            request_session(),
            viewer,
            client.application,
            scope,
            site_ids=sites,
            data_types=data,
            valid_until=until,
            accepted_terms=bool(request.form.get("terms")),
            ip=request.remote_addr,
        )
    except (third_parties.ThirdPartyError, AccessDenied) as error:
        return _form_page(client, scope.data_types, str(error), 400)
    return server.create_authorization_response(grant_user=authorization, grant=grant)


def _until(duration: str | None, value: str | None) -> dt.datetime | None:
    """ "until revoked" or the end of a chosen local day (UK) as a UTC instant."""
    if duration != "until":
        return None
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        raise third_parties.ThirdPartyError("choose the date the authorization ends") from None
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), LOCAL_ZONE).astimezone(dt.UTC)


@endpoints.post("/oauth/token")
def issue_token() -> ResponseReturnValue:
    return _server().create_token_response()


@endpoints.post("/oauth/revoke")
def revoke_token() -> ResponseReturnValue:
    return _server().create_endpoint_response("revocation")


def install_oauth(server: Flask, csrf: CSRFProtect) -> None:
    """Register the authorization server and its endpoints; token and revoke take client credentials, not cookies."""
    server.extensions[EXTENSION] = make_authorization_server(server)
    csrf.exempt(endpoints)
    server.register_blueprint(consent)
    server.register_blueprint(endpoints)
