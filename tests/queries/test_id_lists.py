"""``in_ids``: a list of ids bound as one parameter selects exactly what ``IN`` would, on both engines."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.models import Site
from portfolio.queries.id_lists import in_ids
from tests.world import build_world


def test_one_bound_list_selects_what_in_would_and_is_reused_with_other_ids(session: Session) -> None:
    """The same statement shape run with other lists (the compiled statement is cached: each run must bind its own
    ids), an empty list, ids that do not exist, thousands of them (more than SQLite's 999 bind markers of old),
    next to other conditions and against a column of another integer width."""
    build_world(session)
    sites = session.execute(select(Site.id, Site.organisation_id).order_by(Site.id)).all()
    all_ids = [int(site_id) for site_id, _ in sites]
    assert len(all_ids) >= 4

    def chosen(ids: list[int]) -> list[int]:
        return [int(s) for s in session.scalars(select(Site.id).where(in_ids(Site.id, ids)).order_by(Site.id))]

    assert chosen(all_ids[:2]) == all_ids[:2]
    assert chosen(all_ids[2:4]) == all_ids[2:4]  # same statement, other values
    assert chosen([]) == []
    assert chosen([max(all_ids) + 1000]) == []
    many = list(range(max(all_ids) + 1, max(all_ids) + 3000)) + [all_ids[-1]]
    assert chosen(many) == [all_ids[-1]]
    first_org = int(sites[0][1])
    same_org = [int(s) for s, org in sites if int(org) == first_org]
    both = session.scalars(
        select(Site.id).where(in_ids(Site.organisation_id, [first_org]), in_ids(Site.id, all_ids)).order_by(Site.id)
    )
    assert [int(s) for s in both] == same_org
    assert [int(s) for s in session.scalars(select(Site.id).where(~in_ids(Site.id, all_ids[1:])))] == all_ids[:1]
