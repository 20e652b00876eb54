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
from functools import cache, cached_property
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    DateTime,
    Select,
    String,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from portfolio.models import DataType, Enrolment, Grant, PortfolioGroup, Right, Role, Site, User, grant_sites
from portfolio.queries.id_lists import in_ids

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
    "require_admin",
    "daily_only_organisation_ids",
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


class Reach(NamedTuple):
    """What a set of sources of access with the same data types and right gives together.

    The viewer's own organisation is one reach; active grants are grouped by (data types, right) in the
    database, so a broker with a thousand grants has a handful of reaches, not a thousand objects to build.
    """

    organisation_ids: frozenset[int]  # organisations covered whole: every site, now and later
    site_ids: frozenset[int]  # sites covered one by one (chosen sites still in the granting organisation)
    data_types: frozenset[DataType]
    manage: bool

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
    grant_ids: frozenset[int] = frozenset()  # the active grants the reaches come from
    # Organisations that opted out of half-hourly data (micro-business opt-out): nobody reaches their interval
    # usage, not even their own people or admins; daily totals stay.
    daily_only_organisation_ids: frozenset[int] = frozenset()

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def read_only(self) -> bool:
        """True when the viewer may change nothing: account managers, and anyone with no manage right anywhere."""
        if self.is_admin:
            return False
        return self.role is Role.ACCOUNT_MANAGER or not any(reach.manage for reach in self.reaches)

    @cached_property
    def _by_key(self) -> dict[tuple[DataType | None, Right], tuple[frozenset[int], frozenset[int]]]:
        """(whole organisations, chosen sites) per data type and right, filled as asked (one viewer per request)."""
        return {}

    def _reach_sets(self, data: DataType | None, right: Right) -> tuple[frozenset[int], frozenset[int]]:
        key = (data, right)
        if key not in self._by_key:
            whole: set[int] = set()
            chosen: set[int] = set()
            for reach in self.reaches:
                if reach.allows(data, right):
                    whole |= reach.organisation_ids
                    chosen |= reach.site_ids
            if data is DataType.INTERVAL_USAGE:
                whole -= self.daily_only_organisation_ids  # chosen sites of them: excluded by organisation below
            self._by_key[key] = (frozenset(whole), frozenset(chosen))
        return self._by_key[key]

    def whole_organisation_ids(self, data: DataType | None = None, right: Right = Right.READ) -> frozenset[int] | None:
        """Organisations whose every site the viewer reaches for ``data`` with ``right``; None: all (admins)."""
        if self.is_admin:
            return None
        return self._reach_sets(data, right)[0]

    def chosen_site_ids(self, data: DataType | None = None, right: Right = Right.READ) -> frozenset[int]:
        """Sites reached one by one (grants over chosen sites) for ``data`` with ``right``."""
        return frozenset() if self.is_admin else self._reach_sets(data, right)[1]

    def reaches_site(self, site_id: int, organisation_id: int, data: DataType | None, right: Right) -> bool:
        """True when the viewer reaches this site (of this organisation) for ``data`` with ``right``."""
        if data is DataType.INTERVAL_USAGE and organisation_id in self.daily_only_organisation_ids:
            return False
        if self.is_admin:
            return True
        whole, chosen = self._reach_sets(data, right)
        return organisation_id in whole or site_id in chosen

    def is_member_of(self, organisation_id: int) -> bool:
        """True for the viewer's own organisation: views by members are not "viewed by" someone outside."""
        return self.own_organisation_id == organisation_id


def active_grant_condition(now: dt.datetime) -> ColumnElement[bool]:
    """A grant counts at ``now`` (UTC) when it is not revoked and ``valid_from <= now < valid_until``."""
    now = now.astimezone(dt.UTC)
    grants = Grant.__table__.c
    return (
        grants.revoked_at.is_(None)
        & (grants.valid_from <= now)
        & (grants.valid_until.is_(None) | (grants.valid_until > now))
    )


_DATA_TYPES: dict[tuple[bool, bool, bool], frozenset[DataType]] = {
    (interval, daily, details): frozenset(
        kind
        for kind, granted in zip(
            (DataType.INTERVAL_USAGE, DataType.DAILY_TOTALS, DataType.SITE_DETAILS),
            (interval, daily, details),
            strict=True,
        )
        if granted
    )
    for interval in (False, True)
    for daily in (False, True)
    for details in (False, True)
}
"""The eight possible data-type sets, built once (immutable), so a request with 1,000 grants builds none."""


