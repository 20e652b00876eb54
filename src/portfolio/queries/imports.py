"""SQL of the import path: organisations and sites for meters, the daily roll-up, weather rows, import profiles.

The engine-specific fast paths that write readings (SQLite batched upserts, PostgreSQL binary COPY) stay in
:mod:`portfolio.ingest.bulk`; everything else the loader reads or writes is here. Nothing here commits: the
import service owns the transaction, so a failed file leaves no trace.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portfolio.db import driver_connection
from portfolio.models import (
    UNASSIGNED_ACCOUNT,
    DailyUsage,
    Enrolment,
    ImportProfile,
    Meter,
    Organisation,
    Site,
    WeatherKind,
    WeatherLocation,
)
from portfolio.queries.data_version import mark_usage_changed

IN_CLAUSE_BATCH = 500


def load_organisation_by_account(session: Session, account: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.account_number == account))


def load_or_add_unassigned(session: Session) -> Organisation:
    """Find or create the admin-only organisation where meters of unknown ownership land."""
    organisation = load_organisation_by_account(session, UNASSIGNED_ACCOUNT)
    if organisation is None:
        organisation = Organisation(name="Unassigned", account_number=UNASSIGNED_ACCOUNT)
        session.add(organisation)
        session.flush()
    return organisation


def load_sites_by_meter(session: Session, identifiers: list[str]) -> dict[str, tuple[int, str]]:
    """Site id and time zone of every known meter identifier among ``identifiers``."""
    found: dict[str, tuple[int, str]] = {}
    for first in range(0, len(identifiers), IN_CLAUSE_BATCH):
        rows = session.execute(
            select(Meter.identifier, Site.id, Site.time_zone)
            .join(Site, Site.id == Meter.site_id)
            .where(Meter.identifier.in_(identifiers[first : first + IN_CLAUSE_BATCH]))
        )
        found.update((row.identifier, (int(row.id), str(row.time_zone))) for row in rows)
    return found


def load_site_names(session: Session, site_ids: list[int]) -> dict[int, str]:
    if not site_ids:
        return {}
    return {int(i): str(n) for i, n in session.execute(select(Site.id, Site.name).where(Site.id.in_(site_ids)))}


def _as_date(day: np.datetime64) -> dt.date:
    return dt.date.fromisoformat(str(day.astype("datetime64[D]")))


def load_rollup_days(session: Session, site_id: int, first_day: np.datetime64, last_day: np.datetime64) -> np.ndarray:
    """The local dates between first_day and last_day that already have a daily_usage row."""
    days = session.scalars(
        select(DailyUsage.local_date).where(
            DailyUsage.site_id == site_id,
            DailyUsage.local_date >= _as_date(first_day),
            DailyUsage.local_date <= _as_date(last_day),
        )
    ).all()
    return np.array(days, dtype="datetime64[D]")


def delete_rollup_days(session: Session, site_id: int, first_day: np.datetime64, last_day: np.datetime64) -> None:
    mark_usage_changed(session)
    session.execute(
        delete(DailyUsage).where(
            DailyUsage.site_id == site_id,
            DailyUsage.local_date >= _as_date(first_day),
            DailyUsage.local_date <= _as_date(last_day),
        )
    )


def load_stored_readings(
    session: Session, site_id: int, time_zone: str, first_day: np.datetime64, last_day: np.datetime64
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(start_ts, interval_seconds, energy_kwh, estimated) of a site's readings around local days first..last.

    Widened by a day each side (local midnights to UTC), so a caller rolling up by local day keeps only the
    wanted dates. Read through the driver cursor: this runs once per re-imported span and must be fast.
    """
    zone = zoneinfo.ZoneInfo(time_zone)
    lo = dt.datetime.combine(_as_date(first_day) - dt.timedelta(days=1), dt.time(), zone)
    hi = dt.datetime.combine(_as_date(last_day) + dt.timedelta(days=2), dt.time(), zone)
    connection = session.connection()
    marker = "%s" if connection.dialect.name == "postgresql" else "?"
    cursor = driver_connection(session).cursor()
    try:
        cursor.execute(
            "SELECT start_ts, interval_seconds, energy_kwh, estimated FROM readings"
            f" WHERE site_id = {marker} AND start_ts >= {marker} AND start_ts < {marker} ORDER BY start_ts",
            (site_id, int(lo.timestamp()), int(hi.timestamp())),
        )
        raw = cursor.fetchall()
    finally:
        cursor.close()
    if not raw:
        empty = np.array([], dtype=np.int64)
        return empty, empty, np.array([], dtype=np.float64), np.array([], dtype=bool)
    ts, interval, energy, estimated = (np.asarray(c) for c in zip(*raw, strict=False))
    return ts.astype(np.int64), interval.astype(np.int64), energy.astype(np.float64), estimated.astype(bool)


