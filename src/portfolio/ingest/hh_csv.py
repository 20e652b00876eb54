"""Half-hourly and hourly meter CSV in the usual UK shapes: long (a row per interval) and wide (a row per day).

Everything on the hot path is vectorised (pandas C reader, ``to_numeric``, ``to_datetime``); Python loops only run
over meters, distinct dates or rows already known to be bad. Line numbers count the header as line 1.

Decisions: naive timestamps are UTC (LCL data is GMT all year) unless ``local_time`` says Europe/London; values
without a unit are kWh; missing values are gaps, never zeros; a meter's interval is its most common step.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.identifiers import is_plausible_mprn, is_valid_mpan_core, parse_mpan
from portfolio.ingest.records import READING_COLUMNS, ImportFormatError, MeterSeries, ParsedFile
from portfolio.ingest.units import GAS_ONLY_UNITS, kwh_per_unit, normalise_unit

UK_TIME_ZONE = "Europe/London"
HALF_HOUR_SECONDS = 1800
MAX_INTERVAL_KWH = 1e6
"""More than this in one interval is a unit or parsing mistake, not a reading."""

METER_COLUMNS = (
    "mpan",
    "mprn",
    "mpancore",
    "mpanmprn",
    "meter",
    "meterid",
    "meterno",
    "meternumber",
    "meterpoint",
    "meterserial",
    "msn",
    "lclid",
    "id",
    "supplypoint",
    "siteid",
    "site",
)
START_COLUMNS = (
    "tstp",
    "datetime",
    "timestamp",
    "start",
    "starttime",
    "startdatetime",
    "intervalstart",
    "periodstart",
    "readingdatetime",
    "readdatetime",
    "datetimeutc",
    "timestamputc",
    "time",
    "dt",
    "date",
)
END_COLUMNS = ("end", "endtime", "enddatetime", "periodend", "intervalend", "to")
DATE_COLUMNS = ("date", "day", "readingdate", "readdate", "settlementdate", "localdate", "datetime")
UNIT_COLUMNS = ("unit", "units", "uom", "unitofmeasure")
FLAG_COLUMNS = (
    "estimated",
    "estimate",
    "isestimated",
    "quality",
    "flag",
    "status",
    "readtype",
    "readingtype",
    "actualestimated",
    "ae",
    "type",
)
ENERGY_WORDS = (
    "kwh",
    "wh",
    "m3",
    "m³",
    "hcf",
    "ccf",
    "therm",
    "consumption",
    "energy",
    "usage",
    "load",
    "value",
    "volume",
    "import",
)
UNIT_IN_HEADER = (
    ("mwh", "MWh"),
    ("kwh", "kWh"),
    ("wh", "Wh"),
    ("m3", "m3"),
    ("m³", "m3"),
    ("hcf", "hcf"),
    ("ccf", "hcf"),
    ("therm", "therm"),
    ("ft3", "ft3"),
)
MISSING_TEXTS = frozenset({"", "null", "nan", "none", "na", "n/a", "-"})
TRUE_FLAGS = frozenset({"e", "est", "estimated", "estimate", "true", "t", "y", "yes", "1"})
FALSE_FLAGS = frozenset({"", "a", "act", "actual", "false", "f", "n", "no", "0", "r", "read", "measured", "valid"})

_PERIOD_NUMBER = re.compile(r"^(?:hh|p|period|sp|settlementperiod)?[\s_]*(\d{1,2})$", re.IGNORECASE)
_PERIOD_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$")
_OFFSET = re.compile(r"\d:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})$")
_DAY_FIRST = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}")


def read_csv_strings(path: Path, data: bytes) -> pd.DataFrame:
    """Read every cell as text, so missing markers and bad values can be reported by line."""
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            dtype=str,
            skipinitialspace=True,
            skip_blank_lines=False,
            keep_default_na=False,
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise ImportFormatError(str(path), f"not a readable CSV file: {error}") from error
    frame.columns = [str(column).strip() for column in frame.columns]
    _refuse_truncated_last_line(path, data, len(frame.columns))
    frame = frame.fillna("")
    return frame


def _refuse_truncated_last_line(path: Path, data: bytes, columns: int) -> None:
    """A copy cut off mid-line ends in a short, unterminated line that pandas would quietly pad with blanks."""
    body = data.rstrip(b"\r\n")
    if body == data.rstrip() and not data.endswith((b"\n", b"\r")) and b"\n" in body:
        last = body.rsplit(b"\n", 1)[-1]
        fields = last.count(b",") + 1
        line = body.count(b"\n") + 1
        if b'"' not in last and fields < columns:
            raise ImportFormatError(
                str(path), f"the last line has {fields} of {columns} fields (truncated file?)", f"line {line}"
            )


def normalised(column: str) -> str:
    """Compare headers without case, spaces or punctuation."""
    return re.sub(r"[^0-9a-z³]", "", column.lower())


def find_column(columns: list[str], names: tuple[str, ...], exclude: tuple[str, ...] = ()) -> str | None:
    """Pick the column whose normalised header comes first in ``names``."""
    keyed = {normalised(c): c for c in reversed(columns) if c not in exclude}
    return next((keyed[name] for name in names if name in keyed), None)


def period_columns(columns: list[str]) -> list[str]:
    """Headers that name half-hour periods of a wide row."""
    return [c for c in columns if _PERIOD_NUMBER.match(c.strip()) or _PERIOD_TIME.match(c.strip())]


def energy_columns(columns: list[str], exclude: tuple[str, ...] = ()) -> list[str]:
    """Headers that look like an energy or volume reading."""
    taken = set(exclude) | set(period_columns(columns))
    return [
        c
        for c in columns
        if c not in taken
        and any(word in c.lower() for word in ENERGY_WORDS)
        and normalised(c) not in UNIT_COLUMNS + FLAG_COLUMNS + METER_COLUMNS
    ]


def csv_format(columns: list[str]) -> str | None:
    """Name the meter-CSV shape a header has, or None."""
    if len(period_columns(columns)) >= 46:
        return "hh-csv-wide"
    stamp = find_column(columns, START_COLUMNS + END_COLUMNS)
    if stamp and energy_columns(columns, (stamp,)):
        return "hh-csv-long"
    return None


def parse_hh_csv(
    path: Path,
    data: bytes,
    *,
    meter: str | None = None,
    fuel: str | None = None,
    local_time: bool = False,
    calorific_value_mj_m3: float = 39.5,
) -> ParsedFile:
    """Parse a long or wide meter CSV, whichever its header shows."""
    frame = read_csv_strings(path, data)
    if csv_format(list(frame.columns)) == "hh-csv-wide":
        return _parse_wide(path, frame, meter=meter, fuel=fuel, calorific_value_mj_m3=calorific_value_mj_m3)
    return _parse_long(
        path, frame, meter=meter, fuel=fuel, local_time=local_time, calorific_value_mj_m3=calorific_value_mj_m3
    )


def _parse_long(
    path: Path,
    frame: pd.DataFrame,
    *,
    meter: str | None,
    fuel: str | None,
    local_time: bool,
    calorific_value_mj_m3: float,
) -> ParsedFile:
    """One row per interval: meter, timestamp, energy and optional flag and unit."""
    columns = list(frame.columns)
    end_column = find_column(columns, END_COLUMNS)
    stamp_column = find_column(columns, START_COLUMNS) or end_column
    meter_column = find_column(columns, METER_COLUMNS, exclude=(stamp_column or "",))
    used = tuple(c for c in (stamp_column, meter_column) if c)
    candidates = energy_columns(columns, used)
    if len(candidates) > 1:
        with_unit = [c for c in candidates if any(u in c.lower() for u, _ in UNIT_IN_HEADER)]
        candidates = with_unit if len(with_unit) == 1 else candidates
    if stamp_column is None or len(candidates) != 1:
        problem = "several energy columns" if len(candidates) > 1 else "missing columns"
        raise ImportFormatError(
            str(path),
            f"{problem}: found {columns}; expected a timestamp column (e.g. tstp, datetime, "
            "start), one energy column (e.g. kWh, energy(kWh/hh), consumption, value) and a meter "
            "column (MPAN, MPRN, meter, LCLid) unless --meter is given",
            "line 1",
        )
    energy_column = candidates[0]
    frame = frame[(frame != "").any(axis=1)]  # blank lines
    lines = frame.index.to_numpy(dtype="int64") + 2
    raw_values = frame[energy_column]
    values = pd.to_numeric(raw_values, errors="coerce").to_numpy(dtype="float64")
    missing = _missing_mask(path, raw_values, values, lines, energy_column)
    if missing.any():  # a gap row is still a row: a broken timestamp on it is bad input, not a gap
        parse_timestamps(path, frame.loc[missing, stamp_column], lines[missing])
    keep = ~missing
    frame, values, lines = frame[keep], values[keep], lines[keep]
    ids = _meter_ids(path, frame, meter_column, meter)
    stamps = frame[stamp_column]
    unit_column = find_column(columns, UNIT_COLUMNS)
    units = _units(path, frame[unit_column], lines) if unit_column else _header_unit(energy_column)
    energy_kwh = values * (
        units.map(lambda u: kwh_per_unit(u, calorific_value_mj_m3)).to_numpy(dtype="float64")
        if isinstance(units, pd.Series)
        else kwh_per_unit(units, calorific_value_mj_m3)
    )
    _check_energy(path, energy_kwh, values, lines)
    flag_column = find_column(columns, FLAG_COLUMNS, exclude=used + (energy_column,))
    estimated = _flags(path, frame[flag_column], lines) if flag_column else np.zeros(len(frame), dtype=bool)
    start_ts = parse_timestamps(path, stamps, lines, local_time=local_time, groups=ids)

    long = pd.DataFrame(
        {
            "meter": ids.to_numpy(dtype=object),
            "start_ts": start_ts,
            "energy_kwh": energy_kwh,
            "estimated": estimated,
            "value": values,
            "line": lines,
        }
    )
    if isinstance(units, pd.Series) or units != "kWh":
        long["original_value"] = values
        long["original_unit"] = units.to_numpy(dtype=object) if isinstance(units, pd.Series) else units
    long = _dedupe(path, _sorted(long))
    intervals = _interval_seconds(path, long, _header_interval(energy_column))
    if end_column is not None and stamp_column == end_column:
        long["start_ts"] = long["start_ts"] - long["code"].map(intervals).to_numpy(dtype="int64")
    unit_names = set(units.unique()) if isinstance(units, pd.Series) else {units}
    gas_hint = bool(unit_names & GAS_ONLY_UNITS) or any("gas" in c.lower() for c in columns)
    series = _series(long, intervals, fuel=fuel, gas_hint=gas_hint, time_zone=UK_TIME_ZONE if local_time else None)
    return ParsedFile(path=str(path), format="hh-csv-long", meters=series)


def _missing_mask(path: Path, raw: pd.Series, values: np.ndarray, lines: np.ndarray, column: str) -> np.ndarray:
    """Find gaps (empty or Null cells) and refuse anything else that is not a number."""
    not_numeric = np.isnan(values)
    if not not_numeric.any():
        return not_numeric
    texts = raw[not_numeric].str.strip().str.lower()
    known = texts.isin(MISSING_TEXTS).to_numpy()
    if not known.all():
        bad = int(np.flatnonzero(~known)[0])
        raise ImportFormatError(
            str(path),
            f"{column} value {raw[not_numeric].iloc[bad]!r} is not a number",
            f"line {lines[not_numeric][bad]}",
        )
    return not_numeric


def _check_energy(path: Path, energy_kwh: np.ndarray, values: np.ndarray, lines: np.ndarray) -> None:
    """Refuse negative, infinite and absurd readings, which would silently skew every total."""
    bad = ~np.isfinite(energy_kwh) | (energy_kwh < 0) | (energy_kwh > MAX_INTERVAL_KWH)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        kwh = energy_kwh[first]
        why = (
            "negative energy is not supported (export must be its own meter with positive values)"
            if kwh < 0
            else f"energy above {MAX_INTERVAL_KWH:g} kWh in one interval is not plausible"
            if np.isfinite(kwh)
            else "energy is not a finite number"
        )
        raise ImportFormatError(str(path), f"{why}: {values[first]:g}", f"line {lines[first]}")


def _meter_ids(path: Path, frame: pd.DataFrame, meter_column: str | None, meter: str | None) -> pd.Series:
    """Meter id of every row: from the file, or the caller's --meter for a single-meter file."""
    if meter_column is None:
        if not meter:
            raise ImportFormatError(
                str(path), f"no meter column in {list(frame.columns)}: pass --meter to name the meter", "line 1"
            )
        return pd.Series(meter, index=frame.index, dtype=object)
    codes, uniques = pd.factorize(frame[meter_column])
    stripped = pd.Index(uniques).str.strip()
    ids = pd.Series(stripped.to_numpy(dtype=object)[codes], index=frame.index, dtype=object)
    if (stripped == "").any():
        line = int(np.flatnonzero((ids == "").to_numpy())[0])
        raise ImportFormatError(str(path), f"empty {meter_column}", f"line {frame.index[line] + 2}")
    if meter:
        distinct = ids.unique()
        if len(distinct) > 1:
            raise ImportFormatError(
                str(path), f"--meter names one meter but the file has {len(distinct)} in {meter_column}"
            )
        return pd.Series(meter, index=frame.index, dtype=object)
    return ids


