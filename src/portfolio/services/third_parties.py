"""Green Button Connect My Data use cases: register and decide applications, authorize, revoke, list, audit.

An authorization is a :class:`~portfolio.models.Grant` to an application (``grantee_kind`` "application") plus a
:class:`~portfolio.models.ThirdPartyAuthorization` holding its ESPI scope and public uuid. Revoking it revokes the
grant and every token at once; the resource server checks the grant on every call, so the next call is refused.
Secrets (client secrets, codes, tokens) are stored as SHA-256 hashes; the raw value is shown once to its holder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer, can_manage_consent
from portfolio.api.scope import EspiScope, ScopeError, parse_scope
from portfolio.models import ApplicationStatus, DataType, GranteeKind, ThirdPartyApplication, ThirdPartyAuthorization
from portfolio.queries import audit as audit_queries
from portfolio.queries import consent as consent_queries
from portfolio.queries import third_parties as queries
from portfolio.services import audit
from portfolio.services.consent import unit_of_work

AUDIT_ZONE = ZoneInfo("Europe/London")


class ThirdPartyError(ValueError):
    """Bad input for a third-party use case; the message names the problem and nothing was changed."""


def hash_secret(value: str) -> str:
    """SHA-256 hex of a high-entropy secret (client secret, code, token): what the database keeps."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def check_uri(uri: str, what: str) -> str:
    """An absolute http(s) URI without a fragment, as OAuth requires of redirect URIs."""
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ThirdPartyError(f"{what} {uri!r} must be an absolute http(s) URI without a fragment")
    return uri.strip()


@dataclass(frozen=True)
class Registered:
    application_id: int
    client_id: str
    client_secret: str  # shown once


def register_application(
    session: Session,
    name: str,
    redirect_uris: Sequence[str],
    *,
    notify_uri: str | None = None,
    description: str | None = None,
    website: str | None = None,
    approved: bool = False,
    decided_by_id: int | None = None,
    now: dt.datetime | None = None,
) -> Registered:
    """Register an application (pending, or approved when an admin or the CLI registers it) with fresh credentials."""
    now = now or dt.datetime.now(dt.UTC)
    name = name.strip()
    if not name or len(name) > 200:
        raise ThirdPartyError("an application needs a name of 1 to 200 characters")
    if not redirect_uris:
        raise ThirdPartyError("an application needs at least one redirect URI")
    uris = [check_uri(uri, "redirect URI") for uri in redirect_uris]
    notify = check_uri(notify_uri, "notification URI") if notify_uri else None
    client_id, client_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    with unit_of_work(session):
        application = queries.insert_application(
            session,
            ThirdPartyApplication(
                name=name,
                description=description,
                website=website,
                client_id=client_id,
                client_secret_hash=hash_secret(client_secret),
                redirect_uris=uris,
                notify_uri=notify,
                status=ApplicationStatus.APPROVED if approved else ApplicationStatus.PENDING,
                created_at=now,
                decided_at=now if approved else None,
                decided_by_id=decided_by_id if approved else None,
            ),
        )
        audit.record(
            session,
            "third_party_registered",
            user_id=decided_by_id,
            detail={"application": application.id, "name": name, "status": application.status.value},
            now=now,
        )
    return Registered(application.id, client_id, client_secret)


def decide_application(
    session: Session, viewer: Viewer, application_id: object, approve: bool, now: dt.datetime | None = None
) -> None:
    """Admins approve or reject an application; a rejected one can no longer be authorized or get tokens."""
    if not viewer.is_admin:
        raise AccessDenied("only admins approve or reject applications")
    now = now or dt.datetime.now(dt.UTC)
    application = _application(session, application_id)
    with unit_of_work(session):
        application.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
        application.decided_at = now
        application.decided_by_id = viewer.user_id
        audit.record(
            session,
            "third_party_approved" if approve else "third_party_rejected",
            user_id=viewer.user_id,
            detail={"application": application.id, "name": application.name},
            now=now,
        )


def _application(session: Session, application_id: object) -> ThirdPartyApplication:
    try:
        found = queries.load_application(session, int(str(application_id)))
    except ValueError:
        found = None
    if found is None:
        raise ThirdPartyError(f"no application {application_id!r}")
    return found


def approved_applications(session: Session, search: str = "") -> list[ThirdPartyApplication]:
    """The customer's searchable list: approved applications whose name or description contains ``search``."""
    needle = search.strip().lower()
    return [
        app
        for app in queries.load_applications(session, ApplicationStatus.APPROVED)
        if not needle or needle in app.name.lower() or needle in (app.description or "").lower()
    ]


