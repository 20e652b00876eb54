"""Write shape rows to an Excel workbook, one sheet per fuel, and stream the finished file.

openpyxl's write-only mode keeps one row in memory and spools each sheet to a temporary file, so memory stays flat;
an xlsx is a zip that is only valid once complete, so the workbook is saved to a spooled temporary file and then
yielded in chunks. Because nothing is yielded before the workbook is complete, an error part-way (a sheet over
Excel's row limit) still reaches the caller before any byte is sent.

Each sheet starts with a title row stating the fuel, the range, the time zone and the unit, then the column
headers. Times are Excel date cells: ``local_start`` is local wall time (with ``utc_offset`` beside it, since the
autumn clock change repeats an hour) and ``utc_start`` is UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from portfolio.exports.errors import ExportError
from portfolio.exports.meta import ExportMeta, ExportShape

EXCEL_MAX_ROWS = 1_048_576
HEADER_ROWS = 2  # the title row and the column headers
MAX_DATA_ROWS = EXCEL_MAX_ROWS - HEADER_ROWS
SPOOL_BYTES = 16 * 1024 * 1024
YIELD_BYTES = 1024 * 1024

XLSX_COLUMNS = {
    ExportShape.INTERVAL: (
        ("site_id", "site_id"),
        ("site_name", "site_name"),
        ("meter_identifier", "MPAN/MPRN"),
        ("local_start", "local_start"),
        ("utc_offset", "utc_offset"),
        ("utc_start", "utc_start [UTC]"),
        ("interval_seconds", "interval [s]"),
        ("energy_kwh", "energy [kWh]"),
        ("quality", "quality"),
    ),
    ExportShape.DAILY: (
        ("site_id", "site_id"),
        ("site_name", "site_name"),
        ("meter_identifier", "MPAN/MPRN"),
        ("local_date", "local_date"),
        ("energy_kwh", "energy [kWh]"),
        ("intervals", "intervals"),
        ("expected_intervals", "expected_intervals"),
        ("coverage", "coverage"),
        ("estimated_intervals", "estimated_intervals"),
        ("interval_seconds", "interval [s]"),
    ),
    ExportShape.PORTFOLIO: (
        ("local_start", "local_start"),
        ("utc_offset", "utc_offset"),
        ("utc_start", "utc_start [UTC]"),
        ("energy_kwh", "energy [kWh]"),
        ("sites_reporting", "sites_reporting"),
    ),
}
"""(shape column, header text) per sheet column; the fuel is the sheet, so it is not a column."""

SHAPE_TITLES = {
    ExportShape.INTERVAL: "interval readings per site",
    ExportShape.DAILY: "daily totals per site",
    ExportShape.PORTFOLIO: "portfolio total per interval",
}


def check_xlsx_fits(meta: ExportMeta) -> None:
    """Refuse an export whose expected rows would overflow a sheet, before any reading is read."""
    for fuel, rows in (meta.expected_rows or {}).items():
        if rows > MAX_DATA_ROWS:
            raise ExportError(
                f"{rows:,} {fuel} rows do not fit in one Excel sheet (at most {MAX_DATA_ROWS:,}): "
                "choose a shorter range, fewer sites, daily totals, or CSV"
            )


def write_xlsx(rows: Iterable[pd.DataFrame], shape: ExportShape, meta: ExportMeta) -> Iterator[bytes]:
    """Yield the bytes of a workbook with one sheet per fuel in ``meta.fuels``; unknown fuels are refused."""
    check_xlsx_fits(meta)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        _write_workbook(spool, rows, shape, meta)
        spool.seek(0)
        while block := spool.read(YIELD_BYTES):
            yield block


def _write_workbook(target: IO[bytes], rows: Iterable[pd.DataFrame], shape: ExportShape, meta: ExportMeta) -> None:
    workbook = Workbook(write_only=True)
    sheets = {fuel: _start_sheet(workbook, fuel, shape, meta) for fuel in meta.fuels}
    try:
        _append_rows(sheets, rows, shape, meta)
    except BaseException:
        _discard(sheets.values())
        raise
    workbook.save(target)


def _append_rows(
    sheets: dict[str, WriteOnlyWorksheet], rows: Iterable[pd.DataFrame], shape: ExportShape, meta: ExportMeta
) -> None:
    """Append each frame's rows to its fuel's sheet, refusing unknown fuels and sheets over Excel's limit."""
    counts = dict.fromkeys(sheets, 0)
    for frame in rows:
        if frame.empty:
            continue
        for key, part in frame.groupby("fuel", sort=False):
            fuel = str(key)
            if fuel not in sheets:
                raise ExportError(
                    f"rows for fuel {fuel!r}, which this export does not include ({', '.join(meta.fuels)})"
                )
            counts[fuel] += len(part)
            if counts[fuel] > MAX_DATA_ROWS:
                raise ExportError(
                    f"more than {MAX_DATA_ROWS:,} {fuel} rows do not fit in one Excel sheet: use CSV or a shorter range"
                )
            for values in _cell_rows(part, shape, sheets[fuel]):
                sheets[fuel].append(values)


