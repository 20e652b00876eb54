"""Reads for exports: readings streamed in chunks with a server-side cursor, and portfolio sums made in the database.

Every function takes site ids the caller has already checked with the access policy. Readings are read in primary
key order (site, then time) so the writers can stream them; chunks come from the DB-API cursor's ``fetchmany``
(psycopg: a named, server-side cursor; SQLite: the stepping cursor), never from a list of the whole result, so
memory stays one chunk whatever the range. Site facts (name, MPAN/MPRN, fuel, zone) are read once and attached
per chunk, which is cheaper than joining them onto every reading in SQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from portfolio.db import driver_connection
from portfolio.exports.shapes import PORTFOLIO_CHUNK_COLUMNS, READING_CHUNK_COLUMNS, ROLLED_UP_DAY_COLUMNS
from portfolio.models import DailyUsage, IdentifierKind, Meter, Reading, Site
from portfolio.timekeeping import SECONDS_PER_DAY, local_midnight_ts, local_range_ts

CHUNK_ROWS = 50_000
EXPORT_SITE_COLUMNS = ("site_id", "site_name", "meter_identifier", "fuel", "time_zone")
_cursor_numbers = itertools.count()
_IDENTIFIER_PREFERENCE = {
    IdentifierKind.MPAN: 0,
    IdentifierKind.MPRN: 0,
    IdentifierKind.ESPI: 1,
    IdentifierKind.OTHER: 2,
}


def load_export_sites(session: Session, site_ids: Sequence[int]) -> pd.DataFrame:
    """Facts per site for the export header columns, ordered by site id; MPAN/MPRN first among a site's meters."""
    if not site_ids:
        return pd.DataFrame(columns=list(EXPORT_SITE_COLUMNS))
    rows = session.execute(
        select(Site.id, Site.name, Site.fuel, Site.time_zone)
        .where(Site.id.in_(sorted(set(site_ids))))
        .order_by(Site.id)
    ).all()
    meters = session.execute(
        select(Meter.site_id, Meter.identifier, Meter.kind).where(Meter.site_id.in_(sorted(set(site_ids))))
    )
    best: dict[int, tuple[int, str]] = {}
    for site_id, identifier, kind in meters:
        rank = (_IDENTIFIER_PREFERENCE.get(IdentifierKind(kind), 3), identifier)
        if site_id not in best or rank < best[site_id]:
            best[site_id] = rank
    return pd.DataFrame(
        [(r.id, r.name, best.get(r.id, (0, ""))[1], getattr(r.fuel, "value", r.fuel), r.time_zone) for r in rows],
        columns=list(EXPORT_SITE_COLUMNS),
    ).astype({"site_id": "int64"})


def _range_condition(sites: pd.DataFrame, start: dt.date, end: dt.date) -> ColumnElement[bool]:
    """Each site's readings within its own local days: one (ids, bounds) clause per time zone."""
    clauses = []
    for zone, group in sites.groupby("time_zone", sort=True):
        first_ts, after_ts = local_range_ts(start, end, str(zone))
        ids = sorted(int(s) for s in group["site_id"])
        clauses.append(and_(Reading.site_id.in_(ids), Reading.start_ts >= first_ts, Reading.start_ts < after_ts))
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def build_readings_statement(sites: pd.DataFrame, start: dt.date, end: dt.date) -> Select:
    """Readings of ``sites`` in local days ``start``..``end``, in primary-key order (site, then time)."""
    return (
        select(Reading.site_id, Reading.start_ts, Reading.interval_seconds, Reading.energy_kwh, Reading.estimated)
        .where(_range_condition(sites, start, end))
        .order_by(Reading.site_id, Reading.start_ts)
    )


def _iter_raw_chunks(session: Session, statement: Select, chunk_rows: int) -> Iterator[list[tuple]]:
    """Rows in lists of ``chunk_rows`` from the DB-API cursor: server-side on PostgreSQL, stepping on SQLite."""
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    raw = driver_connection(session)
    if connection.dialect.name == "postgresql":
        parameters = compiled.params
        cursor = raw.cursor(name=f"portfolio_export_{next(_cursor_numbers)}")
        cursor.itersize = chunk_rows
    else:
        parameters = tuple(compiled.params[name] for name in compiled.positiontup or ())
        cursor = raw.cursor()
    try:
        cursor.execute(compiled.string, parameters)
        while rows := cursor.fetchmany(chunk_rows):
            yield rows
    finally:
        cursor.close()


