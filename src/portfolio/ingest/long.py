"""Row-per-reading meter files: a timestamp, a date and a clock time, or a date and a settlement period (1..50).

The labelling (does a time stamp the start or the end of its interval) comes from the header (``Period End``,
``to``) or the values (``24:00``, or ``00:00`` closing a day after its ``23:30``). The time basis comes from offsets
in the values, ``UTC``/``GMT`` in the header, the LCL trial's documented GMT, or clock times that no UK clock shows
(01:00-01:59 on the spring day); otherwise naive times are UK clock time, and the repeated autumn hour is read in
file order (summer time first). Reactive-energy rows (kVArh) are left out: they are not consumption.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.ingest.dates import clock_minutes, has_offsets, looks_like_times, parse_datetimes, parse_stamps
from portfolio.ingest.grid import DATE_LIKE, Grid
from portfolio.ingest.hh_csv import (
    DATE_COLUMNS,
    END_COLUMNS,
    ENERGY_WORDS,
    FLAG_COLUMNS,
    HALF_HOUR_SECONDS,
    METER_COLUMNS,
    PERIOD_COLUMNS,
    START_COLUMNS,
    TIME_COLUMNS,
    UK_TIME_ZONE,
    UNIT_COLUMNS,
    UNIT_IN_HEADER,
    UTC_HEADER,
    find_position,
    flags,
    header_unit,
    is_reactive,
    localise,
    meter_position,
    normalised,
    numbers,
    read_units,
    spring_gap_times,
)
from portfolio.ingest.hh_csv_checks import build_long, interval_by_meter
from portfolio.ingest.records import ImportFormatError, ImportOptions, Layout, ParsedFile
from portfolio.ingest.units import GAS_ONLY_UNITS, kwh_per_unit

GMT_SOURCES = ("lclid",)
"""Headers of sources documented to be in GMT all year (Low Carbon London smart-meter trial)."""


def _energy_position(path: Path | str, header: tuple[str, ...], taken: set[int], where: str) -> int:
    skip = set(UNIT_COLUMNS + FLAG_COLUMNS + METER_COLUMNS + PERIOD_COLUMNS + DATE_COLUMNS + TIME_COLUMNS)
    candidates = [
        p
        for p, h in enumerate(header)
        if p not in taken
        and any(word in h.lower() for word in ENERGY_WORDS)
        and normalised(h) not in skip
        and not is_reactive(h)
    ]
    if len(candidates) > 1:
        with_unit = [p for p in candidates if any(u in header[p].lower() for u, _ in UNIT_IN_HEADER)]
        candidates = with_unit if len(with_unit) == 1 else candidates
    if len(candidates) != 1:
        problem = "several energy columns" if len(candidates) > 1 else "missing columns"
        raise ImportFormatError(
            str(path),
            f"{problem}: found {[h[:40] for h in header[:20]]}; expected a timestamp column (e.g. tstp, datetime, "
            "start, or date + time, or date + settlement period), one energy column (e.g. kWh, "
            "energy(kWh/hh), consumption, value) and a meter column (MPAN, MPRN, meter, LCLid) unless --meter is given",
            where,
        )
    return candidates[0]


def parse_long(path: Path | str, grid: Grid, header: tuple[str, ...], options: ImportOptions) -> ParsedFile:
    """Read a row-per-reading table into checked MeterSeries and say how it was read."""
    where = f"line {grid.header_line}" if grid.header_line else "line 1"
    body, lines = grid.body, grid.lines
    end_at = find_position(header, END_COLUMNS)
    if end_at is None:
        end_at = next((p for p, h in enumerate(header) if _names_an_end(h)), None)
    date_at = find_position(header, DATE_COLUMNS[:-1])
    time_at = find_position(header, TIME_COLUMNS, {date_at} if date_at is not None else None)
    period_at = find_position(header, PERIOD_COLUMNS, {date_at} if date_at is not None else None)
    mode = "long"
    sample = body.head(200)
    if date_at is not None and period_at is not None and _are_periods(sample[period_at]):
        mode = "long-date-period"
    elif date_at is not None and time_at is not None and looks_like_times(sample[time_at]):
        mode = "long-date-time"
    if mode == "long":
        stamp_at = find_position(header, START_COLUMNS, {end_at} if end_at is not None else None)
        stamp_at = end_at if stamp_at is None or (end_at is not None and options.labelling == "end") else stamp_at
        if stamp_at is None:  # an unknown header: the column whose values are dates with times
            stamp_at = next(
                (
                    p
                    for p in range(len(header))
                    if sample[p].str.contains(DATE_LIKE).all() and sample[p].str.contains(":").all()
                ),
                None,
            )
        used = {stamp_at} if stamp_at is not None else set()
    else:
        second_at = time_at if mode == "long-date-time" else period_at
        assert date_at is not None and second_at is not None  # both found, or mode would be "long"
        stamp_at = date_at
        used = {date_at, second_at}
    if stamp_at is None:
        _energy_position(path, header, set(), where)  # names the missing columns
        raise ImportFormatError(
            str(path),
            f"missing columns: found {[h[:40] for h in header[:20]]}; expected a timestamp column (e.g. tstp, datetime, start)",
            where,
        )
    meter_at = meter_position(header, options, used)
    used |= {meter_at} if meter_at is not None else set()
    unit_at = find_position(header, UNIT_COLUMNS, used)
    quantity_at = unit_at if unit_at is not None else _reactive_marker_column(header, body, used)
    if quantity_at is not None:
        reactive = body[quantity_at].map(is_reactive).to_numpy(dtype=bool)
        if reactive.any():
            body, lines = body[~reactive], lines[~reactive]
            if body.empty:
                raise ImportFormatError(str(path), "no kWh rows: every row is reactive energy (kVArh)", where)
        used.add(quantity_at)
    energy_at = _energy_position(path, header, used, where)
    used.add(energy_at)
    flag_at = find_position(header, FLAG_COLUMNS, used)

    stamp_name = header[stamp_at] or "timestamp"
    end_stamped = options.labelling == "end" or (options.labelling == "auto" and stamp_at == end_at)
    aware = False
    if mode == "long-date-period":
        assert date_at is not None and period_at is not None
        naive = None
        days = parse_datetimes(path, body[date_at], lines, header[date_at] or "date", with_time=True).normalize()
        periods = pd.to_numeric(body[period_at].str.strip(), errors="coerce").to_numpy()
        labelling = "period"
    elif mode == "long-date-time":
        assert date_at is not None and time_at is not None
        days = parse_datetimes(path, body[date_at], lines, header[date_at] or "date", with_time=True).normalize()
        minutes = clock_minutes(path, body[time_at], lines, header[time_at])
        end_stamped = end_stamped or "end" in header[time_at].lower() or _closes_days(minutes, days.asi8)
        minutes = np.where(end_stamped & (minutes == 0) & _after_last_half_hour(minutes, days.asi8), 1440, minutes)
        naive = days + pd.to_timedelta(minutes, unit="m")
        labelling = "end" if end_stamped else "start"
    else:
        texts = body[stamp_at]
        parsed, says_24 = parse_stamps(path, texts, lines, stamp_name, with_time=True)
        end_stamped = end_stamped or (says_24 and options.labelling == "auto")
        aware = parsed.tz is not None or has_offsets(texts)
        naive = parsed
        labelling = "end" if end_stamped else "start"

    basis = _time_basis(options, header, stamp_at, naive, aware, end_stamped)
    ids = _meter_ids(path, body, lines, meter_at, options)
    if mode == "long-date-period":
        assert period_at is not None
        start_ts, interval = _settlement_starts(path, days, periods, lines, basis, header[period_at])
    else:
        assert naive is not None
        if aware:
            stamps = naive.tz_convert("UTC").as_unit("s").asi8
        elif basis == "utc":
            stamps = naive.as_unit("s").asi8
        else:
            stamps = localise(path, _spring_end_stamps(naive) if end_stamped else naive, lines, ids[0])
        stated = HALF_HOUR_SECONDS if _says_half_hourly(header[energy_at]) else None
        interval = interval_by_meter(path, ids, stamps, stated)
        start_ts = stamps - interval if end_stamped else stamps

    raw_values = numbers(path, body[[energy_at]].to_numpy(dtype=object), lines, [header[energy_at]])[:, 0]
    estimated = np.zeros(len(body), dtype=bool)
    if flag_at is not None:
        flagged, flagged_missing = flags(path, body[[flag_at]].to_numpy(dtype=object), lines)
        estimated = flagged[:, 0]
        raw_values = np.where(flagged_missing[:, 0], np.nan, raw_values)
    keep = ~np.isnan(raw_values)
    unit_default = header_unit([header[energy_at]], options.unit)
    if unit_at is not None:
        unit_array: np.ndarray = read_units(path, body[unit_at], lines)[keep]
        distinct_units = pd.unique(unit_array)
        distinct_factors = [kwh_per_unit(u, options.calorific_value_mj_m3) for u in distinct_units]
        factor: np.ndarray = (
            pd.Series(unit_array).map(dict(zip(distinct_units, distinct_factors, strict=True))).to_numpy(np.float64)
        )
        units: np.ndarray | str = unit_array
        unit_names = set(distinct_units)
    else:
        units, unit_names = unit_default, {unit_default}
        factor = np.asarray(kwh_per_unit(unit_default, options.calorific_value_mj_m3), dtype=np.float64)
    raw = raw_values[keep]
    series = build_long(
        path,
        meters=(ids[0][keep], ids[1]),
        start_ts=start_ts[keep],
        interval_seconds=interval[keep],
        energy_kwh=raw * factor,
        values=raw,
        units=units,
        estimated=estimated[keep],
        lines=lines[keep],
        options=options,
        meter_column=header[meter_at] if meter_at is not None else None,
        gas_hint=bool(unit_names & GAS_ONLY_UNITS) or any("gas" in h.lower() for h in header),
        time_zone=UK_TIME_ZONE if basis == "uk-local" else None,
    )
    if not series:
        raise ImportFormatError(str(path), "the file has no readings: every value is empty", where)
    details = (("timestamp", stamp_name), ("energy", header[energy_at]))
    layout = Layout(layout=mode, time_basis=basis, labelling=labelling, header_line=grid.header_line, details=details)
    return ParsedFile(path=str(path), format="hh-csv-long", meters=series, layout=layout)


def _names_an_end(header: str) -> bool:
    key = normalised(header)
    return "end" in key and any(word in key for word in ("time", "date", "read", "period", "interval", "stamp"))


def _are_periods(texts: pd.Series) -> bool:
    values = pd.to_numeric(texts.str.strip(), errors="coerce")
    return bool(len(values)) and bool(values.notna().all()) and bool(values.between(1, 50).all())


def _reactive_marker_column(header: tuple[str, ...], body: pd.DataFrame, used: set[int]) -> int | None:
    """A column such as ``Channel`` or ``Measurement`` whose values tell kWh rows from kVArh rows."""
    for position in range(len(header)):
        if position in used:
            continue
        distinct = body[position].head(5000).unique()
        if 1 < len(distinct) <= 20 and any(is_reactive(str(v)) for v in distinct):
            return position
    return None


def _closes_days(minutes: np.ndarray, days: np.ndarray) -> bool:
    """End-stamped evidence: a 24:00, or a 00:00 that follows its own day's 23:30."""
    return bool((minutes == 1440).any()) or bool(_after_last_half_hour(minutes, days).any())


