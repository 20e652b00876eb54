"""Find the table in a file the way an analyst does: skip title lines, find the header and the footer.

Real exports put a report title, a ``sep=,`` line or blank lines above the header, a "Total" or "End of report"
line below the data, and some have no header at all. The data rows are what give a table away: two consecutive
rows with the same number of fields, a date in one cell and numbers in others. The header, if any, is the row
right above them that holds no date. Everything below the last dated row whose first cell is text never seen in
the data is a footer; anything else below the data is kept, so the parsers refuse it by line.

A :class:`Grid` is all text: cells stay strings so the parsers can tell gaps from bad values and name the line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from portfolio.ingest.records import ImportFormatError
from portfolio.ingest.text import decode_text, quote, text_encoding

SNIFF_LINES = 300
MAX_COLUMNS = 2_000
"""A wide day row with a flag after every value has about 110 columns; thousands mean a broken file."""
MAX_FOOTER_LINES = 20
DATE_LIKE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2019-11-13, 2019/11/13
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 13/11/2019, 13-11-19, 19-11-13
    r"|\d{1,2}[-/ ][A-Za-z]{3}[-/ ]\d{2,4}"  # 13-Nov-19
    r"|[A-Za-z]{3} {1,2}\d{1,2} \d{4}"  # Nov 13 2019 12:00AM
)
NUMBER_LIKE = re.compile(r"^\s*-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\s*$")
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class Grid:
    """The table of a file: header names by position, body cells as text, and each body row's line number."""

    header: tuple[str, ...]
    body: pd.DataFrame  # columns 0..n-1, every cell a str ("" when empty)
    lines: np.ndarray  # int64, 1-based line (or sheet row) number of each body row
    header_line: int | None  # None when the file has no header
    skipped_lines: int  # title, sep= and blank lines above the header or first data row
    footer_lines: int
    ends_mid_line: bool = False  # text file whose last line has no line end (cut copies look like this)


def _is_data_row(cells: list[str]) -> bool:
    filled = [c for c in cells if c.strip()]
    return len(filled) >= 2 and any(DATE_LIKE.search(c) for c in filled)


def _width(cells: list[str]) -> int:
    """Fields up to the last non-empty one (trailing separators are padding)."""
    width = len(cells)
    while width and not cells[width - 1].strip():
        width -= 1
    return width


