"""Wide meter files: one row per meter and day, 46 to 50 half-hour value columns (see :mod:`.labels`).

A naive day is a UK local day (46, 48 or 50 half hours) unless the file or ``--utc`` says UTC. Value k of a row is
the k-th *elapsed* half hour after local midnight; columns labelled with clock times on the spring day may
instead leave the skipped 01:00-02:00 empty, which is read as clock time. A 50-half-hour autumn day in a file
with only 48 clock-time columns is refused: the repeated hour cannot be placed without guessing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.ingest.dates import parse_datetimes
from portfolio.ingest.grid import Grid
from portfolio.ingest.hh_csv import (
    DATE_COLUMNS,
    HALF_HOUR_SECONDS,
    UK_TIME_ZONE,
    UNIT_COLUMNS,
    UTC_HEADER,
    find_position,
    flags,
    header_unit,
    is_reactive,
    meter_position,
    numbers,
    read_units,
)
from portfolio.ingest.hh_csv_checks import build_long
from portfolio.ingest.labels import WideColumns
from portfolio.ingest.records import ImportFormatError, ImportOptions, Layout, ParsedFile
from portfolio.ingest.units import GAS_ONLY_UNITS, kwh_per_unit


def parse_wide(
    path: Path | str, grid: Grid, header: tuple[str, ...], wide: WideColumns, options: ImportOptions
) -> ParsedFile:
    """Read a wide file into readings, checking each day's number of half hours against its local length."""
    taken = set(wide.values) | {f for f in wide.flags if f is not None} | set(wide.totals)
    date_at = find_position(header, DATE_COLUMNS, taken)
    if date_at is None:
        date_at = next((p for p in range(len(header)) if p not in taken and "date" in header[p].lower()), None)
    if date_at is None:
        raise ImportFormatError(
            str(path), f"a wide file needs a date column; found {[h[:40] for h in header[:8]]}...", _header_where(grid)
        )
    meter_at = meter_position(header, options, taken | {date_at})
    body, lines = grid.body, grid.lines
    unit_at = find_position(header, UNIT_COLUMNS, taken | {date_at})
    if unit_at is not None:  # rows of reactive energy (kVArh) are not consumption
        reactive = body[unit_at].map(is_reactive).to_numpy(dtype=bool)
        if reactive.any():
            body, lines = body[~reactive], lines[~reactive]
    if body.empty:
        raise ImportFormatError(str(path), "no kWh rows: every row is reactive energy (kVArh)", _header_where(grid))
    ids = _meter_ids(path, body, lines, meter_at, options)
    utc_days = options.time_basis == "utc" or (
        options.time_basis == "auto" and bool(UTC_HEADER.search(header[date_at]))
    )
    days = parse_datetimes(path, body[date_at], lines, header[date_at] or "date", with_time=True)
    days = days.tz_convert(None) if days.tz is not None else days
    days = days.normalize()
    zone = "UTC" if utc_days else UK_TIME_ZONE
    midnight = days.tz_localize(zone).as_unit("s").asi8
    expected = ((days + pd.Timedelta(days=1)).tz_localize(zone).as_unit("s").asi8 - midnight) // HALF_HOUR_SECONDS

    names = [header[p] or f"column {p + 1}" for p in wide.values]
    cells = body[list(wide.values)].to_numpy(dtype=object)
    values = numbers(path, cells, lines, names)
    flag_positions = [f for f in wide.flags if f is not None]
    estimated = np.zeros(values.shape, dtype=bool)
    if flag_positions and len(flag_positions) == len(wide.values):
        estimated, flagged_missing = flags(path, body[flag_positions].to_numpy(dtype=object), lines)
        values = np.where(flagged_missing, np.nan, values)
    present = ~np.isnan(values)
    elapsed = np.broadcast_to(np.asarray(wide.elapsed_index, dtype=np.int64), values.shape).copy()
    if wide.labelling in ("start", "end") and not utc_days:
        elapsed = _clock_columns(path, wide, present, expected, elapsed, lines, days)
    beyond = present & (elapsed >= expected[:, None])
    if beyond.any():
        row = int(np.flatnonzero(beyond.any(axis=1))[0])
        count = int(elapsed[row][present[row]].max()) + 1
        kind = "a normal day" if expected[row] == 48 else "a clock-change day"
        hint = " (if the file's days are UTC days, import it with --utc)" if expected[row] == 46 else ""
        raise ImportFormatError(
            str(path),
            f"day {days[row].date()} has {count} half-hour values but {kind} has {expected[row]}{hint}",
            f"line {lines[row]}",
        )
    rows, columns = np.nonzero(present)
    unit = header_unit([h for p, h in enumerate(header) if p not in wide.values] + names[:1], options.unit)
    units: np.ndarray | str = unit
    if unit_at is not None:
        units = read_units(path, body[unit_at], lines)[rows]
        factor = np.array([kwh_per_unit(u, options.calorific_value_mj_m3) for u in units], dtype=np.float64)
    else:
        factor = np.asarray(kwh_per_unit(unit, options.calorific_value_mj_m3), dtype=np.float64)
    raw = values[rows, columns]
    unit_names = set(pd.unique(np.asarray(units, dtype=object).ravel())) if isinstance(units, np.ndarray) else {unit}
    series = build_long(
        path,
        meters=ids[rows],
        start_ts=midnight[rows] + elapsed[rows, columns] * HALF_HOUR_SECONDS,
        interval_seconds=np.full(len(rows), HALF_HOUR_SECONDS, dtype=np.int64),
        energy_kwh=raw * factor,
        values=raw,
        units=units,
        estimated=estimated[rows, columns],
        lines=lines[rows],
        options=options,
        meter_column=header[meter_at] if meter_at is not None else None,
        gas_hint=bool(unit_names & GAS_ONLY_UNITS) or any("gas" in h.lower() for h in header),
        time_zone=None if utc_days else UK_TIME_ZONE,
    )
    details = [
        ("columns", f"{wide.first_label}..{wide.last_label}"),
        (
            "flags",
            "after each value"
            if flag_positions and flag_positions[0] == wide.values[0] + 1
            else "second block"
            if flag_positions
            else "none",
        ),
    ]
    if wide.totals:
        details.append(("day totals", ", ".join(header[p] for p in wide.totals)))
    layout = Layout(
        layout="wide",
        time_basis="utc" if utc_days else "uk-local",
        labelling=wide.labelling,
        header_line=grid.header_line,
        details=tuple(details),
    )
    return ParsedFile(path=str(path), format="hh-csv-wide", meters=series, layout=layout)


