"""Who may see what: the one policy every page, callback, export, CLI report and API route calls.

customer: their own organisation. broker: the organisations they manage (read and write).
account_manager: the organisations assigned to them, read-only. admin: everything, including the
"Unassigned" organisation where imports of unknown meters land.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from portfolio.models import PortfolioGroup, Role, Site, User, user_organisations


class AccessDenied(PermissionError):
    """Raised when a user asks for something the policy does not let them see or change."""


@dataclass(frozen=True)
class Viewer:
    """What the policy needs to know about the person asking; built once per request."""

    user_id: int
    email: str
    role: Role
    organisation_ids: frozenset[int] | None  # None: every organisation (admins)

    @property
    def read_only(self) -> bool:
        return self.role is Role.ACCOUNT_MANAGER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def viewer_for(session: Session, user: User) -> Viewer:
    """Resolve the organisations ``user`` may see, from the database, at the time of the request."""
    role = Role(user.role)
    if role is Role.ADMIN:
        org_ids: frozenset[int] | None = None
    elif role is Role.CUSTOMER:
        org_ids = frozenset([user.organisation_id]) if user.organisation_id is not None else frozenset()
    else:
        linked = session.scalars(
            select(user_organisations.c.organisation_id).where(user_organisations.c.user_id == user.id)
        )
        org_ids = frozenset(linked)
    return Viewer(user_id=user.id, email=user.email, role=role, organisation_ids=org_ids)


def visible_sites(viewer: Viewer) -> Select[Site]:
    """A SELECT of the sites ``viewer`` may see; queries build on it, never on ``select(Site)`` alone."""
    statement = select(Site)
    if viewer.organisation_ids is not None:
        statement = statement.where(Site.organisation_id.in_(sorted(viewer.organisation_ids)))
    return statement


def visible_site_ids(session: Session, viewer: Viewer) -> set[int]:
    statement = select(Site.id)
    if viewer.organisation_ids is not None:
        statement = statement.where(Site.organisation_id.in_(sorted(viewer.organisation_ids)))
    return set(session.scalars(statement))


def can_view_organisation(viewer: Viewer, organisation_id: int) -> bool:
    return viewer.organisation_ids is None or organisation_id in viewer.organisation_ids


def require_sites(session: Session, viewer: Viewer, site_ids: Iterable[object]) -> list[int]:
    """Return ``site_ids`` as ints if ``viewer`` may see every one; otherwise raise naming the refused ids.

    Accepts anything a request may carry (strings, floats, junk) so callers never trust the input's type.
    """
    wanted: list[int] = []
    for raw in site_ids:
        try:
            wanted.append(int(str(raw)))
        except ValueError:
            raise AccessDenied(f"site id {raw!r} is not a number") from None
    visible = visible_site_ids(session, viewer)
    refused = sorted(set(wanted) - visible)
    if refused:
        raise AccessDenied(f"you may not see site(s) {', '.join(map(str, refused))}")
    return wanted


def require_writable(viewer: Viewer) -> None:
    """Account managers look at customers' data through read-only views."""
    if viewer.read_only:
        raise AccessDenied("account managers have read-only access")


def can_view_group(session: Session, viewer: Viewer, group: PortfolioGroup) -> bool:
    """Owners see their groups; account managers and admins see the groups of users whose data they may see."""
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