def locate_table(rows: list[list[str]]) -> tuple[int | None, int]:
    """Index of the header row (None if there is none) and of the first data row, among the first rows."""
    first_data = None
    for i, cells in enumerate(rows):
        if not _is_data_row(cells):
            continue
        following = next((r for r in rows[i + 1 :] if any(c.strip() for c in r)), None)
        if following is None or (_is_data_row(following) and abs(_width(following) - _width(cells)) <= 4):
            first_data = i
            break
    if first_data is None:  # no dated rows (epoch times, odd dates): the first non-blank, non-title row heads it
        widths = [_width(r) for r in rows]
        widest = max(widths, default=0)
        for i, cells in enumerate(rows):
            if widths[i] >= 2 and widths[i] >= widest // 2 and not cells[0].strip().lower().startswith("sep="):
                return i, i + 1
        raise ImportFormatError("", "no table found: no line has two or more fields", "line 1")
    for i in range(first_data - 1, -1, -1):
        cells = rows[i]
        if not any(c.strip() for c in cells):
            continue
        if cells[0].strip().lower().startswith("sep="):
            break
        filled = [c for c in cells if c.strip()]
        if len(filled) >= max(2, _width(rows[first_data]) // 2) and not any(DATE_LIKE.search(c) for c in filled):
            return i, first_data
        break
    return None, first_data


def _delimiter(lines: list[str]) -> str:
    """The ``sep=`` line's delimiter, else the one that splits the widest line into the most fields."""
    for line in lines[:5]:
        if line.strip().lower().startswith("sep=") and len(line.strip()) == 5:
            return line.strip()[4]
    sample = [line for line in lines if line.strip()][:50]
    counts = {d: max((line.count(d) for line in sample), default=0) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_text_grid(path: Path | str, data: bytes, *, lines_checked: bool = False) -> Grid:
    """Find the table in a delimited text file and read its body with the pandas C reader."""
    text = decode_text(path, data, lines_checked=lines_checked)
    head_lines = text[: 1 << 20].split("\n", SNIFF_LINES)[:SNIFF_LINES]
    delimiter = _delimiter(head_lines)
    rows = [next(csv.reader([line], delimiter=delimiter), []) for line in head_lines]
    try:
        header_index, data_index = locate_table(rows)
    except ImportFormatError as error:
        raise ImportFormatError(str(path), error.problem, error.where) from None
    header = tuple(c.strip() for c in rows[header_index]) if header_index is not None else ()
    width = max(_width(list(header)), max((_width(r) for r in rows[data_index:]), default=0))
    if width > MAX_COLUMNS:
        raise ImportFormatError(str(path), f"{width:,} columns: not a meter file", f"line {data_index + 1}")
    offset = _line_offset(text, data_index)
    ends_mid_line = len(text) > offset and not text.endswith("\n")
    source: io.IOBase
    encoding = text_encoding(data)
    if encoding in ("utf-8", "utf-8-sig") and b"\r" not in data:
        skip = len(text[:offset].encode()) + (3 if encoding == "utf-8-sig" else 0)
        source = io.BytesIO(memoryview(data)[skip:])  # pandas reads the bytes: no str copy of a large file
    else:
        source = io.StringIO(text[offset:])
    try:
        body = pd.read_csv(
            source,
            sep=delimiter,
            header=None,
            names=range(width),
            dtype=str,
            skipinitialspace=True,
            skip_blank_lines=False,
            keep_default_na=False,
            quoting=csv.QUOTE_MINIMAL,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        body = pd.DataFrame(columns=range(width), dtype=str)
    except (pd.errors.ParserError, ValueError) as error:
        message = str(error)
        found = re.search(r"line (\d+), saw (\d+)", message)
        where = f"line {data_index + int(found.group(1))}" if found else None
        problem = f"a line has {found.group(2)} fields, the table has {width}" if found else quote(message, 200)
        raise ImportFormatError(str(path), problem, where) from None
    body = body.fillna("")
    lines = np.arange(len(body), dtype=np.int64) + data_index + 1
    return _finish(path, header, body, lines, header_index, data_index, ends_mid_line)


def _line_offset(text: str, line_index: int) -> int:
    offset = 0
    for _ in range(line_index):
        offset = text.index("\n", offset) + 1
    return offset


def _finish(
    path: Path | str,
    header: tuple[str, ...],
    body: pd.DataFrame,
    lines: np.ndarray,
    header_index: int | None,
    data_index: int,
    ends_mid_line: bool,
) -> Grid:
    """Drop blank rows and the footer; refuse a header without data."""
    maybe_blank = (body[0] == "").to_numpy() if len(body.columns) else np.ones(len(body), dtype=bool)
    if maybe_blank.any():  # only rows whose first cell is empty can be blank: check just those
        blank = np.zeros(len(body), dtype=bool)
        blank[maybe_blank] = ~(body[maybe_blank] != "").to_numpy().any(axis=1)
        if blank.any():
            body, lines = body[~blank], lines[~blank]
    footer = _footer_rows(body)
    if footer:
        body, lines = body.iloc[:-footer], lines[:-footer]
    if body.empty:
        where = f"line {header_index + 1}" if header_index is not None else "line 1"
        raise ImportFormatError(str(path), "the file has a header but no data rows", where)
    return Grid(
        header=header,
        body=body.reset_index(drop=True),
        lines=lines,
        header_line=header_index + 1 if header_index is not None else None,
        skipped_lines=header_index if header_index is not None else data_index,
        footer_lines=footer,
        ends_mid_line=ends_mid_line and footer == 0,
    )


def _footer_rows(body: pd.DataFrame) -> int:
    """Count trailing rows with no date whose first cell is text that never starts a data row."""
    if len(body) < 2:
        return 0
    tail = body.tail(MAX_FOOTER_LINES + 1).to_numpy(dtype=object).tolist()
    footer = 0
    for cells in reversed(tail):
        texts = [str(c).strip() for c in cells]
        filled = [c for c in texts if c]
        first = filled[0] if filled else ""
        if (
            filled
            and footer < len(body) - 1
            and not any(DATE_LIKE.search(c) for c in filled)
            and not NUMBER_LIKE.match(first)
            and not _starts_a_data_row(body, first, footer + 1)
        ):
            footer += 1
            continue
        break
    return footer


def _starts_a_data_row(body: pd.DataFrame, first: str, tail: int) -> bool:
    """Whether ``first`` begins a row above the last ``tail`` rows (then it is data, not a footer)."""
    column = body[0].iloc[: len(body) - tail]
    return bool((column == first).any() or (column.str.strip() == first).any())


def sheet_cell_text(value: object) -> str:
    """One spreadsheet cell as the text a CSV export of it would hold (dates ISO, numbers in full)."""
    kind = type(value)  # the common cells first: one call per cell of a whole sheet
    if kind is float:
        number = cast(float, value)
        return repr(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    if kind is str:
        return cast(str, value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def sheet_grid(path: Path | str, rows: list[list[str]]) -> Grid:
    """A Grid from spreadsheet rows already turned to text (row n of the sheet is line n)."""
    rows = [r[: MAX_COLUMNS + 1] for r in rows]
    try:
        header_index, data_index = locate_table(rows[:SNIFF_LINES])
    except ImportFormatError as error:
        raise ImportFormatError(str(path), error.problem, "row 1") from None
    header = tuple(c.strip() for c in rows[header_index]) if header_index is not None else ()
    width = max([_width(list(header))] + [_width(r) for r in rows[data_index:]])
    if width > MAX_COLUMNS:
        raise ImportFormatError(str(path), f"{width:,} columns: not a meter sheet", f"row {data_index + 1}")
    padded = [(r + [""] * width)[:width] for r in rows[data_index:]]
    body = (
        pd.DataFrame(padded, columns=range(width), dtype=object).astype(str)
        if padded
        else pd.DataFrame(columns=range(width), dtype=str)
    )
    lines = np.arange(len(body), dtype=np.int64) + data_index + 1
    return _finish(path, header, body, lines, header_index, data_index, False)
