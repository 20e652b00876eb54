"""Who may see what: the one policy every page, callback, export, CLI report and API route calls.

A viewer reaches sites in two ways only: a customer's own organisation (every data type, and they manage it),
and the **active grants** made to them (:class:`portfolio.models.Grant`): not revoked, ``valid_from <= now <
valid_until``, over all of the granting organisation's sites or chosen ones, for some data types, with read
or manage rights. Brokers and account managers see customers only through grants; admins see everything,
including the "Unassigned" organisation where imports of unknown meters land.

:func:`viewer_for` reads the grants from the database once per request and nothing is kept between
requests, so a grant revoked or expired since the last request no longer counts at the next one. No other
module re-implements any of this: they build on :func:`visible_sites` / :func:`site_condition` and call the
``require_*`` functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session

from portfolio.models import DataType, Grant, PortfolioGroup, Right, Role, Site, User, grant_sites

__all__ = [
    "ALL_DATA",
    "AccessDenied",
    "DataType",
    "Reach",
    "Right",
    "Viewer",
    "active_grant_condition",
    "can_edit_group",
    "can_manage_consent",
    "can_view_group",
    "can_view_organisation",
    "require_sites",
    "require_writable",
    "site_condition",
    "viewer_for",
    "visible_site_ids",
    "visible_sites",
]

ALL_DATA: frozenset[DataType] = frozenset(DataType)
_MAX_ID = 2**63 - 1  # larger ids cannot exist (BIGINT), so they are refused without asking the database


class AccessDenied(PermissionError):
    """Raised when a user asks for something the policy does not let them see or change.

    The message never says whether a refused id exists: a missing id and a forbidden one read the same.
    """


@dataclass(frozen=True)
class Reach:
    """What one source of access gives: the viewer's own organisation (``grant_id`` None) or one active grant."""

    organisation_id: int
    site_ids: frozenset[int] | None  # None: every site of the organisation, now and later
    data_types: frozenset[DataType]
    manage: bool
    grant_id: int | None = None

    def allows(self, data: DataType | None, right: Right) -> bool:
        """True when this reach covers ``data`` (None: any data type) with ``right`` (manage implies read)."""
        return (data is None or data in self.data_types) and (right is Right.READ or self.manage)


