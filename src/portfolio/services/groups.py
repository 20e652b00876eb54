"""Portfolio groups: a user's named sets of sites, validated server-side against the access policy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from portfolio.access import (
    AccessDenied,
    DataType,
    Right,
    Viewer,
    can_edit_group,
    can_view_group,
    require_sites,
    require_writable,
    site_condition,
    visible_site_ids,
)
from portfolio.models import PortfolioGroup
from portfolio.queries import groups as group_queries
from portfolio.queries.graphs import Scope
from portfolio.services import audit
from portfolio.services import series as portfolio_series
from portfolio.services.expected_scope_sums import change_scope_members, drop_scope_sums

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
    allowed = require_sites(session, viewer, site_ids, right=Right.MANAGE)  # groups are managed on a client's behalf
    group = group_queries.insert_group(session, viewer.user_id, cleaned)
    group_queries.add_group_sites(session, group.id, allowed)
    portfolio_series.add_group_sites(session, group.id, sorted(set(allowed)))
    audit.record_on_behalf(session, viewer, "group_created", allowed, {"group": cleaned, "sites": len(set(allowed))})
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
    drop_scope_sums(session, Scope("group", group.id))
    group_queries.delete_group_row(session, group)


def add_sites(session: Session, viewer: Viewer, group_id: object, site_ids: Iterable[object]) -> int:
    """Add sites the viewer may see; any other id refuses the whole change (never silently dropped)."""
    group = _editable(session, viewer, group_id)
    allowed = require_sites(session, viewer, site_ids, right=Right.MANAGE)
    new = sorted(set(allowed) - set(group_queries.load_group_site_ids(session, group.id)))
    added = group_queries.add_group_sites(session, group.id, allowed)
    portfolio_series.add_group_sites(session, group.id, new)
    change_scope_members(session, Scope("group", group.id), new, 1)
    audit.record_on_behalf(session, viewer, "group_sites_added", new, {"group": group.name, "sites": len(new)})
    return added


def remove_sites(session: Session, viewer: Viewer, group_id: object, site_ids: Iterable[object]) -> None:
    group = _editable(session, viewer, group_id)
    ids = [int(str(s)) for s in site_ids if str(s).strip().lstrip("-").isdigit()]
    leaving = sorted(set(ids) & set(group_queries.load_group_site_ids(session, group.id)))
    portfolio_series.remove_group_sites(session, group.id, leaving)
    change_scope_members(session, Scope("group", group.id), leaving, -1)
    group_queries.remove_group_sites(session, group.id, ids)


def group_site_condition(
    session: Session, viewer: Viewer, group_id: object, data: DataType | None = None
) -> ColumnElement[bool]:
    """The WHERE clause on :class:`Site` for the sites :func:`group_site_ids` returns (raises AccessDenied alike), for
    a query that reads them with their facts at once instead of their ids first (a round trip fewer per request)."""
    visible = site_condition(viewer, data)
    if group_id in (None, "", ALL_SITES):
        return visible
    return visible & group_queries.in_group(viewable_group(session, viewer, group_id).id)


def group_site_ids(session: Session, viewer: Viewer, group_id: object, data: DataType | None = None) -> list[int]:
    """Site ids of a group (or of "All sites"), restricted to what the viewer may see today (for ``data``)."""
    visible = visible_site_ids(session, viewer, data)
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
    groups = [
        group
        for group in group_queries.load_all_groups(session, viewer.user_id)
        if can_view_group(session, viewer, group)
    ]
    options: list[tuple[str, str, bool]] = [(ALL_SITES, "All sites", False)]
    for group in groups:
        label = group.name if group.owner_id == viewer.user_id else f"{group.name} ({group.owner.email})"
        options.append((str(group.id), label, can_edit_group(viewer, group)))
    return options


# Page actions: one use case per button, each committing a permitted change or rolling back a refused one ----

CREATE, RENAME, DELETE, ADD, REMOVE, PASTE = "create", "rename", "delete", "add", "remove", "paste"
NO_GROUP = "Choose one of your groups first (or create one)."


@dataclass(frozen=True)
class GroupForm:
    """What the page sends with a button press; all of it untrusted."""

    group: str | None = None
    new_name: str | None = None
    rename: str | None = None
    picked: Sequence[object] = ()
    members: Sequence[object] = ()
    pasted: str = ""


@dataclass(frozen=True)
class ActionResult:
    message: str
    ok: bool
    group: str | None  # the group to show afterwards
    pasted: str | None = None  # what to leave in the paste box (the lines that did not match)


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "."


def plural(count: int, noun: str = "site") -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _added_message(added: int, wanted: int) -> str:
    already = wanted - added
    message = f"Added {plural(added)}."
    return message + (
        f" {plural(already)} {'was' if already == 1 else 'were'} already in the group." if already else ""
    )


def _change(session: Session, viewer: Viewer, action: str, form: GroupForm) -> ActionResult:
    """Run one action through the group service; raises GroupError/AccessDenied unchanged."""
    if action == CREATE:
        group = create_group(session, viewer, form.new_name, form.picked)
        extra = f" with {plural(len(form.picked))}" if form.picked else ""
        return ActionResult(f"Created the group “{group.name}”{extra}.", True, str(group.id))
    if not form.group or form.group == ALL_SITES:
        raise GroupError(NO_GROUP)
    if action == RENAME:
        group = rename_group(session, viewer, form.group, form.rename)
        return ActionResult(f"Renamed the group to “{group.name}”.", True, str(group.id))
    if action == DELETE:
        delete_group(session, viewer, form.group)
        return ActionResult("Deleted the group. Its sites are unchanged.", True, None)
    if action == ADD:
        if not form.picked:
            raise GroupError("tick the sites to add in the table first")
        added = add_sites(session, viewer, form.group, form.picked)
        return ActionResult(_added_message(added, len(set(map(str, form.picked)))), True, form.group)
    if action == REMOVE:
        if not form.members:
            raise GroupError("tick the sites to remove in the group's table first")
        remove_sites(session, viewer, form.group, form.members)
        return ActionResult(f"Removed {plural(len(form.members))} from the group.", True, form.group)
    if action == PASTE:
        match = match_pasted_sites(session, viewer, form.pasted)
        if not match.site_ids and not match.unmatched:
            raise GroupError("paste MPANs, MPRNs or site names, one per line")
        added = add_sites(session, viewer, form.group, match.site_ids) if match.site_ids else 0
        message = _added_message(added, len(match.site_ids))
        if match.unmatched:
            message += f" Not matched ({len(match.unmatched)}): {', '.join(match.unmatched)}."
        return ActionResult(message, not match.unmatched, form.group, pasted="\n".join(match.unmatched))
    raise GroupError(f"unknown action {action!r}")


def apply_group_action(session: Session, viewer: Viewer, action: str, form: GroupForm) -> ActionResult:
    """Commit a permitted change; a refused one is rolled back whole and its reason shown."""
    try:
        result = _change(session, viewer, action, form)
    except (GroupError, AccessDenied) as error:
        session.rollback()
        return ActionResult(_sentence(str(error)) + " Nothing was changed.", False, form.group)
    session.commit()
    return result
