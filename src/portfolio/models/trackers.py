"""Consumption budgets (trackers), their alerts, and the ledger of their evaluations [kWh]."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.models.base import Base, checked_enum
from portfolio.models.enums import Fuel


class Tracker(Base):
    """A user's consumption budget for one fuel over a local calendar period (day, week from Monday, month).

    ``scope_kind`` is "all" (scope_id NULL), "group" or "site"; access is re-checked at every evaluation.
    ``target_kind`` "kwh": ``target_value`` is the budget [kWh]; "percent": the budget is the models' expected
    consumption over the period plus ``target_value`` % (covering only the sites that have a model).
    """

    __tablename__ = "trackers"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scope_kind: Mapped[str] = mapped_column(String(8))
    scope_id: Mapped[int | None] = mapped_column(Integer)
    fuel: Mapped[Fuel] = mapped_column(checked_enum(Fuel, "fuel"))
    period: Mapped[str] = mapped_column(String(8))
    target_kind: Mapped[str] = mapped_column(String(8))
    target_value: Mapped[float] = mapped_column(Float)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_evaluated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the last evaluation's figures and notes


class TrackerAlert(Base):
    """The one alert of a tracker and period: its unique key is what makes the pipeline notify only once."""

    __tablename__ = "tracker_alerts"
    __table_args__ = (UniqueConstraint("tracker_id", "period_start", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tracker_id: Mapped[int] = mapped_column(ForeignKey("trackers.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # "exceeded" or "skipped" (access revoked, nothing to track)
    consumption_kwh: Mapped[float | None] = mapped_column(Float)
    target_kwh: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TrackerEvaluation(Base):
    """One evaluation of a tracker's period, kept (the ledger): what was known then and what it projected.

    A re-evaluation after restated data (estimates replaced, late readings) adds a row; the latest row of a
    period is its current state. ``state`` is "under", "warning" (the projection's lower 90 % bound is above
    the amount) or "exceeded" (consumption so far is above it).
    """

    __tablename__ = "tracker_evaluations"
    __table_args__ = (Index("ix_tracker_evaluations_period", "tracker_id", "period_start", "evaluated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tracker_id: Mapped[int] = mapped_column(ForeignKey("trackers.id", ondelete="CASCADE"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    data_day: Mapped[dt.date] = mapped_column(Date)  # readings counted up to and including this local day
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    consumption_kwh: Mapped[float | None] = mapped_column(Float)
    target_kwh: Mapped[float | None] = mapped_column(Float)
    sites_reporting: Mapped[int] = mapped_column(Integer)
    sites_total: Mapped[int] = mapped_column(Integer)
    projection_kwh: Mapped[float | None] = mapped_column(Float)
    projection_lower_kwh: Mapped[float | None] = mapped_column(Float)  # 90 % band
    projection_upper_kwh: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(10))  # "under", "warning" or "exceeded"
    reason: Mapped[str] = mapped_column(String(12))  # "daily", "import" (data arrived during the day)
