"""Bulk loader: parsed files into the database, one transaction per file, at hundreds of thousands of rows a second.

The loader never commits. It does all its work in the caller's Session so that the caller's commit or
rollback decides the fate of the whole file: a failed file leaves no partial state behind.

Readings are upserted on (site_id, start_ts): a different value replaces the stored one, except that an
estimated reading never overwrites an actual one, and identical rows change nothing, so importing the same
file twice leaves the database exactly as it was. The hot paths avoid the ORM and per-row Python:

- PostgreSQL: binary ``COPY`` records laid out by numpy. When nothing is stored in the incoming span of a site
  (the usual case: new months) they go straight into ``readings``; otherwise into a temporary table
  (``ON COMMIT DROP``) followed by one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE <changed>``.
  Roles allowed to set ``session_replication_role`` (superusers; PostgreSQL 15+ via ``GRANT SET ON PARAMETER``)
  skip the per-row foreign-key triggers, which otherwise cost ~6x; the loader takes their locks once instead.
- SQLite: one ``executemany`` of multi-row ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <changed>`` statements
  on the raw sqlite3 connection.

Rows whose ``energy_kwh`` is NaN are gaps, not readings: they are dropped. Within one frame, a repeated
``start_ts`` keeps its last actual reading (or its last estimate if it has no actual one).
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portfolio import series as portfolio_series
from portfolio.ingest.records import READING_COLUMNS, WEATHER_COLUMNS, MeterSeries, ParsedFile
from portfolio.models import (
    UNASSIGNED_ACCOUNT,
    DailyUsage,
    Direction,
    Fuel,
    IdentifierKind,
    ImportRecord,
    Meter,
    MeterType,
    Organisation,
    Site,
    WeatherKind,
    WeatherLocation,
)

DEFAULT_TIME_ZONE = "Europe/London"
SECONDS_PER_DAY = 86_400

_CHANGED = (
    "({t}.energy_kwh {ne} excluded.energy_kwh OR {t}.interval_seconds {ne} excluded.interval_seconds"
    " OR {t}.estimated {ne} excluded.estimated OR {t}.original_value {ne} excluded.original_value"
    " OR {t}.original_unit {ne} excluded.original_unit)"
    " AND NOT (NOT {t}.estimated AND excluded.estimated)"
)
_UPSERT_SET = (
    "ON CONFLICT (site_id, start_ts) DO UPDATE SET interval_seconds = excluded.interval_seconds,"
    " energy_kwh = excluded.energy_kwh, estimated = excluded.estimated, import_id = excluded.import_id,"
    " original_value = excluded.original_value, original_unit = excluded.original_unit WHERE "
)
_SQLITE_ROWS_PER_STATEMENT = 128  # 8 columns x 128 rows stays far below SQLite's 32,766 variables
_PG_TEMP = (
    "CREATE TEMP TABLE IF NOT EXISTS _incoming_readings (start_ts int8, interval_seconds int4,"
    " energy_kwh float8, estimated bool, original_value float8, unit_code int2) ON COMMIT DROP"
)
_PG_INSERT = (
    "INSERT INTO readings (site_id, start_ts, interval_seconds, energy_kwh, estimated, import_id,"
    " original_value, original_unit)"
    " SELECT %(site_id)s, start_ts, interval_seconds, energy_kwh, estimated, %(import_id)s,"
    " NULLIF(original_value, 'NaN'::float8), (%(units)s::text[])[unit_code] FROM _incoming_readings "
)
_PG_UPSERT = (
    _PG_INSERT
    # Skip rows that would change nothing before they reach ON CONFLICT, which locks every row it touches.
    + " i WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.site_id = %(site_id)s"
    " AND r.start_ts BETWEEN %(first_ts)s AND %(last_ts)s AND r.start_ts = i.start_ts"
    " AND ((NOT r.estimated AND i.estimated) OR (r.energy_kwh = i.energy_kwh"
    " AND r.interval_seconds = i.interval_seconds AND r.estimated = i.estimated"
    " AND r.original_value IS NOT DISTINCT FROM NULLIF(i.original_value, 'NaN'::float8)"
    " AND r.original_unit IS NOT DISTINCT FROM (%(units)s::text[])[i.unit_code]))) "
    + _UPSERT_SET
    + _CHANGED.format(t="readings", ne="IS DISTINCT FROM")
)

# One PostgreSQL binary COPY tuple of _incoming_readings: field count, then (length, value) per column.
_PG_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("len_start", ">i4"), ("start_ts", ">i8"),
        ("len_interval", ">i4"), ("interval_seconds", ">i4"),
        ("len_energy", ">i4"), ("energy_kwh", ">f8"),
        ("len_estimated", ">i4"), ("estimated", "u1"),
        ("len_original", ">i4"), ("original_value", ">f8"),
        ("len_unit", ">i4"), ("unit_code", ">i2"),
    ]
)
_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_PG_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


class LoaderError(ValueError):
    """A parsed file that cannot be stored as asked (e.g. an unknown organisation account)."""


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
        ts = frame["start_ts"].to_numpy()
        interval = frame["interval_seconds"].to_numpy()
        span = (int(ts[0]), int(ts[-1]) + int(interval[-1]))
        if not was_empty:  # the portfolio series lose this site's old part of the span, and regain the new one below
            portfolio_series.subtract_site_span(session, site_id, *span)
        changed = _store_clean(session, site_id, frame, record.id)
        readings += changed
        if changed:
            _refresh_clean(session, site_id, time_zone, *span, frame, site_was_empty=was_empty)
        if was_empty:
            daily = _daily_rollup(ts, interval, frame["energy_kwh"].to_numpy(), frame["estimated"].to_numpy(), time_zone)
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


def _load_organisation(session: Session, account: str) -> Organisation:
    organisation = session.scalar(select(Organisation).where(Organisation.account_number == account))
    if organisation is None:
        raise LoaderError(f"no organisation with account number {account!r}; create it first or leave out --org")
    return organisation


def _unassigned(session: Session) -> Organisation:
    """Find or create the admin-only organisation where meters of unknown ownership land."""
    organisation = session.scalar(select(Organisation).where(Organisation.account_number == UNASSIGNED_ACCOUNT))
    if organisation is None:
        organisation = Organisation(name="Unassigned", account_number=UNASSIGNED_ACCOUNT)
        session.add(organisation)
        session.flush()
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
    found: dict[str, tuple[int, str, bool]] = {}
    for first in range(0, len(identifiers), 500):
        rows = session.execute(
            select(Meter.identifier, Site.id, Site.time_zone)
            .join(Site, Site.id == Meter.site_id)
            .where(Meter.identifier.in_(identifiers[first : first + 500]))
        )
        found.update((row.identifier, (int(row.id), str(row.time_zone), False)) for row in rows)
    new_sites: dict[str, Site] = {}
    for series in meters:
        if series.identifier in found or series.identifier in new_sites:
            continue
        if organisation is None:
            organisation = _unassigned(session)
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
    return _store_clean(session, site_id, frame, import_id)


def _original_columns(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Original values as float64 (NaN = none) and original units as an object array (None = none) or None."""
    n = len(frame)
    if "original_value" in frame.columns:
        original = pd.to_numeric(frame["original_value"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        original = np.full(n, np.nan)
    units: np.ndarray | None = None
    if "original_unit" in frame.columns:
        column = frame["original_unit"]
        if column.notna().any():
            units = column.astype(object).where(column.notna(), None).to_numpy(dtype=object)
    return original, units


def _store_clean(session: Session, site_id: int, frame: pd.DataFrame, import_id: int | None) -> int:
    connection = session.connection()
    raw = connection.connection.driver_connection
    start_ts = frame["start_ts"].to_numpy(dtype=np.int64)
    interval = frame["interval_seconds"].to_numpy(dtype=np.int64)
    energy = frame["energy_kwh"].to_numpy(dtype=np.float64)
    estimated = frame["estimated"].to_numpy(dtype=bool)
    original, units = _original_columns(frame)
    n = len(frame)
    if connection.dialect.name == "postgresql":
        return _store_postgresql(raw, site_id, import_id, start_ts, interval, energy, estimated, original, units)
    if connection.dialect.name != "sqlite":
        raise LoaderError(f"unsupported database {connection.dialect.name!r}")
    return _store_sqlite(raw, site_id, import_id, start_ts, interval, energy, estimated, original, units)


def _store_sqlite(
    raw: Any,
    site_id: int,
    import_id: int | None,
    start_ts: np.ndarray,
    interval: np.ndarray,
    energy: np.ndarray,
    estimated: np.ndarray,
    original: np.ndarray,
    units: np.ndarray | None,
) -> int:
    """One executemany of multi-row upserts: SQLite's per-statement cost, not its B-tree, limits single rows.

    The constant site and import ids (integers the database gave us), a constant interval length and all-NULL
    original columns go into the SQL as literals, so each row binds only what varies; rows are laid out in one object array with numpy and
    reshaped into statements of _SQLITE_ROWS_PER_STATEMENT rows.
    """
    n = len(start_ts)
    columns: list[np.ndarray] = [start_ts]
    interval_sql = "?"
    if bool((interval == interval[0]).all()):
        interval_sql = str(int(interval[0]))
    else:
        columns.append(interval)
    columns += [energy, estimated]
    original_sql = unit_sql = "NULL"
    if not bool(np.isnan(original).all()):
        columns.append(np.where(np.isnan(original), None, original))
        original_sql = "?"
    if units is not None:
        columns.append(units)
        unit_sql = "?"
    import_sql = "NULL" if import_id is None else str(int(import_id))
    row_sql = f"({int(site_id)}, ?, {interval_sql}, ?, ?, {import_sql}, {original_sql}, {unit_sql})"
    table = np.empty((n, len(columns)), dtype=object)
    for position, column in enumerate(columns):
        table[:, position] = column
    before = raw.total_changes
    per = _SQLITE_ROWS_PER_STATEMENT
    whole = n - n % per
    if whole:
        raw.executemany(_sqlite_upsert(row_sql, per), table[:whole].reshape(-1, per * len(columns)).tolist())
    if whole < n:
        raw.execute(_sqlite_upsert(row_sql, n - whole), table[whole:].ravel().tolist())
    return int(raw.total_changes - before)


def _sqlite_upsert(row_sql: str, rows: int) -> str:
    return (
        "INSERT INTO readings (site_id, start_ts, interval_seconds, energy_kwh, estimated, import_id,"
        f" original_value, original_unit) VALUES {', '.join([row_sql] * rows)} "
        + _UPSERT_SET
        + _CHANGED.format(t="readings", ne="IS NOT")
    )


def _store_postgresql(
    raw: Any,
    site_id: int,
    import_id: int | None,
    start_ts: np.ndarray,
    interval: np.ndarray,
    energy: np.ndarray,
    estimated: np.ndarray,
    original: np.ndarray,
    units: np.ndarray | None,
) -> int:
    """Store one site's rows: a direct binary COPY when nothing overlaps, else COPY to a temp table and upsert.

    Both binary streams are laid out by numpy as fixed-width records, so no Python code runs per row.
    """
    with raw.cursor() as cursor:
        _lock_parents(cursor, site_id, import_id)
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM readings WHERE site_id = %s AND start_ts BETWEEN %s AND %s)",
            (site_id, int(start_ts[0]), int(start_ts[-1])),
        )
        overlap = bool(cursor.fetchone()[0])  # type: ignore[index]
        skip_triggers = _may_skip_row_triggers(cursor)
        if skip_triggers:
            cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
        direct = None if overlap else _direct_copy_block(site_id, import_id, start_ts, interval, energy, estimated,
                                                         original, units)
        if direct is not None:
            # Nothing stored in the incoming span (the usual case: new months): copy straight into readings.
            with cursor.copy(
                "COPY readings (site_id, start_ts, interval_seconds, energy_kwh, estimated, import_id,"
                " original_value, original_unit) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.write(_PG_COPY_HEADER)
                copy.write(direct.tobytes())
                copy.write(_PG_COPY_TRAILER)
            changed = len(start_ts)
        else:
            changed = _upsert_via_temp(cursor, site_id, import_id, start_ts, interval, energy, estimated, original,
                                       units, overlap=overlap)
        if skip_triggers:
            cursor.execute("SELECT set_config('session_replication_role', 'origin', true)")
        return changed


def _direct_copy_block(
    site_id: int,
    import_id: int | None,
    start_ts: np.ndarray,
    interval: np.ndarray,
    energy: np.ndarray,
    estimated: np.ndarray,
    original: np.ndarray,
    units: np.ndarray | None,
) -> np.ndarray | None:
    """Binary COPY records for readings when every row has the same width, else None.

    That holds when original values are all present or all absent and every row has the same unit (or none);
    NULLs are written as length -1 with no data, which is fixed width too.
    """
    missing_original = np.isnan(original)
    if missing_original.any() and not missing_original.all():
        return None
    unit: bytes | None = None
    if units is not None:
        present = pd.notna(units)
        if not present.all():
            return None
        distinct = pd.unique(units)
        if len(distinct) != 1:
            return None
        unit = str(distinct[0]).encode()
    fields: list[tuple[str, str]] = [("fields", ">i2"), ("len_site", ">i4"), ("site_id", ">i4"),
                                     ("len_start", ">i4"), ("start_ts", ">i8"),
                                     ("len_interval", ">i4"), ("interval_seconds", ">i4"),
                                     ("len_energy", ">i4"), ("energy_kwh", ">f8"),
                                     ("len_estimated", ">i4"), ("estimated", "u1"), ("len_import", ">i4")]
    if import_id is not None:
        fields.append(("import_id", ">i4"))
    fields.append(("len_original", ">i4"))
    if not missing_original.all():
        fields.append(("original_value", ">f8"))
    fields.append(("len_unit", ">i4"))
    if unit is not None:
        fields.append(("original_unit", f"S{len(unit)}"))
    block = np.empty(len(start_ts), dtype=np.dtype(fields))
    block["fields"] = 8
    block["len_site"], block["site_id"] = 4, site_id
    block["len_start"], block["start_ts"] = 8, start_ts
    block["len_interval"], block["interval_seconds"] = 4, interval
    block["len_energy"], block["energy_kwh"] = 8, energy
    block["len_estimated"], block["estimated"] = 1, estimated
    block["len_import"] = -1 if import_id is None else 4
    if import_id is not None:
        block["import_id"] = import_id
    block["len_original"] = -1 if missing_original.all() else 8
    if not missing_original.all():
        block["original_value"] = original
    block["len_unit"] = -1 if unit is None else len(unit)
    if unit is not None:
        block["original_unit"] = unit
    return block


def _upsert_via_temp(
    cursor: Any,
    site_id: int,
    import_id: int | None,
    start_ts: np.ndarray,
    interval: np.ndarray,
    energy: np.ndarray,
    estimated: np.ndarray,
    original: np.ndarray,
    units: np.ndarray | None,
    *,
    overlap: bool,
) -> int:
    """Binary COPY into a temp table, then one set-based insert (upsert when the span overlaps stored rows)."""
    n = len(start_ts)
    unit_names: list[str] = []
    codes = np.zeros(n, dtype=np.int16)
    if units is not None:
        present = pd.notna(units)
        categories, inverse = np.unique(units[present].astype(str), return_inverse=True)
        unit_names = [str(c) for c in categories]
        codes[present] = inverse.astype(np.int16) + 1  # PostgreSQL arrays are 1-based; index 0 gives NULL
    block = np.empty(n, dtype=_PG_ROW)
    block["fields"] = 6
    block["len_start"], block["start_ts"] = 8, start_ts
    block["len_interval"], block["interval_seconds"] = 4, interval
    block["len_energy"], block["energy_kwh"] = 8, energy
    block["len_estimated"], block["estimated"] = 1, estimated
    block["len_original"], block["original_value"] = 8, original
    block["len_unit"], block["unit_code"] = 2, codes
    cursor.execute(_PG_TEMP)
    cursor.execute("TRUNCATE _incoming_readings")
    with cursor.copy("COPY _incoming_readings FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_PG_COPY_HEADER)
        copy.write(block.tobytes())
        copy.write(_PG_COPY_TRAILER)
    params = {"site_id": site_id, "import_id": import_id, "units": unit_names,
              "first_ts": int(start_ts[0]), "last_ts": int(start_ts[-1])}
    cursor.execute(_PG_UPSERT if overlap else _PG_INSERT, params)
    return max(int(cursor.rowcount), 0)


def _may_skip_row_triggers(cursor: Any) -> bool:
    """True when this role may switch off per-row foreign-key triggers for the bulk upsert.

    PostgreSQL checks each inserted reading's two foreign keys with a per-row trigger, which cuts the insert
    rate by about six. Superusers, and on PostgreSQL 15+ roles granted ``SET ON PARAMETER
    session_replication_role``, may skip them; the loader then takes the same locks the triggers would, once.
    """
    if cursor.connection.info.server_version >= 150000:
        cursor.execute(
            "SELECT current_setting('session_replication_role') = 'origin' AND (current_setting('is_superuser') = 'on'"
            " OR has_parameter_privilege('session_replication_role', 'SET'))"
        )
    else:
        cursor.execute(
            "SELECT current_setting('session_replication_role') = 'origin' AND current_setting('is_superuser') = 'on'"
        )
    row = cursor.fetchone()
    return bool(row and row[0])


def _lock_parents(cursor: Any, site_id: int, import_id: int | None) -> None:
    """Check the parents exist and hold them, as the foreign-key triggers would, but once rather than per row.

    The site is locked FOR NO KEY UPDATE, which also queues concurrent imports into the same site behind this
    one, so the overlap check that picks the plain insert cannot race with another loader.
    """
    cursor.execute("SELECT 1 FROM sites WHERE id = %s FOR NO KEY UPDATE", (site_id,))
    if cursor.fetchone() is None:
        raise LoaderError(f"no site with id {site_id}")
    if import_id is not None:
        cursor.execute("SELECT 1 FROM imports WHERE id = %s FOR KEY SHARE", (import_id,))
        if cursor.fetchone() is None:
            raise LoaderError(f"no import with id {import_id}")


def _local_days(start_ts: np.ndarray, time_zone: str) -> np.ndarray:
    """Local calendar day (datetime64[D]) of each UTC epoch second, honouring clock changes."""
    utc = pd.DatetimeIndex(start_ts.astype("datetime64[s]")).tz_localize("UTC")
    return utc.tz_convert(time_zone).tz_localize(None).to_numpy().astype("datetime64[D]")


def _daily_rollup(
    start_ts: np.ndarray, interval: np.ndarray, energy: np.ndarray, estimated: np.ndarray, time_zone: str
) -> pd.DataFrame:
    """Roll sorted readings up to local days; readings longer than a day are left out (see refresh_daily_usage)."""
    keep = interval <= SECONDS_PER_DAY
    if not keep.all():
        start_ts, interval, energy, estimated = start_ts[keep], interval[keep], energy[keep], estimated[keep]
    if len(start_ts) == 0:
        return pd.DataFrame(
            {"local_date": np.array([], dtype="datetime64[D]"), "energy_kwh": [], "intervals": [],
             "estimated_intervals": [], "interval_seconds": []}
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
    over days: a reading of up to 86,400 s counts on the local date of its start; longer ones stay out of the
    roll-up altogether (their totals live in the readings table only).
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

    existing = _NO_DAYS if site_was_empty else _load_rollup_days(session, site_id, first_day, last_day)
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
        session.execute(
            delete(DailyUsage).where(
                DailyUsage.site_id == site_id,
                DailyUsage.local_date >= _as_date(lo_day),
                DailyUsage.local_date <= _as_date(hi_day),
            )
        )
        parts.append(stored)
    rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if not rows.empty:
        _insert_daily(session, site_id, rows)


_NO_DAYS = np.array([], dtype="datetime64[D]")


def _load_rollup_days(session: Session, site_id: int, first_day: np.datetime64, last_day: np.datetime64) -> np.ndarray:
    """The local dates between first_day and last_day that already have a daily_usage row."""
    days = session.scalars(
        select(DailyUsage.local_date).where(
            DailyUsage.site_id == site_id,
            DailyUsage.local_date >= _as_date(first_day),
            DailyUsage.local_date <= _as_date(last_day),
        )
    ).all()
    return np.array(days, dtype="datetime64[D]")


def _as_date(day: np.datetime64) -> dt.date:
    return dt.date.fromisoformat(str(np.datetime64(day, "D")))


def _daily_from_stored(
    session: Session, site_id: int, time_zone: str, first_day: np.datetime64, last_day: np.datetime64
) -> pd.DataFrame:
    """Sum the stored readings of local days first_day..last_day (inclusive)."""
    zone = zoneinfo.ZoneInfo(time_zone)
    # Local midnights to UTC, widened by a day each side: the rollup then keeps only the wanted dates.
    lo = dt.datetime.combine(_as_date(first_day) - dt.timedelta(days=1), dt.time(), zone)
    hi = dt.datetime.combine(_as_date(last_day) + dt.timedelta(days=2), dt.time(), zone)
    connection = session.connection()
    marker = "%s" if connection.dialect.name == "postgresql" else "?"
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(
            "SELECT start_ts, interval_seconds, energy_kwh, estimated FROM readings"
            f" WHERE site_id = {marker} AND start_ts >= {marker} AND start_ts < {marker} ORDER BY start_ts",
            (site_id, int(lo.timestamp()), int(hi.timestamp())),
        )
        raw = cursor.fetchall()
    finally:
        cursor.close()
    if raw:
        ts, interval, energy, estimated = (np.asarray(c) for c in zip(*raw))
    else:
        ts = interval = np.array([], dtype=np.int64)
        energy, estimated = np.array([], dtype=np.float64), np.array([], dtype=bool)
    rollup = _daily_rollup(
        ts.astype(np.int64), interval.astype(np.int64), energy.astype(np.float64), estimated.astype(bool), time_zone
    )
    days = rollup["local_date"].to_numpy()
    return rollup[(days >= first_day) & (days <= last_day)]


def _insert_daily(session: Session, site_id: int, rows: pd.DataFrame) -> None:
    connection = session.connection()
    raw = connection.connection.driver_connection
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
        with raw.cursor() as cursor, cursor.copy(
            "COPY daily_usage (site_id, local_date, energy_kwh, intervals, estimated_intervals, interval_seconds)"
            " FROM STDIN"
        ) as copy:
            for row in zip(*columns):
                copy.write_row(row)
        return
    raw.executemany(
        "INSERT INTO daily_usage (site_id, local_date, energy_kwh, intervals, estimated_intervals, interval_seconds)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        zip(*columns),
    )


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
    location_id = session.scalar(select(WeatherLocation.id).where(WeatherLocation.name == location_name))
    if location_id is None:
        location = WeatherLocation(name=location_name)
        session.add(location)
        session.flush()
        location_id = location.id
    frame = temperatures.dropna(subset=["air_temperature_c"]).drop_duplicates("hour_ts", keep="last")
    if frame.empty:
        return 0
    n = len(frame)
    rows = list(
        zip(
            itertools.repeat(location_id, n),
            frame["hour_ts"].to_numpy(dtype=np.int64).tolist(),
            itertools.repeat(weather_kind.value, n),
            frame["air_temperature_c"].to_numpy(dtype=np.float64).tolist(),
            itertools.repeat(issued_at_ts, n),
        )
    )
    connection = session.connection()
    raw = connection.connection.driver_connection
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
