"""Organisations, their sites, the meter identifiers files name them by, and weather locations.

An organisation is a supplier account (``account_number``); a site is one supply of one fuel, with its
own time zone and optional weather location for temperature-driven models.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.models.base import Base, checked_enum
from portfolio.models.enums import Direction, Fuel, IdentifierKind, MeterType

UNASSIGNED_ACCOUNT = "UNASSIGNED"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    account_number: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    sites: Mapped[list[Site]] = relationship(back_populates="organisation")


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
    fuel: Mapped[Fuel] = mapped_column(checked_enum(Fuel, "fuel"))
    meter_type: Mapped[MeterType] = mapped_column(checked_enum(MeterType, "meter_type"))
    profile_class: Mapped[str | None] = mapped_column(String(8))
    direction: Mapped[Direction] = mapped_column(checked_enum(Direction, "direction"), default=Direction.IMPORT)
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
    kind: Mapped[IdentifierKind] = mapped_column(checked_enum(IdentifierKind, "identifier_kind"))

    site: Mapped[Site] = relationship(back_populates="meters")
