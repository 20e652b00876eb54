"""Exports, before the first byte: validate a request and plan it under the access policy.

:func:`parse_export_request` turns URL or command-line parameters into an :class:`ExportRequest`, naming every bad
parameter (:class:`ExportError`). :func:`plan_export` applies the range limit [days], the access policy
(``AccessDenied`` for a site or group the viewer may not see) and the writers' own checks (Green Button is
interval-only; an Excel sheet must fit), and reads the site facts: everything that can fail happens here, so a bad
request gets a clear error and never a partial file. Streaming and its audit are in
:mod:`portfolio.services.exports`, which re-exports these names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.access import DataType, Viewer, require_sites
from portfolio.config import Settings
from portfolio.exports import ExportError, ExportFormat, ExportMeta, ExportShape, file_name, media_type
from portfolio.exports.meta import as_format, as_shape
from portfolio.exports.xlsx_writer import check_xlsx_fits
from portfolio.queries.consent import load_site_organisations
from portfolio.queries.exports import count_expected_rows, load_export_sites
from portfolio.services import audit
from portfolio.services.groups import ALL_SITES, group_site_ids
from portfolio.timekeeping import UK_TIME_ZONE

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
