"""Tracker service on the demo: who may create what, access re-checked at evaluation, channels respected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, viewer_for
from portfolio.config import Settings, load_settings
from portfolio.models import Meter, Notification, OutboxEmail, Tracker, User
from portfolio.services import notifications
from portfolio.services.demo import load_demo
from portfolio.services.groups import create_group, delete_group
from portfolio.services.trackers import READ_ONLY_MESSAGE, TrackerError, compute_status, create_tracker, evaluate_all

TODAY = dt.date(2026, 11, 25)
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
def demo(session_factory: sessionmaker[Session], settings: Settings) -> sessionmaker[Session]:
    load_demo(session_factory, settings, today=TODAY)
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