def iter_reading_chunks(
    session: Session, sites: pd.DataFrame, start: dt.date, end: dt.date, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Yield reading chunks in the writers' input shape (``shapes.READING_CHUNK_COLUMNS``), ordered by site then time.

    ``sites`` is :func:`load_export_sites` of access-checked ids. Run inside the caller's session (a transaction
    is open while the generator is alive); close the generator to release the cursor early.
    """
    if sites.empty:
        return
    facts = sites.set_index("site_id")
    for rows in _iter_raw_chunks(session, build_readings_statement(sites, start, end), chunk_rows):
        # One C-level pass over the row tuples into a float64 matrix (epoch seconds and ids are exact below 2**53):
        # about twice as fast as unzipping them into columns.
        values = np.fromiter(itertools.chain.from_iterable(rows), dtype="float64", count=5 * len(rows)).reshape(-1, 5)
        site_ids = values[:, 0].astype("int64")
        positions = facts.index.get_indexer(pd.Index(site_ids))
        yield pd.DataFrame(
            {
                "site_id": site_ids,
                "site_name": facts["site_name"].to_numpy(dtype=object)[positions],
                "meter_identifier": facts["meter_identifier"].to_numpy(dtype=object)[positions],
                "fuel": facts["fuel"].to_numpy(dtype=object)[positions],
                "time_zone": facts["time_zone"].to_numpy(dtype=object)[positions],
                "start_ts": values[:, 1].astype("int64"),
                "interval_seconds": values[:, 2].astype("int64"),
                "energy_kwh": values[:, 3].copy(),
                "estimated": values[:, 4] != 0,
            },
            columns=list(READING_CHUNK_COLUMNS),
        )


def iter_daily_usage_chunks(
    session: Session, sites: pd.DataFrame, start: dt.date, end: dt.date
) -> Iterator[pd.DataFrame]:
    """Each site's local days from the daily roll-up as one reading a day (the day's own length, 23 to 25 hours).

    For sites whose half-hourly readings are not kept (micro-business opt-out): a daily export then shows the day's
    total as one whole-day interval. Same shape as :func:`iter_reading_chunks`; one chunk per site.
    """
    for site in sites.to_dict("records"):
        site_id, zone = int(site["site_id"]), str(site["time_zone"])
        rows = session.execute(
            select(DailyUsage.local_date, DailyUsage.energy_kwh, DailyUsage.estimated_intervals)
            .where(DailyUsage.site_id == site_id, DailyUsage.local_date.between(start, end))
            .order_by(DailyUsage.local_date)
        ).all()
        if not rows:
            continue
        days = [row[0] for row in rows]
        starts = np.array([local_midnight_ts(day, zone) for day in days], dtype="int64")
        ends = np.array([local_midnight_ts(day + dt.timedelta(days=1), zone) for day in days], dtype="int64")
        n = len(rows)
        yield pd.DataFrame(
            {
                "site_id": np.full(n, site_id, dtype="int64"),
                "site_name": [site["site_name"]] * n,
                "meter_identifier": [site["meter_identifier"]] * n,
                "fuel": [site["fuel"]] * n,
                "time_zone": [zone] * n,
                "start_ts": starts,
                "interval_seconds": ends - starts,
                "energy_kwh": np.array([float(row[1]) for row in rows]),
                "estimated": np.array([bool(row[2]) for row in rows]),
            },
            columns=list(READING_CHUNK_COLUMNS),
        )


def load_sites_with_longer_readings(session: Session, sites: pd.DataFrame, start: dt.date, end: dt.date) -> set[int]:
    """Sites with a reading longer than a day (a monthly bill) in their local days ``start``..``end``: the daily
    roll-up leaves such readings out (``ingest.loader.refresh_daily_usage``). Read from a partial index."""
    if sites.empty:
        return set()
    statement = (
        select(Reading.site_id)
        .where(_range_condition(sites, start, end), Reading.interval_seconds > SECONDS_PER_DAY)
        .distinct()
    )
    return {int(site_id) for site_id in session.scalars(statement)}


def iter_rolled_up_days(
    session: Session,
    sites: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    one_reading_a_day: frozenset[int] = frozenset(),
    chunk_sites: int = 500,
) -> Iterator[pd.DataFrame]:
    """Each site's local days ``start``..``end`` from the daily roll-up, as days (``shapes.ROLLED_UP_DAY_COLUMNS``),
    ordered by site then day, ``chunk_sites`` sites a chunk: what a daily export computes from the readings, read
    as the roll-up keeps it (one row per site and day, not 48).

    ``one_reading_a_day``: sites whose half-hourly readings are not kept (micro-business opt-out): each day is shown
    as one whole-day reading, as :func:`iter_daily_usage_chunks` gives it to the other path.
    """
    if sites.empty:
        return
    facts = sites.set_index("site_id")
    ids = [int(s) for s in sites["site_id"]]
    for first in range(0, len(ids), chunk_sites):
        chosen = ids[first : first + chunk_sites]
        rows = session.execute(
            select(
                DailyUsage.site_id,
                DailyUsage.local_date,
                DailyUsage.energy_kwh,
                DailyUsage.intervals,
                DailyUsage.estimated_intervals,
                DailyUsage.interval_seconds,
            )
            .where(DailyUsage.site_id.in_(chosen), DailyUsage.local_date.between(start, end))
            .order_by(DailyUsage.site_id, DailyUsage.local_date)
        ).all()
        if not rows:
            continue
        site_ids = np.fromiter((row[0] for row in rows), dtype="int64", count=len(rows))
        positions = facts.index.get_indexer(pd.Index(site_ids))
        frame = pd.DataFrame(
            {
                "site_id": site_ids,
                "site_name": facts["site_name"].to_numpy(dtype=object)[positions],
                "meter_identifier": facts["meter_identifier"].to_numpy(dtype=object)[positions],
                "fuel": facts["fuel"].to_numpy(dtype=object)[positions],
                "time_zone": facts["time_zone"].to_numpy(dtype=object)[positions],
                "local_date": np.array([row[1] for row in rows], dtype="datetime64[D]"),
                "energy_kwh": np.fromiter((row[2] for row in rows), dtype="float64", count=len(rows)),
                "intervals": np.fromiter((row[3] for row in rows), dtype="int64", count=len(rows)),
                "estimated_intervals": np.fromiter((row[4] for row in rows), dtype="int64", count=len(rows)),
                "interval_seconds": np.fromiter((row[5] for row in rows), dtype="int64", count=len(rows)),
            },
            columns=list(ROLLED_UP_DAY_COLUMNS),
        )
        if one_reading_a_day:
            whole = frame["site_id"].isin(sorted(one_reading_a_day)).to_numpy()
            if whole.any():
                frame.loc[whole, "estimated_intervals"] = (frame.loc[whole, "estimated_intervals"] > 0).astype("int64")
                frame.loc[whole, "intervals"] = 1
                frame.loc[whole, "interval_seconds"] = [  # the day's own length: 23 to 25 hours
                    local_midnight_ts(day + dt.timedelta(days=1), zone) - local_midnight_ts(day, zone)
                    for day, zone in zip(
                        frame.loc[whole, "local_date"].dt.date, frame.loc[whole, "time_zone"], strict=True
                    )
                ]
        yield frame


def load_longest_intervals(session: Session, site_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[str, int]:
    """Per fuel, the longest interval [s] any of the sites metered in the range (from the daily roll-up)."""
    if not site_ids:
        return {}
    rows = session.execute(
        select(Site.fuel, func.max(DailyUsage.interval_seconds))
        .select_from(DailyUsage)
        .join(Site, Site.id == DailyUsage.site_id)
        .where(DailyUsage.site_id.in_(sorted(set(site_ids))), DailyUsage.local_date.between(start, end))
        .group_by(Site.fuel)
    ).all()
    return {getattr(fuel, "value", fuel): int(seconds) for fuel, seconds in rows if seconds}


def _wall_offset(time_zone: str, first_ts: int, after_ts: int) -> Any:
    """SQL expression: the zone's UTC offset [s] at each reading's start, from the offsets' change points in range."""
    hours = np.arange(first_ts - first_ts % 3600, after_ts + 3600, 3600, dtype=np.int64)
    utc = pd.DatetimeIndex(hours.astype("datetime64[s]")).tz_localize("UTC")
    offsets = utc.tz_convert(time_zone).tz_localize(None).as_unit("s").asi8 - hours
    changes = np.flatnonzero(np.diff(offsets)) + 1
    if not len(changes):
        return literal_column(str(int(offsets[0])))
    whens = [(Reading.start_ts >= int(hours[i]), int(offsets[i])) for i in reversed(changes)]
    return case(*whens, else_=int(offsets[0]))


