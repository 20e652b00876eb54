"""Connect My Data use cases: authorizing an application is a grant checked at every call; revoking is immediate."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, application_site_ids, viewer_for
from portfolio.api.scope import parse_scope
from portfolio.models import (
    ApplicationStatus,
    AuditEntry,
    DataType,
    Grant,
    GranteeKind,
    OAuthToken,
    ThirdPartyApplication,
)
from portfolio.services.third_parties import (
    ThirdPartyError,
    approved_applications,
    authorize,
    decide_application,
    hash_secret,
    register_application,
    revoke_application,
    revoke_authorizations,
)
from tests.world import build_world

NOW = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
SCOPE = parse_scope("FB=4_15;IntervalDuration=1800;BlockDuration=daily;HistoryLength=86400")


def _application(session: Session, name: str = "Energy Coach", approved: bool = True) -> ThirdPartyApplication:
    registered = register_application(session, name, ["http://127.0.0.1:9/cb"], approved=approved, now=NOW)
    application = session.get(ThirdPartyApplication, registered.application_id)
    assert application is not None
    return application


def _grants(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Grant)) or 0


def test_authorizing_creates_an_application_grant_over_the_chosen_sites_and_data(session: Session) -> None:
    world = build_world(session)
    application = _application(session)
    customer = viewer_for(session, world.customer, NOW)
    site = world.acme_sites[0].id
    authorization = authorize(
        session,
        customer,
        application,
        SCOPE,
        site_ids=[site],
        data_types=["interval_usage"],
        valid_until=NOW + dt.timedelta(days=30),
        accepted_terms=True,
        now=NOW,
    )
    grant = authorization.grant
    assert grant.grantee_kind is GranteeKind.APPLICATION and grant.application_id == application.id
    assert application_site_ids(session, grant.id, DataType.INTERVAL_USAGE, NOW) == [site]
    assert application_site_ids(session, grant.id, DataType.SITE_DETAILS, NOW) == []  # active, not granted: 403
    assert application_site_ids(session, grant.id, None, NOW + dt.timedelta(days=31)) is None  # expired: 401
    # Nobody else sees anything through it.
    assert grant.grantee_user_id is None and grant.grantee_email is None and grant.grantee_organisation_id is None
    actions = list(session.scalars(select(AuditEntry.action)))
    assert "third_party_authorized" in actions


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"accepted_terms": False}, "terms"),
        ({"data_types": ["site_details"]}, "did not ask for site_details"),
        ({"data_types": []}, "at least one data type"),
        ({"data_types": ["everything"]}, "unknown data type"),
        ({"valid_until": NOW - dt.timedelta(days=1)}, "future"),
    ],
)
def test_bad_consent_is_refused_and_changes_nothing(session: Session, change: dict, error: str) -> None:
    world = build_world(session)
    application = _application(session)
    customer = viewer_for(session, world.customer, NOW)
    before = _grants(session)
    arguments = {
        "site_ids": None,
        "data_types": ["interval_usage"],
        "valid_until": None,
        "accepted_terms": True,
    } | change
    with pytest.raises(ThirdPartyError, match=error):
        authorize(session, customer, application, SCOPE, now=NOW, **arguments)
    assert _grants(session) == before


def test_only_the_organisations_own_people_authorize_their_own_sites_for_approved_applications(
    session: Session,
) -> None:
    world = build_world(session)
    approved = _application(session)
    pending = _application(session, "Not Yet", approved=False)
    customer = viewer_for(session, world.customer, NOW)
    broker = viewer_for(session, world.broker, NOW)
    common = {"data_types": ["interval_usage"], "valid_until": None, "accepted_terms": True, "now": NOW}
    with pytest.raises(AccessDenied):
        authorize(session, customer, approved, SCOPE, site_ids=[world.birch_sites[0].id], **common)
    with pytest.raises(AccessDenied):
        authorize(session, broker, approved, SCOPE, site_ids=None, **common)
    with pytest.raises(ThirdPartyError, match="not an approved"):
        authorize(session, customer, pending, SCOPE, site_ids=None, **common)
    assert [a.name for a in approved_applications(session, "coach")] == ["Energy Coach"]
    assert approved_applications(session, "not yet") == []


def test_revoking_all_of_a_party_revokes_its_grants_and_tokens_at_once(session: Session) -> None:
    world = build_world(session)
    application = _application(session)
    other = _application(session, "Other Party")
    customer = viewer_for(session, world.customer, NOW)
    common = {"data_types": ["interval_usage"], "valid_until": None, "accepted_terms": True, "now": NOW}
    first = authorize(session, customer, application, SCOPE, site_ids=None, **common)
    second = authorize(session, customer, application, SCOPE, site_ids=[world.acme_sites[1].id], **common)
    kept = authorize(session, customer, other, SCOPE, site_ids=None, **common)
    session.add(
        OAuthToken(
            authorization_id=first.id,
            access_token_hash=hash_secret("a"),
            refresh_token_hash=hash_secret("r"),
            scope=SCOPE.text,
            issued_at=int(NOW.timestamp()),
            expires_in=900,
        )
    )
    session.commit()
    other_customer = viewer_for(session, world.other_customer, NOW)
    with pytest.raises(AccessDenied):
        revoke_authorizations(session, other_customer, [first.uuid], now=NOW)
    later = NOW + dt.timedelta(minutes=1)
    assert revoke_application(session, customer, application.id, now=later) == 2
    for authorization in (first, second):
        assert application_site_ids(session, authorization.grant_id, None, later) is None
    assert application_site_ids(session, kept.grant_id, None, later) is not None
    token = session.scalars(select(OAuthToken)).one()
    assert token.access_revoked_at is not None and token.refresh_revoked_at is not None
    assert revoke_application(session, customer, application.id, now=later) == 0  # nothing left to revoke


def test_only_admins_approve_or_reject_applications(session: Session) -> None:
    world = build_world(session)
    application = _application(session, approved=False)
    with pytest.raises(AccessDenied):
        decide_application(session, viewer_for(session, world.customer, NOW), application.id, True, now=NOW)
    admin = viewer_for(session, world.admin, NOW)
    decide_application(session, admin, application.id, False, now=NOW)
    assert application.status is ApplicationStatus.REJECTED
    decide_application(session, admin, application.id, True, now=NOW)
    assert application.status is ApplicationStatus.APPROVED
    with pytest.raises(ThirdPartyError):
        decide_application(session, admin, "nope", True, now=NOW)
