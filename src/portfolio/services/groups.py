"""Portfolio groups: a user's named sets of sites, validated server-side against the access policy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portfolio.access import (
    AccessDenied,
    Viewer,
    can_edit_group,
    can_view_group,
    require_sites,
    require_writable,
    visible_site_ids,
)
from portfolio.models import PortfolioGroup
from portfolio.queries import groups as group_queries
from portfolio.services import series as portfolio_series

MAX_NAME_LENGTH = 100
ALL_SITES = "all"
"""Id of the automatic "All sites" view every user has; groups are numbered ids on top of it."""


class GroupError(ValueError):
    """A group change that cannot be made; the message says what to fix."""


@dataclass(frozen=True)
class BulkMatch:
    site_ids: tuple[int, ...]
    unmatched: tuple[str, ...]


def clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise GroupError("a group needs a name")
    cleaned = re.sub(r"\s+", " ", name.strip())
    if len(cleaned) > MAX_NAME_LENGTH:
        raise GroupError(f"a group name can have at most {MAX_NAME_LENGTH} characters (this one has {len(cleaned)})")
    return cleaned


def _editable(session: Session, viewer: Viewer, group_id: object) -> PortfolioGroup:
    require_writable(viewer)
    try:
        group = group_queries.load_group(session, int(str(group_id)))
    except ValueError:
        raise GroupError(f"{group_id!r} is not a group id") from None
    if group is None or not can_edit_group(viewer, group):
        raise AccessDenied("that group does not exist or is not yours to change")
    return group


def viewable_group(session: Session, viewer: Viewer, group_id: object) -> PortfolioGroup:
    """The group if the viewer may see it; never reveals whether another user's group exists."""
    try:
        group = group_queries.load_group(session, int(str(group_id)))
    except ValueError:
        raise AccessDenied(f"{group_id!r} is not a group id") from None
    if group is None or not can_view_group(session, viewer, group):
        raise AccessDenied("that group does not exist or you may not see it")
    return group


def create_group(session: Session, viewer: Viewer, name: object, site_ids: Iterable[object] = ()) -> PortfolioGroup:
    require_writable(viewer)
    cleaned = clean_name(name)
    if group_queries.group_name_taken(session, viewer.user_id, cleaned):
        raise GroupError(f"you already have a group called {cleaned!r}")
    allowed = require_sites(session, viewer, site_ids)
    group = group_queries.insert_group(session, viewer.user_id, cleaned)
    group_queries.add_group_sites(session, group.id, allowed)
    portfolio_series.add_group_sites(session, group.id, sorted(set(allowed)))
    return group


def rename_group(session: Session, viewer: Viewer, group_id: object, name: object) -> PortfolioGroup:
    group = _editable(session, viewer, group_id)
    cleaned = clean_name(name)
    if group_queries.group_name_taken(session, viewer.user_id, cleaned, except_group_id=group.id):
        raise GroupError(f"you already have a group called {cleaned!r}")
    group.name = cleaned
    return group


def delete_group(session: Session, viewer: Viewer, group_id: object) -> None:
    group = _editable(session, viewer, group_id)
    portfolio_series.drop_group(session, group.id)
    group_queries.delete_group_row(session, group)


def add_sites(session: Session, viewer: Viewer, group_id: object, site_ids: Iterable[object]) -> int:
    """Add sites the viewer may see; any other id refuses the whole change (never silently dropped)."""
    group = _editable(session, viewer, group_id)
    allowed = require_sites(session, viewer, site_ids)
    new = sorted(set(allowed) - set(group_queries.load_group_site_ids(session, group.id)))
    added = group_queries.add_group_sites(session, group.id, allowed)
    portfolio_series.add_group_sites(session, group.id, new)
    return added


def remove_sites(session: Session, viewer: Viewer, group_id: object, site_ids: Iterable[object]) -> None:
    group = _editable(session, viewer, group_id)
    ids = [int(str(s)) for s in site_ids if str(s).strip().lstrip("-").isdigit()]
    leaving = sorted(set(ids) & set(group_queries.load_group_site_ids(session, group.id)))
    portfolio_series.remove_group_sites(session, group.id, leaving)
    group_queries.remove_group_sites(session, group.id, ids)


def group_site_ids(session: Session, viewer: Viewer, group_id: object) -> list[int]:
    """Site ids of a group (or of "All sites"), restricted to what the viewer may see today."""
    visible = visible_site_ids(session, viewer)
    if group_id in (None, "", ALL_SITES):
        return sorted(visible)
    group = viewable_group(session, viewer, group_id)
    return [s for s in group_queries.load_group_site_ids(session, group.id) if s in visible]


def _normalise_token(token: str) -> str:
    return re.sub(r"\s+", "", token)


def match_pasted_sites(session: Session, viewer: Viewer, text: str) -> BulkMatch:
    """Match a pasted list (one per line, or comma/tab separated) of MPANs, MPRNs or site names.

    Only sites the viewer may see can match, so a pasted foreign MPAN is reported as unmatched.
    """
    tokens = [t.strip() for t in re.split(r"[\n\r\t,;]+", text or "") if t.strip()]
    lookup = group_queries.load_site_lookup(session, visible_site_ids(session, viewer))
    by_identifier = {ident: sid for sid, _, ident in lookup if ident}
    by_name: dict[str, int] = {name: sid for sid, name, _ in lookup}
    matched: list[int] = []
    unmatched: list[str] = []
    for token in tokens:
        site_id = by_identifier.get(_normalise_token(token)) or by_name.get(re.sub(r"\s+", " ", token).lower())
        if site_id is None:
            unmatched.append(token)
        elif site_id not in matched:
            matched.append(site_id)
    return BulkMatch(tuple(matched), tuple(unmatched))


def group_options(session: Session, viewer: Viewer) -> Sequence[tuple[str, str, bool]]:
    """(value, label, editable) for a group picker: "All sites" first, then groups by name."""
    groups = group_queries.load_groups(session, viewer)
    options: list[tuple[str, str, bool]] = [(ALL_SITES, "All sites", False)]
    for group in groups:
        label = group.name if group.owner_id == viewer.user_id else f"{group.name} ({group.owner.email})"
        options.append((str(group.id), label, can_edit_group(viewer, group)))
    return options
