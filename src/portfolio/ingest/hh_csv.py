"""Meter files in the usual UK shapes (row per reading, or a wide row per day): shared column rules and checks.

:func:`parse_hh_csv` finds the table (:mod:`portfolio.ingest.grid`), then hands it to the long
(:mod:`portfolio.ingest.long`) or wide (:mod:`portfolio.ingest.wide`) reader, which read cells with the column
rules here. Both end in :mod:`portfolio.ingest.hh_csv_checks`: one long frame of (meter, start, energy) rows goes
through the same checks (plausible energy, unit fits fuel, valid MPAN, on the interval grid, no conflicting
repeats) before it becomes :class:`~portfolio.ingest.records.MeterSeries`. Everything on the hot path is
vectorised; Python loops run over meters, distinct texts or rows already known to be bad.

Decisions: naive times are UK clock time unless the file shows otherwise (``Z``/offsets, ``UTC``/``GMT`` in a
header, clock times that cannot exist in the UK, the LCL trial's GMT) or ``--utc`` says so; values without a
unit are kWh; missing values are gaps, never zeros; reactive (kVArh) rows are not consumption and are skipped.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.ingest.records import ImportFormatError, ImportOptions, ParsedFile
from portfolio.ingest.text import quote
from portfolio.ingest.units import normalise_unit
from portfolio.timekeeping import UK_TIME_ZONE

HALF_HOUR_SECONDS = 1800

METER_COLUMNS = (
    "mpan",
    "mpancore",
    "mprn",
    "mpr",
    "mpanmprn",
    "mpanormprn",
    "supplynumber",
    "meterpointreference",
    "meter",
    "meterid",
    "meterno",
    "meternumber",
    "meterpoint",
    "meterserial",
    "meterserialnumber",
    "serialnumber",
    "serial",
    "msn",
    "lclid",
    "id",
    "supplypoint",
    "siteid",
    "site",
    "sitecode",
    "channel",
    "channelid",
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
    "utc",
    "time",
    "dt",
    "date",
)
END_COLUMNS = (
    "end",
    "endtime",
    "enddatetime",
    "periodend",
    "intervalend",
    "to",
    "readingend",
    "periodendtime",
    "intervalendtime",
)
DATE_COLUMNS = (
    "date",
    "day",
    "readingdate",
    "readdate",
    "settlementdate",
    "localdate",
    "consumptiondate",
    "meterreaddate",
    "datetime",
)
TIME_COLUMNS = ("time", "readtime", "readingtime", "intervaltime", "hhtime", "clocktime", "starttime", "endtime")
PERIOD_COLUMNS = ("period", "sp", "settlementperiod", "hh", "hhperiod", "periodno", "periodnumber", "hhno", "hhnumber")
UNIT_COLUMNS = ("unit", "units", "uom", "unitofmeasure", "unitofmeasurement", "measurementquantity", "quantity")
FLAG_COLUMNS = (
    "estimated",
    "estimate",
    "isestimated",
    "quality",
    "flag",
    "dqflag",
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
    "reading",
)
REACTIVE_WORDS = ("kvarh", "kvar", "varh", "reactive", "kvah")
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
TRUE_FLAGS = frozenset({"e", "est", "estimated", "estimate", "true", "t", "y", "yes", "1", "s", "substituted"})
FALSE_FLAGS = frozenset(
    {"", "a", "act", "actual", "false", "f", "n", "no", "0", "r", "read", "measured", "valid", "v", "ok", "c", "a/e"}
)
MISSING_FLAGS = frozenset({"m", "missing", "x", "nodata", "no data", "gap", "null"})
"""Flags saying the value is not a reading: the value (often a 0) is a gap, never stored."""
UTC_HEADER = re.compile(r"\butc\b|\bgmt\b|\(z\)", re.IGNORECASE)


def normalised(column: str) -> str:
    """Compare headers without case, spaces or punctuation."""
    return re.sub(r"[^0-9a-z³]", "", column.lower())


def find_column(columns: list[str], names: tuple[str, ...], exclude: tuple[str, ...] = ()) -> str | None:
    """Pick the column whose normalised header comes first in ``names`` (by name; used by the weather reader)."""
    keyed = {normalised(c): c for c in reversed(columns) if c not in exclude}
    return next((keyed[name] for name in names if name in keyed), None)


def find_position(header: tuple[str, ...], names: tuple[str, ...], exclude: set[int] | None = None) -> int | None:
    """Position of the column whose normalised header comes first in ``names``."""
    keyed: dict[str, int] = {}
    for position in range(len(header) - 1, -1, -1):
        if not exclude or position not in exclude:
            keyed[normalised(header[position])] = position
    return next((keyed[name] for name in names if name in keyed), None)


def meter_position(header: tuple[str, ...], options: ImportOptions, exclude: set[int]) -> int | None:
    """The meter column: the profile's, else the first known name, else a header naming an MPAN/MPRN/meter."""
    if options.meter_column:
        found = find_position(header, (normalised(options.meter_column),))
        if found is None:
            raise ImportFormatError(
                "", f"the profile's meter column {quote(options.meter_column)} is not in the header"
            )
        return found
    found = find_position(header, METER_COLUMNS, exclude)
    if found is not None:
        return found
    for position, name in enumerate(header):
        key = normalised(name)
        if position not in exclude and ("mpan" in key or "mprn" in key or key.startswith("meter")):
            return position
    return None


def header_unit(texts: list[str], default: str | None = None) -> str:
    """Unit named in headers, the given default (a profile's) or kWh."""
    lower = " ".join(texts).lower()
    return next((unit for word, unit in UNIT_IN_HEADER if word in lower), default or "kWh")


def is_reactive(text: str) -> bool:
    lower = text.lower().replace(" ", "")
    return any(word in lower for word in REACTIVE_WORDS)


