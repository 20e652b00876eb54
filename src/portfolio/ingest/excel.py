"""Excel workbooks (``.xlsx`` through calamine, legacy ``.xls`` through xlrd): the first sheet with a table.

Cells become the text a CSV export would hold (dates ISO, whole numbers without ``.0``) so one detector and
one pair of readers serve every format; line numbers in errors are sheet row numbers.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from portfolio.ingest.grid import MAX_COLUMNS, Grid, sheet_cell_text, sheet_grid
from portfolio.ingest.records import ImportFormatError
from portfolio.ingest.text import quote

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_SHEET_ROWS = 2_000_000


def is_workbook(data: bytes) -> str | None:
    """ "xlsx", "xls" or None, from the first bytes."""
    if data[:8] == XLS_MAGIC:
        return "xls"
    if data[:4] == XLSX_MAGIC:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "xlsx" if "xl/workbook.xml" in archive.namelist() else None
        except zipfile.BadZipFile:
            return "xlsx"  # a cut workbook: read_workbook names the problem
    return None


def read_workbook(path: Path | str, data: bytes, kind: str) -> Grid:
    """The grid of the first sheet that holds a table."""
    sheets = _xlsx_rows(path, data) if kind == "xlsx" else _xls_rows(path, data)
    problems = []
    for name, rows in sheets:
        if not any(any(c.strip() for c in row) for row in rows):
            continue
        try:
            return sheet_grid(path, rows)
        except ImportFormatError as error:
            problems.append(f"sheet {name}: {error.problem}")
    raise ImportFormatError(str(path), "; ".join(problems) or "the workbook has no sheet with data")


def read_sheets(path: Path | str, data: bytes, kind: str) -> list[tuple[str, list[list[str]]]]:
    """Every sheet's name and cells as text (``kind`` from :func:`is_workbook`), for lists that are not meter files."""
    return _xlsx_rows(path, data) if kind == "xlsx" else _xls_rows(path, data)


def _xlsx_rows(path: Path | str, data: bytes) -> list[tuple[str, list[list[str]]]]:
    """Rows of every sheet through calamine (Rust): about 15x faster than openpyxl on large sheets."""
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError, XmlError, ZipError

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=MAX_SHEET_ROWS + 1)
            if len(rows) > MAX_SHEET_ROWS:
                raise ImportFormatError(str(path), f"sheet {name} has more than {MAX_SHEET_ROWS:,} rows")
            sheets.append((name, [[sheet_cell_text(v) for v in row[: MAX_COLUMNS + 1]] for row in rows]))
        return sheets
    except ImportFormatError:
        raise
    except PasswordError:
        raise ImportFormatError(str(path), "the workbook is password-protected") from None
    except (CalamineError, XmlError, ZipError, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ImportFormatError(str(path), f"the workbook is corrupt or cut: {quote(error, 120)}") from error


def _xls_rows(path: Path | str, data: bytes) -> list[tuple[str, list[list[str]]]]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except (xlrd.XLRDError, AssertionError, IndexError, ValueError, OSError) as error:
        raise ImportFormatError(str(path), f"the .xls workbook is corrupt or cut: {quote(error, 120)}") from error
    sheets = []
    for index in range(book.nsheets):
        sheet = book.sheet_by_index(index)
        rows = []
        for r in range(min(sheet.nrows, MAX_SHEET_ROWS)):
            cells = []
            for c in range(min(sheet.ncols, MAX_COLUMNS + 1)):
                cell = sheet.cell(r, c)
                if cell.ctype == xlrd.XL_CELL_DATE:
                    value = xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
                    cells.append(
                        value.strftime("%Y-%m-%d %H:%M:%S") if value.year > 1900 else value.strftime("%H:%M:%S")
                    )
                else:
                    cells.append(sheet_cell_text(cell.value if cell.ctype != xlrd.XL_CELL_EMPTY else None))
            rows.append(cells)
        sheets.append((sheet.name, rows))
    return sheets
