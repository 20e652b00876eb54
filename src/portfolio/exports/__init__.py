"""Streaming exports: interval, daily and portfolio shapes as CSV, Excel or Green Button XML.

Every writer takes an *iterable* of DataFrame chunks (as a server-side cursor reads them) and yields ``bytes``, so a
route can hand the generator to a streaming response and memory stays flat whatever the range. Checks that can
fail (format not offered for the shape, too many rows for Excel) run when :func:`write_export` is called, before a
single chunk is read, so the caller can still answer with an error page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator

import pandas as pd

from portfolio.exports.csv_writer import write_csv
from portfolio.exports.errors import ExportError
from portfolio.exports.espi_writer import write_espi
from portfolio.exports.meta import ExportFormat, ExportMeta, ExportShape, as_format, as_shape
from portfolio.exports.shapes import iter_daily_rows, iter_interval_rows, iter_portfolio_rows
from portfolio.exports.xlsx_writer import check_xlsx_fits, write_xlsx

__all__ = [
    "ExportError",
    "ExportFormat",
    "ExportMeta",
    "ExportShape",
    "file_name",
    "media_type",
    "write_export",
]

MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.ESPI: "application/atom+xml",
}
EXTENSIONS = {ExportFormat.CSV: "csv", ExportFormat.XLSX: "xlsx", ExportFormat.ESPI: "xml"}
ESPI_INTERVAL_ONLY = "Green Button export is available for interval data only"


def write_export(
    shape: str | ExportShape, format: str | ExportFormat, chunks: Iterable[pd.DataFrame], meta: ExportMeta
) -> Iterator[bytes]:
    """Check the request now, then return a generator of the file's bytes.

    ``chunks``: reading chunks (``shapes.READING_CHUNK_COLUMNS``, ordered by site then time) for the interval and
    daily shapes, or for the daily shape days the roll-up summed (``shapes.ROLLED_UP_DAY_COLUMNS``); per-interval
    sums (``shapes.PORTFOLIO_CHUNK_COLUMNS``) for the portfolio shape.
    """
    shape, format = as_shape(shape), as_format(format)
    if format is ExportFormat.ESPI:
        if shape is not ExportShape.INTERVAL:
            raise ExportError(ESPI_INTERVAL_ONLY)
        return write_espi(chunks, meta)
    if format is ExportFormat.XLSX:
        check_xlsx_fits(meta)
    rows = _shape_rows(shape, chunks, meta)
    return write_csv(rows, shape) if format is ExportFormat.CSV else write_xlsx(rows, shape, meta)


def _shape_rows(shape: ExportShape, chunks: Iterable[pd.DataFrame], meta: ExportMeta) -> Iterator[pd.DataFrame]:
    if shape is ExportShape.INTERVAL:
        return iter_interval_rows(chunks)
    if shape is ExportShape.DAILY:
        return iter_daily_rows(chunks)
    return iter_portfolio_rows(chunks, meta.time_zone)


def media_type(format: str | ExportFormat) -> str:
    """The Content-Type of a format's download."""
    return MEDIA_TYPES[as_format(format)]


def file_name(
    shape: str | ExportShape, format: str | ExportFormat, start: dt.date, end: dt.date, prefix: str = "portfolio"
) -> str:
    """A download name saying what and when, e.g. ``portfolio_interval_2024-01-01_2024-12-31.csv``."""
    safe_prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", prefix).strip("-") or "portfolio"
    suffix = "_greenbutton" if as_format(format) is ExportFormat.ESPI else ""
    return f"{safe_prefix}_{as_shape(shape).value}{suffix}_{start.isoformat()}_{end.isoformat()}.{EXTENSIONS[as_format(format)]}"
