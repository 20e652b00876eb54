"""The retention purge at its UK local-day boundary, in batches, idempotent, in the daily run: SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import load_settings
from portfolio.ingest.loader import refresh_daily_usage
from portfolio.models import (
    AuditEntry,
    DailyUsage,
    Fuel,
    IdentifierKind,
    Meter,
    MeterType,
    Organisation,
    PortfolioSeries,
    Reading,
    Site,
    SiteExpected,
    Tracker,
    TrackerAlert,
    TrackerEvaluation,
    User,
)
from portfolio.services import series
from portfolio.services.pipeline import run_daily
from portfolio.services.retention import TABLES, Cutoff, plan_retention, purge_expired

TODAY = dt.date(2026, 7, 1)
KEEP = 1827
CUTOFF_DAY = dt.date(2021, 6, 30)  # 1,827 days before 1 July 2026
CUTOFF_TS = int(dt.datetime(2021, 6, 29, 23, tzinfo=dt.UTC).timestamp())  # local midnight, BST
HH = 1800


def test_the_cutoff_is_the_uk_local_midnight_of_the_first_kept_day() -> None:
    summer = Cutoff.for_today(TODAY, KEEP)
    assert (summer.day, summer.ts) == (CUTOFF_DAY, CUTOFF_TS)
    winter = Cutoff.for_today(dt.date(2026, 1, 20), 10)
    assert winter.day == dt.date(2026, 1, 10)
    assert winter.ts == int(dt.datetime(2026, 1, 10, tzinfo=dt.UTC).timestamp())  # GMT: UTC midnight
    assert summer.tracker_period_starts() == {
        "day": CUTOFF_DAY,
        "week": dt.date(2021, 6, 28),  # the Monday of the cutoff's week: that week is kept whole
        "month": dt.date(2021, 6, 1),
    }


def _world(session: Session) -> dict[str, int]:
    """Two sites with half hours either side of the cutoff, their roll-ups, series, predictions and a tracker."""
    org = Organisation(name="Old Mills Ltd", account_number="OLD-1")
    user = User(email="old@example.com", password_hash="x", role="customer", organisation=org)
    session.add_all([org, user])
    sites = []
    for n in range(2):
        site = Site(organisation=org, name=f"Mill {n}", fuel=Fuel.POWER, meter_type=MeterType.HH)
        site.meters.append(Meter(identifier=f"MILL-{n}", kind=IdentifierKind.OTHER))
        session.add(site)
        sites.append(site)
    session.flush()
    lo, hi = CUTOFF_TS - 3 * 48 * HH, CUTOFF_TS + 48 * HH  # three days before the cutoff, one after
    for site in sites:
        session.add_all(
            Reading(site_id=site.id, start_ts=ts, interval_seconds=HH, energy_kwh=1.0, estimated=False)
            for ts in range(lo, hi, HH)
        )
        session.add_all(
            SiteExpected(site_id=site.id, resolution="hh", start_ts=ts, expected_kwh=1.0, variance_kwh2=0.1)
            for ts in (CUTOFF_TS - HH, CUTOFF_TS)
        )
        session.flush()
        refresh_daily_usage(session, site.id, site.time_zone, lo, hi)
    series.rebuild_all(session)
    tracker = Tracker(
        owner_id=user.id,
        name="Monthly",
        scope_kind="all",
        fuel=Fuel.POWER,
        period="month",
        target_kind="kwh",
        target_value=100.0,
    )
    session.add(tracker)
    session.flush()
    now = dt.datetime(2021, 7, 1, tzinfo=dt.UTC)
    for start, end in ((dt.date(2021, 5, 1), dt.date(2021, 5, 31)), (dt.date(2021, 6, 1), dt.date(2021, 6, 30))):
        session.add(TrackerAlert(tracker_id=tracker.id, period_start=start, kind="exceeded", created_at=now))
        session.add(
            TrackerEvaluation(
                tracker_id=tracker.id,
                period_start=start,
                period_end=end if end < CUTOFF_DAY else CUTOFF_DAY,
                data_day=end,
                evaluated_at=now,
                sites_reporting=2,
                sites_total=2,
                state="exceeded",
                reason="daily",
            )
        )
    # a ledger row of a period that ended the day before the cutoff goes; one ending on the cutoff day stays
    session.add(
        TrackerEvaluation(
            tracker_id=tracker.id,
            period_start=CUTOFF_DAY - dt.timedelta(days=1),
            period_end=CUTOFF_DAY - dt.timedelta(days=1),
            data_day=CUTOFF_DAY,
            evaluated_at=now,
            sites_reporting=2,
            sites_total=2,
            state="under",
            reason="daily",
        )
    )
    session.commit()
    return {"site": sites[0].id, "tracker": tracker.id}


def _count(session: Session, model: type, *where: object) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


EXPECTED = {
    "readings": 2 * 3 * 48,  # two sites, the three days before the cutoff
    "daily_usage": 2 * 3,
    "site_expected": 2,  # the prediction for the half hour before the cutoff
    "tracker_evaluations": 2,  # May's period and the day before the cutoff
    "tracker_alerts": 1,  # May's; June's period contains the cutoff day
}


def _check_boundary(session: Session, *, predictions: bool = True) -> None:
    assert _count(session, Reading, Reading.start_ts == CUTOFF_TS - HH) == 0  # cutoff - 1 interval: gone
    assert _count(session, Reading, Reading.start_ts == CUTOFF_TS) == 2  # at the cutoff: kept
    assert session.scalar(select(func.min(Reading.start_ts))) == CUTOFF_TS
    assert session.scalar(select(func.min(DailyUsage.local_date))) == CUTOFF_DAY
    assert session.scalar(select(func.min(PortfolioSeries.start_ts))) == CUTOFF_TS
    assert _count(session, PortfolioSeries, PortfolioSeries.resolution == "day") == 2  # "all" and the org: one day
    if predictions:  # (the daily run's expected-series step drops predictions of sites without a model)
        assert session.scalar(select(func.min(SiteExpected.start_ts))) == CUTOFF_TS
    assert session.scalar(select(func.min(TrackerEvaluation.period_end))) == CUTOFF_DAY
    assert session.scalar(select(func.min(TrackerAlert.period_start))) == dt.date(2021, 6, 1)


def test_dry_run_counts_purge_deletes_exactly_that_and_a_second_run_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        _world(session)
        series_before = _count(session, PortfolioSeries, PortfolioSeries.start_ts < CUTOFF_TS)
        readings_before = _count(session, Reading)
    plan = plan_retention(session_factory, TODAY, KEEP)
    assert plan.dry_run and plan.cutoff.day == CUTOFF_DAY
    assert {k: plan.counts[k] for k in EXPECTED} == EXPECTED
    assert plan.counts["portfolio_series"] == series_before > 0
    with session_factory() as session:
        assert _count(session, Reading) == readings_before  # the dry run changed nothing

    report = purge_expired(session_factory, TODAY, KEEP, batch=100)
    assert report.counts == plan.counts
    assert report.batches >= 3  # 288 readings in batches of about 100
    with session_factory() as session:
        _check_boundary(session)
        assert _count(session, Reading) == readings_before - EXPECTED["readings"]
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "retention_purge")))
        assert len(entries) == 1 and entries[0].detail["readings"] == EXPECTED["readings"]

    again = purge_expired(session_factory, TODAY, KEEP)
    assert again.counts == dict.fromkeys(TABLES, 0) and again.total == 0
    assert plan_retention(session_factory, TODAY, KEEP).total == 0
    with session_factory() as session:  # nothing deleted, nothing audited
        assert _count(session, AuditEntry, AuditEntry.action == "retention_purge") == 1


def test_one_row_batches_give_the_same_result(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        _world(session)
    report = purge_expired(session_factory, TODAY, KEEP, batch=1)
    assert {k: report.counts[k] for k in EXPECTED} == EXPECTED
    with session_factory() as session:
        _check_boundary(session)


def test_the_daily_run_purges_once_and_stays_idempotent(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    with session_factory() as session:
        _world(session)
    settings = load_settings(
        {"PORTFOLIO_INBOX": str(tmp_path / "inbox")},
        instance_path=tmp_path,
        database_url=database_url,
        secret_key="x",
        smtp_url="smtp://127.0.0.1:9",
        retention_days=KEEP,
    )
    now = dt.datetime(2026, 7, 1, 5, tzinfo=dt.UTC)
    first = run_daily(session_factory, settings, run_date=TODAY, now=now)
    step = next(s for s in first.steps if s.name == "retention")
    assert not step.failed and step.counts["cutoff_day"] == "2021-06-30"
    assert step.counts["deleted"]["readings"] == EXPECTED["readings"]
    second = run_daily(session_factory, settings, run_date=TODAY, now=now + dt.timedelta(hours=1))
    again = next(s for s in second.steps if s.name == "retention")
    assert again.counts["deleted"] == dict.fromkeys(TABLES, 0)
    with session_factory() as session:
        _check_boundary(session, predictions=False)


def test_retention_days_come_from_the_environment() -> None:
    assert load_settings({}, instance_path=Path("/tmp"), secret_key="x").retention_days == 1827
    env = {"PORTFOLIO_RETENTION_DAYS": "400"}
    assert load_settings(env, instance_path=Path("/tmp"), secret_key="x").retention_days == 400
    for bad in ("0", "-3", "five years"):
        with pytest.raises(ValueError, match="PORTFOLIO_RETENTION_DAYS"):
            load_settings({"PORTFOLIO_RETENTION_DAYS": bad}, instance_path=Path("/tmp"), secret_key="x")


def test_the_command_shows_then_deletes(
    session_factory: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from portfolio.cli import main

    with session_factory() as session:
        _world(session)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PORTFOLIO_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    assert main(["retention", "--dry-run", "--json", "--date", TODAY.isoformat()]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["dry_run"] and shown["cutoff_day"] == "2021-06-30" and shown["cutoff_utc"] == "2021-06-29T23:00:00Z"
    assert shown["counts"]["readings"] == EXPECTED["readings"]
    assert main(["retention", "--date", TODAY.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "cutoff 2021-06-30 (UK); deleted" in out and f"{EXPECTED['readings']:>12,}" in out
    assert main(["retention", "--json", "--date", TODAY.isoformat()]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 0
    assert main(["retention", "--date", "yesterday"]) == 2


def test_a_slow_purge_commits_at_least_every_half_second(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from portfolio.services import retention

    with session_factory() as session:
        _world(session)
    assert plan_retention(session_factory, TODAY, KEEP).total < retention.BATCH_ROWS
    monkeypatch.setattr(retention, "MAX_TRANSACTION_S", 0.0)  # every delete is "slow": each commits at once
    report = purge_expired(session_factory, TODAY, KEEP)  # every table's rows fit one 50,000-row batch
    # one commit per delete: readings, roll-up, predictions, 6 series partitions ("all" and the organisation x
    # hh, hour, day), the ledger and the alerts
    assert report.batches == 11
    with session_factory() as session:
        _check_boundary(session)
