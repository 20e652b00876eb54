"""Dates and times as data collectors write them, with the format chosen from the values themselves.

A column of dates is read with one strict format (so every row is read the same way and the C parser does the
work); the format is the candidate that reads every sampled value *and* makes the dates most regular (consecutive
days, steady intervals). That tells ``13/11/19`` (day first, UK) from ``19-11-13`` (``%y-%m-%d``) without guessing
row by row. Day-first formats come before month-first ones, so an undecidable file is read the UK way.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.ingest.records import ImportFormatError
from portfolio.ingest.text import quote

DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%y-%m-%d",
    "%d-%m-%y",
    "%d-%b-%y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d %b %y",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%b %d %Y",
    "%Y%m%d",
    "%m/%d/%Y",
    "%m/%d/%y",
)
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M%p", "%I:%M %p", "%I:%M:%S %p", "%I:%M:%S%p", "%H:%M:%S.%f", "%H%M")
SAMPLE = 2_000
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_TIME_ONLY = re.compile(r"^\s*(\d{1,2})[:.]?(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?\s*$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _sample(texts: pd.Series) -> pd.Series:
    unique = pd.Series(texts.unique())
    if len(unique) > SAMPLE:
        unique = pd.concat([unique.iloc[: SAMPLE // 2], unique.iloc[-SAMPLE // 2 :]])
    return unique


def _regularity(parsed: pd.Series) -> float:
    """Share of steps between sorted distinct values that equal the most common step (1.0 = perfectly regular)."""
    values = np.unique(parsed.dropna().to_numpy(dtype="datetime64[s]").astype(np.int64))
    if len(values) < 2:
        return 1.0
    steps = np.diff(values)
    _, counts = np.unique(steps, return_counts=True)
    return float(counts.max() / len(steps)) - (0.5 if (values.min() < 631152000 or values.max() > 4102444800) else 0)


def choose_format(path: Path | str, texts: pd.Series, column: str, *, with_time: bool) -> str:
    """The format that reads every sampled value and orders them most regularly; ImportFormatError if none does."""
    sample = _sample(texts)
    first = str(sample.iloc[0])
    if re.match(r"^\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$", first):
        candidates: tuple[str, ...] = ("ISO8601",)
    elif with_time and re.search(r"\d[:.]\d\d(?!\d)|\d[ap]m$|\d [ap]m$", first, re.IGNORECASE):
        candidates = tuple(f"{d} {t}" for d in DATE_FORMATS for t in TIME_FORMATS) + tuple(
            f"{d}T{t}" for d in DATE_FORMATS[:1] for t in TIME_FORMATS[:2]
        )
        candidates += DATE_FORMATS
    else:
        candidates = DATE_FORMATS
    best, best_score = None, (-1, -1.0)
    for fmt in candidates:
        parsed = pd.to_datetime(
            sample, format=fmt, errors="coerce", utc=fmt == "ISO8601" and bool(_OFFSET.search(first))
        )
        read = int(parsed.notna().sum())
        if read == 0:
            continue
        score = (read, _regularity(parsed))
        if score[0] > best_score[0] or (score[0] == best_score[0] and score[1] > best_score[1] + 1e-9):
            best, best_score = fmt, score
        if fmt == "ISO8601" or (read == len(sample) and score[1] >= 0.999):
            break
    if best is None:
        raise ImportFormatError(
            str(path),
            f"cannot read {column} {quote(first)}: not a date format seen in UK meter files "
            "(e.g. 13/11/2019, 2019-11-13, 13-Nov-19, Nov 13 2019 12:00AM)",
            None,
        )
    return best


def parse_datetimes(
    path: Path | str, texts: pd.Series, lines: np.ndarray, column: str, *, with_time: bool
) -> pd.DatetimeIndex:
    """Parse a column of dates (or dates with times) with one chosen format; name the first bad line."""
    return parse_stamps(path, texts, lines, column, with_time=with_time)[0]


def parse_stamps(
    path: Path | str, texts: pd.Series, lines: np.ndarray, column: str, *, with_time: bool
) -> tuple[pd.DatetimeIndex, bool]:
    """Parsed stamps and whether any said ``24:00`` (end-stamped evidence).

    Each distinct text is parsed once (a file of many meters repeats the same stamps), and a ``24:00`` (the end of
    a day in end-stamped files) is read as 00:00 of the next day.
    """
    codes, distinct = pd.factorize(texts, use_na_sentinel=False)
    unique = pd.Series(distinct, dtype=object).astype(str).str.strip()
    empty = (unique == "").to_numpy()
    if empty.any():
        row = int(np.flatnonzero(codes == int(np.flatnonzero(empty)[0]))[0])
        raise ImportFormatError(str(path), f"missing {column}", f"line {lines[row]}")
    if unique.str.contains("  ", regex=False).any():
        unique = unique.str.replace(_SPACES, " ", regex=True)  # "Nov  3 2019 12:00AM" pads the day with a space
    end_of_day = unique.str.contains("24:00", regex=False).to_numpy()
    if end_of_day.any():
        unique = unique.where(~end_of_day, unique.str.replace("24:00", "00:00", regex=False))
    try:
        fmt = choose_format(path, unique, column, with_time=with_time)
    except ImportFormatError as error:
        raise ImportFormatError(str(path), error.problem, f"line {lines[0]}") from None
    aware = fmt == "ISO8601" and bool(_OFFSET.search(str(unique.iloc[0])))
    parsed = pd.DatetimeIndex(pd.to_datetime(unique, format=fmt, errors="coerce", utc=aware))
    bad = np.asarray(parsed.isna())
    if bad.any():
        row = int(np.flatnonzero(codes == int(np.flatnonzero(bad)[0]))[0])
        raise ImportFormatError(
            str(path),
            f"cannot read {column} {quote(texts.iloc[row])} (the rest of the file reads as {fmt})",
            f"line {lines[row]}",
        )
    if end_of_day.any():
        parsed = parsed + pd.to_timedelta(end_of_day.astype(np.int64), unit="D")
    return parsed.take(codes), bool(end_of_day.any())


def has_offsets(texts: pd.Series) -> bool:
    """Whether timestamps carry ``Z`` or a UTC offset (then they are exact instants, whatever the basis)."""
    return bool(len(texts)) and bool(_OFFSET.search(str(texts.iloc[0]).strip()))


def looks_like_times(texts: pd.Series) -> bool:
    """Whether a column holds clock times without dates (``00:30``, ``0030``, ``12:30 AM``)."""
    sample = _sample(texts.str.strip())
    sample = sample[sample != ""]
    return bool(len(sample)) and bool(sample.map(lambda t: bool(_TIME_ONLY.match(str(t)))).all())


def clock_minutes(path: Path | str, texts: pd.Series, lines: np.ndarray, column: str) -> np.ndarray:
    """Minutes after midnight of clock-time texts (``24:00`` is 1440); distinct texts are parsed once each."""
    codes, uniques = pd.factorize(texts.str.strip())
    minutes = np.empty(len(uniques), dtype=np.int64)
    for i, text in enumerate(uniques):
        m = _TIME_ONLY.match(str(text))
        ok = m is not None
        if m is not None:
            hour, minute = int(m.group(1)), int(m.group(2))
            if m.group(4):
                ok = 1 <= hour <= 12
                hour = hour % 12 + (12 if m.group(4).lower().startswith("p") else 0)
            ok = ok and minute < 60 and (hour * 60 + minute) <= 1440 + 30
            minutes[i] = hour * 60 + minute
        if not ok:
            row = int(np.flatnonzero(codes == i)[0])
            raise ImportFormatError(str(path), f"cannot read {column} {quote(text)} as a time", f"line {lines[row]}")
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise ImportFormatError(str(path), f"missing {column}", f"line {lines[row]}")
    return minutes[codes]