def numbers(path: Path | str, cells: np.ndarray, lines: np.ndarray, names: list[str]) -> np.ndarray:
    """Cells (rows x columns of text) as float64, NaN for gap markers; refuse anything else that is not a number."""
    flat = pd.Series(cells.ravel(), dtype=object)
    values = pd.to_numeric(flat, errors="coerce").to_numpy(dtype="float64").reshape(cells.shape)
    not_numeric = np.isnan(values)
    if not_numeric.any():
        texts = pd.Series(cells[not_numeric], dtype=str).str.strip().str.lower()
        unknown = ~texts.isin(MISSING_TEXTS).to_numpy()
        if unknown.any():
            row, col = np.argwhere(not_numeric)[int(np.flatnonzero(unknown)[0])]
            raise ImportFormatError(
                str(path), f"{names[col]} value {quote(cells[row, col])} is not a number", f"line {lines[row]}"
            )
    return values


def flags(path: Path | str, cells: np.ndarray, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(estimated, missing) booleans from A/E, actual/estimated, true/false and missing-data flags."""
    codes, distinct = pd.factorize(pd.Series(cells.ravel(), dtype=object))
    texts = pd.Index(distinct).astype(str).str.strip().str.lower()
    known = texts.isin(TRUE_FLAGS) | texts.isin(FALSE_FLAGS) | texts.isin(MISSING_FLAGS)
    if not known.all():
        bad = int(np.flatnonzero(~known)[0])
        position = int(np.flatnonzero(codes == bad)[0])
        row = position // max(cells.shape[1], 1) if cells.ndim == 2 else position
        raise ImportFormatError(
            str(path),
            f"estimated flag {quote(distinct[bad])} is not A/E, actual/estimated, true/false or M (missing)",
            f"line {lines[row]}",
        )
    estimated = np.asarray(texts.isin(TRUE_FLAGS))[codes].reshape(cells.shape)
    missing = np.asarray(texts.isin(MISSING_FLAGS))[codes].reshape(cells.shape)
    return estimated, missing


def localise(path: Path | str, naive: pd.DatetimeIndex, lines: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """UK clock times to UTC epoch seconds; the repeated autumn hour is summer time on first sight, winter after."""
    n = len(naive)
    summer = naive.tz_localize(UK_TIME_ZONE, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT")
    if summer.isna().any():
        first = int(np.flatnonzero(summer.isna())[0])
        raise ImportFormatError(
            str(path),
            f"local time {naive[first]} does not exist in {UK_TIME_ZONE} (clocks go forward); "
            "if the file is in UTC, import it with --utc",
            f"line {lines[first]}",
        )
    winter = naive.tz_localize(UK_TIME_ZONE, ambiguous=np.zeros(n, dtype=bool), nonexistent="NaT")
    ambiguous = np.asarray(summer != winter)
    if not ambiguous.any():
        return summer.as_unit("s").asi8
    keys = pd.DataFrame({"g": groups if groups is not None else 0, "t": naive.asi8})
    seen_before = keys.groupby(["g", "t"]).cumcount().to_numpy() > 0
    return np.where(ambiguous & seen_before, winter.as_unit("s").asi8, summer.as_unit("s").asi8)


def spring_gap_times(naive: pd.DatetimeIndex) -> np.ndarray:
    """Mask of naive times that no UK clock ever shows (the hour skipped when clocks go forward)."""
    localised = naive.tz_localize(UK_TIME_ZONE, ambiguous="NaT", nonexistent="NaT")
    missing = np.asarray(localised.isna())
    if not missing.any():
        return missing
    summer = naive[missing].tz_localize(UK_TIME_ZONE, ambiguous=True, nonexistent="NaT")
    out = np.zeros(len(naive), dtype=bool)
    out[np.flatnonzero(missing)[np.asarray(summer.isna())]] = True
    return out


def read_units(path: Path | str, raw: pd.Series, lines: np.ndarray) -> np.ndarray:
    """Canonical unit of every row from a unit column (reactive rows must be removed before)."""
    codes, distinct = pd.factorize(raw.str.strip())
    canonical = []
    for position, text in enumerate(distinct):
        try:
            canonical.append(normalise_unit(text))
        except ValueError as error:
            line = lines[int(np.flatnonzero(codes == position)[0])]
            raise ImportFormatError(str(path), f"unknown unit {quote(text)}", f"line {line}") from error
    return np.asarray(canonical, dtype=object)[codes]


def parse_hh_csv(
    path: Path,
    data: bytes,
    *,
    meter: str | None = None,
    fuel: str | None = None,
    local_time: bool = False,
    utc: bool = False,
    options: ImportOptions | None = None,
) -> ParsedFile:
    """Parse a long or wide meter file in delimited text, whichever its table shows."""
    from portfolio.ingest.grid import read_text_grid
    from portfolio.ingest.layout import parse_grid

    options = options or ImportOptions(
        meter=meter, fuel=fuel, time_basis="local" if local_time else "utc" if utc else "auto"
    )
    return parse_grid(path, read_text_grid(path, data), options)


def read_csv_strings(path: Path, data: bytes) -> pd.DataFrame:
    """Read every cell of a plain headed CSV as text (the weather reader's table)."""
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
        raise ImportFormatError(str(path), f"not a readable CSV file: {quote(error, 200)}") from error
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame.fillna("")


def parse_timestamps(path: Path, texts: pd.Series, lines: np.ndarray) -> np.ndarray:
    """Weather times to UTC epoch seconds: offsets are respected, naive times are UTC (Met Office)."""
    from portfolio.ingest.dates import parse_datetimes

    index = parse_datetimes(path, texts, lines, "time", with_time=True)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.as_unit("s").asi8
