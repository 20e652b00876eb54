"""SQL for trackers and their alerts: the trackers a user owns, the sites and daily usage they watch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import NamedTuple

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.models import (
    DailyUsage,
    PortfolioGroup,
    Site,
    Tracker,
    TrackerAlert,
    TrackerEvaluation,
    User,
)


def load_user_trackers(session: Session, owner_id: int) -> list[Tracker]:
    return list(
        session.scalars(select(Tracker).where(Tracker.owner_id == owner_id).order_by(Tracker.created_at, Tracker.id))
    )


def load_active_trackers(session: Session) -> list[Tracker]:
    return list(session.scalars(select(Tracker).where(Tracker.is_active.is_(True)).order_by(Tracker.id)))


def load_active_tracker_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Tracker.id).where(Tracker.is_active.is_(True)).order_by(Tracker.id)))


def load_tracker(session: Session, tracker_id: int) -> Tracker | None:
    return session.get(Tracker, tracker_id)


def load_trackers(session: Session, tracker_ids: Sequence[int]) -> list[Tracker]:
    """The trackers of ``tracker_ids`` that still exist, in id order (one query for a batch)."""
    return list(session.scalars(select(Tracker).where(Tracker.id.in_(list(tracker_ids))).order_by(Tracker.id)))


def load_users(session: Session, user_ids: Collection[int]) -> dict[int, User]:
    """Users by id (trackers' owners), one query for a batch; missing ids are absent."""
    if not user_ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(sorted(user_ids))))}


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


def load_alert_kinds(session: Session, tracker_id: int, period_start: dt.date) -> set[str]:
    """The kinds of alert already written for a tracker's period ("exceeded", "warning", "restated" ...)."""
    return set(
        session.scalars(
            select(TrackerAlert.kind).where(
                TrackerAlert.tracker_id == tracker_id, TrackerAlert.period_start == period_start
            )
        )
    )


class LedgerEntry(NamedTuple):
    """What the latest ledger entry of a period says (compared with a new evaluation before adding one)."""

    data_day: dt.date
    state: str
    sites_reporting: int
    consumption_kwh: float | None
    target_kwh: float | None
    projection_kwh: float | None
    projection_lower_kwh: float | None


def load_latest_evaluations(
    session: Session, keys: Collection[tuple[int, dt.date]]
) -> dict[tuple[int, dt.date], LedgerEntry]:
    """The latest ledger entry of each (tracker id, period start) in ``keys`` that has one, in one query.

    "Latest" as in :func:`load_latest_evaluation`: by evaluation time, then id.
    """
    if not keys:
        return {}
    rows = session.execute(
        select(
            TrackerEvaluation.tracker_id,
            TrackerEvaluation.period_start,
            TrackerEvaluation.data_day,
            TrackerEvaluation.state,
            TrackerEvaluation.sites_reporting,
            TrackerEvaluation.consumption_kwh,
            TrackerEvaluation.target_kwh,
            TrackerEvaluation.projection_kwh,
            TrackerEvaluation.projection_lower_kwh,
        )
        .where(
            TrackerEvaluation.tracker_id.in_(sorted({t for t, _ in keys})),
            TrackerEvaluation.period_start.in_(sorted({p for _, p in keys})),
        )
        .order_by(TrackerEvaluation.evaluated_at, TrackerEvaluation.id)
    ).all()
    wanted = set(keys)
    latest: dict[tuple[int, dt.date], LedgerEntry] = {}
    for row in rows:  # oldest first: the last one seen of each key wins
        if (row.tracker_id, row.period_start) in wanted:
            latest[(row.tracker_id, row.period_start)] = LedgerEntry(
                row.data_day,
                row.state,
                row.sites_reporting,
                row.consumption_kwh,
                row.target_kwh,
                row.projection_kwh,
                row.projection_lower_kwh,
            )
    return latest


def load_alert_kinds_of(session: Session, keys: Collection[tuple[int, dt.date]]) -> dict[tuple[int, dt.date], set[str]]:
    """The kinds of alert already written for each (tracker id, period start) in ``keys``, in one query."""
    found: dict[tuple[int, dt.date], set[str]] = {key: set() for key in keys}
    if not keys:
        return found
    rows = session.execute(
        select(TrackerAlert.tracker_id, TrackerAlert.period_start, TrackerAlert.kind).where(
            TrackerAlert.tracker_id.in_(sorted({t for t, _ in keys})),
            TrackerAlert.period_start.in_(sorted({p for _, p in keys})),
        )
    ).all()
    for tracker_id, period_start, kind in rows:
        if (tracker_id, period_start) in found:
            found[(tracker_id, period_start)].add(kind)
    return found


def load_latest_evaluation(session: Session, tracker_id: int, period_start: dt.date) -> TrackerEvaluation | None:
    return session.scalars(
        select(TrackerEvaluation)
        .where(TrackerEvaluation.tracker_id == tracker_id, TrackerEvaluation.period_start == period_start)
        .order_by(TrackerEvaluation.evaluated_at.desc(), TrackerEvaluation.id.desc())
        .limit(1)
    ).first()


def load_ledger(session: Session, tracker_id: int, period_start: dt.date) -> pd.DataFrame:
    """The ledger of one tracker's period, oldest first: one row per evaluation that changed something."""
    columns = [
        "evaluated_at",
        "data_day",
        "consumption_kwh",
        "target_kwh",
        "projection_kwh",
        "projection_lower_kwh",
        "projection_upper_kwh",
        "sites_reporting",
        "sites_total",
        "state",
        "reason",
    ]
    rows = session.execute(
        select(*(getattr(TrackerEvaluation, c) for c in columns))
        .where(TrackerEvaluation.tracker_id == tracker_id, TrackerEvaluation.period_start == period_start)
        .order_by(TrackerEvaluation.evaluated_at, TrackerEvaluation.id)
    ).all()
    return pd.DataFrame(rows, columns=columns)


def load_trackers_of_organisations(session: Session, organisation_ids: Sequence[int] | None) -> list[Tracker]:
    """Trackers whose owners belong to ``organisation_ids`` (None: every organisation), for read-only views."""
    query = select(Tracker).join(User, User.id == Tracker.owner_id).order_by(Tracker.created_at, Tracker.id)
    if organisation_ids is not None:
        query = query.where(User.organisation_id.in_(list(organisation_ids)))
    return list(session.scalars(query))
