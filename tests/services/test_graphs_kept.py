"""The Graphs page's graph is drawn once per half hour and data version, then read by any worker: exactly what
would be drawn, access checked and audited every time, never read once its data, sites or half hour changed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, Viewer, organisation_viewer, viewer_for
from portfolio.db import make_engine, make_session_factory, transaction
from portfolio.models import (
    AuditEntry,
    ComputedResult,
    Organisation,
    PipelineRun,
    Role,
    RunStatus,
    Site,
    User,
    WeatherLocation,
)
from portfolio.models.enums import WeatherKind
from portfolio.queries.auth import record_login_attempt
from portfolio.queries.data_version import load_usage_version
from portfolio.queries.imports import upsert_weather_rows
from portfolio.queries.pipeline import load_last_site_id
from portfolio.services import expected_summary, graphs_kept, graphs_profile, graphs_warm
from portfolio.services.computed_results import prune_results
from portfolio.services.coverage import meter_interval_seconds
from portfolio.services.expected_summary import SUMMARY_RESULT, FuelSummary, compute_portfolio_summary
from portfolio.services.graphs import GraphRequest, GraphResult, draw_graph
from portfolio.services.graphs_kept import GRAPH_RESULT, decode_graph, start_of_half_hour, view_graph
from portfolio.services.graphs_profile import make_profile
from portfolio.services.graphs_sites import load_expected_scope
from portfolio.services.groups import ALL_SITES
from portfolio.timekeeping import local_midnight_ts
from tests.conftest import DEMO_TODAY
from tests.figures.plotly_json import to_the_second
from tests.services.canary_wharf import import_a_day_of_half_hours, new_meter_identifier

NOW = dt.datetime(2026, 11, 25, 6, 10, tzinfo=dt.UTC)
RIVERSIDE = "Riverside Print & Copy Ltd"
START, END = DEMO_TODAY - dt.timedelta(days=6), DEMO_TODAY  # reaches today: the forecast and "now" are drawn
WEEK = GraphRequest(ALL_SITES, None, START, END, "power")


@pytest.fixture
def database_url(demo_world: tuple[str, Path]) -> str:
    return demo_world[0]


@pytest.fixture
def riverside(session_factory: sessionmaker[Session]) -> Viewer:
    with session_factory() as session:
        organisation = session.scalar(select(Organisation.id).where(Organisation.name == RIVERSIDE))
    return organisation_viewer(1, "someone@example.com", Role.CUSTOMER, frozenset({int(organisation)}))


def _view(
    factory: sessionmaker[Session],
    viewer: Viewer,
    request: GraphRequest = WEEK,
    now: dt.datetime = NOW,
    retention_days: int | None = None,
) -> GraphResult:
    with factory() as session:
        return view_graph(session, viewer, request, now=now, retention_days=retention_days)


def _drawn(factory: sessionmaker[Session], viewer: Viewer, request: GraphRequest, at: dt.datetime) -> GraphResult:
    """What :func:`draw_graph` draws now, nothing kept (the reference a kept graph must equal)."""
    with factory() as session:
        chosen = graphs_kept.graph_sites(session, viewer, request)
        return draw_graph(session, viewer, request, chosen, at)


def _sent(result: GraphResult) -> object:
    """The figure as the browser receives it (plotly's JSON, parsed), its times to the second (see
    ``tests/figures/plotly_json.py``)."""
    return to_the_second(json.loads(pio.to_json(result.figure, validate=False)))


def _kept_graphs(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(
            session.scalar(select(func.count()).select_from(ComputedResult).where(ComputedResult.kind == GRAPH_RESULT))
            or 0
        )


def _run_begins(factory: sessionmaker[Session], at: dt.datetime) -> int:
    """A daily run marked running from ``at``, as ``run_daily`` marks it (the data's version and the highest site id
    then): the version, returned."""
    with transaction(factory) as session:
        version = load_usage_version(session)
        session.add(
            PipelineRun(
                run_date=at.date(),
                status=RunStatus.RUNNING,
                started_at=at,
                steps=[],
                usage_version_at_start=version,
                last_site_id_at_start=load_last_site_id(session),
            )
        )
    return version


def _not_drawn(*_args: object, **_kwargs: object) -> GraphResult:
    raise AssertionError("the graph was drawn again instead of read")


def test_another_worker_reads_the_kept_graph_which_is_what_would_be_drawn(
    session_factory: sessionmaker[Session], database_url: str, riverside: Viewer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _view(session_factory, riverside)
    assert first.table is None  # the page shows no table; the CSV export draws its own
    assert _kept_graphs(session_factory) == 1
    other_engine = make_engine(database_url)  # another worker: its own engine and connections
    try:
        monkeypatch.setattr(graphs_kept, "draw_graph", _not_drawn)
        later = NOW + dt.timedelta(minutes=19)  # the same half hour
        second = _view(make_session_factory(other_engine), riverside, now=later)
    finally:
        other_engine.dispose()
    monkeypatch.undo()
    reference = _drawn(session_factory, riverside, WEEK, start_of_half_hour(NOW))
    assert _sent(second) == _sent(first) == _sent(reference)
    assert (second.note, second.summary, second.finest, second.fuels) == (
        reference.note,
        reference.summary,
        reference.finest,
        reference.fuels,
    )
    assert second.totals == pytest.approx(reference.totals)
    shapes = _sent(second)["layout"].get("shapes", [])  # type: ignore[index]
    assert any(s.get("name") == "future" for s in shapes)  # the future is shaded from the start of the half hour
    assert _kept_graphs(session_factory) == 1


def test_a_new_half_hour_draws_afresh_and_forgets_graphs_older_than_the_last(
    session_factory: sessionmaker[Session], riverside: Viewer
) -> None:
    assert start_of_half_hour(dt.datetime(2026, 11, 25, 6, 59, 59, tzinfo=dt.UTC)) == dt.datetime(
        2026, 11, 25, 6, 30, tzinfo=dt.UTC
    )
    _view(session_factory, riverside, now=NOW)
    _view(session_factory, riverside, now=NOW + dt.timedelta(minutes=30))
    assert _kept_graphs(session_factory) == 2  # this half hour's and the last
    late = _view(session_factory, riverside, now=NOW + dt.timedelta(minutes=65))
    assert _kept_graphs(session_factory) == 2  # the 06:00 graph went as the 07:00 one was kept; 06:30's stays
    reference = _drawn(session_factory, riverside, WEEK, dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC))
    assert _sent(late) == _sent(reference)
    _view(session_factory, riverside, now=NOW + dt.timedelta(hours=3))
    assert _kept_graphs(session_factory) == 1


def test_each_request_and_each_viewers_sites_are_kept_apart(
    session_factory: sessionmaker[Session], riverside: Viewer
) -> None:
    week = _view(session_factory, riverside)
    daily = _view(session_factory, riverside, GraphRequest(ALL_SITES, None, START, END, "power", granularity="day"))
    with session_factory() as session:
        site_id = int(session.scalar(select(Site.id).where(Site.name.like("Canary Wharf%"))))
        others = frozenset(
            int(o) for o in session.scalars(select(Organisation.id).where(Organisation.name != RIVERSIDE))
        )
    one_site = _view(session_factory, riverside, GraphRequest(ALL_SITES, site_id, START, END, "power"))
    elsewhere = organisation_viewer(2, "other@example.com", Role.CUSTOMER, others)
    theirs = _view(session_factory, elsewhere)
    assert _kept_graphs(session_factory) == 4
    assert len({json.dumps(_sent(r), sort_keys=True) for r in (week, daily, one_site, theirs)}) == 4
    assert _sent(theirs) == _sent(_drawn(session_factory, elsewhere, WEEK, start_of_half_hour(NOW)))


def test_access_is_checked_and_audited_on_every_request_kept_or_not(
    session_factory: sessionmaker[Session], riverside: Viewer
) -> None:
    _view(session_factory, riverside)
    with session_factory() as session:
        foreign = int(
            session.scalar(
                select(Site.id)
                .join(Organisation, Organisation.id == Site.organisation_id)
                .where(Organisation.name != RIVERSIDE)
            )
        )
    with pytest.raises(AccessDenied):  # a kept graph of the group gives no way into another organisation's site
        _view(session_factory, riverside, GraphRequest(ALL_SITES, foreign, START, END, "power"))
    admin = organisation_viewer(3, "admin@example.com", Role.ADMIN, None)
    with session_factory() as session:
        before = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    _view(session_factory, admin)
    with session_factory() as session:
        after_first = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    _view(session_factory, admin, now=NOW + dt.timedelta(days=1))  # the next day's look is audited again
    with session_factory() as session:
        after_next_day = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    assert after_first > before and after_next_day > after_first


def test_new_readings_or_temperatures_are_drawn_at_once_not_the_kept_graph(
    session_factory: sessionmaker[Session], riverside: Viewer
) -> None:
    before = _view(session_factory, riverside)
    version = _version(session_factory)
    first_ts = import_a_day_of_half_hours(session_factory, END - dt.timedelta(days=2))
    assert _version(session_factory) > version
    after = _view(session_factory, riverside)
    assert after.totals is not None and before.totals is not None
    assert after.totals["metered_kwh"] == pytest.approx(before.totals["metered_kwh"] + 24)

    version = _version(session_factory)
    with session_factory() as session:
        locations = [int(i) for i in session.scalars(select(WeatherLocation.id))]
    hours = pd.DataFrame(
        {"hour_ts": first_ts + 3600 * np.arange(24, dtype=np.int64), "air_temperature_c": np.full(24, 41.5)}
    )
    with transaction(session_factory) as session:
        for location in locations:  # a heatwave everywhere, whichever locations the portfolio weighs
            upsert_weather_rows(session, location, hours, WeatherKind.OBSERVED, None)
    assert _version(session_factory) > version  # temperatures are drawn: a change to them is a change of version
    warmer = _view(session_factory, riverside)
    assert _sent(warmer) == _sent(_drawn(session_factory, riverside, WEEK, start_of_half_hour(NOW)))
    assert _sent(warmer) != _sent(after)


def test_a_zoom_is_drawn_never_kept(session_factory: sessionmaker[Session], riverside: Viewer) -> None:
    lo = local_midnight_ts(END - dt.timedelta(days=3), "Europe/London")
    zoomed = GraphRequest(ALL_SITES, None, START, END, "power", window=(lo, lo + 6 * 3600))
    result = _view(session_factory, riverside, zoomed)
    assert result.resolution == "hh"
    assert _kept_graphs(session_factory) == 0


def test_no_graph_is_kept_while_the_daily_run_writes_nor_after_a_dead_run(
    session_factory: sessionmaker[Session], riverside: Viewer
) -> None:
    """Each file the run imports moves the version on: a graph kept then would hardly be read again."""
    with transaction(session_factory) as session:
        session.add(PipelineRun(run_date=NOW.date(), status=RunStatus.RUNNING, started_at=NOW, steps=[]))
    during = _view(session_factory, riverside, now=NOW + dt.timedelta(minutes=5))
    assert _kept_graphs(session_factory) == 0
    assert _sent(during) == _sent(_drawn(session_factory, riverside, WEEK, NOW + dt.timedelta(minutes=5)))
    _view(session_factory, riverside, now=NOW + dt.timedelta(hours=3))  # a run "running" for 3 hours has died
    assert _kept_graphs(session_factory) == 1
    with transaction(session_factory) as session:
        session.execute(update(PipelineRun).values(status=RunStatus.OK))
    _view(session_factory, riverside, now=NOW + dt.timedelta(minutes=10))
    assert _kept_graphs(session_factory) == 2  # the run ended: the 06:00 graph is kept


def test_a_kept_graph_that_cannot_be_read_is_drawn_afresh(
    session_factory: sessionmaker[Session], riverside: Viewer
) -> None:
    first = _view(session_factory, riverside)
    with transaction(session_factory) as session:
        session.execute(
            update(ComputedResult).where(ComputedResult.kind == GRAPH_RESULT).values(payload='{"figure": {"data": 1}}')
        )
    second = _view(session_factory, riverside)
    assert _sent(second) == _sent(first)
    for payload in ("", "[]", '{"figure": {}}', '{"figure": {"data": [], "layout": {}}}', "not json"):
        assert decode_graph(payload) is None


def test_while_the_daily_run_imports_the_graph_of_the_data_before_it_is_shown_saying_so(
    session_factory: sessionmaker[Session], riverside: Viewer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph kept from the data as it was when the run began is read, not drawn, while the run writes: the whole of
    the last complete data (never a portfolio half imported), with a note. Not kept: drawn from the data as it is."""
    kept = _view(session_factory, riverside)  # 06:10: kept for the 06:00 half hour
    _run_begins(session_factory, NOW + dt.timedelta(minutes=2))
    import_a_day_of_half_hours(
        session_factory, END - dt.timedelta(days=2)
    )  # the run's import: 24 kWh more, the version moved on
    assert kept.totals is not None
    imported = kept.totals["metered_kwh"] + 24

    monkeypatch.setattr(graphs_kept, "draw_graph", _not_drawn)
    during = _view(session_factory, riverside, now=NOW + dt.timedelta(minutes=10), retention_days=1827)
    next_half_hour = _view(session_factory, riverside, now=NOW + dt.timedelta(minutes=35), retention_days=1827)
    monkeypatch.undo()
    for shown in (during, next_half_hour):  # drawn in this half hour or the one before
        assert _sent(shown) == _sent(kept) and shown.totals == kept.totals
        assert (
            shown.note
            == f"Shown as before today's import (began 06:12); new readings appear when it finishes · {kept.note}"
        )

    def metered(now: dt.datetime, retention_days: int | None) -> tuple[float, bool]:
        """The graph's metered total [kWh], and whether it was the one drawn before the run."""
        result = _view(session_factory, riverside, now=now, retention_days=retention_days)
        assert result.totals is not None
        return pytest.approx(float(result.totals["metered_kwh"])), "today's import" in result.note

    later = NOW + dt.timedelta(minutes=10)
    assert metered(NOW + dt.timedelta(minutes=65), 1827) == (imported, False)  # two half hours on: drawn now
    assert metered(later, None) == (imported, False)  # no retention given
    assert metered(later, 7) == (imported, False)  # the run's retention step may delete the week's first day
    assert metered(later, 8) == (kept.totals["metered_kwh"], True)
    fortnight = GraphRequest(ALL_SITES, None, START - dt.timedelta(days=7), END, "power")  # never kept before
    _view(session_factory, riverside, fortnight, now=later, retention_days=1827)
    assert _kept_graphs(session_factory) == 1  # nothing kept while the run writes

    with transaction(session_factory) as session:
        session.execute(update(PipelineRun).values(status=RunStatus.OK))
    assert metered(later, 1827) == (imported, False)  # the run ended: the new data
    assert _kept_graphs(session_factory) == 2


