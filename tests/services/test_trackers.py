"""Tracker service on the demo: who may create what, access re-checked at evaluation, channels respected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, viewer_for
from portfolio.config import Settings, load_settings
from portfolio.db import make_engine, make_session_factory
from portfolio.models import Meter, Notification, OutboxEmail, Tracker, TrackerAlert, TrackerEvaluation, User
from portfolio.services import notifications
from portfolio.services.groups import create_group, delete_group
from portfolio.services.imports import import_file
from portfolio.services.tracker_evaluation import evaluate_all
from portfolio.services.tracker_messages import amount_text, to_date_text
from portfolio.services.trackers import (
    READ_ONLY_MESSAGE,
    TrackerError,
    TrackerStatus,
    compute_status,
    create_tracker,
    list_tracker_cards,
)
from tests.conftest import DEMO_TODAY, LoadedDemo
from tests.services import test_pipeline as pipeline_world
from tests.services.test_pipeline import MailSink, Pipeline, _set_amount, write_meter_file

# The daily pipeline's world (fitted demo, a tracked group of three Granta meters, aiosmtpd on loopback).
smtp = pipeline_world.smtp
pipeline = pipeline_world.pipeline

TODAY = DEMO_TODAY
DATA_DAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 25, 6, tzinfo=dt.UTC)
B2_POWER, B2_GAS, CAFE = "1030001547290", "7400031337", "1230016209357"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {},
        instance_path=tmp_path / "instance",
        database_url="unused",
        secret_key="x",
        smtp_url="smtp://127.0.0.1:9",
        base_url="https://portfolio.example.test",
    )


@pytest.fixture
def database_url(loaded_demo: LoadedDemo) -> str:
    """The trackers here are made on the demo, loaded once per engine (``tests/conftest.py``)."""
    return loaded_demo.url


@pytest.fixture
def demo(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    return session_factory


def _viewer(session: Session, email: str):
    return viewer_for(session, session.scalar(select(User).where(User.email == email)))


def _site(session: Session, identifier: str) -> int:
    return int(session.scalar(select(Meter.site_id).where(Meter.identifier == identifier)))


def test_account_managers_are_read_only(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        manager = _viewer(session, "account.manager@demo.portfolio.example")
        with pytest.raises(AccessDenied, match="read-only"):
            create_tracker(
                session,
                manager,
                name="x",
                scope_kind="all",
                scope_id=None,
                fuel="power",
                period="week",
                target_kind="kwh",
                target_value=100,
            )
    assert "cannot create" in READ_ONLY_MESSAGE


def test_only_visible_sites_and_fuels_present_can_be_tracked(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        customer = _viewer(session, "customer@demo.portfolio.example")
        with pytest.raises(AccessDenied):
            create_tracker(
                session,
                customer,
                name="x",
                scope_kind="site",
                scope_id=_site(session, CAFE),
                fuel="power",
                period="day",
                target_kind="kwh",
                target_value=10,
            )
        with pytest.raises(TrackerError, match="no gas site"):
            create_tracker(
                session,
                customer,
                name="x",
                scope_kind="site",
                scope_id=_site(session, B2_POWER),
                fuel="gas",
                period="day",
                target_kind="kwh",
                target_value=10,
            )
        with pytest.raises(TrackerError, match="number"):
            create_tracker(
                session,
                customer,
                name="x",
                scope_kind="all",
                scope_id=None,
                fuel="gas",
                period="day",
                target_kind="kwh",
                target_value="lots",
            )
        with pytest.raises(TrackerError, match="period"):
            create_tracker(
                session,
                customer,
                name="x",
                scope_kind="all",
                scope_id=None,
                fuel="gas",
                period="year",
                target_kind="kwh",
                target_value=10,
            )


def test_status_counts_reporting_sites_and_says_when_no_model(demo: sessionmaker[Session]) -> None:
    with demo.begin() as session:
        customer = _viewer(session, "customer@demo.portfolio.example")
        tracker = create_tracker(
            session,
            customer,
            name="Gas",
            scope_kind="all",
            scope_id=None,
            fuel="gas",
            period="month",
            target_kind="kwh",
            target_value=1e6,
        )
        status = compute_status(session, tracker, customer, DATA_DAY)
        assert status.sites_total == 8 and status.sites_reporting_day == 8
        assert status.period_start == dt.date(2026, 11, 1) and status.period_end == dt.date(2026, 11, 30)
        assert status.projection_method == "run-rate" and status.projection_kwh > status.consumption_kwh > 0
        assert status.graph_path == "/graphs?group=all&from=2026-11-01&to=2026-11-24&fuel=gas"
        percent = create_tracker(
            session,
            customer,
            name="Gas vs expected",
            scope_kind="all",
            scope_id=None,
            fuel="gas",
            period="week",
            target_kind="percent",
            target_value=10,
        )
        assert "forecast model" in (compute_status(session, percent, customer, DATA_DAY).error or "")


def test_revoked_access_skips_the_tracker_and_tells_the_owner_once(
    demo: sessionmaker[Session], settings: Settings
) -> None:
    with demo.begin() as session:
        customer = _viewer(session, "customer@demo.portfolio.example")
        group = create_group(session, customer, "Babraham", [_site(session, B2_POWER)])
        create_tracker(
            session,
            customer,
            name="Babraham power",
            scope_kind="group",
            scope_id=group.id,
            fuel="power",
            period="week",
            target_kind="kwh",
            target_value=1e9,
        )
        group_id = group.id
    assert evaluate_all(demo, settings, DATA_DAY, NOW).as_json()["skipped"] == 0
    with demo.begin() as session:
        delete_group(session, _viewer(session, "customer@demo.portfolio.example"), group_id)
    for _ in range(2):
        report = evaluate_all(demo, settings, DATA_DAY, NOW)
        assert report.skipped == 1 and report.errors == []
    with demo() as session:
        told = session.scalars(select(Notification)).all()
        assert [n.title for n in told] == ["Tracker “Babraham power” was skipped"]
        assert "no longer have access" in session.scalar(select(Tracker)).last_result["error"]


def test_a_crossing_respects_the_chosen_channels(demo: sessionmaker[Session], settings: Settings) -> None:
    with demo.begin() as session:
        customer = _viewer(session, "customer@demo.portfolio.example")
        create_tracker(
            session,
            customer,
            name="Tiny",
            scope_kind="all",
            scope_id=None,
            fuel="power",
            period="day",
            target_kind="kwh",
            target_value=1,
        )
        notifications.save_channels(session, customer.user_id, email=False, in_app=True)
    report = evaluate_all(demo, settings, DATA_DAY, NOW)
    assert (report.exceeded, report.notified) == (1, 1)
    with demo() as session:
        assert session.scalars(select(OutboxEmail)).all() == []
        [bell] = session.scalars(select(Notification)).all()
        assert "Tiny" in bell.title and "8 of 8 sites reported" in bell.body
        assert bell.link.startswith("/graphs?group=all&from=2026-11-24&to=2026-11-24&fuel=power")


# Simulated days with fitted models and a real SMTP server (aiosmtpd on loopback) --------------------------------

WED, THU, FRI = dt.date(2026, 11, 25), dt.date(2026, 11, 26), dt.date(2026, 11, 27)


def _load_day(pipeline: Pipeline, day: dt.date, scale: float, *, hook_at: dt.datetime | None = None) -> None:
    """Load the three Granta meters' readings of ``day`` (a week earlier, scaled) as a file loaded during the day.

    With ``hook_at``, the import evaluates the trackers it touched as of that instant (data arriving during the
    day); without, the trackers wait for the next daily run.
    """
    name = f"granta_{day.isoformat()}_{scale}.csv"
    write_meter_file(pipeline, name, day, ["b2", "b5", "b58"], scale)
    path = pipeline.inbox / name
    import_file(pipeline.factory, path, settings=pipeline.settings if hook_at else None, now=hook_at)
    path.unlink()


def _status(pipeline: Pipeline, data_day: dt.date) -> TrackerStatus:
    with pipeline.factory() as session:
        tracker = session.get(Tracker, pipeline.tracker_id)
        return compute_status(session, tracker, viewer_for(session, session.get(User, tracker.owner_id)), data_day)


def _bell(pipeline: Pipeline) -> list[Notification]:
    with pipeline.factory() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def _ledger(pipeline: Pipeline) -> list[TrackerEvaluation]:
    with pipeline.factory() as session:
        return list(session.scalars(select(TrackerEvaluation).order_by(TrackerEvaluation.id)))


def _evaluate_counts(result) -> dict[str, object]:  # noqa: ANN001 - a PipelineResult
    return {s.name: s for s in result.steps}["evaluate_trackers"].counts


@pytest.mark.slow
def test_a_warning_fires_once_when_the_lower_bound_crosses_and_a_fall_back_is_told_once(
    pipeline: Pipeline, smtp: tuple[MailSink, int]
) -> None:
    sink, _ = smtp
    _load_day(pipeline, WED, 1.0)
    _load_day(pipeline, THU, 1.8)  # a heavy Thursday pushes the projection up
    wednesday, thursday = _status(pipeline, WED), _status(pipeline, THU)
    assert wednesday.projection_method in ("model", "model + run-rate")
    assert wednesday.projection_lower_kwh < wednesday.projection_kwh < wednesday.projection_upper_kwh
    assert thursday.projection_lower_kwh > wednesday.projection_lower_kwh
    amount = round((wednesday.projection_lower_kwh + thursday.projection_lower_kwh) / 2)
    assert thursday.consumption_kwh < amount  # on course to exceed, not exceeded
    _set_amount(pipeline, amount)

    assert _evaluate_counts(pipeline.run(THU))["warned"] == 0  # data up to Wednesday: lower bound under the amount
    assert sink.messages == []
    friday = pipeline.run(FRI)  # data up to Thursday: the lower bound is above the amount
    assert _evaluate_counts(friday)["warned"] == 1
    [warning] = sink.messages
    status = _status(pipeline, THU)
    assert status.state == "warning" and status.crossing_day is not None
    expected_subject = (
        f"Tracker “Weekly power, tracked buildings” is on course to exceed {amount:,.0f} kWh by about "
        f"{status.crossing_day:%A %-d %b} (projection {status.projection_kwh:,.0f} kWh, 90 % range "
        f"{status.projection_lower_kwh:,.0f}-{status.projection_upper_kwh:,.0f} kWh)"
    )
    assert warning["Subject"] == expected_subject
    assert [b.title for b in _bell(pipeline)] == ["“Weekly power, tracked buildings” is on course to exceed its amount"]

    # Not again: the same day rerun, and the next day still on course.
    assert _evaluate_counts(pipeline.run(FRI, hours_later=2))["notified"] == 0
    assert _evaluate_counts(pipeline.run(dt.date(2026, 11, 28)))["notified"] == 0
    assert len(sink.messages) == 1 and len(_bell(pipeline)) == 1

    # Thursday's heavy readings were estimates: the actual ones arrive during Saturday, and the projection
    # falls back under the amount. Said once, at the import, and not again by the next run.
    _load_day(pipeline, THU, 0.5, hook_at=dt.datetime(2026, 11, 28, 14, tzinfo=dt.UTC))
    assert _status(pipeline, FRI).projection_kwh < amount
    assert [b.title for b in _bell(pipeline)][
        -1
    ] == "“Weekly power, tracked buildings” is no longer on course to exceed its amount"
    pipeline.run(dt.date(2026, 11, 28), hours_later=12)
    pipeline.run(dt.date(2026, 11, 29))
    assert len(sink.messages) == 2 and "no longer on course" in sink.messages[1]["Subject"]
    assert len(_bell(pipeline)) == 2
    ledger = _ledger(pipeline)
    assert [e.state for e in ledger][:2] == ["under", "warning"]
    assert ledger[-1].state == "under" and {e.reason for e in ledger} == {"daily", "import"}
    assert all(e.sites_total == 3 for e in ledger)


@pytest.mark.slow
def test_a_restatement_corrects_an_exceeded_notification_by_email_and_in_the_app(
    pipeline: Pipeline, smtp: tuple[MailSink, int]
) -> None:
    sink, _ = smtp
    _load_day(pipeline, WED, 1.0)
    wednesday = _status(pipeline, WED)
    amount = round(wednesday.consumption_kwh - 50)
    _set_amount(pipeline, amount)
    assert _evaluate_counts(pipeline.run(THU))["exceeded"] == 1
    [exceeded] = sink.messages
    assert "exceeded by" in exceeded["Subject"]

    # Wednesday's readings were estimates; the actual ones (half) arrive in the afternoon.
    _load_day(pipeline, WED, 0.5, hook_at=dt.datetime(2026, 11, 26, 15, tzinfo=dt.UTC))
    restated = _status(pipeline, WED)
    assert restated.consumption_kwh < amount
    sentence = f"restated: the week of 23 Nov has used {restated.consumption_kwh:,.0f} kWh so far, under your {amount:,.0f} kWh"
    bell = _bell(pipeline)
    assert [b.title for b in bell] == [
        bell[0].title,
        "Correction: “Weekly power, tracked buildings” is under its amount",
    ]
    assert "over its amount" in bell[0].title and bell[1].body.startswith(sentence[0].upper() + sentence[1:] + ".")
    if restated.state == "warning":  # under the amount, yet the week is still on course to exceed it
        assert "It is still on course to exceed" in bell[1].body

    pipeline.run(FRI)  # delivers the correction; nothing else is due
    pipeline.run(FRI, hours_later=3)  # a rerun sends nothing twice
    assert len(sink.messages) == 2
    correction = sink.messages[1]
    assert correction["Subject"] == f"Correction: tracker “Weekly power, tracked buildings” {sentence}"
    assert sentence in correction.get_content()
    assert len(_bell(pipeline)) == 2
    with pipeline.factory() as session:
        kinds = sorted(a.kind for a in session.scalars(select(TrackerAlert)))
    assert kinds == ["exceeded", "restated"]
    states = [e.state for e in _ledger(pipeline)]
    assert states[0] == "exceeded" and len(states) == 3 and "exceeded" not in states[1:]


@pytest.mark.slow
def test_a_closed_period_restated_by_late_data_is_corrected(pipeline: Pipeline, smtp: tuple[MailSink, int]) -> None:
    sink, _ = smtp
    with pipeline.factory.begin() as session:
        session.get(Tracker, pipeline.tracker_id).period = "day"
    _load_day(pipeline, WED, 1.0)
    _set_amount(pipeline, round(_status(pipeline, WED).consumption_kwh * 0.8))
    pipeline.run(THU)
    pipeline.run(FRI)  # Thursday has no data: a new period, Wednesday is closed
    _load_day(pipeline, WED, 0.5, hook_at=dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC))
    pipeline.run(FRI, hours_later=6)
    subjects = [m["Subject"] for m in sink.messages]
    assert len(subjects) == 2 and "exceeded by" in subjects[0]
    used = _status(pipeline, WED).consumption_kwh
    assert subjects[1].endswith(
        f"restated: Wed 25 Nov used {used:,.0f} kWh, under your {round(used / 0.5 * 0.8):,.0f} kWh"
    )


def _new(session: Session, viewer, **fields: object) -> Tracker:  # noqa: ANN001 - a Viewer
    values: dict[str, object] = dict(
        name="x", scope_kind="all", scope_id=None, fuel="power", period="week", target_kind="kwh", target_value=10
    )
    values.update(fields)
    return create_tracker(session, viewer, **values)


def test_an_amount_at_or_below_zero_is_named_plainly(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        customer = _viewer(session, "customer@demo.portfolio.example")
        for amount in (-5, "-5", 0):
            with pytest.raises(TrackerError, match=r"^the amount must be more than 0$"):
                _new(session, customer, target_value=amount)
        for empty in ("", None):  # what the browser sends for a half-typed number
            with pytest.raises(TrackerError, match="the amount must be more than 0"):
                _new(session, customer, target_value=empty)
        assert _new(session, customer, target_kind="percent", target_value=-5).target_value == -5.0  # 5 % below


def test_account_managers_see_their_customers_trackers_read_only(demo: sessionmaker[Session]) -> None:
    with demo.begin() as session:
        customer = _viewer(session, "customer@demo.portfolio.example")
        _new(session, customer, name="Customer's weekly power", target_value=1e6)
    with demo() as session:
        manager = _viewer(session, "account.manager@demo.portfolio.example")
        [card] = list_tracker_cards(session, manager, TODAY)
        assert card.name == "Customer's weekly power" and card.owner_email == "customer@demo.portfolio.example"
        assert card.can_edit is False and card.status is not None and card.status.sites_total > 0
        [own] = list_tracker_cards(session, _viewer(session, "customer@demo.portfolio.example"), TODAY)
        assert own.can_edit is True and own.owner_email is None


def test_percent_mode_gives_the_whole_period_amount_and_the_part_to_date(demo_world: tuple[str, Path]) -> None:
    engine = make_engine(demo_world[0])
    factory = make_session_factory(engine)
    with factory.begin() as session:
        customer = _viewer(session, "customer@demo.portfolio.example")
        tracker = _new(session, customer, period="month", target_kind="percent", target_value=10)
        status = compute_status(session, tracker, customer, DATA_DAY)
    engine.dispose()
    assert status.error is None and status.expected_period_kwh and status.target_to_date_kwh
    assert status.target_kwh == pytest.approx(1.1 * status.expected_period_kwh)
    assert status.target_to_date_kwh < status.target_kwh  # 24 of 30 days
    words = amount_text(status)
    assert words.startswith(f"{status.target_kwh:,.0f} kWh for the whole period (the expected ")
    assert words.endswith("above by 10 %)")
    assert to_date_text(status) == (
        f"Up to Tue 24 Nov: {status.consumption_kwh:,.0f} kWh used, against "
        f"{status.target_to_date_kwh:,.0f} kWh allowed for those days"
    )
