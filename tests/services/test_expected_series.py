"""The precomputed expected series on the fitted demo: which scopes, the same values as a request, atomic replace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from numpy.testing import assert_allclose
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.analytics.expected import compute_expected_bounds, compute_expected_series
from portfolio.db import make_engine, make_session_factory, transaction
from portfolio.models import ExpectedSeries, ExpectedSeriesRefresh, Organisation, Site, SiteModel
from portfolio.queries import expected as queries
from portfolio.queries import expected_series as series_queries
from portfolio.queries.graphs import Scope
from portfolio.services.expected import predict_expected
from portfolio.services.expected_series import refresh_expected_series, refresh_window
from tests.conftest import DEMO_TODAY

NOW = dt.datetime.combine(DEMO_TODAY, dt.time(6), dt.UTC)
GRANTA, KETTLE, FEN_EDGE, NORTHCOTE, RIVERSIDE = "4100238815", "4100774431", "4100512207", "4100830962", "4100917350"
# Demo power sites: Granta 8, Kettle 8, Fen Edge 6, Northcote 7, Riverside 6 (35); gas: Granta 8, Fen Edge 6 (14).
# The broker sees Fen Edge + Northcote + Riverside (19 power), the account manager Granta + Kettle (16 power).


@pytest.fixture
def factory(demo_world: tuple[str, Path]) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(demo_world[0])
    yield make_session_factory(engine)
    engine.dispose()


def _orgs(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return {account: int(i) for account, i in session.execute(select(Organisation.account_number, Organisation.id))}


def _maintained(factory: sessionmaker[Session]) -> set[tuple[str, int, str]]:
    with factory() as session:
        keys = {(s.kind, s.id, fuel) for s, fuel in series_queries.load_refreshed_scopes(session)}
        stored = {
            tuple(r)
            for r in session.execute(
                select(ExpectedSeries.scope_kind, ExpectedSeries.scope_id, ExpectedSeries.fuel).distinct()
            )
        }
    assert stored <= keys  # rows never outlive their refresh record
    return keys


def _site_ids(factory: sessionmaker[Session], fuel: str, organisation_id: int | None = None) -> list[int]:
    statement = select(Site.id).where(Site.fuel == fuel)
    if organisation_id is not None:
        statement = statement.where(Site.organisation_id == organisation_id)
    with factory() as session:
        return sorted(session.scalars(statement))


def test_views_over_the_limit_are_maintained_and_the_rest_are_not(factory: sessionmaker[Session]) -> None:
    orgs = _orgs(factory)
    report = refresh_expected_series(factory, NOW, limit=10)
    power_orgs = {("org", orgs[a], "power") for a in (GRANTA, KETTLE, FEN_EDGE, NORTHCOTE, RIVERSIDE)}
    # "all" has 35 power and 14 gas sites; the broker's 19 and the account manager's 16 power sites bring in
    # every organisation's power series, even Riverside's 6; no union has more than 10 gas sites but "all".
    assert _maintained(factory) == {("all", 0, "power"), ("all", 0, "gas")} | power_orgs
    assert report.scopes == 7 and report.sites == 47 and report.removed == 0 and report.errors == []  # 47 models
    with factory() as session:
        assert report.rows == session.scalar(select(func.count()).select_from(ExpectedSeries))
        ok = session.scalar(select(func.count()).select_from(SiteModel).where(SiteModel.status == "ok"))
        refresh = session.get(ExpectedSeriesRefresh, ("org", orgs[GRANTA], "power"))
    assert 0 < report.sites_modelled <= ok
    assert refresh.sites == 8 and 0 < refresh.sites_modelled <= 8
    assert (refresh.lo_ts, refresh.hi_ts) == refresh_window(NOW)

    later = refresh_expected_series(factory, NOW, limit=20)  # now only "all" power (35) is over the limit
    assert _maintained(factory) == {("all", 0, "power")}
    assert later.scopes == 1 and later.removed == 6 and later.sites == 47  # every site with a model is kept current
    assert refresh_expected_series(factory, NOW, limit=49).removed == 1
    assert _maintained(factory) == set()


@pytest.mark.parametrize("scope_name, fuel", [("granta", "power"), ("all", "gas")])
def test_stored_sums_equal_the_request_time_series(factory: sessionmaker[Session], scope_name: str, fuel: str) -> None:
    orgs = _orgs(factory)
    scope = Scope("org", orgs[GRANTA]) if scope_name == "granta" else Scope("all", 0)
    site_ids = _site_ids(factory, fuel, scope.id if scope.kind == "org" else None)
    refresh_expected_series(factory, NOW, limit=5)
    lo, hi = refresh_window(NOW)
    day = 86_400
    windows = {"day": (lo, hi), "hour": (hi - 20 * day, hi), "hh": (hi - 5 * day, hi - 2 * day)}
    with factory() as session:
        for resolution, (start, end) in windows.items():
            live = compute_expected_series(
                predict_expected(session, site_ids, start, end, per_local_day=resolution == "day"), resolution
            )
            stored = compute_expected_bounds(
                series_queries.load_expected_sums(session, [scope], fuel, resolution, start, end)
            )
            assert len(live) > (100 if resolution == "day" else 50), resolution
            assert stored["start_ts"].tolist() == live["start_ts"].tolist(), resolution
            assert stored["sites"].tolist() == live["sites"].tolist(), resolution
            for column in ("expected_kwh", "lower_kwh", "upper_kwh"):
                assert_allclose(stored[column], live[column].astype(float), rtol=1e-9, atol=1e-9, err_msg=resolution)
    assert stored["sites"].max() == len(site_ids) or fuel == "gas"


def _rows(factory: sessionmaker[Session], scope: Scope, fuel: str) -> list[tuple[object, ...]]:
    with factory() as session:
        return [
            tuple(r)
            for r in session.execute(
                select(
                    ExpectedSeries.resolution,
                    ExpectedSeries.start_ts,
                    ExpectedSeries.expected_kwh,
                    ExpectedSeries.variance_kwh2,
                    ExpectedSeries.sites,
                )
                .where(
                    ExpectedSeries.scope_kind == scope.kind,
                    ExpectedSeries.scope_id == scope.id,
                    ExpectedSeries.fuel == fuel,
                )
                .order_by(ExpectedSeries.resolution, ExpectedSeries.start_ts)
            )
        ]


def _refreshed_at(factory: sessionmaker[Session], scope: Scope, fuel: str) -> dt.datetime:
    with factory() as session:
        moment = session.get(ExpectedSeriesRefresh, (scope.kind, scope.id, fuel)).refreshed_at
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _summed_afresh(factory: sessionmaker[Session], scope: Scope, fuel: str) -> list[tuple[object, ...]]:
    """What a rebuild would store for the scope now: its members' stored rows added per bucket in its window."""
    with factory() as session:
        refresh = session.get(ExpectedSeriesRefresh, (scope.kind, scope.id, fuel))
        members = series_queries.load_scope_members(session, [scope])
        ids = sorted(int(s) for s in members.loc[members["fuel"] == fuel, "site_id"])
        rows: list[tuple[object, ...]] = []
        for resolution in ("day", "hh", "hour"):
            sums = queries.load_site_expected_sums(session, ids, resolution, refresh.lo_ts, refresh.hi_ts)
            rows += [(resolution, *r) for r in sums.itertuples(index=False)]
    return rows


