"""Pick the parser from a file's content, never its name: uploads and exports are often misnamed.

Gzip and single-member zip archives are unpacked first; then a workbook (``.xlsx``/``.xls`` by their magic
bytes), Green Button XML, a weather CSV or a meter table (long or wide, see :mod:`portfolio.ingest.layout`).
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from pathlib import Path

from portfolio.ingest.espi import ATOM, ESPI, parse_espi
from portfolio.ingest.excel import is_workbook, read_workbook
from portfolio.ingest.grid import read_text_grid
from portfolio.ingest.labels import find_wide_columns
from portfolio.ingest.layout import parse_grid
from portfolio.ingest.records import ImportFormatError, ImportOptions, Layout, ParsedFile
from portfolio.ingest.text import decode_text, refuse_long_lines
from portfolio.ingest.weather_csv import is_weather_header, parse_weather_csv

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 65536
MAX_UNPACKED_BYTES = 2 << 30
"""A compressed upload may not unpack to more than 2 GiB (a zip bomb is refused, not unpacked)."""


def read_input(path: Path) -> bytes:
    """Read a file's bytes, transparently un-gzipping (or un-zipping a one-file zip) whatever its name says."""
    return unpack(path, Path(path).read_bytes())


def unpack(path: Path | str, data: bytes) -> bytes:
    """Un-gzip, or take the one member of a zip that is not a workbook; other bytes pass through."""
    if data[:2] == GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as archive:
                unpacked = archive.read(MAX_UNPACKED_BYTES + 1)
        except (OSError, EOFError, zlib.error) as error:
            raise ImportFormatError(str(path), f"gzip data is corrupt or truncated: {error}") from error
        if len(unpacked) > MAX_UNPACKED_BYTES:
            raise ImportFormatError(str(path), "gzip data unpacks to more than 2 GiB")
        return unpacked
    if data[:4] == b"PK\x03\x04" and is_workbook(data) is None:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) != 1:
                    raise ImportFormatError(str(path), f"a zip must hold exactly one file, this one has {len(members)}")
                if members[0].file_size > MAX_UNPACKED_BYTES:
                    raise ImportFormatError(str(path), "zip member unpacks to more than 2 GiB")
                return archive.read(members[0])
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise ImportFormatError(str(path), f"zip data is corrupt or truncated: {error}") from error
    return data


def detect_format(path: Path, data: bytes) -> str:
    """Name the format of unpacked content: espi-xml, xlsx, xls, hh-csv-long, hh-csv-wide or weather-csv."""
    workbook = is_workbook(data)
    if workbook:
        return workbook
    head = decode_text(path, data[:SNIFF_BYTES]).lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        if ATOM in head and ESPI in head:
            return "espi-xml"
        raise ImportFormatError(
            str(path), "XML that is not a Green Button (Atom feed with ESPI content) file", "line 1"
        )
    if data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        refuse_long_lines(path, data)  # before any table reader sees it: one vectorised scan, bounded memory
    grid = read_text_grid(path, data[:SNIFF_BYTES] if len(data) > SNIFF_BYTES else data)
    header = list(grid.header)
    if header and find_wide_columns(grid.header):
        return "hh-csv-wide"
    if header and is_weather_header(header) and not _has_meter_words(header):
        return "weather-csv"
    return "hh-csv-long"


def _has_meter_words(header: list[str]) -> bool:
    lower = " ".join(header).lower()
    return any(word in lower for word in ("kwh", "mpan", "mprn", "meter", "consumption", "energy", "lclid"))


def parse_file(
    path: Path,
    *,
    meter: str | None = None,
    fuel: str | None = None,
    local_time: bool = False,
    utc: bool = False,
    location: str | None = None,
    options: ImportOptions | None = None,
) -> ParsedFile:
    """Read, detect and parse one import file without touching the database."""
    data = read_input(path)
    return parse_bytes(
        path, data, meter=meter, fuel=fuel, local_time=local_time, utc=utc, location=location, options=options
    )


def parse_bytes(
    path: Path | str,
    data: bytes,
    *,
    meter: str | None = None,
    fuel: str | None = None,
    local_time: bool = False,
    utc: bool = False,
    location: str | None = None,
    options: ImportOptions | None = None,
) -> ParsedFile:
    """Detect and parse unpacked bytes (an upload, or a file already read)."""
    if local_time and utc:
        raise ImportFormatError(str(path), "--utc and --local-time contradict each other")
    options = options or ImportOptions(
        meter=meter, fuel=fuel, time_basis="local" if local_time else "utc" if utc else "auto"
    )
    if not data.strip():
        raise ImportFormatError(str(path), "the file is empty")
    kind = detect_format(Path(path), data)
    if kind == "espi-xml":
        parsed = parse_espi(Path(path), data, fuel=options.fuel)
        return ParsedFile(
            path=parsed.path,
            format=parsed.format,
            meters=parsed.meters,
            weather=parsed.weather,
            layout=Layout(layout="green-button", time_basis="offset", labelling="start"),
        )
    if kind == "weather-csv":
        parsed = parse_weather_csv(Path(path), data, location=location)
        return ParsedFile(
            path=parsed.path,
            format=parsed.format,
            weather=parsed.weather,
            layout=Layout(layout="weather", time_basis="utc", labelling="start", header_line=1),
        )
    if kind in ("xlsx", "xls"):
        grid = read_workbook(path, data, kind)
        parsed = parse_grid(path, grid, options)
        return ParsedFile(
            path=parsed.path,
            format=f"{kind}-{parsed.format.rsplit('-', 1)[-1]}",
            meters=parsed.meters,
            layout=parsed.layout,
        )
    lines_checked = data[:2] not in (b"\xff\xfe", b"\xfe\xff")  # detect_format scanned them
    return parse_grid(path, read_text_grid(path, data, lines_checked=lines_checked), options)
