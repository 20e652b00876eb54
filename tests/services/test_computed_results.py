"""A portfolio graph's coverage and its panel's figures are kept for the next request (any worker), and never read
once the data they came from changed."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import Viewer, organisation_viewer, viewer_for
from portfolio.db import make_engine, make_session_factory, transaction
from portfolio.models import ComputedResult, Organisation, Role, Site, User
from portfolio.queries.data_version import load_usage_version, mark_usage_changed
from portfolio.services import expected_summary, graphs_coverage, graphs_profile
from portfolio.services.graphs import GraphRequest, GraphResult, make_graph
from portfolio.services.groups import ALL_SITES
from portfolio.timekeeping import local_midnight_ts
from tests.conftest import DEMO_TODAY
from tests.services.canary_wharf import import_a_day_of_half_hours

NOW = dt.datetime(2026, 11, 25, 6, tzinfo=dt.UTC)
RIVERSIDE = "Riverside Print & Copy Ltd"
START, END = DEMO_TODAY - dt.timedelta(days=30), DEMO_TODAY - dt.timedelta(days=1)
DAILY = GraphRequest(ALL_SITES, None, START, END, "power", granularity="day")


@pytest.fixture
def database_url(demo_world: tuple[str, Path]) -> str:
    return demo_world[0]


@pytest.fixture
def riverside(session_factory: sessionmaker[Session]) -> Viewer:
    with session_factory() as session:
        organisation = session.scalar(select(Organisation.id).where(Organisation.name == RIVERSIDE))
    return organisation_viewer(1, "someone@example.com", Role.CUSTOMER, frozenset({int(organisation)}))


def _graph(factory: sessionmaker[Session], viewer: Viewer, request: GraphRequest = DAILY) -> GraphResult:
    with factory() as session:
        return make_graph(session, viewer, request, now=NOW)


def _kept(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(ComputedResult)) or 0)


def _not_computed(*_args: object, **_kwargs: object) -> graphs_coverage.Coverage:
    raise AssertionError("the coverage was computed again instead of read")


def test_another_worker_draws_the_kept_coverage_without_computing_it(
    session_factory: sessionmaker[Session], database_url: str, riverside: Viewer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _graph(session_factory, riverside)
    assert _kept(session_factory) == 1
    other_engine = make_engine(database_url)  # another worker: its own engine and connections
    try:
        monkeypatch.setattr(graphs_coverage, "_compute_coverage", _not_computed)
        second = _graph(make_session_factory(other_engine), riverside)
    finally:
        other_engine.dispose()
    assert pio.to_json(second.figure) == pio.to_json(first.figure)
    assert (second.note, second.summary) == (first.note, first.summary)
    pd.testing.assert_frame_equal(second.table, first.table)
    assert "not estimated (no model)" in second.note  # the unmodelled sites come back by name
    assert _kept(session_factory) == 1


def test_each_window_and_resolution_is_kept_apart(session_factory: sessionmaker[Session], riverside: Viewer) -> None:
    _graph(session_factory, riverside)
    _graph(session_factory, riverside, GraphRequest(ALL_SITES, None, START, END, "power", granularity="hour"))
    week = GraphRequest(ALL_SITES, None, END - dt.timedelta(days=6), END, "power", granularity="day")
    _graph(session_factory, riverside, week)
    assert _kept(session_factory) == 3


def test_new_readings_are_drawn_at_once_not_the_kept_coverage(
    session_factory: sessionmaker[Session], riverside: Viewer
) -> None:
    """Canary Wharf sent nothing yet; its first day arrives after the graph was kept: that day gains a whole site."""
    before = _graph(session_factory, riverside)
    version = _version(session_factory)
    day = END - dt.timedelta(days=3)
    import_a_day_of_half_hours(session_factory, day)
    assert _version(session_factory) > version
    after = _graph(session_factory, riverside)
    row = before.table.index == (day - START).days  # one row per local day from START
    assert len(before.table) == (END - START).days + 1
    reporting_before, reporting_after = (int(r.table.loc[row, "sites_reporting"].iloc[0]) for r in (before, after))
    assert reporting_after == reporting_before + 1
    metered_before, metered_after = (float(r.table.loc[row, "metered_kwh"].iloc[0]) for r in (before, after))
    assert metered_after == pytest.approx(metered_before + 24)
    assert _kept(session_factory) == 2  # one per data version: the older one is no longer read


def test_a_kept_coverage_that_cannot_be_read_is_computed_afresh(
    session_factory: sessionmaker[Session], riverside: Viewer, caplog: pytest.LogCaptureFixture
) -> None:
    first = _graph(session_factory, riverside)
    with transaction(session_factory) as session:
        session.execute(update(ComputedResult).values(payload='{"dtypes": {"start_ts": "int64"}, "columns": '))
    with caplog.at_level(logging.WARNING, logger="portfolio.services.computed_results"):
        second = _graph(session_factory, riverside)
    assert "could not be read" in caplog.text
    assert pio.to_json(second.figure) == pio.to_json(first.figure)


def _version(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return load_usage_version(session)


def test_the_version_moves_on_when_a_change_commits_and_only_then(session_factory: sessionmaker[Session]) -> None:
    start = _version(session_factory)
    with session_factory() as session:
        mark_usage_changed(session)
        session.rollback()  # the change never happened
        session.commit()
    assert _version(session_factory) == start
    with session_factory() as session:
        mark_usage_changed(session)
        session.commit()
        session.commit()  # a later transaction that changed nothing moves nothing
    assert _version(session_factory) == start + 1
    with transaction(session_factory) as session:
        mark_usage_changed(session)
    assert _version(session_factory) == start + 2


def test_the_panels_figures_are_kept_until_the_data_changes(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_factory() as session:
        site_ids = list(session.scalars(select(Site.id).where(Site.fuel == "power")))
    sites = pd.DataFrame({"site_id": site_ids, "fuel": "power", "interval_seconds": 1800})
    lo, hi = (local_midnight_ts(d, "Europe/London") for d in (START, END + dt.timedelta(days=1)))
    computed = []
    compute = expected_summary._compute_summaries

    def counted(*args: object) -> list[expected_summary.FuelSummary]:
        computed.append(args)
        return compute(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(expected_summary, "_compute_summaries", counted)
    with session_factory() as session:
        first = expected_summary.compute_portfolio_summary(session, sites, lo, hi, hi)
    with session_factory() as session:
        again = expected_summary.compute_portfolio_summary(session, sites, lo, hi, hi)
    assert again == first and len(computed) == 1
    assert first[0].estimated_missing_range_kwh is not None  # the demo misses intervals: a range to carry back
    with transaction(session_factory) as session:
        mark_usage_changed(session)  # as any import, refresh or retention run does
    with session_factory() as session:
        after = expected_summary.compute_portfolio_summary(session, sites, lo, hi, hi)
    assert after == first and len(computed) == 2  # computed afresh from the new version (same data here)


def test_the_daily_runs_warm_up_readies_the_default_views_a_request_then_reads(
    session_factory: sessionmaker[Session], riverside: Viewer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Graphs page's 7 days, 30 days (its default) and 1 year ending yesterday, coverage and panel, computed
    before anyone asks (the demo's portfolios are small: every size is readied here)."""
    from portfolio.services import graphs_warm
    from portfolio.web.views.graphs import make_expected

    monkeypatch.setattr(graphs_warm, "WARM_MIN_SITES", 1)
    report = graphs_warm.warm_graphs(session_factory, NOW)
    assert report.portfolios > 0 and report.views == 3 * report.portfolios
    monkeypatch.setattr(graphs_coverage, "_compute_coverage", _not_computed)
    monkeypatch.setattr(expected_summary, "_compute_summaries", _not_computed)
    monkeypatch.setattr(graphs_profile, "compute_load_profile", _not_computed)
    yesterday = NOW.date() - dt.timedelta(days=1)
    for days in graphs_warm.WARM_WINDOWS_DAYS:
        request = GraphRequest(ALL_SITES, None, yesterday - dt.timedelta(days=days - 1), yesterday, "power")
        assert _graph(session_factory, riverside, request).figure.data
        with session_factory() as session:
            assert make_expected(session, riverside, request, NOW).children
            assert _profile_cells(graphs_profile.make_profile(session, riverside, request, NOW)) > 0
    with session_factory() as session:  # a broker's landing view: their clients together, no stored scope of its own
        broker_user = session.scalar(select(User).where(User.role == Role.BROKER).order_by(User.id))
        assert broker_user is not None
        broker = viewer_for(session, broker_user, NOW)
    whole = GraphRequest(ALL_SITES, None, yesterday - dt.timedelta(days=29), yesterday, "power")
    assert _graph(session_factory, broker, whole).figure.data
    with session_factory() as session:
        assert graphs_profile.make_profile(session, broker, whole, NOW).data  # read, or empty for daily-only sites
    again = graphs_warm.warm_graphs(session_factory, NOW)  # nothing changed: everything is read, none pruned
    assert (again.views, again.pruned) == (report.views, 0)


