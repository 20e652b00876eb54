"""The daily run's inbox: which files wait there, how each is imported, and where it goes after.

Inbox conventions (``settings.inbox_path``, env ``PORTFOLIO_INBOX``): any meter or weather file the
``portfolio import`` command reads (content decides the format; gzip allowed), at the top level (hidden
files and ``*.error.txt`` ignored). Weather CSVs are observations, except a *forecast*: a weather CSV whose
file name contains "forecast" (e.g. ``bedford_forecast_2026-11-26.csv``) or which has an ``issued_at``
column. A forecast's ``issued_at`` is that column's latest value (UTC), else the file's modification time.

Imported files move to ``done/``; a file that fails moves to ``failed/`` beside ``<name>.error.txt``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.ingest.detect import detect_format, parse_file, read_input
from portfolio.ingest.records import ImportFormatError, ParsedFile
from portfolio.services import imports
from portfolio.timekeeping import local_date_span

if TYPE_CHECKING:
    from portfolio.services.pipeline import StepResult

log = logging.getLogger(__name__)

DONE, FAILED = "done", "failed"


@dataclass
class TouchedSpans:
    """What the day's imports changed, for the roll-up check: UTC span per site."""

    spans: dict[int, tuple[int, int]] = field(default_factory=dict)

    def add(self, site_id: int, lo: int, hi: int) -> None:
        old = self.spans.get(site_id)
        self.spans[site_id] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)

    def local_days(self) -> dict[int, list[dt.date]]:
        """The local days each site's span covers, for re-evaluating the trackers whose periods they are in."""
        days: dict[int, list[dt.date]] = {}
        for site_id, (lo, hi) in self.spans.items():
            first, last = local_date_span(lo, hi)
            days[site_id] = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
        return days


# Inbox files --------------------------------------------------------------------------------------


def inbox_files(inbox: Path) -> list[Path]:
    if not inbox.is_dir():
        return []
    return sorted(
        p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".error.txt")
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _move(path: Path, folder: str) -> Path:
    target_dir = path.parent / folder
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        target = target_dir / f"{path.stem}.{stamp}{path.suffix}"
    shutil.move(str(path), target)
    return target


def fail_file(path: Path, error: BaseException) -> str:
    message = (
        f"{error.problem} ({error.where})"
        if isinstance(error, ImportFormatError) and error.where
        else (error.problem if isinstance(error, ImportFormatError) else f"{type(error).__name__}: {error}")
    )
    target = _move(path, FAILED)
    (target.parent / f"{target.name}.error.txt").write_text(
        f"{path.name} could not be imported ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC):\n{message}\n"
    )
    return message


def is_forecast_file(path: Path, data: bytes) -> bool:
    header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").lower()
    return "forecast" in path.name.lower() or "issued_at" in header.replace(" ", "_")


def _as_forecast(parsed: ParsedFile, path: Path, data: bytes) -> ParsedFile:
    """Re-tag a weather file's series as a forecast issued at its ``issued_at`` column (or the file's mtime)."""
    issued_ts = int(path.stat().st_mtime)
    frame = pd.read_csv(io.BytesIO(data), dtype=str)
    column = next((c for c in frame.columns if c.strip().lower().replace(" ", "_") == "issued_at"), None)
    if column is not None:
        stamps = pd.to_datetime(frame[column], utc=True, errors="coerce").dropna()
        if stamps.empty:
            raise ImportFormatError(str(path), f"the {column!r} column holds no readable time")
        issued_ts = int(stamps.max().timestamp())
    weather = tuple(dataclasses.replace(w, kind="forecast", issued_at_ts=issued_ts) for w in parsed.weather)
    return dataclasses.replace(parsed, weather=weather)


def classify(paths: list[Path]) -> tuple[list[Path], list[Path], dict[Path, BaseException]]:
    """Split the inbox into meter files and weather files by content; unreadable files fail here."""
    meters: list[Path] = []
    weather: list[Path] = []
    broken: dict[Path, BaseException] = {}
    for path in paths:
        try:
            data = read_input(path)
            kind = detect_format(path, data)
        except Exception as error:  # noqa: BLE001 - reported, moved to failed/
            broken[path] = error
            continue
        (weather if kind == "weather-csv" else meters).append(path)
    return meters, weather, broken


def import_inbox_files(
    factory: sessionmaker[Session], paths: list[Path], step: StepResult, touched: TouchedSpans
) -> None:
    """Import each file in its own transaction; move it to done/ or failed/ (with the error beside it)."""
    step.counts.setdefault("files", 0)
    for key in ("imported", "duplicates", "failed", "readings", "weather_rows", "forecast_files"):
        step.counts.setdefault(key, 0)
    for path in paths:
        step.counts["files"] += 1
        try:
            data = read_input(path)
            sha256 = _sha256(path.read_bytes())
            if imports.already_imported(factory, sha256):
                _move(path, DONE)
                step.counts["duplicates"] += 1
                continue
            parsed = parse_file(path)
            if parsed.weather and is_forecast_file(path, data):
                parsed = _as_forecast(parsed, path, data)
                step.counts["forecast_files"] += 1
            summary = imports.load_file(factory, parsed, filename=path.name, sha256=sha256)
        except Exception as error:  # noqa: BLE001 - one bad file must not stop the others
            log.warning("inbox file %s failed: %s", path.name, error)
            message = fail_file(path, error)
            step.counts["failed"] += 1
            step.errors.append({"file": path.name, "error": message})
            continue
        spans = [
            (int(m.readings["start_ts"].min()), int((m.readings["start_ts"] + m.readings["interval_seconds"]).max()))
            for m in parsed.meters
            if len(m.readings)
        ]
        for site_id in summary.site_ids:
            touched.add(int(site_id), min(lo for lo, _ in spans), max(hi for _, hi in spans))
        _move(path, DONE)
        step.counts["imported"] += 1
        step.counts["readings"] += summary.readings
        step.counts["weather_rows"] += summary.weather
