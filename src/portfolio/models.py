"""Typed SQLAlchemy 2 models: the shape of everything the dashboard stores.

High-volume series (interval readings, weather) keep their time as integer UTC epoch seconds:
unambiguous, compact, and the same arithmetic on SQLite and PostgreSQL. Everything else uses
timezone-aware datetimes.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

UNASSIGNED_ACCOUNT = "UNASSIGNED"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    """Store enums as their values in a checked VARCHAR: portable, readable in SQL, no native types to migrate."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Role(str, enum.Enum):
    CUSTOMER = "customer"
    BROKER = "broker"
    ACCOUNT_MANAGER = "account_manager"
    ADMIN = "admin"


class Fuel(str, enum.Enum):
    POWER = "power"
    GAS = "gas"


class MeterType(str, enum.Enum):
    SMART = "smart"
    AMR = "amr"
    HH = "hh"


class Direction(str, enum.Enum):
    IMPORT = "import"
    EXPORT = "export"


class IdentifierKind(str, enum.Enum):
    MPAN = "mpan"
    MPRN = "mprn"
    ESPI = "espi"  # a Green Button UsagePoint, identified by its Atom id
    OTHER = "other"  # e.g. a data logger or smart-meter id such as an LCL household id


class WeatherKind(str, enum.Enum):
    OBSERVED = "observed"
    FORECAST = "forecast"


user_organisations = Table(
    "user_organisations",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
)
"""Organisations a broker manages or an account manager looks after (the user's role says which)."""

portfolio_group_sites = Table(
    "portfolio_group_sites",
    Base.metadata,
    Column("group_id", ForeignKey("portfolio_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    account_number: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    sites: Mapped[list[Site]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    display_name: Mapped[str | None] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    organisation: Mapped[Organisation | None] = relationship()
    linked_organisations: Mapped[list[Organisation]] = relationship(secondary=user_organisations)


class WeatherLocation(Base):
    __tablename__ = "weather_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(16))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    fuel: Mapped[Fuel] = mapped_column(_enum(Fuel, "fuel"))
    meter_type: Mapped[MeterType] = mapped_column(_enum(MeterType, "meter_type"))
    profile_class: Mapped[str | None] = mapped_column(String(8))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"), default=Direction.IMPORT)
    weather_location_id: Mapped[int | None] = mapped_column(ForeignKey("weather_locations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    organisation: Mapped[Organisation] = relationship(back_populates="sites")
    meters: Mapped[list[Meter]] = relationship(back_populates="site", cascade="all, delete-orphan")
    weather_location: Mapped[WeatherLocation | None] = relationship()


class Meter(Base):
    """A meter identifier (MPAN, MPRN, Green Button UsagePoint...) that data files use to name a site."""

    __tablename__ = "meters"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    identifier: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[IdentifierKind] = mapped_column(_enum(IdentifierKind, "identifier_kind"))

    site: Mapped[Site] = relationship(back_populates="meters")


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
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the primary key: smaller, faster range scans

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
    kind: Mapped[WeatherKind] = mapped_column(_enum(WeatherKind, "weather_kind"), primary_key=True)
    air_temperature_c: Mapped[float] = mapped_column(Float)
    issued_at_ts: Mapped[int | None] = mapped_column(BigInteger)  # forecasts: when the forecast was issued


class PortfolioGroup(Base):
    __tablename__ = "portfolio_groups"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    owner: Mapped[User] = relationship()
    sites: Mapped[list[Site]] = relationship(secondary=portfolio_group_sites)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class LoginAttempt(Base):
    """Failed and successful logins, shared by every worker so rate limiting holds across processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at_ts"), Index("ix_login_attempts_ip_at", "ip", "at_ts"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at_ts: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
