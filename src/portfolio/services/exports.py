"""Exports end to end: validate a request, plan it under the access policy, stream the file, audit it.

The ``/export/download`` route, the export page's pre-check and ``portfolio export`` all go through here:

1. :func:`parse_export_request` turns URL or command-line parameters into an :class:`ExportRequest`, naming every
   bad parameter (:class:`ExportError`).
2. :func:`plan_export` applies the range limit, the access policy (``AccessDenied`` for a site or group the viewer
   may not see) and the writers' own checks (Green Button is interval-only; an Excel sheet must fit), and reads the
   site facts: everything that can fail happens here, before the first byte, so a bad request gets a clear error and
   never a partial file.
3. :func:`stream_export` writes an ``export_started`` audit entry at once, then returns the generator of the file's
   bytes, which reads the database in chunks in its own session and, when it ends, writes ``export_completed``
   (with the row count) in a new short transaction, or ``export_aborted`` / ``export_failed`` with the rows so far.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, DataType, Viewer, require_sites
from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.exports import ExportError, ExportFormat, ExportMeta, ExportShape, file_name, media_type, write_export
from portfolio.exports.meta import as_format, as_shape
from portfolio.exports.xlsx_writer import check_xlsx_fits
from portfolio.models import AuditEntry
from portfolio.queries.consent import load_site_organisations
from portfolio.queries.exports import (
    count_expected_rows,
    iter_daily_usage_chunks,
    iter_portfolio_chunks,
    iter_reading_chunks,
    load_export_sites,
)
from portfolio.services import audit
from portfolio.services.groups import ALL_SITES, group_site_ids
from portfolio.timekeeping import UK_TIME_ZONE, local_midnight_ts

FUELS = ("both", "power", "gas")
SHAPE_NAMES = {
    "intervals": ExportShape.INTERVAL,
    "interval": ExportShape.INTERVAL,
    "daily": ExportShape.DAILY,
    "portfolio": ExportShape.PORTFOLIO,
}
"""Shape names accepted from URLs and the command line (``intervals`` is the CLI's spelling)."""
DAILY_ONLY_EXPORT = (
    "half-hourly data is not kept for these sites: their organisation opted out of half-hourly data (micro-business), "
    "so only daily totals can be exported; choose the daily shape"
)
ESPI_INTERVAL_ONLY = "Green Button XML is available for interval data only: choose the interval shape, or CSV/Excel"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^\d{1,12}$")

__all__ = [
    "AccessDenied",
    "ExportError",
    "ExportPlan",
    "ExportRequest",
    "parse_export_request",
    "plan_export",
    "stream_export",
    "write_export_file",
]


@dataclass(frozen=True)
class ExportRequest:
    """What was asked: a group (``"all"`` or a number) or one site, local days ``start``..``end``, shape, format, fuel."""

    scope: str
    scope_id: str
    start: dt.date
    end: dt.date
    shape: str
    format: str
    fuel: str = "both"

    def as_params(self) -> dict[str, str]:
        """The route's query parameters for this request (what the export page's link carries)."""
        return {
            self.scope: self.scope_id,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "shape": self.shape,
            "format": self.format,
            "fuel": self.fuel,
        }


@dataclass(frozen=True, eq=False)
class ExportPlan:
    """A checked export: the allowed sites and their facts, the writers' meta, the download's name and type."""

    request: ExportRequest
    shape: ExportShape
    format: ExportFormat
    sites: pd.DataFrame  # queries.exports.EXPORT_SITE_COLUMNS, access-checked, one fuel or both
    meta: ExportMeta
    file_name: str
    media_type: str
    expected_rows: Mapping[str, int] = field(default_factory=dict)
    daily_only_site_ids: frozenset[int] = frozenset()  # opted out of half-hourly data: days from the roll-up

    @property
    def site_ids(self) -> list[int]:
        return [int(s) for s in self.sites["site_id"]]

    def audit_detail(self, via: str) -> dict[str, Any]:
        """Who asked is in the entry's user_id and ip; this says what: sites, range, shape, format, fuel."""
        return {
            "via": via,
            "scope": self.request.scope,
            "scope_id": self.request.scope_id,
            "site_ids": self.site_ids,
            "from": self.meta.start.isoformat(),
            "to": self.meta.end.isoformat(),
            "shape": self.shape.value,
            "format": self.format.value,
            "fuel": self.request.fuel,
            "file": self.file_name,
        }


# 1. Parse ------------------------------------------------------------------------------------------


def _text(params: Mapping[str, object], key: str, problems: list[str]) -> str | None:
    value = params.get(key)
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            problems.append(f"'{key}' is given more than once")
            return None
        value = value[0]
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(params: Mapping[str, object], key: str, problems: list[str]) -> dt.date | None:
    text = _text(params, key, problems)
    if text is None:
        problems.append(f"'{key}' is required (a local date like 2024-03-31)")
        return None
    try:
        if not _ISO_DATE.match(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"'{key}' must be a date like 2024-03-31, not {text[:40]!r}")
        return None


def parse_export_request(params: Mapping[str, object]) -> ExportRequest:
    """Validate ``group`` or ``site``, ``from``, ``to``, ``shape``, ``format`` and ``fuel``; name every problem."""
    problems: list[str] = []
    group, site = _text(params, "group", problems), _text(params, "site", problems)
    scope, scope_id = "group", ALL_SITES
    if group is not None and site is not None:
        problems.append("give either 'group' or 'site', not both")
    elif site is not None:
        scope, scope_id = "site", site
        if not _ID.match(site):
            problems.append(f"'site' must be a site number, not {site[:40]!r}")
    elif group is not None:
        scope_id = group.lower() if group.lower() == ALL_SITES else group
        if scope_id != ALL_SITES and not _ID.match(group):
            problems.append(f"'group' must be a group number or '{ALL_SITES}', not {group[:40]!r}")
    else:
        problems.append(f"give a 'group' (a number or '{ALL_SITES}') or a 'site'")
    start, end = _date(params, "from", problems), _date(params, "to", problems)
    shape_text = (_text(params, "shape", problems) or "").lower()
    if shape_text not in SHAPE_NAMES:
        problems.append(f"'shape' must be one of interval, daily, portfolio, not {shape_text[:40]!r}")
    format_text = (_text(params, "format", problems) or "").lower()
    if format_text not in {f.value for f in ExportFormat}:
        problems.append(f"'format' must be one of {', '.join(f.value for f in ExportFormat)}, not {format_text[:40]!r}")
    fuel = (_text(params, "fuel", problems) or "both").lower()
    if fuel not in FUELS:
        problems.append(f"'fuel' must be one of {', '.join(FUELS)}, not {fuel[:40]!r}")
    if start is not None and end is not None and end < start:
        problems.append(f"the range ends ({end}) before it starts ({start})")
    if problems:
        raise ExportError("; ".join(problems))
    assert start is not None and end is not None
    return ExportRequest(scope, scope_id, start, end, SHAPE_NAMES[shape_text].value, format_text, fuel)


# 2. Plan -------------------------------------------------------------------------------------------


def _allowed_site_ids(session: Session, viewer: Viewer, request: ExportRequest) -> list[int]:
    """Interval exports need interval usage granted; daily and portfolio-total shapes daily totals."""
    data = DataType.INTERVAL_USAGE if request.shape == ExportShape.INTERVAL.value else DataType.DAILY_TOTALS
    per_interval = request.shape in (ExportShape.INTERVAL.value, ExportShape.PORTFOLIO.value)
    if per_interval and viewer.daily_only_organisation_ids:
        _refuse_daily_only(session, viewer, request)
    if request.scope == "site":
        return require_sites(session, viewer, [request.scope_id], data)
    site_ids = group_site_ids(session, viewer, request.scope_id, data)
    if per_interval and viewer.daily_only_organisation_ids:  # per-interval sums leave opted-out sites out
        owners = load_site_organisations(session, site_ids)
        site_ids = [s for s in site_ids if owners.get(s) not in viewer.daily_only_organisation_ids]
    return site_ids


def _refuse_daily_only(session: Session, viewer: Viewer, request: ExportRequest) -> None:
    """Say why when every site asked for keeps daily totals only (micro-business opt-out), instead of "no sites"."""
    if request.scope == "site":  # a portfolio-shape export of one opted-out site is refused here too
        daily = require_sites(session, viewer, [request.scope_id], DataType.DAILY_TOTALS)
    else:
        daily = group_site_ids(session, viewer, request.scope_id, DataType.DAILY_TOTALS)
    owners = load_site_organisations(session, daily)
    if owners and all(o in viewer.daily_only_organisation_ids for o in owners.values()):
        raise ExportError(DAILY_ONLY_EXPORT)


def plan_export(
    session: Session, viewer: Viewer, request: ExportRequest, settings: Settings, now: dt.datetime | None = None
) -> ExportPlan:
    """Check everything that can refuse the export and read what streaming needs; raise before any byte exists.

    Raises :class:`ExportError` for a request that cannot be served (range too long, no sites of the fuel, a
    shape the format does not offer, too many rows for Excel) and ``AccessDenied`` for a site or group the viewer
    may not see (never saying whether it exists).
    """
    shape, format = as_shape(request.shape), as_format(request.format)
    if request.end < request.start:
        raise ExportError(f"the range ends ({request.end}) before it starts ({request.start})")
    days = (request.end - request.start).days + 1
    if days > settings.max_export_days:
        raise ExportError(f"the range is {days} days; at most {settings.max_export_days} days can be exported at once")
    if format is ExportFormat.ESPI and shape is not ExportShape.INTERVAL:
        raise ExportError(ESPI_INTERVAL_ONLY)
    sites = load_export_sites(session, _allowed_site_ids(session, viewer, request))
    if sites.empty:
        raise ExportError("this selection has no sites to export")
    if request.fuel != "both":
        sites = sites.loc[sites["fuel"] == request.fuel].reset_index(drop=True)
        if sites.empty:
            raise ExportError(f"this selection has no {request.fuel} sites")
    zones = sorted(set(sites["time_zone"]))
    time_zone = zones[0] if len(zones) == 1 else UK_TIME_ZONE
    expected = count_expected_rows(session, sites, request.start, request.end, shape.value)
    label = (
        f"site {request.scope_id}"
        if request.scope == "site"
        else ("all sites" if request.scope_id == ALL_SITES else f"group {request.scope_id}")
    )
    meta = ExportMeta(
        start=request.start,
        end=request.end,
        generated_at=now or dt.datetime.now(dt.UTC),
        title=f"Portfolio energy export ({label})",
        fuels=tuple(sorted(set(sites["fuel"]), key=FUELS.index)),
        time_zone=time_zone,
        expected_rows=expected,
        espi_base_url=f"{settings.base_url.rstrip('/')}/DataCustodian/espi/1_1/resource",
    )
    if format is ExportFormat.XLSX:
        check_xlsx_fits(meta)
    prefix = (
        f"site-{request.scope_id}"
        if request.scope == "site"
        else ("portfolio" if request.scope_id == ALL_SITES else f"group-{request.scope_id}")
    )
    if request.fuel != "both":
        prefix += f"-{request.fuel}"
    site_ids = [int(s) for s in sites["site_id"]]
    audit.record_viewed(session, viewer, site_ids, now, via="export")  # outside viewers
    audit.record_on_behalf(
        session, viewer, "export_for_client", site_ids, {"shape": shape.value, "format": format.value}, now
    )
    session.commit()
    return ExportPlan(
        request=request,
        shape=shape,
        format=format,
        sites=sites,
        meta=meta,
        file_name=file_name(shape, format, request.start, request.end, prefix=prefix),
        media_type=media_type(format),
        expected_rows=expected,
        daily_only_site_ids=frozenset(
            s
            for s, o in load_site_organisations(session, [int(s) for s in sites["site_id"]]).items()
            if o in viewer.daily_only_organisation_ids
        ),
    )


# 3. Stream and audit -------------------------------------------------------------------------------


def write_audit(
    factory: sessionmaker[Session], action: str, detail: Mapping[str, Any], user_id: int | None, ip: str | None
) -> None:
    """One audit entry in its own short transaction, so it stands whatever happens to the export."""
    with transaction(factory) as session:
        session.add(AuditEntry(user_id=user_id or None, action=action, detail=dict(detail), ip=ip))


class _RowCounter:
    """Count the rows the file gets: readings (interval), sums (portfolio), or site-days (daily) as chunks pass."""

    def __init__(self, plan: ExportPlan) -> None:
        self.rows = 0
        self._daily = plan.shape is ExportShape.DAILY
        self._last_key: tuple[int, int] | None = None
        self._midnights: dict[str, np.ndarray] = {}
        self._start, self._end = plan.meta.start, plan.meta.end

    def _day_starts(self, zone: str) -> np.ndarray:
        """UTC starts of each local day of the range (and the day after), found once per zone."""
        if zone not in self._midnights:
            days = pd.date_range(self._start - dt.timedelta(days=1), self._end + dt.timedelta(days=1), freq="D")
            self._midnights[zone] = np.array([local_midnight_ts(d.date(), zone) for d in days])
        return self._midnights[zone]

    def count(self, chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for chunk in chunks:
            if not self._daily:
                self.rows += len(chunk)
            elif len(chunk):
                self._count_days(chunk)
            yield chunk

    def _count_days(self, chunk: pd.DataFrame) -> None:
        day = np.empty(len(chunk), dtype="int64")
        zones = chunk["time_zone"].to_numpy(dtype=object)
        start_ts = chunk["start_ts"].to_numpy(dtype="int64")
        for zone in pd.unique(zones):
            mask = zones == zone
            day[mask] = np.searchsorted(self._day_starts(str(zone)), start_ts[mask], side="right")
        site = chunk["site_id"].to_numpy(dtype="int64")
        changes = int(np.count_nonzero((site[1:] != site[:-1]) | (day[1:] != day[:-1])))
        first = (int(site[0]), int(day[0]))
        self.rows += changes + (first != self._last_key)
        self._last_key = (int(site[-1]), int(day[-1]))


def stream_export(
    factory: sessionmaker[Session],
    plan: ExportPlan,
    *,
    user_id: int | None,
    ip: str | None,
    via: str,
    outcome: MutableMapping[str, Any] | None = None,
) -> Iterator[bytes]:
    """Audit the start now, then return the file's bytes as a generator that audits how it ended.

    The generator reads the database in its own session (the request's may be gone by the time a slow client
    reads the last megabyte). ``outcome``, if given, receives ``status`` and ``rows`` when it ends.
    """
    detail = plan.audit_detail(via)
    write_audit(factory, "export_started", detail, user_id, ip)
    return _stream(factory, plan, detail, user_id, ip, outcome)


ACCESS_RECHECK_SECONDS = 2.0
"""How often a download in progress checks that its requester may still read every site in it [s]."""


class AccessRevoked(Exception):
    """The requester lost access (grant revoked or expired, account deactivated) while the file was streaming."""


def _still_allowed(session: Session, user_id: int, plan: ExportPlan) -> None:
    """Raise :class:`AccessRevoked` unless the user may still read every site of the plan with its data type."""
    from portfolio.access import viewer_for  # the policy module, resolved afresh (nothing cached)
    from portfolio.models import User

    session.expire_all()
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise AccessRevoked("the account is no longer active")
    data = DataType.INTERVAL_USAGE if plan.shape is ExportShape.INTERVAL else DataType.DAILY_TOTALS
    try:
        require_sites(session, viewer_for(session, user), plan.site_ids, data)
    except AccessDenied as denied:
        raise AccessRevoked(str(denied)) from None


def _while_allowed(
    session: Session, user_id: int | None, plan: ExportPlan, chunks: Iterable[pd.DataFrame]
) -> Iterator[pd.DataFrame]:
    """Pass the chunks on while the requester may still read them: access is re-checked every few seconds.

    A grant revoked (or expiring) mid-download stops the file at the next check: the stream ends without its
    end, so the browser shows the download as failed instead of a complete-looking partial file.
    Operator exports (no user: the CLI) are not re-checked.
    """
    import time

    checked = time.monotonic()
    for chunk in chunks:
        if user_id is not None and time.monotonic() - checked >= ACCESS_RECHECK_SECONDS:
            _still_allowed(session, user_id, plan)
            checked = time.monotonic()
        yield chunk


def _stream(
    factory: sessionmaker[Session],
    plan: ExportPlan,
    detail: dict[str, Any],
    user_id: int | None,
    ip: str | None,
    outcome: MutableMapping[str, Any] | None,
) -> Iterator[bytes]:
    counter = _RowCounter(plan)
    status = "failed"
    error: str | None = None
    session = factory()
    try:
        request = plan.request
        if plan.shape is ExportShape.PORTFOLIO:
            chunks = iter_portfolio_chunks(session, plan.sites, request.start, request.end, plan.meta.time_zone)
        elif plan.daily_only_site_ids:
            daily_only = plan.sites["site_id"].isin(sorted(plan.daily_only_site_ids))
            chunks = itertools.chain(
                iter_reading_chunks(session, plan.sites[~daily_only], request.start, request.end),
                iter_daily_usage_chunks(session, plan.sites[daily_only], request.start, request.end),
            )
        else:
            chunks = iter_reading_chunks(session, plan.sites, request.start, request.end)
        allowed = _while_allowed(session, user_id, plan, chunks)
        yield from write_export(plan.shape, plan.format, counter.count(allowed), plan.meta)
        status = "completed"
    except GeneratorExit:
        status = "aborted"
        raise
    except AccessRevoked as revoked:
        status, error = "revoked", str(revoked)[:500]
        raise
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"[:500]
        raise
    finally:
        session.close()
        final = {**detail, "rows": counter.rows, "status": status}
        if error:
            final["error"] = error
        write_audit(factory, f"export_{status}", final, user_id, ip)
        if outcome is not None:
            outcome.update(status=status, rows=counter.rows)


def write_export_file(
    factory: sessionmaker[Session], plan: ExportPlan, path: Path, *, user_id: int | None, via: str = "cli"
) -> int:
    """Stream an export into ``path`` through a temporary file beside it; return the rows written.

    The file appears (atomically renamed) only once complete, so a failure part-way leaves no partial file.
    """
    path = Path(path)
    outcome: dict[str, Any] = {}
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".partial", delete=False)
    try:
        with handle:
            for block in stream_export(factory, plan, user_id=user_id, ip=None, via=via, outcome=outcome):
                handle.write(block)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return int(outcome.get("rows", 0))
