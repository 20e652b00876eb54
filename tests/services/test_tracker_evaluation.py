"""The daily run's shared work: trackers of the same sites, fuel and period share their figures, are written in
batches, and still come out as each would alone (fitted demo, a tracked group of three Granta meters)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.access import viewer_for
from portfolio.models import Notification, OutboxEmail, Tracker, TrackerAlert, TrackerEvaluation, User
from portfolio.services import tracker_evaluation
from portfolio.services.tracker_evaluation import evaluate_all
from portfolio.services.tracker_status import EvaluationCache, TrackerStatus, compute_status
from portfolio.services.trackers import create_tracker
from tests.services import test_pipeline as pipeline_world
from tests.services.test_pipeline import CUSTOMER, Pipeline

smtp = pipeline_world.smtp
pipeline = pipeline_world.pipeline

DATA_DAY = dt.date(2026, 11, 24)  # a Tuesday: the week and the month are under way, the day is complete
NOW = dt.datetime(2026, 11, 25, 6, tzinfo=dt.UTC)


def _add_trackers(pipeline: Pipeline) -> list[int]:
    """Trackers sharing scopes, fuel and periods with the fixture's weekly group tracker, with other amounts."""
    with pipeline.factory.begin() as session:
        customer = viewer_for(session, session.scalar(select(User).where(User.email == CUSTOMER)))
        group_id = session.get(Tracker, pipeline.tracker_id).scope_id
        shapes = [
            ("group", group_id, "week", "kwh", 1e9),
            ("group", group_id, "week", "kwh", 2_500),
            ("group", group_id, "week", "percent", 10),
            ("group", group_id, "week", "percent", -5),
            ("group", group_id, "month", "kwh", 5_000),
            ("group", group_id, "month", "percent", 0),
            ("all", None, "week", "kwh", 50),
            ("all", None, "week", "kwh", 1e7),
            ("all", None, "day", "percent", 25),
            ("site", pipeline.site_ids["b2"], "week", "kwh", 300),
            ("site", pipeline.site_ids["b2"], "week", "kwh", 3e4),
        ]
        for n, (scope_kind, scope_id, period, target_kind, amount) in enumerate(shapes):
            create_tracker(
                session,
                customer,
                name=f"shared {n}",
                scope_kind=scope_kind,
                scope_id=scope_id,
                fuel="power",
                period=period,
                target_kind=target_kind,
                target_value=amount,
            )
    with pipeline.factory() as session:
        return list(session.scalars(select(Tracker.id).order_by(Tracker.id)))


def _alone(pipeline: Pipeline, tracker_ids: list[int], *, cache: bool) -> dict[int, TrackerStatus]:
    """Each tracker's status computed by itself: nothing shared with any other tracker."""
    statuses = {}
    with pipeline.factory() as session:
        for tracker_id in tracker_ids:
            tracker = session.get(Tracker, tracker_id)
            viewer = viewer_for(session, session.get(User, tracker.owner_id))
            statuses[tracker_id] = compute_status(
                session, tracker, viewer, DATA_DAY, EvaluationCache() if cache else None
            )
    return statuses


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_trackers_sharing_sites_get_what_each_gets_alone(pipeline: Pipeline) -> None:
    tracker_ids = _add_trackers(pipeline)
    shared = EvaluationCache()
    with pipeline.factory() as session:
        together = {}
        for tracker_id in tracker_ids:
            tracker = session.get(Tracker, tracker_id)
            viewer = viewer_for(session, session.get(User, tracker.owner_id))
            together[tracker_id] = compute_status(session, tracker, viewer, DATA_DAY, shared)
    # trackers of the same group, fuel and period: one set of figures per (sites, period, mode)
    assert len(shared.figures) < len(tracker_ids)
    states = {s.state for s in together.values()}
    assert {"under", "exceeded"} <= states and all(s.error is None for s in together.values())
    assert any(s.crossing_day is not None for s in together.values())
    alone = _alone(pipeline, tracker_ids, cache=True)
    assert {t: s.as_json() for t, s in together.items()} == {t: s.as_json() for t, s in alone.items()}
    uncached = _alone(pipeline, tracker_ids, cache=False)  # the request path: sites in the database's order
    for tracker_id, status in together.items():
        mine, theirs = status.as_json(), uncached[tracker_id].as_json()
        assert mine.keys() == theirs.keys()
        assert all(_close(mine[k], theirs[k]) for k in mine), tracker_id


