"""The access policy: who may see which organisations and sites, whatever ids are sent."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, DataType, require_sites, require_writable, viewer_for, visible_site_ids
from portfolio.models import Grant
from portfolio.queries.sites import load_reached_organisations, load_site, load_site_summaries
from tests.world import build_world


def test_each_role_sees_exactly_its_organisations(session: Session) -> None:
    world = build_world(session)
    acme_ids = {s.id for s in world.acme_sites}
    birch_ids = {s.id for s in world.birch_sites}
    assert visible_site_ids(session, viewer_for(session, world.customer)) == acme_ids
    assert visible_site_ids(session, viewer_for(session, world.other_customer)) == birch_ids
    assert visible_site_ids(session, viewer_for(session, world.broker)) == acme_ids | birch_ids
    assert visible_site_ids(session, viewer_for(session, world.account_manager)) == birch_ids
    assert visible_site_ids(session, viewer_for(session, world.admin)) == acme_ids | birch_ids | {world.stray_site.id}


def test_customer_can_never_load_another_organisations_site(session: Session) -> None:
    world = build_world(session)
    viewer = viewer_for(session, world.customer)
    foreign = [s.id for s in world.birch_sites] + [world.stray_site.id]
    for site_id in foreign:
        assert load_site(session, viewer, site_id) is None
        with pytest.raises(AccessDenied, match=str(site_id)):
            require_sites(session, viewer, [world.acme_sites[0].id, site_id])
    for junk in ["1 OR 1=1", "", None, "abc", 1.5e300]:
        with pytest.raises(AccessDenied):
            require_sites(session, viewer, [junk])
    with pytest.raises(AccessDenied):
        require_sites(session, viewer, [999_999])
    assert require_sites(session, viewer, [str(world.acme_sites[0].id)]) == [world.acme_sites[0].id]


def test_unassigned_sites_are_for_admins_only(session: Session) -> None:
    world = build_world(session)
    for user in (world.customer, world.broker, world.account_manager):
        summaries = load_site_summaries(session, viewer_for(session, user))
        assert "Unknown meter" not in set(summaries["name"])
    admin_summaries = load_site_summaries(session, viewer_for(session, world.admin))
    assert "Unknown meter" in set(admin_summaries["name"])


def test_account_manager_is_read_only(session: Session) -> None:
    world = build_world(session)
    with pytest.raises(AccessDenied, match="read-only"):
        require_writable(viewer_for(session, world.account_manager))
    require_writable(viewer_for(session, world.broker))


def test_site_summaries_report_reading_span(session: Session) -> None:
    world = build_world(session)
    summaries = load_site_summaries(session, viewer_for(session, world.customer)).set_index("name")
    assert list(summaries.columns[:2]) == ["id", "organisation"]
    bakery = summaries.loc["Acme Bakery"]
    assert bakery["first_reading"].timestamp() == 1_700_000_000
    assert bakery["last_reading"].timestamp() == 1_700_000_000 + 3 * 1800
    assert bakery["meter_identifier"] == "ACME-P1"
    assert bakery["fuel"] == "power"


def test_site_details_show_only_where_granted(session: Session) -> None:
    world = build_world(session)
    manager = viewer_for(session, world.account_manager)
    grant = session.scalar(select(Grant).where(Grant.grantee_user_id == world.account_manager.id))
    assert grant is not None
    assert load_site_summaries(session, manager).set_index("name").loc["Birch Store", "meter_identifier"] == "BIRCH-P1"
    grant.site_details = False
    session.commit()
    manager = viewer_for(session, world.account_manager)
    birch = load_site_summaries(session, manager).set_index("name").loc["Birch Store"]
    assert birch["meter_identifier"] is None and birch["fuel"] == "power"
    assert world.birch_sites[0].id not in visible_site_ids(session, manager, DataType.SITE_DETAILS)
    assert world.birch_sites[0].id in visible_site_ids(session, manager, DataType.INTERVAL_USAGE)


def test_a_broker_reaches_the_organisations_of_their_grants(session: Session) -> None:
    world = build_world(session)
    broker = viewer_for(session, world.broker)
    assert load_reached_organisations(session, broker) == [
        (world.acme.id, "Acme Foods Ltd"),
        (world.birch.id, "Birch Retail plc"),
    ]
    assert load_reached_organisations(session, viewer_for(session, world.customer)) == [
        (world.acme.id, "Acme Foods Ltd")
    ]
