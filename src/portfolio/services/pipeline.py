"""The daily pipeline: import the inbox, check the roll-ups, weather, refit models, expected series, trackers, notify.

Run it once a day as its own process (``portfolio daily-run``, from cron or the Procfile's ``worker``);
never from a web worker. Steps run in order; each is timed and its counts and errors are stored in
``pipeline_runs`` (the admin Pipeline page shows them). A failure in one file, site, tracker or email is
reported in its step and the rest go on; a step that fails as a whole is recorded and the next steps run.

Idempotency: imported files move out of the inbox (``done/``, or ``failed/`` with ``<name>.error.txt``), a
file whose content (SHA-256) was imported before is not imported again, readings are upserts, a tracker
alerts once per period (a unique row), and sent emails are never sent again.

Concurrency: one run at a time. PostgreSQL: ``pg_try_advisory_lock`` on a connection held for the run;
SQLite: a row in ``pipeline_locks`` (a second process gets an IntegrityError), taken over when older than
``STALE_LOCK`` (a crashed run).

The inbox (step 1 and 3) is ``services/inbox.py``; the retention purge (step 4) is ``services/retention.py``:
readings and derived series older than ``PORTFOLIO_RETENTION_DAYS`` go, and the step reports counts per table.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.ingest.loader import refresh_daily_usage
from portfolio.models import PipelineLock, PipelineRun, RunStatus, Site
from portfolio.queries import notifications as notification_queries
from portfolio.queries import pipeline as pipeline_queries
from portfolio.queries.data_version import load_usage_version
from portfolio.services import notifications, opt_out, retention, third_party_notifications, tracker_evaluation
from portfolio.services import series as portfolio_series
from portfolio.services import trackers as tracker_service
from portfolio.services.expected import fit_due_models
from portfolio.services.expected_series import refresh_expected_series
from portfolio.services.graphs_warm import keep_default_graphs, warm_graphs
from portfolio.services.inbox import TouchedSpans, classify, fail_file, import_inbox_files, inbox_files
from portfolio.timekeeping import UK_TIME_ZONE, local_today

log = logging.getLogger(__name__)

LOCK_NAME = "daily-run"
ADVISORY_LOCK_KEY = 0x706F7274  # "port": one key for the whole pipeline
STALE_LOCK = dt.timedelta(hours=12)


class PipelineBusy(RuntimeError):
    """Another daily run holds the lock."""


@dataclass
class StepResult:
    name: str
    counts: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    failed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "counts": self.counts,
            "errors": self.errors,
            "duration_s": round(self.duration_s, 3),
            "failed": self.failed,
        }


@dataclass
class PipelineResult:
    run_id: int | None
    run_date: dt.date
    status: str
    steps: list[StepResult]

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_date": self.run_date.isoformat(),
            "status": self.status,
            "steps": [s.as_json() for s in self.steps],
        }


# The lock -----------------------------------------------------------------------------------------------------


@contextmanager
def pipeline_lock(factory: sessionmaker[Session], run_date: dt.date, now: dt.datetime) -> Iterator[None]:
    """Hold the one pipeline lock for the duration of a run, or raise PipelineBusy at once."""
    engine = factory.kw["bind"]
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            if not pipeline_queries.try_advisory_lock(connection, ADVISORY_LOCK_KEY):
                raise PipelineBusy("another daily run is in progress (PostgreSQL advisory lock held)")
            connection.commit()
            try:
                yield
            finally:
                pipeline_queries.release_advisory_lock(connection, ADVISORY_LOCK_KEY)
                connection.commit()
        return
    holder = f"{socket.gethostname()}:{os.getpid()}"
    try:
        with transaction(factory) as session:
            existing = pipeline_queries.load_pipeline_lock(session, LOCK_NAME)
            if existing is not None:
                acquired = existing.acquired_at.replace(tzinfo=existing.acquired_at.tzinfo or dt.UTC)
                if now - acquired < STALE_LOCK:
                    raise PipelineBusy(
                        f"another daily run is in progress (for {existing.run_date}, "
                        f"held by {existing.holder} since {acquired:%Y-%m-%d %H:%M} UTC)"
                    )
                log.warning("taking over a stale pipeline lock held by %s since %s", existing.holder, acquired)
                session.delete(existing)
                session.flush()
            session.add(PipelineLock(name=LOCK_NAME, run_date=run_date, holder=holder, acquired_at=now))
    except IntegrityError:
        raise PipelineBusy("another daily run took the lock at the same moment") from None
    try:
        yield
    finally:
        with transaction(factory) as session:
            pipeline_queries.delete_pipeline_lock(session, LOCK_NAME, holder)


# Step 2: roll-ups ---------------------------------------------------------------------------------------------


def verify_rollups(factory: sessionmaker[Session], touched: TouchedSpans, step: StepResult) -> None:
    """Recompute the daily roll-up of every site-day the imports touched from its readings; repair differences.

    The loader keeps ``daily_usage`` and ``portfolio_series`` current in the import's transaction, so this
    normally finds nothing: it is the check that they are, and the repair (series included) when not.
    """
    checked = repaired = 0
    for site_id, (lo, hi) in sorted(touched.spans.items()):
        try:
            with transaction(factory) as session:
                site = session.get(Site, site_id)
                if site is None:
                    continue
                zone = zoneinfo.ZoneInfo(site.time_zone)
                first = dt.datetime.fromtimestamp(lo, zone).date()
                last = dt.datetime.fromtimestamp(hi - 1, zone).date()
                before = _daily_rows(session, site_id, first, last)
                refresh_daily_usage(session, site_id, site.time_zone, lo, hi)
                session.flush()
                after = _daily_rows(session, site_id, first, last)
                checked += len(after)
                if before != after:
                    repaired += 1
                    portfolio_series.refresh_for_sites(session, [site_id], lo, hi)
                    step.errors.append(
                        {
                            "site_id": site_id,
                            "error": f"daily roll-up of {first}..{last} differed from "
                            "the readings; repaired (portfolio series recomputed)",
                        }
                    )
        except Exception as error:  # noqa: BLE001 - per site
            log.exception("roll-up check of site %s failed", site_id)
            step.errors.append({"site_id": site_id, "error": f"{type(error).__name__}: {error}"})
    step.counts.update(sites=len(touched.spans), site_days_checked=checked, sites_repaired=repaired)


def _daily_rows(session: Session, site_id: int, first: dt.date, last: dt.date) -> list[tuple[Any, ...]]:
    rows = pipeline_queries.load_daily_usage_rows(session, site_id, first, last)
    return [(r[0], round(float(r[1]), 6), int(r[2])) for r in rows]


# The run ------------------------------------------------------------------------------------------------------


def _timed(step: StepResult, action: Callable[[], None]) -> StepResult:
    started = time.perf_counter()
    try:
        action()
    except Exception as error:  # noqa: BLE001 - a failed step is recorded; the next steps still run
        log.exception("pipeline step %s failed", step.name)
        step.failed = True
        step.errors.append({"error": f"{type(error).__name__}: {error}"})
    step.duration_s = time.perf_counter() - started
    return step


def run_daily(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    run_date: dt.date | None = None,
    now: dt.datetime | None = None,
) -> PipelineResult:
    """Run the whole pipeline for ``run_date`` (default: today, UK), which evaluates the day before it.

    Raises PipelineBusy when another run holds the lock (nothing is recorded then).
    """
    now = now or dt.datetime.now(dt.UTC)
    run_date = run_date or local_today(now)
    data_day = tracker_service.data_day_for(run_date)
    with pipeline_lock(factory, run_date, now):
        with transaction(factory) as session:
            record = PipelineRun(
                run_date=run_date,
                status=RunStatus.RUNNING,
                started_at=now,
                steps=[],
                usage_version_at_start=load_usage_version(session),  # graphs drawn from it are shown meanwhile
                last_site_id_at_start=pipeline_queries.load_last_site_id(session),  # the sites it creates follow
            )
            session.add(record)
            session.flush()
            run_id = record.id
        steps = _run_steps(factory, settings, now, data_day, run_date)
        failed = any(s.failed for s in steps)
        status = RunStatus.FAILED if failed else RunStatus.PARTIAL if any(s.errors for s in steps) else RunStatus.OK
        with transaction(factory) as session:
            finished = session.get(PipelineRun, run_id)
            if finished is None:  # inserted above under the lock; gone means the database was reset meanwhile
                raise RuntimeError(f"pipeline run {run_id} disappeared while running")
            finished.status, finished.steps = status, [s.as_json() for s in steps]
            finished.finished_at = now + dt.timedelta(seconds=sum(s.duration_s for s in steps))
    return PipelineResult(run_id, run_date, status, steps)


def _run_steps(
    factory: sessionmaker[Session], settings: Settings, now: dt.datetime, data_day: dt.date, run_date: dt.date
) -> list[StepResult]:
    inbox = settings.inbox_path
    touched = TouchedSpans()
    began = time.monotonic()  # the steps' "now" is the run's start; a graph kept at its end is for the time then
    weather_files: list[Path] = []

    def do_import() -> None:
        if inbox is None or not inbox.is_dir():
            import_step.counts.update(files=0, note=f"no inbox folder at {inbox}")
            return
        meters, weather, broken = classify(inbox_files(inbox))
        weather_files.extend(weather)
        for path, error in broken.items():
            import_step.errors.append({"file": path.name, "error": fail_file(path, error)})
        import_inbox_files(factory, meters, import_step, touched)
        import_step.counts["files"] += len(broken)
        import_step.counts["failed"] += len(broken)

    def do_weather() -> None:
        import_inbox_files(factory, weather_files, weather_step, TouchedSpans())

    def do_retention() -> None:  # before the refit, so models and series see only the data kept
        report = retention.purge_expired(factory, run_date, settings.retention_days, now=now)
        retention_step.counts.update(
            cutoff_day=report.cutoff.day.isoformat(), deleted=report.counts, batches=report.batches
        )

    def do_fit() -> None:
        report = fit_due_models(factory, now=now)
        fit_step.counts.update({k: v for k, v in report.as_json().items() if k != "errors"})
        fit_step.errors.extend(report.as_json()["errors"])  # type: ignore[arg-type]

    def do_expected() -> None:
        report = refresh_expected_series(factory, now)
        expected_step.counts.update({k: v for k, v in report.as_json().items() if k != "errors"})
        expected_step.errors.extend(report.errors)

    def do_keep_graphs() -> None:  # before importing: shown while the run writes (services/graphs_kept.py)
        report = keep_default_graphs(factory, now).as_json()
        keep_step.counts.update({k: v for k, v in report.items() if k != "pruned"})  # it prunes nothing

    def do_graphs() -> None:  # after the refresh: the big portfolios' default views computed from tonight's data
        graphs_step.counts.update(warm_graphs(factory, now).as_json())
        # and the default graphs kept again, from tonight's data, for the half hour the run ends in: without them,
        # everyone's first look after the run draws afresh at once (services/graphs_kept.py)
        kept = keep_default_graphs(factory, now + dt.timedelta(seconds=time.monotonic() - began))
        graphs_step.counts.update(kept_graphs=kept.views, kept_graphs_s=round(kept.seconds, 2))

    def do_evaluate() -> None:
        report = tracker_evaluation.evaluate_all(factory, settings, data_day, now, touched=touched.local_days())
        evaluate_step.counts.update(
            {k: v for k, v in report.as_json().items() if k != "errors"}, data_day=data_day.isoformat()
        )
        evaluate_step.errors.extend(report.errors)

    def do_opt_out_notices() -> None:  # micro-businesses whose meters or first user arrived after enrolment
        with transaction(factory) as session:
            notices_step.counts["sent"] = opt_out.send_due_notices(session, settings, now)

    def do_notify() -> None:
        report = notifications.deliver_pending(factory, settings, now=now)
        notify_step.counts.update(sent=report.sent, retrying=report.retrying, gave_up=report.gave_up)
        notify_step.errors.extend(report.errors)
        with factory() as session:
            notify_step.counts["outbox"] = notification_queries.count_outbox(session)

    import_step, rollup_step, weather_step = StepResult("import"), StepResult("rollups"), StepResult("weather")
    fit_step, evaluate_step, notify_step = (
        StepResult("refit_models"),
        StepResult("evaluate_trackers"),
        StepResult("notify"),
    )
    expected_step, retention_step = StepResult("expected_series"), StepResult("retention")
    graphs_step, keep_step = StepResult("graphs"), StepResult("keep_graphs")
    third_party_step, notices_step = StepResult("third_party_notify"), StepResult("opt_out_notices")

    def do_third_parties() -> None:  # Green Button Connect My Data: BatchList to the applications' notify URIs
        with factory() as session:
            third_party_step.counts["queued"] = third_party_notifications.queue_notifications(
                session, touched.spans.keys(), data_day, settings.base_url, now
            )
        report = third_party_notifications.deliver_pending(factory, now)
        third_party_step.counts.update(sent=report.sent, retrying=report.retrying, gave_up=report.gave_up)
        third_party_step.errors.extend(report.errors)

    return [
        _timed(keep_step, do_keep_graphs),
        _timed(import_step, do_import),
        _timed(rollup_step, lambda: verify_rollups(factory, touched, rollup_step)),
        _timed(weather_step, do_weather),
        _timed(retention_step, do_retention),
        _timed(fit_step, do_fit),
        _timed(expected_step, do_expected),
        _timed(graphs_step, do_graphs),
        _timed(evaluate_step, do_evaluate),
        _timed(notices_step, do_opt_out_notices),
        _timed(notify_step, do_notify),
        _timed(third_party_step, do_third_parties),
    ]


def seconds_until(now: dt.datetime, at: dt.time, time_zone: str = UK_TIME_ZONE) -> float:
    """Seconds from ``now`` to the next local ``at`` (today's if still ahead, else tomorrow's)."""
    zone = zoneinfo.ZoneInfo(time_zone)
    local = now.astimezone(zone)
    target = dt.datetime.combine(local.date(), at, zone)
    if target <= local:
        target = dt.datetime.combine(local.date() + dt.timedelta(days=1), at, zone)
    return max((target - local).total_seconds(), 0.0)