def insert_daily_rows(session: Session, site_id: int, rows: pd.DataFrame) -> None:
    """Insert roll-up rows (local_date, energy_kwh, intervals, estimated_intervals, interval_seconds) of one site."""
    mark_usage_changed(session)
    connection = session.connection()
    raw = driver_connection(session)
    n = len(rows)
    dates = rows["local_date"].to_numpy().astype("datetime64[D]")
    columns = [
        itertools.repeat(site_id, n),
        np.datetime_as_string(dates, unit="D").tolist()
        if connection.dialect.name == "sqlite"
        else dates.astype(object).tolist(),
        rows["energy_kwh"].to_numpy(dtype=np.float64).tolist(),
        rows["intervals"].to_numpy(dtype=np.int64).tolist(),
        rows["estimated_intervals"].to_numpy(dtype=np.int64).tolist(),
        rows["interval_seconds"].to_numpy(dtype=np.int64).tolist(),
    ]
    if connection.dialect.name == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(
                "COPY daily_usage (site_id, local_date, energy_kwh, intervals, estimated_intervals, interval_seconds)"
                " FROM STDIN"
            ) as copy,
        ):
            for row in zip(*columns, strict=False):
                copy.write_row(row)
        return
    raw.executemany(
        "INSERT INTO daily_usage (site_id, local_date, energy_kwh, intervals, estimated_intervals, interval_seconds)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        zip(*columns, strict=False),
    )


def load_or_add_weather_location(session: Session, name: str) -> int:
    location_id = session.scalar(select(WeatherLocation.id).where(WeatherLocation.name == name))
    if location_id is None:
        location = WeatherLocation(name=name)
        session.add(location)
        session.flush()
        location_id = location.id
    return int(location_id)


def upsert_weather_rows(
    session: Session, location_id: int, frame: pd.DataFrame, kind: WeatherKind, issued_at_ts: int | None
) -> int:
    """Upsert hourly temperatures (hour_ts, air_temperature_c); return rows inserted or changed.

    Graphs draw temperatures (and kept graphs are keyed by the usage data's version), so they count as usage data.
    """
    mark_usage_changed(session)
    n = len(frame)
    rows = list(
        zip(
            itertools.repeat(location_id, n),
            frame["hour_ts"].to_numpy(dtype=np.int64).tolist(),
            itertools.repeat(kind.value, n),
            frame["air_temperature_c"].to_numpy(dtype=np.float64).tolist(),
            itertools.repeat(issued_at_ts, n),
            strict=False,
        )
    )
    connection = session.connection()
    raw = driver_connection(session)
    postgres = connection.dialect.name == "postgresql"
    ne = "IS DISTINCT FROM" if postgres else "IS NOT"
    marker = "%s" if postgres else "?"
    sql = (
        "INSERT INTO weather_readings (location_id, hour_ts, kind, air_temperature_c, issued_at_ts)"
        f" VALUES ({', '.join([marker] * 5)}) ON CONFLICT (location_id, hour_ts, kind) DO UPDATE SET"
        " air_temperature_c = excluded.air_temperature_c, issued_at_ts = excluded.issued_at_ts"
        f" WHERE weather_readings.air_temperature_c {ne} excluded.air_temperature_c"
        f" OR weather_readings.issued_at_ts {ne} excluded.issued_at_ts"
    )
    if postgres:
        with raw.cursor() as cursor:
            cursor.executemany(sql, rows)
            return max(int(cursor.rowcount), 0)
    before = raw.total_changes
    raw.executemany(sql, rows)
    return int(raw.total_changes - before)


def count_profiles(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ImportProfile)) or 0)


def load_profile(session: Session, name: str) -> ImportProfile | None:
    return session.scalar(select(ImportProfile).where(ImportProfile.name == name))


def load_profile_for_header(session: Session, signature: str) -> ImportProfile | None:
    """The profile saved for files with this header signature (the oldest, if several)."""
    return session.scalar(
        select(ImportProfile).where(ImportProfile.header_signature == signature).order_by(ImportProfile.id).limit(1)
    )


def add_profile(
    session: Session, name: str, signature: str | None, header: str | None, options: dict[str, Any]
) -> None:
    session.add(ImportProfile(name=name, header_signature=signature, header=header, options=options))
    session.flush()


def load_daily_only_site_ids(session: Session, site_ids: list[int]) -> set[int]:
    """The sites among ``site_ids`` whose organisation opted out of half-hourly data (micro-business opt-out)."""
    if not site_ids:
        return set()
    statement = (
        select(Site.id)
        .join(Enrolment, Enrolment.organisation_id == Site.organisation_id)
        .where(Site.id.in_(sorted(set(site_ids))), Enrolment.opted_out_at.is_not(None))
    )
    return set(session.scalars(statement))