def authorize(
    session: Session,
    viewer: Viewer,
    application: ThirdPartyApplication,
    scope: EspiScope,
    *,
    site_ids: Sequence[object] | None,
    data_types: Sequence[object],
    valid_until: dt.datetime | None,
    accepted_terms: bool,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> ThirdPartyAuthorization:
    """Store the customer's consent: a grant to the application over chosen sites, data types and duration.

    The data types must lie within what the scope asks for; ``site_ids`` None covers every site, now and later.
    """
    now = now or dt.datetime.now(dt.UTC)
    organisation_id = viewer.own_organisation_id
    if organisation_id is None or not can_manage_consent(viewer, organisation_id):
        raise AccessDenied("only a customer's own people authorize third parties for it")
    if application.status is not ApplicationStatus.APPROVED:
        raise ThirdPartyError(f"{application.name} is not an approved application")
    if not accepted_terms:
        raise ThirdPartyError("accept the terms and conditions to authorize")
    try:
        kinds = {DataType(str(kind)) for kind in data_types}
    except ValueError:
        raise ThirdPartyError(f"unknown data type among {list(data_types)!r}") from None
    if not kinds:
        raise ThirdPartyError("choose at least one data type")
    if not kinds <= scope.data_types:
        extra = ", ".join(sorted(kind.value for kind in kinds - scope.data_types))
        raise ThirdPartyError(f"{application.name} did not ask for {extra}")
    if valid_until is not None and valid_until <= now:
        raise ThirdPartyError("the authorization must end in the future (or run until revoked)")
    chosen = _own_sites(session, organisation_id, site_ids)
    with unit_of_work(session):
        grant = consent_queries.insert_grant(
            session,
            organisation_id=organisation_id,
            grantee_kind=GranteeKind.APPLICATION,
            valid_from=now,
            site_ids=chosen,
            data_types=kinds,
            valid_until=valid_until,
            granted_by_id=viewer.user_id,
        )
        grant.application_id = application.id
        authorization = queries.insert_authorization(
            session,
            ThirdPartyAuthorization(
                uuid=str(uuid.uuid4()),
                grant_id=grant.id,
                application_id=application.id,
                user_id=viewer.user_id,
                scope=scope.text,
                created_at=now,
            ),
        )
        audit.record(
            session,
            "third_party_authorized",
            user_id=viewer.user_id,
            organisation_id=organisation_id,
            detail={
                "application": application.name,
                "authorization": authorization.uuid,
                "grant": grant.id,
                "sites": "all" if chosen is None else chosen,
                "data": sorted(kind.value for kind in kinds),
                "until": valid_until.isoformat() if valid_until else None,
                "scope": scope.text,
            },
            ip=ip,
            now=now,
        )
    return authorization


def _own_sites(session: Session, organisation_id: int, site_ids: Sequence[object] | None) -> list[int] | None:
    if site_ids is None:
        return None
    wanted: set[int] = set()
    for raw in site_ids:
        try:
            wanted.add(int(str(raw)))
        except ValueError:
            raise ThirdPartyError(f"site id {raw!r} is not a number") from None
    if not wanted:
        raise ThirdPartyError("choose at least one site (or all sites)")
    owners = consent_queries.load_site_organisations(session, wanted)
    if any(owners.get(site) != organisation_id for site in wanted):
        raise AccessDenied("you may only share your own organisation's sites")
    return sorted(wanted)


def parse_requested_scope(text: object) -> EspiScope:
    try:
        return parse_scope(text)
    except ScopeError as error:
        raise ThirdPartyError(str(error)) from None


def revoke_authorizations(
    session: Session,
    viewer: Viewer,
    authorization_uuids: Sequence[str],
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Revoke authorizations (their grants and every token) at once; returns how many were still active."""
    now = now or dt.datetime.now(dt.UTC)
    found = [queries.load_authorization_by_uuid(session, str(u)) for u in authorization_uuids]
    authorizations = [a for a in found if a is not None]
    if len(authorizations) != len(authorization_uuids) or not all(
        can_manage_consent(viewer, a.grant.organisation_id) for a in authorizations
    ):
        raise AccessDenied("no such authorization")
    with unit_of_work(session):
        changed = consent_queries.revoke_grants(session, [a.grant_id for a in authorizations], now, viewer.user_id)
        queries.revoke_tokens(
            session, queries.load_authorization_token_ids(session, [a.id for a in authorizations]), now
        )
        for authorization in authorizations:
            audit.record(
                session,
                "third_party_revoked",
                user_id=viewer.user_id,
                organisation_id=authorization.grant.organisation_id,
                detail={"application": authorization.application.name, "authorization": authorization.uuid},
                ip=ip,
                now=now,
            )
    return changed


def revoke_application(
    session: Session, viewer: Viewer, application_id: object, ip: str | None = None, now: dt.datetime | None = None
) -> int:
    """Revoke every authorization the viewer's organisation gave one application (one click)."""
    organisation_id = viewer.own_organisation_id
    if organisation_id is None:
        raise AccessDenied("only a customer's own people revoke its authorizations")
    application = _application(session, application_id)
    uuids = [
        a.uuid
        for a in queries.load_organisation_authorizations(session, organisation_id)
        if a.application_id == application.id and a.grant.revoked_at is None
    ]
    return revoke_authorizations(session, viewer, uuids, ip=ip, now=now) if uuids else 0


def record_api_call(session: Session, authorization: ThirdPartyAuthorization, path: str, now: dt.datetime) -> None:
    """One audit entry per authorization and UK day (``last_at`` moves), plus the authorization's last access."""
    day = now.astimezone(AUDIT_ZONE).date().isoformat()
    with unit_of_work(session):
        queries.touch_last_access(session, authorization.id, now)
        audit_queries.touch_daily_entry(
            session,
            f"espi_api:{authorization.id}:{day}",
            "third_party_api_calls",
            at=now,
            user_id=None,
            organisation_id=authorization.grant.organisation_id,
            detail={"application": authorization.application.name, "authorization": authorization.uuid, "first": path},
        )
