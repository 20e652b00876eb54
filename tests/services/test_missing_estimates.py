"""Stored per-day estimates of missing intervals: the same figures as computing them in the request, used only
while still true (current predictions, the daily roll-up's counts unchanged), kept current by later runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.db import make_engine, make_session_factory, transaction
from portfolio.ingest.loader import refresh_daily_usage, store_readings
from portfolio.models import ComputedResult, MeterType, Site, SiteMissingEstimate, SiteMissingEstimateState
from portfolio.queries.data_version import mark_usage_changed
from portfolio.services.expected_summary import compute_portfolio_summary
from portfolio.services.missing_estimates import (
    compute_site_day_estimates,
    load_site_estimates,
    refresh_missing_estimates,
    site_steps,
)
from portfolio.timekeeping import UK_TIME_ZONE, local_midnight_ts
from tests.conftest import DEMO_TODAY

FIT_NOW = dt.datetime.combine(DEMO_TODAY, dt.time(5), dt.UTC)  # when the demo's models were fitted (conftest)
YEAR = (DEMO_TODAY - dt.timedelta(days=365), DEMO_TODAY)
MONTH = (DEMO_TODAY - dt.timedelta(days=30), DEMO_TODAY)


@pytest.fixture
def factory(demo_world: tuple[str, Path]) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(demo_world[0])
    yield make_session_factory(engine)
    engine.dispose()


def _power_sites(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Site.id, Site.meter_type).where(Site.fuel == "power").order_by(Site.id)).all()
    return pd.DataFrame(
        {
            "site_id": [int(r[0]) for r in rows],
            "fuel": "power",
            "interval_seconds": [3600 if MeterType(r[1]) == MeterType.AMR else 1800 for r in rows],
        }
    )


def _range_ts(days: tuple[dt.date, dt.date]) -> tuple[int, int]:
    return local_midnight_ts(days[0], UK_TIME_ZONE), local_midnight_ts(days[1], UK_TIME_ZONE)


def _summary(factory: sessionmaker[Session], days: tuple[dt.date, dt.date]) -> tuple[object, ...]:
    start_ts, end_ts = _range_ts(days)
    with factory() as session:
        (summary,) = compute_portfolio_summary(session, _power_sites(session), start_ts, end_ts, end_ts)
    return (
        summary.estimated_missing_kwh,
        summary.estimated_missing_range_kwh,
        summary.sites_estimated,
        summary.sites_unestimated,
        summary.metered_kwh,
    )


def _forget(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        session.execute(delete(SiteMissingEstimate))
        session.execute(delete(SiteMissingEstimateState))
        mark_usage_changed(session)  # as the writers of stored estimates do: kept graphs are not read again


def _drop_kept_results(factory: sessionmaker[Session]) -> None:
    """Forget the graphs kept by earlier draws, so the next draw computes (through whichever path is patched in)."""
    with transaction(factory) as session:
        session.execute(delete(ComputedResult))


def _same(stored: tuple[object, ...], live: tuple[object, ...]) -> None:
    assert stored[2:] == live[2:]
    assert stored[0] == pytest.approx(live[0], rel=1e-9)
    assert np.asarray(stored[1]) == pytest.approx(np.asarray(live[1]), rel=1e-9)


@pytest.mark.parametrize("days", [YEAR, MONTH], ids=["year", "month"])
def test_stored_estimates_give_the_figures_computed_in_the_request(
    factory: sessionmaker[Session], days: tuple[dt.date, dt.date]
) -> None:
    start_ts, end_ts = _range_ts(days)
    with factory() as session:
        steps = site_steps(session, _power_sites(session))
        used = load_site_estimates(session, steps, start_ts, end_ts, UK_TIME_ZONE)
        stored_rows = session.scalar(select(func.count()).select_from(SiteMissingEstimate))
    assert used.stored_sites == len(steps) and used.computed_sites == 0  # the fitted demo's run stored them all
    assert stored_rows and stored_rows > 0
    stored = _summary(factory, days)
    assert stored[0] is not None and stored[2] > 0  # the demo's gaps are estimated

    _forget(factory)
    with factory() as session:
        computed = load_site_estimates(session, steps, start_ts, end_ts, UK_TIME_ZONE)
    assert computed.stored_sites == 0 and computed.computed_sites == len(steps)
    _same(stored, _summary(factory, days))


def test_days_after_the_last_run_are_computed_and_added(factory: sessionmaker[Session]) -> None:
    """A range reaching past the stored days: stored up to the last run, the later days computed now."""
    days = (DEMO_TODAY - dt.timedelta(days=30), DEMO_TODAY + dt.timedelta(days=3))
    start_ts, end_ts = _range_ts(days)
    with factory() as session:
        steps = site_steps(session, _power_sites(session))
        mixed = load_site_estimates(session, steps, start_ts, end_ts, UK_TIME_ZONE)
    assert mixed.stored_sites == len(steps) and mixed.computed_sites == len(steps)
    stored = _summary(factory, days)
    _forget(factory)
    _same(stored, _summary(factory, days))


def test_readings_that_arrive_after_the_run_make_the_site_computed_afresh(factory: sessionmaker[Session]) -> None:
    start_ts, end_ts = _range_ts(MONTH)
    with factory() as session:
        steps = site_steps(session, _power_sites(session))
        rows = compute_site_day_estimates(session, steps, start_ts, end_ts, UK_TIME_ZONE)
    missing = rows[(rows["reported_intervals"] == 0) & (rows["local_date"] < DEMO_TODAY)].iloc[0]
    site_id, day = int(missing["site_id"]), missing["local_date"]
    lo = local_midnight_ts(day, UK_TIME_ZONE)
    step = steps[site_id]
    arrived = pd.DataFrame(
        {
            "start_ts": np.arange(lo, lo + 6 * step, step, dtype=np.int64),  # the first few intervals of that day
            "interval_seconds": step,
            "energy_kwh": 1.0,
            "estimated": False,
        }
    )
    with transaction(factory) as session:
        store_readings(session, site_id, arrived, None)
        refresh_daily_usage(session, site_id, UK_TIME_ZONE, lo, lo + 6 * step, incoming=arrived)
    with factory() as session:
        used = load_site_estimates(session, steps, start_ts, end_ts, UK_TIME_ZONE)
    assert used.computed_sites == 1 and used.stored_sites == len(steps) - 1  # only that site, afresh
    with_arrivals = _summary(factory, MONTH)
    _forget(factory)
    _same(with_arrivals, _summary(factory, MONTH))


def test_a_later_run_recomputes_the_recent_days_only_and_matches_a_whole_one(factory: sessionmaker[Session]) -> None:
    later = FIT_NOW + dt.timedelta(days=2)
    report = refresh_missing_estimates(factory, later)
    assert report.sites > 0 and report.sites_whole == 0 and not report.errors
    with factory() as session:
        states = session.scalars(select(SiteMissingEstimateState)).all()
    assert {s.through_date for s in states} == {DEMO_TODAY + dt.timedelta(days=1)}
    days = (DEMO_TODAY - dt.timedelta(days=60), DEMO_TODAY + dt.timedelta(days=2))
    incremental = _summary(factory, days)

    whole = refresh_missing_estimates(factory, later, full=True)
    assert whole.sites_whole == whole.sites
    _same(incremental, _summary(factory, days))


def test_a_daily_graph_reads_the_stored_days_and_draws_what_the_request_would(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from portfolio.access import organisation_viewer
    from portfolio.models import Organisation, Role
    from portfolio.services import graphs_coverage
    from portfolio.services.graphs import GraphRequest, make_graph
    from portfolio.services.groups import ALL_SITES

    computed: list[int] = []  # interval predictions read in the request, per call
    read = graphs_coverage.load_gap_predictions
    monkeypatch.setattr(
        graphs_coverage, "load_gap_predictions", lambda session, chosen: computed.append(1) or read(session, chosen)
    )

    with factory() as session:
        organisations = frozenset(int(o) for o in session.scalars(select(Organisation.id)))
    viewer = organisation_viewer(1, "someone@example.com", Role.CUSTOMER, organisations)
    request = GraphRequest(ALL_SITES, None, YEAR[0], YEAR[1] - dt.timedelta(days=1), "power", granularity="day")
    now = dt.datetime.combine(DEMO_TODAY, dt.time(6), dt.UTC)

    def drawn() -> tuple[pd.DataFrame, list[str], dict[str, float | None]]:
        with factory() as session:
            result = make_graph(session, viewer, request, now=now)
        assert result.table is not None and result.totals is not None
        estimate = next(t for t in result.figure.data if (t.name or "").startswith("Estimated for "))
        reporting = next(t for t in result.figure.data if t.name == "Sites reporting")
        return (
            pd.DataFrame(  # the estimate has a bar on the days it estimates: aligned on the strip's days
                {
                    "estimate": pd.Series(np.asarray(estimate.y, dtype=float), index=pd.DatetimeIndex(estimate.x))
                    .reindex(pd.DatetimeIndex(reporting.x))
                    .to_numpy(),
                    "reporting": np.asarray(reporting.y),
                }
            ),
            [str(text) for _, text in reporting.customdata],
            dict(result.totals),
        )

    stored_values, stored_hover, stored_totals = drawn()
    assert np.nansum(stored_values["estimate"]) > 0  # the demo's missing sites are estimated
    assert computed == []  # a year of days read from the stored estimates: no interval predictions read
    _forget(factory)
    live_values, live_hover, live_totals = drawn()
    assert computed  # without them, computed in the request
    assert stored_hover == live_hover  # "30 of 35 sites reporting · 3 estimated (model) · ..." day by day
    assert np.array_equal(stored_values["reporting"], live_values["reporting"])
    assert np.allclose(stored_values["estimate"], live_values["estimate"], rtol=1e-9, equal_nan=True)
    assert stored_totals["estimated_kwh"] == pytest.approx(live_totals["estimated_kwh"], rel=1e-9)


@pytest.mark.parametrize("granularity", ["hh", "hour", "day"])
def test_silent_days_are_summed_in_sql_and_draw_what_reading_every_interval_draws(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, granularity: str
) -> None:
    """The morning before the collectors' files: every site's last days have no reading at all. Those site-days
    are estimated from their stored predictions added up in SQL; the figures, the coverage, the totals and the
    named unmodelled sites equal the per-interval path's, which the test forces by finding no silent day."""
    from portfolio.access import organisation_viewer
    from portfolio.models import Organisation, Role
    from portfolio.services import coverage, graphs_coverage
    from portfolio.services import missing_estimates as estimates_module
    from portfolio.services.graphs import GraphRequest, make_graph
    from portfolio.services.groups import ALL_SITES

    with factory() as session:
        organisations = frozenset(int(o) for o in session.scalars(select(Organisation.id)))
    viewer = organisation_viewer(1, "someone@example.com", Role.CUSTOMER, organisations)
    first, last = DEMO_TODAY - dt.timedelta(days=6), DEMO_TODAY + dt.timedelta(days=1)  # ends two unreported days
    group = ALL_SITES
    if granularity == "hh":  # half hours are drawn only where no meter is hourly
        from portfolio.services.groups import create_group

        with transaction(factory) as session:
            sites = _power_sites(session)
            group = str(
                create_group(session, viewer, "Half-hourly", sites.loc[sites["interval_seconds"] == 1800, "site_id"]).id
            )
    request = GraphRequest(group, None, first, last, "power", granularity=granularity)
    now = dt.datetime.combine(DEMO_TODAY + dt.timedelta(days=2), dt.time(6), dt.UTC)
    silent_sites: list[int] = []
    summed = graphs_coverage.load_silent_day_estimates
    monkeypatch.setattr(
        graphs_coverage,
        "load_silent_day_estimates",
        lambda *args: (lambda found: silent_sites.append(len(found[1])) or found)(summed(*args)),
    )

    def drawn() -> tuple[pd.DataFrame, list[str], dict[str, float | None], str, pd.DataFrame]:
        with factory() as session:
            result = make_graph(session, viewer, request, now=now)
            steps = site_steps(session, _power_sites(session))
            start_ts, end_ts = _range_ts((first, last + dt.timedelta(days=1)))
            per_day = compute_site_day_estimates(session, steps, start_ts, end_ts, UK_TIME_ZONE)
        assert result.resolution == granularity and result.table is not None and result.totals is not None
        return (
            result.table,
            [str(text) for _, text in next(t for t in result.figure.data if t.name == "Sites reporting").customdata],
            dict(result.totals),
            result.note,
            per_day.sort_values(["site_id", "local_date"], ignore_index=True),
        )

    table, hover, totals, note, per_day = drawn()
    with factory() as session:
        sites = _power_sites(session)
        power_sites = int((sites["interval_seconds"] == 1800).sum()) if granularity == "hh" else len(sites)
    assert silent_sites and max(silent_sites) >= 0.8 * power_sites  # the modelled sites' last days, summed in SQL
    assert (per_day["reported_intervals"] == 0).sum() >= 2 * (power_sites - 1)
    estimated = table["estimated_for_missing_kwh (model, not metered)"]
    assert estimated.notna().sum() > 0 and estimated.sum() > 0

    monkeypatch.setattr(coverage, "silent_day_spans", lambda *args: {})
    monkeypatch.setattr(estimates_module, "silent_day_spans", lambda *args: {})
    silent_sites.clear()
    _drop_kept_results(factory)
    interval_table, interval_hover, interval_totals, interval_note, interval_per_day = drawn()
    assert max(silent_sites) == 0  # this time every interval was read
    assert hover == interval_hover and note == interval_note
    numbers = [c for c in table.columns if c != "local_time"]
    assert table["local_time"].equals(interval_table["local_time"])
    np.testing.assert_allclose(
        table[numbers].to_numpy(dtype=float), interval_table[numbers].to_numpy(dtype=float), rtol=1e-9, atol=1e-9
    )
    assert totals["estimated_kwh"] == pytest.approx(interval_totals["estimated_kwh"], rel=1e-9)
    assert per_day[["site_id", "local_date", "reported_intervals"]].equals(
        interval_per_day[["site_id", "local_date", "reported_intervals"]]
    )
    np.testing.assert_allclose(
        per_day[["estimated_kwh", "estimated_se_kwh"]].to_numpy(dtype=float),
        interval_per_day[["estimated_kwh", "estimated_se_kwh"]].to_numpy(dtype=float),
        rtol=1e-9,
    )
