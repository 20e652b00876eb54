"""Portfolio groups: validation, access, bulk matching of pasted MPANs and names."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, viewer_for
from portfolio.services.groups import (
    ALL_SITES,
    GroupError,
    add_sites,
    create_group,
    delete_group,
    group_options,
    group_site_ids,
    match_pasted_sites,
    remove_sites,
    rename_group,
    viewable_group,
)
from tests.world import build_world


def test_create_rename_delete(session: Session) -> None:
    world = build_world(session)
    viewer = viewer_for(session, world.customer)
    group = create_group(session, viewer, "  North   sites ", [world.acme_sites[0].id])
    assert group.name == "North sites"
    assert group_site_ids(session, viewer, group.id) == [world.acme_sites[0].id]
    assert add_sites(session, viewer, group.id, [str(world.acme_sites[1].id), world.acme_sites[0].id]) == 1
    rename_group(session, viewer, group.id, "Bakeries")
    assert [label for _, label, _ in group_options(session, viewer)] == ["All sites", "Bakeries"]
    remove_sites(session, viewer, group.id, [world.acme_sites[0].id])
    assert group_site_ids(session, viewer, group.id) == [world.acme_sites[1].id]
    delete_group(session, viewer, group.id)
    assert [label for _, label, _ in group_options(session, viewer)] == ["All sites"]


@pytest.mark.parametrize("name", ["", "   ", None, 42, "x" * 101])
def test_bad_names_are_refused(session: Session, name: object) -> None:
    world = build_world(session)
    with pytest.raises(GroupError):
        create_group(session, viewer_for(session, world.customer), name)


def test_names_are_unique_per_user_ignoring_case(session: Session) -> None:
    world = build_world(session)
    create_group(session, viewer_for(session, world.customer), "Offices")
    with pytest.raises(GroupError, match="already have"):
        create_group(session, viewer_for(session, world.customer), "OFFICES")
    create_group(session, viewer_for(session, world.other_customer), "Offices")  # another user may reuse it


def test_foreign_site_is_refused_never_silently_added(session: Session) -> None:
    world = build_world(session)
    viewer = viewer_for(session, world.customer)
    foreign = world.birch_sites[0].id
    with pytest.raises(AccessDenied, match=str(foreign)):
        create_group(session, viewer, "Sneaky", [world.acme_sites[0].id, foreign])
    group = create_group(session, viewer, "Honest", [world.acme_sites[0].id])
    with pytest.raises(AccessDenied, match=str(foreign)):
        add_sites(session, viewer, group.id, [foreign])
    assert group_site_ids(session, viewer, group.id) == [world.acme_sites[0].id]


def test_others_groups_are_private_and_account_managers_read_only(session: Session) -> None:
    world = build_world(session)
    birch_group = create_group(session, viewer_for(session, world.other_customer), "Stores", [world.birch_sites[0].id])
    with pytest.raises(AccessDenied):
        viewable_group(session, viewer_for(session, world.customer), birch_group.id)
    with pytest.raises(AccessDenied):
        rename_group(session, viewer_for(session, world.customer), birch_group.id, "Mine now")
    manager = viewer_for(session, world.account_manager)  # looks after Birch
    assert viewable_group(session, manager, birch_group.id) is birch_group
    assert group_site_ids(session, manager, birch_group.id) == [world.birch_sites[0].id]
    assert any("Stores" in label for _, label, _ in group_options(session, manager))
    with pytest.raises(AccessDenied, match="read-only"):
        add_sites(session, manager, birch_group.id, [world.birch_sites[0].id])
    with pytest.raises(AccessDenied, match="read-only"):
        create_group(session, manager, "Mine")


def test_broker_group_spans_managed_organisations(session: Session) -> None:
    world = build_world(session)
    broker = viewer_for(session, world.broker)
    ids = [world.acme_sites[0].id, world.birch_sites[0].id]
    group = create_group(session, broker, "Clients", ids)
    assert group_site_ids(session, broker, group.id) == sorted(ids)
    assert group_site_ids(session, broker, ALL_SITES) == sorted(s.id for s in world.acme_sites + world.birch_sites)


def test_bulk_paste_matches_identifiers_and_names(session: Session) -> None:
    world = build_world(session)
    pasted = "ACME-P1\n acme boilers \nBIRCH-P1\nno such site\n\nACME-P1"
    result = match_pasted_sites(session, viewer_for(session, world.customer), pasted)
    assert result.site_ids == (world.acme_sites[0].id, world.acme_sites[1].id)
    assert result.unmatched == ("BIRCH-P1", "no such site")  # a foreign MPAN never matches
