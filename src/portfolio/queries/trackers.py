"""SQL for trackers and their alerts: the trackers a user owns, the sites and daily usage they watch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.models import (
    DailyUsage,
    PortfolioGroup,
    Site,
    Tracker,
    TrackerAlert,
)


def load_user_trackers(session: Session, owner_id: int) -> list[Tracker]:
    return list(
        session.scalars(select(Tracker).where(Tracker.owner_id == owner_id).order_by(Tracker.created_at, Tracker.id))
    )


def load_active_trackers(session: Session) -> list[Tracker]:
    return list(session.scalars(select(Tracker).where(Tracker.is_active.is_(True)).order_by(Tracker.id)))


def load_tracker(session: Session, tracker_id: int) -> Tracker | None:
    return session.get(Tracker, tracker_id)


def tracker_name_taken(session: Session, owner_id: int, name: str) -> bool:
    return (
        session.scalar(
            select(Tracker.id).where(Tracker.owner_id == owner_id, func.lower(Tracker.name) == name.lower()).limit(1)
        )
        is not None
    )


def load_sites_brief(session: Session, site_ids: Sequence[int]) -> pd.DataFrame:
    """site_id, name, fuel, time_zone of ``site_ids`` (the caller has already applied the access policy)."""
    rows = session.execute(
        select(Site.id, Site.name, Site.fuel, Site.time_zone).where(Site.id.in_(list(site_ids))).order_by(Site.id)
    ).all()
    frame = pd.DataFrame(rows, columns=["site_id", "name", "fuel", "time_zone"])
    frame["fuel"] = frame["fuel"].map(lambda f: getattr(f, "value", f))
    return frame


def load_group_name(session: Session, group_id: int) -> str | None:
    return session.scalar(select(PortfolioGroup.name).where(PortfolioGroup.id == group_id))


def load_daily_usage(session: Session, site_ids: Sequence[int], first: dt.date, last: dt.date) -> pd.DataFrame:
    """Daily roll-up rows (site_id, local_date, energy_kwh, intervals) of ``site_ids`` over local days first..last."""
    if not site_ids:
        return pd.DataFrame(columns=["site_id", "local_date", "energy_kwh", "intervals"])
    rows = session.execute(
        select(DailyUsage.site_id, DailyUsage.local_date, DailyUsage.energy_kwh, DailyUsage.intervals).where(
            DailyUsage.site_id.in_(list(site_ids)), DailyUsage.local_date >= first, DailyUsage.local_date <= last
        )
    ).all()
    return pd.DataFrame(rows, columns=["site_id", "local_date", "energy_kwh", "intervals"])


def alert_exists(session: Session, tracker_id: int, period_start: dt.date, kind: str) -> bool:
    return (
        session.scalar(
            select(TrackerAlert.id).where(
                TrackerAlert.tracker_id == tracker_id,
                TrackerAlert.period_start == period_start,
                TrackerAlert.kind == kind,
            )
        )
        is not None
    )


def load_alerts(session: Session, tracker_ids: Sequence[int]) -> list[TrackerAlert]:
    return list(session.scalars(select(TrackerAlert).where(TrackerAlert.tracker_id.in_(list(tracker_ids)))))
