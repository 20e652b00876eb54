"""The fast paths that write readings: SQLite batched upserts and PostgreSQL binary COPY.

Upsert on (site_id, start_ts): a different value replaces the stored one, except that an estimated
reading never overwrites an actual one; identical rows change nothing. No ORM and no per-row Python:

- PostgreSQL: binary ``COPY`` records laid out by numpy. When nothing is stored in the incoming span of a site
  (the usual case: new months) they go straight into ``readings``; otherwise into a temporary table
  (``ON COMMIT DROP``) followed by one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE <changed>``.
  Roles allowed to set ``session_replication_role`` (superusers; PostgreSQL 15+ via ``GRANT SET ON PARAMETER``)
  skip the per-row foreign-key triggers, which otherwise cost ~6x; the loader takes their locks once instead.
- SQLite: one ``executemany`` of multi-row ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <changed>`` statements
  on the raw sqlite3 connection.

These engine-specific write paths stay here, next to the numpy record layouts they depend on, rather than in
:mod:`portfolio.queries.imports`, which holds the rest of the import path's SQL.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from portfolio.db import driver_connection
from portfolio.queries.data_version import mark_usage_changed

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
        ("len_start", ">i4"),
        ("start_ts", ">i8"),
        ("len_interval", ">i4"),
        ("interval_seconds", ">i4"),
        ("len_energy", ">i4"),
        ("energy_kwh", ">f8"),
        ("len_estimated", ">i4"),
        ("estimated", "u1"),
        ("len_original", ">i4"),
        ("original_value", ">f8"),
        ("len_unit", ">i4"),
        ("unit_code", ">i2"),
    ]
)
_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_PG_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


class LoaderError(ValueError):
    """A parsed file that cannot be stored as asked (e.g. an unknown organisation account)."""


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


def store_clean_readings(session: Session, site_id: int, frame: pd.DataFrame, import_id: int | None) -> int:
    """Upsert one site's cleaned readings through the engine's bulk path; return rows inserted or changed."""
    mark_usage_changed(session)
    connection = session.connection()
    raw = driver_connection(session)
    start_ts = frame["start_ts"].to_numpy(dtype=np.int64)
    interval = frame["interval_seconds"].to_numpy(dtype=np.int64)
    energy = frame["energy_kwh"].to_numpy(dtype=np.float64)
    estimated = frame["estimated"].to_numpy(dtype=bool)
    original, units = _original_columns(frame)
    if connection.dialect.name == "postgresql":
        return _store_postgresql(raw, site_id, import_id, start_ts, interval, energy, estimated, original, units)
    if connection.dialect.name != "sqlite":
        raise RuntimeError(f"unsupported database {connection.dialect.name!r}")
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
        with_nulls = original.astype(object)
        with_nulls[np.isnan(original)] = None
        columns.append(with_nulls)
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
        overlap = bool(cursor.fetchone()[0])
        skip_triggers = _may_skip_row_triggers(cursor)
        if skip_triggers:
            cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
        direct = (
            None
            if overlap
            else _direct_copy_block(site_id, import_id, start_ts, interval, energy, estimated, original, units)
        )
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
            changed = _upsert_via_temp(
                cursor, site_id, import_id, start_ts, interval, energy, estimated, original, units, overlap=overlap
            )
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
    fields: list[tuple[str, str]] = [
        ("fields", ">i2"),
        ("len_site", ">i4"),
        ("site_id", ">i4"),
        ("len_start", ">i4"),
        ("start_ts", ">i8"),
        ("len_interval", ">i4"),
        ("interval_seconds", ">i4"),
        ("len_energy", ">i4"),
        ("energy_kwh", ">f8"),
        ("len_estimated", ">i4"),
        ("estimated", "u1"),
        ("len_import", ">i4"),
    ]
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
    params = {
        "site_id": site_id,
        "import_id": import_id,
        "units": unit_names,
        "first_ts": int(start_ts[0]),
        "last_ts": int(start_ts[-1]),
    }
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
