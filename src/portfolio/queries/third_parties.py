"""Reads and writes of third-party applications, their authorizations and OAuth codes and tokens (hashes only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from portfolio.models import (
    ApplicationStatus,
    DailyUsage,
    Grant,
    OAuthCode,
    OAuthToken,
    ThirdPartyApplication,
    ThirdPartyAuthorization,
    ThirdPartyNotification,
)


def insert_application(session: Session, application: ThirdPartyApplication) -> ThirdPartyApplication:
    session.add(application)
    session.flush()
    return application


def load_application(session: Session, application_id: int) -> ThirdPartyApplication | None:
    return session.get(ThirdPartyApplication, application_id)


def load_application_by_client_id(session: Session, client_id: str) -> ThirdPartyApplication | None:
    return session.scalars(select(ThirdPartyApplication).where(ThirdPartyApplication.client_id == client_id)).first()


def load_applications(session: Session, status: ApplicationStatus | None = None) -> list[ThirdPartyApplication]:
    query = select(ThirdPartyApplication).order_by(ThirdPartyApplication.name, ThirdPartyApplication.id)
    if status is not None:
        query = query.where(ThirdPartyApplication.status == status)
    return list(session.scalars(query))


def insert_authorization(session: Session, authorization: ThirdPartyAuthorization) -> ThirdPartyAuthorization:
    session.add(authorization)
    session.flush()
    return authorization


def load_authorization(session: Session, authorization_id: int) -> ThirdPartyAuthorization | None:
    return session.get(ThirdPartyAuthorization, authorization_id)


def load_authorization_by_uuid(session: Session, uuid: str) -> ThirdPartyAuthorization | None:
    return session.scalars(
        select(ThirdPartyAuthorization)
        .options(joinedload(ThirdPartyAuthorization.grant), joinedload(ThirdPartyAuthorization.application))
        .where(ThirdPartyAuthorization.uuid == uuid)
    ).first()


def load_organisation_authorizations(session: Session, organisation_id: int) -> list[ThirdPartyAuthorization]:
    """Every authorization an organisation gave, newest first, with its grant and application."""
    return list(
        session.scalars(
            select(ThirdPartyAuthorization)
            .join(Grant, Grant.id == ThirdPartyAuthorization.grant_id)
            .options(joinedload(ThirdPartyAuthorization.grant), joinedload(ThirdPartyAuthorization.application))
            .where(Grant.organisation_id == organisation_id)
            .order_by(ThirdPartyAuthorization.created_at.desc(), ThirdPartyAuthorization.id.desc())
        )
    )


def touch_last_access(session: Session, authorization_id: int, at: dt.datetime) -> None:
    session.execute(
        update(ThirdPartyAuthorization)
        .where(ThirdPartyAuthorization.id == authorization_id)
        .values(last_access_at=at)
        .execution_options(synchronize_session=False)
    )


def insert_code(session: Session, code: OAuthCode) -> None:
    session.add(code)
    session.flush()


def load_code(session: Session, code_hash: str) -> OAuthCode | None:
    return session.scalars(select(OAuthCode).where(OAuthCode.code_hash == code_hash)).first()


def delete_code(session: Session, code_id: int) -> None:
    session.execute(delete(OAuthCode).where(OAuthCode.id == code_id))


def insert_token(session: Session, token: OAuthToken) -> None:
    session.add(token)
    session.flush()


def load_token_by_access(session: Session, access_hash: str) -> OAuthToken | None:
    return session.scalars(select(OAuthToken).where(OAuthToken.access_token_hash == access_hash)).first()


def load_token_by_refresh(session: Session, refresh_hash: str) -> OAuthToken | None:
    return session.scalars(select(OAuthToken).where(OAuthToken.refresh_token_hash == refresh_hash)).first()


def revoke_tokens(session: Session, token_ids: Iterable[int], at: dt.datetime) -> None:
    """Revoke access and refresh tokens alike (RFC 7009: revoking one may revoke the other)."""
    ids = sorted(set(token_ids))
    if not ids:
        return
    for column in (OAuthToken.access_revoked_at, OAuthToken.refresh_revoked_at):
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.id.in_(ids), column.is_(None))
            .values({column.key: at})
            .execution_options(synchronize_session=False)
        )


def load_authorization_token_ids(session: Session, authorization_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(authorization_ids))
    if not ids:
        return []
    return list(session.scalars(select(OAuthToken.id).where(OAuthToken.authorization_id.in_(ids))))


def load_first_local_dates(session: Session, site_ids: Iterable[int]) -> dict[int, dt.date]:
    """Each site's first local day with readings (from the daily roll-up), to start a feed where data starts."""
    ids = sorted(set(site_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(DailyUsage.site_id, func.min(DailyUsage.local_date))
        .where(DailyUsage.site_id.in_(ids))
        .group_by(DailyUsage.site_id)
    ).all()
    return {int(site): day for site, day in rows if day is not None}


def load_notifiable_authorizations(
    session: Session,
) -> list[tuple[ThirdPartyAuthorization, ThirdPartyApplication]]:
    """Unrevoked authorizations of approved applications that have a notification URI (validity checked by access)."""
    rows = session.execute(
        select(ThirdPartyAuthorization, ThirdPartyApplication)
        .join(ThirdPartyApplication, ThirdPartyApplication.id == ThirdPartyAuthorization.application_id)
        .join(Grant, Grant.id == ThirdPartyAuthorization.grant_id)
        .where(
            ThirdPartyApplication.notify_uri.is_not(None),
            ThirdPartyApplication.status == ApplicationStatus.APPROVED,
            Grant.revoked_at.is_(None),
        )
        .order_by(ThirdPartyAuthorization.id)
    ).all()
    return [(authorization, application) for authorization, application in rows]


def load_due_notifications(session: Session, now: dt.datetime) -> list[ThirdPartyNotification]:
    return list(
        session.scalars(
            select(ThirdPartyNotification)
            .where(ThirdPartyNotification.status == "pending", ThirdPartyNotification.next_attempt_at <= now)
            .order_by(ThirdPartyNotification.id)
        )
    )


def load_latest_notifications(session: Session, limit: int) -> list[ThirdPartyNotification]:
    return list(session.scalars(select(ThirdPartyNotification).order_by(ThirdPartyNotification.id.desc()).limit(limit)))
