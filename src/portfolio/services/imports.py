"""Imports: parse a file and load it in its own transaction (``portfolio import`` and the daily pipeline's inbox).

A file is all or nothing: any error rolls the whole file back and propagates, named by
:func:`describe_import_error` for the command's ``--json`` output.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.ingest.detect import parse_file
from portfolio.ingest.loader import LoadSummary, load_parsed
from portfolio.ingest.records import ImportFormatError, ParsedFile
from portfolio.queries import pipeline as pipeline_queries
from portfolio.services import tracker_evaluation
from portfolio.timekeeping import local_date_span

log = logging.getLogger(__name__)


@dataclass
class ImportReport:
    """Totals of one ``portfolio import`` run, in the shape of its ``--json`` output."""

    files: int = 0
    site_ids: set[int] = field(default_factory=set)
    readings: int = 0
    weather: int = 0
    errors: list[dict[str, str | None]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "sites": len(self.site_ids),
            "readings": self.readings,
            "weather": self.weather,
            "errors": self.errors,
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(
    factory: sessionmaker[Session],
    path: Path,
    *,
    organisation_account: str | None = None,
    meter: str | None = None,
    fuel: str | None = None,
    location: str | None = None,
    local_time: bool = False,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> Any:
    """Parse and load one file in its own transaction; any error rolls the whole file back and propagates.

    With ``settings``, the trackers whose sites and periods the file touched are evaluated afterwards (as of
    ``now``, default the clock).
    """
    sha256 = file_sha256(path)
    parsed = parse_file(path, meter=meter, fuel=fuel, local_time=local_time, location=location)
    with transaction(factory) as session:
        summary = load_parsed(
            session, parsed, organisation_account=organisation_account, filename=path.name, sha256=sha256
        )
    if settings is not None:
        evaluate_touched_trackers(factory, settings, parsed, summary, now)
    return summary


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
