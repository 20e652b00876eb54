"""Usage roll-up queries aggregate in the database and keep missing sites missing."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy.orm import Session

from portfolio.models import DailyUsage
from portfolio.queries.usage import load_list_sites, load_usage_totals
from tests.world import build_world


def test_usage_totals_over_a_range(session: Session) -> None:
    world = build_world(session)
    bakery, boilers = world.acme_sites
    day = dt.date(2024, 3, 30)
    session.add_all(
        [
            DailyUsage(
                site_id=bakery.id,
                local_date=day,
                energy_kwh=48.0,
                intervals=48,
                estimated_intervals=2,
                interval_seconds=1800,
            ),
            DailyUsage(
                site_id=bakery.id,
                local_date=day + dt.timedelta(days=1),
                energy_kwh=46.0,
                intervals=46,
                estimated_intervals=0,
                interval_seconds=1800,
            ),
            DailyUsage(
                site_id=bakery.id,
                local_date=day + dt.timedelta(days=5),
                energy_kwh=1000.0,
                intervals=48,
                estimated_intervals=0,
                interval_seconds=1800,
            ),
            DailyUsage(
                site_id=boilers.id,
                local_date=day,
                energy_kwh=10.0,
                intervals=24,
                estimated_intervals=0,
                interval_seconds=3600,
            ),
        ]
    )
    session.flush()
    totals = load_usage_totals(
        session, [bakery.id, boilers.id, world.birch_sites[0].id], day, day + dt.timedelta(days=1)
    )
    totals = totals.set_index("site_id")
    assert totals.loc[bakery.id, "energy_kwh"] == 94.0
    assert totals.loc[bakery.id, "intervals"] == 94
    assert totals.loc[bakery.id, "estimated_intervals"] == 2
    assert totals.loc[boilers.id, "interval_seconds"] == 3600
    assert world.birch_sites[0].id not in totals.index  # no rows: absent, not zero


def test_list_sites_last_reading(session: Session) -> None:
    world = build_world(session)
    sites = load_list_sites(session, [s.id for s in world.acme_sites] + [world.stray_site.id]).set_index("site_id")
    assert sites.loc[world.acme_sites[0].id, "last_reading"].timestamp() == 1_700_000_000 + 3 * 1800
    assert sites.loc[world.acme_sites[0].id, "interval_seconds"] == 1800
    assert np.isnat(sites.loc[world.stray_site.id, "last_reading"].to_datetime64())
