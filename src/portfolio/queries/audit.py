"""Audit log storage: adding entries, the once-a-day summaries, and reading entries back for a page or a CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from portfolio.models import AuditEntry, Organisation, User

AUDIT_COLUMNS = ["id", "at", "last_at", "action", "user", "organisation", "detail", "ip"]


def insert_entry(
    session: Session,
    action: str,
    *,
    at: dt.datetime,
    user_id: int | None = None,
    organisation_id: int | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
    dedupe_key: str | None = None,
    last_at: dt.datetime | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at.astimezone(dt.UTC),
        action=action[:40],
        user_id=user_id or None,
        organisation_id=organisation_id,
        detail=dict(detail or {}),
        ip=ip,
        dedupe_key=dedupe_key,
        last_at=last_at.astimezone(dt.UTC) if last_at else None,
    )
    session.add(entry)
    session.flush()
    return entry


def touch_daily_entry(
    session: Session,
    dedupe_key: str,
    action: str,
    *,
    at: dt.datetime,
    user_id: int | None,
    organisation_id: int | None,
    detail: dict[str, Any],
) -> bool:
    """Add the entry keyed ``dedupe_key``, or move its ``last_at`` to ``at`` if it exists; True when added.

    Two workers may race to add the same day's entry: the unique key makes one of them update instead.
    """
    if _move_last_at(session, dedupe_key, at):
        return False
    try:
        with session.begin_nested():
            insert_entry(
                session,
                action,
                at=at,
                user_id=user_id,
                organisation_id=organisation_id,
                detail=detail,
                dedupe_key=dedupe_key,
                last_at=at,
            )
    except IntegrityError:
        _move_last_at(session, dedupe_key, at)
        return False
    return True


def move_last_at(session: Session, dedupe_keys: list[str], at: dt.datetime) -> set[str]:
    """Move ``last_at`` of the existing entries among ``dedupe_keys`` to ``at``; returns the keys that exist."""
    if not dedupe_keys:
        return set()
    if session.get_bind().dialect.update_returning:  # one round trip: PostgreSQL, SQLite 3.35 and later
        moved = session.scalars(
            update(AuditEntry)
            .where(AuditEntry.dedupe_key.in_(sorted(set(dedupe_keys))))
            .values(last_at=at.astimezone(dt.UTC))
            .returning(AuditEntry.dedupe_key)
            .execution_options(synchronize_session=False)
        )
        return {k for k in moved if k is not None}
    known = set(session.scalars(select(AuditEntry.dedupe_key).where(AuditEntry.dedupe_key.in_(dedupe_keys))))
    if known:
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.dedupe_key.in_(sorted(known)))
            .values(last_at=at.astimezone(dt.UTC))
            .execution_options(synchronize_session=False)
        )
    return {k for k in known if k is not None}


def _move_last_at(session: Session, dedupe_key: str, at: dt.datetime) -> bool:
    result = session.execute(
        update(AuditEntry)
        .where(AuditEntry.dedupe_key == dedupe_key)
        .values(last_at=at.astimezone(dt.UTC))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def load_entries(
    session: Session,
    *,
    organisation_id: int | None = None,
    actions: Sequence[str] = (),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    user_email: str | None = None,
    limit: int = 5000,
) -> pd.DataFrame:
    """Entries newest first (``organisation_id`` None: all of them), with the actor's email and organisation name."""
    actor = aliased(User)
    statement = (
        select(
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.last_at,
            AuditEntry.action,
            actor.email.label("user"),
            Organisation.name.label("organisation"),
            AuditEntry.detail,
            AuditEntry.ip,
        )
        .outerjoin(actor, actor.id == AuditEntry.user_id)
        .outerjoin(Organisation, Organisation.id == AuditEntry.organisation_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    if organisation_id is not None:
        statement = statement.where(AuditEntry.organisation_id == organisation_id)
    if actions:
        statement = statement.where(AuditEntry.action.in_(list(actions)))
    if since is not None:
        statement = statement.where(AuditEntry.at >= since.astimezone(dt.UTC))
    if until is not None:
        statement = statement.where(AuditEntry.at < until.astimezone(dt.UTC))
    if user_email:
        statement = statement.where(func.lower(actor.email).contains(user_email.strip().lower(), autoescape=True))
    rows = session.execute(statement).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=AUDIT_COLUMNS)
    for column in ("at", "last_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def load_actions(session: Session, organisation_id: int | None) -> list[str]:
    """The distinct actions present (for the filter's options)."""
    statement = select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    if organisation_id is not None:
        statement = statement.where(AuditEntry.organisation_id == organisation_id)
    return list(session.scalars(statement))
