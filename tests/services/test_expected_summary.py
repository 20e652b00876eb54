"""Portfolio summary on the demo data: metered, estimated-missing and expected figures stay apart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import load_settings
from portfolio.models import Organisation, Site
from portfolio.queries.usage import load_usage_totals
from portfolio.services.demo import load_demo
from portfolio.services.expected import compute_portfolio_summary, fit_due_models, predict_expected
from portfolio.timekeeping import local_midnight_ts

TODAY = dt.date(2026, 11, 25)


def _ts(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


def test_riverside_summary(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    settings = load_settings({}, instance_path=tmp_path / "instance", database_url="unused", secret_key="x")
    load_demo(session_factory, settings, today=TODAY)
    with session_factory() as session:
        site_ids = session.scalars(
            select(Site.id).join(Organisation).where(Organisation.name == "Riverside Print & Copy Ltd")
        ).all()
    fit_due_models(session_factory, site_ids=site_ids, now=dt.datetime(2026, 11, 25, 6, tzinfo=dt.UTC))
    start, end = TODAY - dt.timedelta(days=30), TODAY
    sites = pd.DataFrame({"site_id": site_ids, "fuel": "power", "interval_seconds": 1800})
    with session_factory() as session:
        (power,) = compute_portfolio_summary(session, sites, _ts(start), _ts(end), _ts(TODAY))
        usage = load_usage_totals(session, site_ids, start, end - dt.timedelta(days=1))
    assert power.fuel == "power" and power.sites == 6
    assert power.metered_kwh is not None
    assert (
        abs(power.metered_kwh - usage["energy_kwh"].sum()) < 1e-6
    )  # the metered figure is the readings, nothing added
    assert power.sites_metered == 3
    # Kilburn and Finsbury Park stopped reporting but have models; Canary Wharf has neither data nor model
    assert power.sites_estimated >= 2 and power.sites_unestimated >= 1
    assert power.estimated_missing_kwh is not None and power.estimated_missing_kwh > 0
    low, high = power.estimated_missing_range_kwh
    assert low < power.estimated_missing_kwh < high
    assert power.expected_next_kwh is not None and power.expected_next_kwh > 0
    assert power.sites_forecast >= 3
    assert "independent" in power.expected_range_note
    # "next 7 days" are 7 whole local days, also across the clock change (Thu 22 Oct 2026 + 7 days: 169 hours)
    week_start = local_midnight_ts(dt.date(2026, 10, 22), "Europe/London")
    week_end = local_midnight_ts(dt.date(2026, 10, 29), "Europe/London")
    assert week_end - week_start == 7 * 86_400 + 3600
    with session_factory() as session:
        (autumn,) = compute_portfolio_summary(session, sites, _ts(start), _ts(end), week_start)
        daily = predict_expected(session, site_ids, week_start, week_end, per_local_day=True)
    assert autumn.sites_forecast == len(daily) >= 3
    assert all(len(frame) == 7 for frame in daily.values())
    assert abs(autumn.expected_next_kwh - sum(frame["expected_kwh"].sum() for frame in daily.values())) < 1e-6
