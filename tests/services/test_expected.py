"""Fitting site models in batch on the demo data, storing them, and predicting from the stored fits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import load_settings
from portfolio.models import Meter, SiteModel
from portfolio.services.demo import load_demo
from portfolio.services.expected import fit_due_models, predict_expected

TODAY = dt.date(2026, 11, 25)
METERS = {
    "hh_power": "1230016209357",  # Dalston café: London smart meter, half-hourly
    "amr_power": "1030002594583",  # Hills Road Tower electricity, hourly
    "amr_gas": "7400062674",  # Hills Road Tower gas, hourly
    "two_weeks": "1230019351223",  # Bethnal Green café: data ends after a fortnight
    "no_data": "1230037155158",  # Canary Wharf: no reading yet
}


@pytest.fixture
def demo_sites(session_factory: sessionmaker[Session], tmp_path: Path) -> dict[str, int]:
    settings = load_settings({}, instance_path=tmp_path / "instance", database_url="unused", secret_key="x")
    load_demo(session_factory, settings, today=TODAY)
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
