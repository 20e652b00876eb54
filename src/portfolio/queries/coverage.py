"""The SQL behind coverage: which sites fell short on which local days, and which intervals they did report.

Asked of the daily roll-up first (a healthy portfolio's year is a few rows, not one per site and day), then of the
readings only within the short days' spans (:mod:`portfolio.queries.spans`). Used by
:mod:`portfolio.services.coverage` and :mod:`portfolio.services.missing_estimates`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from portfolio.models import DailyUsage
from portfolio.queries.graphs import as_tuples
from portfolio.queries.id_lists import in_ids
from portfolio.queries.spans import span_rows


def load_days_below(
    session: Session,
    site_ids: Sequence[int],
    first: dt.date,
    last: dt.date,
    wanted: int,
    exceptions: Mapping[dt.date, int],
) -> pd.DataFrame:
    """The daily roll-up rows first..last with fewer intervals than a full day holds: site_id, local_date, intervals.

    ``wanted``: intervals in an ordinary day for these sites' meters; ``exceptions``: the clock-change days' own
    counts. Days without a row are not here (:func:`load_sites_missing_days` finds those): a healthy portfolio's
    year is a few rows, not one per site and day.
    """
    if not site_ids:
        return pd.DataFrame({"site_id": pd.Series(dtype="int64"), "local_date": pd.Series(dtype="object")})
    full = (
        case(*[(DailyUsage.local_date == day, n) for day, n in exceptions.items()], else_=wanted)
        if exceptions
        else wanted
    )
    statement = select(DailyUsage.site_id, DailyUsage.local_date, DailyUsage.intervals).where(
        in_ids(DailyUsage.site_id, [int(s) for s in site_ids]),
        DailyUsage.local_date.between(first, last),
        DailyUsage.intervals < full,
    )
    frame = pd.DataFrame(as_tuples(session.execute(statement)), columns=["site_id", "local_date", "intervals"])
    return frame.astype({"site_id": "int64", "intervals": "int64"})


def load_day_row_counts(session: Session, site_ids: Sequence[int], first: dt.date, last: dt.date) -> dict[int, int]:
    """Daily roll-up rows per site first..last (a site without any is absent): one row per site, not per day."""
    if not site_ids:
        return {}
    statement = (
        select(DailyUsage.site_id, func.count())
        .where(in_ids(DailyUsage.site_id, [int(s) for s in site_ids]), DailyUsage.local_date.between(first, last))
        .group_by(DailyUsage.site_id)
    )
    return {int(site_id): int(count) for site_id, count in session.execute(statement)}


def load_day_site_counts(
    session: Session, site_ids: Sequence[int], first: dt.date, last: dt.date
) -> dict[dt.date, int]:
    """How many of the sites have a daily roll-up row on each local day first..last (a day none has is absent)."""
    if not site_ids:
        return {}
    statement = (
        select(DailyUsage.local_date, func.count())
        .where(in_ids(DailyUsage.site_id, [int(s) for s in site_ids]), DailyUsage.local_date.between(first, last))
        .group_by(DailyUsage.local_date)
    )
    return {day: int(count) for day, count in session.execute(statement)}


def load_site_days(
    session: Session, site_ids: Sequence[int], first: dt.date, last: dt.date, days: Sequence[dt.date] | None = None
) -> dict[int, set[dt.date]]:
    """The local days first..last (only ``days``, when given) on which each site has a daily roll-up row (a site
    without any: an empty set)."""
    present: dict[int, set[dt.date]] = {int(s): set() for s in site_ids}
    if not site_ids or (days is not None and not days):
        return present
    statement = select(DailyUsage.site_id, DailyUsage.local_date).where(
        in_ids(DailyUsage.site_id, [int(s) for s in site_ids]), DailyUsage.local_date.between(first, last)
    )
    if days is not None:
        statement = statement.where(DailyUsage.local_date.in_(sorted(set(days))))
    for site_id, day in session.execute(statement):
        present[int(site_id)].add(day)
    return present


def load_reading_starts_in(
    session: Session, spans: Mapping[int, Sequence[tuple[int, int]]], max_interval_seconds: int
) -> pd.DataFrame:
    """Which intervals have a reading within each site's spans [UTC epoch s): site_id, start_ts (no energies).

    A graph needs the reading times only on the days a site is incomplete; reading them for the whole window
    costs a year of half hours per site for one missing day.
    """
    parts = span_rows(
        session,
        "SELECT e.site_id, e.start_ts FROM readings e __SPAN_JOIN__ WHERE e.interval_seconds <= :longest",
        spans,
        {"longest": int(max_interval_seconds)},
    )
    values = np.array(parts, dtype=np.int64).reshape(-1, 2)
    return pd.DataFrame({"site_id": values[:, 0], "start_ts": values[:, 1]})