def build_portfolio_statement(
    site_ids: Sequence[int],
    first_ts: int,
    after_ts: int,
    bucket_seconds: int,
    mixed: bool,
    time_zone: str = "UTC",
) -> Select:
    """Sum per interval start in the database; sites of coarser meters share a bucket of ``bucket_seconds``.

    With one interval length everywhere a site has one reading per start, so COUNT(*) counts sites; a group mixing
    HH and hourly meters is summed per hour and counts distinct sites. Buckets longer than an hour (HH with daily
    meters) are local days of ``time_zone``: the statement's start_ts is then the *wall-clock* midnight as epoch
    seconds, which :func:`iter_portfolio_chunks` turns back into the UTC start of that local day.
    """
    if mixed and bucket_seconds > 3600:
        wall = Reading.start_ts + _wall_offset(time_zone, first_ts, after_ts)
        start_ts = wall - wall % bucket_seconds
    else:
        start_ts = Reading.start_ts if not mixed else (Reading.start_ts - Reading.start_ts % bucket_seconds)
    bucket = start_ts.label("start_ts")
    sites_reporting = func.count(func.distinct(Reading.site_id)) if mixed else func.count(literal_column("*"))
    return (
        select(bucket, func.sum(Reading.energy_kwh).label("energy_kwh"), sites_reporting.label("sites_reporting"))
        .where(Reading.site_id.in_(sorted(set(site_ids))), Reading.start_ts >= first_ts, Reading.start_ts < after_ts)
        .group_by(bucket)
        .order_by(bucket)
    )


