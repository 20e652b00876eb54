"""Bulk loader: parsed files into the database, one transaction per file, at hundreds of thousands of rows a second.

The loader never commits. It does all its work in the caller's Session so that the caller's commit or
rollback decides the fate of the whole file: a failed file leaves no partial state behind.

Readings are upserted on (site_id, start_ts) through ``portfolio.ingest.bulk`` (binary COPY on PostgreSQL,
batched upserts on SQLite): importing the same file twice leaves the database exactly as it was. The loader
keeps the daily roll-up and the portfolio series current for what the file changed.

Rows whose ``energy_kwh`` is NaN are gaps, not readings: they are dropped. Within one frame, a repeated
``start_ts`` keeps its last actual reading (or its last estimate if it has no actual one).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from portfolio.ingest.bulk import LoaderError, store_clean_readings
from portfolio.ingest.records import READING_COLUMNS, WEATHER_COLUMNS, MeterSeries, ParsedFile
from portfolio.models import (
    Direction,
    Fuel,
    IdentifierKind,
    ImportRecord,
    Meter,
    MeterType,
    Organisation,
    Site,
    WeatherKind,
)
from portfolio.queries import imports as queries
from portfolio.services import series as portfolio_series
from portfolio.timekeeping import SECONDS_PER_DAY, UK_TIME_ZONE

DEFAULT_TIME_ZONE = UK_TIME_ZONE


@dataclass(frozen=True)
class LoadSummary:
    sites: int  # distinct sites that received readings
    sites_created: int
    readings: int  # rows inserted or changed
    weather: int  # weather rows inserted or changed
    site_ids: frozenset[int] = field(default=frozenset(), compare=False, repr=False)  # to count distinct sites


def load_parsed(
    session: Session,
    parsed: ParsedFile,
    *,
    organisation_account: str | None = None,
    filename: str,
    sha256: str,
) -> LoadSummary:
    """Store one parsed file in the caller's transaction; the caller commits or rolls back the whole file.

    Unknown meters get a new site in ``organisation_account`` (or in "Unassigned", which only admins see,
    so nothing lands in a customer's view by accident); known meters add to their site wherever it is.
    """
    organisation = _load_organisation(session, organisation_account) if organisation_account is not None else None
    record = ImportRecord(filename=filename[:500], sha256=sha256, format=parsed.format[:40], readings=0)
    session.add(record)
    session.flush()

    sites = _sites_for(session, parsed.meters, organisation)
    empty_sites = {site_id for site_id, _, created in sites.values() if created}  # no readings, no roll-up yet
    daily_only = queries.load_daily_only_site_ids(session, [site_id for site_id, _, _ in sites.values()])
    sites_with_readings: set[int] = set()
    readings = 0
    new_sites: list[tuple[int, pd.DataFrame, pd.DataFrame]] = []  # first readings: series added from the frames
    for series in parsed.meters:
        site_id, time_zone, _ = sites[series.identifier]
        frame = _clean_readings(series.readings)
        if frame.empty:
            continue
        sites_with_readings.add(site_id)
        was_empty = site_id in empty_sites
        if site_id in daily_only:  # opted out of half-hourly data: keep the daily roll-up, never the intervals
            readings += _store_daily_only(session, site_id, time_zone, frame, was_empty, new_sites)
            empty_sites.discard(site_id)
            continue
        ts = frame["start_ts"].to_numpy()
        interval = frame["interval_seconds"].to_numpy()
        span = (int(ts[0]), int(ts[-1]) + int(interval[-1]))
        if not was_empty:  # the portfolio series lose this site's old part of the span, and regain the new one below
            portfolio_series.subtract_site_span(session, site_id, *span)
        changed = store_clean_readings(session, site_id, frame, record.id)
        readings += changed
        if changed:
            _refresh_clean(session, site_id, time_zone, *span, frame, site_was_empty=was_empty)
        if was_empty:
            daily = _daily_rollup(
                ts, interval, frame["energy_kwh"].to_numpy(), frame["estimated"].to_numpy(), time_zone
            )
            new_sites.append((site_id, frame, daily))
        else:
            portfolio_series.add_site_span(session, site_id, *span)
        empty_sites.discard(site_id)
    portfolio_series.add_new_sites(session, new_sites)
    weather = sum(
        store_weather(session, w.location, w.temperatures, kind=w.kind, issued_at_ts=w.issued_at_ts)
        for w in parsed.weather
    )
    record.readings = readings
    session.flush()
    return LoadSummary(
        sites=len(sites_with_readings),
        sites_created=sum(created for _, _, created in sites.values()),
        readings=readings,
        weather=weather,
        site_ids=frozenset(sites_with_readings),
    )


def _store_daily_only(
    session: Session,
    site_id: int,
    time_zone: str,
    frame: pd.DataFrame,
    was_empty: bool,
    new_sites: list[tuple[int, pd.DataFrame, pd.DataFrame]],
) -> int:
    """Store only the local-day totals of a site whose organisation opted out of half-hourly data.

    The file's days replace the roll-up of those days (no interval readings are kept to recompute them from), and
    the portfolio series lose the old days and gain the new; the hh and hour series get nothing. Returns the days
    written.
    """
    ts = frame["start_ts"].to_numpy(dtype=np.int64)
    interval = frame["interval_seconds"].to_numpy(dtype=np.int64)
    daily = _daily_rollup(
        ts, interval, frame["energy_kwh"].to_numpy(dtype=np.float64), frame["estimated"].to_numpy(dtype=bool), time_zone
    )
    if daily.empty:
        return 0
    if was_empty:
        queries.insert_daily_rows(session, site_id, daily)
        new_sites.append((site_id, frame.iloc[0:0], daily))
        return len(daily)
    span = (int(ts[0]), int(ts[-1]) + int(interval[-1]))
    portfolio_series.subtract_site_span(session, site_id, *span)
    days = daily["local_date"].to_numpy()
    queries.delete_rollup_days(session, site_id, days[0], days[-1])
    queries.insert_daily_rows(session, site_id, daily)
    portfolio_series.add_site_span(session, site_id, *span)
    return len(daily)


def _load_organisation(session: Session, account: str) -> Organisation:
    organisation = queries.load_organisation_by_account(session, account)
    if organisation is None:
        raise LoaderError(f"no organisation with account number {account!r}; create it first or leave out --org")
    return organisation


def infer_meter_type(identifier_kind: str, interval_seconds: int | None) -> MeterType:
    """Half-hourly MPANs are settlement HH meters, other sub-hourly feeds smart meters, hourly or longer AMR."""
    if interval_seconds is None or interval_seconds <= 1800:
        return MeterType.HH if identifier_kind == IdentifierKind.MPAN.value else MeterType.SMART
    return MeterType.AMR


def _enum_value(kind: type[Any], value: str | None, what: str, identifier: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise LoaderError(f"meter {identifier}: unknown {what} {value!r}; expected one of {allowed}") from None


def _sites_for(
    session: Session, meters: tuple[MeterSeries, ...], organisation: Organisation | None
) -> dict[str, tuple[int, str, bool]]:
    """Map each meter identifier to (site id, site time zone, created?), creating missing sites in one flush."""
    identifiers = list(dict.fromkeys(series.identifier for series in meters))
    aliases = list(dict.fromkeys(a for series in meters for a in series.aliases))
    known = queries.load_sites_by_meter(session, list(dict.fromkeys(identifiers + aliases)))
    found: dict[str, tuple[int, str, bool]] = {}
    for series in meters:
        key = next((k for k in (series.identifier, *series.aliases) if k in known), None)
        if key is not None:
            found[series.identifier] = (*known[key], False)
    new_sites: dict[str, Site] = {}
    for series in meters:
        if series.identifier in found or series.identifier in new_sites:
            continue
        if organisation is None:
            organisation = queries.load_or_add_unassigned(session)
        new_sites[series.identifier] = _new_site(series, organisation)
    if new_sites:
        session.add_all(new_sites.values())
        session.flush()
        found.update((identifier, (site.id, site.time_zone, True)) for identifier, site in new_sites.items())
    return found


def _new_site(series: MeterSeries, organisation: Organisation) -> Site:
    """A site for a meter seen for the first time, described by what its file says about it."""
    kind = _enum_value(IdentifierKind, series.identifier_kind, "identifier kind", series.identifier)
    fuel = _enum_value(Fuel, series.fuel, "fuel", series.identifier)
    direction = _enum_value(Direction, series.direction or "import", "direction", series.identifier)
    time_zone = series.time_zone or DEFAULT_TIME_ZONE
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise LoaderError(f"meter {series.identifier}: unknown time zone {time_zone!r}") from None
    if series.meter_type:
        meter_type = _enum_value(MeterType, series.meter_type, "meter type", series.identifier)
    else:
        intervals = series.readings["interval_seconds"] if "interval_seconds" in series.readings else None
        shortest = int(intervals.min()) if intervals is not None and len(intervals) else None
        meter_type = infer_meter_type(kind.value, shortest)
    site = Site(
        organisation=organisation,
        name=(series.name or series.identifier)[:200],
        fuel=fuel,
        meter_type=meter_type,
        time_zone=time_zone,
        direction=direction,
    )
    site.meters.append(Meter(identifier=series.identifier, kind=kind))
    return site


def _clean_readings(readings: pd.DataFrame) -> pd.DataFrame:
    """Sort by start, drop gaps (NaN energy) and resolve repeated starts, so one upsert never hits a row twice."""
    missing = [c for c in READING_COLUMNS if c not in readings.columns and c not in ("original_value", "original_unit")]
    if missing:
        raise LoaderError(f"readings frame lacks column(s) {', '.join(missing)}")
    frame = readings
    energy = frame["energy_kwh"].to_numpy(dtype=np.float64)
    if np.isnan(energy).any():
        frame = frame[~np.isnan(energy)]
    ts = frame["start_ts"].to_numpy(dtype=np.int64)
    if len(ts) > 1 and not bool((np.diff(ts) > 0).all()):
        # Stable sort with actual readings after estimates, then keep the last row of each start.
        actual = ~frame["estimated"].to_numpy(dtype=bool)
        order = np.lexsort((actual, ts))
        frame = frame.iloc[order]
        frame = frame[~frame["start_ts"].duplicated(keep="last").to_numpy()]
    return frame


def store_readings(session: Session, site_id: int, readings: pd.DataFrame, import_id: int | None) -> int:
    """Upsert ``readings`` (columns of records.READING_COLUMNS) for one site; return rows inserted or changed."""
    frame = _clean_readings(readings)
    if frame.empty:
        return 0
    return store_clean_readings(session, site_id, frame, import_id)


def _local_days(start_ts: np.ndarray, time_zone: str) -> np.ndarray:
    """Local calendar day (datetime64[D]) of each UTC epoch second, honouring clock changes."""
    utc = pd.DatetimeIndex(start_ts.astype("datetime64[s]")).tz_localize("UTC")
    return utc.tz_convert(time_zone).tz_localize(None).to_numpy().astype("datetime64[D]")


def _whole_local_day(start_ts: np.ndarray, interval: np.ndarray, time_zone: str) -> np.ndarray:
    """Mask of readings that run from one local midnight to the next (23, 24 or 25 hours)."""
    candidates = (interval > SECONDS_PER_DAY) & (interval <= SECONDS_PER_DAY + 3600)
    if not candidates.any():
        return candidates
    starts = pd.DatetimeIndex(start_ts[candidates].astype("datetime64[s]")).tz_localize("UTC").tz_convert(time_zone)
    ends = pd.DatetimeIndex((start_ts + interval)[candidates].astype("datetime64[s]")).tz_localize("UTC")
    next_midnight = (starts.normalize().tz_localize(None) + pd.Timedelta(days=1)).tz_localize(time_zone)
    whole = (starts == starts.normalize()) & (ends == next_midnight.tz_convert("UTC"))
    out = np.zeros(len(start_ts), dtype=bool)
    out[np.flatnonzero(candidates)] = np.asarray(whole)
    return out


def _daily_rollup(
    start_ts: np.ndarray, interval: np.ndarray, energy: np.ndarray, estimated: np.ndarray, time_zone: str
) -> pd.DataFrame:
    """Roll sorted readings up to local days; readings longer than a day are left out (see refresh_daily_usage).

    A reading covering exactly one local day counts even when that day has 25 hours (autumn clock change):
    a daily Green Button reading of that day is 90,000 s long and must not vanish from graphs and totals.
    """
    keep = (interval <= SECONDS_PER_DAY) | _whole_local_day(start_ts, interval, time_zone)
    if not keep.all():
        start_ts, interval, energy, estimated = start_ts[keep], interval[keep], energy[keep], estimated[keep]
    if len(start_ts) == 0:
        return pd.DataFrame(
            {
                "local_date": np.array([], dtype="datetime64[D]"),
                "energy_kwh": [],
                "intervals": [],
                "estimated_intervals": [],
                "interval_seconds": [],
            }
        )
    days = _local_days(start_ts, time_zone)
    # start_ts is sorted, so local days are non-decreasing: reduce over runs instead of grouping.
    starts = np.concatenate(([0], np.flatnonzero(days[1:] != days[:-1]) + 1))
    counts = np.diff(np.append(starts, len(days)))
    return pd.DataFrame(
        {
            "local_date": days[starts],
            "energy_kwh": np.add.reduceat(energy, starts),
            "intervals": counts,
            "estimated_intervals": np.add.reduceat(estimated.astype(np.int64), starts),
            "interval_seconds": np.minimum.reduceat(interval, starts),
        }
    )


def refresh_daily_usage(
    session: Session,
    site_id: int,
    time_zone: str,
    start_ts: int,
    end_ts: int,
    incoming: pd.DataFrame | None = None,
) -> None:
    """Rewrite the daily_usage rows of the local days that [start_ts, end_ts) touches (or that ``incoming`` does).

    Call it after storing ``incoming``. Days that had no roll-up row yet held no readings, so they are summed
    straight from ``incoming`` in pandas; days that already had one are summed again from the stored readings
    of just those days (the overlap / re-import path). Readings longer than a day (monthly bills) are not spread
    over days: a reading of up to 86,400 s, or of exactly one (25-hour) local day, counts on the local date of its
    start; longer ones stay out of the roll-up altogether (their totals live in the readings table only).
    """
    frame = _clean_readings(incoming) if incoming is not None else None
    _refresh_clean(session, site_id, time_zone, start_ts, end_ts, frame)


def _refresh_clean(
    session: Session,
    site_id: int,
    time_zone: str,
    start_ts: int,
    end_ts: int,
    frame: pd.DataFrame | None,
    *,
    site_was_empty: bool = False,
) -> None:
    if frame is not None:
        incoming = _daily_rollup(
            frame["start_ts"].to_numpy(dtype=np.int64),
            frame["interval_seconds"].to_numpy(dtype=np.int64),
            frame["energy_kwh"].to_numpy(dtype=np.float64),
            frame["estimated"].to_numpy(dtype=bool),
            time_zone,
        )
        if incoming.empty:
            return
        days = incoming["local_date"].to_numpy()
        first_day, last_day = days[0], days[-1]
    else:
        if end_ts <= start_ts:
            return
        span = _local_days(np.array([start_ts, end_ts - 1], dtype=np.int64), time_zone)
        first_day, last_day = span[0], span[1]
        incoming = None

    existing = _NO_DAYS if site_was_empty else queries.load_rollup_days(session, site_id, first_day, last_day)
    parts: list[pd.DataFrame] = []
    if incoming is not None:
        fresh = incoming[~np.isin(incoming["local_date"].to_numpy(), existing)]
        parts.append(fresh)
        recompute_days = existing
    else:
        recompute_days = np.arange(first_day, last_day + np.timedelta64(1, "D"))
    if len(recompute_days):
        lo_day, hi_day = recompute_days.min(), recompute_days.max()
        stored = _daily_from_stored(session, site_id, time_zone, lo_day, hi_day)
        stored = stored[np.isin(stored["local_date"].to_numpy(), recompute_days)]
        queries.delete_rollup_days(session, site_id, lo_day, hi_day)
        parts.append(stored)
    rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if not rows.empty:
        queries.insert_daily_rows(session, site_id, rows)


_NO_DAYS = np.array([], dtype="datetime64[D]")


def _daily_from_stored(
    session: Session, site_id: int, time_zone: str, first_day: np.datetime64, last_day: np.datetime64
) -> pd.DataFrame:
    """Sum the stored readings of local days first_day..last_day (inclusive)."""
    ts, interval, energy, estimated = queries.load_stored_readings(session, site_id, time_zone, first_day, last_day)
    rollup = _daily_rollup(ts, interval, energy, estimated, time_zone)
    days = rollup["local_date"].to_numpy()
    return rollup[(days >= first_day) & (days <= last_day)]


def store_weather(
    session: Session,
    location_name: str,
    temperatures: pd.DataFrame,
    kind: str = "observed",
    issued_at_ts: int | None = None,
) -> int:
    """Upsert hourly temperatures of one location (created on demand); return rows inserted or changed."""
    weather_kind = WeatherKind(kind)
    missing = [c for c in WEATHER_COLUMNS if c not in temperatures.columns]
    if missing:
        raise LoaderError(f"weather frame for {location_name!r} lacks column(s) {', '.join(missing)}")
    location_id = queries.load_or_add_weather_location(session, location_name)
    frame = temperatures.dropna(subset=["air_temperature_c"]).drop_duplicates("hour_ts", keep="last")
    if frame.empty:
        return 0
    return queries.upsert_weather_rows(session, location_id, frame, weather_kind, issued_at_ts)