def _assert_current(factory: sessionmaker[Session], scope: Scope, fuel: str) -> None:
    stored, afresh = _rows(factory, scope, fuel), _summed_afresh(factory, scope, fuel)
    assert len(afresh) > 400
    assert [(r[0], r[1], r[4]) for r in stored] == [(r[0], r[1], r[4]) for r in afresh], (scope, fuel)
    for column in (2, 3):
        assert_allclose([float(r[column]) for r in stored], [float(r[column]) for r in afresh], rtol=1e-9, atol=1e-9)


def test_a_daily_run_keeps_scope_sums_current_by_difference_and_rebuilds_what_no_longer_adds_up(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from portfolio.models import SiteExpected

    everything, granta = Scope("all", 0), Scope("org", _orgs(factory)[GRANTA])
    first = refresh_expected_series(factory, NOW, limit=10)
    assert first.scopes == first.scopes_rebuilt == 7
    before = _rows(factory, everything, "power")

    tomorrow = NOW + dt.timedelta(days=1)
    refitted = _site_ids(factory, "power", granta.id)[0]
    with transaction(factory) as session:  # a weekly refit: that site's whole window changes
        session.get(SiteModel, refitted).fitted_at = tomorrow
    second = refresh_expected_series(factory, tomorrow, limit=10)
    assert (second.scopes, second.scopes_rebuilt, second.sites_whole, second.errors) == (7, 0, 1, [])
    after = _rows(factory, everything, "power")
    lo, hi = refresh_window(tomorrow)
    assert min(r[1] for r in after) >= lo and max(r[1] for r in after) < hi  # yesterday's first day is gone
    assert min(r[1] for r in before) < lo
    assert _refreshed_at(factory, everything, "power") == tomorrow
    for scope, fuel in series_queries_keys(factory):
        _assert_current(factory, scope, fuel)  # equal to a rebuild, though nothing was rebuilt
    with factory() as session:
        assert second.rows == session.scalar(select(func.count()).select_from(ExpectedSeries))

    lost = _site_ids(factory, "power", granta.id)[1]
    with transaction(factory) as session:  # rows gone behind the sums' back (no service does this)
        session.execute(delete(SiteExpected).where(SiteExpected.site_id == lost, SiteExpected.resolution == "day"))
    real_replace = series_queries.replace_expected_series_from_sites

    def failing_replace(session: Session, refresh: ExpectedSeriesRefresh, site_ids: list[int]) -> int:
        written = real_replace(session, refresh, site_ids)  # deleted and rewritten: then it breaks
        if (refresh.scope_kind, refresh.scope_id, refresh.fuel) == ("all", 0, "power"):
            raise RuntimeError("disk full")
        return written

    monkeypatch.setattr(series_queries, "replace_expected_series_from_sites", failing_replace)
    day_after = NOW + dt.timedelta(days=2)
    third = refresh_expected_series(factory, day_after, limit=10)
    assert third.errors == [{"scope": "all 0", "fuel": "power", "error": "RuntimeError: disk full"}]
    assert (third.scopes, third.scopes_rebuilt) == (6, 1)  # Granta's power rebuilt; "all" failed, the rest held
    assert _refreshed_at(factory, everything, "power") == tomorrow  # its last good refresh
    assert _refreshed_at(factory, granta, "power") == day_after
    _assert_current(factory, granta, "power")

    monkeypatch.setattr(series_queries, "replace_expected_series_from_sites", real_replace)
    fourth = refresh_expected_series(factory, day_after, limit=10)
    assert (fourth.scopes, fourth.scopes_rebuilt, fourth.errors) == (7, 1, [])  # "all" rebuilt now
    _assert_current(factory, everything, "power")


def series_queries_keys(factory: sessionmaker[Session]) -> list[tuple[Scope, str]]:
    with factory() as session:
        return sorted(series_queries.load_refreshed_scopes(session), key=lambda k: (k[0].kind, k[0].id, k[1]))


def test_group_edits_and_an_opt_out_adjust_the_maintained_sums_without_a_rebuild(
    factory: sessionmaker[Session],
) -> None:
    from portfolio.access import viewer_for
    from portfolio.models import User
    from portfolio.services.groups import add_sites, create_group, delete_group, remove_sites
    from portfolio.services.opt_out import remove_interval_data

    orgs = _orgs(factory)
    kettle = _site_ids(factory, "power", orgs[KETTLE])
    granta = _site_ids(factory, "power", orgs[GRANTA])
    with transaction(factory) as session:
        admin = session.scalars(select(User).where(User.email == "admin@demo.portfolio.example")).one()
        group = create_group(session, viewer_for(session, admin), "Big", kettle + granta[:4])
        group_scope = Scope("group", group.id)
    refresh_expected_series(factory, NOW, limit=10)  # the group's 12 power sites are over the limit
    assert (group_scope, "power") in series_queries_keys(factory)
    with transaction(factory) as session:
        viewer = viewer_for(
            session, session.scalars(select(User).where(User.email == "admin@demo.portfolio.example")).one()
        )
        add_sites(session, viewer, group.id, granta[4:])
        remove_sites(session, viewer, group.id, kettle[:3])
    _assert_current(factory, group_scope, "power")
    with factory() as session:
        refresh = session.get(ExpectedSeriesRefresh, ("group", group.id, "power"))
        assert refresh.sites == len(kettle) - 3 + len(granta)

    with transaction(factory) as session:  # Kettle opts out of half-hourly data: its hh and hour rows leave
        remove_interval_data(session, orgs[KETTLE])
    for scope in (group_scope, Scope("all", 0), Scope("org", orgs[KETTLE])):
        _assert_current(factory, scope, "power")
    report = refresh_expected_series(factory, NOW, limit=10)
    assert report.scopes_rebuilt == 0 and report.errors == []

    with transaction(factory) as session:
        delete_group(
            session,
            viewer_for(
                session, session.scalars(select(User).where(User.email == "admin@demo.portfolio.example")).one()
            ),
            group.id,
        )
    assert (group_scope, "power") not in series_queries_keys(factory)
    with factory() as session:
        assert not session.scalar(
            select(func.count()).select_from(ExpectedSeries).where(ExpectedSeries.scope_kind == "group")
        )


def test_a_site_whose_model_cannot_be_used_is_reported_and_the_rest_are_summed(factory: sessionmaker[Session]) -> None:
    granta = Scope("org", _orgs(factory)[GRANTA])
    refresh_expected_series(factory, NOW, limit=5)
    broken = _site_ids(factory, "power", granta.id)[0]
    with transaction(factory) as session:
        before = session.get(ExpectedSeriesRefresh, (granta.kind, granta.id, "power")).sites_modelled
        model = session.get(SiteModel, broken)
        assert model.status == "ok"
        model.model = {**model.model, "schema": "not-a-model"}  # e.g. written by a release that is gone

    report = refresh_expected_series(factory, NOW, limit=5)
    assert [e["site_id"] for e in report.errors] == [broken]
    assert report.errors[0]["error"].startswith("ValueError: ") and "not-a-model" in report.errors[0]["error"]
    # "all" and every organisation's power; gas: "all", Granta (8) and Fen Edge (6, the broker's only gas)
    assert report.scopes == 9 and report.sites == 47 and report.sites_modelled == 46
    with factory() as session:
        assert session.get(ExpectedSeriesRefresh, (granta.kind, granta.id, "power")).sites_modelled == before - 1
        with pytest.raises(ValueError, match="not-a-model"):  # a request still says so loudly
            predict_expected(session, [broken], *refresh_window(NOW))


# Stored per-site predictions --------------------------------------------------------------------


def test_stored_site_predictions_equal_what_the_model_predicts(factory: sessionmaker[Session]) -> None:
    from portfolio.analytics.expected import compute_site_buckets
    from portfolio.services.expected_series import refresh_site_expected

    site_ids = _site_ids(factory, "power", _orgs(factory)[GRANTA])[:2] + _site_ids(factory, "gas")[:1]
    report = refresh_site_expected(factory, NOW, site_ids=site_ids, full=True)  # fitting stored them: again, whole
    assert report.sites_whole == 3 and report.errors == []
    lo, hi = refresh_window(NOW)
    day = 86_400
    with factory() as session:
        for resolution, (start, end) in {
            "hh": (hi - 9 * day, hi),
            "hour": (hi - 40 * day, hi - 9 * day),  # the world's weather starts well after the window's start
            "day": (lo, hi),
        }.items():
            stored = queries.load_site_expected(session, site_ids, start, end, resolution)
            assert list(stored.columns) == ["site_id", "start", "expected_kwh", "variance_kwh2"]
            assert str(stored["start"].dt.tz) == "UTC"
            predicted = predict_expected(session, site_ids, start, end, per_local_day=resolution == "day")
            assert set(stored["site_id"]) == set(predicted) == set(site_ids)
            for site_id, forecast in predicted.items():
                want = compute_site_buckets(forecast, resolution)
                want = want[(want["start_ts"] >= start) & (want["start_ts"] < end)]
                got = stored[stored["site_id"] == site_id]
                assert got["start"].dt.as_unit("s").astype("int64").tolist() == want["start_ts"].tolist(), resolution
                assert_allclose(got["expected_kwh"], want["expected_kwh"], rtol=1e-9, err_msg=resolution)
                assert_allclose(got["variance_kwh2"], want["variance_kwh2"], rtol=1e-9, err_msg=resolution)


def test_a_daily_refresh_recomputes_recent_days_and_matches_a_full_one(factory: sessionmaker[Session]) -> None:
    from portfolio.models import SiteExpected
    from portfolio.services.expected_series import refresh_site_expected

    site_ids = _site_ids(factory, "power", _orgs(factory)[KETTLE])[:3]
    refresh_site_expected(factory, NOW, site_ids=site_ids)
    tomorrow = NOW + dt.timedelta(days=1)
    report = refresh_site_expected(factory, tomorrow, site_ids=site_ids)
    assert report.sites == 3 and report.sites_whole == 0  # same fits: only the recent days and the forecast

    def rows() -> list[tuple[object, ...]]:
        with factory() as session:
            return [
                tuple(r)
                for r in session.execute(
                    select(
                        SiteExpected.site_id,
                        SiteExpected.resolution,
                        SiteExpected.start_ts,
                        SiteExpected.expected_kwh,
                        SiteExpected.variance_kwh2,
                    ).order_by(SiteExpected.site_id, SiteExpected.resolution, SiteExpected.start_ts)
                )
            ]

    daily = rows()
    assert min(r[2] for r in daily) >= refresh_window(tomorrow)[0]
    assert refresh_site_expected(factory, tomorrow, site_ids=site_ids, full=True).sites_whole == 3
    full = rows()
    assert [r[:3] for r in daily] == [r[:3] for r in full]
    assert_allclose([r[3] for r in daily], [r[3] for r in full], rtol=1e-9)


def test_a_site_without_a_model_has_no_stored_predictions_and_shows_none(factory: sessionmaker[Session]) -> None:
    from portfolio.services.expected_series import NO_MODEL, make_expected_series, refresh_site_expected

    site_id = _site_ids(factory, "power", _orgs(factory)[RIVERSIDE])[0]
    refresh_site_expected(factory, NOW, site_ids=[site_id])
    lo, hi = refresh_window(NOW)
    with factory() as session:
        assert len(queries.load_site_expected(session, [site_id], lo, hi, "day")) > 300
    with transaction(factory) as session:
        model = session.get(SiteModel, site_id)
        model.status, model.model = "insufficient", None
    refresh_site_expected(factory, NOW, site_ids=[site_id])
    with factory() as session:
        assert queries.load_site_expected(session, [site_id], lo, hi, "day").empty
        assert make_expected_series(session, [site_id], "day", lo, hi, "Europe/London") == (None, NO_MODEL)
