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

Inbox conventions (``settings.inbox_path``, env ``PORTFOLIO_INBOX``): any meter or weather file the
``portfolio import`` command reads (content decides the format; gzip allowed), at the top level (hidden
files and ``*.error.txt`` ignored). Weather CSVs are observations, except a *forecast*: a weather CSV whose
file name contains "forecast" (e.g. ``bedford_forecast_2026-11-26.csv``) or which has an ``issued_at``
column. A forecast's ``issued_at`` is that column's latest value (UTC), else the file's modification time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import logging
import os
import shutil
import socket
import time
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.ingest.detect import detect_format, parse_file, read_input
from portfolio.ingest.loader import refresh_daily_usage
from portfolio.ingest.records import ImportFormatError, ParsedFile
from portfolio.models import PipelineLock, PipelineRun, Site
from portfolio.queries import notifications as notification_queries
from portfolio.queries import pipeline as pipeline_queries
from portfolio.services import imports, notifications, tracker_evaluation
from portfolio.services import series as portfolio_series
from portfolio.services import trackers as tracker_service
from portfolio.services.expected import fit_due_models
from portfolio.services.expected_series import refresh_expected_series
from portfolio.timekeeping import UK_TIME_ZONE, local_date_span, local_today

log = logging.getLogger(__name__)

LOCK_NAME = "daily-run"
ADVISORY_LOCK_KEY = 0x706F7274  # "port": one key for the whole pipeline
STALE_LOCK = dt.timedelta(hours=12)
DONE, FAILED = "done", "failed"


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


@dataclass
class _Touched:
    """What the day's imports changed, for the roll-up check: UTC span per site."""

    spans: dict[int, tuple[int, int]] = field(default_factory=dict)

    def add(self, site_id: int, lo: int, hi: int) -> None:
        old = self.spans.get(site_id)
        self.spans[site_id] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)

    def local_days(self) -> dict[int, list[dt.date]]:
        """The local days each site's span covers, for re-evaluating the trackers whose periods they are in."""
        days: dict[int, list[dt.date]] = {}
        for site_id, (lo, hi) in self.spans.items():
            first, last = local_date_span(lo, hi)
            days[site_id] = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
        return days


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


# Step 1 and 3: the inbox --------------------------------------------------------------------------------------


def inbox_files(inbox: Path) -> list[Path]:
    if not inbox.is_dir():
        return []
    return sorted(
        p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".error.txt")
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _move(path: Path, folder: str) -> Path:
    target_dir = path.parent / folder
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        target = target_dir / f"{path.stem}.{stamp}{path.suffix}"
    shutil.move(str(path), target)
    return target


def _fail(path: Path, error: BaseException) -> str:
    message = (
        f"{error.problem} ({error.where})"
        if isinstance(error, ImportFormatError) and error.where
        else (error.problem if isinstance(error, ImportFormatError) else f"{type(error).__name__}: {error}")
    )
    target = _move(path, FAILED)
    (target.parent / f"{target.name}.error.txt").write_text(
        f"{path.name} could not be imported ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC):\n{message}\n"
    )
    return message


def is_forecast_file(path: Path, data: bytes) -> bool:
    header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").lower()
    return "forecast" in path.name.lower() or "issued_at" in header.replace(" ", "_")


def _as_forecast(parsed: ParsedFile, path: Path, data: bytes) -> ParsedFile:
    """Re-tag a weather file's series as a forecast issued at its ``issued_at`` column (or the file's mtime)."""
    issued_ts = int(path.stat().st_mtime)
    frame = pd.read_csv(io.BytesIO(data), dtype=str)
    column = next((c for c in frame.columns if c.strip().lower().replace(" ", "_") == "issued_at"), None)
    if column is not None:
        stamps = pd.to_datetime(frame[column], utc=True, errors="coerce").dropna()
        if stamps.empty:
            raise ImportFormatError(str(path), f"the {column!r} column holds no readable time")
        issued_ts = int(stamps.max().timestamp())
    weather = tuple(dataclasses.replace(w, kind="forecast", issued_at_ts=issued_ts) for w in parsed.weather)
    return dataclasses.replace(parsed, weather=weather)


def _classify(paths: list[Path]) -> tuple[list[Path], list[Path], dict[Path, BaseException]]:
    """Split the inbox into meter files and weather files by content; unreadable files fail here."""
    meters, weather, broken = [], [], {}
    for path in paths:
        try:
            data = read_input(path)
            kind = detect_format(path, data)
        except Exception as error:  # noqa: BLE001 - reported, moved to failed/
            broken[path] = error
            continue
        (weather if kind == "weather-csv" else meters).append(path)
    return meters, weather, broken


