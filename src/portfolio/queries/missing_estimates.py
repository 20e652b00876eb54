"""SQL for the stored missing-interval estimates per site and UK local day (``site_missing_estimates``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from portfolio.models import DailyUsage, Site, SiteExpectedState, SiteMissingEstimate, SiteMissingEstimateState
from portfolio.queries.data_version import mark_usage_changed
from portfolio.queries.graphs import as_tuples
from portfolio.queries.id_lists import in_ids, raw_in_ids
from portfolio.queries.spans import driver_rows
from portfolio.queries.usage import DEFAULT_INTERVAL_SECONDS

ESTIMATE_COLUMNS = ["site_id", "local_date", "reported_intervals", "estimated_kwh", "estimated_se_kwh"]


def load_estimated_sites(session: Session, site_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """site_id, interval_seconds (from the meter type: half-hourly unless hourly AMR) of every site, or of these."""
    statement = select(Site.id, Site.meter_type).order_by(Site.id)
    if site_ids is not None:
        statement = statement.where(in_ids(Site.id, [int(s) for s in site_ids]))
    rows = session.execute(statement).all()
    return pd.DataFrame(
        {
            "site_id": [int(r[0]) for r in rows],
            "interval_seconds": [int(DEFAULT_INTERVAL_SECONDS.get(r[1], 1800)) for r in rows],
        }
    )


def load_estimate_states(session: Session, site_ids: Sequence[int]) -> dict[int, SiteMissingEstimateState]:
    if not site_ids:
        return {}
    statement = select(SiteMissingEstimateState).where(
        in_ids(SiteMissingEstimateState.site_id, [int(s) for s in site_ids])
    )
    return {state.site_id: state for state in session.scalars(statement)}


def replace_estimates(
    session: Session, site_ids: Sequence[int], first: dt.date, last: dt.date, rows: pd.DataFrame
) -> None:
    """Replace the stored rows of ``site_ids`` on first..last with ``rows`` (columns as ``ESTIMATE_COLUMNS``)."""
    mark_usage_changed(session)
    ids = [int(s) for s in site_ids]
    session.execute(
        delete(SiteMissingEstimate).where(
            in_ids(SiteMissingEstimate.site_id, ids), SiteMissingEstimate.local_date.between(first, last)
        )
    )
    if len(rows):
        session.execute(
            insert(SiteMissingEstimate),
            [
                {
                    "site_id": int(site_id),
                    "local_date": day,
                    "reported_intervals": int(reported),
                    "estimated_kwh": None if pd.isna(kwh) else float(kwh),
                    "estimated_se_kwh": None if pd.isna(se) else float(se),
                }
                for site_id, day, reported, kwh, se in zip(*(rows[c] for c in ESTIMATE_COLUMNS), strict=True)
            ],
        )


def prune_estimates(session: Session, first: dt.date) -> None:
    """Drop the rows of days before ``first`` (out of every site's window)."""
    mark_usage_changed(session)
    session.execute(delete(SiteMissingEstimate).where(SiteMissingEstimate.local_date < first))
    session.execute(
        update(SiteMissingEstimateState).where(SiteMissingEstimateState.from_date < first).values(from_date=first)
    )


def forget_estimates(session: Session, site_ids: Sequence[int]) -> None:
    """Drop a site's stored estimates (its readings were removed: they are computed afresh until the next run)."""
    mark_usage_changed(session)
    ids = [int(s) for s in site_ids]
    session.execute(delete(SiteMissingEstimate).where(SiteMissingEstimate.site_id.in_(ids)))
    session.execute(delete(SiteMissingEstimateState).where(SiteMissingEstimateState.site_id.in_(ids)))


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def load_usable_through(session: Session, site_ids: Sequence[int], first: dt.date, last: dt.date) -> dict[int, dt.date]:
    """Per site, the last day of first..last whose stored estimates may be used (sites without any are absent).

    Usable: stored from ``first`` on, made from the site's current predictions, and every stored row of the range
    still matching the daily roll-up's count (readings that arrived since make the whole site computed afresh).
    """
    ids = [int(s) for s in site_ids]
    if not ids:
        return {}
    states = session.execute(
        select(
            SiteMissingEstimateState.site_id,
            SiteMissingEstimateState.from_date,
            SiteMissingEstimateState.through_date,
            SiteMissingEstimateState.predictions_computed_at,
            SiteExpectedState.computed_at,
        )
        .outerjoin(SiteExpectedState, SiteExpectedState.site_id == SiteMissingEstimateState.site_id)
        .where(in_ids(SiteMissingEstimateState.site_id, ids))
    ).all()
    usable = {
        int(site_id): min(through, last)
        for site_id, from_date, through, made_from, current in states
        if from_date <= first and through >= first and _aware(made_from) == _aware(current)
    }
    if not usable:
        return {}
    reported = func.coalesce(DailyUsage.intervals, 0)
    stale = (
        select(SiteMissingEstimate.site_id)
        .outerjoin(
            DailyUsage,
            (DailyUsage.site_id == SiteMissingEstimate.site_id)
            & (DailyUsage.local_date == SiteMissingEstimate.local_date)
            # the same range on the roll-up's side: an index range read, not a scan of every site's every day
            & DailyUsage.local_date.between(first, last),
        )
        .where(
            in_ids(SiteMissingEstimate.site_id, list(usable)),
            SiteMissingEstimate.local_date.between(first, last),
            reported != SiteMissingEstimate.reported_intervals,
        )
        .distinct()
    )
    for site_id in session.scalars(stale):
        usable.pop(int(site_id), None)
    return usable


def _sites_by_last_day(through: Mapping[int, dt.date]) -> list[tuple[dt.date, list[int]]]:
    """Sites grouped by their last usable day: one statement per distinct day (usually one for all sites)."""
    by_day: dict[dt.date, list[int]] = {}
    for site_id, day in through.items():
        by_day.setdefault(day, []).append(int(site_id))
    return sorted(by_day.items())


def load_stored_estimates(session: Session, through: Mapping[int, dt.date], first: dt.date) -> pd.DataFrame:
    """The stored rows of each site from ``first`` to its own last usable day (columns as ``ESTIMATE_COLUMNS``).

    Read through the driver's cursor: a year of 1,000 sites' short days is ~27,000 rows, whose Row objects and
    per-value conversions cost more than the statement (72 -> 49 ms on PostgreSQL).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    rows: list[tuple[Any, ...]] = []
    for day, ids in _sites_by_last_day(through):
        member, bound = raw_in_ids(session, "site_id", ids)
        rows.extend(
            driver_rows(
                session,
                "SELECT site_id, local_date, reported_intervals, estimated_kwh, estimated_se_kwh"
                f" FROM site_missing_estimates WHERE {member} AND local_date >= :first AND local_date <= :last",
                {
                    **bound,
                    "first": first if postgres else first.isoformat(),  # SQLite keeps dates as ISO text
                    "last": day if postgres else day.isoformat(),
                },
            )
        )
    frame = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)
    dates = {
        value: value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        for value in set(frame["local_date"])
    }
    frame["local_date"] = frame["local_date"].map(dates) if len(frame) else frame["local_date"]
    return frame.astype(
        {"site_id": "int64", "reported_intervals": "int64", "estimated_kwh": "float64", "estimated_se_kwh": "float64"}
    )


def load_stored_site_totals(session: Session, through: Mapping[int, dt.date], first: dt.date) -> pd.DataFrame:
    """Per site, its stored rows from ``first`` to its own last usable day added in SQL: site_id, estimated_kwh
    (NULL when no missing interval had a prediction), estimated_se_kwh; sites without a short day are absent."""
    rows: list[tuple[Any, ...]] = []
    for day, ids in _sites_by_last_day(through):
        statement = (
            select(
                SiteMissingEstimate.site_id,
                func.sum(SiteMissingEstimate.estimated_kwh),
                func.sum(SiteMissingEstimate.estimated_se_kwh),
            )
            .where(in_ids(SiteMissingEstimate.site_id, ids), SiteMissingEstimate.local_date.between(first, day))
            .group_by(SiteMissingEstimate.site_id)
        )
        rows.extend(as_tuples(session.execute(statement)))
    frame = pd.DataFrame(rows, columns=["site_id", "estimated_kwh", "estimated_se_kwh"])
    return frame.astype({"site_id": "int64", "estimated_kwh": "float64", "estimated_se_kwh": "float64"})
