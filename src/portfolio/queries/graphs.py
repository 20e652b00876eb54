"""The SQL behind the consumption graphs: portfolio series, site readings, temperatures, biggest sites.

Every function returns plain pandas frames keyed by UTC epoch seconds; local time is the analytics'
business. Portfolio graphs read ``portfolio_series`` (a few hundred rows per view); when a viewer sees
only part of a group (access was narrowed after the group was built) they fall back to one GROUP BY
over the visible sites' readings, which is slower but never shows a site the viewer may not see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Date, TextClause, bindparam, func, select, text
from sqlalchemy.orm import Session

from portfolio.db import driver_connection
from portfolio.models import DailyUsage, PortfolioGroup, Site, WeatherLocation, portfolio_group_sites
from portfolio.queries.id_lists import in_ids, raw_in_ids
from portfolio.queries.spans import driver_rows
from portfolio.timekeeping import RESOLUTION_SECONDS, local_date_span, local_day_start_ts, utc_offset_periods

SERIES_COLUMNS = ["start_ts", "energy_kwh", "sites_reporting", "estimated_intervals"]


@dataclass(frozen=True)
class Scope:
    """A maintained portfolio series: ("group", id), ("org", id) or ("all", 0)."""

    kind: str
    id: int


def bucket_sql(resolution: str) -> str:
    """Bucket start of a reading [UTC epoch s]; integer division on both engines."""
    seconds = RESOLUTION_SECONDS[resolution]
    return f"(r.start_ts / {seconds}) * {seconds}"


def readings_series_sql(resolution: str, members: str, *, select_scope: bool = False) -> str:
    """One GROUP BY over the member sites' readings at ``resolution`` ("hh" or "hour"), per fuel and location.

    ``members`` is a SQL condition on ``s`` (the sites). Sites drive the join (CROSS JOIN fixes the order
    on SQLite), so a short range costs one primary-key range seek per site, not a scan of all readings.
    Readings longer than the bucket are left out: an hourly meter never shows as invented half hours.
    """
    seconds = RESOLUTION_SECONDS[resolution]
    scope = ":scope_kind, :scope_id, s.fuel, :resolution, " if select_scope else "s.fuel, "
    return (
        f"SELECT {scope}{bucket_sql(resolution)} AS bucket, COALESCE(s.weather_location_id, 0) AS location_id,"
        " SUM(r.energy_kwh), COUNT(DISTINCT r.site_id), SUM(CASE WHEN r.estimated THEN 1 ELSE 0 END)"
        " FROM sites s CROSS JOIN readings r"
        f" WHERE r.site_id = s.id AND {members} AND r.start_ts >= :lo AND r.start_ts < :hi"
        f" AND r.interval_seconds <= {seconds}"
        f" GROUP BY s.fuel, COALESCE(s.weather_location_id, 0), {bucket_sql(resolution)}"
    )


def daily_series_sql(members: str) -> str:
    """The day series per fuel, location and local date, from the daily roll-up (never the raw readings)."""
    return (
        "SELECT s.fuel, d.local_date, COALESCE(s.weather_location_id, 0), SUM(d.energy_kwh), COUNT(*),"
        " SUM(d.estimated_intervals) FROM sites s CROSS JOIN daily_usage d"
        f" WHERE d.site_id = s.id AND {members} AND d.local_date >= :first AND d.local_date <= :last"
        " GROUP BY s.fuel, COALESCE(s.weather_location_id, 0), d.local_date"
    )


def daily_series_statement(members: str) -> TextClause:
    """:func:`daily_series_sql` with its date parameters typed (SQLite stores dates as ISO text)."""
    return text(daily_series_sql(members)).bindparams(bindparam("first", type_=Date), bindparam("last", type_=Date))


def as_tuples(rows: Iterable[Sequence[object]]) -> list[tuple[object, ...]]:
    """Plain tuples: pandas probing SQLAlchemy Row objects attribute by attribute costs ~10 µs a row."""
    return [tuple(row) for row in rows]


def _frame(rows: Iterable[Sequence[object]]) -> pd.DataFrame:
    frame = pd.DataFrame(as_tuples(rows), columns=SERIES_COLUMNS)
    return frame.astype(
        {"start_ts": "int64", "energy_kwh": "float64", "sites_reporting": "int64", "estimated_intervals": "int64"}
    )


def scope_ids_by_kind(scopes: Sequence[Scope]) -> dict[str, list[int]]:
    """The scopes' ids per kind, in order: one ``scope_kind = … AND scope_id IN (…)`` term per kind, not one term per
    scope (a broker's "All sites" is ~20 organisations; SQLite reads the ids' list in half the time of an OR chain)."""
    ids: dict[str, list[int]] = {}
    for scope in scopes:
        ids.setdefault(scope.kind, []).append(int(scope.id))
    return {kind: sorted(set(values)) for kind, values in sorted(ids.items())}


def _scope_condition(session: Session, scopes: Sequence[Scope]) -> tuple[str, dict[str, object]]:
    parts: list[str] = []
    params: dict[str, object] = {}
    for n, (kind, ids) in enumerate(scope_ids_by_kind(scopes).items()):
        member, bound = raw_in_ids(session, "scope_id", ids, f"i{n}")
        parts.append(f"(scope_kind = :k{n} AND {member})")
        params.update({f"k{n}": kind, **bound})
    return "(" + " OR ".join(parts) + ")", params


def load_scope_series(
    session: Session, scopes: Sequence[Scope], fuel: str, resolution: str, lo_ts: int, hi_ts: int
) -> pd.DataFrame:
    """The maintained series of ``scopes`` summed per bucket in [lo_ts, hi_ts): start_ts, energy_kwh, ..."""
    if not scopes:
        return _frame([])
    condition, params = _scope_condition(session, scopes)
    statement = text(
        "SELECT start_ts, SUM(energy_kwh), SUM(sites_reporting), SUM(estimated_intervals) FROM portfolio_series"
        f" WHERE {condition} AND fuel = :fuel AND resolution = :resolution AND start_ts >= :lo AND start_ts < :hi"
        " GROUP BY start_ts ORDER BY start_ts"
    )
    rows = session.execute(statement, {**params, "fuel": fuel, "resolution": resolution, "lo": lo_ts, "hi": hi_ts})
    return _frame(rows.all())


def load_scope_location_weights(
    session: Session, scopes: Sequence[Scope], fuel: str, lo_ts: int, hi_ts: int
) -> pd.Series:
    """Energy [kWh] per weather location over the days starting in [lo_ts, hi_ts): the temperature weights."""
    if not scopes:
        return pd.Series(dtype="float64")
    condition, params = _scope_condition(session, scopes)
    statement = text(
        "SELECT weather_location_id, SUM(energy_kwh) FROM portfolio_series"
        f" WHERE {condition} AND fuel = :fuel AND resolution = 'day' AND start_ts >= :lo AND start_ts < :hi"
        " GROUP BY weather_location_id"
    )
    rows = session.execute(statement, {**params, "fuel": fuel, "lo": lo_ts, "hi": hi_ts}).all()
    return pd.Series({int(loc): float(kwh) for loc, kwh in rows}, dtype="float64")


def _member_ids_sql(site_ids: Sequence[int]) -> str:
    # Site ids are ints from the access policy; literal lists avoid SQLite's variable limit on big portfolios.
    return "s.id IN (" + ",".join(str(int(s)) for s in site_ids) + ")" if site_ids else "1 = 0"


def load_sites_series(
    session: Session, site_ids: Sequence[int], fuel: str, resolution: str, lo_ts: int, hi_ts: int
) -> pd.DataFrame:
    """The series of an arbitrary set of sites straight from readings (or the daily roll-up for "day")."""
    members = f"{_member_ids_sql(site_ids)} AND s.fuel = :fuel"
    if resolution == "day":
        first, last = local_date_span(lo_ts, hi_ts)
        rows = session.execute(daily_series_statement(members), {"fuel": fuel, "first": first, "last": last}).all()
        if not rows:
            return _frame([])
        frame = pd.DataFrame(as_tuples(rows), columns=["fuel", "local_date", "location_id", *SERIES_COLUMNS[1:]])
        frame["start_ts"] = local_day_start_ts(frame["local_date"])
        grouped = frame.groupby("start_ts", as_index=False)[SERIES_COLUMNS[1:]].sum()
        grouped = grouped[(grouped["start_ts"] >= lo_ts) & (grouped["start_ts"] < hi_ts)]
        return _frame(grouped[SERIES_COLUMNS].itertuples(index=False))
    result = session.execute(text(readings_series_sql(resolution, members)), {"fuel": fuel, "lo": lo_ts, "hi": hi_ts})
    frame = pd.DataFrame(as_tuples(result), columns=["fuel", "start_ts", "location_id", *SERIES_COLUMNS[1:]])
    grouped = frame.groupby("start_ts", as_index=False)[SERIES_COLUMNS[1:]].sum().sort_values("start_ts")
    return _frame(grouped[SERIES_COLUMNS].itertuples(index=False))


def load_sites_location_weights(
    session: Session, site_ids: Sequence[int], fuel: str, first: dt.date, last: dt.date
) -> pd.Series:
    """Energy [kWh] per weather location of ``site_ids`` over local days first..last (daily roll-up)."""
    # grouped by the bare column (NULL: no location, reported as 0): PostgreSQL does not match a bound
    # COALESCE(..., 0) in SELECT to the one in GROUP BY, since each gets its own parameter
    statement = (
        select(Site.weather_location_id, func.sum(DailyUsage.energy_kwh))
        .join(DailyUsage, DailyUsage.site_id == Site.id)
        .where(in_ids(Site.id, list(site_ids)), Site.fuel == fuel, DailyUsage.local_date.between(first, last))
        .group_by(Site.weather_location_id)
    )
    return pd.Series({int(loc or 0): float(kwh) for loc, kwh in session.execute(statement)}, dtype="float64")


def load_site_readings(session: Session, site_id: int, lo_ts: int, hi_ts: int) -> pd.DataFrame:
    """One site's readings in [lo_ts, hi_ts): a primary-key range scan, on the raw driver for speed."""
    connection = session.connection()
    marker = "%s" if connection.dialect.name == "postgresql" else "?"
    cursor = driver_connection(session).cursor()
    try:
        cursor.execute(
            "SELECT start_ts, interval_seconds, energy_kwh, estimated FROM readings"
            f" WHERE site_id = {marker} AND start_ts >= {marker} AND start_ts < {marker} ORDER BY start_ts",
            (int(site_id), int(lo_ts), int(hi_ts)),
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    frame = pd.DataFrame(rows, columns=["start_ts", "interval_seconds", "energy_kwh", "estimated"])
    return frame.astype(
        {"start_ts": "int64", "interval_seconds": "int64", "energy_kwh": "float64", "estimated": "bool"}
    )


def local_day_number_sql(column: str, offsets: Sequence[tuple[int, int]]) -> tuple[str, dict[str, int]]:
    """SQL for the local date of ``column`` [UTC epoch s] as whole days since 1970-01-01, and its parameters.

    ``offsets``: the zone's UTC offsets over the rows' span (:func:`portfolio.timekeeping.utc_offset_periods`); a
    row's local date is its instant plus the offset then, in whole days (integer division on both engines).
    """
    params: dict[str, int] = {"o0": int(offsets[0][1])}
    branches = []
    for n, (since, offset) in enumerate(offsets[1:], start=1):
        branches.append(f" WHEN {column} >= :t{n} THEN :o{n}")
        params.update({f"t{n}": int(since), f"o{n}": int(offset)})
    shift = f"CASE{''.join(reversed(branches))} ELSE :o0 END" if branches else ":o0"
    return f"({column} + {shift}) / 86400", params


WEIGHTED_TEMPERATURE_COLUMNS = {"start_ts": "int64", "temperature_c": "float64", "forecast": "bool"}


def load_weighted_temperature(
    session: Session, weights: Mapping[int, float], lo_ts: int, hi_ts: int, resolution: str, time_zone: str
) -> pd.DataFrame:
    """Consumption-weighted mean temperature [°C] per hour, or per local day, of the hours in [lo_ts, hi_ts).

    ``weights``: energy [kWh] per weather location over the range (a site's share of consumption goes to its
    location); locations weighing nothing are left out. An hour uses the locations that report it, their weights
    renormalised. Forecast hours after the last observed hour (of any weighted location in the range) are kept and
    flagged; earlier forecasts are superseded by observations. At ``resolution`` "day" a local day is the mean of
    its hours, flagged forecast when all of them are. Returns start_ts (the hour's, or the local midnight's),
    temperature_c, forecast, in time order.

    Added up in the database: a year of hours at many locations is a few hundred rows by the time it leaves it.
    """
    weighted = {int(location): float(weight) for location, weight in weights.items() if location and weight > 0}
    if not weighted or hi_ts <= lo_ts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in WEIGHTED_TEMPERATURE_COLUMNS.items()})
    member, bound = raw_in_ids(session, "r.location_id", list(weighted))
    params: dict[str, Any] = {"lo": int(lo_ts), "hi": int(hi_ts), **bound}
    last_observed = driver_rows(
        session,
        f"SELECT MAX(r.hour_ts) FROM weather_readings r WHERE {member} AND r.kind = 'observed'"
        " AND r.hour_ts >= :lo AND r.hour_ts < :hi",
        params,
    )[0][0]
    params["last"] = -1 if last_observed is None else int(last_observed)
    weight = "CASE r.location_id"
    for n, (location, kwh) in enumerate(sorted(weighted.items())):
        weight += f" WHEN :l{n} THEN :w{n}"
        params.update({f"l{n}": location, f"w{n}": kwh})
    weight += " END"
    hourly = (  # the last observed hour is a bound value, not a joined aggregate: no plan can evaluate it per row
        f"SELECT r.hour_ts AS hour_ts, SUM({weight} * r.air_temperature_c) / SUM({weight}) AS temperature_c,"
        " CASE WHEN r.hour_ts > :last THEN 1 ELSE 0 END AS forecast FROM weather_readings r"
        f" WHERE {member} AND r.hour_ts >= :lo AND r.hour_ts < :hi AND (r.kind = 'observed' OR r.hour_ts > :last)"
        " GROUP BY r.hour_ts"
    )
    if resolution == "day":
        day, day_params = local_day_number_sql("hour_ts", utc_offset_periods(lo_ts, hi_ts, time_zone))
        params.update(day_params)
        sql = (
            f"SELECT {day} AS day_number, AVG(temperature_c), MIN(forecast) FROM ({hourly}) hourly"
            " GROUP BY day_number ORDER BY day_number"
        )
    else:
        sql = f"{hourly} ORDER BY r.hour_ts"
    rows = np.array(driver_rows(session, sql, params), dtype=np.float64).reshape(-1, 3)
    starts = rows[:, 0].astype(np.int64)
    if resolution == "day":
        epoch = dt.date(1970, 1, 1)
        starts = np.asarray(
            local_day_start_ts([epoch + dt.timedelta(days=int(n)) for n in starts], time_zone), dtype=np.int64
        )
    return pd.DataFrame({"start_ts": starts, "temperature_c": rows[:, 1], "forecast": rows[:, 2] > 0})


