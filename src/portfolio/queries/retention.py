"""SQL for the retention purge: count and delete, in bounded batches, what is older than the cutoff.

Rows to go are first counted per partition of a table's primary key (a site, or a scope of one fuel and
resolution), a chunk of partitions at a time, with index range scans over just those rows. Partitions are then
deleted together while their counts add up to at most a batch; a partition with more than a batch to go is
deleted a batch at a time, its boundary found with an index range scan (``ORDER BY ts LIMIT 1 OFFSET batch-1``).
Every delete is a range on the primary key: no table scan, no unbounded delete.
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
from portfolio.queries.data_version import mark_usage_changed

SCOPE_FUELS = ("power", "gas")
SCOPE_RESOLUTIONS = ("hh", "hour", "day")
SCOPE_PARTS = [
    (kind, fuel, res) for kind in ("all", "org", "group") for fuel in SCOPE_FUELS for res in SCOPE_RESOLUTIONS
]
"""(scope kind, fuel, resolution): the leading key columns of the scope tables, bar the scope id."""


def load_site_ids(session: Session) -> list[int]:
    return [int(s) for s in session.scalars(select(Site.id).order_by(Site.id))]


def load_scope_ids(session: Session) -> dict[str, list[int]]:
    """The ids of every scope kind the scope tables may hold ("all" is 0)."""
    return {
        "all": [0],
        "org": [int(o) for o in session.scalars(select(Organisation.id).order_by(Organisation.id))],
        "group": [int(g) for g in session.scalars(select(PortfolioGroup.id).order_by(PortfolioGroup.id))],
    }


def _site_table(table: str, cutoff_ts: int, cutoff_day: dt.date) -> tuple[Any, Any, Any]:
    """(model, time column, value before which rows go) of a per-site table."""
    if table == "readings":
        return Reading, Reading.start_ts, cutoff_ts
    if table == "daily_usage":
        return DailyUsage, DailyUsage.local_date, cutoff_day
    if table == "site_expected":
        return SiteExpected, SiteExpected.start_ts, cutoff_ts
    raise ValueError(f"no per-site retention for table {table!r}")


def count_site_rows_before(
    session: Session, table: str, site_ids: list[int], cutoff_ts: int, cutoff_day: dt.date
) -> dict[int, int]:
    """Per site of ``site_ids`` with any: rows of ``table`` before the cutoff (index range scans of what goes)."""
    model, column, before = _site_table(table, cutoff_ts, cutoff_day)
    rows = session.execute(
        select(model.site_id, func.count()).where(model.site_id.in_(site_ids), column < before).group_by(model.site_id)
    )
    return {int(site): int(n) for site, n in rows}


def delete_sites_rows_before(
    session: Session, table: str, site_ids: list[int], cutoff_ts: int, cutoff_day: dt.date
) -> int:
    """Delete every row of ``site_ids`` in ``table`` before the cutoff (the caller counted them: a bounded batch)."""
    model, column, before = _site_table(table, cutoff_ts, cutoff_day)
    mark_usage_changed(session)
    result = session.execute(
        delete(model).where(model.site_id.in_(site_ids), column < before).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _scope_model(table: str) -> Any:
    return PortfolioSeries if table == "portfolio_series" else ExpectedSeries


def count_scope_rows_before(
    session: Session, table: str, part: tuple[str, str, str], scope_ids: list[int], cutoff_ts: int
) -> dict[int, int]:
    """Per scope of kind ``part[0]`` (fuel ``part[1]``, resolution ``part[2]``): rows before the cutoff."""
    model = _scope_model(table)
    kind, fuel, resolution = part
    rows = session.execute(
        select(model.scope_id, func.count())
        .where(
            model.scope_kind == kind,
            model.scope_id.in_(scope_ids),
            model.fuel == fuel,
            model.resolution == resolution,
            model.start_ts < cutoff_ts,
        )
        .group_by(model.scope_id)
    )
    return {int(scope): int(n) for scope, n in rows}


def delete_scopes_rows_before(
    session: Session, table: str, part: tuple[str, str, str], scope_ids: list[int], cutoff_ts: int
) -> int:
    model = _scope_model(table)
    kind, fuel, resolution = part
    result = session.execute(
        delete(model)
        .where(
            model.scope_kind == kind,
            model.scope_id.in_(scope_ids),
            model.fuel == fuel,
            model.resolution == resolution,
            model.start_ts < cutoff_ts,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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


def delete_site_batch(
    session: Session, table: str, site_id: int, cutoff_ts: int, cutoff_day: dt.date, batch: int
) -> int:
    """One batch of one site's rows in ``table`` before the cutoff (a site with more than a batch to go)."""
    model, column, before = _site_table(table, cutoff_ts, cutoff_day)
    mark_usage_changed(session)
    return _delete_partition_batch(session, model, column, [model.site_id == site_id], before, batch)


def delete_scope_batch(
    session: Session, table: str, part: tuple[str, str, str], scope_id: int, cutoff_ts: int, batch: int
) -> int:
    """One batch of one scope's rows (of one fuel and resolution) before the cutoff."""
    model = _scope_model(table)
    kind, fuel, resolution = part
    partition = [
        model.scope_kind == kind,
        model.scope_id == scope_id,
        model.fuel == fuel,
        model.resolution == resolution,
    ]
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
