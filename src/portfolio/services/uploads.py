"""Use case "upload a file in the web app": stage it, preview how it will be read and where its meters go, confirm.

Admins and brokers only. The file waits on disk in the instance folder (never in a worker's memory: several
gunicorn workers serve one user) until it is confirmed or replaced; a refused file stores nothing. Meters that
match no site go to the Unassigned queue, which only admins see; meters of sites the uploader cannot see refuse
the whole file.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import Viewer, visible_site_ids
from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.ingest.detect import parse_bytes, unpack
from portfolio.ingest.loader import load_parsed
from portfolio.ingest.records import ImportOptions, ParsedFile
from portfolio.queries import imports as queries
from portfolio.services.imports import (
    FileImport,
    Preview,
    describe,
    evaluate_touched_trackers,
    preview_file,
    resolve_options,
)

UPLOAD_FOLDER = "uploads"
MAX_UPLOAD_BYTES = 200 << 20
UPLOAD_ROLES = frozenset({"admin", "broker"})


class UploadRefused(ValueError):
    """An upload the viewer may not make, or one that has expired; nothing was stored."""


@dataclass(frozen=True)
class MeterMatch:
    identifier: str
    site: str | None  # the matched site's name, None when the meter is new (it goes to the Unassigned queue)
    readings: int
    total_kwh: float
    first_ts: int | None
    last_ts: int | None


def may_upload(viewer: Viewer) -> bool:
    return viewer.role.value in UPLOAD_ROLES


def match_meters(session: Session, viewer: Viewer, parsed: ParsedFile) -> list[MeterMatch]:
    """Each meter of a parsed file with the site it will add to, refusing sites the viewer may not see."""
    identifiers = [m.identifier for m in parsed.meters]
    aliases = [a for m in parsed.meters for a in m.aliases]
    known = queries.load_sites_by_meter(session, list(dict.fromkeys(identifiers + aliases)))
    visible = visible_site_ids(session, viewer) if not viewer.is_admin else None
    names = queries.load_site_names(session, sorted({site_id for site_id, _ in known.values()}))
    matches = []
    for meter in parsed.meters:
        key = next((k for k in (meter.identifier, *meter.aliases) if k in known), None)
        site_id = known[key][0] if key else None
        if site_id is not None and visible is not None and site_id not in visible:
            raise UploadRefused(f"meter {meter.identifier} belongs to a site you cannot see: nothing was stored")
        readings = meter.readings
        matches.append(
            MeterMatch(
                identifier=meter.identifier,
                site=names.get(site_id) if site_id is not None else None,
                readings=len(readings),
                total_kwh=float(readings["energy_kwh"].sum()),
                first_ts=int(readings["start_ts"].min()) if len(readings) else None,
                last_ts=int(readings["start_ts"].max()) if len(readings) else None,
            )
        )
    return matches


def stage_upload(instance_path: Path, viewer: Viewer, filename: str, data: bytes) -> str:
    """Keep an uploaded file on disk until it is confirmed (never in a worker's memory); return its token."""
    if not may_upload(viewer):
        raise UploadRefused("only administrators and brokers may upload files")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"the file is larger than {MAX_UPLOAD_BYTES >> 20} MB")
    folder = instance_path / UPLOAD_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(18)
    (folder / f"{token}.json").write_text(json.dumps({"user_id": viewer.user_id, "filename": Path(filename).name}))
    (folder / f"{token}.data").write_bytes(data)
    return token


def _staged(instance_path: Path, viewer: Viewer, token: str) -> tuple[str, bytes]:
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        raise UploadRefused("unknown upload")
    folder = instance_path / UPLOAD_FOLDER
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
        data = (folder / f"{token}.data").read_bytes()
    except (OSError, ValueError):
        raise UploadRefused("this upload has expired: drop the file again") from None
    if meta.get("user_id") != viewer.user_id:
        raise UploadRefused("unknown upload")
    return str(meta["filename"]), data


def discard_upload(instance_path: Path, token: str) -> None:
    for suffix in (".json", ".data"):
        (instance_path / UPLOAD_FOLDER / f"{token}{suffix}").unlink(missing_ok=True)


def preview_upload(
    factory: sessionmaker[Session], viewer: Viewer, instance_path: Path, token: str
) -> tuple[Preview, list[MeterMatch]]:
    """How a staged upload will be read and where each meter goes; ImportFormatError/UploadRefused if it cannot."""
    if not may_upload(viewer):
        raise UploadRefused("only administrators and brokers may upload files")
    filename, data = _staged(instance_path, viewer, token)
    preview = preview_file(factory, filename, data)
    with factory() as session:
        matches = match_meters(session, viewer, preview.parsed)
    return preview, matches


def confirm_upload(
    factory: sessionmaker[Session], viewer: Viewer, instance_path: Path, token: str, settings: Settings | None = None
) -> FileImport:
    """Import a staged upload in one transaction; new meters go to the Unassigned queue (admins assign them).

    With ``settings``, the trackers the file touched are evaluated right after, as for ``portfolio import``.
    """
    if not may_upload(viewer):
        raise UploadRefused("only administrators and brokers may upload files")
    filename, data = _staged(instance_path, viewer, token)
    unpacked = unpack(filename, data)
    options, used_profile, _, _ = resolve_options(factory, filename, unpacked, ImportOptions(), None)
    parsed = parse_bytes(filename, unpacked, options=options)
    with transaction(factory) as session:
        match_meters(session, viewer, parsed)  # re-checked inside the transaction that stores
        summary = load_parsed(
            session, parsed, organisation_account=None, filename=filename, sha256=hashlib.sha256(data).hexdigest()
        )
    discard_upload(instance_path, token)
    if settings is not None:
        evaluate_touched_trackers(factory, settings, parsed, summary)
    return describe(parsed, summary, used_profile)