def viewer_for(session: Session, user: User, now: dt.datetime | None = None) -> Viewer:
    """Resolve what ``user`` may reach from the database at ``now`` (default: the time of the request).

    Nothing is cached between requests. One indexed query reads the active grants naming the user, grouped by
    (data types, right) with their ids concatenated in the database, so a thousand grants come back as a
    handful of rows, and, in a last row of its own, the organisations that opted out of half-hourly data (one
    round trip for both: every request of every page builds a viewer); a second reads the chosen sites, only when
    some grant covers chosen sites.
    """
    role = Role(user.role)
    now = now or dt.datetime.now(dt.UTC)
    reaches: list[Reach] = []
    own = user.organisation_id if role is Role.CUSTOMER else None
    if own is not None:
        reaches.append(Reach(frozenset([own]), frozenset(), ALL_DATA, True))
    groups_statement, chosen_statement = _statements(session.get_bind().dialect.name)
    firm = user.organisation_id if role is Role.BROKER else None
    parameters = {"user_id": user.id, "email": user.email.lower(), "firm": firm, "now": now.astimezone(dt.UTC)}
    rows = session.execute(groups_statement, parameters).all()
    groups = [tuple(row[1:]) for row in rows if row[0] == _GRANTS_ROW]
    daily_only = frozenset(o for row in rows if row[0] == _OPTED_OUT_ROW for o in _ints(row[7]))
    if role is Role.ADMIN:  # sees everything; the grants naming them still say what was shared with them
        shared = frozenset(g for row in groups for g in _ints(row[4]))
        return Viewer(
            user_id=user.id,
            email=user.email,
            role=role,
            organisation_ids=None,
            grant_ids=shared,
            daily_only_organisation_ids=daily_only,
        )
    chosen_grants = {g: n for n, row in enumerate(groups) for g in _ints(row[6])}
    chosen_sites = _chosen_sites(session, chosen_statement, parameters, chosen_grants, len(groups))
    grant_ids: set[int] = set()
    for n, (interval, daily, details, rights, grant_list, org_list, _chosen) in enumerate(groups):
        grant_ids.update(_ints(grant_list))
        reaches.append(
            Reach(
                frozenset(_ints(org_list)),
                frozenset(chosen_sites[n]),
                _DATA_TYPES[bool(interval), bool(daily), bool(details)],
                Right(rights) is Right.MANAGE,
            )
        )
    whole = frozenset().union(*(r.organisation_ids for r in reaches))
    return Viewer(
        user_id=user.id,
        email=user.email,
        role=role,
        organisation_ids=whole,
        own_organisation_id=own,
        reaches=tuple(reaches),
        grant_ids=frozenset(grant_ids),
        daily_only_organisation_ids=daily_only,
    )


def organisation_viewer(user_id: int, email: str, role: Role, organisation_ids: frozenset[int]) -> Viewer:
    """A viewer reaching these organisations whole, with every data type and the manage right.

    For scripts and tests that act for known organisations without grants in the database; requests build
    viewers with :func:`viewer_for`. A customer's single organisation is their own.
    """
    own = next(iter(organisation_ids)) if role is Role.CUSTOMER and len(organisation_ids) == 1 else None
    return Viewer(
        user_id=user_id,
        email=email,
        role=role,
        organisation_ids=organisation_ids,
        own_organisation_id=own,
        reaches=(Reach(organisation_ids, frozenset(), ALL_DATA, True),),
    )


def daily_only_organisation_ids(session: Session) -> frozenset[int]:
    """Organisations that opted out of half-hourly data: only their daily totals may be read (an indexed query)."""
    return frozenset(session.scalars(select(Enrolment.organisation_id).where(Enrolment.opted_out_at.is_not(None))))


def _chosen_sites(
    session: Session, statement: Select[Any], parameters: dict[str, Any], group_of_grant: dict[int, int], groups: int
) -> list[set[int]]:
    """Per group of grants, their chosen sites that still belong to the granting organisation (moved ones drop out)."""
    by_group: list[set[int]] = [set() for _ in range(groups)]
    if not group_of_grant:
        return by_group
    for grant_id, site_id in session.execute(statement, parameters):
        group = group_of_grant.get(grant_id)
        if group is not None:  # a grant that became active between the two queries waits for the next request
            by_group[group].add(site_id)
    return by_group


_GRANTS_ROW, _OPTED_OUT_ROW = 0, 1
"""The first column of :func:`_statements`' first statement: which part of the union a row comes from."""