def import_inbox_files(factory: sessionmaker[Session], paths: list[Path], step: StepResult, touched: _Touched) -> None:
    """Import each file in its own transaction; move it to done/ or failed/ (with the error beside it)."""
    step.counts.setdefault("files", 0)
    for key in ("imported", "duplicates", "failed", "readings", "weather_rows", "forecast_files"):
        step.counts.setdefault(key, 0)
    for path in paths:
        step.counts["files"] += 1
        try:
            data = read_input(path)
            sha256 = _sha256(path.read_bytes())
            if imports.already_imported(factory, sha256):
                _move(path, DONE)
                step.counts["duplicates"] += 1
                continue
            parsed = parse_file(path)
            if parsed.weather and is_forecast_file(path, data):
                parsed = _as_forecast(parsed, path, data)
                step.counts["forecast_files"] += 1
            summary = imports.load_file(factory, parsed, filename=path.name, sha256=sha256)
        except Exception as error:  # noqa: BLE001 - one bad file must not stop the others
            log.warning("inbox file %s failed: %s", path.name, error)
            message = _fail(path, error)
            step.counts["failed"] += 1
            step.errors.append({"file": path.name, "error": message})
            continue
        spans = [
            (int(m.readings["start_ts"].min()), int((m.readings["start_ts"] + m.readings["interval_seconds"]).max()))
            for m in parsed.meters
            if len(m.readings)
        ]
        for site_id in summary.site_ids:
            touched.add(int(site_id), min(lo for lo, _ in spans), max(hi for _, hi in spans))
        _move(path, DONE)
        step.counts["imported"] += 1
        step.counts["readings"] += summary.readings
        step.counts["weather_rows"] += summary.weather


# Step 2: roll-ups ---------------------------------------------------------------------------------------------


def verify_rollups(factory: sessionmaker[Session], touched: _Touched, step: StepResult) -> None:
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
            record = PipelineRun(run_date=run_date, status="running", started_at=now, steps=[])
            session.add(record)
            session.flush()
            run_id = record.id
        steps = _run_steps(factory, settings, now, data_day)
        failed = any(s.failed for s in steps)
        status = "failed" if failed else "partial" if any(s.errors for s in steps) else "ok"
        with transaction(factory) as session:
            record = session.get(PipelineRun, run_id)
            record.status, record.steps = status, [s.as_json() for s in steps]
            record.finished_at = now + dt.timedelta(seconds=sum(s.duration_s for s in steps))
    return PipelineResult(run_id, run_date, status, steps)


def _run_steps(
    factory: sessionmaker[Session], settings: Settings, now: dt.datetime, data_day: dt.date
) -> list[StepResult]:
    inbox = settings.inbox_path
    touched = _Touched()
    weather_files: list[Path] = []

    def do_import() -> None:
        if inbox is None or not inbox.is_dir():
            import_step.counts.update(files=0, note=f"no inbox folder at {inbox}")
            return
        meters, weather, broken = _classify(inbox_files(inbox))
        weather_files.extend(weather)
        for path, error in broken.items():
            import_step.errors.append({"file": path.name, "error": _fail(path, error)})
        import_inbox_files(factory, meters, import_step, touched)
        import_step.counts["files"] += len(broken)
        import_step.counts["failed"] += len(broken)

    def do_weather() -> None:
        import_inbox_files(factory, weather_files, weather_step, _Touched())

    def do_fit() -> None:
        report = fit_due_models(factory, now=now)
        fit_step.counts.update({k: v for k, v in report.as_json().items() if k != "errors"})
        fit_step.errors.extend(report.as_json()["errors"])  # type: ignore[arg-type]

    def do_expected() -> None:
        report = refresh_expected_series(factory, now)
        expected_step.counts.update({k: v for k, v in report.as_json().items() if k != "errors"})
        expected_step.errors.extend(report.errors)

    def do_evaluate() -> None:
        report = tracker_evaluation.evaluate_all(factory, settings, data_day, now, touched=touched.local_days())
        evaluate_step.counts.update(
            {k: v for k, v in report.as_json().items() if k != "errors"}, data_day=data_day.isoformat()
        )
        evaluate_step.errors.extend(report.errors)

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
    expected_step = StepResult("expected_series")
    return [
        _timed(import_step, do_import),
        _timed(rollup_step, lambda: verify_rollups(factory, touched, rollup_step)),
        _timed(weather_step, do_weather),
        _timed(fit_step, do_fit),
        _timed(expected_step, do_expected),
        _timed(evaluate_step, do_evaluate),
        _timed(notify_step, do_notify),
    ]


def seconds_until(now: dt.datetime, at: dt.time, time_zone: str = UK_TIME_ZONE) -> float:
    """Seconds from ``now`` to the next local ``at`` (today's if still ahead, else tomorrow's)."""
    zone = zoneinfo.ZoneInfo(time_zone)
    local = now.astimezone(zone)
    target = dt.datetime.combine(local.date(), at, zone)
    if target <= local:
        target = dt.datetime.combine(local.date() + dt.timedelta(days=1), at, zone)
    return max((target - local).total_seconds(), 0.0)
