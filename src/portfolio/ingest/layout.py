"""The layout detector: from a file's table to the reader that fits it, and a record of how it was read.

A header with 46-50 half-hour columns (any labelling in :mod:`.labels`) is a wide file; anything else is a
row-per-reading file. A file without a header gets one named from its first row's values (a meter id, a date, a
time or a settlement period, then numbers). A text file that stops without a line end is checked for the marks of
a cut copy (a last line shorter than the one before, or a last value with fewer decimals than every value above
it): a cut value must be refused, not stored as a smaller number.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from portfolio.ingest.grid import DATE_LIKE, NUMBER_LIKE, Grid
from portfolio.ingest.labels import find_wide_columns
from portfolio.ingest.long import parse_long
from portfolio.ingest.records import ImportFormatError, ImportOptions, Layout, ParsedFile
from portfolio.ingest.wide import parse_wide

_TIME_ONLY = re.compile(r"^\s*\d{1,2}:\d{2}(:\d{2})?\s*([ap]m)?\s*$", re.IGNORECASE)
_DECIMALS = re.compile(r"\.(\d+)\s*$")


def parse_grid(path: Path | str, grid: Grid, options: ImportOptions) -> ParsedFile:
    """Pick the wide or long reader for a table and return its readings with the layout it detected."""
    if grid.ends_mid_line:
        refuse_cut_last_line(path, grid)
    header = grid.header or headerless_names(path, grid)
    wide = find_wide_columns(header)
    parsed = parse_wide(path, grid, header, wide, options) if wide else parse_long(path, grid, header, options)
    if parsed.layout is not None and not grid.header:
        layout = parsed.layout
        parsed = ParsedFile(
            path=parsed.path,
            format=parsed.format,
            meters=parsed.meters,
            layout=Layout(
                layout=layout.layout,
                time_basis=layout.time_basis,
                labelling=layout.labelling,
                header_line=None,
                details=layout.details + (("header", "none: columns named from the values"),),
            ),
        )
    return parsed


def headerless_names(path: Path | str, grid: Grid) -> tuple[str, ...]:
    """Name the columns of a file without a header from what its first row holds."""
    first = [str(c).strip() for c in grid.body.iloc[0].tolist()]
    date_at = next((p for p, c in enumerate(first) if DATE_LIKE.search(c)), None)
    if date_at is None:
        raise ImportFormatError(str(path), "no header and no date in the first row", f"line {grid.lines[0]}")
    names = [f"column {p + 1}" for p in range(len(first))]
    names[date_at] = "datetime" if ":" in first[date_at] else "date"
    for p in range(date_at - 1, -1, -1):
        if first[p]:
            names[p] = "meter"
            break
    after = list(range(date_at + 1, len(first)))
    numeric = [p for p in after if NUMBER_LIKE.match(first[p]) or not first[p]]
    if len(after) >= 46 and len(numeric) >= 46 and names[date_at] == "date":
        for k, p in enumerate(after[:50]):
            names[p] = f"HH{k + 1}"
        return tuple(names)
    rest = after
    if rest and names[date_at] == "date" and _TIME_ONLY.match(first[rest[0]]):
        names[rest[0]] = "time"
        rest = rest[1:]
    elif rest and names[date_at] == "date" and first[rest[0]].isdigit() and 1 <= int(first[rest[0]]) <= 50:
        names[rest[0]] = "period"
        rest = rest[1:]
    value_at = next((p for p in rest if NUMBER_LIKE.match(first[p])), None)
    if value_at is not None:
        names[value_at] = "kWh"
        flag_at = value_at + 1
        if flag_at < len(first) and first[flag_at] and not NUMBER_LIKE.match(first[flag_at]):
            names[flag_at] = "flag"
    return tuple(names)


def refuse_cut_last_line(path: Path | str, grid: Grid) -> None:
    """Refuse a last line that ends early or whose last value lost digits (a copy cut off mid-value)."""
    body = grid.body
    if len(body) < 2:
        return
    last = [str(c).strip() for c in body.iloc[-1].tolist()]
    before = [str(c).strip() for c in body.iloc[-2].tolist()]
    width_last = max((p + 1 for p, c in enumerate(last) if c), default=0)
    width_before = max((p + 1 for p, c in enumerate(before) if c), default=0)
    where = f"line {grid.lines[-1]}"
    if width_last < width_before:
        raise ImportFormatError(
            str(path),
            f"the last line has {width_last} of {width_before} fields and no line end (truncated file?)",
            where,
        )
    column = width_last - 1
    match = _DECIMALS.search(last[column]) if column >= 0 else None
    decimals_last = len(match.group(1)) if match else 0
    above = body[column].iloc[-21:-1].str.strip()
    found = above.str.extract(r"\.(\d+)\s*$")[0].fillna("").str.len().to_numpy()
    numeric = above.str.match(NUMBER_LIKE.pattern).to_numpy(dtype=bool)
    if numeric.all() and len(found) and (found == found[0]).all() and found[0] > 0 and decimals_last < found[0]:
        raise ImportFormatError(
            str(path),
            f"the last value {last[column]!r} has {decimals_last} decimals where every value above has "
            f"{int(found[0])}, and the file has no line end (truncated file?)",
            where,
        )
    if NUMBER_LIKE.match(last[column]) is None and np.all(numeric):
        raise ImportFormatError(str(path), "the last line is cut (truncated file?)", where)