GRAPH_SITE_COLUMNS = ["site_id", "name", "fuel", "meter_type", "time_zone", "weather_location_id", "organisation_id"]


def load_graph_sites(session: Session, site_ids: Sequence[int]) -> pd.DataFrame:
    """Facts the graph needs per site: name, fuel, meter type, zone, weather location (0 = none), organisation."""
    return load_graph_sites_where(session, in_ids(Site.id, list(site_ids)))


def load_graph_sites_where(session: Session, condition: ColumnElement[bool]) -> pd.DataFrame:
    """:func:`load_graph_sites` for every site meeting ``condition`` (``services.groups.group_site_condition``): the
    sites and their facts in one query, not their ids first."""
    statement = (
        select(
            Site.id,
            Site.name,
            Site.fuel,
            Site.meter_type,
            Site.time_zone,
            func.coalesce(Site.weather_location_id, 0),
            Site.organisation_id,
        )
        .where(condition)
        .order_by(Site.name)
    )
    rows = [(i, n, f.value, m.value, z, int(w), o) for i, n, f, m, z, w, o in session.execute(statement)]
    return pd.DataFrame(rows, columns=GRAPH_SITE_COLUMNS)


def load_top_sites(
    session: Session, site_ids: Sequence[int], fuel: str, first: dt.date, last: dt.date, limit: int
) -> list[int]:
    """The ``limit`` sites of ``fuel`` using most energy over local days first..last (daily roll-up)."""
    statement = (
        select(DailyUsage.site_id)
        .join(Site, Site.id == DailyUsage.site_id)
        .where(in_ids(Site.id, list(site_ids)), Site.fuel == fuel, DailyUsage.local_date.between(first, last))
        .group_by(DailyUsage.site_id)
        .order_by(func.sum(DailyUsage.energy_kwh).desc())
        .limit(limit)
    )
    return [int(s) for s in session.scalars(statement)]


def load_group_member_ids(session: Session, group_id: int) -> list[int]:
    statement = select(portfolio_group_sites.c.site_id).where(portfolio_group_sites.c.group_id == group_id)
    return sorted(int(s) for s in session.scalars(statement))


def load_group_ids_with_sites(session: Session, site_ids: Sequence[int]) -> list[int]:
    statement = (
        select(portfolio_group_sites.c.group_id)
        .where(in_ids(portfolio_group_sites.c.site_id, list(site_ids)))
        .distinct()
    )
    return sorted(int(g) for g in session.scalars(statement))


def load_all_group_ids(session: Session) -> list[int]:
    return sorted(int(g) for g in session.scalars(select(PortfolioGroup.id)))


def load_group_owner_ids(session: Session) -> dict[int, int]:
    """Every portfolio group's owner (a user id), by group id."""
    return {int(g): int(o) for g, o in session.execute(select(PortfolioGroup.id, PortfolioGroup.owner_id))}


def load_location_names(session: Session, location_ids: Sequence[int]) -> list[str]:
    statement = select(WeatherLocation.name).where(WeatherLocation.id.in_([int(i) for i in location_ids]))
    return sorted(session.scalars(statement))
