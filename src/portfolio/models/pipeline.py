"""The daily pipeline's runs and the lock that keeps two runs apart."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.models.base import Base


class PipelineRun(Base):
    """One run of the daily pipeline: per step counts, errors and duration in ``steps``."""

    __tablename__ = "pipeline_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_date: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12))  # running, ok, partial (some errors), failed
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    usage_version_at_start: Mapped[int | None] = mapped_column(BigInteger)
    """The usage data's version when the run began: while it writes, the Graphs page shows graphs drawn from that
    data (``services/graphs_kept.py``). None for runs recorded before this was."""
    last_site_id_at_start: Mapped[int | None] = mapped_column(BigInteger)
    """The highest site id when the run began: the sites it creates as it imports (new meters) come after it, so the
    portfolios drawn before the run are found again without them (``services/computed_results.py``). None for runs
    recorded before this was, or when there were no sites."""


class PipelineLock(Base):
    """The row that keeps two daily runs apart where there is no advisory lock (SQLite)."""

    __tablename__ = "pipeline_locks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_date: Mapped[dt.date] = mapped_column(Date)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