def _discard(sheets: Iterable[WriteOnlyWorksheet]) -> None:
    """Close half-written sheets and delete their temporary files, so a failed export leaves nothing behind."""
    for sheet in sheets:
        with contextlib.suppress(Exception):
            sheet.close()
        path = getattr(getattr(sheet, "_writer", None), "out", None)  # openpyxl keeps no public handle on it
        if isinstance(path, str):
            with contextlib.suppress(OSError):
                os.remove(path)


def _start_sheet(workbook: Workbook, fuel: str, shape: ExportShape, meta: ExportMeta) -> WriteOnlyWorksheet:
    """Create a fuel's sheet with its title row (units and range) and column headers."""
    sheet = workbook.create_sheet(title=fuel[:31])
    for letter, width in zip("ABCDEFGHIJ", (10, 28, 16, 20, 12, 20, 12, 14, 14, 14), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A3"
    title = text_cell(sheet, sheet_title(fuel, shape, meta))
    title.font = Font(bold=True)
    sheet.append([title])
    headers = []
    for _, text in XLSX_COLUMNS[shape]:
        cell = text_cell(sheet, text)
        cell.font = Font(bold=True)
        headers.append(cell)
    sheet.append(headers)
    return sheet


def sheet_title(fuel: str, shape: ExportShape, meta: ExportMeta) -> str:
    """State what the sheet holds: title, fuel, shape, range, zone, unit and when it was generated."""
    generated = meta.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{meta.title}: {fuel} {SHAPE_TITLES[shape]}, {meta.range_label()}; energy in kWh; "
        f"times local with UTC offset and in UTC; generated {generated}"
    )


def text_cell(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    """A cell that holds ``text`` as a string, never a formula (openpyxl makes any str starting "=" a formula).

    A site named ``=HYPERLINK("http://...")`` is shown as that text; Excel does not evaluate string cells.
    """
    cell: Cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell


def _as_text_cells(sheet: WriteOnlyWorksheet, values: list[object]) -> list[object]:
    """Wrap the strings openpyxl would store as formulas; other values stay plain (fast) Python values."""
    return [text_cell(sheet, v) if isinstance(v, str) and v.startswith("=") else v for v in values]


def _cell_rows(frame: pd.DataFrame, shape: ExportShape, sheet: WriteOnlyWorksheet) -> Iterator[list[object]]:
    """Rows of values openpyxl can write: datetimes, dates, ints, floats, str, and text cells for "=..." strings."""
    columns: list[list[object]] = []
    for name, _ in XLSX_COLUMNS[shape]:
        if name == "quality":
            values = np.where(frame["estimated"].to_numpy(dtype=bool), "estimated", "actual").tolist()
        elif name in ("local_start", "utc_start"):
            values = frame[name].to_numpy(dtype="datetime64[s]").tolist()  # datetime.datetime, naive
        else:
            values = frame[name].tolist()
            if not pd.api.types.is_numeric_dtype(frame[name].dtype):
                values = _as_text_cells(sheet, values)
        columns.append(values)
    return (list(row) for row in zip(*columns, strict=True))