def _units(path: Path, raw: pd.Series, lines: np.ndarray) -> pd.Series:
    """Canonical unit of every row from a unit column."""
    texts = raw.str.strip()
    canonical = {}
    for text in texts.unique():
        try:
            canonical[text] = normalise_unit(text)
        except ValueError as error:
            line = lines[int(np.flatnonzero((texts == text).to_numpy())[0])]
            raise ImportFormatError(str(path), str(error), f"line {line}") from error
    return texts.map(canonical)


def _header_unit(column: str) -> str:
    """Unit named in the energy header, kWh when it names none."""
    lower = column.lower()
    return next((unit for word, unit in UNIT_IN_HEADER if word in lower), "kWh")


def _header_interval(column: str) -> int | None:
    """Interval length a header states, such as LCL's ``energy(kWh/hh)``."""
    lower = column.lower().replace(" ", "")
    return HALF_HOUR_SECONDS if "/hh" in lower or "perhalfhour" in lower or "halfhour" in lower else None


def _flags(path: Path, raw: pd.Series, lines: np.ndarray) -> np.ndarray:
    """Map A/E, actual/estimated, true/false style flags to booleans."""
    codes, distinct = pd.factorize(raw)  # a file has a handful of distinct flags: normalise those only
    texts = pd.Index(distinct).str.strip().str.lower()
    unknown = ~(texts.isin(TRUE_FLAGS) | texts.isin(FALSE_FLAGS))
    if unknown.any():
        first = int(np.flatnonzero(np.isin(codes, np.flatnonzero(unknown)))[0])
        raise ImportFormatError(
            str(path),
            f"estimated flag {raw.iloc[first]!r} is not A/E, actual/estimated or true/false",
            f"line {lines[first]}",
        )
    return np.asarray(texts.isin(TRUE_FLAGS))[codes]


