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

Steps 1 and 2 live in :mod:`portfolio.services.exports_plan` and are re-exported here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, DataType, require_sites
from portfolio.db import transaction
from portfolio.exports import ExportError, ExportShape, write_export
from portfolio.models import AuditEntry
from portfolio.queries.exports import (
    iter_daily_usage_chunks,
    iter_portfolio_chunks,
    iter_reading_chunks,
    iter_rolled_up_days,
    load_sites_with_longer_readings,
)
from portfolio.services.exports_plan import (
    DAILY_ONLY_EXPORT,
    ESPI_INTERVAL_ONLY,
    FUELS,
    SHAPE_NAMES,
    ExportPlan,
    ExportRequest,
    parse_export_request,
    plan_export,
)
from portfolio.timekeeping import local_midnight_ts

__all__ = [
    "DAILY_ONLY_EXPORT",
    "ESPI_INTERVAL_ONLY",
    "FUELS",
    "SHAPE_NAMES",
    "AccessDenied",
    "ExportError",
    "ExportPlan",
    "ExportRequest",
    "parse_export_request",
    "plan_export",
    "stream_export",
    "write_export_file",
]


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
            if not self._daily or "intervals" in chunk:  # readings, sums or rolled-up days: a row each
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
        elif plan.shape is ExportShape.DAILY and not load_sites_with_longer_readings(
            session, plan.sites, request.start, request.end
        ):  # one row per site and day, as the roll-up keeps it: a year of 1,000 sites is 365,000 rows, not 17.5 million
            chunks = iter_rolled_up_days(
                session, plan.sites, request.start, request.end, one_reading_a_day=plan.daily_only_site_ids
            )
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
