"""The daily pipeline over two simulated days of the demo, with a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for
from portfolio.config import Settings, load_settings
from portfolio.db import make_engine, make_session_factory
from portfolio.models import (
    ExpectedSeries,
    ExpectedSeriesRefresh,
    Meter,
    Notification,
    OutboxEmail,
    PipelineRun,
    Reading,
    Site,
    Tracker,
    User,
    WeatherKind,
    WeatherLocation,
    WeatherReading,
)
from portfolio.queries.data_version import load_usage_version
from portfolio.services import expected_series, graphs_kept, graphs_warm
from portfolio.services.graphs_kept import view_graph
from portfolio.services.graphs_sites import GraphRequest
from portfolio.services.groups import ALL_SITES, create_group
from portfolio.services.pipeline import PipelineBusy, pipeline_lock, run_daily
from portfolio.services.trackers import compute_status, create_tracker

TODAY = dt.date(2026, 11, 25)  # a Wednesday: the demo ends on Tue 24 Nov; the tracked week is Mon 23 to Sun 29
DAY1, DAY2 = dt.date(2026, 11, 25), dt.date(2026, 11, 26)
METERS = {"b2": "1030001547290", "b5": "1030002594583", "b58": "1030003641871"}  # Granta: three hourly power meters
CUSTOMER = "customer@demo.portfolio.example"


# A real SMTP server on loopback ------------------------------------------------------------------------------


@dataclass
class MailSink:
    """aiosmtpd handler: keeps what it receives, or refuses every message while ``refuse`` is set."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 - aiosmtpd's hook signature
        if self.refuse:
            return "554 5.7.1 Service unavailable; try later"
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@dataclass
class Pipeline:
    factory: sessionmaker[Session]
    settings: Settings
    inbox: Path
    tracker_id: int
    site_ids: dict[str, int]

    def run(self, run_date: dt.date, hours_later: float = 0):
        now = dt.datetime.combine(run_date, dt.time(6), dt.UTC) + dt.timedelta(hours=hours_later)
        return run_daily(self.factory, self.settings, run_date=run_date, now=now)


@pytest.fixture
def pipeline(demo_world: tuple[str, Path], smtp: tuple[MailSink, int], tmp_path: Path) -> Iterator[Pipeline]:
    url, instance = demo_world
    engine = make_engine(url)
    factory = make_session_factory(engine)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = load_settings(
        {},
        database_url=url,
        instance_path=instance,
        secret_key="x",
        smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
        mail_from="portfolio@example.test",
        base_url="https://portfolio.example.test",
        inbox_path=inbox,
    )
    with factory() as session:
        site_ids = {
            key: session.scalar(select(Meter.site_id).where(Meter.identifier == mpan)) for key, mpan in METERS.items()
        }
    with factory.begin() as session:
        viewer = viewer_for(session, session.scalar(select(User).where(User.email == CUSTOMER)))
        group = create_group(session, viewer, "Tracked buildings", list(site_ids.values()))
        tracker = create_tracker(
            session,
            viewer,
            name="Weekly power, tracked buildings",
            scope_kind="group",
            scope_id=str(group.id),
            fuel="power",
            period="week",
            target_kind="kwh",
            target_value="1",
        )
        tracker_id = tracker.id
    yield Pipeline(factory, settings, inbox, tracker_id, site_ids)
    engine.dispose()


# Files for the new days ----------------------------------------------------------------------------------------


