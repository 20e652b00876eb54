"""Consent storage: the SQL behind grants, shared views, their recipients and opens.

Nothing here decides who may do what (that is :mod:`portfolio.access` and the consent service); these
functions only read and write rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from portfolio.access import active_grant_condition
from portfolio.models import (
    AuditEntry,
    DataType,
    Grant,
    GranteeKind,
    Organisation,
    Right,
    SharedView,
    SharedViewOpen,
    SharedViewRecipient,
    Site,
    User,
    grant_sites,
)
from portfolio.queries.id_lists import in_ids


def insert_grant(
    session: Session,
    *,
    organisation_id: int,
    grantee_kind: GranteeKind,
    valid_from: dt.datetime,
    grantee_user_id: int | None = None,
    grantee_organisation_id: int | None = None,
    grantee_email: str | None = None,
    site_ids: Sequence[int] | None = None,
    data_types: Iterable[DataType] = tuple(DataType),
    rights: Right = Right.READ,
    valid_until: dt.datetime | None = None,
    granted_by_id: int | None = None,
    shared_view_id: int | None = None,
) -> Grant:
    """Store one grant; ``site_ids`` None covers every site of the organisation, now and later. Times in UTC."""
    kinds = set(data_types)
    grant = Grant(
        organisation_id=organisation_id,
        grantee_kind=grantee_kind,
        grantee_user_id=grantee_user_id,
        grantee_organisation_id=grantee_organisation_id,
        grantee_email=grantee_email.strip().lower() if grantee_email else None,
        all_sites=site_ids is None,
        interval_usage=DataType.INTERVAL_USAGE in kinds,
        daily_totals=DataType.DAILY_TOTALS in kinds,
        site_details=DataType.SITE_DETAILS in kinds,
        rights=rights,
        valid_from=valid_from.astimezone(dt.UTC),
        valid_until=valid_until.astimezone(dt.UTC) if valid_until else None,
        granted_by_id=granted_by_id,
        shared_view_id=shared_view_id,
    )
    session.add(grant)
    session.flush()
    if site_ids:
        session.execute(insert(grant_sites), [{"grant_id": grant.id, "site_id": s} for s in sorted(set(site_ids))])
    return grant


def load_grant(session: Session, grant_id: int) -> Grant | None:
    return session.get(Grant, grant_id)


def load_grant_site_ids(session: Session, grant_ids: Iterable[int]) -> dict[int, list[int]]:
    """Chosen sites per grant (grants over all sites have none)."""
    rows = session.execute(
        select(grant_sites.c.grant_id, grant_sites.c.site_id).where(grant_sites.c.grant_id.in_(sorted(set(grant_ids))))
    ).all()
    by_grant: dict[int, list[int]] = {}
    for grant_id, site_id in rows:
        by_grant.setdefault(grant_id, []).append(site_id)
    return {grant_id: sorted(sites) for grant_id, sites in by_grant.items()}


def load_organisation_grants(session: Session, organisation_id: int) -> list[Grant]:
    """Every grant the organisation ever gave, newest first, with who gave, received and revoked it."""
    statement = (
        select(Grant)
        .where(Grant.organisation_id == organisation_id)
        .options(
            selectinload(Grant.grantee_user),
            selectinload(Grant.grantee_organisation),
            selectinload(Grant.granted_by),
            selectinload(Grant.revoked_by),
            selectinload(Grant.sites),
        )
        .order_by(Grant.created_at.desc(), Grant.id.desc())
    )
    return list(session.scalars(statement))


def load_active_grants_of_view(session: Session, shared_view_id: int, now: dt.datetime) -> list[Grant]:
    statement = select(Grant).where(Grant.shared_view_id == shared_view_id, active_grant_condition(now))
    return list(session.scalars(statement.order_by(Grant.id)))


def revoke_grants(session: Session, grant_ids: Iterable[int], now: dt.datetime, revoked_by_id: int | None) -> int:
    """Mark the not yet revoked grants among ``grant_ids`` revoked; returns how many changed."""
    ids = sorted(set(grant_ids))
    if not ids:
        return 0
    result = session.execute(
        update(Grant)
        .where(Grant.id.in_(ids), Grant.revoked_at.is_(None))
        .values(revoked_at=now.astimezone(dt.UTC), revoked_by_id=revoked_by_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def load_site_organisations(session: Session, site_ids: Iterable[int]) -> dict[int, int]:
    """Site id -> its organisation id."""
    ids = sorted(set(site_ids))
    if not ids:
        return {}
    return {
        site_id: org_id
        for site_id, org_id in session.execute(select(Site.id, Site.organisation_id).where(in_ids(Site.id, ids)))
    }


def load_organisation(session: Session, organisation_id: int) -> Organisation | None:
    return session.get(Organisation, organisation_id)


def load_users_by_email(session: Session, emails: Iterable[str]) -> dict[str, User]:
    wanted = sorted({e.strip().lower() for e in emails})
    if not wanted:
        return {}
    return {u.email.lower(): u for u in session.scalars(select(User).where(func.lower(User.email).in_(wanted)))}


# Shared views ----------------------------------------------------------------------------------------------------


def insert_shared_view(session: Session, view: SharedView) -> SharedView:
    session.add(view)
    session.flush()
    return view


def load_shared_view(session: Session, shared_view_id: int) -> SharedView | None:
    return session.scalar(
        select(SharedView).where(SharedView.id == shared_view_id).options(selectinload(SharedView.recipients))
    )


def load_views_shared_by(session: Session, owner_id: int) -> list[SharedView]:
    statement = (
        select(SharedView)
        .where(SharedView.owner_id == owner_id)
        .options(selectinload(SharedView.recipients))
        .order_by(SharedView.created_at.desc(), SharedView.id.desc())
    )
    return list(session.scalars(statement))


def load_views_with_grants(session: Session, grant_ids: Iterable[int]) -> list[SharedView]:
    """The shared views some of ``grant_ids`` were made for (the viewer's active grants: "Shared with me")."""
    ids = sorted(set(grant_ids))
    if not ids:
        return []
    view_ids = select(Grant.shared_view_id).where(Grant.id.in_(ids), Grant.shared_view_id.is_not(None))
    statement = (
        select(SharedView)
        .where(SharedView.id.in_(view_ids))
        .options(selectinload(SharedView.owner))
        .order_by(SharedView.created_at.desc(), SharedView.id.desc())
    )
    return list(session.scalars(statement))


def load_views_of_organisation(session: Session, organisation_id: int) -> list[SharedView]:
    """Shared views showing some of the organisation's sites (whoever shared them)."""
    view_ids = select(Grant.shared_view_id).where(
        Grant.organisation_id == organisation_id, Grant.shared_view_id.is_not(None)
    )
    statement = (
        select(SharedView)
        .where(SharedView.id.in_(view_ids))
        .options(selectinload(SharedView.recipients), selectinload(SharedView.owner))
        .order_by(SharedView.created_at.desc(), SharedView.id.desc())
    )
    return list(session.scalars(statement))


def add_recipient(session: Session, view: SharedView, email: str, user_id: int | None, invited: bool) -> None:
    view.recipients.append(SharedViewRecipient(email=email, user_id=user_id, invited=invited))
    session.flush()


def mark_view_revoked(session: Session, view: SharedView, now: dt.datetime, revoked_by_id: int | None) -> None:
    view.revoked_at = now.astimezone(dt.UTC)
    view.revoked_by_id = revoked_by_id
    session.flush()


def insert_view_open(session: Session, shared_view_id: int, user_id: int, at: dt.datetime) -> None:
    session.add(SharedViewOpen(shared_view_id=shared_view_id, user_id=user_id, opened_at=at.astimezone(dt.UTC)))
    session.flush()


def load_view_opens(session: Session, shared_view_ids: Iterable[int]) -> list[tuple[int, str, dt.datetime]]:
    """(view id, opener's email, when) for each open, newest first."""
    ids = sorted(set(shared_view_ids))
    if not ids:
        return []
    statement = (
        select(SharedViewOpen.shared_view_id, User.email, SharedViewOpen.opened_at)
        .join(User, User.id == SharedViewOpen.user_id)
        .where(SharedViewOpen.shared_view_id.in_(ids))
        .order_by(SharedViewOpen.opened_at.desc(), SharedViewOpen.id.desc())
    )
    return [(view_id, email, at) for view_id, email, at in session.execute(statement)]


def load_last_access(session: Session, organisation_id: int) -> dict[int, dt.datetime]:
    """When each outside person last looked at the organisation's data, from the daily "viewed_by" entries."""
    last = func.max(func.coalesce(AuditEntry.last_at, AuditEntry.at))
    statement = (
        select(AuditEntry.user_id, last)
        .where(
            AuditEntry.organisation_id == organisation_id,
            AuditEntry.action == "viewed_by",
            AuditEntry.user_id.is_not(None),
        )
        .group_by(AuditEntry.user_id)
    )
    return {user_id: at for user_id, at in session.execute(statement) if user_id is not None}
