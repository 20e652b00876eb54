"""Aggregate release: consumption summed across customers by region or profile class, per day or month (admins).

Every cell passes the 15/15 rule (:mod:`portfolio.analytics.aggregates`) or is refused with its reason in the
output; every release is audited (who, what, how many cells released and refused). Regions are postcode areas
(``CB``, ``SW``, ``E``...), read from the sites' postcodes; see docs/aggregates.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.access import Viewer, require_admin
from portfolio.analytics.aggregates import (
    MAX_SHARE_PCT,
    MIN_CUSTOMERS,
    UNKNOWN,
    compute_aggregates,
    compute_period_label,
    compute_postcode_area,
)
from portfolio.exports.csv_writer import quote_field
from portfolio.queries.aggregates import load_daily_contributions
from portfolio.services import audit
from portfolio.timekeeping import MAX_RANGE_DAYS

GROUPINGS = {"region": "postcode", "profile-class": "profile_class"}
"""``--by`` choice -> the site attribute it groups by."""
PERIODS = ("day", "month")
FORMATS = ("csv", "json")


class AggregateError(ValueError):
    """A release request that cannot be answered; the message says what to change."""


@dataclass(frozen=True)
class AggregateRequest:
    by: str  # "region" or "profile-class"
    period: str  # "day" or "month"
    start: dt.date  # first local day
    end: dt.date  # last local day, inclusive


@dataclass(frozen=True)
class AggregateRelease:
    request: AggregateRequest
    cells: pd.DataFrame  # period, group, fuel, customers, energy_kwh (NaN when refused), suppressed_reason

    @property
    def released(self) -> int:
        return int(self.cells["released"].sum()) if len(self.cells) else 0

    @property
    def suppressed(self) -> int:
        return len(self.cells) - self.released

    @property
    def group_column(self) -> str:
        return "region" if self.request.by == "region" else "profile_class"

    def records(self) -> list[dict[str, Any]]:
        """The cells as the export shows them (the largest share of a released cell is not shown)."""
        return [
            {
                "period": row["period"],
                self.group_column: row["group"],
                "fuel": row["fuel"],
                "customers": int(row["customers"]),
                "energy_kwh": None if pd.isna(row["energy_kwh"]) else round(float(row["energy_kwh"]), 3),
                "suppressed_reason": row["suppressed_reason"],
            }
            for row in self.cells.to_dict("records")
        ]

    def as_csv(self) -> str:
        records = self.records()
        header = ["period", self.group_column, "fuel", "customers", "energy_kwh", "suppressed_reason"]
        lines = [",".join(header)]
        lines += [",".join(quote_field(r[c]) for c in header) for r in records]
        return "\r\n".join(lines) + "\r\n"

    def file_name(self) -> str:
        r = self.request
        return f"aggregates_{r.by}_{r.period}_{r.start:%Y%m%d}-{r.end:%Y%m%d}.csv"


def _date(value: object, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise AggregateError(f"{name} must be a date like 2025-01-31")
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise AggregateError(f"{name} must be a date like 2025-01-31, not {value[:40]!r}") from None


def parse_aggregate_request(by: object, period: object, start: object, end: object) -> AggregateRequest:
    """Check a request from the page or the command line; raise AggregateError naming the problem."""
    if by not in GROUPINGS:
        raise AggregateError(f"group by one of {', '.join(GROUPINGS)}")
    if period not in PERIODS:
        raise AggregateError(f"period must be one of {', '.join(PERIODS)}")
    first, last = _date(start, "from"), _date(end, "to")
    if last < first:
        raise AggregateError("the range ends before it starts")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise AggregateError(f"at most {MAX_RANGE_DAYS} days at a time")
    return AggregateRequest(str(by), str(period), first, last)


def release_aggregates(
    session: Session,
    viewer: Viewer,
    request: AggregateRequest,
    *,
    via: str,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> AggregateRelease:
    """Sum consumption into cells, apply the 15/15 rule, audit the release and commit the audit entry."""
    require_admin(viewer)
    contributions = load_daily_contributions(session, GROUPINGS[request.by], request.start, request.end)
    if request.by == "region":
        groups = contributions["attribute"].map(compute_postcode_area)
    else:
        groups = contributions["attribute"].map(lambda v: str(v).strip() if v and str(v).strip() else UNKNOWN)
    frame = pd.DataFrame(
        {
            "period": compute_period_label(contributions["local_date"], request.period),
            "group": groups.astype(str),
            "fuel": contributions["fuel"].astype(str),
            "customer_id": contributions["customer_id"],
            "energy_kwh": contributions["energy_kwh"].astype(float),
        }
    )
    release = AggregateRelease(request, compute_aggregates(frame))
    audit.record(
        session,
        "aggregate_export",
        user_id=viewer.user_id or None,  # 0: the command line's operator, no account
        ip=ip,
        now=now,
        detail={
            "by": request.by,
            "period": request.period,
            "from": request.start.isoformat(),
            "to": request.end.isoformat(),
            "cells": len(release.cells),
            "released": release.released,
            "suppressed": release.suppressed,
            "rule": f"{MIN_CUSTOMERS}/{MAX_SHARE_PCT:g}",
            "via": via,
        },
    )
    session.commit()
    return release