def _day_ts(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


def _hourly(pipeline: Pipeline, key: str, day: dt.date, scale: float) -> list[float]:
    """Plausible values for a new day: the same weekday a week earlier, scaled."""
    lo = _day_ts(day - dt.timedelta(days=7))
    with pipeline.factory() as session:
        rows = session.execute(
            select(Reading.start_ts, Reading.energy_kwh)
            .where(Reading.site_id == pipeline.site_ids[key], Reading.start_ts >= lo, Reading.start_ts < lo + 86_400)
            .order_by(Reading.start_ts)
        ).all()
    assert len(rows) == 24
    return [round(value * scale, 3) for _, value in rows]


def write_meter_file(pipeline: Pipeline, name: str, day: dt.date, keys: list[str], scale: float) -> float:
    """A long HH CSV (UTC, hourly) for ``keys`` on ``day``; returns its total [kWh]."""
    lines, total = ["MPAN,Timestamp (UTC),kWh"], 0.0
    for key in keys:
        for hour, value in enumerate(_hourly(pipeline, key, day, scale)):
            lines.append(f"{METERS[key]},{day.isoformat()} {hour:02d}:00:00,{value}")
            total += value
    (pipeline.inbox / name).write_text("\n".join(lines) + "\n")
    return total


def write_weather_file(pipeline: Pipeline, name: str, day: dt.date, *, issued_at: str | None = None) -> None:
    header = "station,datetime,air_temperature" + (",issued_at" if issued_at else "")
    rows = [
        f"bedford,{day.isoformat()} {h:02d}:00:00,{6 + 3 * (8 <= h <= 16):.1f}" + (f",{issued_at}" if issued_at else "")
        for h in range(24)
    ]
    (pipeline.inbox / name).write_text("\n".join([header, *rows]) + "\n")


def _so_far(pipeline: Pipeline, data_day: dt.date) -> float:
    with pipeline.factory() as session:
        tracker = session.get(Tracker, pipeline.tracker_id)
        owner = session.get(User, tracker.owner_id)
        status = compute_status(session, tracker, viewer_for(session, owner), data_day)
    assert status.consumption_kwh is not None
    return status.consumption_kwh


def _set_amount(pipeline: Pipeline, kwh: float) -> None:
    with pipeline.factory.begin() as session:
        session.get(Tracker, pipeline.tracker_id).target_value = kwh


def _outbox(pipeline: Pipeline) -> list[OutboxEmail]:
    with pipeline.factory() as session:
        return list(session.scalars(select(OutboxEmail)))


def _prepare_two_days(pipeline: Pipeline) -> tuple[float, float]:
    """Files for day 1 (three sites, weather) and the amount: crossed half-way through day 2's consumption."""
    baseline = _so_far(pipeline, dt.date(2026, 11, 24))
    day1 = write_meter_file(pipeline, "granta_2026-11-25.csv", DAY1, ["b2", "b5", "b58"], 1.0)
    day2_expected = sum(sum(_hourly(pipeline, k, DAY2, 1.05)) for k in ("b2", "b5"))
    amount = round(baseline + day1 + 0.5 * day2_expected, 1)
    _set_amount(pipeline, amount)
    return amount, baseline + day1 + day2_expected


@pytest.mark.slow
def test_two_days_cross_once_and_notify_once(pipeline: Pipeline, smtp: tuple[MailSink, int]) -> None:
    sink, _ = smtp
    amount, total_after_day2 = _prepare_two_days(pipeline)
    write_weather_file(pipeline, "bedford_2026-11-25.csv", DAY1)
    (pipeline.inbox / "broken.csv").write_text("MPAN,Timestamp (UTC),kWh\n1030001547290,2026-11-25 00:00:00,lots\n")

    first = pipeline.run(dt.date(2026, 11, 26))
    steps = {s.name: s for s in first.steps}
    assert [s.name for s in first.steps] == [
        "keep_graphs",
        "import",
        "rollups",
        "weather",
        "retention",
        "refit_models",
        "expected_series",
        "graphs",
        "evaluate_trackers",
        "opt_out_notices",
        "notify",
        "third_party_notify",
    ]
    # the demo's readings are all within the five years kept
    assert steps["retention"].counts["cutoff_day"] == "2021-11-25" and not any(
        steps["retention"].counts["deleted"].values()
    )
    # every site's stored predictions are brought up to date (the recent days and the forecast: the models did not
    # change, so none whole); of the demo's portfolios only the estate's 35 power sites are over 20 sites: its
    # sums are the one scope kept
    counts = steps["expected_series"].counts
    assert {k: counts[k] for k in ("scopes", "removed", "failed", "sites_whole")} == {
        "scopes": 1,
        "removed": 0,
        "failed": 0,
        "sites_whole": 0,
    }
    assert counts["rows"] > 400
    # the 47 demo sites with a model (two have too little data for one) are predicted
    assert counts["sites"] == counts["sites_modelled"] == 47 and counts["site_rows"] > 0
    assert steps["import"].counts["imported"] == 1 and steps["import"].counts["failed"] == 1
    assert steps["import"].counts["readings"] == 72
    assert steps["weather"].counts["imported"] == 1 and steps["weather"].counts["weather_rows"] == 24
    assert steps["rollups"].counts["sites"] == 3 and steps["rollups"].counts["sites_repaired"] == 0
    assert steps["refit_models"].counts["skipped"] > 0 and not steps["refit_models"].errors
    # the projection's 90 % range is already above the amount: a warning, not yet "exceeded"
    assert steps["evaluate_trackers"].counts == {
        "evaluated": 1,
        "exceeded": 0,
        "warned": 1,
        "notified": 1,
        "restated": 0,
        "skipped": 0,
        "data_day": "2026-11-25",
    }
    assert first.status == "partial"  # the broken file is an error of the import step; the rest ran
    failed = pipeline.inbox / "failed"
    assert (failed / "broken.csv").exists()
    assert "'lots' is not a number" in (failed / "broken.csv.error.txt").read_text()
    assert sorted(p.name for p in (pipeline.inbox / "done").iterdir()) == [
        "bedford_2026-11-25.csv",
        "granta_2026-11-25.csv",
    ]
    [warning] = sink.messages
    assert "is on course to exceed" in warning["Subject"] and "90 % range" in warning["Subject"]
    assert len(_outbox(pipeline)) == 1

    # Day 2: only two of the three sites report; a forecast arrives for the rest of the week.
    write_meter_file(pipeline, "granta_2026-11-26.csv", DAY2, ["b2", "b5"], 1.05)
    write_weather_file(
        pipeline, "bedford_forecast_2026-11-27.csv", dt.date(2026, 11, 27), issued_at="2026-11-27T05:00:00Z"
    )
    second = pipeline.run(dt.date(2026, 11, 27))
    assert second.status == "ok", second.as_json()
    steps = {s.name: s for s in second.steps}
    assert steps["weather"].counts["forecast_files"] == 1
    assert steps["evaluate_trackers"].counts["notified"] == 1
    assert steps["notify"].counts["sent"] == 1
    assert len(sink.messages) == 2
    message = sink.messages[1]
    body = message.get_content()
    excess = total_after_day2 - amount
    assert "Weekly power, tracked buildings" in message["Subject"]
    assert f"Requested amount:   {amount:,.0f} kWh" in body
    assert f"Over by:            {excess:,.0f} kWh ({100 * excess / amount:.1f} %)" in body
    assert "2 of 3 sites reported for Thu 26 Nov" in body
    assert "https://portfolio.example.test/graphs?group=" in body and "from=2026-11-23&to=2026-11-26&fuel=power" in body
    assert message["To"] == CUSTOMER
    with pipeline.factory() as session:
        forecast = session.scalars(
            select(WeatherReading)
            .join(WeatherLocation)
            .where(
                WeatherLocation.name == "bedford",
                WeatherReading.kind == WeatherKind.FORECAST,
                WeatherReading.hour_ts == _day_ts(dt.date(2026, 11, 27)),
            )
        ).all()
        assert [w.issued_at_ts for w in forecast] == [int(dt.datetime(2026, 11, 27, 5, tzinfo=dt.UTC).timestamp())]
        bell = session.scalars(select(Notification).order_by(Notification.id)).all()
        assert len(bell) == 2 and bell[1].read_at is None and "over its amount" in bell[1].title

    # The same day again: nothing imported twice, nothing sent twice.
    write_meter_file(pipeline, "granta_2026-11-26_again.csv", DAY2, ["b2", "b5"], 1.05)
    (pipeline.inbox / "granta_2026-11-26_copy.csv").write_bytes(
        (pipeline.inbox / "done" / "granta_2026-11-26.csv").read_bytes()
    )
    third = pipeline.run(dt.date(2026, 11, 27), hours_later=1)
    steps = {s.name: s for s in third.steps}
    assert steps["import"].counts["duplicates"] == 2 and steps["import"].counts["readings"] == 0
    assert steps["evaluate_trackers"].counts["exceeded"] == 1 and steps["evaluate_trackers"].counts["notified"] == 0
    assert steps["notify"].counts["sent"] == 0
    assert len(sink.messages) == 2 and len(_outbox(pipeline)) == 2
    with pipeline.factory() as session:
        assert len(session.scalars(select(Notification)).all()) == 2
        assert len(session.scalars(select(PipelineRun)).all()) == 3


def test_the_run_precomputes_the_expected_series_of_large_portfolios(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(expected_series, "SUMMED_SCOPE_SITES", 10)
    result = pipeline.run(DAY2)
    assert [s.name for s in result.steps][4:7] == ["retention", "refit_models", "expected_series"]
    with pipeline.factory() as session:
        rows = session.scalar(select(func.count()).select_from(ExpectedSeries))
        refreshes = session.scalars(select(ExpectedSeriesRefresh)).all()
        stored = session.get(PipelineRun, result.run_id).steps
    step = {s["name"]: s for s in stored}["expected_series"]  # as kept in pipeline_runs, for the Pipeline page
    # "all" (35 power, 14 gas sites) and, through the broker's 19 and the account manager's 16 power sites,
    # every organisation's power series
    assert step["counts"]["scopes"] == 7 and step["counts"]["sites"] == 47 and step["counts"]["failed"] == 0
    assert step["counts"]["rows"] == rows > 7 * 400 and step["errors"] == []
    assert len(refreshes) == 7
    assert {r.refreshed_at.replace(tzinfo=r.refreshed_at.tzinfo or dt.UTC) for r in refreshes} == {
        dt.datetime.combine(DAY2, dt.time(6), dt.UTC)
    }
    assert sum(r.sites_modelled for r in refreshes if r.scope_kind == "all") == step["counts"]["sites_modelled"]


@pytest.mark.slow
def test_refused_email_waits_in_the_outbox_and_goes_on_the_next_run(
    pipeline: Pipeline, smtp: tuple[MailSink, int]
) -> None:
    sink, _ = smtp
    _prepare_two_days(pipeline)
    pipeline.run(dt.date(2026, 11, 26))
    assert len(sink.messages) == 1  # the warning (on course to exceed) went on day 1
    sink.messages.clear()
    write_meter_file(pipeline, "granta_2026-11-26.csv", DAY2, ["b2", "b5"], 1.05)
    sink.refuse = True
    refused = pipeline.run(dt.date(2026, 11, 27))
    notify = {s.name: s for s in refused.steps}["notify"]
    assert notify.counts["sent"] == 0 and notify.counts["retrying"] == 1
    assert "554" in str(notify.errors[0]["error"])
    [waiting] = [e for e in _outbox(pipeline) if e.status != "sent"]
    assert waiting.status == "pending" and waiting.attempts == 1 and "554" in (waiting.last_error or "")
    assert sink.messages == []

    sink.refuse = False
    later = pipeline.run(dt.date(2026, 11, 28))
    assert {s.name: s for s in later.steps}["notify"].counts["sent"] == 1
    [sent] = [e for e in _outbox(pipeline) if e.id == waiting.id]
    assert sent.status == "sent" and sent.attempts == 2
    assert len(sink.messages) == 1


def test_a_second_run_is_refused_while_one_holds_the_lock(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    settings = load_settings(
        {}, database_url=database_url, instance_path=tmp_path, secret_key="x", inbox_path=tmp_path / "in"
    )
    now = dt.datetime(2026, 11, 26, 6, tzinfo=dt.UTC)
    with pipeline_lock(factory, TODAY, now):
        with pytest.raises(PipelineBusy):
            run_daily(factory, settings, run_date=TODAY, now=now)
    result = run_daily(factory, settings, run_date=TODAY, now=now)  # the lock is free again
    assert result.status == "ok"
    engine.dispose()


def test_a_run_records_the_data_it_began_with(pipeline: Pipeline) -> None:
    """The data's version and the highest site id when the run began: what the Graphs page shows while a run writes
    (``services/graphs_kept.py``), the sites its imports create coming after that id."""
    write_meter_file(pipeline, "new.csv", TODAY - dt.timedelta(days=1), list(METERS)[:1], 1.0)
    with pipeline.factory() as session:
        version = load_usage_version(session)
        last_site = session.scalar(select(func.max(Site.id)))
    result = pipeline.run(TODAY)
    with pipeline.factory() as session:
        recorded = session.execute(
            select(PipelineRun.usage_version_at_start, PipelineRun.last_site_id_at_start).where(
                PipelineRun.id == result.run_id
            )
        ).one()
        version_after = load_usage_version(session)
    assert tuple(recorded) == (version, last_site) and last_site is not None and version_after > version


def test_the_run_ends_with_the_default_graphs_kept_from_its_data(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everyone's first look after the run reads a graph the run kept from tonight's data (its graphs step), instead
    of every user's first request drawing one at once when the run ends."""
    monkeypatch.setattr(graphs_warm, "WARM_MIN_SITES", 1)  # the demo's portfolios are small
    day = TODAY - dt.timedelta(days=1)
    write_meter_file(pipeline, "new.csv", day, list(METERS)[:1], 1.0)
    result = pipeline.run(TODAY)
    graphs_step = next(step for step in result.steps if step.name == "graphs")
    assert graphs_step.counts["kept_graphs"] > 0

    def not_drawn(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("drawn at the first look instead of read as the run kept it")

    monkeypatch.setattr(graphs_kept, "draw_graph", not_drawn)
    with pipeline.factory() as session:
        admin = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
        viewer = viewer_for(session, admin)
        request = GraphRequest(ALL_SITES, None, day - dt.timedelta(days=29), day, "power")
        later = dt.datetime.combine(TODAY, dt.time(6, 10), dt.UTC)
        shown = view_graph(session, viewer, request, now=later, retention_days=1827)
    assert "today's import" not in shown.note and shown.totals is not None and shown.totals["metered_kwh"] > 0