def iter_portfolio_chunks(
    session: Session, sites: pd.DataFrame, start: dt.date, end: dt.date, time_zone: str, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Yield per-fuel, per-interval sums (``shapes.PORTFOLIO_CHUNK_COLUMNS``), fuel by fuel, each in time order.

    The range is the local days of the portfolio's ``time_zone``. Never sums gas with power.
    """
    if sites.empty:
        return
    first_ts, after_ts = local_range_ts(start, end, time_zone)
    longest = load_longest_intervals(session, list(sites["site_id"]), start, end)
    for fuel, group in sites.groupby("fuel", sort=True):
        ids = [int(s) for s in group["site_id"]]
        shortest = session.scalar(
            select(func.min(DailyUsage.interval_seconds)).where(
                DailyUsage.site_id.in_(ids), DailyUsage.local_date.between(start, end)
            )
        )
        bucket = longest.get(str(fuel), 1800)
        mixed = shortest is not None and int(shortest) != bucket
        statement = build_portfolio_statement(ids, first_ts, after_ts, bucket, mixed, time_zone)
        for rows in _iter_raw_chunks(session, statement, chunk_rows):
            frame = pd.DataFrame(rows, columns=["start_ts", "energy_kwh", "sites_reporting"])
            if mixed and bucket > 3600:  # wall-clock midnights back to the UTC start of each local day
                wall = pd.DatetimeIndex(frame["start_ts"].to_numpy(dtype="int64").astype("datetime64[s]"))
                frame["start_ts"] = (
                    wall.tz_localize(time_zone, ambiguous=True, nonexistent="shift_forward").as_unit("s").asi8
                )
            frame["fuel"] = str(fuel)
            yield frame.astype({"start_ts": "int64", "energy_kwh": "float64", "sites_reporting": "int64"})[
                list(PORTFOLIO_CHUNK_COLUMNS)
            ]


def count_expected_rows(
    session: Session, sites: pd.DataFrame, start: dt.date, end: dt.date, shape: str
) -> dict[str, int]:
    """Rows per fuel an export will have, from the daily roll-up (cheap), so an Excel file that cannot fit is
    refused before streaming: readings for interval rows, site-days for daily rows, an upper bound for portfolio rows.
    """
    if sites.empty:
        return {}
    ids = sorted(int(s) for s in sites["site_id"])
    if shape == "portfolio":
        longest = load_longest_intervals(session, ids, start, end)
        days = (end - start).days + 2  # a day of slack for a 25-hour day
        return {fuel: days * SECONDS_PER_DAY // seconds for fuel, seconds in longest.items()}
    measure = func.sum(DailyUsage.intervals) if shape == "interval" else func.count(literal_column("*"))
    rows = session.execute(
        select(Site.fuel, measure)
        .select_from(DailyUsage)
        .join(Site, Site.id == DailyUsage.site_id)
        .where(DailyUsage.site_id.in_(ids), DailyUsage.local_date.between(start, end))
        .group_by(Site.fuel)
    ).all()
    return {getattr(fuel, "value", fuel): int(count or 0) for fuel, count in rows}


__all__ = [
    "CHUNK_ROWS",
    "EXPORT_SITE_COLUMNS",
    "build_portfolio_statement",
    "build_readings_statement",
    "count_expected_rows",
    "iter_portfolio_chunks",
    "iter_reading_chunks",
    "load_export_sites",
    "load_longest_intervals",
]
