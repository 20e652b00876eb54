"""Pick the parser from a file's content, never its name: uploads and exports are often misnamed."""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path

from portfolio.ingest.espi import ATOM, ESPI, parse_espi
from portfolio.ingest.hh_csv import csv_format, parse_hh_csv
from portfolio.ingest.records import ImportFormatError, ParsedFile
from portfolio.ingest.weather_csv import is_weather_header, parse_weather_csv

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 65536


def read_input(path: Path) -> bytes:
    """Read a file's bytes, transparently un-gzipping it whatever its name says."""
    data = Path(path).read_bytes()
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise ImportFormatError(str(path), f"gzip data is corrupt or truncated: {error}") from error


def detect_format(path: Path, data: bytes) -> str:
    """Name the format of decompressed content: espi-xml, hh-csv-long, hh-csv-wide or weather-csv."""
    head = data[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if ATOM.encode() in head and ESPI.encode() in head:
            return "espi-xml"
        raise ImportFormatError(
            str(path), "XML that is not a Green Button (Atom feed with ESPI content) file", "line 1"
        )
    text = head.decode("utf-8", errors="replace")
    first_line = text.splitlines()[0] if text else ""
    columns = [c.strip() for c in next(csv.reader(io.StringIO(first_line)), [])]
    meter_format = csv_format(columns)
    if meter_format == "hh-csv-wide":
        return meter_format
    if is_weather_header(columns) and meter_format is None:
        return "weather-csv"
    if meter_format is not None:
        return meter_format
    raise ImportFormatError(
        str(path),
        f"unknown content: header {columns[:12]} is not a meter CSV (timestamp + energy columns, or 46-50 half-hour "
        "columns), a weather CSV (time + temperature) or Green Button XML",
        "line 1",
    )


def parse_file(
    path: Path,
    *,
    meter: str | None = None,
    fuel: str | None = None,
    local_time: bool = False,
    location: str | None = None,
) -> ParsedFile:
    """Read, detect and parse one import file without touching the database."""
    data = read_input(path)
    if not data.strip():
        raise ImportFormatError(str(path), "the file is empty")
    kind = detect_format(path, data)
    if kind == "espi-xml":
        return parse_espi(path, data, fuel=fuel)
    if kind == "weather-csv":
        return parse_weather_csv(path, data, location=location)
    return parse_hh_csv(path, data, meter=meter, fuel=fuel, local_time=local_time)
