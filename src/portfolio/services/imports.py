"""Imports: read and detect a file, apply a saved profile, load it in its own transaction, and say how it was read.

Used by ``portfolio import``, the daily pipeline's inbox and the upload page (:mod:`portfolio.services.uploads`).
A file is parsed completely before the transaction opens, so a refused file (exit 2 on the command line, an error
on the upload page) never touches the database; any load error rolls the whole file back and propagates, named
by :func:`describe_import_error` for the command's ``--json`` output. Profiles are hints for the rare file the
detector cannot read alone; they are looked up by name (``--profile NAME``) or by the signature of its header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.ingest.detect import parse_bytes, unpack
from portfolio.ingest.excel import is_workbook, read_workbook
from portfolio.ingest.grid import read_text_grid
from portfolio.ingest.hh_csv import normalised
from portfolio.ingest.loader import LoadSummary, load_parsed
from portfolio.ingest.records import ImportFormatError, ImportOptions, Layout, ParsedFile
from portfolio.queries import imports as queries
from portfolio.queries import pipeline as pipeline_queries
from portfolio.services import tracker_evaluation
from portfolio.timekeeping import local_date_span

log = logging.getLogger(__name__)

PROFILE_KEYS = ("meter_column", "labelling", "unit", "time_basis", "fuel", "meter")
SNIFF_BYTES = 65_536


@dataclass(frozen=True)
class FileImport:
    """What one imported file brought and how it was read (the ``--json`` summary and the upload result)."""

    path: str
    format: str
    layout: Layout | None
    meters: tuple[str, ...]
    first_interval_ts: int | None  # start of the earliest interval [UTC epoch s]
    last_interval_ts: int | None  # start of the latest interval [UTC epoch s]
    summary: LoadSummary
    profile: str | None = None


@dataclass(frozen=True)
class Preview:
    """How a file will be read, before anything is stored (the upload page shows it for confirmation)."""

    parsed: ParsedFile
    profile: str | None
    totals_kwh: dict[str, float] = field(default_factory=dict)
    first_rows: pd.DataFrame = field(default_factory=pd.DataFrame)


def header_signature(path: Path | str, data: bytes) -> tuple[str, str] | None:
    """(sha256 of the normalised header, header text) of a table file; None for XML or a file without header."""
    head = data.lstrip()[:1]
    if head == b"<":
        return None
    kind = is_workbook(data)
    try:
        grid = read_workbook(path, data, kind) if kind else read_text_grid(path, data[:SNIFF_BYTES])
    except ImportFormatError:
        return None
    if not grid.header:
        return None
    text = ",".join(grid.header)
    key = "|".join(normalised(h) for h in grid.header)
    return hashlib.sha256(key.encode()).hexdigest(), text[:2000]


def _with_profile(options: ImportOptions, saved: dict[str, Any]) -> ImportOptions:
    """The profile's hints, where the caller did not give its own."""
    defaults = ImportOptions()
    changes = {
        key: value
        for key, value in saved.items()
        if key in PROFILE_KEYS and value is not None and getattr(options, key) == getattr(defaults, key)
    }
    return replace(options, **changes)


def _profile_options(options: ImportOptions) -> dict[str, Any]:
    defaults = ImportOptions()
    return {k: getattr(options, k) for k in PROFILE_KEYS if getattr(options, k) != getattr(defaults, k)}


def resolve_options(
    factory: sessionmaker[Session], path: Path | str, data: bytes, options: ImportOptions, profile: str | None
) -> tuple[ImportOptions, str | None, tuple[str, str] | None, bool]:
    """Options after applying a profile: (options, profile name used, header signature, save a new profile?)."""
    with factory() as session:
        if profile is not None:
            saved = queries.load_profile(session, profile)
            if saved is not None:
                return _with_profile(options, saved.options), profile, None, False
            return options, profile, header_signature(path, data), True
        if queries.count_profiles(session) == 0:
            return options, None, None, False
        signature = header_signature(path, data)
        saved = queries.load_profile_for_header(session, signature[0]) if signature else None
        if saved is None:
            return options, None, None, False
        return _with_profile(options, saved.options), saved.name, None, False


