"""Shared views: a customer or broker shares a saved view (group, local date range, fuel, granularity) read-only
with named people, optionally until a date; recipients find it under "Shared with me"; the sharer sees who
opened it and when, and revokes it in one click.

A share is stored as one read grant per recipient and organisation whose sites the view shows, so the one
access policy covers it: revoking or expiring the view's grants refuses the recipients' next request. Each
function checks the policy, validates before writing, audits and owns its transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portfolio.access import (
    AccessDenied,
    DataType,
    Right,
    Viewer,
    can_manage_consent,
    can_view_group,
    require_sites,
    require_writable,
    visible_site_ids,
)
from portfolio.models import GranteeKind, OutboxEmail, Role, SharedView, User
from portfolio.queries import consent as consent_queries
from portfolio.queries.groups import load_group, load_group_site_ids
from portfolio.services import audit
from portfolio.services.consent import ConsentError, parse_date, parse_emails, parse_id, parse_until, unit_of_work

FUELS = ("power", "gas", "both")
GRANULARITIES = ("auto", "day", "hour", "hh")
MAX_SHARE_DAYS = 400
SHARED_DATA = (DataType.INTERVAL_USAGE, DataType.DAILY_TOTALS)
"""What a shared view lets its recipients read: consumption, not postcodes or meter numbers."""


@dataclass(frozen=True)
class OpenedView:
    """A shared view as its recipient sees it: read-only, over exactly the sites its active grants cover."""

    id: int
    name: str
    shared_by: str
    date_from: dt.date
    date_to: dt.date
    fuel: str
    granularity: str
    site_ids: tuple[int, ...]
    valid_until: dt.datetime | None


def _share_sites(session: Session, viewer: Viewer, group_id: object) -> tuple[int | None, list[int]]:
    """The view's sites: the group's (or "All sites"), every one of which the sharer must manage."""
    if group_id in (None, "", "all"):
        sites = sorted(
            visible_site_ids(session, viewer, DataType.INTERVAL_USAGE, Right.MANAGE)
            & visible_site_ids(session, viewer, DataType.DAILY_TOTALS, Right.MANAGE)
        )
        if not sites:
            raise ConsentError("you have no sites you may share")
        return None, sites
    group = load_group(session, parse_id(group_id, "group"))
    if group is None or not can_view_group(session, viewer, group):
        raise AccessDenied(f"no group {group_id!r}")
    sites = load_group_site_ids(session, group.id)
    if not sites:
        raise ConsentError(f"group {group.name!r} has no sites to share")
    for data in SHARED_DATA:
        try:
            require_sites(session, viewer, sites, data, Right.MANAGE)
        except AccessDenied as error:
            raise AccessDenied(f"you may not share beyond your own scope: {error}") from None
    return group.id, sites


def share_view(
    session: Session,
    viewer: Viewer,
    *,
    name: object,
    group_id: object,
    date_from: object,
    date_to: object,
    fuel: object,
    granularity: object,
    emails: object,
    valid_until: object = None,
    base_url: str = "",
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> SharedView:
    """Share a saved view read-only with named people: one read grant per recipient and organisation shown."""
    now = now or dt.datetime.now(dt.UTC)
    require_writable(viewer)
    title = re.sub(r"\s+", " ", name.strip()) if isinstance(name, str) else ""
    if not title or len(title) > 100:
        raise ConsentError("a shared view needs a name of at most 100 characters")
    first, last = parse_date(date_from, "from"), parse_date(date_to, "to")
    if first > last:
        raise ConsentError("the 'from' date must not be after the 'to' date")
    if (last - first).days + 1 > MAX_SHARE_DAYS:
        raise ConsentError(f"a shared view can cover at most {MAX_SHARE_DAYS} days")
    if fuel not in FUELS or granularity not in GRANULARITIES:
        raise ConsentError(f"fuel must be one of {', '.join(FUELS)}; granularity one of {', '.join(GRANULARITIES)}")
    recipients = parse_emails(emails)
    if viewer.email.lower() in recipients:
        raise ConsentError("you cannot share a view with yourself")
    until = parse_until(valid_until, now)
    group, sites = _share_sites(session, viewer, group_id)
    by_organisation: dict[int, list[int]] = {}
    for site_id, organisation_id in sorted(consent_queries.load_site_organisations(session, sites).items()):
        by_organisation.setdefault(organisation_id, []).append(site_id)
    users = consent_queries.load_users_by_email(session, recipients)
    with unit_of_work(session):
        view = consent_queries.insert_shared_view(
            session,
            SharedView(
                owner_id=viewer.user_id,
                name=title,
                group_id=group,
                date_from=first,
                date_to=last,
                fuel=str(fuel),
                granularity=str(granularity),
                valid_until=until,
                created_at=now,
            ),
        )
        for email in recipients:
            user = users.get(email)
            consent_queries.add_recipient(session, view, email, user.id if user else None, invited=user is None)
            if user is None:
                _queue_invitation(session, viewer, view, email, base_url, now)
            for organisation_id, organisation_sites in by_organisation.items():
                consent_queries.insert_grant(
                    session,
                    organisation_id=organisation_id,
                    grantee_kind=GranteeKind.ACCOUNT_MANAGER
                    if user is not None and user.role is Role.ACCOUNT_MANAGER
                    else GranteeKind.PERSON,
                    grantee_user_id=user.id if user else None,
                    grantee_email=None if user else email,
                    site_ids=organisation_sites,
                    data_types=SHARED_DATA,
                    rights=Right.READ,
                    valid_from=now,
                    valid_until=until,
                    granted_by_id=viewer.user_id,
                    shared_view_id=view.id,
                )
        for organisation_id, organisation_sites in by_organisation.items():
            audit.record(
                session,
                "view_shared",
                user_id=viewer.user_id,
                organisation_id=organisation_id,
                detail={
                    "shared_view": view.id,
                    "name": title,
                    "recipients": recipients,
                    "sites": len(organisation_sites),
                    "by": viewer.email,
                    "on_behalf": not viewer.is_member_of(organisation_id),
                },
                ip=ip,
                now=now,
            )
    return view


def _queue_invitation(
    session: Session, viewer: Viewer, view: SharedView, email: str, base_url: str, now: dt.datetime
) -> None:
    """Someone without an account is invited; the view is theirs once they sign up with this address."""
    session.add(
        OutboxEmail(
            user_id=None,
            dedupe_key=f"share-invite:{view.id}:{email}"[:200],
            to_address=email,
            subject=f"{viewer.email} shared an energy view with you"[:300],
            body=(
                f"{viewer.email} shared the view {view.name!r} with you (read-only).\n\n"
                f"Ask your administrator for an account with this address ({email}), sign in at "
                f"{base_url.rstrip('/')}/ and find it under 'Shared with me'.\n"
            ),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


def revoke_shared_view(
    session: Session, viewer: Viewer, view_id: object, ip: str | None = None, now: dt.datetime | None = None
) -> int:
    """The sharer (or an admin) revokes the whole view; a customer whose data it shows revokes their part of it.

    Returns how many grants stopped; the recipients' next request is refused.
    """
    now = now or dt.datetime.now(dt.UTC)
    view = consent_queries.load_shared_view(session, parse_id(view_id, "shared view"))
    if view is None:
        raise AccessDenied(f"no shared view {view_id!r}")
    grants = consent_queries.load_active_grants_of_view(session, view.id, now)
    whole = view.owner_id == viewer.user_id or viewer.is_admin
    mine = [g for g in grants if whole or can_manage_consent(viewer, g.organisation_id)]
    if not whole and not mine:
        raise AccessDenied(f"no shared view {view_id!r}")
    with unit_of_work(session):
        revoked = consent_queries.revoke_grants(session, [g.id for g in mine], now, viewer.user_id)
        if whole and view.revoked_at is None:
            consent_queries.mark_view_revoked(session, view, now, viewer.user_id)
        for organisation_id in sorted({g.organisation_id for g in mine}):
            audit.record(
                session,
                "share_revoked",
                user_id=viewer.user_id,
                organisation_id=organisation_id,
                detail={"shared_view": view.id, "name": view.name, "whole_view": whole},
                ip=ip,
                now=now,
            )
    return revoked


def open_shared_view(
    session: Session, viewer: Viewer, view_id: object, ip: str | None = None, now: dt.datetime | None = None
) -> OpenedView:
    """A recipient opens a view shared with them: checked against their active grants, recorded, read-only."""
    now = now or dt.datetime.now(dt.UTC)
    view = consent_queries.load_shared_view(session, parse_id(view_id, "shared view"))
    if view is None or view.revoked_at is not None:
        raise AccessDenied(f"no shared view {view_id!r}")
    granted = [g.id for g in consent_queries.load_active_grants_of_view(session, view.id, now)]
    mine = sorted(set(granted) & viewer.grant_ids)
    if not mine:
        raise AccessDenied(f"no shared view {view_id!r}")
    chosen = consent_queries.load_grant_site_ids(session, mine)
    wanted = sorted({s for sites in chosen.values() for s in sites})
    sites = sorted(set(wanted) & visible_site_ids(session, viewer, DataType.DAILY_TOTALS))
    with unit_of_work(session):
        consent_queries.insert_view_open(session, view.id, viewer.user_id, now)
        audit.record_viewed(session, viewer, sites, now, via=f"shared view {view.id}")
    owner = session.get(User, view.owner_id)
    return OpenedView(
        id=view.id,
        name=view.name,
        shared_by=owner.email if owner else "",
        date_from=view.date_from,
        date_to=view.date_to,
        fuel=view.fuel,
        granularity=view.granularity,
        site_ids=tuple(sites),
        valid_until=view.valid_until,
    )


@dataclass(frozen=True)
class SharedViewRow:
    """A shared view in a list: to whom, until when, its state, and (for the sharer) who opened it and when."""

    id: int
    name: str
    shared_by: str
    recipients: tuple[str, ...]
    date_from: dt.date
    date_to: dt.date
    fuel: str
    granularity: str
    valid_until: dt.datetime | None
    status: str  # "active", "expired" or "revoked"
    opens: tuple[tuple[str, dt.datetime], ...]  # (who, when), newest first


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _rows(session: Session, views: list[SharedView], now: dt.datetime, with_opens: bool) -> list[SharedViewRow]:
    opens: dict[int, list[tuple[str, dt.datetime]]] = {}
    if with_opens:
        for view_id, email, at in consent_queries.load_view_opens(session, [v.id for v in views]):
            opens.setdefault(view_id, []).append((email, _utc(at) or now))
    rows = []
    for view in views:
        until = _utc(view.valid_until)
        status = "revoked" if view.revoked_at else "expired" if until is not None and until <= now else "active"
        rows.append(
            SharedViewRow(
                id=view.id,
                name=view.name,
                shared_by=view.owner.email,
                recipients=tuple(r.email for r in view.recipients),
                date_from=view.date_from,
                date_to=view.date_to,
                fuel=view.fuel,
                granularity=view.granularity,
                valid_until=until,
                status=status,
                opens=tuple(opens.get(view.id, ())),
            )
        )
    return rows


def views_shared_by(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> list[SharedViewRow]:
    """The views this person shared, with who opened each and when."""
    now = now or dt.datetime.now(dt.UTC)
    return _rows(session, consent_queries.load_views_shared_by(session, viewer.user_id), now, with_opens=True)


def views_shared_with(session: Session, viewer: Viewer, now: dt.datetime | None = None) -> list[SharedViewRow]:
    """ "Shared with me": the views the viewer's active grants come from (revoked or expired ones are gone)."""
    now = now or dt.datetime.now(dt.UTC)
    views = [v for v in consent_queries.load_views_with_grants(session, viewer.grant_ids) if v.revoked_at is None]
    return _rows(session, views, now, with_opens=False)


def views_of_organisation(
    session: Session, viewer: Viewer, organisation_id: int | None = None, now: dt.datetime | None = None
) -> list[SharedViewRow]:
    """Every view showing the organisation's data, whoever shared it, with its opens (for the consent page)."""
    now = now or dt.datetime.now(dt.UTC)
    organisation = viewer.own_organisation_id if organisation_id is None else organisation_id
    if organisation is None or not can_manage_consent(viewer, organisation):
        raise AccessDenied(f"no organisation {organisation_id!r}")
    return _rows(session, consent_queries.load_views_of_organisation(session, organisation), now, with_opens=True)
