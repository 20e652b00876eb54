"""The customer's third-party authorizations ("Data sharing: third parties") and the admin's approvals.

Server-rendered HTML forms with CSRF tokens: every authorization with its application, scope, sites, data types,
duration and last access; revoke one, or every authorization of one party, in one click (effective at the
party's next call). Admins approve or reject pending applications here.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask.typing import ResponseReturnValue

from portfolio.access import AccessDenied
from portfolio.models import ApplicationStatus
from portfolio.queries import third_parties as queries
from portfolio.services import third_parties
from portfolio.services.third_party_notifications import load_notifications
from portfolio.web.context import current_viewer, request_session

blueprint = Blueprint("third_parties", __name__)
PAGE = "/data-sharing/third-parties"


@blueprint.get(PAGE)
def page() -> ResponseReturnValue:
    viewer = current_viewer()
    session = request_session()
    rows = []
    if viewer.own_organisation_id is not None:
        for authorization in queries.load_organisation_authorizations(session, viewer.own_organisation_id):
            grant = authorization.grant
            rows.append(
                {
                    "uuid": authorization.uuid,
                    "application": authorization.application,
                    "scope": authorization.scope,
                    "sites": "all sites" if grant.all_sites else ", ".join(sorted(s.name for s in grant.sites)),
                    "data": ", ".join(sorted(kind.value.replace("_", " ") for kind in grant.data_types)),
                    "created": authorization.created_at,
                    "until": grant.valid_until,
                    "last_access": authorization.last_access_at,
                    "revoked": grant.revoked_at,
                }
            )
    pending = queries.load_applications(session, ApplicationStatus.PENDING) if viewer.is_admin else []
    notices = load_notifications(session) if viewer.is_admin else []
    approved = third_parties.approved_applications(session, request.args.get("q", ""))
    return render_template(
        "third_parties.html",
        rows=rows,
        pending=pending,
        approved=approved,
        notices=notices,
        search=request.args.get("q", ""),
    )


@blueprint.post(f"{PAGE}/revoke")
def revoke() -> ResponseReturnValue:
    """Revoke one authorization (``authorization``) or every one of an application (``application``)."""
    viewer = current_viewer()
    session = request_session()
    try:
        if request.form.get("application"):
            third_parties.revoke_application(session, viewer, request.form["application"], ip=request.remote_addr)
        else:
            third_parties.revoke_authorizations(
                session, viewer, [request.form.get("authorization", "")], ip=request.remote_addr
            )
    except (AccessDenied, third_parties.ThirdPartyError) as error:
        return {"error": str(error)}, 403
    return redirect(PAGE, code=303)


@blueprint.post(f"{PAGE}/decide")
def decide() -> ResponseReturnValue:
    try:
        third_parties.decide_application(
            request_session(),
            current_viewer(),
            request.form.get("application"),
            request.form.get("decision") == "approve",
        )
    except (AccessDenied, third_parties.ThirdPartyError) as error:
        return {"error": str(error)}, 403
    return redirect(PAGE, code=303)