def _after_last_half_hour(minutes: np.ndarray, days: np.ndarray) -> np.ndarray:
    previous_is_2330 = np.r_[False, (minutes[:-1] == 1410) & (days[:-1] == days[1:])]
    return (minutes == 0) & previous_is_2330


def _spring_end_stamps(naive: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """An end stamp of exactly 01:00 on the spring day closes the last GMT half hour: it is 02:00 BST."""
    gap = spring_gap_times(naive) & (naive.hour == 1) & (naive.minute == 0)
    return naive + pd.to_timedelta(np.where(gap, 3600, 0), unit="s") if gap.any() else naive


def _time_basis(
    options: ImportOptions,
    header: tuple[str, ...],
    stamp_at: int,
    naive: pd.DatetimeIndex | None,
    aware: bool,
    end_stamped: bool,
) -> str:
    if aware:
        return "offset"
    if options.time_basis == "utc":
        return "utc"
    if options.time_basis == "local":
        return "uk-local"
    if UTC_HEADER.search(header[stamp_at]) or any(normalised(h) in GMT_SOURCES for h in header):
        return "utc"
    if naive is not None:
        gap = spring_gap_times(naive)
        if end_stamped:
            gap &= ~((naive.hour == 1) & (naive.minute == 0))
        if gap.any():
            return "utc"
    return "uk-local"


def _settlement_starts(
    path: Path | str, days: pd.DatetimeIndex, periods: np.ndarray, lines: np.ndarray, basis: str, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Settlement period k of a day starts (k-1) half hours of elapsed time after its local midnight."""
    bad = np.isnan(periods) | (periods < 1) | (periods != np.round(periods))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ImportFormatError(str(path), f"{name} must be a settlement period 1..50", f"line {lines[first]}")
    zone = "UTC" if basis == "utc" else UK_TIME_ZONE
    midnight = days.tz_localize(zone).as_unit("s").asi8
    length = ((days + pd.Timedelta(days=1)).tz_localize(zone).as_unit("s").asi8 - midnight) // HALF_HOUR_SECONDS
    k = periods.astype(np.int64)
    beyond = k > length
    if beyond.any():
        first = int(np.flatnonzero(beyond)[0])
        raise ImportFormatError(
            str(path),
            f"period {k[first]} on {days[first].date()}, a day of {length[first]} half hours",
            f"line {lines[first]}",
        )
    return midnight + (k - 1) * HALF_HOUR_SECONDS, np.full(len(k), HALF_HOUR_SECONDS, dtype=np.int64)


def _says_half_hourly(header: str) -> bool:
    lower = header.lower().replace(" ", "")
    return "/hh" in lower or "perhalfhour" in lower or "halfhour" in lower


def _meter_ids(
    path: Path | str, body: pd.DataFrame, lines: np.ndarray, meter_at: int | None, options: ImportOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's meter as (codes, distinct ids): factorised once, since every later step groups by meter."""
    if meter_at is None:
        if not options.meter:
            raise ImportFormatError(
                str(path), "no meter column in the header: pass --meter to name the meter", "line 1"
            )
        return np.zeros(len(body), dtype=np.int64), np.array([options.meter], dtype=object)
    codes, uniques = pd.factorize(body[meter_at])
    stripped = pd.Index(uniques).astype(str).str.strip()
    if (stripped == "").any():
        empty = int(np.flatnonzero(stripped == "")[0])
        raise ImportFormatError(str(path), "empty meter id", f"line {lines[int(np.flatnonzero(codes == empty)[0])]}")
    if options.meter:
        if len(set(stripped)) > 1:
            raise ImportFormatError(str(path), f"--meter names one meter but the file has {len(set(stripped))}")
        return np.zeros(len(body), dtype=np.int64), np.array([options.meter], dtype=object)
    return codes.astype(np.int64), stripped.to_numpy(dtype=object)