def test_the_daily_run_in_batches_keeps_what_each_tracker_alone_would(pipeline: Pipeline) -> None:
    tracker_ids = _add_trackers(pipeline)
    alone = _alone(pipeline, tracker_ids, cache=True)
    report = evaluate_all(pipeline.factory, pipeline.settings, DATA_DAY, NOW, batch_size=5)
    assert report.errors == [] and report.evaluated == len(tracker_ids) and report.skipped == 0
    assert report.exceeded == sum(s.state == "exceeded" for s in alone.values()) > 0
    with pipeline.factory() as session:
        ledger = {e.tracker_id: e for e in session.scalars(select(TrackerEvaluation))}
        alerts = {(a.tracker_id, a.kind) for a in session.scalars(select(TrackerAlert))}
        trackers = {t.id: t for t in session.scalars(select(Tracker))}
        assert sorted(ledger) == tracker_ids
        for tracker_id, status in alone.items():
            entry = ledger[tracker_id]
            assert (entry.period_start, entry.state, entry.sites_reporting) == (
                status.period_start,
                status.state,
                status.sites_reporting_period,
            )
            assert entry.consumption_kwh == pytest.approx(status.consumption_kwh)
            assert entry.target_kwh == pytest.approx(status.target_kwh)
            assert entry.projection_lower_kwh == pytest.approx(status.projection_lower_kwh)
            assert ((tracker_id, "exceeded") in alerts) == (status.state == "exceeded")
            assert trackers[tracker_id].last_result == status.as_json()
        sent = session.scalar(select(func.count()).select_from(OutboxEmail))
        bell = session.scalar(select(func.count()).select_from(Notification))
    assert sent == bell == report.notified > 0
    rerun = evaluate_all(pipeline.factory, pipeline.settings, DATA_DAY, NOW + dt.timedelta(hours=1), batch_size=5)
    assert (rerun.errors, rerun.notified, rerun.evaluated) == ([], 0, len(tracker_ids))
    with pipeline.factory() as session:
        assert session.scalar(select(func.count()).select_from(TrackerEvaluation)) == len(tracker_ids)
        assert session.scalar(select(func.count()).select_from(OutboxEmail)) == sent


def test_a_failing_tracker_fails_alone_and_its_batch_is_written(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker_ids = _add_trackers(pipeline)
    broken = tracker_ids[3]
    real = tracker_evaluation.compute_status

    def failing(session: Session, tracker: Tracker, *args: object, **kwargs: object) -> TrackerStatus:
        if tracker.id == broken:
            raise RuntimeError("boom")
        return real(session, tracker, *args, **kwargs)

    monkeypatch.setattr(tracker_evaluation, "compute_status", failing)
    report = evaluate_all(pipeline.factory, pipeline.settings, DATA_DAY, NOW, batch_size=500)
    assert report.errors == [{"tracker_id": broken, "error": "RuntimeError: boom"}]
    assert report.evaluated == len(tracker_ids) - 1
    with pipeline.factory() as session:
        evaluated = set(session.scalars(select(TrackerEvaluation.tracker_id)))
        assert evaluated == set(tracker_ids) - {broken}
        sent = session.scalar(select(func.count()).select_from(OutboxEmail))
    assert sent == report.notified > 0
    monkeypatch.setattr(tracker_evaluation, "compute_status", real)
    again = evaluate_all(pipeline.factory, pipeline.settings, DATA_DAY, NOW + dt.timedelta(hours=1))
    assert again.errors == [] and again.evaluated == len(tracker_ids)
    with pipeline.factory() as session:
        assert set(session.scalars(select(TrackerEvaluation.tracker_id))) == set(tracker_ids)
        # only the tracker that failed can have anything new to say
        new = session.scalars(select(OutboxEmail.id)).all()
    assert len(new) - sent == again.notified
    assert again.notified <= 1
