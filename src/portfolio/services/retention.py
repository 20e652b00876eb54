"""Retention: delete energy usage data older than ``PORTFOLIO_RETENTION_DAYS`` (default 1,827 days, five years).

The cutoff is a UK local-day boundary: with today's UK date ``T`` and ``N`` days kept, the first kept day is
``T - N`` and everything that started before its local midnight goes: readings, the daily roll-up, the portfolio
series, the stored expected consumption (per site and per scope) and the tracker ledger and alerts of periods that
ended before that day. Weather readings (not about any customer), site and meter details, imports, models, pipeline
runs and the audit log are kept; see docs/retention.md.

The purge deletes in bounded batches (:mod:`portfolio.queries.retention`) and commits every ``batch`` rows or
half second, whichever comes first, so the web keeps working during a large first purge on either database. It is idempotent: a second run with the
same date finds nothing before the cutoff. It runs as the daily run's "retention" step and as ``portfolio
retention`` (``--dry-run`` counts without deleting).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from portfolio.analytics.trackers import PERIODS, compute_period_bounds
from portfolio.models import ExpectedSeries, PortfolioSeries, SiteExpected
from portfolio.queries import retention as queries
from portfolio.services import audit
from portfolio.timekeeping import UK_TIME_ZONE, local_midnight_ts

BATCH_ROWS = 50_000
"""Rows per delete statement and, at most, per commit: small enough that a batch takes well under a second."""
MAX_TRANSACTION_S = 0.5
"""Commit at least this often [s] while deleting, however few rows went: other writers wait at most about this."""
CHUNK = 200
"""Sites or scopes whose rows to go are counted in one query."""
TABLES = (
    "readings",
    "daily_usage",
    "site_expected",
    "portfolio_series",
    "expected_series",
    "tracker_evaluations",
    "tracker_alerts",
)
SITE_TABLES = ("readings", "daily_usage", "site_expected")
SCOPE_TABLES = ("portfolio_series", "expected_series")


@dataclass(frozen=True)
class Cutoff:
    """The first kept UK local day and its midnight [UTC epoch s]; everything before goes."""

    day: dt.date
    ts: int
    retention_days: int

    @classmethod
    def for_today(cls, today: dt.date, retention_days: int) -> Cutoff:
        day = today - dt.timedelta(days=retention_days)
        return cls(day, local_midnight_ts(day, UK_TIME_ZONE), retention_days)

    def tracker_period_starts(self) -> dict[str, dt.date]:
        """Per tracker period kind: the first period start kept (the period containing the cutoff day is kept)."""
        return {period: compute_period_bounds(period, self.day).start for period in PERIODS}


@dataclass
class RetentionReport:
    cutoff: Cutoff
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)  # per table: rows deleted, or that would be
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "cutoff_day": self.cutoff.day.isoformat(),
            "cutoff_utc": dt.datetime.fromtimestamp(self.cutoff.ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "retention_days": self.cutoff.retention_days,
            "dry_run": self.dry_run,
            "counts": dict(self.counts),
            "total": self.total,
            "batches": self.batches,
        }


def count_expired(session: Session, cutoff: Cutoff) -> dict[str, int]:
    """Rows per table older than the cutoff (what a purge would delete)."""
    return {
        "readings": queries.count_readings(session, cutoff.ts),
        "daily_usage": queries.count_daily_usage(session, cutoff.day),
        "site_expected": queries.count_before(session, SiteExpected, SiteExpected.start_ts, cutoff.ts),
        "portfolio_series": queries.count_before(session, PortfolioSeries, PortfolioSeries.start_ts, cutoff.ts),
        "expected_series": queries.count_before(session, ExpectedSeries, ExpectedSeries.start_ts, cutoff.ts),
        "tracker_evaluations": queries.count_tracker_evaluations(session, cutoff.day),
        "tracker_alerts": queries.count_tracker_alerts(session, cutoff.tracker_period_starts()),
    }


def plan_retention(factory: sessionmaker[Session], today: dt.date, retention_days: int) -> RetentionReport:
    """The dry run: the cutoff and what would go, per table; changes nothing."""
    cutoff = Cutoff.for_today(today, retention_days)
    with factory() as session:
        return RetentionReport(cutoff, dry_run=True, counts=count_expired(session, cutoff))


class _Batches:
    """Commit after about ``batch`` deleted rows or ``MAX_TRANSACTION_S`` seconds, so no write transaction grows long."""

    def __init__(self, session: Session, batch: int, report: RetentionReport) -> None:
        self.session, self.batch, self.report, self.pending = session, batch, report, 0
        self.since = time.perf_counter()

    def add(self, table: str, deleted: int) -> None:
        self.report.counts[table] += deleted
        self.pending += deleted
        if self.pending >= self.batch or (self.pending and time.perf_counter() - self.since > MAX_TRANSACTION_S):
            self.flush()

    def run(self, table: str, step: Callable[[], int]) -> None:
        """Repeat one bounded delete until it deletes nothing."""
        while deleted := step():
            self.add(table, deleted)

    def partitions(
        self,
        table: str,
        counts: dict[int, int],
        delete_together: Callable[[list[int]], int],
        delete_one_batch: Callable[[int], int],
    ) -> None:
        """Delete partitions (sites or scopes) together while their counts fit a batch; bigger ones batch by batch."""
        together: list[int] = []
        size = 0
        for partition, count in sorted(counts.items()):
            if count > self.batch:
                self.run(table, lambda p=partition: delete_one_batch(p))  # type: ignore[misc]
                continue
            if together and size + count > self.batch:
                self.add(table, delete_together(together))
                together, size = [], 0
            together.append(partition)
            size += count
        if together:
            self.add(table, delete_together(together))

    def flush(self) -> None:
        self.session.commit()
        if self.pending:
            self.report.batches += 1
        self.pending = 0
        self.since = time.perf_counter()


def _chunks(ids: list[int], size: int = CHUNK) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def purge_expired(
    factory: sessionmaker[Session],
    today: dt.date,
    retention_days: int,
    *,
    batch: int = BATCH_ROWS,
    now: dt.datetime | None = None,
) -> RetentionReport:
    """Delete everything older than the cutoff, batch by batch; audited (counts and cutoff) when anything went."""
    cutoff = Cutoff.for_today(today, retention_days)
    report = RetentionReport(cutoff, dry_run=False, counts=dict.fromkeys(TABLES, 0))
    with factory() as session:
        batches = _Batches(session, batch, report)
        site_ids = queries.load_site_ids(session)
        for table in SITE_TABLES:
            for chunk in _chunks(site_ids):
                batches.flush()  # the counting read starts a fresh transaction
                counts = queries.count_site_rows_before(session, table, chunk, cutoff.ts, cutoff.day)
                batches.partitions(
                    table,
                    counts,
                    lambda ids, t=table: queries.delete_sites_rows_before(  # type: ignore[misc]
                        session, t, ids, cutoff.ts, cutoff.day
                    ),
                    lambda site, t=table: queries.delete_site_batch(  # type: ignore[misc]
                        session, t, site, cutoff.ts, cutoff.day, batch
                    ),
                )
        scope_ids = queries.load_scope_ids(session)
        for table in SCOPE_TABLES:
            for part in queries.SCOPE_PARTS:
                for chunk in _chunks(scope_ids[part[0]]):
                    batches.flush()
                    counts = queries.count_scope_rows_before(session, table, part, chunk, cutoff.ts)
                    batches.partitions(
                        table,
                        counts,
                        lambda ids, t=table, p=part: queries.delete_scopes_rows_before(  # type: ignore[misc]
                            session, t, p, ids, cutoff.ts
                        ),
                        lambda scope, t=table, p=part: queries.delete_scope_batch(  # type: ignore[misc]
                            session, t, p, scope, cutoff.ts, batch
                        ),
                    )
        batches.run("tracker_evaluations", lambda: queries.delete_tracker_evaluations(session, cutoff.day, batch))
        starts = cutoff.tracker_period_starts()
        batches.run("tracker_alerts", lambda: queries.delete_tracker_alerts(session, starts, batch))
        queries.clamp_windows(session, cutoff.ts)
        if report.total:
            audit.record(
                session,
                "retention_purge",
                user_id=None,
                detail={"cutoff_day": cutoff.day.isoformat(), "retention_days": retention_days, **report.counts},
                now=now,
            )
        batches.flush()
    return report
