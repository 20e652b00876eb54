"""The expected panel's metered figure is added in the database: the same sum and site count as the rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from portfolio.models import DailyUsage
from portfolio.queries.expected import load_daily_matrix, load_daily_metered
from tests.world import build_world

DAY = dt.date(2024, 3, 30)


def _day(site_id: int, offset: int, kwh: float) -> DailyUsage:
    return DailyUsage(
        site_id=site_id,
        local_date=DAY + dt.timedelta(days=offset),
        energy_kwh=kwh,
        intervals=48,
        estimated_intervals=0,
        interval_seconds=1800,
    )


def test_metered_energy_and_sites_match_the_rows(session: Session) -> None:
    world = build_world(session)
    bakery, boilers = world.acme_sites
    quiet = world.birch_sites[0]  # no rows: not counted as metered, not zero-filled
    session.add_all(
        [_day(bakery.id, 0, 48.0), _day(bakery.id, 1, 46.5), _day(boilers.id, 1, 10.0), _day(bakery.id, 9, 999.0)]
    )
    session.flush()
    ids, last = [bakery.id, boilers.id, quiet.id], DAY + dt.timedelta(days=1)
    rows = load_daily_matrix(session, ids, DAY, last)
    assert load_daily_metered(session, ids, DAY, last) == (float(rows["energy_kwh"].sum()), 2) == (104.5, 2)
    assert load_daily_metered(session, [quiet.id], DAY, last) == (None, 0)  # no day at all: unknown, not 0 kWh
    assert load_daily_metered(session, [], DAY, last) == (None, 0)