@cache
def _statements(dialect: str) -> tuple[CompoundSelect, Select[Any]]:
    """The two statements of :func:`viewer_for` (the grants with the opted-out organisations, and the chosen sites),
    built once per dialect with bound parameters.

    Immutable SQL templates, not per-user state: building them costs more than running them, and the values
    (user, email, broker firm, now) are bound at every request. Grants are named by account, by email (invited
    before they had one) or, for brokers, by their firm; ids are concatenated in the database ("1,2,3").
    """
    grants, sites = Grant.__table__.c, Site.__table__.c  # plain Core: no ORM row processing

    def ids(column: ColumnElement[Any]) -> ColumnElement[str]:
        if dialect == "postgresql":
            return func.string_agg(cast(column, String), ",")
        return func.group_concat(column, ",")

    now = bindparam("now", type_=DateTime(timezone=True))
    active = (
        or_(
            grants.grantee_user_id == bindparam("user_id"),
            grants.grantee_email == bindparam("email", type_=String),
            grants.grantee_organisation_id == bindparam("firm"),
        )
        & grants.revoked_at.is_(None)
        & (grants.valid_from <= now)
        & (grants.valid_until.is_(None) | (grants.valid_until > now))
    )
    flags = (grants.interval_usage, grants.daily_totals, grants.site_details, grants.rights)
    groups = (
        select(
            literal(_GRANTS_ROW),
            *flags,
            ids(grants.id),
            ids(case((grants.all_sites, grants.organisation_id))),
            ids(case((grants.all_sites, None), else_=grants.id)),
        )
        .where(active)
        .group_by(*flags)
    )
    enrolments = Enrolment.__table__.c
    opted_out = select(  # one row (an aggregate), its organisation ids in the column of the grants' chosen ones
        literal(_OPTED_OUT_ROW), *(null() for _ in flags), null(), null(), ids(enrolments.organisation_id)
    ).where(enrolments.opted_out_at.is_not(None))
    chosen_grants = select(grants.id).where(active, grants.all_sites.is_(False))
    chosen = (
        select(grant_sites.c.grant_id, grant_sites.c.site_id)
        .join(Site.__table__, sites.id == grant_sites.c.site_id)
        .join(Grant.__table__, grants.id == grant_sites.c.grant_id)
        .where(grant_sites.c.grant_id.in_(chosen_grants), sites.organisation_id == grants.organisation_id)
    )
    return union_all(groups, opted_out), chosen


def _ints(text_ids: str | None) -> list[int]:
    return [int(i) for i in text_ids.split(",")] if text_ids else []


def site_condition(viewer: Viewer, data: DataType | None = None, right: Right = Right.READ) -> ColumnElement[bool]:
    """The WHERE clause on :class:`Site` for the sites ``viewer`` reaches for ``data`` (None: any) with ``right``."""
    organisations = viewer.whole_organisation_ids(data, right)
    daily_only = viewer.daily_only_organisation_ids if data is DataType.INTERVAL_USAGE else frozenset()
    if organisations is None:
        return Site.organisation_id.not_in(sorted(daily_only)) if daily_only else true()
    chosen = viewer.chosen_site_ids(data, right)
    conditions: list[ColumnElement[bool]] = []
    if organisations:
        conditions.append(in_ids(Site.organisation_id, sorted(organisations)))
    if chosen:
        conditions.append(in_ids(Site.id, sorted(chosen)))
    if not conditions:
        return false()
    reached = or_(*conditions)
    return reached & Site.organisation_id.not_in(sorted(daily_only)) if daily_only else reached


def visible_sites(viewer: Viewer, data: DataType | None = None, right: Right = Right.READ) -> Select[Site]:
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
    seen: set[int] = set()
    if in_range:  # look up only the sites asked for; the viewer's reach is already in memory
        owners = session.execute(select(Site.id, Site.organisation_id).where(in_ids(Site.id, in_range))).all()
        allowed = {site_id for site_id, org_id in owners if viewer.reaches_site(site_id, org_id, data, right)}
        seen = {site_id for site_id, org_id in owners if viewer.reaches_site(site_id, org_id, None, Right.READ)}
    refused = sorted(set(wanted) - allowed)
    if refused:
        # "manage" only for sites the viewer does see: a missing or foreign id always reads "may not see".
        what = "manage" if right is Right.MANAGE and set(refused) <= seen else "see"
        raise AccessDenied(f"you may not {what} site(s) {', '.join(map(str, refused))}")
    return wanted


def require_admin(viewer: Viewer, what: str = "this") -> None:
    """Administration (users, invitations, site moves, the unknown-meter queue, aggregates) is for admins only."""
    if not viewer.is_admin:
        raise AccessDenied(f"{what} is for administrators only".capitalize())


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


def application_site_ids(
    session: Session, grant_id: int, data: DataType | None = None, now: dt.datetime | None = None
) -> list[int] | None:
    """Sites a third-party application's grant reaches for ``data`` (None: any) at ``now``, read afresh per call.

    None when the grant is not active (revoked, expired, not yet valid): the API answers 401. An empty list when
    it is active but does not cover ``data``: 403. Chosen sites that moved to another organisation drop out.
    """
    now = now or dt.datetime.now(dt.UTC)
    grants, sites = Grant.__table__.c, Site.__table__.c
    row = session.execute(
        select(
            grants.all_sites, grants.organisation_id, grants.interval_usage, grants.daily_totals, grants.site_details
        ).where(grants.id == grant_id, active_grant_condition(now))
    ).first()
    if row is None:
        return None
    all_sites, organisation_id, interval, daily, details = row
    if data is not None and data not in _DATA_TYPES[bool(interval), bool(daily), bool(details)]:
        return []
    if data is DataType.INTERVAL_USAGE and organisation_id in daily_only_organisation_ids(session):
        return []  # opted out of half-hourly data (micro-business): applications get daily totals only
    query = select(sites.id).where(sites.organisation_id == organisation_id)
    if not all_sites:
        query = query.join(grant_sites, grant_sites.c.site_id == sites.id).where(grant_sites.c.grant_id == grant_id)
    return sorted(session.scalars(query.order_by(sites.id)))
