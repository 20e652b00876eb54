"""Admin sites: every site with its organisation, moving a site between organisations, the unknown-meter queue.

A move is one transaction that leaves nothing stale: the site's organisation changes; it leaves every group whose
owner could no longer see it (their series lose its part); the old and new organisations' portfolio series lose and
gain its part; the expected-consumption sums of every maintained scope it left or joined lose or gain its rows; the old
organisation's grants over chosen sites stop naming it. Grants follow the organisation: whoever the new one has
granted sees the site from now on, whoever only the old one granted no longer does. Both organisations' audit
trails record the move.

The queue is the "Unassigned" organisation, where imports put meters no site knows (their readings are kept, never
dropped); assigning a queued meter is moving its site to the right organisation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.access import Viewer, require_admin, viewer_for
from portfolio.models import Organisation, Right, Site, User
from portfolio.queries import admin_sites as queries
from portfolio.queries import groups as group_queries
from portfolio.queries.graphs import Scope
from portfolio.services import audit
from portfolio.services import series as portfolio_series
from portfolio.services.expected_scope_sums import change_scope_members


class SiteMoveError(ValueError):
    """A move that cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class SiteMove:
    site_id: int
    site: str
    from_organisation: str
    to_organisation: str
    groups_left: tuple[str, ...]
    chosen_grants_dropped: int
    expected_scopes_adjusted: int  # maintained expected-consumption sums the site left or joined

    def message(self) -> str:
        left = f"; it left {len(self.groups_left)} group(s): {', '.join(self.groups_left)}" if self.groups_left else ""
        return f"Moved {self.site} from {self.from_organisation} to {self.to_organisation}{left}."


def load_sites(session: Session, viewer: Viewer) -> pd.DataFrame:
    require_admin(viewer)
    return queries.load_all_sites(session)


def load_queue(session: Session, viewer: Viewer) -> pd.DataFrame:
    require_admin(viewer)
    return queries.load_unassigned_queue(session)


def load_organisation_choices(session: Session, viewer: Viewer) -> list[tuple[int, str]]:
    """(id, "name (account)") of every organisation, for the move form."""
    require_admin(viewer)
    return [(i, f"{name} ({account})") for i, name, account in queries.load_organisations(session)]


def _still_sees(session: Session, owner: User, site: Site) -> bool:
    if not owner.is_active:
        return False
    return viewer_for(session, owner).reaches_site(site.id, site.organisation_id, None, Right.READ)


def move_site(
    session: Session,
    viewer: Viewer,
    site_id: int,
    organisation_id: int,
    confirm_name: str | None,
    *,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> SiteMove:
    """Move a site to another organisation with everything derived from it, and commit; admins only.

    ``confirm_name`` must repeat the site's name: a move changes who sees the site's data.
    """
    require_admin(viewer)
    now = now or dt.datetime.now(dt.UTC)
    site = session.get(Site, site_id)
    target = session.get(Organisation, organisation_id)
    if site is None:
        raise SiteMoveError(f"no site with id {site_id}")
    if target is None:
        raise SiteMoveError(f"no organisation with id {organisation_id}")
    if site.organisation_id == target.id:
        raise SiteMoveError(f"{site.name} already belongs to {target.name}")
    if (confirm_name or "").strip().casefold() != site.name.strip().casefold():
        raise SiteMoveError(f"type the site's name, {site.name}, to confirm the move")
    source = site.organisation
    old_id = source.id
    groups = queries.load_site_groups(session, site.id)

    site.organisation_id = target.id
    session.flush()
    session.expire(site, ["organisation"])
    leaving = [g for g in groups if not _still_sees(session, g.owner, site)]
    for group in leaving:  # their series lose the site's part before it leaves them
        portfolio_series.remove_group_sites(session, group.id, [site.id])
        group_queries.remove_group_sites(session, group.id, [site.id])
    portfolio_series.move_site_organisation(session, site.id, old_id, target.id)
    dropped = queries.delete_chosen_site_grants(session, site.id, old_id)
    leaves = [Scope("org", old_id), *(Scope("group", g.id) for g in leaving)]  # its predictions follow it
    adjusted = sum(change_scope_members(session, scope, [site.id], -1) for scope in leaves)
    adjusted += change_scope_members(session, Scope("org", target.id), [site.id], 1)
    move = SiteMove(
        site_id=site.id,
        site=site.name,
        from_organisation=source.name,
        to_organisation=target.name,
        groups_left=tuple(g.name for g in leaving),
        chosen_grants_dropped=dropped,
        expected_scopes_adjusted=adjusted,
    )
    detail = {
        "site_id": site.id,
        "site": site.name,
        "from_organisation_id": old_id,
        "to_organisation_id": target.id,
        "groups_left": [g.id for g in leaving],
        "chosen_grants_dropped": dropped,
    }
    for organisation in (old_id, target.id):
        audit.record(
            session,
            "site_moved",
            user_id=viewer.user_id or None,
            organisation_id=organisation,
            detail=detail,
            ip=ip,
            now=now,
        )
    session.commit()
    return move