def _header_where(grid: Grid) -> str:
    return f"line {grid.header_line}" if grid.header_line else "line 1"


def _meter_ids(
    path: Path | str, body: pd.DataFrame, lines: np.ndarray, meter_at: int | None, options: ImportOptions
) -> np.ndarray:
    if meter_at is None:
        if not options.meter:
            raise ImportFormatError(str(path), "no meter column: pass --meter to name the meter", "line 1")
        return np.full(len(body), options.meter, dtype=object)
    ids = body[meter_at].str.strip().to_numpy(dtype=object)
    empty = ids == ""
    if empty.any():
        raise ImportFormatError(str(path), "empty meter id", f"line {lines[int(np.flatnonzero(empty)[0])]}")
    if options.meter:
        if len(pd.unique(ids)) > 1:
            raise ImportFormatError(str(path), "--meter names one meter but the file has several")
        return np.full(len(body), options.meter, dtype=object)
    return ids


def _clock_columns(
    path: Path | str,
    wide: WideColumns,
    present: np.ndarray,
    expected: np.ndarray,
    elapsed: np.ndarray,
    lines: np.ndarray,
    days: pd.DatetimeIndex,
) -> np.ndarray:
    """Clock-time labels on clock-change days: the skipped spring hour left empty, the repeated autumn hour refused."""
    count = len(wide.values)
    skipped = [i for i, e in enumerate(wide.elapsed_index) if e in (2, 3)]  # clock 01:00-02:00, start or end labels
    later = np.asarray(wide.elapsed_index) > 3
    for row in np.flatnonzero(expected == 46):
        filled = present[row]
        if count >= 48 and filled[count - 2 :].any() and not filled[skipped].any():
            elapsed[row, later] -= 2
    for row in np.flatnonzero((expected == 50) & (count == 48)):
        if present[row].sum() == 48:
            raise ImportFormatError(
                str(path),
                f"day {days[int(row)].date()} has 50 half hours (clocks go back) but the file has 48 clock-time columns: "
                "the repeated 01:00-02:00 cannot be placed",
                f"line {lines[row]}",
            )
    return elapsed