def import_file(
    factory: sessionmaker[Session],
    path: Path,
    *,
    organisation_account: str | None = None,
    options: ImportOptions | None = None,
    location: str | None = None,
    profile: str | None = None,
    data: bytes | None = None,
    filename: str | None = None,
    meter: str | None = None,
    fuel: str | None = None,
    local_time: bool = False,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> FileImport:
    """Parse a whole file, then store it in its own transaction; any error rolls the file back and propagates.

    With ``settings``, the trackers whose sites and periods the file touched are evaluated afterwards (as of
    ``now``, default the clock), so a crossing is noticed when the data arrives, not at the next daily run.
    """
    raw = Path(path).read_bytes() if data is None else data
    sha256 = hashlib.sha256(raw).hexdigest()
    unpacked = unpack(path, raw)
    options = options or ImportOptions(meter=meter, fuel=fuel, time_basis="local" if local_time else "auto")
    options, used_profile, signature, save = resolve_options(factory, path, unpacked, options, profile)
    parsed = parse_bytes(path, unpacked, location=location, options=options)
    with transaction(factory) as session:
        summary = load_parsed(
            session,
            parsed,
            organisation_account=organisation_account,
            filename=filename or Path(path).name,
            sha256=sha256,
        )
        if save and used_profile is not None:
            queries.add_profile(
                session,
                used_profile,
                signature[0] if signature else None,
                signature[1] if signature else None,
                _profile_options(options),
            )
    if settings is not None:
        evaluate_touched_trackers(factory, settings, parsed, summary, now)
    return describe(parsed, summary, used_profile)


def describe(parsed: ParsedFile, summary: LoadSummary, profile: str | None) -> FileImport:
    starts = [
        (int(m.readings["start_ts"].min()), int(m.readings["start_ts"].max())) for m in parsed.meters if len(m.readings)
    ]
    return FileImport(
        path=parsed.path,
        format=parsed.format,
        layout=parsed.layout,
        meters=tuple(m.identifier for m in parsed.meters),
        first_interval_ts=min(s[0] for s in starts) if starts else None,
        last_interval_ts=max(s[1] for s in starts) if starts else None,
        summary=summary,
        profile=profile,
    )


def preview_file(
    factory: sessionmaker[Session], path: Path | str, data: bytes, *, options: ImportOptions | None = None
) -> Preview:
    """Parse without storing: the detected layout, totals per meter [kWh] and the first readings."""
    unpacked = unpack(path, data)
    options, used_profile, _, _ = resolve_options(factory, path, unpacked, options or ImportOptions(), None)
    parsed = parse_bytes(path, unpacked, options=options)
    totals = {m.identifier: float(m.readings["energy_kwh"].sum()) for m in parsed.meters}
    rows = [
        m.readings.head(5).assign(meter=m.identifier)[
            ["meter", "start_ts", "interval_seconds", "energy_kwh", "estimated"]
        ]
        for m in parsed.meters[:3]
    ]
    first_rows = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return Preview(parsed=parsed, profile=used_profile, totals_kwh=totals, first_rows=first_rows)


def _iso(ts: int | None) -> str | None:
    return pd.Timestamp(ts, unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ") if ts is not None else None


def _one_or_list(values: list[str | None]) -> str | list[str | None] | None:
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else values if values else None


def summary_fields(imports: list[FileImport]) -> dict[str, Any]:
    """How the files were read, for ``portfolio import --json``: one value when all files agree, else one per file."""
    firsts = [i.first_interval_ts for i in imports if i.first_interval_ts is not None]
    lasts = [i.last_interval_ts for i in imports if i.last_interval_ts is not None]
    return {
        "layout": _one_or_list([i.layout.layout if i.layout else i.format for i in imports]),
        "time_basis": _one_or_list([i.layout.time_basis if i.layout else None for i in imports]),
        "labelling": _one_or_list([i.layout.labelling if i.layout else None for i in imports]),
        "meters": list(dict.fromkeys(m for i in imports for m in i.meters)),
        "first_interval": _iso(min(firsts)) if firsts else None,
        "last_interval": _iso(max(lasts)) if lasts else None,
        "profiles": [i.profile for i in imports if i.profile],
    }


@dataclass
class ImportReport:
    """Totals of one ``portfolio import`` run, in the shape of its ``--json`` output."""

    files: int = 0
    site_ids: set[int] = field(default_factory=set)
    readings: int = 0
    weather: int = 0
    errors: list[dict[str, str | None]] = field(default_factory=list)
    imports: list[FileImport] = field(default_factory=list)

    def add(self, result: FileImport) -> None:
        self.files += 1
        self.imports.append(result)
        self.site_ids |= set(result.summary.site_ids)
        self.readings += result.summary.readings
        self.weather += result.summary.weather

    def as_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "sites": len(self.site_ids),
            "readings": self.readings,
            "weather": self.weather,
            "errors": self.errors,
            **summary_fields(self.imports),
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def touched_site_days(parsed: ParsedFile, summary: LoadSummary) -> dict[int, list[dt.date]]:
    """The local days of the file's readings, for each site it loaded into (the file's whole span)."""
    spans = [
        (int(m.readings["start_ts"].min()), int((m.readings["start_ts"] + m.readings["interval_seconds"]).max()))
        for m in parsed.meters
        if len(m.readings)
    ]
    if not spans:
        return {}
    first, last = local_date_span(min(lo for lo, _ in spans), max(hi for _, hi in spans))
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    return {int(site_id): days for site_id in summary.site_ids}


def evaluate_touched_trackers(
    factory: sessionmaker[Session],
    settings: Settings,
    parsed: ParsedFile,
    summary: LoadSummary,
    now: dt.datetime | None = None,
) -> None:
    """After a successful load during the day: evaluate the trackers it touched. A failure here is logged and
    left to the next daily run; the file stays imported."""
    touched = touched_site_days(parsed, summary)
    if not touched:
        return
    try:
        report = tracker_evaluation.evaluate_touched(factory, settings, touched, now)
    except Exception:  # noqa: BLE001 - the import succeeded; the daily run evaluates again
        log.exception("evaluating the trackers touched by %s failed", summary)
        return
    for error in report.errors:
        log.warning("tracker evaluation after import: %s", error)


def describe_import_error(path: Path, error: BaseException) -> dict[str, str | None]:
    if isinstance(error, ImportFormatError):
        return {"file": str(path), "where": error.where, "error": error.problem}
    if isinstance(error, FileNotFoundError):
        return {"file": str(path), "where": None, "error": "file not found"}
    if isinstance(error, SQLAlchemyError):
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return {"file": str(path), "where": None, "error": f"database error: {detail}"}
    if isinstance(error, (ValueError, OSError)):
        return {"file": str(path), "where": None, "error": str(error)}
    return {"file": str(path), "where": None, "error": f"{type(error).__name__}: {error}"}


def already_imported(factory: sessionmaker[Session], sha256: str) -> bool:
    """Whether a file with this content was imported before (the inbox moves it aside unread)."""
    with factory() as session:
        return pipeline_queries.file_already_imported(session, sha256)


def load_file(
    factory: sessionmaker[Session],
    parsed: ParsedFile,
    *,
    filename: str,
    sha256: str,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> LoadSummary:
    """Load an already parsed file in its own transaction; with ``settings``, then evaluate touched trackers."""
    with transaction(factory) as session:
        summary = load_parsed(session, parsed, filename=filename, sha256=sha256)
    if settings is not None:
        evaluate_touched_trackers(factory, settings, parsed, summary, now)
    return summary
