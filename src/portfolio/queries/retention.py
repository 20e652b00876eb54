"""SQL for the retention purge: count and delete, in bounded batches, what is older than the cutoff.

Every delete is bounded to one partition of a table's primary key (a site, or a scope/fuel/resolution) and to at
most ``batch`` rows of it: the boundary is found with an index range scan (``ORDER BY ts LIMIT 1 OFFSET batch-1``)
and the delete is a range on the primary key, so neither SQLite nor PostgreSQL holds a long lock or scans a table.
Nothing here commits: :mod:`portfolio.services.retention` commits between batches.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from portfolio.models import (
    DailyUsage,
    ExpectedSeries,
    ExpectedSeriesRefresh,
    Organisation,
    PortfolioGroup,
    PortfolioSeries,
    Reading,
    Site,
    SiteExpected,
    SiteExpectedState,
    Tracker,
    TrackerAlert,
    TrackerEvaluation,
)

SCOPE_FUELS = ("power", "gas")
SCOPE_RESOLUTIONS = ("hh", "hour", "day")


def load_site_ids(session: Session) -> list[int]:
    return [int(s) for s in session.scalars(select(Site.id).order_by(Site.id))]


def load_scope_keys(session: Session) -> list[tuple[str, int, str, str]]:
    """Every (scope kind, scope id, fuel, resolution) partition the scope tables may hold."""
    scopes = [("all", 0)]
    scopes += [("org", int(o)) for o in session.scalars(select(Organisation.id).order_by(Organisation.id))]
    scopes += [("group", int(g)) for g in session.scalars(select(PortfolioGroup.id).order_by(PortfolioGroup.id))]
    return [(kind, sid, fuel, res) for kind, sid in scopes for fuel in SCOPE_FUELS for res in SCOPE_RESOLUTIONS]


# Counting (the dry run and the report) --------------------------------------------------------------------------


def count_readings(session: Session, cutoff_ts: int) -> int:
    return int(session.scalar(select(func.count()).select_from(Reading).where(Reading.start_ts < cutoff_ts)) or 0)


def count_daily_usage(session: Session, cutoff_day: dt.date) -> int:
    return int(
        session.scalar(select(func.count()).select_from(DailyUsage).where(DailyUsage.local_date < cutoff_day)) or 0
    )


def count_before(session: Session, model: Any, column: InstrumentedAttribute[int], cutoff_ts: int) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(column < cutoff_ts)) or 0)


def count_tracker_evaluations(session: Session, cutoff_day: dt.date) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(TrackerEvaluation).where(TrackerEvaluation.period_end < cutoff_day)
        )
        or 0
    )


def _closed_alerts(period_starts: dict[str, dt.date]) -> ColumnElement[bool]:
    """Alerts of periods that ended before the cutoff: per tracker period kind, started before the cutoff's period."""
    return or_(
        *(
            and_(Tracker.period == period, TrackerAlert.period_start < first_kept)
            for period, first_kept in period_starts.items()
        )
    )


def count_tracker_alerts(session: Session, period_starts: dict[str, dt.date]) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(TrackerAlert)
            .join(Tracker, Tracker.id == TrackerAlert.tracker_id)
            .where(_closed_alerts(period_starts))
        )
        or 0
    )


# Deleting, one bounded batch at a time --------------------------------------------------------------------------


def _delete_partition_batch(
    session: Session,
    model: Any,
    column: InstrumentedAttribute[Any],
    partition: list[ColumnElement[bool]],
    before: Any,
    batch: int,
) -> int:
    """Delete at most about ``batch`` of the oldest rows of one partition with ``column < before``; return the count.

    Rows sharing the boundary value go together (several weather locations in one bucket), so a batch may run a
    few rows over.
    """
    condition = and_(*partition, column < before)
    boundary = session.scalar(select(column).where(condition).order_by(column).offset(batch - 1).limit(1))
    if boundary is not None:
        condition = and_(*partition, column <= boundary)
    result = session.execute(delete(model).where(condition).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_site_rows(
    session: Session, table: str, site_id: int, cutoff_ts: int, cutoff_day: dt.date, batch: int
) -> int:
    """One batch of a site's rows in ``table`` ("readings", "daily_usage" or "site_expected") before the cutoff."""
    if table == "readings":
        return _delete_partition_batch(
            session, Reading, Reading.start_ts, [Reading.site_id == site_id], cutoff_ts, batch
        )
    if table == "daily_usage":
        return _delete_partition_batch(
            session, DailyUsage, DailyUsage.local_date, [DailyUsage.site_id == site_id], cutoff_day, batch
        )
    if table == "site_expected":
        return _delete_partition_batch(
            session, SiteExpected, SiteExpected.start_ts, [SiteExpected.site_id == site_id], cutoff_ts, batch
        )
    raise ValueError(f"no per-site retention for table {table!r}")


def site_has_rows_before(session: Session, table: str, site_id: int, cutoff_ts: int, cutoff_day: dt.date) -> bool:
    """Whether the site has anything older than the cutoff in ``table`` (an index seek: cheap when nothing is)."""
    if table == "readings":
        first: Any = session.scalar(select(func.min(Reading.start_ts)).where(Reading.site_id == site_id))
        return first is not None and first < cutoff_ts
    if table == "daily_usage":
        first = session.scalar(select(func.min(DailyUsage.local_date)).where(DailyUsage.site_id == site_id))
        return first is not None and first < cutoff_day
    first = session.scalar(select(func.min(SiteExpected.start_ts)).where(SiteExpected.site_id == site_id))
    return first is not None and first < cutoff_ts


def delete_scope_rows(session: Session, table: str, key: tuple[str, int, str, str], cutoff_ts: int, batch: int) -> int:
    """One batch of one (scope, fuel, resolution) partition of "portfolio_series" or "expected_series"."""
    model: Any = PortfolioSeries if table == "portfolio_series" else ExpectedSeries
    kind, scope_id, fuel, resolution = key
    partition = [
        model.scope_kind == kind,
        model.scope_id == scope_id,
        model.fuel == fuel,
        model.resolution == resolution,
    ]
    first = session.scalar(select(func.min(model.start_ts)).where(*partition))
    if first is None or first >= cutoff_ts:
        return 0
    return _delete_partition_batch(session, model, model.start_ts, partition, cutoff_ts, batch)


def delete_tracker_evaluations(session: Session, cutoff_day: dt.date, batch: int) -> int:
    ids = select(TrackerEvaluation.id).where(TrackerEvaluation.period_end < cutoff_day).limit(batch)
    doomed = list(session.scalars(ids))
    if not doomed:
        return 0
    session.execute(delete(TrackerEvaluation).where(TrackerEvaluation.id.in_(doomed)))
    return len(doomed)


def delete_tracker_alerts(session: Session, period_starts: dict[str, dt.date], batch: int) -> int:
    ids = (
        select(TrackerAlert.id)
        .join(Tracker, Tracker.id == TrackerAlert.tracker_id)
        .where(_closed_alerts(period_starts))
        .limit(batch)
    )
    doomed = list(session.scalars(ids))
    if not doomed:
        return 0
    session.execute(delete(TrackerAlert).where(TrackerAlert.id.in_(doomed)))
    return len(doomed)


def clamp_windows(session: Session, cutoff_ts: int) -> None:
    """The stored windows of the expected tables start no earlier than the cutoff once their rows before it went."""
    for model in (SiteExpectedState, ExpectedSeriesRefresh):
        session.execute(update(model).where(model.lo_ts < cutoff_ts).values(lo_ts=cutoff_ts))