def parse_timestamps(
    path: Path,
    texts: pd.Series,
    lines: np.ndarray,
    *,
    local_time: bool = False,
    time_zone: str = UK_TIME_ZONE,
    groups: pd.Series | None = None,
) -> np.ndarray:
    """Turn timestamp texts into UTC epoch seconds; offsets are respected, naive times are UTC or local."""
    empty = (texts == "").to_numpy()
    if empty.any():
        raise ImportFormatError(str(path), "missing timestamp", f"line {lines[int(np.flatnonzero(empty)[0])]}")
    if texts.empty:
        return np.zeros(0, dtype="int64")
    sample = texts.iloc[0].strip()
    has_offset = bool(_OFFSET.search(sample))
    if _DAY_FIRST.match(sample):
        formats = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")
        fmt = next((f for f in formats if not pd.isna(pd.to_datetime(sample, format=f, errors="coerce"))), formats[0])
    else:
        fmt = "ISO8601"
    parsed = pd.to_datetime(texts, format=fmt, errors="coerce", utc=has_offset)
    bad = parsed.isna().to_numpy()
    if bad.any():  # trailing spaces survive skipinitialspace: strip only the rows that need it
        parsed = parsed.copy()
        parsed[bad] = pd.to_datetime(texts[bad].str.strip(), format=fmt, errors="coerce", utc=has_offset)
        bad = parsed.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ImportFormatError(str(path), f"cannot read timestamp {texts.iloc[first]!r}", f"line {lines[first]}")
    index = pd.DatetimeIndex(parsed)
    if index.tz is None and local_time:
        index = _localise(path, index, lines, time_zone, groups)
    return index.as_unit("s").asi8