@dataclass(frozen=True)
class Viewer:
    """What the policy needs to know about the person asking; built once per request by :func:`viewer_for`."""

    user_id: int
    email: str
    role: Role
    organisation_ids: frozenset[int] | None  # None: every organisation (admins); else those seen whole
    own_organisation_id: int | None = None
    reaches: tuple[Reach, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def read_only(self) -> bool:
        """True when the viewer may change nothing: account managers, and anyone with no manage right anywhere."""
        if self.is_admin:
            return False
        return self.role is Role.ACCOUNT_MANAGER or not any(reach.manage for reach in self.reaches)

    @property
    def grant_ids(self) -> frozenset[int]:
        """The active grants this viewer's access rests on (for the audit: "broker X for client Y")."""
        return frozenset(r.grant_id for r in self.reaches if r.grant_id is not None)

    def whole_organisation_ids(self, data: DataType | None = None, right: Right = Right.READ) -> frozenset[int] | None:
        """Organisations whose every site the viewer reaches for ``data`` with ``right``; None: all (admins)."""
        if self.is_admin:
            return None
        return frozenset(r.organisation_id for r in self.reaches if r.site_ids is None and r.allows(data, right))

    def chosen_site_ids(self, data: DataType | None = None, right: Right = Right.READ) -> frozenset[int]:
        """Sites reached one by one (grants over chosen sites) for ``data`` with ``right``."""
        chosen: set[int] = set()
        for reach in self.reaches:
            if reach.site_ids is not None and reach.allows(data, right):
                chosen |= reach.site_ids
        return frozenset(chosen)

    def is_member_of(self, organisation_id: int) -> bool:
        """True for the viewer's own organisation: views by members are not "viewed by" someone outside."""
        return self.own_organisation_id == organisation_id


def active_grant_condition(now: dt.datetime) -> ColumnElement[bool]:
    """A grant counts at ``now`` (UTC) when it is not revoked and ``valid_from <= now < valid_until``."""
    now = now.astimezone(dt.UTC)
    return (
        Grant.revoked_at.is_(None)
        & (Grant.valid_from <= now)
        & (Grant.valid_until.is_(None) | (Grant.valid_until > now))
    )


def _grantee_condition(user: User) -> ColumnElement[bool]:
    """Grants naming this user: by account, by email (invited before they had one), or their broker firm."""
    matches: list[ColumnElement[bool]] = [Grant.grantee_user_id == user.id, Grant.grantee_email == user.email.lower()]
    if user.organisation_id is not None and Role(user.role) is Role.BROKER:
        matches.append(Grant.grantee_organisation_id == user.organisation_id)
    return or_(*matches)


def viewer_for(session: Session, user: User, now: dt.datetime | None = None) -> Viewer:
    """Resolve what ``user`` may reach from the database at ``now`` (default: the time of the request)."""
    role = Role(user.role)
    if role is Role.ADMIN:
        return Viewer(user_id=user.id, email=user.email, role=role, organisation_ids=None)
    now = now or dt.datetime.now(dt.UTC)
    reaches: list[Reach] = []
    own = user.organisation_id if role is Role.CUSTOMER else None
    if own is not None:
        reaches.append(Reach(organisation_id=own, site_ids=None, data_types=ALL_DATA, manage=True))
    rows = session.execute(
        select(
            Grant.id,
            Grant.organisation_id,
            Grant.all_sites,
            Grant.interval_usage,
            Grant.daily_totals,
            Grant.site_details,
            Grant.rights,
        )
        .where(_grantee_condition(user), active_grant_condition(now))
        .order_by(Grant.id)
    ).all()
    chosen = _chosen_sites(session, [row.id for row in rows if not row.all_sites])
    for row in rows:
        flags = {
            DataType.INTERVAL_USAGE: row.interval_usage,
            DataType.DAILY_TOTALS: row.daily_totals,
            DataType.SITE_DETAILS: row.site_details,
        }
        reaches.append(
            Reach(
                organisation_id=row.organisation_id,
                site_ids=None if row.all_sites else chosen.get(row.id, frozenset()),
                data_types=frozenset(kind for kind, granted in flags.items() if granted),
                manage=Right(row.rights) is Right.MANAGE,
                grant_id=row.id,
            )
        )
    whole = frozenset(r.organisation_id for r in reaches if r.site_ids is None)
    return Viewer(
        user_id=user.id,
        email=user.email,
        role=role,
        organisation_ids=whole,
        own_organisation_id=own,
        reaches=tuple(reaches),
    )


def _chosen_sites(session: Session, grant_ids: list[int]) -> dict[int, frozenset[int]]:
    """The chosen sites of these grants that still belong to the granting organisation (a moved site drops out)."""
    if not grant_ids:
        return {}
    rows = session.execute(
        select(grant_sites.c.grant_id, grant_sites.c.site_id)
        .join(Grant, Grant.id == grant_sites.c.grant_id)
        .join(Site, Site.id == grant_sites.c.site_id)
        .where(grant_sites.c.grant_id.in_(grant_ids), Site.organisation_id == Grant.organisation_id)
    ).all()
    by_grant: dict[int, set[int]] = {}
    for grant_id, site_id in rows:
        by_grant.setdefault(grant_id, set()).add(site_id)
    return {grant_id: frozenset(sites) for grant_id, sites in by_grant.items()}


def site_condition(viewer: Viewer, data: DataType | None = None, right: Right = Right.READ) -> ColumnElement[bool]:
    """The WHERE clause on :class:`Site` for the sites ``viewer`` reaches for ``data`` (None: any) with ``right``."""
    organisations = viewer.whole_organisation_ids(data, right)
    if organisations is None:
        return true()
    chosen = viewer.chosen_site_ids(data, right)
    conditions: list[ColumnElement[bool]] = []
    if organisations:
        conditions.append(Site.organisation_id.in_(sorted(organisations)))
    if chosen:
        conditions.append(Site.id.in_(sorted(chosen)))
    return or_(*conditions) if conditions else false()


def visible_sites(viewer: Viewer, data: DataType | None = None, right: Right = Right.READ) -> Select[tuple[Site]]:
    """A SELECT of the sites ``viewer`` may see; queries build on it, never on ``select(Site)`` alone.

    ``data`` None lists every site the viewer reaches at all (its name and fuel); pass the data type a
    query reads (interval usage, daily totals, site details) to keep only the sites granted for it.
    """
    return select(Site).where(site_condition(viewer, data, right))


def visible_site_ids(
    session: Session, viewer: Viewer, data: DataType | None = None, right: Right = Right.READ
) -> set[int]:
    return set(session.scalars(select(Site.id).where(site_condition(viewer, data, right))))


def can_view_organisation(viewer: Viewer, organisation_id: int) -> bool:
    """True when the viewer reaches every site of the organisation (their own, or a whole-organisation grant)."""
    return viewer.organisation_ids is None or organisation_id in viewer.organisation_ids


def can_manage_consent(viewer: Viewer, organisation_id: int) -> bool:
    """Only an organisation's own people (and admins) give, list and revoke its grants."""
    return viewer.is_admin or viewer.own_organisation_id == organisation_id


def require_sites(
    session: Session,
    viewer: Viewer,
    site_ids: Iterable[object],
    data: DataType | None = None,
    right: Right = Right.READ,
) -> list[int]:
    """Return ``site_ids`` as ints if ``viewer`` reaches every one for ``data`` with ``right``; else raise.

    Accepts anything a request may carry (strings, floats, junk) so callers never trust the input's type. A
    site that does not exist and one the viewer may not see are refused alike.
    """
    wanted: list[int] = []
    for raw in site_ids:
        try:
            wanted.append(int(str(raw)))
        except ValueError:
            raise AccessDenied(f"site id {raw!r} is not a number") from None
    in_range = sorted({s for s in wanted if 0 < s <= _MAX_ID})
    allowed: set[int] = set()
    if in_range:
        allowed = set(
            session.scalars(select(Site.id).where(Site.id.in_(in_range), site_condition(viewer, data, right)))
        )
    refused = sorted(set(wanted) - allowed)
    if refused:
        what = "manage" if right is Right.MANAGE else "see"
        raise AccessDenied(f"you may not {what} site(s) {', '.join(map(str, refused))}")
    return wanted


def require_writable(viewer: Viewer) -> None:
    """Account managers (and anyone holding read grants only) look at customers' data read-only."""
    if viewer.role is Role.ACCOUNT_MANAGER:
        raise AccessDenied("account managers have read-only access")
    if viewer.read_only:
        raise AccessDenied("you have read-only access")


def can_view_group(session: Session, viewer: Viewer, group: PortfolioGroup) -> bool:
    """Owners see their groups; account managers and admins see the groups of customers they see whole."""
    if group.owner_id == viewer.user_id or viewer.is_admin:
        return True
    if viewer.role is Role.ACCOUNT_MANAGER:
        owner = session.get(User, group.owner_id)
        return (
            owner is not None
            and owner.organisation_id is not None
            and can_view_organisation(viewer, owner.organisation_id)
        )
    return False


def can_edit_group(viewer: Viewer, group: PortfolioGroup) -> bool:
    return group.owner_id == viewer.user_id and not viewer.read_only
