"""SQL for the daily pipeline: its runs, its lock, the roll-up check and the record of imported files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, text
from sqlalchemy.orm import Session

from portfolio.models import DailyUsage, ImportRecord, PipelineLock, PipelineRun, RunStatus, Site
from portfolio.models.computed_results import USAGE, DataVersion


def load_recent_runs(session: Session, limit: int = 20) -> list[PipelineRun]:
    return list(
        session.scalars(select(PipelineRun).order_by(PipelineRun.started_at.desc(), PipelineRun.id.desc()).limit(limit))
    )


@dataclass(frozen=True)
class RunningRun:
    """A daily run still writing: when it began [UTC], the usage data's version and the highest site id then (None:
    not recorded)."""

    started_at: dt.datetime
    usage_version_at_start: int | None
    last_site_id_at_start: int | None = None


def load_running_run(session: Session, since: dt.datetime) -> RunningRun | None:
    """The daily run that started after ``since`` and is still running (its row says so: committed at its start)."""
    found = session.execute(
        select(PipelineRun.started_at, PipelineRun.usage_version_at_start, PipelineRun.last_site_id_at_start)
        .where(PipelineRun.status == RunStatus.RUNNING.value, PipelineRun.started_at >= since)
        .order_by(PipelineRun.started_at.desc())
        .limit(1)
    ).first()
    return None if found is None else _running_run(*found)


def load_version_and_running_run(session: Session, since: dt.datetime) -> tuple[int, RunningRun | None]:
    """The usage data's version (``queries/data_version.py``) and :func:`load_running_run`'s answer, in one round
    trip: every graph, panel and load profile asks both before reading what is kept."""
    found = session.execute(
        select(
            DataVersion.version,
            PipelineRun.started_at,
            PipelineRun.usage_version_at_start,
            PipelineRun.last_site_id_at_start,
        )
        .select_from(DataVersion)
        .outerjoin(PipelineRun, and_(PipelineRun.status == RunStatus.RUNNING.value, PipelineRun.started_at >= since))
        .where(DataVersion.name == USAGE)
        .order_by(PipelineRun.started_at.desc())
        .limit(1)
    ).first()
    if found is None:  # no change ever committed: version 0
        return 0, load_running_run(session, since)
    return int(found.version), None if found.started_at is None else _running_run(*found[1:])


def _running_run(started_at: dt.datetime, version: int | None, last_site_id: int | None) -> RunningRun:
    return RunningRun(
        started_at if started_at.tzinfo else started_at.replace(tzinfo=dt.UTC),
        None if version is None else int(version),
        None if last_site_id is None else int(last_site_id),
    )


def load_last_site_id(session: Session) -> int | None:
    """The highest site id (sites get rising ids), None without sites."""
    found = session.scalar(select(func.max(Site.id)))
    return None if found is None else int(found)


def file_already_imported(session: Session, sha256: str) -> bool:
    """Whether a file with this content was imported before (the inbox skips it)."""
    return session.scalar(select(ImportRecord.id).where(ImportRecord.sha256 == sha256).limit(1)) is not None


def try_advisory_lock(connection: Connection, key: int) -> bool:
    """PostgreSQL only: take the session-level advisory lock ``key`` if free, without waiting."""
    return bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())


def release_advisory_lock(connection: Connection, key: int) -> None:
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


def load_pipeline_lock(session: Session, name: str) -> PipelineLock | None:
    return session.get(PipelineLock, name)


def delete_pipeline_lock(session: Session, name: str, holder: str) -> None:
    """Release the row lock, only if ``holder`` still holds it."""
    session.execute(delete(PipelineLock).where(PipelineLock.name == name, PipelineLock.holder == holder))


def load_daily_usage_rows(session: Session, site_id: int, first: dt.date, last: dt.date) -> list[tuple[Any, ...]]:
    """(local_date, energy_kwh [kWh], intervals) of a site's daily roll-up over ``first``..``last``."""
    rows = session.execute(
        select(DailyUsage.local_date, DailyUsage.energy_kwh, DailyUsage.intervals)
        .where(DailyUsage.site_id == site_id, DailyUsage.local_date >= first, DailyUsage.local_date <= last)
        .order_by(DailyUsage.local_date)
    ).all()
    return [tuple(row) for row in rows]
