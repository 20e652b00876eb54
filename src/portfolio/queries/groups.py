"""Portfolio group storage: the SQL behind creating, renaming, filling and listing groups."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, delete, func, insert, select
from sqlalchemy.orm import Session, joinedload

from portfolio.models import Meter, PortfolioGroup, Site, portfolio_group_sites
from portfolio.queries.id_lists import in_ids


def load_all_groups(session: Session, first_owner_id: int) -> list[PortfolioGroup]:
    """Every group with its owner loaded, ``first_owner_id``'s first, then by name.

    Who may see which of them is :func:`portfolio.access.can_view_group`'s decision, never this query's.
    """
    statement = (
        select(PortfolioGroup)
        .options(joinedload(PortfolioGroup.owner))
        .order_by(PortfolioGroup.owner_id != first_owner_id, func.lower(PortfolioGroup.name), PortfolioGroup.id)
    )
    return list(session.scalars(statement))


def load_group(session: Session, group_id: int) -> PortfolioGroup | None:
    return session.get(PortfolioGroup, group_id)


def _member_ids(group_id: int) -> Select[tuple[int]]:
    return select(portfolio_group_sites.c.site_id).where(portfolio_group_sites.c.group_id == group_id)


def load_group_site_ids(session: Session, group_id: int) -> list[int]:
    return sorted(session.scalars(_member_ids(group_id)))


def in_group(group_id: int) -> ColumnElement[bool]:
    """The WHERE clause on :class:`Site` for the members of group ``group_id``, for queries reading them with their
    facts in one statement."""
    return Site.id.in_(_member_ids(group_id))


def group_name_taken(session: Session, owner_id: int, name: str, except_group_id: int | None = None) -> bool:
    statement = select(PortfolioGroup.id).where(
        PortfolioGroup.owner_id == owner_id, func.lower(PortfolioGroup.name) == name.lower()
    )
    if except_group_id is not None:
        statement = statement.where(PortfolioGroup.id != except_group_id)
    return session.scalar(statement) is not None


def insert_group(session: Session, owner_id: int, name: str) -> PortfolioGroup:
    group = PortfolioGroup(owner_id=owner_id, name=name)
    session.add(group)
    session.flush()
    return group


def add_group_sites(session: Session, group_id: int, site_ids: Iterable[int]) -> int:
    """Add sites not already in the group; returns how many were added."""
    present = set(load_group_site_ids(session, group_id))
    new = sorted(set(site_ids) - present)
    if new:
        session.execute(insert(portfolio_group_sites), [{"group_id": group_id, "site_id": s} for s in new])
    return len(new)


def remove_group_sites(session: Session, group_id: int, site_ids: Iterable[int]) -> None:
    session.execute(
        delete(portfolio_group_sites).where(
            portfolio_group_sites.c.group_id == group_id, portfolio_group_sites.c.site_id.in_(list(site_ids))
        )
    )


def delete_group_row(session: Session, group: PortfolioGroup) -> None:
    session.execute(delete(portfolio_group_sites).where(portfolio_group_sites.c.group_id == group.id))
    session.delete(group)


def load_site_lookup(session: Session, site_ids: Iterable[int]) -> list[tuple[int, str, str | None]]:
    """(site id, lower-cased name, meter identifier without spaces) for matching pasted lists."""
    statement = (
        select(Site.id, Site.name, Meter.identifier)
        .outerjoin(Meter, Meter.site_id == Site.id)
        .where(in_ids(Site.id, sorted(set(site_ids))))
    )
    return [
        (sid, name.strip().lower(), ident.replace(" ", "") if ident else None)
        for sid, name, ident in session.execute(statement)
    ]