def _profile_cells(figure: go.Figure) -> int:
    """The load profile's weekday-hours that have a mean."""
    return sum(v is not None for row in figure.data[0].z for v in row)


def test_the_load_profile_is_kept_until_the_data_changes(
    session_factory: sessionmaker[Session], riverside: Viewer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heat map reads a year of hours; a later request, on any worker, reads its 168 kept means instead."""
    computed: list[object] = []
    compute = graphs_profile.compute_load_profile

    def counted(series: pd.DataFrame, time_zone: str) -> pd.DataFrame:
        computed.append(len(series))
        return compute(series, time_zone)

    monkeypatch.setattr(graphs_profile, "compute_load_profile", counted)
    year = GraphRequest(ALL_SITES, None, END - dt.timedelta(days=364), END, "power")
    with session_factory() as session:
        first = graphs_profile.make_profile(session, riverside, year, NOW)
    with session_factory() as session:
        again = graphs_profile.make_profile(session, riverside, year, NOW)
    assert len(computed) == 1 and computed[0] > 24 * 300  # a year of hours was read once
    assert pio.to_json(again) == pio.to_json(first)
    assert 0 < _profile_cells(first) <= 168
    with session_factory() as session:
        site_id = session.scalar(select(Site.id).where(Site.name.like("Canary Wharf%")))
    one_site = GraphRequest(ALL_SITES, int(site_id), END - dt.timedelta(days=364), END, "power")
    with session_factory() as session:
        graphs_profile.make_profile(session, riverside, one_site, NOW)
    assert len(computed) == 2  # a site's own profile is kept apart from its portfolio's
    with transaction(session_factory) as session:
        mark_usage_changed(session)
    with session_factory() as session:
        after = graphs_profile.make_profile(session, riverside, year, NOW)
    assert len(computed) == 3 and pio.to_json(after) == pio.to_json(first)  # afresh from the new version


def test_a_kept_profile_that_is_not_seven_days_of_24_hours_is_not_read() -> None:
    profile = pd.DataFrame(np.arange(168, dtype=np.float64).reshape(7, 24))
    profile.iloc[6, 23] = np.nan  # a weekday-hour that never reported
    decoded = graphs_profile.decode_profile(graphs_profile.encode_profile(profile))
    assert decoded is not None
    np.testing.assert_array_equal(decoded.to_numpy(), profile.to_numpy())
    for payload in (
        "[[1, 2], [3, 4]]",
        "[1, 2, 3]",
        '{"z": 1}',
        "[[",
        '[["x"]]',
        "[" + ",".join(["[1e999]" * 1] * 7) + "]",
    ):
        assert graphs_profile.decode_profile(payload) is None, payload
