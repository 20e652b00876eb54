"""SQL for trackers, their alerts, in-app notifications, the email outbox and pipeline runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portfolio.models import (
    DailyUsage,
    ImportRecord,
    Notification,
    NotificationPreference,
    OutboxEmail,
    PipelineRun,
    PortfolioGroup,
    Site,
    Tracker,
    TrackerAlert,
    User,
)

# Trackers ---------------------------------------------------------------------------------------------------


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


# Notifications ----------------------------------------------------------------------------------------------


def notification_exists(session: Session, dedupe_key: str) -> bool:
    return session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)) is not None


def load_notifications(session: Session, user_id: int, limit: int = 20) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def count_unread(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, user_id: int, notification_ids: Sequence[int], now: dt.datetime) -> int:
    """Mark the user's own notifications read; ids of other users' notifications change nothing."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id, Notification.id.in_(list(notification_ids)), Notification.read_at.is_(None)
        )
        .values(read_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def mark_all_read(session: Session, user_id: int, now: dt.datetime) -> int:
    result = session.execute(
        update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None)).values(read_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def load_preference(session: Session, user_id: int) -> NotificationPreference | None:
    return session.get(NotificationPreference, user_id)


# Email outbox -----------------------------------------------------------------------------------------------


def outbox_exists(session: Session, dedupe_key: str) -> bool:
    return session.scalar(select(OutboxEmail.id).where(OutboxEmail.dedupe_key == dedupe_key)) is not None


def load_due_email_ids(session: Session, now: dt.datetime) -> list[int]:
    return list(
        session.scalars(
            select(OutboxEmail.id)
            .where(OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now)
            .order_by(OutboxEmail.id)
        )
    )


def load_email_for_update(session: Session, email_id: int) -> OutboxEmail | None:
    """The outbox row, locked on PostgreSQL so a stray second sender cannot send it too."""
    return session.scalar(select(OutboxEmail).where(OutboxEmail.id == email_id).with_for_update())


def load_user_deliveries(session: Session, user_id: int, limit: int = 10) -> list[OutboxEmail]:
    """The user's emails still waiting after a failure, or given up: what the user must be able to see."""
    return list(
        session.scalars(
            select(OutboxEmail)
            .where(OutboxEmail.user_id == user_id, OutboxEmail.last_error.is_not(None), OutboxEmail.status != "sent")
            .order_by(OutboxEmail.created_at.desc())
            .limit(limit)
        )
    )


def load_outbox_problems(session: Session, limit: int = 50) -> pd.DataFrame:
    """Emails not sent after at least one attempt, with their recipient, for the admin Pipeline page."""
    rows = session.execute(
        select(
            OutboxEmail.id,
            OutboxEmail.to_address,
            OutboxEmail.subject,
            OutboxEmail.status,
            OutboxEmail.attempts,
            OutboxEmail.next_attempt_at,
            OutboxEmail.last_error,
        )
        .where(OutboxEmail.status != "sent", OutboxEmail.attempts > 0)
        .order_by(OutboxEmail.created_at.desc())
        .limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=["id", "to", "subject", "status", "attempts", "next_attempt_at", "last_error"])


def count_outbox(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all()
    return {str(status): int(count) for status, count in rows}


def load_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


# Pipeline runs ----------------------------------------------------------------------------------------------


def load_recent_runs(session: Session, limit: int = 20) -> list[PipelineRun]:
    return list(
        session.scalars(select(PipelineRun).order_by(PipelineRun.started_at.desc(), PipelineRun.id.desc()).limit(limit))
    )


def file_already_imported(session: Session, sha256: str) -> bool:
    return session.scalar(select(ImportRecord.id).where(ImportRecord.sha256 == sha256).limit(1)) is not None
