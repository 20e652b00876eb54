"""Moving a site between organisations updates every derived series at once; the unknown-meter queue; admins only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, Viewer, viewer_for, visible_site_ids
from portfolio.ingest.loader import refresh_daily_usage
from portfolio.models import (
    AuditEntry,
    ExpectedSeries,
    ExpectedSeriesRefresh,
    GranteeKind,
    ImportRecord,
    PortfolioSeries,
    Reading,
    Role,
    SiteExpected,
    SiteExpectedState,
)
from portfolio.queries.consent import insert_grant
from portfolio.services import series
from portfolio.services.admin_sites import SiteMoveError, load_organisation_choices, load_queue, load_sites, move_site
from portfolio.services.groups import create_group
from tests.world import GRANTED_FROM, World, build_world

NOW = dt.datetime(2026, 11, 25, 6, tzinfo=dt.UTC)
ADMIN = Viewer(user_id=0, email="cli", role=Role.ADMIN, organisation_ids=None)


def _series(session: Session) -> dict[tuple[object, ...], tuple[float, int]]:
    rows = session.scalars(select(PortfolioSeries)).all()
    return {
        (r.scope_kind, r.scope_id, r.fuel, r.resolution, r.start_ts, r.weather_location_id): (
            round(r.energy_kwh, 9),
            r.sites_reporting,
        )
        for r in rows
    }


def _prepared(session: Session) -> World:
    """The small world with daily roll-ups, series, groups, stored predictions and maintained scope sums."""
    world = build_world(session)
    for site in [*world.acme_sites, *world.birch_sites]:
        refresh_daily_usage(session, site.id, site.time_zone, 1_699_000_000, 1_701_000_000)
        session.add_all(
            SiteExpected(site_id=site.id, resolution="hh", start_ts=1_700_000_000, expected_kwh=2.0, variance_kwh2=0.5)
            for _ in [0]
        )
        session.add(
            SiteExpectedState(site_id=site.id, model_fitted_at=NOW, lo_ts=0, hi_ts=2_000_000_000, computed_at=NOW)
        )
    for org, sites in ((world.acme, world.acme_sites), (world.birch, world.birch_sites)):
        power = [s for s in sites if s.fuel.value == "power"]
        session.add(  # the maintained sum, as the daily run leaves it: its sites' stored rows added up
            ExpectedSeries(
                scope_kind="org", scope_id=org.id, fuel="power", resolution="hh", start_ts=1_700_000_000,
                expected_kwh=2.0 * len(power), variance_kwh2=0.5 * len(power), sites=len(power),
            )
        )  # fmt: skip
        session.add(
            ExpectedSeriesRefresh(
                scope_kind="org", scope_id=org.id, fuel="power", refreshed_at=NOW, lo_ts=0, hi_ts=2_000_000_000,
                sites=1, sites_modelled=1,
            )
        )  # fmt: skip
    session.commit()
    series.rebuild_all(session)
    session.commit()
    return world


def test_a_move_updates_series_groups_grants_and_expected_sums_at_once(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        world = _prepared(session)
        bakery = world.acme_sites[0]
        customer_group = create_group(session, viewer_for(session, world.customer), "Bakeries", [bakery.id])
        broker_group = create_group(session, viewer_for(session, world.broker), "Client bakeries", [bakery.id])
        insert_grant(
            session,
            organisation_id=world.acme.id,
            grantee_kind=GranteeKind.PERSON,
            grantee_email="auditor@example.com",
            valid_from=GRANTED_FROM,
            site_ids=[bakery.id],
        )
        session.commit()
        ids = (bakery.id, world.acme.id, world.birch.id, customer_group.id, broker_group.id)

    with session_factory() as session:
        with pytest.raises(SiteMoveError, match="type the site's name, Acme Bakery"):
            move_site(session, ADMIN, ids[0], ids[2], "Acme Bakerie")
        with pytest.raises(SiteMoveError, match="already belongs"):
            move_site(session, ADMIN, ids[0], ids[1], "Acme Bakery")
        with pytest.raises(SiteMoveError, match="no organisation"):
            move_site(session, ADMIN, ids[0], 999_999, "Acme Bakery")
        moved = move_site(session, ADMIN, ids[0], ids[2], " acme bakery ", now=NOW)
    assert moved.message() == "Moved Acme Bakery from Acme Foods Ltd to Birch Retail plc; it left 1 group(s): Bakeries."
    assert moved.chosen_grants_dropped == 1 and moved.expected_scopes_adjusted == 2

    with session_factory() as session:
        after_move = _series(session)
        series.rebuild_all(session)  # what a manual rebuild would give: nothing left to fix
        assert _series(session) == after_move
        assert any(k[:2] == ("group", ids[4]) for k in after_move)  # the broker still sees it: kept in its group
        assert not any(k[:2] == ("group", ids[3]) for k in after_move)  # the customer's group lost its only site
        customer = viewer_for(session, world.customer)
        assert ids[0] not in visible_site_ids(session, customer)
        other = viewer_for(session, world.other_customer)
        assert ids[0] in visible_site_ids(session, other)  # grants follow the organisation
        expected = {
            (r.scope_id, r.start_ts): (r.expected_kwh, r.sites)
            for r in session.scalars(select(ExpectedSeries).where(ExpectedSeries.scope_kind == "org"))
        }
        assert expected == {(ids[2], 1_700_000_000): (4.0, 2)}  # Birch now sums two sites' predictions; Acme none
        refreshes = {r.scope_id: (r.sites, r.sites_modelled) for r in session.scalars(select(ExpectedSeriesRefresh))}
        assert refreshes == {ids[1]: (0, 0), ids[2]: (2, 2)}  # adjusted by the move, not summed afresh
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "site_moved")).all()
        assert sorted(e.organisation_id for e in entries) == sorted([ids[1], ids[2]])
        assert entries[0].detail["groups_left"] == [ids[3]]


def test_the_queue_lists_unknown_meters_with_files_and_counts(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        world = _prepared(session)
        record = ImportRecord(
            filename="collector_0412.csv", sha256="0" * 64, format="hh_csv", readings=3, imported_at=NOW
        )
        session.add(record)
        session.flush()
        session.add_all(
            Reading(
                site_id=world.stray_site.id, start_ts=1_700_000_000 + 1800 * i, interval_seconds=1800, energy_kwh=1.0,
                import_id=record.id,
            )
            for i in range(3)
        )  # fmt: skip
        session.commit()
        queue = load_queue(session, ADMIN)
        assert queue.to_dict("records") == [
            {
                "site_id": world.stray_site.id,
                "site": "Unknown meter",
                "fuel": "power",
                "meters": "STRAY-1",
                "file": "collector_0412.csv",
                "readings": 3,
                "first_reading": dt.datetime.fromtimestamp(1_700_000_000, dt.UTC),
                "last_reading": dt.datetime.fromtimestamp(1_700_003_600, dt.UTC),
                "first_seen": queue["first_seen"].iloc[0],
                "last_seen": queue["last_seen"].iloc[0],
            }
        ]
        assert queue["first_seen"].iloc[0] is not None
        sites = load_sites(session, ADMIN)
        assert len(sites) == 4 and set(sites["organisation"]) == {"Acme Foods Ltd", "Birch Retail plc", "Unassigned"}
        assert any(label == "Birch Retail plc (BIRCH-002)" for _, label in load_organisation_choices(session, ADMIN))
        # assigning the queued meter: its site moves to the organisation, its readings join the org's series
        move_site(session, ADMIN, world.stray_site.id, world.birch.id, "Unknown meter", now=NOW)
        assert load_queue(session, ADMIN).empty
        key = ("org", world.birch.id, "power", "hh", 1_700_000_000 // 1800 * 1800, 0)
        assert _series(session)[key] == (1.0 + 1.0, 2)  # Birch Store's first half hour + the stray meter's


def test_only_admins(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        world = _prepared(session)
        for user in (world.customer, world.broker, world.account_manager):
            viewer = viewer_for(session, user)
            for call in (
                lambda v=viewer: load_sites(session, v),
                lambda v=viewer: load_queue(session, v),
                lambda v=viewer: move_site(session, v, world.acme_sites[0].id, world.birch.id, "Acme Bakery"),
            ):
                with pytest.raises(AccessDenied):
                    call()
        assert world.acme_sites[0].organisation_id == world.acme.id