def _localise(
    path: Path, naive: pd.DatetimeIndex, lines: np.ndarray, time_zone: str, groups: pd.Series | None
) -> pd.DatetimeIndex:
    """Read wall-clock times; the repeated autumn hour is summer time on first sight, winter time on the second."""
    n = len(naive)
    summer = naive.tz_localize(time_zone, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT")
    if summer.isna().any():
        first = int(np.flatnonzero(summer.isna())[0])
        raise ImportFormatError(
            str(path),
            f"local time {naive[first]} does not exist in {time_zone} (clocks go forward)",
            f"line {lines[first]}",
        )
    winter = naive.tz_localize(time_zone, ambiguous=np.zeros(n, dtype=bool), nonexistent="NaT")
    ambiguous = summer != winter
    if not ambiguous.any():
        return summer
    keys = pd.DataFrame({"g": groups.to_numpy(dtype=object) if groups is not None else 0, "t": naive.asi8})
    seen_before = keys.groupby(["g", "t"]).cumcount().to_numpy() > 0
    seconds = np.where(ambiguous & seen_before, winter.as_unit("s").asi8, summer.as_unit("s").asi8)
    return pd.DatetimeIndex(pd.to_datetime(seconds, unit="s", utc=True))


def _sorted(long: pd.DataFrame) -> pd.DataFrame:
    """Order rows by meter then time using integer codes, which is far faster than sorting strings."""
    codes = pd.factorize(long["meter"], sort=True)[0]
    starts = long["start_ts"].to_numpy()
    long = long.assign(code=codes)
    code_steps = np.diff(codes)
    ordered = bool(((code_steps > 0) | ((code_steps == 0) & (np.diff(starts) >= 0))).all())
    return long if ordered else long.iloc[np.lexsort((starts, codes))]


def _dedupe(path: Path, long: pd.DataFrame) -> pd.DataFrame:
    """Keep one of identical repeated readings; refuse repeats that disagree."""
    repeated = long.duplicated(["code", "start_ts"], keep=False).to_numpy()
    if not repeated.any():
        return long.reset_index(drop=True)
    clash = long[repeated]
    conflicting = clash.groupby(["code", "start_ts"])["value"].transform("nunique").to_numpy() > 1
    if conflicting.any():
        rows = clash[conflicting]
        first = rows.iloc[0]
        twin = rows[(rows["meter"] == first["meter"]) & (rows["start_ts"] == first["start_ts"])].iloc[1]
        stamp = pd.Timestamp(int(first["start_ts"]), unit="s", tz="UTC").isoformat()
        raise ImportFormatError(
            str(path),
            f"meter {first['meter']} has two different readings for {stamp}: "
            f"{first['value']:g} (line {first['line']}) and {twin['value']:g}",
            f"line {twin['line']}",
        )
    return long.drop_duplicates(["code", "start_ts"]).reset_index(drop=True)


def _interval_seconds(path: Path, long: pd.DataFrame, header_seconds: int | None) -> dict[int, int]:
    """Each meter's interval by code: its most common step between readings (rows are sorted by meter and time)."""
    if header_seconds:  # a header such as energy(kWh/hh) states it outright, whatever the gaps
        return {int(code): header_seconds for code in pd.unique(long["code"])}
    starts = long["start_ts"].to_numpy()
    codes = long["code"].to_numpy()
    same = codes[1:] == codes[:-1]
    steps = pd.DataFrame({"code": codes[1:][same], "step": np.diff(starts)[same]})
    counts = steps.groupby(["code", "step"]).size()
    found = {int(key[0]): int(key[1]) for key in counts.groupby(level="code").idxmax()} if len(counts) else {}
    fallback = int(steps["step"].mode().min()) if len(steps) else HALF_HOUR_SECONDS
    names = dict(zip(codes, long["meter"].to_numpy(dtype=object), strict=True))
    intervals = {int(code): found.get(int(code), fallback) for code in names}
    for code, seconds in intervals.items():
        if not 60 <= seconds <= 86400:
            raise ImportFormatError(
                str(path), f"cannot tell the interval of meter {names[code]}: its most common step is {seconds} s"
            )
    return intervals


def _identifier(raw: str, fuel: str | None) -> tuple[str, str, str | None]:
    """Identifier, its kind and the fuel it implies (MPAN cores are stored without the top line)."""
    text = raw.strip()
    digits = re.sub(r"[\s\-]", "", text)
    if fuel != "gas" and ((len(digits) == 13 and is_valid_mpan_core(digits)) or len(digits) == 21 and digits.isdigit()):
        try:
            return parse_mpan(digits).core, "mpan", "power"
        except ValueError:
            pass
    if fuel != "power" and is_plausible_mprn(digits):
        return digits, "mprn", "gas"
    return text, "other", None


def _series(
    long: pd.DataFrame, intervals: dict[int, int], *, fuel: str | None, gas_hint: bool, time_zone: str | None
) -> tuple[MeterSeries, ...]:
    """Split the sorted long frame into one MeterSeries per meter."""
    meters = long["meter"].to_numpy(dtype=object)
    codes = long["code"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    has_original = "original_value" in long.columns
    result = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        part = long.iloc[start:stop]
        name = str(meters[start])
        identifier, kind, id_fuel = _identifier(name, fuel)
        readings = pd.DataFrame(
            {
                "start_ts": part["start_ts"].to_numpy(dtype="int64"),
                "interval_seconds": np.full(len(part), intervals[int(codes[start])], dtype="int64"),
                "energy_kwh": part["energy_kwh"].to_numpy(dtype="float64"),
                "estimated": part["estimated"].to_numpy(dtype=bool),
                "original_value": part["original_value"].to_numpy(dtype="float64")
                if has_original
                else np.full(len(part), np.nan),
                "original_unit": part["original_unit"].to_numpy(dtype=object)
                if has_original
                else np.full(len(part), None, dtype=object),
            },
            columns=list(READING_COLUMNS),
        )
        series_fuel = fuel or ("gas" if gas_hint else id_fuel or "power")
        result.append(
            MeterSeries(
                identifier=identifier,
                identifier_kind=kind,
                fuel=series_fuel,
                readings=readings,
                time_zone=time_zone,
                name=name if name != identifier else None,
            )
        )
    return tuple(result)


def _parse_wide(
    path: Path,
    frame: pd.DataFrame,
    *,
    meter: str | None,
    fuel: str | None,
    calorific_value_mj_m3: float,
    time_zone: str = UK_TIME_ZONE,
) -> ParsedFile:
    """One row per meter and local day; period k starts (k-1) half hours of elapsed time after local midnight."""
    columns = list(frame.columns)
    periods = period_columns(columns)
    date_column = find_column(columns, DATE_COLUMNS, exclude=tuple(periods))
    meter_column = find_column(columns, METER_COLUMNS, exclude=tuple(periods) + (date_column or "",))
    if date_column is None:
        raise ImportFormatError(
            str(path),
            f"missing columns: found {columns}; expected a meter column, a date column "
            "(date, settlement date) and 46 to 50 half-hour columns",
            "line 1",
        )
    _check_period_headers(path, periods)
    frame = frame[(frame != "").any(axis=1)]
    lines = frame.index.to_numpy(dtype="int64") + 2
    ids = _meter_ids(path, frame, meter_column, meter)
    midnight_ts, expected = _local_days(path, frame[date_column], lines, time_zone)

    cells = frame[periods].to_numpy(dtype=object)
    values = (
        pd.to_numeric(pd.Series(cells.ravel(), dtype=object), errors="coerce")
        .to_numpy(dtype="float64")
        .reshape(cells.shape)
    )
    not_numeric = np.isnan(values)
    if not_numeric.any():
        texts = pd.Series(cells[not_numeric], dtype=str).str.strip().str.lower()
        unknown = ~texts.isin(MISSING_TEXTS).to_numpy()
        if unknown.any():
            row, col = np.argwhere(not_numeric)[int(np.flatnonzero(unknown)[0])]
            raise ImportFormatError(
                str(path), f"{periods[col]} value {cells[row, col]!r} is not a number", f"line {lines[row]}"
            )
    present = ~not_numeric
    last_present = np.where(present.any(axis=1), present.shape[1] - np.argmax(present[:, ::-1], axis=1), 0)
    too_many = last_present > expected
    if too_many.any():
        row = int(np.flatnonzero(too_many)[0])
        day = pd.Timestamp(int(midnight_ts[row]), unit="s", tz="UTC").tz_convert(time_zone).date()
        kind = "a normal day" if expected[row] == 48 else "a clock-change day"
        raise ImportFormatError(
            str(path),
            f"day {day} has {last_present[row]} half-hour values but {kind} has {expected[row]}",
            f"line {lines[row]}",
        )

    row_index, period_index = np.nonzero(present)
    unit = _header_unit(" ".join(columns[:1] + [c for c in columns if c not in periods]))
    raw = values[row_index, period_index]
    energy_kwh = raw * kwh_per_unit(unit, calorific_value_mj_m3)
    _check_energy(path, energy_kwh, raw, lines[row_index])
    long = pd.DataFrame(
        {
            "meter": ids.to_numpy(dtype=object)[row_index],
            "start_ts": midnight_ts[row_index] + period_index.astype("int64") * HALF_HOUR_SECONDS,
            "energy_kwh": energy_kwh,
            "estimated": np.zeros(len(raw), dtype=bool),
            "value": raw,
            "line": lines[row_index],
        }
    )
    if unit != "kWh":
        long["original_value"] = raw
        long["original_unit"] = unit
    long = _dedupe(path, _sorted(long))
    intervals = {int(code): HALF_HOUR_SECONDS for code in pd.unique(long["code"])}
    gas_hint = unit in GAS_ONLY_UNITS or any("gas" in c.lower() for c in columns)
    return ParsedFile(
        path=str(path),
        format="hh-csv-wide",
        meters=_series(long, intervals, fuel=fuel, gas_hint=gas_hint, time_zone=time_zone),
    )


def _check_period_headers(path: Path, periods: list[str]) -> None:
    """Accept 46-50 consecutive periods starting at period 1 (00:00 start-stamped or 00:30 end-stamped)."""
    if not 46 <= len(periods) <= 50:
        raise ImportFormatError(
            str(path), f"a wide row needs 46 to 50 half-hour columns, found {len(periods)}", "line 1"
        )
    times = [match for p in periods if (match := _PERIOD_TIME.match(p.strip()))]
    if len(times) == len(periods):
        minutes = [int(m.group(1)) * 60 + int(m.group(2)) for m in times]
        expected = list(range(minutes[0], minutes[0] + 30 * len(periods), 30))
        ok = minutes[0] in (0, 30) and minutes == expected
    else:
        numbers = [int(m.group(1)) if (m := _PERIOD_NUMBER.match(p.strip())) else -1 for p in periods]
        ok = numbers == list(range(1, len(periods) + 1))
    if not ok:
        raise ImportFormatError(
            str(path),
            f"half-hour columns must run 00:00..23:30, 00:30..24:00 or 1..50 in order; found "
            f"{periods[0]}..{periods[-1]}",
            "line 1",
        )


def _local_days(path: Path, raw: pd.Series, lines: np.ndarray, time_zone: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC epoch of each row's local midnight and how many half hours that local day has."""
    texts = raw.str.strip()
    fmt = "%d/%m/%Y" if len(texts) and _DAY_FIRST.match(texts.iloc[0]) else "%Y-%m-%d"
    dates = pd.to_datetime(texts, format=fmt, errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ImportFormatError(
            str(path),
            f"cannot read date {texts.iloc[first]!r} (expected DD/MM/YYYY or YYYY-MM-DD)",
            f"line {lines[first]}",
        )
    days = pd.DatetimeIndex(dates)
    midnight = days.tz_localize(time_zone).as_unit("s").asi8
    next_midnight = (days + pd.Timedelta(days=1)).tz_localize(time_zone).as_unit("s").asi8
    return midnight, (next_midnight - midnight) // HALF_HOUR_SECONDS
