"""Metered and weather series, and the imports that brought them.

High-volume series keep their time as integer UTC epoch seconds: unambiguous, compact, and the same
arithmetic on SQLite and PostgreSQL. They are clustered on their primary key (``WITHOUT ROWID`` on SQLite).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.models.base import Base, checked_enum
from portfolio.models.enums import WeatherKind


class ImportRecord(Base):
    """One imported file: the ``source`` of the readings it brought."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(40))
    readings: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Reading(Base):
    """One metered interval. Unique per (site, interval start): re-importing a file changes nothing."""

    __tablename__ = "readings"
    __table_args__ = (
        # The rare readings longer than a day (monthly bills): the daily roll-up leaves them out, so a daily export of
        # a site that has any reads its readings; every other site's is read from the roll-up.
        Index(
            "ix_readings_longer_than_a_day",
            "site_id",
            "start_ts",
            postgresql_where=text("interval_seconds > 86400"),
            sqlite_where=text("interval_seconds > 86400"),
        ),
        {"sqlite_with_rowid": False},  # clustered on the primary key: smaller, faster range scans
    )

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    start_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # UTC epoch seconds, interval start
    interval_seconds: Mapped[int] = mapped_column(Integer)
    energy_kwh: Mapped[float] = mapped_column(Float)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    original_value: Mapped[float | None] = mapped_column(Float)  # as read, before conversion to kWh
    original_unit: Mapped[str | None] = mapped_column(String(12))  # e.g. "m3", "hcf", "therm", "Wh"


class DailyUsage(Base):
    """Daily roll-up per site and *local* day, kept current by the loader so lists never scan raw readings."""

    __tablename__ = "daily_usage"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the primary key: smaller, faster range scans

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    local_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    energy_kwh: Mapped[float] = mapped_column(Float)
    intervals: Mapped[int] = mapped_column(Integer)  # readings present that day
    estimated_intervals: Mapped[int] = mapped_column(Integer, default=0)
    interval_seconds: Mapped[int] = mapped_column(Integer)  # the shortest interval length seen that day


class WeatherReading(Base):
    __tablename__ = "weather_readings"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the primary key: smaller, faster range scans

    location_id: Mapped[int] = mapped_column(ForeignKey("weather_locations.id", ondelete="CASCADE"), primary_key=True)
    hour_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # UTC epoch seconds, start of the hour
    kind: Mapped[WeatherKind] = mapped_column(checked_enum(WeatherKind, "weather_kind"), primary_key=True)
    air_temperature_c: Mapped[float] = mapped_column(Float)
    issued_at_ts: Mapped[int | None] = mapped_column(BigInteger)  # forecasts: when the forecast was issued


class ImportProfile(Base):
    """A named hint for files the detector cannot read alone (meter column, labelling, unit, time basis).

    Saved with ``portfolio import --profile NAME``; re-applied automatically to later files whose header has the
    same signature (sha256 of the normalised header), so a data collector's odd layout is explained once.
    """

    __tablename__ = "import_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    header_signature: Mapped[str | None] = mapped_column(String(64), index=True)
    header: Mapped[str | None] = mapped_column(String(2000))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
