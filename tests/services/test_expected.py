"""Fitting site models in batch on the demo data, storing them, and predicting from the stored fits."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.models import Meter, Organisation, Site, SiteModel
from portfolio.queries.usage import load_usage_totals
from portfolio.services.expected import REFIT_AFTER_DAYS, fit_due_models, is_refit_due, predict_expected
from portfolio.services.expected_summary import compute_portfolio_summary
from portfolio.timekeeping import SECONDS_PER_DAY, local_midnight_ts
from tests.conftest import DEMO_TODAY, LoadedDemo

TODAY = DEMO_TODAY
METERS = {
    "hh_power": "1230016209357",  # Dalston café: London smart meter, half-hourly
    "amr_power": "1030002594583",  # Hills Road Tower electricity, hourly
    "amr_gas": "7400062674",  # Hills Road Tower gas, hourly
    "two_weeks": "1230019351223",  # Bethnal Green café: data ends after a fortnight
    "no_data": "1230037155158",  # Canary Wharf: no reading yet
}


@pytest.fixture
def database_url(loaded_demo: LoadedDemo) -> str:
    """Every test here starts from the demo, loaded once per engine (``tests/conftest.py``)."""
    return loaded_demo.url


@pytest.fixture
def demo_sites(session_factory: sessionmaker[Session]) -> dict[str, int]:
    with session_factory() as session:
        rows = session.execute(select(Meter.identifier, Meter.site_id).where(Meter.identifier.in_(METERS.values())))
        by_identifier = dict(rows.all())
    return {name: by_identifier[identifier] for name, identifier in METERS.items()}


def _now() -> dt.datetime:
    return dt.datetime.combine(TODAY, dt.time(6), dt.UTC)


def test_models_are_fitted_stored_and_reported(
    session_factory: sessionmaker[Session], demo_sites: dict[str, int]
) -> None:
    report = fit_due_models(session_factory, now=_now(), site_ids=list(demo_sites.values()))
    assert sorted(report.fitted) == sorted(demo_sites[k] for k in ("hh_power", "amr_power", "amr_gas"))
    assert sorted(report.insufficient) == sorted([demo_sites["two_weeks"], demo_sites["no_data"]])
    assert report.failed == {}
    with session_factory() as session:
        stored = {m.site_id: m for m in session.scalars(select(SiteModel))}
    power = stored[demo_sites["amr_power"]]
    assert power.status == "ok" and power.model and power.cvrmse_pct is not None
    assert 0 < power.cvrmse_pct < 40  # a real commercial meter: an ordinary, plausible fit
    assert (
        stored[demo_sites["two_weeks"]].message is not None
        and "needs at least" in stored[demo_sites["two_weeks"]].message
    )
    assert stored[demo_sites["no_data"]].message == "no readings yet"


def test_only_due_models_are_refitted(session_factory: sessionmaker[Session], demo_sites: dict[str, int]) -> None:
    sites = [demo_sites["amr_power"]]
    assert fit_due_models(session_factory, now=_now(), site_ids=sites).fitted == sites
    assert fit_due_models(session_factory, now=_now(), site_ids=sites).skipped == sites
    assert fit_due_models(session_factory, now=_now(), site_ids=sites, force=True).fitted == sites


def test_a_fleet_fitted_on_one_day_is_refitted_over_the_next_seven_not_all_on_one_night() -> None:
    """700 sites fitted on day 0, a day of readings arriving every night: each night refits a seventh of them, each
    site once in the first week and once a week after; a model with under a day of new readings waits."""
    fitted_on = dt.datetime(2026, 11, 2, 3, tzinfo=dt.UTC)
    data_end = {site: int(fitted_on.timestamp()) - 3_600 for site in range(1, 701)}
    refits: dict[int, list[int]] = {site: [] for site in data_end}
    for night in range(1, 22):
        now = fitted_on + dt.timedelta(days=night)
        last_ts = int(now.timestamp()) - 3_600  # yesterday's readings arrived
        due = [site for site, end in data_end.items() if is_refit_due(site, True, last_ts, end, now)]
        assert len(due) == 100, (night, len(due))
        for site in due:
            data_end[site] = last_ts
            refits[site].append(night)
    for nights in refits.values():
        assert nights[0] <= REFIT_AFTER_DAYS and [b - a for a, b in zip(nights, nights[1:], strict=False)] == [7, 7]
    now = fitted_on + dt.timedelta(days=1)
    just_fitted = int(now.timestamp()) - SECONDS_PER_DAY // 2
    assert not any(is_refit_due(s, True, just_fitted + 3_600, just_fitted, now) for s in range(1, 701))
    assert is_refit_due(5, False, None, None, now)  # never fitted
    assert not is_refit_due(5, True, None, None, now)  # fitted, no readings: nothing to refit on
    assert is_refit_due(5, True, just_fitted, just_fitted, now, force=True)


def test_prediction_covers_the_forecast_week(
    session_factory: sessionmaker[Session], demo_sites: dict[str, int]
) -> None:
    sites = [demo_sites["amr_gas"], demo_sites["hh_power"], demo_sites["no_data"]]
    fit_due_models(session_factory, now=_now(), site_ids=sites)
    start = int(dt.datetime.combine(TODAY, dt.time(), dt.UTC).timestamp())
    with session_factory() as session:
        hourly = predict_expected(session, sites, start, start + 7 * 86_400)
        daily = predict_expected(session, sites, start, start + 7 * 86_400, per_local_day=True)
    assert demo_sites["no_data"] not in hourly  # no model: absent, never zeros
    gas = hourly[demo_sites["amr_gas"]]
    assert len(gas) == 7 * 24
    assert (gas["lower_kwh"] <= gas["expected_kwh"]).all() and (gas["expected_kwh"] <= gas["upper_kwh"]).all()
    half_hours = hourly[demo_sites["hh_power"]]
    # the forecast's last hour stamps 23:00; the 23:30 half hour has nothing to interpolate to, so it is left out
    assert len(half_hours) == 7 * 48 - 1
    assert half_hours.index[0].timestamp() == start and half_hours.index[-1].timestamp() == start + 7 * 86_400 - 3600
    days = daily[demo_sites["hh_power"]]
    assert len(days) == 7
    assert days["expected_kwh"].sum() == pytest.approx(half_hours["expected_kwh"].sum())


# The portfolio summary -----------------------------------------------------------------------------


def _ts(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


def test_riverside_summary(session_factory: sessionmaker[Session]) -> None:
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