def test_the_daily_run_keeps_the_big_portfolios_default_graphs_first_and_shows_them_while_it_imports(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 06:00 run finds few graphs kept from the half hour before: its first step keeps the default views (as each
    opener's page asks for them) from the data as it is, unaudited, and the page shows those while it imports."""
    monkeypatch.setattr(graphs_warm, "WARM_MIN_SITES", 1)  # the demo's portfolios are small
    start = dt.datetime(2026, 11, 25, 6, 0, 5, tzinfo=dt.UTC)
    _run_begins(session_factory, start)
    audited = _audit_entries(session_factory)
    report = graphs_warm.keep_default_graphs(session_factory, start)
    assert report.portfolios > 0 and report.views == 3 * report.portfolios
    assert _kept_graphs(session_factory) > 0 and _audit_entries(session_factory) == audited  # nobody looked
    import_a_day_of_half_hours(session_factory, END - dt.timedelta(days=2))

    yesterday = DEMO_TODAY - dt.timedelta(days=1)
    monkeypatch.setattr(graphs_kept, "draw_graph", _not_drawn)
    with session_factory() as session:
        for role in (Role.ADMIN, Role.CUSTOMER):  # the broker and account manager see no site yet at 06:00
            user = session.scalar(select(User).where(User.role == role).order_by(User.id))
            assert user is not None
            viewer = viewer_for(session, user, start)
            for days in graphs_warm.WARM_WINDOWS_DAYS:
                request = GraphRequest(ALL_SITES, None, yesterday - dt.timedelta(days=days - 1), yesterday, "power")
                shown = view_graph(session, viewer, request, now=start + dt.timedelta(minutes=20), retention_days=1827)
                assert shown.note.startswith("Shown as before today's import (began 06:00)"), (role, days)
    monkeypatch.setattr(graphs_kept, "draw_graph", draw_graph)
    again = graphs_warm.keep_default_graphs(session_factory, start)  # the version moved: drawn again
    assert again.views == report.views


def _audit_entries(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _version(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return load_usage_version(session)


def _signed_in(factory: sessionmaker[Session], user_id: int, at: dt.datetime) -> None:
    with transaction(factory) as session:
        user = session.get(User, user_id)
        assert user is not None
        record_login_attempt(session, email=user.email, ip="127.0.0.1", success=True, at_ts=int(at.timestamp()))


def test_the_daily_runs_first_step_keeps_the_graphs_of_people_who_signed_in_this_week_whatever_their_size(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's portfolios are all smaller than WARM_MIN_SITES: a customer who signed in two days ago has their "All
    sites" views kept before the import and sees them while it runs; one last seen eight days ago has theirs drawn
    when asked for; a failed sign-in counts for nothing."""
    start = dt.datetime(2026, 11, 25, 6, 0, 5, tzinfo=dt.UTC)
    with session_factory() as session:
        recent, stale, failed = (
            session.scalars(select(User.id).where(User.role == role).order_by(User.id)).first()
            for role in (Role.CUSTOMER, Role.BROKER, Role.ACCOUNT_MANAGER)
        )
        later_customer = session.scalars(select(User.id).where(User.role == Role.CUSTOMER).order_by(User.id)).all()[1]
    assert recent is not None and stale is not None and failed is not None
    _signed_in(session_factory, recent, start - dt.timedelta(days=2))
    _signed_in(session_factory, later_customer, start - dt.timedelta(days=8))
    with transaction(session_factory) as session:
        user = session.get(User, failed)
        assert user is not None
        record_login_attempt(session, email=user.email, ip="127.0.0.1", success=False, at_ts=int(start.timestamp()))
    _run_begins(session_factory, start)

    with session_factory() as session:
        assert [u.id for u in graphs_warm.load_users_signed_in_since(session, int(start.timestamp()) - 7 * 86400)] == [
            recent
        ]
    report = graphs_warm.keep_default_graphs(session_factory, start)
    assert report.portfolios == 2 and report.views == 6  # the recent customer's power and gas (toggle) views
    kept = _kept_graphs(session_factory)
    with session_factory() as session:  # the run has imported nothing yet: a graph is kept as at any other time
        admin = session.scalars(select(User).where(User.role == Role.ADMIN)).first()
        assert admin is not None
        shown = view_graph(session, viewer_for(session, admin, start), WEEK, now=start, retention_days=1827)
    assert not shown.note.startswith("Shown as before") and _kept_graphs(session_factory) == kept + 1
    import_a_day_of_half_hours(session_factory, END - dt.timedelta(days=2))

    yesterday = DEMO_TODAY - dt.timedelta(days=1)
    with session_factory() as session:
        for user_id, kept in ((recent, True), (later_customer, False)):
            user = session.get(User, user_id)
            assert user is not None
            viewer = viewer_for(session, user, start)
            for days in graphs_warm.WARM_WINDOWS_DAYS:
                request = GraphRequest(ALL_SITES, None, yesterday - dt.timedelta(days=days - 1), yesterday, "power")
                shown = view_graph(session, viewer, request, now=start + dt.timedelta(minutes=20), retention_days=1827)
                assert shown.note.startswith("Shown as before today's import") is kept, (user.email, days)

    monkeypatch.setattr(graphs_warm, "KEEP_BUDGET_S", -1.0)  # spent: only the big portfolios are kept
    assert graphs_warm.keep_default_graphs(session_factory, start).views == 0


def _profile_and_panel(
    factory: sessionmaker[Session], viewer: Viewer, request: GraphRequest, now: dt.datetime
) -> tuple[object, list[FuelSummary], int | None]:
    """The Graphs page's load profile (as sent) and expected-consumption panel figures, as its callbacks get them."""
    with factory() as session:
        profile = json.loads(pio.to_json(make_profile(session, viewer, request, now), validate=False))
        scope = load_expected_scope(session, viewer, request, now)

        def with_intervals(sites: pd.DataFrame) -> pd.DataFrame:
            return sites.assign(interval_seconds=meter_interval_seconds(sites))[["site_id", "fuel", "interval_seconds"]]

        as_before = None if scope.before is None else scope.before.version
        panel = compute_portfolio_summary(
            session,
            with_intervals(scope.sites),
            scope.start_ts,
            scope.end_ts,
            scope.today_start_ts,
            scope.time_zone,
            as_before=as_before,
            sites_before=None if scope.sites_before is None else with_intervals(scope.sites_before),
        )
        return profile, panel, as_before


def _kept_of(factory: sessionmaker[Session], kind: str) -> int:
    with factory() as session:
        return int(
            session.scalar(select(func.count()).select_from(ComputedResult).where(ComputedResult.kind == kind)) or 0
        )


def test_while_the_daily_run_imports_the_load_profile_and_panel_of_the_data_before_it_are_read(
    session_factory: sessionmaker[Session], riverside: Viewer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside the graph shown as before the import, its load profile and expected-consumption panel are read as kept
    from the data the run began with, not computed on the cores the import is using; one not kept then is computed
    from the data as it is, and not kept (the next file moves the data on). When the run ends, the new data."""
    version = _run_begins(session_factory, NOW)
    before = _profile_and_panel(session_factory, riverside, WEEK, NOW)  # nothing written yet: kept as usual
    assert before[2] is None
    import_a_day_of_half_hours(session_factory, END - dt.timedelta(days=2))  # the run's import moves the data on

    def not_computed(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("computed again instead of read as kept before the run")

    later = NOW + dt.timedelta(minutes=5)
    with monkeypatch.context() as patch:
        patch.setattr(graphs_profile, "compute_load_profile", not_computed)
        patch.setattr(expected_summary, "_compute_summaries", not_computed)
        during = _profile_and_panel(session_factory, riverside, WEEK, later)
    assert during == (before[0], before[1], version)

    fortnight = GraphRequest(ALL_SITES, None, START - dt.timedelta(days=7), END, "power")  # never kept before
    kept_profiles, kept_panels = _kept_of(session_factory, "load_profile"), _kept_of(session_factory, SUMMARY_RESULT)
    _profile_and_panel(session_factory, riverside, fortnight, later)
    assert (_kept_of(session_factory, "load_profile"), _kept_of(session_factory, SUMMARY_RESULT)) == (
        kept_profiles,
        kept_panels,
    )

    with transaction(session_factory) as session:
        session.execute(update(PipelineRun).values(status=RunStatus.OK))
    after = _profile_and_panel(session_factory, riverside, WEEK, later)
    assert after[2] is None and after[0] != before[0]  # the imported day is in the week's profile now


def test_a_portfolio_the_runs_new_meters_join_is_shown_as_before_the_run_without_them(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run imports a meter nobody had: a new site, in the admin's whole estate. The graph, load profile and panel
    kept before the run are still read, not drawn (the estate as it was, without the new site); the new site by
    itself is drawn; when the run ends, the estate has it."""
    with session_factory() as session:
        admin = session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
        assert admin is not None
        viewer = viewer_for(session, admin, NOW)
    kept = _view(session_factory, viewer)
    kept_sites = _site_ids(session_factory, viewer)
    before = _profile_and_panel(session_factory, viewer, WEEK, NOW)
    version = _run_begins(session_factory, NOW + dt.timedelta(minutes=1))
    import_a_day_of_half_hours(session_factory, END - dt.timedelta(days=2), new_meter_identifier())
    grown = _site_ids(session_factory, viewer)
    (new_site,) = set(grown) - set(kept_sites)
    assert new_site > max(kept_sites)

    later = NOW + dt.timedelta(minutes=5)

    def not_computed(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("computed again instead of read as kept before the run")

    with monkeypatch.context() as patch:
        patch.setattr(graphs_kept, "draw_graph", _not_drawn)
        patch.setattr(graphs_profile, "compute_load_profile", not_computed)
        patch.setattr(expected_summary, "_compute_summaries", not_computed)
        during = _view(session_factory, viewer, now=later, retention_days=1827)
        assert _profile_and_panel(session_factory, viewer, WEEK, later) == (before[0], before[1], version)
    assert during.note.startswith("Shown as before today's import") and _sent(during) == _sent(kept)

    alone = _view(session_factory, viewer, GraphRequest(ALL_SITES, new_site, START, END, "power"), later, 1827)
    assert "today's import" not in alone.note and alone.totals is not None  # nothing was kept for it: drawn
    assert alone.totals["metered_kwh"] == pytest.approx(24.0)

    with transaction(session_factory) as session:
        session.execute(update(PipelineRun).values(status=RunStatus.OK))
    after = _view(session_factory, viewer, now=later, retention_days=1827)
    assert "today's import" not in after.note and after.totals is not None and kept.totals is not None
    assert after.totals["metered_kwh"] == pytest.approx(kept.totals["metered_kwh"] + 24)


def _site_ids(factory: sessionmaker[Session], viewer: Viewer) -> list[int]:
    with factory() as session:
        return graphs_kept.graph_sites(session, viewer, WEEK).site_ids


def test_the_runs_own_pruning_spares_what_is_shown_until_it_ends(
    session_factory: sessionmaker[Session], riverside: Viewer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's graphs step prunes results of older data, but not those of the data the run began with: requests
    read them until the run ends. Once no run writes, they go."""
    _view(session_factory, riverside)
    _run_begins(session_factory, NOW + dt.timedelta(minutes=1))
    import_a_day_of_half_hours(session_factory, END - dt.timedelta(days=2))
    later = NOW + dt.timedelta(minutes=5)
    with transaction(session_factory) as session:
        assert prune_results(session, later) == 0
    monkeypatch.setattr(graphs_kept, "draw_graph", _not_drawn)
    assert "today's import" in _view(session_factory, riverside, now=later, retention_days=1827).note
    with transaction(session_factory) as session:
        session.execute(update(PipelineRun).values(status=RunStatus.OK))
        assert prune_results(session, later) >= 1
    assert _kept_graphs(session_factory) == 0


def test_the_next_half_hours_default_graphs_are_kept_a_minute_before_it(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept graph is drawn for its half hour: at 06:30 every one is stale. Kept at 06:29 for 06:30, the first looks
    after 06:30 read them; nothing is kept while a daily run writes (it keeps its own)."""
    monkeypatch.setattr(graphs_warm, "WARM_MIN_SITES", 1)  # the demo's portfolios are small
    before = dt.datetime(2026, 11, 25, 6, 29, tzinfo=dt.UTC)
    assert graphs_warm.seconds_until_next_keep(before - dt.timedelta(minutes=19)) == 19 * 60
    assert graphs_warm.seconds_until_next_keep(before) == 30 * 60  # this one is now: the next, at 06:59
    report = graphs_warm.keep_next_half_hour_graphs(session_factory, before)
    assert report is not None and report.views > 0

    yesterday = DEMO_TODAY - dt.timedelta(days=1)
    monkeypatch.setattr(graphs_kept, "draw_graph", _not_drawn)
    with session_factory() as session:
        admin = session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
        assert admin is not None
        viewer = viewer_for(session, admin, before)
        request = GraphRequest(ALL_SITES, None, yesterday - dt.timedelta(days=29), yesterday, "power")
        shown = view_graph(session, viewer, request, now=before + dt.timedelta(minutes=2), retention_days=1827)
    assert shown.totals is not None and "today's import" not in shown.note

    _run_begins(session_factory, before + dt.timedelta(minutes=20))
    assert graphs_warm.keep_next_half_hour_graphs(session_factory, before + dt.timedelta(minutes=30)) is None
