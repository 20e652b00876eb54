"""SQL for in-app notifications, notification preferences and the email outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portfolio.models import (
    Notification,
    NotificationPreference,
    OutboxEmail,
    OutboxStatus,
    User,
)


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


def outbox_exists(session: Session, dedupe_key: str) -> bool:
    return session.scalar(select(OutboxEmail.id).where(OutboxEmail.dedupe_key == dedupe_key)) is not None


def load_outbox_id(session: Session, dedupe_key: str) -> int | None:
    return session.scalar(select(OutboxEmail.id).where(OutboxEmail.dedupe_key == dedupe_key))


def load_due_email_ids(session: Session, now: dt.datetime) -> list[int]:
    return list(
        session.scalars(
            select(OutboxEmail.id)
            .where(OutboxEmail.status == OutboxStatus.PENDING, OutboxEmail.next_attempt_at <= now)
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
            .where(
                OutboxEmail.user_id == user_id,
                OutboxEmail.last_error.is_not(None),
                OutboxEmail.status != OutboxStatus.SENT,
            )
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
        .where(OutboxEmail.status != OutboxStatus.SENT, OutboxEmail.attempts > 0)
        .order_by(OutboxEmail.created_at.desc())
        .limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=["id", "to", "subject", "status", "attempts", "next_attempt_at", "last_error"])


def count_outbox(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all()
    return {str(status): int(count) for status, count in rows}


def load_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)
